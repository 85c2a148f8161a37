"""A small COQL: ``SELECT fields FROM Module [WHERE ...] [ORDER BY ...] [LIMIT n [OFFSET m]]``.

Supported, as in Zoho's COQL: comparisons ``= != <> > < >= <=``, ``[NOT] LIKE '%x%'``,
``[NOT] IN (...)``, ``[NOT] BETWEEN a AND b``, ``IS [NOT] NULL``, ``AND``/``OR`` with parentheses,
``ORDER BY f [ASC|DESC], ...``, ``LIMIT n OFFSET m`` or ``LIMIT m, n``, dotted lookup fields
(``Account_Name.id``). Values are single-quoted strings ('' or \\' for a quote), numbers,
``true``/``false`` and ``null``. Parsing is pure; the route checks the module and fields.
Errors: ``CoqlError`` with Zoho's ``SYNTAX_ERROR`` (grammar) or ``INVALID_QUERY`` (meaning).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bigin_emulator.ops.comparisons import candidates, equals, order_key

__all__ = ["CoqlError", "Query", "matches_where", "parse_coql"]

MAX_LIMIT = 200


class CoqlError(ValueError):
    """A query Zoho would refuse: ``code`` and ``details`` become the 400 body (``SYNTAX_ERROR``...)."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details or {}


@dataclass(frozen=True)
class Comparison:
    """One condition of a WHERE (``Last_Name = 'Ng'``, ``Amount between 1 and 9``, ``Email is null``)."""

    field: str
    operator: str  # = != > < >= <= like in between null
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class BoolOp:
    """``left and right`` / ``left or right``: COQL nests pairs, hence a binary node."""

    operator: str  # and | or
    left: Expr
    right: Expr


Expr = Comparison | BoolOp


@dataclass(frozen=True)
class Query:
    """A parsed ``select_query``: what to read, from which module, filtered, ordered and cut how."""

    fields: tuple[str, ...]
    module: str
    where: Expr | None
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)
    limit: int
    offset: int

    def fields_used(self) -> set[str]:
        names = set(self.fields) | {f for f, _ in self.order_by}
        stack: list[Expr] = [self.where] if self.where is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, BoolOp):
                stack += [node.left, node.right]
            else:
                names.add(node.field)
        return names


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.|'')*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>>=|<=|!=|<>|=|>|<)
      | (?P<punct>[(),*;])
      | (?P<word>[A-Za-z_$][A-Za-z0-9_$.]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset(
    {
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "like",
        "in",
        "is",
        "null",
        "between",
        "order",
        "by",
        "asc",
        "desc",
        "limit",
        "offset",
        "true",
        "false",
    }
)


@dataclass(frozen=True)
class _Token:
    kind: str  # string number op punct word keyword end
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise CoqlError(
                "SYNTAX_ERROR", f"unexpected character {text[position]!r}", {"position": position}
            )
        kind = str(match.lastgroup)
        value, start = match.group(kind), match.start(kind)
        if kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "keyword", value.lower()
        tokens.append(_Token(kind, value, start))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def error(self, expected: str) -> CoqlError:
        token = self.current
        near = token.text or "end of query"
        return CoqlError(
            "SYNTAX_ERROR", f"expected {expected} near {near!r}", {"near": near, "position": token.position}
        )

    def accept(self, kind: str, text: str | None = None) -> _Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def expect(self, kind: str, text: str | None = None, what: str | None = None) -> _Token:
        token = self.accept(kind, text)
        if token is None:
            raise self.error(what or text or kind)
        return token

    def query(self) -> Query:
        self.expect("keyword", "select")
        fields = [self.expect("word", what="a field name").text]
        while self.accept("punct", ","):
            fields.append(self.expect("word", what="a field name").text)
        self.expect("keyword", "from")
        module = self.expect("word", what="a module name").text
        where = self.expression() if self.accept("keyword", "where") else None
        order_by: list[tuple[str, bool]] = []
        if self.accept("keyword", "order"):
            self.expect("keyword", "by")
            while True:
                name = self.expect("word", what="a field name").text
                descending = bool(self.accept("keyword", "desc"))
                if not descending:
                    self.accept("keyword", "asc")
                order_by.append((name, descending))
                if not self.accept("punct", ","):
                    break
        limit, offset = MAX_LIMIT, 0
        if self.accept("keyword", "limit"):
            first = self._integer()
            if self.accept("punct", ","):
                offset, limit = first, self._integer()
            else:
                limit = first
                if self.accept("keyword", "offset"):
                    offset = self._integer()
        self.accept("punct", ";")
        if self.current.kind != "end":
            raise self.error("end of query")
        return Query(tuple(fields), module, where, tuple(order_by), limit, offset)

    def _integer(self) -> int:
        token = self.expect("number", what="a whole number")
        if "." in token.text or token.text.startswith("-"):
            raise CoqlError(
                "SYNTAX_ERROR", f"expected a whole number near {token.text!r}", {"near": token.text}
            )
        return int(token.text)

    def expression(self) -> Expr:
        node = self.conjunction()
        while self.accept("keyword", "or"):
            node = BoolOp("or", node, self.conjunction())
        return node

    def conjunction(self) -> Expr:
        node = self.primary()
        while self.accept("keyword", "and"):
            node = BoolOp("and", node, self.primary())
        return node

    def primary(self) -> Expr:
        if self.accept("punct", "("):
            node = self.expression()
            self.expect("punct", ")")
            return node
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.expect("word", what="a field name").text
        if self.accept("keyword", "is"):
            negated = bool(self.accept("keyword", "not"))
            self.expect("keyword", "null")
            return Comparison(field, "null", (), negated)
        negated = bool(self.accept("keyword", "not"))
        if self.accept("keyword", "like"):
            return Comparison(field, "like", (self.expect("string", what="a quoted pattern").text,), negated)
        if self.accept("keyword", "in"):
            self.expect("punct", "(")
            values = [self.value()]
            while self.accept("punct", ","):
                values.append(self.value())
            self.expect("punct", ")")
            return Comparison(field, "in", tuple(values), negated)
        if self.accept("keyword", "between"):
            low = self.value()
            self.expect("keyword", "and")
            return Comparison(field, "between", (low, self.value()), negated)
        if negated:
            raise self.error("like, in or between after not")
        operator = self.expect("op", what="a comparison operator").text
        return Comparison(field, "!=" if operator == "<>" else operator, (self.value(),))

    def value(self) -> Any:
        token = self.current
        if self.accept("string"):
            return _unquote(token.text)
        if self.accept("number"):
            return float(token.text) if "." in token.text else int(token.text)
        if self.accept("keyword", "true"):
            return True
        if self.accept("keyword", "false"):
            return False
        if self.accept("keyword", "null"):
            return None
        raise self.error("a value")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)|''", lambda m: m.group(1) if m.group(1) is not None else "'", body)


def parse_coql(text: str) -> Query:
    if not isinstance(text, str) or not text.strip():
        raise CoqlError("SYNTAX_ERROR", "the select_query is empty")
    query = _Parser(text).query()
    if not 1 <= query.limit <= MAX_LIMIT:
        raise CoqlError(
            "INVALID_QUERY",
            f"limit must be between 1 and {MAX_LIMIT}",
            {"clause": "limit", "limit": MAX_LIMIT},
        )
    if query.offset + query.limit > 10_000:
        raise CoqlError(
            "INVALID_QUERY", "offset + limit cannot exceed 10000 rows", {"clause": "offset", "limit": 10_000}
        )
    return query


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _like(stored: Any, pattern: str) -> bool:
    if not isinstance(stored, str):
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in _unquote(pattern))
    return re.fullmatch(regex, stored, re.IGNORECASE | re.DOTALL) is not None


def _compare(comparison: Comparison, stored: Any) -> bool:
    operator = comparison.operator
    if operator in ("=", "in"):
        return any(v is not None and equals(stored, _as_text(v)) for v in comparison.values)
    if operator == "!=":
        return not equals(stored, _as_text(comparison.values[0]))
    if operator == "like":
        return _like(stored, comparison.values[0])
    left = order_key(stored)
    bounds = [order_key(v if not isinstance(v, bool) else _as_text(v)) for v in comparison.values]
    if left is None or any(b is None or b[0] != left[0] for b in bounds):
        return False
    first = bounds[0]
    assert first is not None
    if operator == "between":
        second = bounds[1]
        assert second is not None
        return bool(first[1] <= left[1] <= second[1])
    return bool(
        {
            ">": left[1] > first[1],
            "<": left[1] < first[1],
            ">=": left[1] >= first[1],
            "<=": left[1] <= first[1],
        }[operator]
    )


def matches_where(
    expr: Expr, record: dict[str, Any], values_of: Callable[[dict[str, Any], str], list[Any]] = candidates
) -> bool:
    """Whether ``record`` passes the WHERE; ``values_of`` reads a (maybe dotted) field's values."""
    if isinstance(expr, BoolOp):
        if expr.operator == "and":
            return matches_where(expr.left, record, values_of) and matches_where(
                expr.right, record, values_of
            )
        return matches_where(expr.left, record, values_of) or matches_where(expr.right, record, values_of)
    stored = values_of(record, expr.field)
    if expr.operator == "null":
        empty = all(s is None or s == "" for s in stored)
        return empty != expr.negated
    if expr.operator == "!=":
        return all(_compare(expr, s) for s in stored if s is not None) and any(s is not None for s in stored)
    hit = any(_compare(expr, s) for s in stored)
    return hit != expr.negated
