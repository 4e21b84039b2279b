"""dlgrade: the grading engine."""
