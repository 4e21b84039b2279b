"""A class graded on a local Dask cluster gets exactly what ``--jobs 2`` gives it, hostile submissions included."""

from __future__ import annotations

from grader.course.batch.classes import grade_class
from grader.engine.authoring import load_assignment


def test_local_cluster_gives_the_scores_and_rows_of_threads(tmp_path, sandbox_mode, classroom, capsys):
    paths = classroom.write_class(tmp_path / "class")
    assignment = load_assignment(classroom.ASSIGNMENT)
    threads = grade_class(assignment, paths, tmp_path / "threads", jobs=2, limit_overrides=classroom.LIMITS,
                          progress=False)
    capsys.readouterr()
    cluster = grade_class(assignment, paths, tmp_path / "cluster", cluster="local:2",
                          limit_overrides=classroom.LIMITS, progress=False)

    # As on threads, the load that ran out of time beside classmates was graded again alone.
    assert "loops_forever: its load ran out of time" in capsys.readouterr().err
    assert cluster.graded == threads.graded == len(paths)
    assert cluster.grader_errors == threads.grader_errors == []
    assert cluster.headers == threads.headers
    assert cluster.rows == threads.rows
    scores = {row[0]: float(row[1]) for row in cluster.rows}
    assert scores["reference"] == assignment.compile().max_score
    for name in classroom.HOSTILE:   # the attackers earned nothing from their attacks
        assert scores[name] < scores["reference"], name
    classroom.assert_same(classroom.dump(str(tmp_path / "cluster" / "gradebook.db")),
                          classroom.dump(str(tmp_path / "threads" / "gradebook.db")))
