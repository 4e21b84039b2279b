"""Exports of a dlgrade assignment to other tools: ``dlgrade export otter`` (:mod:`grader.course.export.otter`)."""
