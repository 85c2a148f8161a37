"""Parse and evaluate Zoho search criteria: ``(Field:operator:value)``, ``((A)and(B))``, nested.

Grammar (whitespace allowed between parenthesised terms and around ``and``/``or``)::

    criteria  := sequence
    sequence  := term (("and" | "or") term)*      one operator per sequence; mixing needs parentheses
    term      := "(" sequence ")" | condition
    condition := "(" field ":" operator ":" values ")"
    values    := value ("," value)*                 split at unescaped commas

In values, ``\\(``, ``\\)``, ``\\,`` and ``\\\\`` stand for ``(``, ``)``, ``,`` and ``\\``; an
unescaped ``(`` is an error and an unescaped ``)`` ends the value. A backslash before any other
character is kept as it is. ``Condition.value`` is the whole unescaped value text and
``Condition.values`` its comma-separated parts, so a value rendered with every special character
escaped parses back to exactly itself.

Operators: equals, not_equal, starts_with, in, between, greater_than, greater_equal, less_than,
less_equal. ``equals`` compares case-insensitively and exactly: Zoho's own ``equals`` sometimes
also returns records that merely contain the value (``search_products_equals_fuzzy.json``), a
fuzziness left out by default so the oracle is exact; ``matches(..., loose_equals=True)`` (the
emulator's ``loose_equals`` switch) applies it (``comparisons.loosely_equals``). Several values after
``equals``/``starts_with`` match any of them; after ``not_equal``, none of them.

This module is pure Python (no Starlette) so the SDK's criteria builder can be property-tested
against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from bigin_emulator.ops.comparisons import candidates, equals, loosely_equals, order_key, starts_with

__all__ = ["OPERATORS", "Condition", "CriteriaError", "CriteriaNode", "Group", "matches", "parse_criteria"]

OPERATORS: dict[str, tuple[int, int | None]] = {
    # operator: (fewest values, most values or None for no limit)
    "equals": (1, None),
    "not_equal": (1, None),
    "starts_with": (1, None),
    "in": (1, None),
    "between": (2, 2),
    "greater_than": (1, 1),
    "greater_equal": (1, 1),
    "less_than": (1, 1),
    "less_equal": (1, 1),
}

_FIELD = re.compile(r"^[A-Za-z0-9_$]+(\.[A-Za-z0-9_$]+)?$")
_ESCAPABLE = "(),\\"


class CriteriaError(ValueError):
    """Malformed criteria; the message says what is wrong and where."""


@dataclass(frozen=True)
class Condition:
    """One ``(field:operator:value)`` of a search ``criteria``; ``values`` splits an ``in`` list."""

    field: str
    operator: str
    values: tuple[str, ...]
    value: str


@dataclass(frozen=True)
class Group:
    """Conditions joined by one operator: Zoho does not mix ``and`` and ``or`` without brackets."""

    operator: Literal["and", "or"]
    children: tuple[CriteriaNode, ...]


CriteriaNode = Condition | Group


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> CriteriaError:
        return CriteriaError(f"{what} at position {self.pos} of the criteria")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def sequence(self) -> CriteriaNode:
        terms = [self.term()]
        operator: str | None = None
        while True:
            self.skip_spaces()
            word = self._operator_word()
            if word is None:
                break
            if operator is not None and word != operator:
                raise self.fail("'and' and 'or' mixed without parentheses")
            operator = word
            terms.append(self.term())
        if operator is None:
            return terms[0]
        return Group("and" if operator == "and" else "or", tuple(terms))

    def _operator_word(self) -> str | None:
        for word in ("and", "or"):
            end = self.pos + len(word)
            if self.text[self.pos : end].lower() == word:
                rest = self.text[end:].lstrip()
                if rest.startswith("("):
                    self.pos = end
                    return word
        return None

    def term(self) -> CriteriaNode:
        self.skip_spaces()
        if self.peek() != "(":
            raise self.fail("expected '('")
        self.pos += 1
        self.skip_spaces()
        if self.peek() == "(":
            node = self.sequence()
            self.skip_spaces()
            if self.peek() != ")":
                raise self.fail("expected ')' closing a group")
            self.pos += 1
            return node
        return self.condition()

    def condition(self) -> Condition:
        field = self._until_colon("field name")
        if not _FIELD.match(field):
            raise self.fail(f"invalid field name {field!r}")
        operator = self._until_colon("operator").strip().lower()
        if operator not in OPERATORS:
            raise self.fail(f"unknown operator {operator!r}")
        values, whole = self._values()
        fewest, most = OPERATORS[operator]
        if any(v == "" for v in values):
            raise self.fail(f"empty value for {field}")
        if len(values) < fewest or (most is not None and len(values) > most):
            count = f"exactly {fewest}" if fewest == most else f"at least {fewest}"
            raise self.fail(f"operator {operator} needs {count} value(s), got {len(values)}")
        return Condition(field, operator, tuple(values), whole)

    def _until_colon(self, what: str) -> str:
        end = self.text.find(":", self.pos)
        stop = self.text.find(")", self.pos)
        if end < 0 or (0 <= stop < end):
            raise self.fail(f"missing ':' after the {what}")
        token = self.text[self.pos : end]
        self.pos = end + 1
        return token.strip() if what == "field name" else token

    def _values(self) -> tuple[list[str], str]:
        values: list[str] = []
        current: list[str] = []
        whole: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise self.fail("missing ')' closing the condition")
            char = text[self.pos]
            if char == "\\":
                following = text[self.pos + 1 : self.pos + 2]
                if following and following in _ESCAPABLE:
                    current.append(following)
                    whole.append(following)
                    self.pos += 2
                    continue
                current.append(char)
                whole.append(char)
                self.pos += 1
                continue
            if char == ")":
                self.pos += 1
                values.append("".join(current))
                return values, "".join(whole)
            if char == "(":
                raise self.fail("unescaped '(' in a value (write \\( )")
            if char == ",":
                values.append("".join(current))
                current = []
            else:
                current.append(char)
            whole.append(char)
            self.pos += 1


def parse_criteria(text: str) -> CriteriaNode:
    """Parse criteria text into a tree; ``CriteriaError`` says what is malformed."""
    if not isinstance(text, str) or not text.strip():
        raise CriteriaError("the criteria is empty")
    parser = _Parser(text.strip())
    node = parser.sequence()
    parser.skip_spaces()
    if parser.pos != len(parser.text):
        raise parser.fail(f"unexpected {parser.text[parser.pos]!r} after the end of the criteria")
    return node


def matches(node: CriteriaNode, record: dict[str, Any], *, loose_equals: bool = False) -> bool:
    """Whether ``record`` (a stored record in wire shape) satisfies the criteria.

    ``loose_equals``: ``equals`` matches text on its words, as Bigin's search does.
    """
    if isinstance(node, Group):
        if node.operator == "and":
            return all(matches(child, record, loose_equals=loose_equals) for child in node.children)
        return any(matches(child, record, loose_equals=loose_equals) for child in node.children)
    stored_values = candidates(record, node.field)
    operator = node.operator
    if loose_equals and operator == "equals":
        return any(loosely_equals(s, v) for s in stored_values for v in node.values)
    if operator in ("equals", "in"):
        return any(equals(s, v) for s in stored_values for v in node.values)
    if operator == "not_equal":
        return not any(equals(s, v) for s in stored_values for v in node.values)
    if operator == "starts_with":
        return any(starts_with(s, v) for s in stored_values for v in node.values)
    return any(_ordered(operator, s, node.values) for s in stored_values)


def _ordered(operator: str, stored: Any, values: tuple[str, ...]) -> bool:
    left = order_key(stored)
    bounds = [order_key(v) for v in values]
    if left is None or any(b is None or b[0] != left[0] for b in bounds):
        return False
    low = bounds[0]
    assert low is not None
    if operator == "between":
        high = bounds[1]
        assert high is not None
        return bool(low[1] <= left[1] <= high[1])
    if operator == "greater_than":
        return bool(left[1] > low[1])
    if operator == "greater_equal":
        return bool(left[1] >= low[1])
    if operator == "less_than":
        return bool(left[1] < low[1])
    return bool(left[1] <= low[1])
