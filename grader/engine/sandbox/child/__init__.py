"""The child runtime (runs inside the sandbox; standard library and numpy only)."""
