"""The numpy answer key of the course: every expected value the grader uses comes from here."""
