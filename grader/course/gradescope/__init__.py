"""A Gradescope autograder made from a dlgrade assignment.

``dlgrade gradescope ASSIGNMENT`` (:mod:`grader.cli.gradescope`) builds
the zip (:mod:`grader.course.gradescope.build`); on Gradescope, ``run_autograder``
calls :mod:`grader.engine.gradescope_runner`, which grades the submission in
dlgrade's sandbox and writes ``results.json``.
"""
