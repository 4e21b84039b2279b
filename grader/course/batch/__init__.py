"""A class at once: checks before anything is recorded (:mod:`.preflight`), submission times
(:mod:`.times`), grading many submissions in parallel (:mod:`.parallel`) and a whole class into its
gradebook and folder (:mod:`.classes`)."""
