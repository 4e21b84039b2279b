"""Run ids: ``gradings.run_id``, unique, so a result delivered twice in one run is recorded once.

The gradebook's first Alembic revision; it applies to schema version 2 (a round-1 gradebook is
brought to 2 by :func:`grader.course.gradebook.schema.migrate` first).
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_run_ids"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("gradings", sa.Column("run_id", sa.String(100)))
    op.create_index("uq_gradings_run_id", "gradings", ["run_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_gradings_run_id", table_name="gradings")
    with op.batch_alter_table("gradings") as batch:
        batch.drop_column("run_id")
