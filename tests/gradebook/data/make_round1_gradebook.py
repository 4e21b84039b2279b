"""Write ``round1_gradebook.db`` with the round-1 code (schema version 1), and what that code reads
back from it (``round1_gradebook.json``): the fixture of tests/gradebook/test_round1_upgrade.py.

Not a test; run it from a checkout of round 1, e.g.::

    mkdir /tmp/round1 && git archive 4bf83fa grader reference tests/gradebook/factory.py | tar -x -C /tmp/round1
    cd /tmp/round1 && PYTHONPATH=. python OUR_CHECKOUT/tests/gradebook/data/make_round1_gradebook.py OUT_FOLDER
"""
import json
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, "tests/gradebook")
from factory import at, make_result

from grader.course.gradebook import SCHEMA_VERSION, Gradebook

out = Path(sys.argv[1])
db = out / "round1_gradebook.db"
assert SCHEMA_VERSION == 1
with Gradebook.open(db) as gb:
    gb.record(make_result("a1", "ana", (5.0, 3.0)), student_id="ana", submitted_at=at(9))
    gb.record(make_result("a1", "ana", (5.0, 3.0)), student_id="ana", submitted_at=at(9), regrade=True)
    gb.record(make_result("a1", "ana", (5.0, 5.0)), student_id="ana", submitted_at=at(10))
    gb.record(make_result("a1", "ben", (1.0, 0.0)), student_id="ben", submitted_at=at(9))
    gb.record(make_result("a1", "cleo", (0.0, 0.0), grader_error="sandbox failed"), student_id="cleo",
              submitted_at=at(9))
    gb.record(make_result("a2", "ben", (4.0,)), student_id="ben", submitted_at=at(11))
    gb.override("ben", "a1", 7, reason="regraded by hand", by="prof")
    gb.override("ben", "a2", 5, reason="first", by="prof")
    gb.revoke_override("ben", "a2", reason="mistake", by="prof")
    finals = {a: {s.student: s.score for s in gb.final_scores(a)} for a in ("a1", "a2")}
con = sqlite3.connect(db)
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.execute("PRAGMA journal_mode=DELETE")
con.execute("VACUUM")
counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
          for t in ("students", "submissions", "gradings", "question_results", "overrides")}
con.close()
(out / "round1_gradebook.json").write_text(json.dumps({"finals": finals, "counts": counts}, indent=1, sort_keys=True) + "\n")
print(finals, counts)
