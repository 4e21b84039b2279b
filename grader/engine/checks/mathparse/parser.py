"""Gate 1: the recursive-descent parser, from tokens to a tree of tuples (``("sum", items)``, ``("call", f, arg)``)."""

from __future__ import annotations

from typing import Any

from .grammar import CONSTANTS, KNOWN_FUNCTIONS, Grammar
from .tokens import Token


class Parser:
    def __init__(self, toks: list[Token], grammar: Grammar, raise_at) -> None:
        self.toks = toks
        self.g = grammar
        self.raise_at = raise_at
        self.i = 0
        self.depth = 0
        self.nodes = 0
        self.symbol_index = {s: k for k, s in enumerate(grammar.symbols)}
        self.aliases = grammar.aliases

    # -- helpers -----------------------------------------------------------
    def peek(self) -> Token:
        return self.toks[self.i]

    def take(self) -> Token:
        t = self.toks[self.i]
        if t.kind != "end":
            self.i += 1
        return t

    def prev_text(self) -> str:
        return self.toks[self.i - 1].text if self.i > 0 else ""

    def error(self, msg: str, tok: Token) -> None:
        self.raise_at(msg, tok.pos)

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > self.g.max_depth:
            self.error(f"the expression is nested too deeply (more than {self.g.max_depth} levels)", tok)

    def leave(self) -> None:
        self.depth -= 1

    def node(self, t: tuple, tok: Token) -> tuple:
        self.nodes += 1
        if self.nodes > self.g.max_nodes:
            self.error(f"the expression is too long (more than {self.g.max_nodes} parts)", tok)
        return t

    @staticmethod
    def is_op(tok: Token, *ops: str) -> bool:
        return tok.kind == "op" and tok.text in ops

    def starts_primary(self, tok: Token) -> bool:
        return tok.kind in ("num", "name") or self.is_op(tok, "(")

    def allowed_list(self, what: str) -> str:
        items = self.g.symbols if what == "symbols" else self.g.functions
        return ", ".join(items) if items else "none"

    def resolve(self, name: str) -> tuple[str, Any]:
        if name in self.symbol_index:
            return "sym", name
        if name in self.g.functions:
            return "func", KNOWN_FUNCTIONS[name]
        if name in CONSTANTS:
            return "const", CONSTANTS[name]
        if name in self.aliases:
            return "sym", self.aliases[name]
        if name in KNOWN_FUNCTIONS:
            return "forbidden", name
        parts = self.split(name)
        if parts:
            return "split", parts
        return "unknown", name

    def split(self, name: str) -> list[str] | None:
        """'ay' -> ['a', 'y'] when every piece is an allowed symbol (longest first);
        failing that, pieces may be other spellings of symbols ('λw' -> ['lam', 'w'])."""
        if len(name) > 40:
            return None
        out = self._split(name, sorted(self.symbol_index, key=len, reverse=True))
        if out is None and self.aliases:
            pieces = sorted(set(self.symbol_index) | set(self.aliases), key=len, reverse=True)
            out = self._split(name, pieces)
            if out is not None:
                out = [self.aliases.get(p, p) for p in out]
        return out

    @staticmethod
    def _split(name: str, syms: list[str]) -> list[str] | None:
        memo: dict[int, list[str] | None] = {}

        def go(k: int) -> list[str] | None:
            if k == len(name):
                return []
            if k in memo:
                return memo[k]
            memo[k] = None
            for s in syms:
                if name.startswith(s, k):
                    rest = go(k + len(s))
                    if rest is not None:
                        memo[k] = [s] + rest
                        break
            return memo[k]

        out = go(0)
        return out if out and len(out) > 1 else None

    # -- grammar -----------------------------------------------------------
    def parse(self) -> tuple:
        tok = self.peek()
        if tok.kind == "end":
            self.error("the expression is empty", tok)
        tree = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            if self.is_op(tok, ")"):
                self.error("unmatched ')'", tok)
            if self.is_op(tok, "="):
                self.error("unexpected '=': give one expression (or 'name = expression')", tok)
            self.error(f"unexpected {tok.text!r}", tok)
        return tree

    def expr(self) -> tuple:
        start = self.peek()
        items = [("+", self.term())]
        while self.is_op(self.peek(), "+", "-"):
            op = self.take()
            items.append((op.text, self.term()))
        return items[0][1] if len(items) == 1 else self.node(("sum", items), start)

    def term(self) -> tuple:
        start = self.peek()
        first = self.factor()
        items = [("*", first)]
        after_div = False
        while True:
            tok = self.peek()
            if self.is_op(tok, "*", "/"):
                self.take()
                items.append((tok.text, self.factor()))
                after_div = tok.text == "/"
            elif self.starts_primary(tok):
                if after_div:
                    self.error(
                        "ambiguous: after '/', a product written without '*' could be meant inside or "
                        "outside the denominator; use parentheses, e.g. (a - y)/(a(1 - a)) or "
                        "((a - y)/a)*(1 - a)",
                        tok,
                    )
                if tok.kind == "num" and items[-1][1][0] == "num":
                    self.error("two numbers in a row: is an operator missing?", tok)
                items.append(("*", self.factor()))
            else:
                break
        return first if len(items) == 1 else self.node(("prod", items), start)

    def factor(self) -> tuple:
        tok = self.peek()
        if self.is_op(tok, "+", "-"):
            self.take()
            self.enter(tok)
            inner = self.factor()
            self.leave()
            return self.node(("neg" if tok.text == "-" else "pos", inner), tok)
        return self.power()

    def power(self) -> tuple:
        base = self.primary()
        tok = self.peek()
        if self.is_op(tok, "^", "**"):
            self.take()
            self.enter(tok)
            exponent = self.factor()
            self.leave()
            return self.node(("pow", base, exponent), tok)
        return base

    def number(self, tok: Token) -> tuple:
        text = tok.text
        mantissa, _, exponent = text.lower().partition("e")
        if len(mantissa) > 40:
            self.error("this number has too many digits (at most 40)", tok)
        if exponent and abs(int(exponent)) > 100:
            self.error("this number's exponent is too large (at most e±100)", tok)
        return self.node(("num", text), tok)

    def primary(self) -> tuple:
        tok = self.take()
        if tok.kind == "num":
            return self.number(tok)
        if self.is_op(tok, "("):
            self.enter(tok)
            inner = self.expr()
            self.leave()
            close = self.take()
            if not self.is_op(close, ")"):
                self.error("this '(' is never closed", tok)
            return inner
        if tok.kind == "name":
            return self.name(tok)
        if tok.kind == "end":
            after = f" after {self.prev_text()!r}" if self.prev_text() else ""
            self.error(f"the expression ends too early: expected a number, a symbol, a function or '('{after}", tok)
        self.error(f"expected a number, a symbol, a function or '(' but found {tok.text!r}", tok)
        raise AssertionError  # unreachable

    def name(self, tok: Token) -> tuple:
        kind, value = self.resolve(tok.text)
        if kind == "sym":
            return self.node(("sym", value), tok)
        if kind == "const":
            return self.node(("const", value), tok)
        if kind == "split":
            items = [("*", self.node(("sym", s), tok)) for s in value]
            return self.node(("prod", items), tok)
        if kind == "func":
            return self.call(tok, value)
        if kind == "forbidden":
            self.error(
                f"the function {tok.text!r} is not allowed in this answer "
                f"(allowed functions: {self.allowed_list('functions')})",
                tok,
            )
        if self.is_op(self.peek(), "("):
            self.error(
                f"unknown function {tok.text!r} (allowed functions: {self.allowed_list('functions')})", tok
            )
        self.error(f"unknown symbol {tok.text!r} (allowed symbols: {self.allowed_list('symbols')})", tok)
        raise AssertionError  # unreachable

    def starts_bare_atom(self, tok: Token) -> bool:
        if tok.kind == "num":
            return True
        return tok.kind == "name" and self.resolve(tok.text)[0] in ("sym", "const", "split")

    def bare_atom(self) -> tuple:
        tok = self.take()
        atom = self.number(tok) if tok.kind == "num" else self.name(tok)
        nxt = self.peek()
        if self.is_op(nxt, "^", "**"):
            self.take()
            self.enter(nxt)
            exponent = self.factor()
            self.leave()
            atom = self.node(("pow", atom, exponent), nxt)
        return atom

    def call(self, tok: Token, canonical: str) -> tuple:
        self.enter(tok)
        power = None
        if self.is_op(self.peek(), "^", "**"):
            self.take()
            p = self.take()
            if p.kind != "num" or not p.text.isdigit():
                self.error(
                    f"after '{tok.text}^' write a whole number, e.g. {tok.text}^2(x), or write {tok.text}(x)^2", p
                )
            power = self.number(p)
        nxt = self.peek()
        if self.is_op(nxt, "("):
            self.take()
            arg = self.expr()
            close = self.take()
            if not self.is_op(close, ")"):
                self.error("this '(' is never closed", nxt)
        elif self.starts_bare_atom(nxt):
            items = [("*", self.bare_atom())]
            while self.starts_bare_atom(self.peek()):
                items.append(("*", self.bare_atom()))
            arg = items[0][1] if len(items) == 1 else self.node(("prod", items), nxt)
        else:
            self.error(f"put the argument of '{tok.text}' in parentheses, e.g. {tok.text}(z)", nxt)
        self.leave()
        out = self.node(("call", canonical, arg), tok)
        if power is not None:
            out = self.node(("pow", out, power), tok)
        return out
