"""The cluster tests' class: a few submissions of assignment 01, hostile ones included, and a gradebook
dump that compares two runs row by row."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import sqlalchemy as sa

from grader.gradebook import Gradebook, schema

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = ROOT / "assignments" / "01_backprop"
EXAMPLES = ASSIGNMENT / "examples"

#: Limits that keep a hostile submission's cost small: the same for every run compared.
LIMITS = {"load_seconds": 10, "request_seconds": 10, "wall_seconds": 40, "max_restarts": 1}

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
#: extra load time a busy machine is given.
_MACHINE = [(re.compile(r"\buid \d+"), "uid <slot>"),
            (re.compile(r"[\d.]+ s more given for a busy machine"), "<extra> s more given for a busy machine")]


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
