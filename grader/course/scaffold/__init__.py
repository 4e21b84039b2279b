"""``dlgrade new``: a new assignment that validates and grades as it stands."""
