"""The import rules of the three layers (docs/architecture.md), over every import in ``grader/``,
those inside functions included:

* ``grader.engine`` imports nothing from ``grader.course`` or ``grader.cli``;
* ``grader.course`` imports ``grader.engine`` (and itself), never ``grader.cli``;
* no command of ``grader.cli`` imports another (shared options: ``grader.cli.options``);
* no two modules import each other, directly or through others;
* what ships to students and to Gradescope is the engine and the ``check`` command only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import grader
from grader.cli import COMMANDS

ROOT = Path(grader.__file__).resolve().parent
CLI_SHARED = {"grader.cli", "grader.cli.options", "grader.cli.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py")) if "__pycache__" not in p.parts}


def imported_modules(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The ``grader`` modules ``name`` imports anywhere in its file (a name imported from a package
    counts as that submodule when it is one)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:   # the submodule when the name is one, else the module itself
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
    out = set()
    for target in found:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target.startswith("grader.") and target != name:
            out.add(target)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported_modules(name, path, known) for name, path in known.items()}


def layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "root"


def edges(graph, source_layer: str, target_layers: set[str]) -> list[str]:
    return sorted(f"{m} -> {d}" for m, deps in graph.items() if layer(m) == source_layer
                  for d in deps if layer(d) in target_layers)


def test_the_three_layers_are_the_packages_folders():
    assert sorted(p.name for p in ROOT.iterdir() if p.is_dir() and p.name != "__pycache__") == \
        ["cli", "course", "engine"]
    assert sorted(p.name for p in ROOT.glob("*.py")) == ["__init__.py"]


def test_the_engine_imports_nothing_of_the_course_or_the_command_line(graph):
    assert edges(graph, "engine", {"course", "cli"}) == []


def test_the_course_imports_the_engine_never_the_command_line(graph):
    assert edges(graph, "course", {"cli"}) == []


def test_no_command_imports_another(graph):
    commands = set(COMMANDS.values())
    assert commands <= set(graph), "every command is a module of grader.cli"
    assert all(layer(c) == "cli" for c in commands)
    crossing = sorted(f"{c} -> {d}" for c in commands for d in graph[c] if layer(d) == "cli" and d not in CLI_SHARED)
    assert crossing == []


def test_no_module_imports_itself_through_others(graph):
    """Tarjan's strongly connected components: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for dep in graph[module]:
            if dep not in index:
                visit(dep)
                low[module] = min(low[module], low[dep])
            elif dep in on_stack:
                low[module] = min(low[module], index[dep])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert circles == []


def test_what_ships_is_the_engine_and_the_check_command(graph):
    from grader.course.bundle import engine_files

    shipped = {name.removeprefix("kit/") for _, name in engine_files("kit")}
    shipped_modules = {module_name(ROOT.parent / name) for name in shipped if name.endswith(".py")}
    assert {m for m in shipped_modules if layer(m) == "course"} == set()
    assert {m for m in shipped_modules if layer(m) == "cli"} == {"grader.cli", "grader.cli.__main__",
                                                                  "grader.cli.check", "grader.cli.options"}
    assert {m for m in graph if layer(m) == "engine"} <= shipped_modules
    # Everything the shipped modules import is shipped too.
    missing = sorted(f"{m} -> {d}" for m in shipped_modules for d in graph[m] if d not in shipped_modules)
    assert missing == []
