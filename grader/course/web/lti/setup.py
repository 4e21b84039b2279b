"""A course's LTI side: its platforms, pylti1p3's tool configuration and the launch store."""

from __future__ import annotations

from dataclasses import dataclass

from grader.course.web.lti.platforms import Platform, load_platforms, tool_config
from grader.course.web.lti.storage import DatabaseStorage
from grader.course.web.lti.tables import metadata

EXTENSION = "dlgrade_lti"
SEND_EVERY_SECONDS = 60.0                    # how often released grades are looked for and sent
SEND_EVERY_VARIABLE = "DLGRADE_LTI_SEND_SECONDS"   # 0: no background sender (the instructor's button only)


@dataclass
class LtiSetup:
    """A course's LTI side: its platforms (empty: LTI is off), pylti1p3's config and the launch store."""
    platforms: list[Platform]
    config: object | None
    storage: DatabaseStorage

    @property
    def enabled(self) -> bool:
        return bool(self.platforms)


def setup_for(course) -> LtiSetup:
    """``course``'s LTI side (its tables created when missing); LTI is off without platforms."""
    with course.writer.begin() as conn:
        metadata.create_all(conn)
    platforms = load_platforms(course.folder)
    config = tool_config(course.folder, platforms) if platforms else None
    return LtiSetup(platforms, config, DatabaseStorage(course.writer))
