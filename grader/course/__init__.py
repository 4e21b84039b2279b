"""The instructor's tools over the engine: batch grading, policy, gradebook, feedback reports,
exams, generation, packaging, the otter export, similarity, the website, the LMS and the cluster.

Imports :mod:`grader.engine`, never :mod:`grader.cli` (``tests/architecture/test_import_rules.py``).
"""
