"""The seccomp programs: the one bubblewrap installs, and the fallback's, which its child installs itself.

Built with libseccomp (the ``pyseccomp`` package) and exported as BPF;
where either is missing there is no program, and the words say why.
"""

from __future__ import annotations

import errno
import functools
import tempfile

# Denied with EPERM: namespaces, mounts, tracing, kernel keyrings and modules, eBPF, io_uring.
DENIED_SYSCALLS = (
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "ptrace", "process_vm_readv",
    "process_vm_writev", "bpf", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "perf_event_open", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "open_by_handle_at", "name_to_handle_at", "acct", "swapon", "swapoff",
    "reboot", "quotactl", "lookup_dcookie",
)
# clone() flags that create namespaces; clone3 (whose flags seccomp cannot read) answers ENOSYS so
# that the C library falls back to clone().
CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                         0x40000000, 0x00000080)



# Without a pid namespace (the fallback) the child sees every process on the machine: these system
# calls could signal, or take a handle on, the grader or another student's child.
SIGNAL_SYSCALLS_BY_PID = ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")  # first argument: a pid
SIGNAL_SYSCALLS_DENIED = ("tkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "process_madvise")
# Nor does it have a network namespace: no socket() of any family. IPv4/IPv6 would reach the network,
# AF_UNIX a local daemon through its socket file (a PostgreSQL gradebook on trust or peer
# authentication, D-Bus; Landlock has no right for connect()), AF_NETLINK the kernel's routing and
# audit interfaces. socketpair() stays: it reaches nothing but its own other end.
# And no setsid()/setpgid(): outside a cpu cgroup of its own, each new session is a scheduler group of
# its own (autogroup), so 48 busy processes in 48 sessions would take 48 shares of the CPU from classmates.
SESSION_SYSCALLS_DENIED = ("setsid", "setpgid")
# Nor an IPC namespace: System V shared memory, message queues and semaphores, and POSIX message queues,
# outlive the process that made them and count against none of its rlimits. The child could leave
# gigabytes of filled segments behind, one after the other, or a 0666 one for the next student to read.
IPC_SYSCALLS_DENIED = ("shmget", "msgget", "semget", "mq_open")
FALLBACK_SECCOMP_WORDS = "seccomp (signals only to itself, no sockets, no new sessions, no System V IPC)"


@functools.lru_cache(maxsize=None)
def seccomp_program() -> tuple[bytes | None, str]:
    """The BPF program handed to ``bwrap --seccomp``, or (None, why not)."""
    return _seccomp_program(None)


def seccomp_program_confined_to(pid: int) -> tuple[bytes | None, str]:
    """The same program for the fallback's child, which has no pid or network namespace.

    Signals only to ``pid`` itself: kill(), tgkill() and sigqueue to any
    other pid, process group or to -1 answer EPERM, so the child can neither
    kill the grader nor another student's child. The comparison covers all
    64 bits of the argument, so a pid with junk in its upper half is refused
    too. And no sockets: socket() answers EPERM whatever the family; nor
    new sessions, nor System V IPC objects or POSIX message queues, which
    would outlive the child.
    """
    return _seccomp_program(pid)


def _seccomp_program(signal_only_to: int | None) -> tuple[bytes | None, str]:
    try:
        import pyseccomp as seccomp
    except ImportError:
        return None, "no seccomp (the pyseccomp package is not installed)"
    except OSError as exc:  # libseccomp itself is missing
        return None, f"no seccomp (libseccomp not found: {exc})"
    try:
        flt = seccomp.SyscallFilter(seccomp.ALLOW)
        deny = seccomp.ERRNO(errno.EPERM)

        def add(name, *args):
            try:
                flt.add_rule(deny, name, *args)
            except (OSError, ValueError, RuntimeError):
                pass  # a system call this kernel/libseccomp does not know

        for name in DENIED_SYSCALLS:
            add(name)
        for flag in CLONE_NAMESPACE_FLAGS:
            add("clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        if signal_only_to is not None:
            for name in SIGNAL_SYSCALLS_BY_PID:
                add(name, seccomp.Arg(0, seccomp.NE, signal_only_to))
            for name in SIGNAL_SYSCALLS_DENIED:
                add(name)
            add("socket")
            for name in SESSION_SYSCALLS_DENIED + IPC_SYSCALLS_DENIED:
                add(name)
        with tempfile.TemporaryFile() as handle:
            flt.export_bpf(handle)
            handle.seek(0)
            program = handle.read()
    except Exception as exc:  # any libseccomp failure means no filter, said so
        return None, f"no seccomp ({type(exc).__name__}: {exc})"
    if not program or len(program) % 8:
        return None, "no seccomp (libseccomp exported an empty program)"
    if signal_only_to is not None:
        return program, FALLBACK_SECCOMP_WORDS
    return program, "seccomp"
