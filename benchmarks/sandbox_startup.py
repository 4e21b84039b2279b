"""Per-submission overhead of the sandbox: start, load a numpy submission, 3 calls, close.

    python benchmarks/sandbox_startup.py [--runs 20]

Prints the median and spread for each isolation mode available here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.engine.sandbox import Call, SandboxSession, SlotRef, isolation_available  # noqa: E402

SUBMISSION = """
import numpy as np

def dense_forward(x, W, b):
    return x @ W + b, (x, W, b)

def dense_backward(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)

def relu(x):
    return np.maximum(x, 0)
"""


def one_run(path: Path, mode: str, x, W, b, dout) -> tuple[float, float]:
    started = time.perf_counter()
    with SandboxSession(path, mode=mode) as s:
        loaded = time.perf_counter()
        replies = s.call([Call("dense_forward", args=[x, W, b], keep="fwd", pick=0),
                          Call("dense_backward", args=[dout, SlotRef("fwd", 1)]),
                          Call("relu", args=[x])])
        assert all(r.ok for r in replies), replies
    return time.perf_counter() - started, loaded - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((32, 64)), rng.standard_normal((64, 16)), rng.standard_normal(16)
    dout = rng.standard_normal((32, 16))
    modes = ["none"] + (["bwrap"] if isolation_available()[0] else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "submission.py"
        path.write_text(SUBMISSION)
        for mode in modes:
            one_run(path, mode, x, W, b, dout)  # warm the page cache
            totals, loads = [], []
            for _ in range(args.runs):
                total, load = one_run(path, mode, x, W, b, dout)
                totals.append(total)
                loads.append(load)
            print(f"{mode:>5}: start+load+3 calls+close median {statistics.median(totals) * 1000:.0f} ms "
                  f"(min {min(totals) * 1000:.0f}, max {max(totals) * 1000:.0f}); "
                  f"start+load median {statistics.median(loads) * 1000:.0f} ms over {args.runs} runs")


if __name__ == "__main__":
    main()
