"""A student's exam paper and the instructor's key, as markdown and as a standalone HTML file.

The paper is rendered from the compiled variant of the student: the exam's
title, the student id and variant id, instructions (time, attempts, late
rule, how to write answers, tolerances), then every question's prompt (which
shows the student's numbers, the points and the tolerance), and the table of
answer-sheet keys. The key is the same document with every expected answer
added after its question; a paper never contains an expected value.

The HTML is one file with inline CSS and nothing else: no scripts, no fonts,
no links to any network resource, so it prints and opens offline. Maths is
written as readable text (``w^[1]_12``, ``sigma(z)``), in the markdown and in
the HTML alike. The markdown-to-HTML step is a small renderer for the subset
the prompts use (headings, paragraphs, lists, fenced code, pipe tables,
inline code, bold, italics); everything else is shown as text, and all text
is HTML-escaped.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import re
from pathlib import Path
from typing import Any

from grader.course.policy import Policy
from grader.engine.authoring import CompiledAssignment
from grader.engine.sheets import answer_keys, as_plain

# ==========================================================================
# Markdown (the paper's own subset) to HTML
# ==========================================================================

_FENCE = re.compile(r"^\s*```")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)\d+[.)]\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _inline(text: str) -> str:
    """Escape, then code spans, bold and italics (``*`` only: ``_`` is maths here)."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        s = html.escape(part, quote=False)
        s = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\*\w])", r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [c.strip() for c in line.split("|")]


def markdown_to_html(text: str) -> str:
    """The HTML body for ``text`` (the paper's markdown subset)."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if _FENCE.match(line):
            body = []
            i += 1
            while i < len(lines) and not _FENCE.match(lines[i]):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence
            out.append("<pre><code>" + html.escape("\n".join(body)) + "</code></pre>")
            continue
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            head = "".join(f"<th>{_inline(c)}</th>" for c in header)
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            continue
        if _BULLET.match(line) or _NUMBERED.match(line):
            numbered = bool(_NUMBERED.match(line)) and not _BULLET.match(line)
            items: list[str] = []
            while i < len(lines):
                m = (_NUMBERED if numbered else _BULLET).match(lines[i])
                if m:
                    items.append(m.group(2))
                elif lines[i].strip() and lines[i].startswith("  ") and items:
                    items[-1] += " " + lines[i].strip()
                else:
                    break
                i += 1
            tag = "ol" if numbered else "ul"
            out.append(f"<{tag}>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + f"</{tag}>")
            continue
        para = []
        while (i < len(lines) and lines[i].strip() and not _FENCE.match(lines[i]) and not _HEADING.match(lines[i])
               and not _BULLET.match(lines[i]) and not _NUMBERED.match(lines[i])):
            para.append(lines[i].strip())
            i += 1
        out.append("<p>" + _inline(" ".join(para)) + "</p>")
    return "\n".join(out)


_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #111; }
h1 { font-size: 1.6rem; border-bottom: 2px solid #333; padding-bottom: .3rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #aaa; page-break-after: avoid; }
pre { background: #f4f4f4; border: 1px solid #ddd; padding: .6rem .8rem; overflow-x: auto;
      font-size: .95rem; page-break-inside: avoid; }
code { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; }
p code, li code, td code { background: #f4f4f4; padding: 0 .2rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #bbb; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #eee; }
li { margin: .25rem 0; }
.key { color: #7a0000; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; } }
"""


def html_document(title: str, markdown: str, *, key: bool = False) -> str:
    """A standalone HTML file: the rendered markdown with inline CSS, nothing fetched from anywhere."""
    body = markdown_to_html(markdown)
    body_class = ' class="key"' if key else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body{body_class}>\n{body}\n</body>\n</html>\n"
    )


# ==========================================================================
# The paper's markdown
# ==========================================================================


def _when(value: _dt.datetime, policy: Policy) -> str:
    if policy.timezone:
        from zoneinfo import ZoneInfo

        value = value.astimezone(ZoneInfo(policy.timezone))
    return value.strftime("%A %d %B %Y, %H:%M") + f" ({value.tzname() or value.strftime('%z')})"


def policy_lines(policy: Policy | None) -> list[str]:
    """Time, attempts and late rules, as bullet points for the paper."""
    if policy is None:
        return []
    lines = []
    if policy.opens_at is not None:
        lines.append(f"The exam opens on {_when(policy.opens_at, policy)}.")
    if policy.duration_minutes is not None:
        text = f"You have **{policy.duration_minutes:g} minutes** from the moment you start"
        if policy.closes_at is not None:
            text += f", and at the latest until {_when(policy.closes_at, policy)}"
        lines.append(text + ".")
    elif policy.closes_at is not None:
        lines.append(f"Hand in your answers by **{_when(policy.closes_at, policy)}**.")
    if policy.has_deadline:
        grace = f" (with a grace of {policy.late_grace_minutes:g} minutes)" if policy.late_grace_minutes else ""
        if not policy.accept_late:
            lines.append(f"Answers handed in after your deadline{grace} are not accepted.")
        elif policy.late_penalty_per_day:
            text = (f"Late answers{grace} lose {policy.late_penalty_per_day:.0%} of their score per day or "
                    "part of a day")
            if policy.late_max_days is not None:
                text += f", and score 0 after {policy.late_max_days:g} day(s)"
            lines.append(text + ".")
    which = "latest" if policy.counting == "last" else "best"
    if policy.max_attempts == 1:
        lines.append("You may hand in your answers once.")
    elif policy.max_attempts is not None:
        lines.append(f"You may hand in your answers up to {policy.max_attempts} times; your {which} "
                     "submission counts.")
    else:
        lines.append(f"You may hand in your answers more than once; your {which} submission counts.")
    return lines


def _fmt_value(value: Any) -> str:
    """An expected value, readably: numbers to 6 significant digits, lists nested."""
    value = as_plain(value)
    if isinstance(value, (bool, int)):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_fmt_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def render_paper(compiled: CompiledAssignment, *, student_id: str, policy: Policy | None = None,
                 key: bool = False, sheet_name: str | None = None, module_file: str | None = None) -> str:
    """The markdown of ``student_id``'s paper (``key=True``: the instructor's key)."""
    keys = answer_keys(compiled)
    sheet_name = sheet_name or f"{student_id}.toml"
    stem = sheet_name.rsplit(".", 1)[0]
    module_file = module_file or f"{stem}.py"
    total = compiled.max_score
    title = compiled.title + (" - ANSWER KEY (instructor only)" if key else "")
    md = [f"# {title}", ""]
    md += ["| Student | Variant | Questions | Points |", "|---|---|---|---|",
           f"| `{student_id}` | `{compiled.variant or '-'}` | {len(compiled.questions)} | {total:g} |"]
    md += ["", "## Instructions", ""]
    rules = policy_lines(policy)
    rules += [
        "This paper is yours alone: its numbers were drawn for your student id, and your answers are "
        "marked against these numbers.",
        f"Write your answers in your answer sheet `{sheet_name}` (a plain text file: open it with any "
        f"text editor), one line per answer, after the key of that answer; or, equally, in `{stem}.yaml`, "
        f"or in a Python file `{module_file}` that assigns the same names"
        + (f" (`{keys[0].key} = ...`)." if keys else "."),
        "Write each key exactly as it is printed (capital letters and underscores). A key left blank "
        "is an unanswered question.",
        "Numbers: `0.2984` (no quotes, a digit before the decimal point). Lists: `[0.5933, 0.5969]`. "
        "Matrices, one list per row: `[[1, 2], [3, 4]]`. Expressions: in double quotes, "
        "`\"2*x*exp(x^2)\"`.",
        "Each question states its points and its tolerance. Give numbers to at least 4 decimal "
        "places, and keep at least 4 decimal places in intermediate results.",
        "A wrong, missing or unreadable answer costs only that answer.",
    ]
    md += [f"- {line}" for line in rules]
    for number, question in enumerate(compiled.questions, start=1):
        heading = question.title[:1].upper() + question.title[1:]
        md += ["", f"## Question {number}: {heading} ({question.points:g} point"
                   f"{'s' if question.points != 1 else ''})", ""]
        md.append(question.prompt.strip() or "(no text)")
        if key:
            md += ["", "**Answer key**", ""]
            for k in keys:
                if k.question == question.name:
                    md.append(f"- `{k.key}` = `{_fmt_value(k.expected)}` ({k.check.describe()})")
    md += ["", "## Your answer sheet", "",
           f"The keys of `{sheet_name}`, in order:", "",
           "| Key | Question | Points | Answer |", "|---|---|---|---|"]
    for k in keys:
        md.append(f"| `{k.key}` | {k.number} | {k.points:g} | {k.form} |")
    return "\n".join(md) + "\n"


def write_paper(compiled: CompiledAssignment, folder: Path, *, student_id: str, policy: Policy | None = None,
                key: bool = False, sheet_name: str | None = None) -> list[Path]:
    """``paper.md`` and ``paper.html`` (``key.md`` and ``key.html`` for the key) in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    markdown = render_paper(compiled, student_id=student_id, policy=policy, key=key, sheet_name=sheet_name)
    stem = "key" if key else "paper"
    title = f"{compiled.title} - {student_id}" + (" - key" if key else "")
    md_path, html_path = folder / f"{stem}.md", folder / f"{stem}.html"
    md_path.write_text(markdown, encoding="utf-8")
    html_path.write_text(html_document(title, markdown, key=key), encoding="utf-8")
    return [md_path, html_path]


__all__ = ["render_paper", "write_paper", "markdown_to_html", "html_document", "policy_lines"]
