"""YAML sheets: read with PyYAML's safe loader, else block by block (one bad answer costs one answer)."""

from __future__ import annotations

import re

from grader.engine.sheets.contents import MAX_RECOVERY_LINES, Problem, SheetContents, settle_recovery, value_hint

MAX_YAML_FLOW_DEPTH = 32       # a matrix is 2 deep; a sheet never needs more than a few

_YAML_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)
_YAML_BLOCK_START = re.compile(r"""^(?P<key>"[^"\n]*"|'[^'\n]*'|[^\s#\-:'"\[\]{}][^:#]*?)\s*:(?:\s|$)""")


def _yaml_loader():
    """PyYAML's SafeLoader, plus 1e-3 read as a number and duplicate top-level keys recorded."""
    import yaml

    class SheetLoader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self.root = None
            self.duplicates: list[tuple[str, int, int]] = []
            self.key_lines: dict[str, int] = {}

        def construct_document(self, node):
            self.root = node
            return super().construct_document(node)

        def construct_mapping(self, node, deep=False):
            if node is self.root and isinstance(node, yaml.MappingNode):
                for key_node, _ in node.value:
                    if isinstance(key_node, yaml.ScalarNode):
                        line = key_node.start_mark.line + 1
                        if key_node.value in self.key_lines:
                            self.duplicates.append((key_node.value, self.key_lines[key_node.value], line))
                        else:
                            self.key_lines[key_node.value] = line
            return super().construct_mapping(node, deep)

    SheetLoader.add_implicit_resolver("tag:yaml.org,2002:float", _YAML_FLOAT, list("-+0123456789."))
    return SheetLoader, yaml.YAMLError


def _flow_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in ``text`` (those inside quotes count too: an overestimate)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return deepest


def _yaml_load(text: str, line_offset: int = 0):
    """(data, duplicates, key_lines) or raises (message, line)."""
    # PyYAML's scanner keeps a possible key per open [ or { and walks them all at every token: a few
    # thousand [ took seconds of CPU each, so nesting is bounded before PyYAML reads anything.
    if _flow_depth(text) > MAX_YAML_FLOW_DEPTH:
        raise ValueError(f"the YAML is nested too deeply (more than {MAX_YAML_FLOW_DEPTH} levels of [ and {{)")
    Loader, YAMLError = _yaml_loader()
    try:
        loader = Loader(text)  # its reader refuses control characters already here
    except YAMLError as exc:
        raise ValueError(getattr(exc, "problem", None) or str(exc).splitlines()[0]) from None
    try:
        data = loader.get_single_data()
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f" (line {mark.line + 1 + line_offset}, column {mark.column + 1})" if mark else ""
        raise ValueError(f"{problem}{where}") from None
    except RecursionError:
        raise ValueError("the YAML is nested too deeply") from None
    finally:
        loader.dispose()
    return data, loader.duplicates, {k: v + line_offset for k, v in loader.key_lines.items()}


def _yaml_recover(text: str, contents: SheetContents) -> int:
    lines = text.splitlines()
    if len(lines) > MAX_RECOVERY_LINES:
        return 0
    # A block is a KEY: line at the start of a line, with the lines that continue it
    # (blank, comments, indented, or "- item" lines); any other line ends it.
    blocks: list[tuple[int, int, str]] = []   # (first line index, end index, key text)
    ignored: list[int] = []
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#") or line[:1].isspace() or line.startswith("-"):
            continue
        if blocks and blocks[-1][1] == -1:
            blocks[-1] = (blocks[-1][0], i, blocks[-1][2])
        m = _YAML_BLOCK_START.match(line)
        if m:
            blocks.append((i, -1, m.group("key").strip().strip("\"'")))
        else:
            ignored.append(i + 1)
    if blocks and blocks[-1][1] == -1:
        blocks[-1] = (blocks[-1][0], len(lines), blocks[-1][2])
    data: dict = {}
    for start, end, key in blocks:
        chunk = "\n".join(lines[start:end])
        try:
            parsed, _, _ = _yaml_load(chunk, line_offset=start)
        except ValueError as exc:
            raw = lines[start].split(":", 1)[1] if ":" in lines[start] else ""
            raw = "\n".join([raw] + lines[start + 1:end]).split(" #", 1)[0]
            contents.lines.setdefault(key, start + 1)
            contents.problems.setdefault(key, Problem(
                "unreadable", f"could not read your answer to `{key}` on line {start + 1}: {exc}"
                              f"{value_hint(raw, 'yaml')}"))
            continue
        if not isinstance(parsed, dict):
            ignored.append(start + 1)
            continue
        for k, v in parsed.items():
            k = str(k)
            if k in data or (k in contents.problems and contents.problems[k].kind == "unreadable"):
                contents.problems[k] = Problem(
                    "unreadable", f"`{k}` is answered twice (lines {contents.lines.get(k, '?')} and {start + 1}); "
                                  "keep only one")
                data.pop(k, None)
                continue
            data[k] = v
            contents.lines[k] = start + 1
    if ignored:
        shown = ", ".join(map(str, ignored[:10])) + (" ..." if len(ignored) > 10 else "")
        contents.notes.append(f"line{'s' if len(ignored) > 1 else ''} {shown} of your answer sheet could not be "
                              "read as KEY: value and were ignored")
    contents.values = data
    return len(blocks)


def read_yaml(text: str, contents: SheetContents) -> None:
    try:
        import yaml  # noqa: F401
    except ImportError:
        contents.kind = "exception"
        contents.error = "YAML answer sheets cannot be read on this grader (PyYAML is not installed): use .toml"
        return
    try:
        data, duplicates, key_lines = _yaml_load(text)
    except ValueError as exc:
        strict_error = str(exc)
    else:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            contents.kind = "exception"
            contents.error = (f"the answer sheet must be made of KEY: value lines, but it holds "
                              f"{'a list' if isinstance(data, list) else 'a single value'}")
            return
        contents.values = {str(k): v for k, v in data.items()}
        contents.lines = {str(k): v for k, v in key_lines.items()}
        for key, first, second in duplicates:
            contents.problems[key] = Problem(
                "unreadable", f"`{key}` is answered twice (lines {first} and {second}); keep only one")
            contents.values.pop(key, None)
        contents.ok = True
        return
    settle_recovery(contents, _yaml_recover(text, contents), fmt="YAML", form="KEY: value lines",
                    strict_error=strict_error, read_how="key by key")
