"""What an instructor reads: a ranked text table and HTML pages with the shared passages side by side.

The wording is deliberate. These are leads for a person to review, in the
order worth reviewing them; nothing here decides anything, changes a grade or
names anyone as having done anything. Every piece of submitted text is
escaped before it reaches a page (submissions are hostile text).
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path

from .index import CodeEvidence, CodePair

DISCLAIMER = ("Similarity is a reason to look, not a finding: two students may share code because they "
              "worked from the same lecture, the same hint or the same source. Nothing here changes a grade.")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; } td, th { padding: .25em .6em; border-bottom: 1px solid #ddd; text-align: left; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #fafafa; border: 1px solid #ddd; padding: .5em; overflow-x: auto; font-size: 12px; }
mark { background: #ffe08a; }
.note { color: #555; max-width: 60em; }
"""


def pair_page_name(pair: CodePair) -> str:
    """The file name of a pair's side-by-side page: the ids made safe, then a digest of the ids themselves,
    since "x y" and "x_y" (or two long ids alike in their first 100 characters) are made safe alike."""
    digest = hashlib.sha256(f"{pair.a}\0{pair.b}".encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"pair-{_safe(pair.a)}--{_safe(pair.b)}-{digest}.html"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100]


def highlighted(code: str, spans: list[tuple[int, int]]) -> str:
    """``code`` as escaped HTML with each ``(start, end)`` span wrapped in ``<mark>``."""
    parts, cursor = [], 0
    for start, end in spans:
        parts.append(html.escape(code[cursor:start]))
        parts.append("<mark>" + html.escape(code[start:end]) + "</mark>")
        cursor = end
    parts.append(html.escape(code[cursor:]))
    return "".join(parts)


def pair_page(evidence: CodeEvidence, pair: CodePair, assignment: str) -> str:
    """One pair's page: both submissions, the passages they share (rare in the class) marked."""
    shared = evidence.shared_hashes(pair.a, pair.b)
    columns = []
    for student, share in ((pair.a, pair.share_a), (pair.b, pair.share_b)):
        document = evidence.documents[student]
        columns.append(f"<div><h2>{html.escape(student)}</h2><p>{share:.0%} of this submission's distinctive "
                       f"code is also in the other one.</p><pre>{highlighted(document.code, document.spans(shared))}"
                       f"</pre></div>")
    return _page(f"{assignment}: {pair.a} and {pair.b}",
                 f"<p class=note>{html.escape(DISCLAIMER)}</p><p>Rank {pair.rank} in the class; "
                 f"{pair.shared} shared passages of rare code (score {pair.score:.1f}). Marked: code that "
                 f"these two share and at most {evidence.max_holders} students of the class have.</p>"
                 f"<div class=pair>{''.join(columns)}</div>")


def class_page(assignment: str, evidence: CodeEvidence, top: int, extra_sections: list[str] = ()) -> str:
    rows = "".join(
        f"<tr><td>{p.rank}</td><td><a href=\"{html.escape(pair_page_name(p))}\">{html.escape(p.a)}</a></td>"
        f"<td>{html.escape(p.b)}</td><td>{p.score:.1f}</td><td>{p.shared}</td>"
        f"<td>{p.share_a:.0%} / {p.share_b:.0%}</td><td>{p.above_typical:.1f}</td></tr>"
        for p in evidence.pairs[:top])
    body = (f"<p class=note>{html.escape(DISCLAIMER)}</p>"
            f"<h2>Code</h2><p>{len(evidence.documents)} submissions; pairs in order of the rare code they share "
            "(template removed; code shared by many students counts for nothing).</p>"
            "<table><tr><th>rank</th><th>student</th><th>student</th><th>score</th><th>passages</th>"
            "<th>share of each</th><th>spreads above the typical best match</th></tr>" + rows + "</table>"
            + "".join(extra_sections))
    return _page(f"{assignment}: similarity evidence for review", body)


def table_section(title: str, note: str, header: list[str], rows: list[list[object]]) -> str:
    """A titled HTML table; every cell is escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<h2>{html.escape(title)}</h2><p>{html.escape(note)}</p><table><tr>{head}</tr>{body}</table>"


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def write_code_pages(folder: Path, assignment: str, evidence: CodeEvidence, *, top: int = 50,
                     extra_sections: list[str] = ()) -> Path:
    """``folder/index.html`` and one page per pair among the ``top``; returns the index page."""
    folder.mkdir(parents=True, exist_ok=True)
    for pair in evidence.pairs[:top]:
        (folder / pair_page_name(pair)).write_text(pair_page(evidence, pair, assignment), encoding="utf-8")
    index = folder / "index.html"
    index.write_text(class_page(assignment, evidence, top, list(extra_sections)), encoding="utf-8")
    return index


def text_table(header: list[str], rows: list[list[object]]) -> str:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)
