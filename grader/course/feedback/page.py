"""What the student and the instructor reports share: the page, its CSS, badges, images.

A report is one HTML file with inline CSS, no scripts and no fonts or links to
anything outside it; its images are PNG files in a folder beside it,
referenced relatively, or data URIs (``embed=True``). A Content-Security-Policy
in the page forbids every network load, so a report opened from a mail or an
LMS stays offline whatever it holds.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
from pathlib import Path
from typing import Iterable, Sequence

# Statuses of grader.engine.results, worst last, with their words and marks.
STATUS_WORDS = {
    "passed": "Passed",
    "partial": "Partial credit",
    "failed": "Failed",
    "not implemented": "Not implemented",
    "error": "Error",
    "timeout": "Timed out",
}
STATUS_MARKS = {"passed": "✓", "partial": "◐", "failed": "✗", "not implemented": "…", "error": "!", "timeout": "⏱"}

# A report stays well under 1 MB: past this many bytes of images, figures are left out (with a note).
IMAGE_BUDGET_BYTES = 850_000

CSS = """
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --panel: #f6f8fa;
  --card: #ffffff; --accent: #0550ae; --ok: #116329; --ok-bg: #dafbe1; --part: #7d4e00;
  --part-bg: #fff8c5; --bad: #a40e26; --bad-bg: #ffebe9; --todo: #424a53; --todo-bg: #eaeef2; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--panel); color: var(--fg);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif; }
main { max-width: 64rem; margin: 0 auto; padding: 1.75rem 1.25rem 3rem; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: .1rem 0 .4rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .8rem; padding-bottom: .3rem; border-bottom: 1px solid var(--border); }
h3 { font-size: 1.05rem; margin: 0; }
p { margin: .4rem 0 .8rem; }
a { color: var(--accent); }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: .875em; }
pre { white-space: pre-wrap; word-break: break-word; background: var(--panel); border: 1px solid var(--border);
  border-radius: 6px; padding: .6rem .8rem; margin: .4rem 0 .6rem; }
.eyebrow { color: var(--muted); font-size: .9rem; margin: 0; letter-spacing: .01em; }
.muted { color: var(--muted); }
.small { font-size: .875rem; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 1rem 1.25rem;
  margin: 0 0 1rem; }
.summary { display: grid; grid-template-columns: minmax(12rem, auto) 1fr; gap: .5rem 2rem; align-items: center; }
.score { font-size: 2.6rem; font-weight: 700; line-height: 1.1; font-variant-numeric: tabular-nums; }
.score .of { font-size: 1.2rem; font-weight: 500; color: var(--muted); }
.bar { height: .7rem; background: var(--todo-bg); border-radius: 999px; overflow: hidden; margin: .5rem 0 .2rem; }
.bar > span { display: block; height: 100%; background: #1f883d; }
.counts { display: flex; flex-wrap: wrap; gap: .4rem .6rem; margin: .2rem 0 .4rem; padding: 0; list-style: none; }
.stats { display: flex; flex-wrap: wrap; gap: .75rem; margin: 0 0 1rem; padding: 0; list-style: none; }
.stats li { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: .6rem 1rem;
  min-width: 9rem; }
.stats .num { display: block; font-size: 1.5rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; white-space: nowrap; border-radius: 999px; padding: .1rem .6rem; font-size: .8rem;
  font-weight: 600; border: 1px solid transparent; vertical-align: middle; }
.badge.passed { color: var(--ok); background: var(--ok-bg); border-color: #aceebb; }
.badge.partial { color: var(--part); background: var(--part-bg); border-color: #f5e0a0; }
.badge.failed, .badge.error, .badge.timeout { color: var(--bad); background: var(--bad-bg); border-color: #ffcecb; }
.badge.not-implemented, .badge.plain { color: var(--todo); background: var(--todo-bg); border-color: #d1d9e0; }
.tag { font-size: .75rem; color: var(--muted); border: 1px solid var(--border); border-radius: 4px;
  padding: 0 .35rem; vertical-align: middle; white-space: nowrap; }
.alert { border-left: 4px solid #cf222e; background: var(--bad-bg); border-radius: 6px; padding: .7rem 1rem;
  margin: 0 0 1rem; }
.alert.warn { border-left-color: #bf8700; background: var(--part-bg); }
.alert h2, .alert h3 { margin-top: 0; border: 0; padding: 0; font-size: 1.05rem; }
table { border-collapse: collapse; width: 100%; background: var(--card); font-size: .92rem; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--border); vertical-align: top; }
thead th { background: var(--panel); font-weight: 600; border-bottom: 2px solid var(--border); }
tbody th { font-weight: 600; }
.compact td, .compact th { padding: .3rem .5rem; font-size: .85rem; }
.compact .msg { margin: 0; }
table.fixed { table-layout: fixed; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.table-wrap { overflow-x: auto; border: 1px solid var(--border); border-radius: 8px; margin: .4rem 0 1rem; }
.table-wrap table { border: 0; }
.table-wrap tr:last-child > * { border-bottom: 0; }
.q { background: var(--card); border: 1px solid var(--border); border-radius: 10px; margin: 0 0 .9rem;
  padding: .85rem 1.1rem; }
.q.passed { padding: .55rem 1.1rem; }
.q-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .35rem .7rem; }
.q-head h3 { flex: 1 1 20rem; }
.q-head .pts { font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.q-title { font-weight: 400; color: var(--muted); }
.case { border-top: 1px solid var(--border); margin-top: .7rem; padding-top: .6rem; }
.case-label { font-weight: 600; font-size: .92rem; }
.msg { white-space: pre-wrap; word-break: break-word; margin: .25rem 0 .4rem; }
.passed-cases { font-size: .875rem; color: var(--muted); margin: .5rem 0 0; }
.passed-list { list-style: none; margin: .4rem 0 0; padding: 0; }
.passed-list li { padding: .2rem 0; border-top: 1px solid var(--panel); }
.passed-list li:first-child { border-top: 0; }
.ok-mark { color: var(--ok); font-weight: 700; }
figure { margin: .6rem 0 .8rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--border); border-radius: 6px; background: #fff; }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .2rem; }
.values td, .values th { padding: .2rem .45rem; font-size: .82rem; text-align: right; }
.values { width: auto; }
.values td.bad { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
.values .delta { display: block; font-weight: 400; font-size: .75rem; }
.figs { display: flex; flex-wrap: wrap; gap: 0 1.5rem; align-items: flex-start; }
details { margin: .3rem 0 .6rem; }
summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 2.5rem; font-size: .875rem; color: var(--muted); }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .4rem 0; }
footer dt { font-weight: 600; color: var(--fg); }
footer dd { margin: 0; word-break: break-word; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (max-width: 40rem) { .summary { grid-template-columns: 1fr; } .score { font-size: 2rem; } }
@media print { body { background: #fff; } .q, .card { break-inside: avoid; } }
"""

# Nothing may be loaded from anywhere but the report itself and its images.
CSP = "default-src 'none'; img-src 'self' data: file:; style-src 'unsafe-inline'"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"robots\" content=\"noindex\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )


def status_class(status: str) -> str:
    return re.sub(r"[^a-z]+", "-", status.lower()).strip("-") or "plain"


def badge(status: str, text: str | None = None) -> str:
    words = text or STATUS_WORDS.get(status, status.capitalize())
    mark = STATUS_MARKS.get(status, "")
    mark_html = f"<span aria-hidden=\"true\">{mark}</span> " if mark else ""
    return f"<span class=\"badge {status_class(status)}\">{mark_html}{esc(words)}</span>"


def fmt_points(x: float) -> str:
    """2.6666667 -> '2.67', 3.0 -> '3'."""
    return f"{x:.2f}".rstrip("0").rstrip(".") if x == x else "?"


def fmt_seconds(s: float | None) -> str:
    if s is None or s != s:
        return "?"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {s % 60:.0f} s"


def table_html(headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Sequence[int] = (),
               caption: str | None = None, row_headers: bool = True, raw: bool = False,
               compact: bool = False, widths: Sequence[str | None] | None = None) -> str:
    """An accessible table. Cells are escaped unless ``raw`` (then they are trusted HTML).

    ``widths``: a CSS width per column (None: the rest), for tables that should line up with each other.
    """
    num = set(numeric)
    classes = " ".join(c for c in ("compact" if compact else "", "fixed" if widths else "") if c)
    parts = [f"<div class=\"table-wrap\"><table class=\"{classes}\">" if classes else "<div class=\"table-wrap\"><table>"]
    if widths:
        parts.append("<colgroup>" + "".join(f"<col style=\"width:{w}\">" if w else "<col>" for w in widths)
                     + "</colgroup>")
    if caption:
        parts.append(f"<caption class=\"sr-only\">{esc(caption)}</caption>")
    num_class = " class=\"num\""
    parts.append("<thead><tr>" + "".join(
        f"<th scope=\"col\"{num_class if i in num else ''}>{esc(h)}</th>" for i, h in enumerate(headers))
        + "</tr></thead><tbody>")
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = str(value) if raw else esc(value)
            cls = " class=\"num\"" if i in num else ""
            if i == 0 and row_headers:
                cells.append(f"<th scope=\"row\"{cls}>{text}</th>")
            else:
                cells.append(f"<td{cls}>{text}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


class Images:
    """Saves figures for one report: as files in ``folder`` or as data URIs.

    ``add`` returns the ``src`` for an ``<img>``, or None once the report's
    image budget is spent.
    """

    def __init__(self, html_path: Path, *, embed: bool = False, budget: int = IMAGE_BUDGET_BYTES):
        self.html_path = html_path
        self.folder = html_path.parent / f"{html_path.stem}_files"
        self.embed = embed
        self.budget = budget
        self.used = 0
        self.count = 0
        self.left_out = 0

    def clear(self) -> None:
        """Remove the figures of an earlier run of this report."""
        if self.folder.is_dir():
            for old in self.folder.glob("fig-*.png"):
                old.unlink()

    def add(self, png: bytes | None, name: str) -> str | None:
        if png is None:
            return None
        cost = len(png) * (4 / 3 if self.embed else 1)
        if self.used + cost > self.budget:
            self.left_out += 1
            return None
        self.used += int(cost)
        self.count += 1
        if self.embed:
            return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        self.folder.mkdir(parents=True, exist_ok=True)
        filename = f"fig-{self.count:02d}-{re.sub(r'[^A-Za-z0-9_-]+', '-', name)[:40].strip('-') or 'figure'}.png"
        (self.folder / filename).write_bytes(png)
        return f"{self.folder.name}/{filename}"

    def remove_empty_folder(self) -> None:
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            shutil.rmtree(self.folder, ignore_errors=True)


def figure_html(src: str | None, alt: str, caption: str = "", *, width: int | None = None) -> str:
    if src is None:
        return f"<p class=\"muted small\">(Figure left out: {esc(alt)})</p>"
    size = f" width=\"{width}\"" if width else ""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure><img src=\"{esc(src)}\" alt=\"{esc(alt)}\"{size}>{cap}</figure>"
