"""A Dask client for a ``--cluster`` value: a local cluster, a scheduler's address, or its file.

* ``local`` or ``local:N``: a cluster of N worker processes (default: one per
  CPU) on this machine, on 127.0.0.1 only, one task at a time per worker,
  closed when grading ends;
* ``tcp://host:port`` or ``tls://host:port``: an existing scheduler (use
  ``tls://`` off a single machine: Dask's wire unpickles what it receives);
* anything else: a scheduler file written by ``dask scheduler --scheduler-file``.

Every worker of a local cluster offers the resource ``threads`` (its share
of the CPUs, at least what one task needs): a task asks for the threads its
sandbox child may use (``Limits.threads``), so a worker never runs more
TensorFlow children than it has cores.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    import distributed

#: A task whose worker died this many times (each time it ran) is given up: a grader error.
ALLOWED_FAILURES = 3
THREADS = "threads"


def local_workers(spec: str) -> int | None:
    """N of ``local:N`` (``local``: one per CPU), None when ``spec`` is not a local cluster."""
    if spec == "local":
        return os.cpu_count() or 1
    if spec.startswith("local:"):
        count = spec.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--cluster {spec}: expected local:N with N a whole number >= 1")
        return int(count)
    return None


def check_spec(spec: str) -> None:
    """Raise ValueError naming what is wrong with a ``--cluster`` value (before anything starts)."""
    if local_workers(spec) is not None or spec.startswith(("tcp://", "tls://")):
        return
    if not Path(spec).is_file():
        raise ValueError(f"--cluster {spec}: expected local[:N], tcp://host:port, tls://host:port "
                         f"or a scheduler file (no such file)")


@contextlib.contextmanager
def open_client(spec: str, *, threads_per_task: int = 1) -> Iterator["distributed.Client"]:
    """A client for ``spec`` (see the module); a local cluster it starts is closed on exit."""
    import dask
    from distributed import Client, LocalCluster

    check_spec(spec)
    workers = local_workers(spec)
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
        if workers is None:
            target = {"address": spec} if spec.startswith(("tcp://", "tls://")) else {"scheduler_file": spec}
            with Client(**target) as client:
                yield client
            return
        share = max(threads_per_task, (os.cpu_count() or 1) // workers)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR,
                          resources={THREADS: share}) as cluster, Client(cluster) as client:
            yield client


def offers_threads(client) -> bool:
    """Whether every worker declares the ``threads`` resource (else a task must not ask for it)."""
    workers = client.scheduler_info().get("workers", {})
    return bool(workers) and all(THREADS in (w.get("resources") or {}) for w in workers.values())
