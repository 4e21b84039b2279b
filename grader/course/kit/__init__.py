"""Student kits: what students download (:mod:`grader.course.kit.build`)."""
