"""Answer sheets: a student's answers as a plain TOML or YAML file, graded without running code.

An answer sheet holds one line per answer, ``KEY = value`` (TOML) or
``KEY: value`` (YAML), with the keys of the exam's paper::

    NET_HIDDEN_A = [0.5933, 0.5969]     # a list of numbers
    NET_LOSS = 0.2984                   # a number
    CORRELATION = [[0, 1], [-1, -1]]    # a matrix: one list per row
    DERIVATIVE = "2*x*exp(x^2)"         # an expression, in quotes

:class:`AnswerSheetSession` reads such a file in the grading parent with safe
parsers only (``tomllib``; PyYAML's safe loader) and answers the engine's
requests like a sandbox session does: ``get(KEY)`` is the value on the sheet.
Nothing in the sheet is ever executed; questions that need code (``call``,
``task``) are answered with a failure saying so.

How a sheet is read (one bad answer costs one answer)
-----------------------------------------------------
- Keys are exact (``NET_LOSS``, not ``net_loss`` or ``NET-LOSS``); a question
  whose key is absent is "not answered", and the message names a near miss on
  the sheet ("did you mean ..."), a key inside a ``[table]`` or indented under
  another key.
- A blank answer (``KEY =`` with nothing after it, ``KEY = ""``, ``KEY = []``,
  YAML's ``KEY:``) is "not answered". The blank sheets ``dlgrade exam sheet``
  writes are made of such lines.
- When the whole file is not valid TOML (a blank ``KEY =`` line, an
  expression without quotes, ``.5``, a decimal comma ...), it is read again
  statement by statement: every readable ``KEY = value`` counts; an
  unreadable one costs only its own question, with the parser's message and
  line; an unquoted value containing letters (``DERIVATIVE = 2*x``) is read
  as the text it is. YAML sheets are re-read block by block the same way.
  Only a file with no readable ``KEY = value`` statement at all is refused as
  a whole (``load_report.ok`` is False, with the parser's line and column).
- A key given twice is ambiguous and counts as unreadable.
- Dates and other non-numbers are handed to the checks as text, so the
  question's check says what was expected instead.
- Size: at most :data:`MAX_SHEET_BYTES`; links, devices and binary files
  (a Word or PDF document) are refused with a message.

The package, one job a module: :mod:`.files` (which files are sheets, their
bytes read safely), :mod:`.contents` (what was read: values, problems, plain
data), :mod:`.toml_sheet` and :mod:`.yaml_sheet` (the two formats, each with
its statement-by-statement recovery), :mod:`.reader` (:func:`read_sheet`),
:mod:`.session` (:class:`AnswerSheetSession`), :mod:`.keys` (the answers a
compiled assignment asks for) and :mod:`.render` (writing a sheet).
"""

from grader.engine.sheets.contents import Problem, SheetContents
from grader.engine.sheets.files import (
    MAX_SHEET_BYTES,
    SHEET_FORMATS,
    answer_sheet_of,
    is_answer_sheet,
    sheet_format,
    sheet_in_folder,
)
from grader.engine.sheets.keys import AnswerKey, answer_keys, as_plain, expected_answers
from grader.engine.sheets.reader import read_sheet
from grader.engine.sheets.render import render_sheet
from grader.engine.sheets.session import (
    ISOLATION,
    LOAD_FAILED_KIND,
    NEEDS_CODE,
    NOT_ANSWERED_KIND,
    UNREADABLE_KIND,
    AnswerSheetSession,
)

__all__ = [
    "MAX_SHEET_BYTES", "SHEET_FORMATS", "AnswerSheetSession", "SheetContents", "Problem", "read_sheet",
    "sheet_format", "is_answer_sheet", "sheet_in_folder", "answer_sheet_of", "answer_keys", "AnswerKey",
    "as_plain", "expected_answers", "render_sheet", "NEEDS_CODE", "ISOLATION", "NOT_ANSWERED_KIND",
    "UNREADABLE_KIND", "LOAD_FAILED_KIND",
]
