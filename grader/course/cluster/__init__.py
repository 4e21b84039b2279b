"""Grading on a Dask cluster: ``dlgrade grade A DIR --cluster local:N | tcp://host:port | FILE``.

The modules, each with one job:

* :mod:`grader.course.cluster.task`: a grading task as plain data, and the versions it carries;
* :mod:`grader.course.cluster.wire`: a :class:`~grader.engine.results.SubmissionResult` to JSON text and back;
* :mod:`grader.course.cluster.worker`: what runs on a Dask worker (compile, check versions, grade);
* :mod:`grader.course.cluster.connect`: a Dask client for a ``--cluster`` value;
* :mod:`grader.course.cluster.driver`: the batch loop that submits tasks and records each result once.

Only the driver writes the gradebook. A worker receives plain data and returns
JSON text: nothing a worker (or a student's child under it) produced is ever
unpickled into the gradebook.
"""

from grader.course.cluster.driver import grade_class_on_cluster

__all__ = ["grade_class_on_cluster"]
