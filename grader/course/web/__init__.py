"""``dlgrade serve``: the course's submission website (Flask), its queue and its workers.

Modules: ``course`` (a course folder: settings, gradebook, uploads, secret),
``tables`` (the website's own tables), ``tokens`` (sign-in), ``storage``
(uploads by hash), ``queue`` (the grading queue), ``worker`` (grades queued
uploads), ``submissions`` (accepting uploads, what a student may see),
``render`` (reports from the gradebook), ``app`` and ``views_*`` (the site),
``demo`` and ``command`` (the commands). The student's side of the API is
:mod:`grader.course.submit`, which needs the standard library only.
"""
