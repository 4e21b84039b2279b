"""A Gradescope autograder made from a dlgrade assignment.

``dlgrade gradescope ASSIGNMENT`` (:mod:`grader.gradescope.command`) builds
the zip (:mod:`grader.gradescope.build`); on Gradescope, ``run_autograder``
calls :mod:`grader.gradescope.runner`, which grades the submission in
dlgrade's sandbox and writes ``results.json``.
"""
