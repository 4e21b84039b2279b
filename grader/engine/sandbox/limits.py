"""Resource limits of one sandboxed submission."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Limits:
    """What one submission may use.

    Times are wall-clock seconds measured by the parent. ``wall_seconds`` is
    the budget of the whole submission: every load (the first one and each
    restart) and every request are charged to it; idle time of the parent
    between requests is not.
    """

    wall_seconds: float = 60.0        # whole submission budget, loads + all requests
    request_seconds: float = 20.0     # one request (a call batch, a get, a task)
    load_seconds: float = 30.0        # starting the child and loading the submission
    memory_bytes: int = 2 * 2**30     # RLIMIT_AS
    cpu_seconds: int = 120            # RLIMIT_CPU
    file_bytes: int = 16 * 2**20      # RLIMIT_FSIZE; also caps the stdout/stderr files
    processes: int = 64               # RLIMIT_NPROC (threads count); TensorFlow needs >= 64
    threads: int = 1                  # OMP/OpenBLAS/MKL/TF thread variables in the child
    tmp_bytes: int = 64 * 2**20       # what the child may write in /tmp, /dev/shm, /submission (bubblewrap mode)
    tmp_files: int = 10_000           # files and folders it may create there (bubblewrap mode; kernel memory)
    max_restarts: int = 3             # restarts after a timeout or a dead child
    reply_bytes: int = 256 * 2**20    # largest reply frame accepted from the child

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Limits.{field.name} must be a number, got {type(value).__name__}")
            if field.name == "max_restarts":
                if value < 0 or int(value) != value:
                    raise ValueError(f"Limits.max_restarts must be a non-negative integer, got {value!r}")
            elif not value > 0:
                raise ValueError(f"Limits.{field.name} must be positive, got {value!r}")
            if field.type in ("int", int) and int(value) != value:
                raise ValueError(f"Limits.{field.name} must be a whole number, got {value!r}")
            object.__setattr__(self, field.name, (int(value) if field.type in ("int", int) else float(value)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Limits":
        """Build from a mapping; unknown keys are an error (a typo must not silently drop a limit)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown sandbox limit(s) {unknown}; known: {sorted(names)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "Limits":
        return dataclasses.replace(self, **changes)
