"""The grading engine: what a student's kit and a Gradescope autograder ship.

Compiled assignments as data (:mod:`~grader.engine.authoring`), grading one
submission (:mod:`~grader.engine.grading`) in the sandbox
(:mod:`~grader.engine.sandbox`) with the checks (:mod:`~grader.engine.checks`),
its result (:mod:`~grader.engine.results`) and text report
(:mod:`~grader.engine.text_report`), answer sheets (:mod:`~grader.engine.sheets`).

Imports nothing from :mod:`grader.course` or :mod:`grader.cli`
(``tests/architecture/test_import_rules.py``): this folder, and ``dlgrade check``, is all an
installation without the instructor's tools has.
"""
