"""The parse tree written out: as Python with placeholder names for gate 2, and readably for the student."""

from __future__ import annotations

import re

_DISPLAY = {"sigmoid": "sigma", "sigmoid_prime": "sigma_prime"}
_ATOMS = ("num", "sym", "const", "call")


def _num_literal(text: str) -> str:
    if re.fullmatch(r"[0-9]+", text):
        return str(int(text))
    return text


def emit(t: tuple, names: dict[str, str], pretty: bool) -> str:
    kind = t[0]
    if kind == "num":
        return _num_literal(t[1])
    if kind == "sym":
        return t[1] if pretty else names[t[1]]
    if kind == "const":
        return {"pi": "pi", "e": "e"}[t[1]] if pretty else f"_const_{t[1]}"
    if kind == "call":
        fname = _DISPLAY.get(t[1], t[1]) if pretty else f"_fn_{t[1]}"
        return f"{fname}({emit(t[2], names, pretty)})"
    if kind in ("neg", "pos"):
        inner = t[1]
        s = emit(inner, names, pretty)
        if inner[0] not in _ATOMS and inner[0] != "pow":
            s = f"({s})"
        return ("-" if kind == "neg" else "+") + s
    if kind == "pow":
        b = emit(t[1], names, pretty)
        e = emit(t[2], names, pretty)
        if t[1][0] not in ("sym", "const", "call") and not (t[1][0] == "num" and re.fullmatch(r"[0-9]+", t[1][1])):
            b = f"({b})"
        if t[2][0] not in _ATOMS:
            e = f"({e})"
        return f"{b}{'^' if pretty else '**'}{e}"
    if kind == "sum":
        out = []
        for k, (op, child) in enumerate(t[1]):
            s = emit(child, names, pretty)
            if child[0] == "sum" or (k > 0 and child[0] in ("neg", "pos")):
                s = f"({s})"
            out.append(s if k == 0 else f" {op} {s}")
        return "".join(out)
    if kind == "prod":
        out = []
        for k, (op, child) in enumerate(t[1]):
            s = emit(child, names, pretty)
            if child[0] in ("sum", "prod") or (k > 0 and child[0] in ("neg", "pos")):
                s = f"({s})"
            out.append(s if k == 0 else f"{op}{s}")
        return "".join(out)
    raise AssertionError(f"unexpected node {kind}")
