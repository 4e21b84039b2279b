"""Automatic disguises of a copied submission, as a student hiding a copy would make them.

Each works on the text and keeps the program's tokens otherwise: top-level
functions reordered, dead code added at the top of function bodies, local
names renamed, every comment dropped and the spacing of every line changed
(the tokens written back by :func:`tokenize.untokenize`), and new comments and
blank lines sprinkled in.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import keyword
import random
import tokenize

_WORDS = ["value", "tmp", "result", "arr", "data", "item", "acc", "thing", "vec", "mat", "res", "q"]
_COMMENTS = ["my own idea", "step", "TODO check", "careful here", "from my notes"]


def reorder_functions(source: str, rng: random.Random) -> str:
    """The module's top-level functions in a shuffled order (everything else stays in place)."""
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    spans = [(min([s.lineno] + [d.lineno for d in s.decorator_list]) - 1, s.end_lineno)
             for s in tree.body if isinstance(s, ast.FunctionDef)]
    blocks = [lines[a:b] for a, b in spans]
    rng.shuffle(blocks)
    out, cursor = [], 0
    for (a, b), block in zip(spans, blocks):
        out += lines[cursor:a] + block
        cursor = b
    return "".join(out + lines[cursor:])


def add_dead_code(source: str, rng: random.Random) -> str:
    """A harmless statement at a random place in the top level of every function body."""
    lines = source.splitlines(keepends=True)
    inserts = []
    for n, node in enumerate(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)):
        first = node.body[0]
        has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant)
        statements = node.body[1:] if has_doc else node.body
        if not statements:
            continue
        before = rng.choice(statements)
        inserts.append((before.lineno - 1, before.col_offset, _dead_statement(rng, n)))
    for at, column, statement in sorted(inserts, reverse=True):
        lines.insert(at, "".join(" " * column + line + "\n" for line in statement.splitlines()))
    return "".join(lines)


_NUMPY_FUNCTIONS = ["abs", "sqrt", "exp", "log1p", "cos", "sin", "floor", "ceil", "sign", "square", "tanh",
                    "arctan", "cbrt", "fabs", "rint", "trunc", "expm1", "deg2rad", "hypot", "maximum"]


def _expression(rng: random.Random, depth: int) -> str:
    """A random arithmetic expression: each copier's dead code looks different."""
    if depth == 0 or (depth < 2 and rng.random() < 0.3):
        return rng.choice([str(rng.randint(1, 99)), "len('x')", "abs(-3)", "2.5"])
    shape = rng.choice(["{a} + {b}", "({a}) * {b}", "max({a}, {b})", "[{a}, {b}][0]", "-({a})", "{a} // 7",
                        "np.{f}({a})", "np.{f}({a}).{g}()", "float(np.{f}({a}, {b}))"])
    return shape.format(a=_expression(rng, depth - 1), b=_expression(rng, depth - 1),
                        f=rng.choice(_NUMPY_FUNCTIONS), g=rng.choice(["sum", "mean", "max", "min", "item", "copy"]))


def _dead_statement(rng: random.Random, n: int) -> str:
    return rng.choice([
        "unused_{n} = {e}",
        "if {e} < -1000:\n    _k{n} = {f}",
        "for _j{n} in range(0):\n    _k{n} = {f}",
        "while {e} < -1000:\n    _k{n} = {f}\n    break",
    ]).format(n=n, e=_expression(rng, 3), f=_expression(rng, 3))


def _local_names(source: str) -> dict[int, set[str]]:
    """Line number -> the local names (arguments, assigned names) of the function covering it."""
    by_line: dict[int, set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            local = {a.arg for a in node.args.args + node.args.kwonlyargs}
            local |= {s.id for s in ast.walk(node) if isinstance(s, ast.Name) and isinstance(s.ctx, ast.Store)}
            local -= set(dir(builtins))
            for line in range(node.lineno, node.end_lineno + 1):
                by_line.setdefault(line, set()).update(local)
    return by_line


def rename_and_respace(source: str, rng: random.Random, *, rename: bool = True) -> str:
    """Local names renamed, comments dropped, spacing rewritten (the tokens' own spacing is lost)."""
    local = _local_names(source) if rename else {}
    mapping: dict[str, str] = {}
    out = []
    previous = ""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            continue
        text = tok.string
        if (tok.type == tokenize.NAME and not keyword.iskeyword(text) and previous != "."
                and text in local.get(tok.start[0], ())):
            text = mapping.setdefault(text, f"{rng.choice(_WORDS)}_{len(mapping)}")
        out.append((tok.type, text))
        previous = tok.string
    return tokenize.untokenize(out)


def sprinkle(source: str, rng: random.Random) -> str:
    """Blank lines and new comments between lines (indented like the line they precede)."""
    out = []
    in_string = False
    for line in source.splitlines():
        if not in_string:
            if rng.random() < 0.15:
                out.append("")
            if rng.random() < 0.1 and line.strip():
                indent = line[:len(line) - len(line.lstrip())]
                out.append(f"{indent}# {rng.choice(_COMMENTS)}")
        out.append(line)
        if line.count('"""') % 2 or line.count("'''") % 2:
            in_string = not in_string
    return "\n".join(out) + "\n"


def disguise(source: str, seed: int, *, rename: bool = True, dead_code: bool = True,
             reorder: bool = True, relayout: bool = True) -> str:
    """``source`` disguised, deterministically for ``seed``; the result still parses."""
    rng = random.Random(seed)
    if reorder:
        source = reorder_functions(source, rng)
    if dead_code:
        source = add_dead_code(source, rng)
    if rename or relayout:
        source = rename_and_respace(source, rng, rename=rename)
    if relayout:
        source = sprinkle(source, rng)
    ast.parse(source)  # a disguise that breaks the program would test nothing real
    return source


def as_notebook(source: str) -> str:
    """``source`` as a one-cell notebook (the JSON text of a ``.ipynb``)."""
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": source.splitlines(keepends=True)}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
