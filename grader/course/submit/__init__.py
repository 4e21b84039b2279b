"""``dlgrade submit``: hand in to the course website from a terminal (standard library only)."""
