"""Fill a student template with the master solution, definition by definition.

Every top-level function and assigned name of the template is replaced by the
solution's definition of the same name; everything else of the template
(imports, markdown cells, comments) stays. A template whose names differ from
the solution's (a stub the grader cannot find) therefore does not score full
marks, which is what the tests check.
"""

from __future__ import annotations

import ast


def _definitions(tree: ast.Module) -> dict[str, ast.stmt]:
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node
    return found


def fill(template: str, solution: str) -> str:
    solution_lines = solution.splitlines()
    solved = _definitions(ast.parse(solution))
    lines = template.splitlines()
    stubs = sorted(_definitions(ast.parse(template)).items(), key=lambda item: -item[1].lineno)
    for name, node in stubs:
        if name not in solved:
            continue
        source = solved[name]
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        lines[start:node.end_lineno] = solution_lines[source.lineno - 1:source.end_lineno]
    return "\n".join(lines) + "\n"
