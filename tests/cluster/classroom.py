"""The cluster tests' class: a few submissions of assignment 01, hostile ones included, and a gradebook
dump that compares two runs row by row."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

import sqlalchemy as sa

from grader.course.gradebook import Gradebook, schema

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = ROOT / "assignments" / "01_backprop"
EXAMPLES = ASSIGNMENT / "examples"

#: Limits that keep a hostile submission's cost small: the same for every run compared.
LIMITS = {"load_seconds": 10, "request_seconds": 10, "wall_seconds": 40, "max_restarts": 0}

HOSTILE = {
    # never finishes loading: the load's time limit stops it
    "loops_forever": "while True:\n    pass\n",
    # kills its own child while loading
    "exits_at_load": "import os\nos._exit(3)\n",
    # prints what looks like a perfect result, then forges a sandbox error in the child's own channel
    "prints_fake_result": (EXAMPLES / "reference.py").read_text() + (
        '\nprint(\'{"score": 31, "tests": [], "grader_error": null}\')\n'
        "import gc\n"
        "_runtime = next(o for o in gc.get_objects() if type(o).__name__ == 'Runtime')\n"
        "_runtime.send({'t': 'sandbox_error', 'error': 'not your fault'})\n"),
}
HONEST = ("reference", "sign_error_dx", "transposed_dW")


def write_class(folder: Path) -> list[Path]:
    """Three honest submissions of 01 and :data:`HOSTILE`; the same modification time for all."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in HONEST:
        shutil.copyfile(EXAMPLES / f"{name}.py", folder / f"{name}.py")
    for name, text in HOSTILE.items():
        (folder / f"{name}.py").write_text(text)
    paths = sorted(folder.glob("*.py"))
    for path in paths:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return paths



def _timeless(results: dict) -> dict:
    """A stored results.json without what a clock decides (times taken, the moment of grading)."""
    results = json.loads(json.dumps(results))
    results.pop("execution_time", None)
    extra = results.get("extra_data", {})
    extra.pop("graded_at", None)
    extra.get("load", {}).pop("seconds", None)
    return results


#: What the machine decides, not the grading: the sandbox's uid slot (the first free one) and the
#: extra load time a busy machine is given (the clause appears only when it was given).
_MACHINE = [(re.compile(r"\buid \d+"), "uid <slot>"),
            (re.compile(r", [\d.]+ s more given for a busy machine"), "")]   # said only when it was busy


def _machine_free(text: str) -> str:
    for pattern, replacement in _MACHINE:
        text = pattern.sub(replacement, text)
    return text


def dump(url: str) -> dict[str, list[str]]:
    """Every row a grading run decides, keyed by natural keys, without ids and clock times."""
    with Gradebook.open(url, create=False) as gb, gb.engine.connect() as conn:
        subs = {r.id: (r.assignment, r.student, r.sha256) for r in conn.execute(sa.select(schema.submissions))}
        grading_sub = {r.id: subs[r.submission_id] for r in conn.execute(sa.select(schema.gradings))}

        def table(t, drop=(), **mapped):
            rows = []
            for row in conn.execute(sa.select(t)):
                d = {k: v for k, v in row._mapping.items() if k not in drop}
                for column, mapping in mapped.items():
                    d[column] = mapping[d[column]]
                if "results" in d:
                    d["results"] = _timeless(d["results"])
                rows.append(_machine_free(json.dumps(d, sort_keys=True, default=str)))
            return sorted(rows)

        return {
            "students": table(schema.students, drop=("created_at",)),
            "submissions": table(schema.submissions, drop=("id", "recorded_at")),
            "gradings": table(schema.gradings, drop=("id", "recorded_at", "graded_at", "seconds", "run_id"),
                              submission_id=subs),
            "question_results": table(schema.question_results, drop=("id",), grading_id=grading_sub),
        }


# -- faults --------------------------------------------------------------------------------
def write_slow_class(folder: Path, count: int, seconds: float = 2.0) -> list[Path]:
    """``count`` correct submissions that each sleep ``seconds`` while loading: a batch long enough to
    kill something in the middle of it, bounded by the load limit (:data:`LIMITS`)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = (EXAMPLES / "reference.py").read_text()
    for index in range(count):
        (folder / f"student{index:02d}.py").write_text(f"import time\ntime.sleep({seconds})\n# {index}\n{body}")
    return sorted(folder.glob("*.py"))


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, None when it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[19])


def descendants(pid: int) -> dict[int, int]:
    """Every live descendant of ``pid``: pid -> its start time (which tells a reused pid apart)."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry.name))
                starts[int(entry.name)] = stat[1]
    found: dict[int, int] = {}
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found[child] = starts[child]
        todo.extend(children.get(child, []))
    return found


def alive(processes: dict[int, int]) -> list[int]:
    """Which of ``processes`` (pid -> start time) still run."""
    return [pid for pid, start in processes.items() if (_stat(pid) or (0, None))[1] == start]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def gradings_per_submission(db: Path) -> dict[str, int]:
    """student -> how many gradings the gradebook holds for them (0 when it has none yet)."""
    import sqlite3

    if not db.exists():
        return {}
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        try:
            rows = conn.execute("SELECT s.student, count(g.id) FROM submissions s "
                                "LEFT JOIN gradings g ON g.submission_id = s.id GROUP BY s.student").fetchall()
        except sqlite3.OperationalError:   # the tables are not there yet
            return {}
    return dict(rows)


def assert_same(got: dict[str, list[str]], expected: dict[str, list[str]]) -> None:
    """Table by table; a difference is shown where it starts, in the first row that differs."""
    for name in expected:
        extra = sorted(set(got[name]) - set(expected[name]))
        missing = sorted(set(expected[name]) - set(got[name]))
        if not extra and not missing and len(got[name]) == len(expected[name]):
            continue
        where = ""
        if extra and missing:
            a, b = missing[0], extra[0]
            start = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            where = f"\nexpected ...{a[max(0, start - 300):start + 200]}\ngot      ...{b[max(0, start - 300):start + 200]}"
        raise AssertionError(f"{name}: {len(got[name])} rows, expected {len(expected[name])}; "
                             f"{len(extra)} differ{where}")
