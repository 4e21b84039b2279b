"""Plausible wrong answers made from the master: one small edit of the solution each.

A question that no plausible wrong answer fails proves nothing about the
answers it grades (a gradient check on inputs where a transpose does not
matter, a tolerance too loose to see a missing 1/N). Each *mutant* here is
the master with one edit inside a solution block (the code students write):

- flip a sign: ``a - b`` → ``a + b`` (and back), ``-x`` → ``x``;
- drop a factor: ``a * b`` → ``a``, ``a / n`` → ``a``;
- transpose: ``W.T`` → ``W``, ``a @ b`` → ``(a @ b).T``;
- sum instead of mean (and back), a flipped comparison;
- change a constant: an integer ``k`` → ``k + 1``, a float ``c`` → ``1.1 c``;
- in an expression answer (a string), the same edits of the expression.

Edits are spliced into the master's text at the edited node's position, so
the cells and markers are unchanged and the mutant is graded like any
submission.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Iterator

from grader.course.generate.markers import BEGIN, END, LINE_SOLUTION


@dataclass(frozen=True)
class Mutant:
    """The master with one edit: ``target`` is the function or answer edited."""

    target: str
    line: int           # line of master.py edited
    description: str    # what the edit is, e.g. "flip a sign: `a - b` → `a + b`"
    source: str         # the whole master, edited


def solution_lines(source: str) -> set[int]:
    """1-based line numbers of master.py inside solution blocks or on ``# SOLUTION`` lines."""
    lines, inside, out = source.splitlines(), False, set()
    for number, line in enumerate(lines, start=1):
        if BEGIN.match(line):
            inside = True
        elif END.match(line):
            inside = False
        elif inside or LINE_SOLUTION.match(line):
            out.add(number)
    return out


def definitions(source: str) -> dict[str, tuple[int, int]]:
    """Module-level names of a source and the lines (first, last) that define them."""
    out: dict[str, tuple[int, int]] = {}
    for node in ast.parse(source).body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        for name in names:
            out.setdefault(name, (node.lineno, node.end_lineno or node.lineno))
    return out


def mutants_of(source: str, target: str) -> Iterator[Mutant]:
    """The mutants of ``target`` (a function or module-level answer of ``source``), in source order."""
    solution = solution_lines(source)
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == target:
            for statement in node.body:
                yield from _mutate_code(source, target, statement, solution)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == target for t in node.targets):
            if node.lineno in solution:
                yield from _mutate_answer(source, target, node.value)


# -- editing code ------------------------------------------------------------------

def _mutate_code(source: str, target: str, root: ast.AST, solution: set[int]) -> Iterator[Mutant]:
    nodes = [n for n in ast.walk(root) if isinstance(n, ast.expr)
             and all(line in solution for line in range(n.lineno, (n.end_lineno or n.lineno) + 1))]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    for node in nodes:
        for replacement, what in _edits(node):
            before, after = ast.unparse(node), ast.unparse(replacement)
            yield Mutant(target, node.lineno, f"{what}: `{before}` → `{after}`",
                         _splice(source, node, f"({after})"))


def _edits(node: ast.expr) -> Iterator[tuple[ast.expr, str]]:
    """(replacement, kind of mistake) for one expression node."""
    if isinstance(node, ast.BinOp):
        swap = {ast.Add: ast.Sub, ast.Sub: ast.Add}
        if type(node.op) in swap:
            yield ast.BinOp(node.left, swap[type(node.op)](), node.right), "flip a sign"
        if isinstance(node.op, (ast.Mult, ast.Div)):
            yield node.left, "drop a factor"
        if isinstance(node.op, ast.Mult):
            yield node.right, "drop a factor"
        if isinstance(node.op, ast.MatMult):
            yield ast.Attribute(node, "T", ast.Load()), "transpose"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield node.operand, "flip a sign"
    elif isinstance(node, ast.Attribute) and node.attr == "T":
        yield node.value, "transpose"
    elif isinstance(node, ast.Attribute) and node.attr in ("sum", "mean"):
        yield ast.Attribute(node.value, "mean" if node.attr == "sum" else "sum", ast.Load()), "sum and mean"
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        flip = {ast.Gt: ast.Lt, ast.Lt: ast.Gt, ast.GtE: ast.LtE, ast.LtE: ast.GtE}
        if type(node.ops[0]) in flip:
            yield ast.Compare(node.left, [flip[type(node.ops[0])]()], node.comparators), "flip a comparison"
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        changed = node.value + 1 if isinstance(node.value, int) else (node.value * 1.1 if node.value else 0.1)
        yield ast.Constant(changed), "change a constant"


def _splice(source: str, node: ast.AST, text: str) -> str:
    """``source`` with the text of ``node`` replaced by ``text`` (ast offsets are UTF-8 bytes)."""
    lines = source.splitlines(keepends=True)
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    head = lines[first].encode()[:node.col_offset].decode()
    tail = lines[last].encode()[node.end_col_offset:].decode()
    return "".join(lines[:first]) + head + text + tail + "".join(lines[last + 1:])


# -- editing an answer ----------------------------------------------------------------

def _mutate_answer(source: str, target: str, value: ast.expr) -> Iterator[Mutant]:
    """An answer: a number (scaled, negated), a list of numbers (one entry), an expression string."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        try:
            expression = ast.parse(value.value, mode="eval").body
        except SyntaxError:
            return
        for node in sorted((n for n in ast.walk(expression) if isinstance(n, ast.expr)),
                           key=lambda n: (n.lineno, n.col_offset)):
            for replacement, what in _edits(node):
                edited = _replace(expression, node, replacement)
                yield Mutant(target, value.lineno, f"{what} in the expression: {value.value!r} → "
                             f"{ast.unparse(edited)!r}", _splice(source, value, repr(ast.unparse(edited))))
        return
    numbers = [n for n in ast.walk(value) if isinstance(n, ast.Constant) and type(n.value) in (int, float)]
    for node in numbers[:3]:
        for replacement, what in _edits(node):
            yield Mutant(target, node.lineno, f"{what}: {node.value!r} → {replacement.value!r}",
                         _splice(source, node, repr(replacement.value)))
        if node.value:
            yield Mutant(target, node.lineno, f"flip a sign: {node.value!r} → {-node.value!r}",
                         _splice(source, node, repr(-node.value)))


def _replace(tree: ast.expr, old: ast.expr, new: ast.expr) -> ast.expr:
    """A copy of ``tree`` with the node ``old`` replaced by ``new``."""
    if tree is old:
        return new

    class Swap(ast.NodeTransformer):
        def visit(self, node):
            return new if node is old else self.generic_visit(node)

    holder = ast.Expression(body=tree)
    Swap().visit(holder)
    result = copy.deepcopy(holder.body)
    # undo the in-place edit so the next mutant starts from the original
    class Restore(ast.NodeTransformer):
        def visit(self, node):
            return old if node is new else self.generic_visit(node)

    Restore().visit(holder)
    return result
