"""The test suite's root. Its folder is on sys.path, so helpers here (fill_template) import by name."""
