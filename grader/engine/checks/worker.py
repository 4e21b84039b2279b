"""The check worker: a process that runs checks of student text, one at a time.

Started by :mod:`grader.engine.checks.bounded`, it reads one request per line on
stdin and writes one reply per line on stdout, both plain JSON:

- request: ``{"spec": check spec, "got": str | number | bool | null, "expected": ..., "cpu": seconds}``
- reply: ``{"fraction": float, "message": str, "detail": str, "data": {...}}``, or
  ``{"expected_error": str}`` when the expected value is unusable (an authoring bug).

Before each check the worker lowers its own RLIMIT_CPU soft limit to the CPU
time it has used so far plus ``cpu`` seconds, so a check that runs past its
budget is ended by the kernel (SIGXCPU), whatever it is doing, and the
grading process sees the pipe close. The worker never runs student code; it
only reads student text with the whitelisting parser.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys

MEMORY_BYTES = 3 << 30  # sympy on bounded numbers needs far less; a runaway cache stops here


def _limit_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(math.ceil(used + seconds))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _answer(request: dict) -> dict:
    from grader.engine.checks import ExpectedValueError, check_from_spec

    check = check_from_spec(request["spec"])
    try:
        result = check.check(request["got"], request["expected"])
    except ExpectedValueError as exc:
        return {"expected_error": str(exc)}
    return result.to_dict()


def main() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    except (ValueError, OSError):  # a lower limit inherited from the grader holds instead
        pass
    import grader.engine.checks  # noqa: F401 - registers every check kind once, before any budget starts

    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but replies on the reply pipe
    print(json.dumps({"ready": os.getpid()}), file=out, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        _limit_cpu(float(request["cpu"]))
        try:
            reply = _answer(request)
        except MemoryError:
            reply = {"out_of_memory": True}
        print(json.dumps(reply), file=out, flush=True)


if __name__ == "__main__":
    main()
