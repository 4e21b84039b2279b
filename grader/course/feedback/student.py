"""The student's HTML report: ``report.html`` with its figures in ``report_files/``.

What it shows, top to bottom: the score and how many questions passed; what
stopped the submission from loading and the notebook cells that raised; an
overview table of the questions; the training run (assignment 04: loss and
accuracy per epoch, the confusion matrix on the held-out digits); every
question with its status, points and feedback; how it was graded (isolation,
times).

The student view holds: each case's ``message`` (never an expected value); a
case's ``detail`` for PUBLIC questions only (it may show expected values), the
same rule as ``QuestionResult.message("student")``; and the figure data of
:mod:`grader.course.feedback.data` (masks of wrong elements, the student's own
values; |yours − expected| for public questions only).

Rebuilding a report later from what is on disk (``dlgrade report DIR
--student ID``): ``results.instructor.json`` gives the questions, cases,
messages, details, load report, isolation and times (the student view is
applied again when rendering, so details of hidden questions stay out);
``report_files/report-data.json``, written beside the first report, gives
the figures. Without that file the report is rebuilt without figures, and
says so. ``results.json`` (the student view) serves when the instructor file
is missing.

One job at 500 lines: the page is one document, section by section in the order above, and its
sections share one escaping and one disclosure rule; split, each part would import all the others.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path

import numpy as np

from grader.course.feedback import data as report_data_mod
from grader.course.feedback import figures
from grader.course.feedback.page import (
    STATUS_WORDS,
    Images,
    badge,
    esc,
    figure_html,
    fmt_points,
    fmt_seconds,
    page,
    table_html,
)
from grader.engine.protocol import STUDENT, shows_details
from grader.engine.results import PASSED, CaseResult, LoadInfo, QuestionResult, SubmissionResult

REPORT_NAME = "report.html"
DATA_NAME = "report-data.json"
MAX_ARRAY_FIGURES = 10          # per report
MAX_QUESTION_FIGURES = 2        # per question: the first failing cases show where, the others say how many
TABLE_ROWS, TABLE_COLS = 12, 12


def write_student_report(result: SubmissionResult, folder: Path, *, report_data: dict | None = None,
                         embed_images: bool = False, final: dict | None = None) -> Path:
    """Write ``folder/report.html`` (figures in ``folder/report_files/``) for ``result``; return its path.

    ``report_data`` is the figure data (:func:`grader.course.feedback.data.report_data`);
    by default it is taken from ``result``'s cases. It is saved as
    ``report_files/report-data.json`` so that the report can be rebuilt.
    ``final`` (:meth:`grader.course.gradebook.StudentScore.to_dict`) is the gradebook's final
    score: the report leads with it and says why it differs from the graded score.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / REPORT_NAME
    if report_data is None:
        report_data = report_data_mod.report_data(result)
    images = Images(path, embed=embed_images)
    images.clear()
    report = StudentReport(result, report_data, images, final)
    body = report.render()
    path.write_text(page(f"{result.assignment} – {result.submission}: {report.score_text()}", body),
                    encoding="utf-8")
    if report_data.get("questions") or report_data.get("training"):
        images.folder.mkdir(parents=True, exist_ok=True)
        (images.folder / DATA_NAME).write_text(json.dumps(report_data, separators=(",", ":")), encoding="utf-8")
    else:
        stale = images.folder / DATA_NAME
        if stale.exists():
            stale.unlink()
        images.remove_empty_folder()
    return path


def rebuild_student_report(student_dir: Path, out: Path | None = None, *, embed_images: bool = False) -> Path:
    """Rebuild a student's report from the JSON that grading left in ``student_dir`` (see the module doc).

    The report is written to the folder ``out`` (default: ``student_dir``).
    """
    student_dir = Path(student_dir)
    source = student_dir / "results.instructor.json"
    if not source.exists():
        source = student_dir / "results.json"
    if not source.exists():
        raise FileNotFoundError(f"{student_dir} holds no results.instructor.json or results.json")
    results = json.loads(source.read_text(encoding="utf-8"))
    result = result_from_json(results)
    final = (results.get("extra_data") or {}).get("final")
    figure_data = None
    data_file = student_dir / f"{Path(REPORT_NAME).stem}_files" / DATA_NAME
    if data_file.exists():
        try:
            loaded = json.loads(data_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = None
        if report_data_mod.valid(loaded, result.sha256):
            figure_data = loaded
    if figure_data is None:
        figure_data = {"format": report_data_mod.FORMAT, "sha256": result.sha256, "questions": [],
                       "training": [], "missing": True}
    return write_student_report(result, Path(out or student_dir), report_data=figure_data,
                                embed_images=embed_images, final=final if isinstance(final, dict) else None)


def result_from_json(results: dict) -> SubmissionResult:
    """A :class:`SubmissionResult` from a ``results.json`` / ``results.instructor.json`` (no case data)."""
    extra = results.get("extra_data") or {}
    if extra.get("format") != "dlgrade-results/1":
        raise ValueError("not a dlgrade results file (extra_data.format is not dlgrade-results/1)")
    tests = {t.get("number"): t for t in results.get("tests", []) if isinstance(t, dict)}
    questions = []
    for q in extra.get("questions", []):
        name = str(q["name"])
        test_name = str(tests.get(name, {}).get("name", name))
        title = test_name[len(name) + 2:] if test_name.startswith(f"{name}: ") else test_name
        cases = [CaseResult(str(c.get("label", "")), float(c.get("fraction", 0.0)), str(c.get("status", "failed")),
                            str(c.get("message", "")), str(c.get("detail", "")))
                 for c in q.get("cases", [])]
        questions.append(QuestionResult(name, title, float(q.get("max_score", 0.0)), float(q.get("score", 0.0)),
                                        bool(q.get("public", False)), str(q.get("status", "failed")), cases))
    load_raw = extra.get("load") or {}
    load = LoadInfo(ok=bool(load_raw.get("ok", True)), error=load_raw.get("error"),
                    kind=str(load_raw.get("kind", "ok")), cells=list(load_raw.get("cells") or []),
                    seconds=float(load_raw.get("seconds") or 0.0))
    return SubmissionResult(
        assignment=str(extra.get("assignment", "")), submission=str(extra.get("submission", "")), path="",
        questions=questions, load=load, isolation=str(extra.get("isolation", "")),
        seconds=float(results.get("execution_time") or 0.0), sha256=str(extra.get("sha256", "")),
        variant=extra.get("variant"), graded_at=str(extra.get("graded_at", "")),
        grader_error=extra.get("grader_error"))


# ==========================================================================
# Rendering
# ==========================================================================


class StudentReport:
    def __init__(self, result: SubmissionResult, data: dict, images: Images, final: dict | None = None):
        self.r = result
        self.final = final
        self.data = data
        self.images = images
        self.array_figures = 0
        self.question_figures = 0
        self.by_case: dict[tuple[str, str], dict] = {}
        for q in data.get("questions", []):
            for c in q.get("cases", []):
                self.by_case[(q.get("name"), c.get("label"))] = c

    def render(self) -> str:
        parts = [self.header(), self.standing(), self.problems(), self.overview(), self.training(),
                 self.questions(), self.footer()]
        return "\n".join(p for p in parts if p)

    def scores(self) -> tuple[float | None, float]:
        """(score, maximum) shown: the gradebook's final score when there is one, else the graded one."""
        if self.final is not None:
            return self.final.get("score"), float(self.final.get("max_score") or self.r.max_score)
        return self.r.score, self.r.max_score

    def score_text(self) -> str:
        score, top = self.scores()
        return "no score" if score is None else f"{fmt_points(score)} of {fmt_points(top)} points"

    def standing(self) -> str:
        """Why the final score is what it is: the graded score, every reason, the counting rule."""
        if self.final is None:
            return ""
        from grader.engine.text_report import final_lines

        lines = final_lines(self.final, self.r.score)
        items = "".join(f"<li>{esc(line[2:])}</li>" for line in lines if line.startswith("- "))
        plain = "".join(f"<p>{esc(line)}</p>" for line in lines[1:] if not line.startswith("- "))
        return ("<section class=\"card\" aria-labelledby=\"final-heading\" id=\"final\">"
                f"<h2 id=\"final-heading\">{esc(lines[0])}</h2>{plain}"
                + (f"<ul id=\"reasons\">{items}</ul>" if items else "") + "</section>")

    # -- top ---------------------------------------------------------------
    def header(self) -> str:
        r = self.r
        counts: dict[str, int] = {}
        for q in r.questions:
            counts[q.status] = counts.get(q.status, 0) + 1
        score, top = self.scores()
        share = (score or 0.0) / top if top else 1.0
        pct = max(0.0, min(100.0, 100 * share))
        count_items = "".join(f"<li>{badge(s, f'{n} {STATUS_WORDS.get(s, s).lower()}')}</li>"
                              for s, n in sorted(counts.items(), key=lambda kv: _STATUS_ORDER.get(kv[0], 9)))
        variant = f" · variant {esc(r.variant)}" if r.variant else ""
        when = _when(r.graded_at)
        return (
            f"<header><p class=\"eyebrow\">{esc(r.assignment)} · submission {esc(r.submission)}{variant}</p>"
            f"<h1>Grading report</h1></header>"
            "<section class=\"card summary\" aria-labelledby=\"score-heading\">"
            "<div><h2 id=\"score-heading\" class=\"sr-only\">Score</h2>"
            f"<div class=\"score\" id=\"score\">{'–' if score is None else fmt_points(score)} "
            f"<span class=\"of\">/ {fmt_points(top)} points</span></div>"
            f"<div class=\"bar\" role=\"img\" aria-label=\"{pct:.0f} percent of the points\">"
            f"<span style=\"width:{pct:.1f}%\"></span></div>"
            f"<div class=\"muted small\">{pct:.0f}% of the points</div></div>"
            f"<div><p>{sum(q.status == PASSED for q in r.questions)} of {len(r.questions)} questions passed.</p>"
            f"<ul class=\"counts\" aria-label=\"questions by status\">{count_items}</ul>"
            f"<p class=\"muted small\">Graded{(' ' + esc(when)) if when else ''} in {esc(fmt_seconds(r.seconds))}."
            "</p></div></section>"
        )

    def problems(self) -> str:
        r = self.r
        out = []
        if not r.load.ok:
            out.append("<section class=\"alert\" aria-labelledby=\"load-heading\">"
                       "<h2 id=\"load-heading\">Your submission could not be loaded</h2>"
                       f"<pre>{esc(r.load.error or 'no reason given')}</pre>"
                       "<p>Questions that needed your code could not be graded. Run your file yourself to see "
                       "the error, fix it and submit again.</p></section>")
        failed_cells = [c for c in r.load.cells if isinstance(c, dict) and not c.get("ok", True)]
        if failed_cells:
            items = "".join(f"<li><p>{esc(_cell_name(c))} raised:</p><pre>{esc(c.get('error') or '')}"
                            "</pre></li>" for c in failed_cells)
            kind = "cell" if any(c.get("line") for c in failed_cells) else "notebook cell"
            out.append("<section class=\"alert warn\" aria-labelledby=\"cells-heading\">"
                       f"<h2 id=\"cells-heading\">{len(failed_cells)} {kind}"
                       f"{'s' if len(failed_cells) != 1 else ''} raised an error</h2>"
                       "<p>The other cells still ran; names a failed cell should have defined are missing.</p>"
                       f"<ol>{items}</ol></section>")
        if r.grader_error:
            out.append("<section class=\"alert\" aria-labelledby=\"grader-heading\">"
                       "<h2 id=\"grader-heading\">The grader had a problem</h2>"
                       "<p>This is not your fault: some questions could not be graded. Your instructor sees "
                       "this and will grade your submission again.</p></section>")
        return "\n".join(out)

    def overview(self) -> str:
        rows = []
        for q in self.r.questions:
            rows.append([f"<a href=\"#q-{esc(q.name)}\">{esc(q.name)}</a>", badge(q.status),
                         f"{fmt_points(q.score)} / {fmt_points(q.points)}",
                         "public" if q.public else "hidden"])
        return ("<section aria-labelledby=\"overview-heading\"><h2 id=\"overview-heading\">Questions</h2>"
                + table_html(["Question", "Status", "Points", "Visibility"], rows, numeric=[2], raw=True,
                             caption="Each question's status and points")
                + "<p class=\"muted small\">Public questions are the ones <code>dlgrade check</code> runs on "
                  "your machine; for hidden questions this report says what is wrong and where, never the "
                  "expected values.</p></section>")

    def training(self) -> str:
        runs = self.data.get("training") or []
        accuracy = [(q.get("name"), c) for q in self.data.get("questions", []) for c in q.get("cases", [])
                    if c.get("accuracy")]
        if not runs and not accuracy:
            return ""
        out = ["<section aria-labelledby=\"training-heading\"><h2 id=\"training-heading\">Training run</h2>"]
        for run in runs:
            facts = []
            if "epochs" in run:
                facts.append(f"{int(run['epochs'])} epochs")
            if "batch_size" in run:
                facts.append(f"batch size {int(run['batch_size'])}")
            if "seconds" in run:
                facts.append(f"training and prediction took {fmt_seconds(float(run['seconds']))}")
            history = {k: report_data_mod.numbers(v).tolist() for k, v in (run.get("history") or {}).items()}
            if facts:
                out.append(f"<p>Your model was trained for {esc(', '.join(facts))}.</p>")
            png = figures.training_figure(history) if history else None
            if png is not None:
                src = self.images.add(png, "training")
                out.append(figure_html(src, _training_alt(history),
                                       "Per epoch on the training digits (val_: on the validation split, "
                                       "where one is used)."))
            elif not history:
                out.append("<p class=\"muted\">No training history was recorded.</p>")
        for _, case in accuracy:
            out.append(self.accuracy_block(case["accuracy"]))
        out.append("</section>")
        return "\n".join(out)

    def accuracy_block(self, acc: dict) -> str:
        out = [f"<p>Accuracy on the held-out digits: <strong>{100 * acc['accuracy']:.1f}%</strong> "
               f"({acc['correct']} of {acc['n']} correct).</p>"]
        cm = acc.get("confusion")
        if cm:
            matrix = np.asarray(cm, dtype=np.int64)
            src = self.images.add(figures.confusion_figure(matrix), "confusion")
            out.append(figure_html(src, _confusion_alt(matrix),
                                   "Confusion matrix on the held-out digits: rows are the true digits, columns "
                                   "your model's predictions; the diagonal holds the correct ones."))
            k = matrix.shape[0]
            rows = [[str(i), *[str(v) for v in matrix[i]], f"{100 * matrix[i, i] / max(1, matrix[i].sum()):.0f}%"]
                    for i in range(k)]
            out.append("<details><summary>The confusion matrix as a table</summary>"
                       + table_html(["true \\ predicted", *[str(j) for j in range(k)], "recall"], rows,
                                    numeric=list(range(1, k + 2)),
                                    caption="Confusion matrix: rows true digits, columns predicted digits")
                       + "</details>")
        return "\n".join(out)

    # -- questions -----------------------------------------------------------
    def questions(self) -> str:
        failing = [q for q in self.r.questions if q.status != PASSED]
        passed = [q for q in self.r.questions if q.status == PASSED]
        out = ["<section aria-labelledby=\"details-heading\"><h2 id=\"details-heading\">Feedback</h2>"]
        if not failing:
            out.append("<p>Every question passed all of its checks. Well done!</p>")
        for q in failing:
            out.append(self.question(q))
        if passed:
            rows = []
            for q in passed:
                n = len(q.cases)
                title = "" if q.title == q.name else f" <span class=\"q-title\">{esc(q.title)}</span>"
                # What the student view says of a passed question besides "All checks passed." (an accuracy).
                said = [line for line in q.message("student").splitlines()[1:] if line.strip()]
                if not said:  # rebuilt from JSON: the cases have no data, the figure data knows the accuracy
                    said = [f"[{c.label}] {c.message}" for c in q.cases
                            if self.by_case.get((q.name, c.label), {}).get("accuracy")]
                more = "".join(f"<div class=\"msg small\">{esc(line)}</div>" for line in said)
                rows.append(f"<li id=\"q-{esc(q.name)}\"><span aria-hidden=\"true\" class=\"ok-mark\">✓</span> "
                            f"<strong>{esc(q.name)}</strong>{title} <span class=\"muted small\">"
                            f"{fmt_points(q.score)} / {fmt_points(q.points)} · {n} check{'s' if n != 1 else ''}"
                            f"</span>{more}</li>")
            out.append(f"<article class=\"q passed\"><h3>Passed ({len(passed)} question"
                       f"{'s' if len(passed) != 1 else ''}, all checks)</h3><ul class=\"passed-list\">"
                       + "".join(rows) + "</ul></article>")
        out.append("</section>")
        return "\n".join(out)

    def question(self, q: QuestionResult) -> str:
        title = "" if q.title == q.name else f" <span class=\"q-title\">{esc(q.title)}</span>"
        head = (f"<div class=\"q-head\"><h3 id=\"q-{esc(q.name)}\">{esc(q.name)}{title}</h3>"
                f"<span class=\"tag\">{'public' if q.public else 'hidden'}</span>{badge(q.status)}"
                f"<span class=\"pts\">{fmt_points(q.score)} / {fmt_points(q.points)}</span></div>")
        failing = [c for c in q.cases if c.status != PASSED]
        passing = [c for c in q.cases if c.status == PASSED]
        self.question_figures = 0
        body = [self.case(q, case) for case in failing]
        if passing:
            labels = ", ".join(esc(c.label) for c in passing)
            body.append(f"<p class=\"passed-cases\"><span aria-hidden=\"true\">✓</span> Passed: {labels}</p>")
        return f"<article class=\"q {esc(q.status.replace(' ', '-'))}\">{head}{''.join(body)}</article>"

    def case(self, q: QuestionResult, case: CaseResult) -> str:
        parts = [f"<div class=\"case\"><div><span class=\"case-label\">{esc(case.label)}</span> "
                 f"{badge(case.status)}</div>",
                 f"<div class=\"msg\">{esc(case.message)}</div>"]
        # The same rule as QuestionResult.message("student"): a detail only for public questions.
        if case.detail and shows_details(STUDENT, q.public):
            parts.append(f"<details open><summary>Details</summary><pre>{esc(case.detail)}</pre></details>")
        figure_data = self.by_case.get((q.name, case.label), {})
        arrays = figure_data.get("arrays") or []
        if arrays:
            parts.append("<div class=\"figs\">" + "".join(self.array_block(q, a) for a in arrays) + "</div>")
        parts.append("</div>")
        return "".join(parts)

    def array_block(self, q: QuestionResult, view: dict) -> str:
        try:
            shape = [int(s) for s in view["shape"]]
            wrong = report_data_mod.unpack_mask(view["wrong"], shape)
        except (KeyError, ValueError, TypeError):
            return ""
        name = str(view.get("name", "your output"))
        n, n_wrong = int(view.get("n", wrong.size)), int(np.count_nonzero(wrong))
        shape_text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        share = "every element is" if n_wrong == n else f"{n_wrong} of {n} elements are"
        intro = f"<p class=\"small\"><strong>{esc(name)}</strong> {esc(shape_text)}: {share} out of tolerance.</p>"
        got = report_data_mod.numbers(view["got"]).reshape(shape) if "got" in view else None
        diff = report_data_mod.numbers(view["abs_diff"]).reshape(shape) if "abs_diff" in view else None
        diff = diff if shows_details(STUDENT, q.public) else None  # how far off: public questions only
        if got is not None and len(shape) <= 2:
            g2 = figures.as_2d(got)
            if g2.shape[0] <= TABLE_ROWS and g2.shape[1] <= TABLE_COLS:
                return "<div>" + intro + values_table(got, wrong, diff, name) + "</div>"
        magnitude = diff
        if magnitude is None and n_wrong == n:
            return ""    # every element wrong: the message says so, a picture would add nothing
        if self.array_figures >= MAX_ARRAY_FIGURES or self.question_figures >= MAX_QUESTION_FIGURES:
            return "<div>" + intro + "</div>"
        self.array_figures += 1
        self.question_figures += 1
        png, note = figures.array_figure(wrong, magnitude)
        src = self.images.add(png, f"{q.name}-{name}")
        what = ("|yours − expected| per element, wrong elements marked with ×" if diff is not None
                else "wrong elements in red, the others grey")
        alt = (f"Where {name} of shape {shape_text} is wrong: {n_wrong} of {n} elements out of tolerance"
               + (f"; {note}" if note else "") + ".")
        caption = what + (f"; {note}" if note else "") + "."
        if len(shape) == 4:
            caption += " Slices [n, :, :, c]: one image n and channel c each."
        return "<div>" + intro + figure_html(src, alt, caption) + "</div>"

    # -- bottom --------------------------------------------------------------
    def footer(self) -> str:
        r = self.r
        rows = [("Isolation", r.isolation or "unknown"),
                ("Grading took", fmt_seconds(r.seconds)),
                ("Loading your code took", fmt_seconds(r.load.seconds) if r.load.seconds else "–")]
        if r.graded_at:
            rows.append(("Graded at", _when(r.graded_at) or r.graded_at))
        if r.sha256:
            rows.append(("Submission SHA-256", r.sha256[:16] + "…"))
        if self.data.get("missing"):
            rows.append(("Figures", "not available: this report was rebuilt from the results file alone"))
        if self.images.left_out:
            rows.append(("Figures", f"{self.images.left_out} left out to keep this report small"))
        items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
        return (f"<footer aria-labelledby=\"how-heading\"><h2 id=\"how-heading\">How this was graded</h2>"
                "<p>Your code ran in a separate, isolated process; every answer was checked outside it.</p>"
                f"<dl>{items}</dl></footer>")


_STATUS_ORDER = {s: i for i, s in enumerate(STATUS_WORDS)}


def values_table(got: np.ndarray, wrong: np.ndarray, diff: np.ndarray | None, name: str) -> str:
    """The student's own values; wrong elements marked (and, for public questions, how far off)."""
    g2 = figures.as_2d(got)
    w2 = figures.as_2d(wrong.astype(np.float64))
    d2 = figures.as_2d(diff) if diff is not None else None
    one_d = got.ndim <= 1
    head = "".join(f"<th scope=\"col\">{j}</th>" for j in range(g2.shape[1]))
    rows = []
    for i in range(g2.shape[0]):
        cells = []
        for j in range(g2.shape[1]):
            v = g2[i, j]
            if one_d and i * g2.shape[1] + j >= got.size:
                cells.append("<td></td>")
                continue
            text = _fmt_value(v)
            if w2[i, j] > 0:
                delta = ""
                if d2 is not None:
                    delta = f"<span class=\"delta\">off by {esc(_fmt_value(d2[i, j]))}</span>"
                cells.append(f"<td class=\"bad\">{esc(text)} <span aria-hidden=\"true\">✗</span>"
                             f"<span class=\"sr-only\">(wrong)</span>{delta}</td>")
            else:
                cells.append(f"<td>{esc(text)}</td>")
        label = str(i * g2.shape[1]) if one_d else str(i)
        rows.append(f"<tr><th scope=\"row\">{label}</th>{''.join(cells)}</tr>")
    caption = f"Your values of {name}; wrong elements marked ✗"
    corner = "from" if one_d else "row"
    return (f"<div class=\"table-wrap\" style=\"display:inline-block\"><table class=\"values\">"
            f"<caption class=\"sr-only\">{esc(caption)}</caption><thead><tr><th scope=\"col\">{corner}</th>{head}"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _fmt_value(v: float) -> str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.4g}"


def _when(iso: str) -> str:
    try:
        t = _dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return ""
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc)
        return t.strftime("%Y-%m-%d %H:%M UTC")
    return t.strftime("%Y-%m-%d %H:%M")


def _training_alt(history: dict[str, list[float]]) -> str:
    parts = []
    for key, values in sorted(history.items()):
        if values:
            parts.append(f"{key} from {values[0]:.3g} to {values[-1]:.3g}")
    n = max((len(v) for v in history.values()), default=0)
    return f"Training curves over {n} epochs: " + "; ".join(parts) + "."


def _confusion_alt(cm: np.ndarray) -> str:
    off = cm.copy()
    np.fill_diagonal(off, 0)
    text = f"Confusion matrix of {cm.shape[0]} classes; {int(np.trace(cm))} of {int(cm.sum())} correct."
    if off.max() > 0:
        i, j = np.unravel_index(int(np.argmax(off)), off.shape)
        text += f" The most frequent mistake: {i} predicted as {j} ({int(off[i, j])} times)."
    return text


def _cell_name(cell: dict) -> str:
    """'The cell at line 74' for a # %% script, 'Cell 3' for a notebook."""
    return f"The cell at line {cell['line']}" if cell.get("line") else f"Cell {cell.get('index', '?')}"
