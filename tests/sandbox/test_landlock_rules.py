"""The fallback's Landlock rules: whole folders where possible, entry by entry around what stays hidden."""

from __future__ import annotations

import os

from grader.engine.sandbox import landlock


def test_a_folder_holding_a_hidden_path_is_allowed_entry_by_entry(tmp_path):
    for path in ("env/bin/python", "env/lib/libmkl.so", "env/lib/py/site/numpy/core.py",
                 "env/lib/py/site/grader/key.py", "env/lib/py/site/six.py", "other/file"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    hidden = {str(tmp_path / "env/lib/py/site/grader")}
    rules = landlock._allow_except(str(tmp_path / "env"), hidden, landlock.READ_EXECUTE)
    rx, listing = landlock.READ_EXECUTE, landlock.READ_DIR
    assert [(os.path.relpath(p, tmp_path), r) for p, r in rules] == [
        ("env", listing), ("env/bin", rx), ("env/lib", listing), ("env/lib/libmkl.so", rx),
        ("env/lib/py", listing), ("env/lib/py/site", listing), ("env/lib/py/site/numpy", rx),
        ("env/lib/py/site/six.py", rx)]
    # A folder with nothing hidden beneath it is one rule; a hidden folder gets none.
    assert landlock._allow_except(str(tmp_path / "other"), hidden, rx) == [(str(tmp_path / "other"), rx)]
    assert landlock._allow_except(str(tmp_path / "env/lib/py/site/grader"), hidden, rx) == []


def test_rights_follow_the_kernels_abi():
    assert landlock.handled_access(1) == {"fs": (1 << 13) - 1, "net": 0, "scope": 0}
    assert landlock.handled_access(3)["fs"] == (1 << 15) - 1
    v4 = landlock.handled_access(4)
    assert v4["net"] == landlock.NET_BIND_TCP | landlock.NET_CONNECT_TCP and v4["scope"] == 0
    assert landlock.handled_access(6)["scope"] == landlock.SCOPE_SIGNAL | landlock.SCOPE_ABSTRACT_UNIX_SOCKET
    assert landlock.handled_access(7)["fs"] == (1 << 16) - 1
    assert "no TCP" not in landlock.describe(3) and "no TCP" in landlock.describe(4)


def test_every_rule_stays_within_what_is_handled(tmp_path, landlock_abi):
    spec = landlock.ruleset(writable=[str(tmp_path)], python_roots=[], hidden=[])
    assert all(rights & ~spec["fs"] == 0 and rights for _, rights in spec["rules"])
    assert [str(tmp_path), spec["fs"]] in spec["rules"]
