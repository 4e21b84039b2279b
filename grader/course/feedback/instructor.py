"""The instructor's HTML report of a graded class.

Input: a folder as ``dlgrade grade --out DIR`` leaves it, one
``DIR/instructor/<student>/results.instructor.json`` per student (older folders:
``DIR/<student>/``; read with ``json``; nothing is unpickled or evaluated),
each holding the gradebook's final score, which the report shows (with its
reasons) wherever it shows a student's score. Output: ``DIR/report.html`` (a
class folder: ``DIR/class-report.html``) with its figures beside it:

- the score distribution (histogram) and summary numbers;
- per question: pass rates (stacked bars and a table);
- per question: the most common failure messages, numbers normalised out so
  that the same mistake with different values groups together;
- the slowest submissions;
- submissions that did not load, notebook cells that raised, grader errors;
- the isolation in force (and a warning when any submission ran without
  bubblewrap);
- every submission, linked to its own ``report.html`` where there is one.
"""

from __future__ import annotations

import json
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from grader.course.feedback import figures
from grader.course.feedback.page import Images, badge, esc, figure_html, fmt_points, fmt_seconds, page, table_html
from grader.course.feedback.student import REPORT_NAME, result_from_json
from grader.engine.results import ERROR, FAILED, NOT_IMPLEMENTED, PARTIAL, PASSED, TIMEOUT, SubmissionResult

RESULTS_FILE = "results.instructor.json"
TOP_FAILURES = 5
SLOWEST = 10
EXAMPLES = 4

# A number on its own (not inside a name such as float64, W2 or conv2d): 3, -4.41749, 1e-06, 2.0e+00, .5
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w])")


def normalise_message(message: str) -> str:
    """``message`` with every number replaced by ``#`` and spaces collapsed (line breaks kept).

    "dx: 20 of 20 elements (100%) ... your value is -4.41749" and the same
    sentence with other numbers give the same text.
    """
    lines = [" ".join(_NUMBER.sub("#", line).split()) for line in str(message).splitlines()]
    return "\n".join(line for line in lines if line)


@dataclass
class Submission:
    student: str
    folder: Path
    result: SubmissionResult
    final: dict | None = None          # the gradebook's final score (extra_data.final), when recorded
    report_folder: Path | None = None  # where the student's report.html is (default: ``folder``)

    @property
    def report(self) -> Path | None:
        path = (self.report_folder or self.folder) / REPORT_NAME
        return path if path.exists() else None

    @property
    def score(self) -> float:
        """The final score when the gradebook gave one (0 when nothing counts), else the graded score."""
        if self.final is not None:
            return float(self.final.get("score") or 0.0)
        return self.result.score

    @property
    def max_score(self) -> float:
        if self.final is not None and self.final.get("max_score"):
            return float(self.final["max_score"])
        return self.result.max_score

    @property
    def reasons(self) -> list[str]:
        return list((self.final or {}).get("reasons") or [])


@dataclass
class FailureGroup:
    message: str                       # normalised
    example: str                       # one real message
    students: list[str] = field(default_factory=list)
    cases: int = 0


@dataclass
class QuestionStats:
    name: str
    title: str
    points: float
    public: bool
    statuses: Counter = field(default_factory=Counter)
    scores: list[float] = field(default_factory=list)
    failures: dict[str, FailureGroup] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return sum(self.statuses.values())

    def share(self, *statuses: str) -> float:
        return sum(self.statuses[s] for s in statuses) / self.n if self.n else 0.0

    @property
    def pass_rate(self) -> float:
        return self.share(PASSED)

    def common_failures(self, top: int = TOP_FAILURES) -> list[FailureGroup]:
        groups = sorted(self.failures.values(), key=lambda g: (-len(g.students), -g.cases, g.message))
        return groups[:top]


@dataclass
class ClassResults:
    folder: Path
    submissions: list[Submission]
    unreadable: list[tuple[str, str]]
    questions: dict[str, QuestionStats]


def load_class(results_dir: Path) -> ClassResults:
    """Every ``<student>/results.instructor.json`` under ``results_dir``, and the per-question statistics."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"{results_dir} is not a folder")
    submissions: list[Submission] = []
    unreadable: list[tuple[str, str]] = []
    # A class folder (grader.course.feedback.class_folder) keeps these under instructor/; older folders beside the report.
    split = (results_dir / "instructor").is_dir()
    pattern = f"instructor/*/{RESULTS_FILE}" if split else f"*/{RESULTS_FILE}"
    for path in sorted(results_dir.glob(pattern)):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            result = result_from_json(raw)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            unreadable.append((path.parent.name, f"{type(exc).__name__}: {exc}"))
            continue
        final = (raw.get("extra_data") or {}).get("final")
        submissions.append(Submission(result.submission or path.parent.name, path.parent, result,
                                      final if isinstance(final, dict) else None,
                                      results_dir / "students" / path.parent.name if split else None))
    return ClassResults(results_dir, submissions, unreadable, question_stats(submissions))


def question_stats(submissions: list[Submission]) -> dict[str, QuestionStats]:
    stats: dict[str, QuestionStats] = {}
    several = len({s.result.assignment for s in submissions}) > 1
    for sub in submissions:
        for q in sub.result.questions:
            key = f"{sub.result.assignment}/{q.name}" if several else q.name
            st = stats.get(key)
            if st is None:
                st = stats[key] = QuestionStats(key, q.title, q.points, q.public)
            st.statuses[q.status] += 1
            st.scores.append(q.score)
            seen_here: set[str] = set()
            for case in q.cases:
                if case.status == PASSED:
                    continue
                norm = normalise_message(case.message) or "(no message)"
                group = st.failures.get(norm)
                if group is None:
                    group = st.failures[norm] = FailureGroup(norm, case.message)
                group.cases += 1
                if norm not in seen_here:
                    seen_here.add(norm)
                    group.students.append(sub.student)
    return stats


def write_instructor_report(results_dir: Path, out: Path | None = None, *, embed_images: bool = False) -> Path:
    """Write the class report of ``results_dir`` to ``out`` (default ``results_dir/report.html``); return it."""
    results_dir = Path(results_dir)
    cls = load_class(results_dir)
    out = Path(out) if out else results_dir / REPORT_NAME
    out.parent.mkdir(parents=True, exist_ok=True)
    images = Images(out, embed=embed_images)
    images.clear()
    body = InstructorReport(cls, images, out).render()
    assignments = sorted({s.result.assignment for s in cls.submissions})
    out.write_text(page(f"Class report: {', '.join(assignments) or results_dir.name}", body), encoding="utf-8")
    images.remove_empty_folder()
    return out


class InstructorReport:
    def __init__(self, cls: ClassResults, images: Images, out: Path):
        self.cls = cls
        self.images = images
        self.out = out

    def render(self) -> str:
        parts = [self.header(), self.alerts(), self.distribution(), self.pass_rates(), self.failures(),
                 self.problems(), self.slowest(), self.isolation(), self.everyone()]
        return "\n".join(p for p in parts if p)

    def link(self, sub: Submission) -> str:
        report = sub.report
        if report is None:
            return esc(sub.student)
        rel = Path(os.path.relpath(report.resolve(), self.out.parent.resolve()))
        return f"<a href=\"{esc(quote(rel.as_posix()))}\">{esc(sub.student)}</a>"

    # -- sections ------------------------------------------------------------
    def header(self) -> str:
        subs = self.cls.submissions
        assignments = sorted({s.result.assignment for s in subs})
        scores = [s.score for s in subs]
        maxes = {s.max_score for s in subs}
        top = max(maxes) if maxes else 0.0
        stats = [("submissions", str(len(subs)))]
        if scores and len(maxes) > 1:   # different maximums (several assignments): in percent
            shares = [100 * s.score / s.max_score if s.max_score else 100.0 for s in subs]
            stats += [("mean score", f"{statistics.fmean(shares):.0f}%"),
                      ("median", f"{statistics.median(shares):.0f}%"),
                      ("full marks", str(sum(s.score >= s.max_score for s in subs))),
                      ("no points", str(sum(s.score <= 0 for s in subs)))]
        elif scores:
            stats += [("mean score", f"{fmt_points(statistics.fmean(scores))} / {fmt_points(top)}"),
                      ("median", fmt_points(statistics.median(scores))),
                      ("full marks", str(sum(s.score >= s.max_score for s in subs))),
                      ("no points", str(sum(s.score <= 0 for s in subs)))]
        dates = sorted(s.result.graded_at for s in subs if s.result.graded_at)
        when = f" · graded {esc(dates[0][:10])}" + (f" to {esc(dates[-1][:10])}" if dates[-1][:10] != dates[0][:10]
                                                    else "") if dates else ""
        items = "".join(f"<li><span class=\"num\">{esc(v)}</span><span class=\"muted small\">{esc(k)}</span></li>"
                        for k, v in stats)
        return (f"<header><p class=\"eyebrow\">Class report · {esc(self.cls.folder.name)}{when}</p>"
                f"<h1>{esc(', '.join(assignments) or 'No results')}</h1></header>"
                f"<ul class=\"stats\" aria-label=\"summary\" id=\"summary\">{items}</ul>")

    def alerts(self) -> str:
        out = []
        subs = self.cls.submissions
        if not subs:
            out.append("<div class=\"alert\"><p>No <code>*/results.instructor.json</code> found in this folder: "
                       "was it graded with <code>dlgrade grade --out</code>?</p></div>")
        if len({s.result.assignment for s in subs}) > 1:
            out.append("<div class=\"alert warn\"><p>This folder holds results of more than one assignment; "
                       "questions are named assignment/question.</p></div>")
        unsafe = [s for s in subs if isolation_kind(s.result.isolation) == "fallback"]
        if unsafe:
            out.append(f"<div class=\"alert\"><p><strong>{len(unsafe)} submission{'s' if len(unsafe) != 1 else ''} "
                       "ran without bubblewrap</strong> (no namespaces, no separate uid): see "
                       "<a href=\"#isolation-heading\">Isolation</a>.</p></div>")
        errors = [s for s in subs if s.result.grader_error]
        if errors:
            out.append(f"<div class=\"alert\"><p><strong>{len(errors)} grader error{'s' if len(errors) != 1 else ''}"
                       "</strong> (not the students' fault): grade them again. See "
                       "<a href=\"#problems-heading\">Problems</a>.</p></div>")
        if self.cls.unreadable:
            out.append(f"<div class=\"alert warn\"><p>{len(self.cls.unreadable)} results file(s) could not be "
                       "read: see <a href=\"#problems-heading\">Problems</a>.</p></div>")
        return "\n".join(out)

    def distribution(self) -> str:
        subs = self.cls.submissions
        if not subs:
            return ""
        maxes = {s.max_score for s in subs}
        if len(maxes) == 1:
            scores, top, unit = [s.score for s in subs], maxes.pop(), "points"
        else:
            scores = [100 * s.score / s.max_score if s.max_score else 100.0 for s in subs]
            top, unit = 100.0, "% of the points"
        png = figures.histogram_figure(scores, top, unit=unit)
        src = self.images.add(png, "scores")
        counts = Counter(round(x, 2) for x in scores)
        common = ", ".join(f"{fmt_points(k)} ({v})" for k, v in counts.most_common(3))
        alt = (f"Histogram of {len(scores)} scores in {unit} out of {fmt_points(top)}: mean "
               f"{fmt_points(statistics.fmean(scores))}, minimum {fmt_points(min(scores))}, maximum "
               f"{fmt_points(max(scores))}; most common {common}.")
        return ("<section aria-labelledby=\"dist-heading\"><h2 id=\"dist-heading\">Score distribution</h2>"
                + figure_html(src, alt, f"Scores in {unit}; the dashed line is the mean.") + "</section>")

    def pass_rates(self) -> str:
        qs = list(self.cls.questions.values())
        if not qs:
            return ""
        others = (FAILED, NOT_IMPLEMENTED, ERROR, TIMEOUT)
        png = figures.pass_rate_figure([q.name for q in qs], [q.share(PASSED) for q in qs],
                                       [q.share(PARTIAL) for q in qs],
                                       [1 - q.share(PASSED) - q.share(PARTIAL) for q in qs])
        src = self.images.add(png, "pass-rates")
        hardest = min(qs, key=lambda q: q.pass_rate)
        alt = (f"Stacked bars of the share of submissions that passed, got partial credit or no credit, for "
               f"{len(qs)} questions; the lowest pass rate is {hardest.name} at {100 * hardest.pass_rate:.0f}%.")
        rows = []
        for q in qs:
            rows.append([esc(q.name), "public" if q.public else "hidden", fmt_points(q.points),
                         f"{100 * q.share(PASSED):.0f}%", f"{100 * q.share(PARTIAL):.0f}%",
                         f"{100 * q.share(*others):.0f}%",
                         str(q.statuses[NOT_IMPLEMENTED]), str(q.statuses[ERROR] + q.statuses[TIMEOUT]),
                         fmt_points(statistics.fmean(q.scores)) if q.scores else "–"])
        return ("<section aria-labelledby=\"rates-heading\"><h2 id=\"rates-heading\">Pass rates per question</h2>"
                + figure_html(src, alt, "Share of submissions per question: passed, partial credit, no credit. "
                              "In the table, Not impl. and Errors (errors and timeouts) count submissions.")
                + table_html(["Question", "Visibility", "Points", "Passed", "Partial", "No credit",
                              "Not impl.", "Errors", "Mean"], rows,
                             numeric=[2, 3, 4, 5, 6, 7, 8], raw=True, caption="Pass rates per question")
                + "</section>")

    def failures(self) -> str:
        qs = [q for q in self.cls.questions.values() if q.failures]
        if not qs:
            return ""
        out = ["<section aria-labelledby=\"fail-heading\"><h2 id=\"fail-heading\">Most common failures</h2>",
               "<p class=\"muted small\">Per question, failing checks grouped by their message with the numbers "
               "replaced by #; a student counts once per group.</p>"]
        for q in sorted(qs, key=lambda q: q.pass_rate):
            groups = q.common_failures()
            rows = []
            for g in groups:
                examples = ", ".join(self._student_link(s) for s in g.students[:EXAMPLES])
                if len(g.students) > EXAMPLES:
                    examples += f" and {len(g.students) - EXAMPLES} more"
                rows.append([str(len(g.students)), str(g.cases), f"<div class=\"msg\">{esc(g.message)}</div>",
                             examples])
            more = len(q.failures) - len(groups)
            out.append(f"<h3 id=\"fail-{esc(q.name)}\">{esc(q.name)} <span class=\"muted small\">"
                       f"{100 * q.pass_rate:.0f}% passed</span></h3>")
            out.append(table_html(["Students", "Checks", "Message", "Examples"], rows, numeric=[0, 1], raw=True,
                                  caption=f"Most common failure messages of {q.name}", compact=True,
                                  widths=["5.5rem", "5rem", None, "12rem"]))
            if more > 0:
                out.append(f"<p class=\"muted small\">and {more} other distinct message{'s' if more != 1 else ''}."
                           "</p>")
        out.append("</section>")
        return "\n".join(out)

    def _student_link(self, student: str) -> str:
        for sub in self.cls.submissions:
            if sub.student == student:
                return self.link(sub)
        return esc(student)

    def problems(self) -> str:
        subs = self.cls.submissions
        not_loaded = [s for s in subs if not s.result.load.ok]
        cells = [(s, c) for s in subs for c in s.result.load.cells if isinstance(c, dict) and not c.get("ok", True)]
        errors = [s for s in subs if s.result.grader_error]
        out = ["<section aria-labelledby=\"problems-heading\"><h2 id=\"problems-heading\">Problems</h2>"]
        if not (not_loaded or cells or errors or self.cls.unreadable):
            out.append("<p>Every submission loaded; no notebook cell raised; no grader error.</p></section>")
            return "\n".join(out)
        if not_loaded:
            out.append(f"<h3>Did not load ({len(not_loaded)})</h3>")
            out.append(table_html(["Student", "Why", "Error"],
                                  [[self.link(s), esc(s.result.load.kind), f"<pre>{esc(s.result.load.error or '')}</pre>"]
                                   for s in not_loaded], raw=True, caption="Submissions that did not load"))
        if cells:
            out.append(f"<h3>Notebook cells that raised ({len(cells)})</h3>")
            out.append(table_html(["Student", "Cell", "Error"],
                                  [[self.link(s), esc(c.get("index", "?")), f"<pre>{esc(c.get('error') or '')}</pre>"]
                                   for s, c in cells], numeric=[1], raw=True, caption="Notebook cells that raised"))
        if errors:
            out.append(f"<h3>Grader errors ({len(errors)})</h3>")
            rows = []
            for s in errors:
                text = s.result.grader_error or ""
                first = text.splitlines()[0] if text else ""
                rows.append([self.link(s), f"<details><summary>{esc(first)}</summary><pre>{esc(text)}</pre></details>"])
            out.append(table_html(["Student", "Error"], rows, raw=True, caption="Grader errors"))
        if self.cls.unreadable:
            out.append(f"<h3>Unreadable results files ({len(self.cls.unreadable)})</h3>")
            out.append(table_html(["Folder", "Error"], self.cls.unreadable, caption="Unreadable results files"))
        out.append("</section>")
        return "\n".join(out)

    def slowest(self) -> str:
        subs = sorted(self.cls.submissions, key=lambda s: -s.result.seconds)[:SLOWEST]
        if not subs:
            return ""
        rows = [[self.link(s), fmt_seconds(s.result.seconds), fmt_seconds(s.result.load.seconds),
                 f"{fmt_points(s.score)} / {fmt_points(s.max_score)}",
                 ", ".join(sorted({q.status for q in s.result.questions if q.status in (TIMEOUT, ERROR)})) or "–"]
                for s in subs]
        total = sum(s.result.seconds for s in self.cls.submissions)
        return ("<section aria-labelledby=\"slow-heading\"><h2 id=\"slow-heading\">Slowest submissions</h2>"
                f"<p class=\"muted small\">Grading time in all: {esc(fmt_seconds(total))} (one worker); mean "
                f"{esc(fmt_seconds(total / len(self.cls.submissions)))} per submission.</p>"
                + table_html(["Student", "Grading took", "Loading took", "Score", "Timeouts / errors"], rows,
                             numeric=[1, 2, 3], raw=True, caption="The slowest submissions")
                + "</section>")

    def isolation(self) -> str:
        counts = Counter(isolation_group(s.result.isolation) for s in self.cls.submissions)
        if not counts:
            return ""
        badges = {"isolated": badge(PASSED, "isolated"), "fallback": badge(FAILED, "fallback"),
                  "no code": badge("plain", "no code run"), "unknown": badge("plain", "unknown")}
        rows = [[esc(k), str(v), badges[isolation_kind(k)]] for k, v in counts.most_common()]
        return ("<section aria-labelledby=\"isolation-heading\"><h2 id=\"isolation-heading\">Isolation</h2>"
                + table_html(["Isolation in force", "Submissions", ""], rows, numeric=[1], raw=True,
                             caption="Isolation in force") + "</section>")

    def everyone(self) -> str:
        subs = sorted(self.cls.submissions, key=lambda s: s.student)
        if not subs:
            return ""
        rows = []
        for s in subs:
            r = s.result
            notes = []
            if not r.load.ok:
                notes.append("did not load")
            failed_cells = sum(1 for c in r.load.cells if isinstance(c, dict) and not c.get("ok", True))
            if failed_cells:
                notes.append(f"{failed_cells} cell(s) raised")
            if r.grader_error:
                notes.append("grader error")
            notes += s.reasons
            pct = 100 * s.score / s.max_score if s.max_score else 100.0
            final = s.final is None or s.final.get("score") is not None
            rows.append([self.link(s), f"{fmt_points(s.score) if final else '–'} / {fmt_points(s.max_score)}",
                         f"{pct:.0f}%", f"{sum(q.status == PASSED for q in r.questions)} / {len(r.questions)}",
                         fmt_seconds(r.seconds), esc("; ".join(notes))])
        return ("<section aria-labelledby=\"all-heading\"><h2 id=\"all-heading\">All submissions</h2>"
                + table_html(["Student", "Score", "%", "Questions passed", "Grading took", "Notes"], rows,
                             numeric=[1, 2, 3, 4], raw=True, caption="All submissions") + "</section>")


def isolation_kind(isolation: str) -> str:
    """"isolated" (bubblewrap), "no code" (an answer sheet), "fallback" (rlimits, no namespaces) or "unknown"."""
    if isolation.startswith("bubblewrap"):
        return "isolated"
    if isolation.startswith("answer sheet"):
        return "no code"
    if isolation.startswith("rlimits"):
        return "fallback"
    return "unknown"


def isolation_group(isolation: str) -> str:
    """The isolation with the per-worker uid left out, so that the workers of one batch group together."""
    return re.sub(r"\buid \d+", "a uid per worker", isolation) if isolation else "unknown (not started)"


__all__ = ["write_instructor_report", "load_class", "normalise_message", "isolation_kind", "isolation_group",
           "ClassResults", "QuestionStats"]
