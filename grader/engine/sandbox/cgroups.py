"""Control groups for the fallback's child: a process cap and a fair CPU share, where they can be had.

Without bubblewrap there is no pid namespace to hold a child's processes
together. Where the grader may write the cgroup hierarchy (a root grader on
most hosts; often not inside a container), each child gets a group of its
own, created beneath the grader's own group so that any bound placed on the
grader (a CI job's, a test's) still holds its children:

- ``pids``: ``pids.max`` caps the processes and threads of the child and
  everything it starts, whatever uid they run as (RLIMIT_NPROC does not
  bind uid 0, and counts per uid, not per child);
- ``cpu``: one group per child with the same weight, so a submission that
  starts 48 busy processes, each in a session of its own, gets one child's
  share of the CPU, not 48;
- ``memory``: one cap on the memory of all the child's processes together
  (RLIMIT_AS binds each process alone, so 64 processes could hold 64 times
  it); past the cap the kernel's OOM killer ends a process of the group.

Both cgroup v1 (one hierarchy per controller) and v2 (one unified hierarchy,
where the controller must be enabled in the parent's ``cgroup.subtree_control``)
are handled. Where neither is writable, :func:`create` returns ``None`` and
says why; the uid's RLIMIT_NPROC is then the only process cap.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

CGROUP_ROOT = "/sys/fs/cgroup"
PREFIX = "dlgrade-"


def _own_groups() -> dict[str, str]:
    """{controller or "" for v2: this process's group path}, from /proc/self/cgroup."""
    groups: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return groups
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            groups[name] = path
    return groups


def _controller_dir(controller: str) -> str | None:
    """The folder (the grader's own group) under which a child group with ``controller`` can be made."""
    own = _own_groups()
    if controller in own:  # v1: a hierarchy of its own
        base = os.path.join(CGROUP_ROOT, controller)
        candidate = os.path.join(base, own[controller].lstrip("/"))
        if os.path.isfile(os.path.join(candidate, "cgroup.procs")):
            return candidate
        return None
    if "" in own:  # v2: the controller must be delegated to the grader's group's children
        for base in (CGROUP_ROOT, os.path.join(CGROUP_ROOT, "unified")):
            candidate = os.path.join(base, own[""].lstrip("/"))
            try:
                with open(os.path.join(candidate, "cgroup.subtree_control")) as handle:
                    if controller in handle.read().split():
                        return candidate
            except OSError:
                continue
    return None


@dataclass
class ChildCgroup:
    """The groups of one child: ``pids`` and, where available, ``cpu`` (folders)."""

    pids: str | None
    cpu: str | None
    max_pids: int
    words: str = ""
    memory: str | None = None
    _folders: list[str] = field(default_factory=list)

    def add(self, pid: int) -> None:
        """Move ``pid`` (the child, before it runs any student code) into the groups."""
        for folder in self._folders:
            with open(os.path.join(folder, "cgroup.procs"), "w") as handle:
                handle.write(str(pid))

    def pids_inside(self) -> list[int]:
        found: set[int] = set()
        for folder in self._folders:
            try:
                with open(os.path.join(folder, "cgroup.procs")) as handle:
                    found.update(int(line) for line in handle.read().split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    def refused_forks(self) -> int:
        """How many times a fork or a new thread was refused at the cap (``pids.events``)."""
        return _read_counter(self.pids, "pids.events", "max")

    def peak(self) -> int | None:
        """The most processes and threads the group held at once (kernel 6.1+), or None."""
        if self.pids is None:
            return None
        try:
            with open(os.path.join(self.pids, "pids.peak")) as handle:
                return int(handle.read())
        except (OSError, ValueError):
            return None

    def kill_all(self, timeout: float = 5.0) -> bool:
        """SIGKILL every process in the groups until none is left (a fork bomb cannot outrun it: it is capped)."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids_inside()
            if not pids:
                return True
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)

    def remove(self) -> None:
        """Kill what is left and delete the groups."""
        self.kill_all()
        for folder in self._folders:
            for _ in range(200):
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY: the last processes are still being reaped
                    time.sleep(0.005)
        self._folders = []


def _read_counter(folder: str | None, name: str, key: str) -> int:
    if folder is None:
        return 0
    try:
        with open(os.path.join(folder, name)) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == 2 and parts[0] == key:
                    return int(parts[1])
    except (OSError, ValueError):
        pass
    return 0


def _make(parent: str, name: str) -> str:
    folder = os.path.join(parent, name)
    try:
        os.mkdir(folder, 0o755)
    except FileExistsError:  # left by a grader that was killed: empty it and reuse it
        leftover = ChildCgroup(None, None, 0, _folders=[folder])
        leftover.kill_all()
    return folder


def create(name: str, max_pids: int, max_memory: int | None = None) -> tuple[ChildCgroup | None, str]:
    """Groups named ``dlgrade-NAME`` for one child: (the groups, words for the isolation line),
    or (None, why there are none). ``max_memory``: bytes all its processes may hold together."""
    if not os.path.isdir(CGROUP_ROOT):
        return None, "no cgroups (none mounted)"
    pids_parent, cpu_parent = _controller_dir("pids"), _controller_dir("cpu")
    if pids_parent is None:
        return None, "no pids cgroup (no pids controller the grader may use)"
    folders: list[str] = []
    try:
        pids = _make(pids_parent, PREFIX + name)
        folders.append(pids)
        with open(os.path.join(pids, "pids.max"), "w") as handle:
            handle.write(str(max_pids))
    except OSError as exc:
        ChildCgroup(None, None, 0, _folders=folders).remove()
        return None, f"no pids cgroup (not writable here: {exc.strerror})"
    cpu = None
    if cpu_parent is not None:
        try:
            cpu = _make(cpu_parent, PREFIX + name) if cpu_parent != pids_parent else pids
            if cpu != pids:
                folders.append(cpu)
        except OSError:
            cpu = None
    memory = _memory_group(name, max_memory, pids, folders) if max_memory else None
    words = (f"pids cgroup (at most {max_pids} processes)" + (", a cpu cgroup of its own" if cpu else "")
             + (f", a memory cgroup (at most {max_memory >> 20} MiB of memory in all)" if memory else ""))
    return ChildCgroup(pids, cpu, max_pids, words, memory=memory, _folders=folders), words


def _memory_group(name: str, max_memory: int, pids: str, folders: list[str]) -> str | None:
    """A memory group capped at ``max_memory`` bytes (added to ``folders``), or None where none can be made."""
    parent = _controller_dir("memory")
    if parent is None:
        return None
    made = None
    try:
        folder = _make(parent, PREFIX + name) if parent != os.path.dirname(pids) else pids
        if folder != pids:
            made = folder
            folders.append(folder)
        v2 = os.path.isfile(os.path.join(folder, "memory.max"))
        with open(os.path.join(folder, "memory.max" if v2 else "memory.limit_in_bytes"), "w") as handle:
            handle.write(str(max_memory))
        if v2:  # no swap beyond the cap either (where the kernel accounts swap)
            try:
                with open(os.path.join(folder, "memory.swap.max"), "w") as handle:
                    handle.write("0")
            except OSError:
                pass
    except OSError:
        if made is not None:
            folders.remove(made)
            ChildCgroup(None, None, 0, _folders=[made]).remove()
        return None
    return folder
