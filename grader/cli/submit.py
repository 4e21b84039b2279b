"""``dlgrade submit FILE --server URL --assignment NAME``: upload, wait for the grade, print the table.

The token is your personal one from the sign-in link your instructor sent
(the part after ``token=``): pass ``--token``, or set ``DLGRADE_TOKEN``.
Exit status: 0 when graded, 1 when grading failed, 2 for a refusal (the
message says why: too many attempts, a cooldown, the wrong file type, ...).
Only the standard library is used: this works from the student kit.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.course.submit.client import ApiError, Client


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("submit", help="hand in to the course website and print the result",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, help="your .py or .ipynb (or an exam's answer sheet)")
    p.add_argument("--server", required=True, help="the course website, e.g. https://grading.example.edu")
    p.add_argument("--assignment", help="the assignment's name, e.g. 01_backprop (default: the one whose "
                                        "file name matches)")
    p.add_argument("--token", default=os.environ.get("DLGRADE_TOKEN"), help="your token (default: $DLGRADE_TOKEN)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the grade (default: 600)")
    p.add_argument("--no-wait", action="store_true", help="upload and print the id; do not wait")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.token:
        print("dlgrade submit: no token: pass --token or set DLGRADE_TOKEN (from your sign-in link)", file=sys.stderr)
        return 2
    if not args.file.is_file():
        print(f"dlgrade submit: no such file: {args.file}", file=sys.stderr)
        return 2
    client = Client(args.server, args.token)
    try:
        assignment = args.assignment or guess_assignment(client.assignments(), args.file)
        sent = client.upload(assignment, args.file)
        print(f"uploaded {args.file.name} to {assignment} as #{sent['id']}; waiting for the grade...",
              file=sys.stderr)
        if args.no_wait:
            print(sent["id"])
            return 0
        state = client.wait(sent["id"], timeout=args.timeout)
    except ApiError as exc:
        print(f"dlgrade submit: refused ({exc.status}): {exc.message}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError) as exc:
        print(f"dlgrade submit: {exc}", file=sys.stderr)
        return 2
    if state["status"] == "failed" or "result" not in state:
        print(f"grading failed: {state.get('error') or 'no result'}", file=sys.stderr)
        return 1
    print(result_table(state["result"]))
    print(f"\nfull report: {args.server.rstrip('/')}{state.get('report_url', '')}")
    return 0


def guess_assignment(assignments: list[dict], file: Path) -> str:
    matches = [a["name"] for a in assignments if a.get("module") == file.stem]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(a["name"] for a in assignments)
    raise ApiError(400, f"cannot tell which assignment {file.name} is for: pass --assignment (one of {names})")


def result_table(result: dict) -> str:
    from grader.engine.text_report import table

    rows = [[q["name"], f"{q['score']:g}", f"{q['max_score']:g}", q["status"],
             (q["message"].splitlines() or [""])[0][:70]] for q in result["questions"]]
    text = table(["question", "score", "max", "status", "feedback"], rows, align="lrrll")
    text += f"\n\nscore: {result['score']:.10g} / {result['max_score']:.10g}"
    if result.get("hidden_held_back"):
        text += f" ({result['hidden_held_back']} hidden question(s) not shown yet)"
    return text
