"""A load that ran out of time in a parallel batch is graded again alone before it counts."""

from __future__ import annotations

import threading
from pathlib import Path

from grader.course.batch import parallel as batch


def test_a_load_timed_out_beside_classmates_is_regraded_alone_and_recorded_once(monkeypatch, capsys, make_result):
    """``dan``'s load times out whenever a classmate is being graded at the same time (as on a machine
    a hostile classmate keeps busy) and loads when graded alone: the alone grading is the one recorded."""
    in_flight, lock = set(), threading.Lock()
    side_by_side = threading.Barrier(2, timeout=60)   # the first round: dan and eve graded at once
    beside_dan = []                                    # who else was in flight during each grading of dan

    def grade(compiled, path, **_):
        name = Path(path).stem
        with lock:
            in_flight.add(name)
            first_round = len(beside_dan) == 0 and name == "dan" or name == "eve"
        try:
            if first_round:
                side_by_side.wait()
            result = make_result(student=name)
            if name == "dan":
                with lock:
                    beside_dan.append(sorted(in_flight - {"dan"}))
                if beside_dan[-1]:
                    result.load.kind, result.load.ok, result.load.error = "timeout", False, "load time limit"
            if first_round:
                side_by_side.wait()              # neither leaves before dan has seen who was beside it
            return result
        finally:
            with lock:
                in_flight.discard(name)

    monkeypatch.setattr(batch, "grade_submission", grade)
    recorded = []
    jobs = [batch.GradeJob(Path(f"{name}.py"), name, None) for name in ("dan", "eve")]
    out = batch.grade_many(jobs, workers=2, on_result=lambda r: recorded.append((r.submission, r.load.kind)),
                           progress=False)
    assert sorted(recorded) == [("dan", "ok"), ("eve", "ok")]       # each recorded once, dan from the alone run
    assert [r.load.kind for r in out] == ["ok", "ok"]
    assert beside_dan == [["eve"], []]                              # the regrade ran with nothing beside it
    assert "dan: its load ran out of time while 2 submissions were graded at once" in capsys.readouterr().err


def test_a_load_that_times_out_alone_counts_as_it_is(monkeypatch, make_result):
    """One worker: nothing to blame but the submission; a time-out is recorded at once, not graded twice."""
    calls = []

    def grade(compiled, path, **_):
        calls.append(Path(path).stem)
        result = make_result(student=Path(path).stem)
        result.load.kind, result.load.ok = "timeout", False
        return result

    monkeypatch.setattr(batch, "grade_submission", grade)
    recorded = []
    batch.grade_many([batch.GradeJob(Path("dan.py"), "dan", None)], workers=1,
                     on_result=lambda r: recorded.append(r.load.kind), progress=False)
    assert calls == ["dan"] and recorded == ["timeout"]
