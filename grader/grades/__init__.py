"""``dlgrade grades``: the gradebook from the command line."""
