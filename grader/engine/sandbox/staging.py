"""The files staged for the child: the child runtime's copy, and the private copy of a submission.

The runtime is copied once per content into the root-owned state directory
(world-readable, compiled); the submission into the session's own folder,
following no link, within a count and a size.
"""

from __future__ import annotations

import functools
import hashlib
import os
import py_compile
import re
import shutil
import sys
import tempfile
from pathlib import Path

from grader.engine.sandbox.uid_slots import state_dir

CHILD_PACKAGE = Path(__file__).resolve().parent / "child"
# The child runtime's files: these are what /opt/dlgrade/runtime holds (a rename here is a rename there).
CHILD_FILES = ("child_main.py", "runtime.py", "confine.py", "wire.py", "loader.py", "tasks.py",
               "saved_model.py")

MAX_SUBMISSION_FILES = 2000
MAX_SUBMISSION_BYTES = 1 << 30
SKIPPED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git", ".hg", ".svn", ".venv", "venv", "node_modules"}
SESSION_PREFIX = "dlgrade-session-"


@functools.lru_cache(maxsize=None)
def runtime_dir() -> str:
    """A root-owned, world-readable copy of the child runtime (compiled), keyed by its content."""
    digest = hashlib.sha256()
    for name in CHILD_FILES:
        digest.update(name.encode() + b"\0" + (CHILD_PACKAGE / name).read_bytes() + b"\0")
    target = state_dir() / f"runtime-{digest.hexdigest()[:16]}"
    if (target / "ok").exists():
        return str(target)
    staging = Path(tempfile.mkdtemp(prefix="runtime-tmp-", dir=state_dir()))
    for name in CHILD_FILES:
        shutil.copyfile(CHILD_PACKAGE / name, staging / name)
        os.chmod(staging / name, 0o644)
        if name != "child_main.py":
            py_compile.compile(str(staging / name), cfile=str(staging / "__pycache__" / (
                f"{name[:-3]}.{sys.implementation.cache_tag}.pyc")), doraise=True)
    for root, dirs, files in os.walk(staging):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    (staging / "ok").write_text("")
    try:
        os.rename(staging, target)
    except OSError:  # another process made it first
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)



class Rejected(Exception):
    """A submission that cannot be graded as handed in; ``kind``: the load report's kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def copy_submission(source: Path, workdir: str, module_name: str, notes: list[str]) -> tuple[str, str, int, int]:
    """Copy ``source`` (a file, or a folder without its links) into ``workdir``: (main file name, "py" or
    "ipynb", bytes, files). Links and special files are left out, each with a line in ``notes``;
    :class:`Rejected` for what cannot be graded."""
    count = 0
    size = 0
    # As inside a folder: a class folder unpacked from students' archives may hold eve.py -> /root/...
    if source.is_symlink():
        raise Rejected("rejected", f"{source.name} is a link: the grader follows no link in a submission; "
                                    "hand in the file or folder itself")
    if source.is_file():
        if source.suffix not in (".py", ".ipynb"):
            raise Rejected("missing", f"{source.name} is not a .py or .ipynb file (an exam may also be answered on a sheet: .toml, .yaml or .yml)")
        size = source.stat().st_size
        if size > MAX_SUBMISSION_BYTES:
            raise Rejected("rejected", f"the submission is larger than {MAX_SUBMISSION_BYTES >> 20} MiB")
        shutil.copyfile(source, os.path.join(workdir, source.name))
        os.chmod(os.path.join(workdir, source.name), 0o644)
        return source.name, source.suffix[1:], size, 1
    if not source.is_dir():
        raise Rejected("missing", f"{source.name} is neither a file nor a directory")
    for root, dirs, files in os.walk(source):
        rel_root = os.path.relpath(root, source)
        keep_dirs = []
        for name in sorted(dirs):
            full = os.path.join(root, name)
            if name in SKIPPED_DIRS:
                continue
            if os.path.islink(full):
                notes.append(f"link {os.path.normpath(os.path.join(rel_root, name))} not copied")
                continue
            keep_dirs.append(name)
            os.makedirs(os.path.join(workdir, rel_root, name), mode=0o755, exist_ok=True)
            os.chmod(os.path.join(workdir, rel_root, name), 0o755)
        dirs[:] = keep_dirs
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.normpath(os.path.join(rel_root, name))
            if os.path.islink(full) or not os.path.isfile(full):
                notes.append(f"{rel} not copied (a link or a special file)")
                continue
            count += 1
            size += os.path.getsize(full)
            if count > MAX_SUBMISSION_FILES or size > MAX_SUBMISSION_BYTES:
                raise Rejected("rejected", f"the submission has more than {MAX_SUBMISSION_FILES} files or "
                                            f"{MAX_SUBMISSION_BYTES >> 20} MiB")
            target = os.path.join(workdir, rel)
            shutil.copyfile(full, target)
            os.chmod(target, 0o644)
    main = choose_main(Path(workdir), module_name)
    if isinstance(main, str):
        raise Rejected("missing", main)
    return main.name, main.suffix[1:], size, count


_MAIN_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.M)


def choose_main(directory: Path, module_name: str) -> Path | str:
    """The file to load in a submission directory, or a message saying why there is none."""
    for suffix in (".py", ".ipynb"):
        candidate = directory / f"{module_name}{suffix}"
        if candidate.is_file():
            return candidate
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".py", ".ipynb")
                   and not p.name.startswith((".", "_")))
    if not files:
        return f"no .py or .ipynb file in the submission (expected {module_name}.py or {module_name}.ipynb)"
    notebooks = [p for p in files if p.suffix == ".ipynb"]
    scripts = [p for p in files if p.suffix == ".py"]
    if len(notebooks) == 1:
        return notebooks[0]
    if not notebooks and len(scripts) == 1:
        return scripts[0]
    if not notebooks:
        imported = set()
        for p in scripts:
            try:
                imported.update(_MAIN_IMPORT.findall(p.read_text(errors="replace")))
            except OSError:
                continue
        roots = [p for p in scripts if p.stem not in imported]
        if len(roots) == 1:
            return roots[0]
    names = ", ".join(p.name for p in files[:10])
    return (f"several candidate files ({names}): name the main one {module_name}.py or "
            f"{module_name}.ipynb")


def sweep_stale_session_dirs() -> None:
    """Remove the private directories of sessions whose grader process no longer exists."""
    root = Path(tempfile.gettempdir())
    try:
        entries = list(root.glob(SESSION_PREFIX + "*"))
    except OSError:
        return
    for entry in entries:
        pid_text = entry.name[len(SESSION_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            try:
                if entry.is_dir() and not entry.is_symlink() and entry.stat().st_uid == os.geteuid():
                    shutil.rmtree(entry, ignore_errors=True)
            except OSError:
                pass
        except PermissionError:
            pass  # alive, someone else's
