"""How a session's child is started, confined from outside and stopped: one launcher per mechanism.

``base.Launcher`` is the interface; ``bwrap`` (bubblewrap: namespaces, a
filesystem view, a slot's uid) and ``fallback`` (the child confines itself:
Landlock, seccomp, rlimits) implement it. Another mechanism (nsjail, a
container) is one more module here and one line in ``isolation.choose_launcher``.
"""
