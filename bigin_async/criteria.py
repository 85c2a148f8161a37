"""Search criteria builder: ``(Field("Email") == "a@b.c") & (Field("Amount") > 1000)``.

Bigin's ``criteria`` parameter is a small language, ``(Field:operator:value)`` combined as
``((A)and(B))`` / ``((A)or(B))``. Building it with f-strings is an injection hole: a value such as
``a),(Email:equals:x`` rewrites the query. Values are therefore always escaped here (a backslash
before ``\\``, ``(``, ``)`` and ``,``) and field names are checked, so user input can only ever be
a value.

Python evaluates ``&`` before ``==``, so parenthesise each comparison when combining them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Literal

from bigin_async.errors import InvalidCriteriaError
from bigin_async.models.wire import format_datetime

__all__ = [
    "Condition",
    "Criteria",
    "CriteriaValue",
    "Field",
    "Group",
    "InvalidCriteriaError",
    "criteria_to_str",
    "escape_value",
    "render_value",
]

CriteriaValue = str | int | float | bool | Decimal | date | datetime | Enum

# An API name, optionally with one sub-field (``Account_Name.id``), as Zoho's parser accepts.
_FIELD_NAME = re.compile(r"[A-Za-z0-9_$]+(\.[A-Za-z0-9_$]+)?")
_ESCAPES = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)", ",": "\\,"})


def escape_value(text: str) -> str:
    """Backslash-escape the characters that would end or split a criteria value."""
    return text.translate(_ESCAPES)


def render_value(value: object) -> str:
    """One value in Bigin's criteria format (dates ``yyyy-MM-dd``, bools ``true``/``false``)."""
    if isinstance(value, Enum):
        return render_value(value.value)
    if isinstance(value, str):
        if not value:
            # ``(Email:equals:)`` is malformed for Bigin; say so before a round trip does.
            raise InvalidCriteriaError("cannot search for an empty string")
        return escape_value(value)
    if isinstance(value, bool):  # before int: a bool is also an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidCriteriaError(f"{value} cannot be searched for")
        text = repr(value)
        return text if "e" not in text else format(Decimal(text), "f")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidCriteriaError(f"{value} cannot be searched for")
        return format(value, "f")
    if isinstance(value, datetime):  # before date: a datetime is also a date
        try:
            return escape_value(format_datetime(value))
        except ValueError as error:
            raise InvalidCriteriaError(str(error)) from None
    if isinstance(value, date):
        return value.isoformat()
    raise InvalidCriteriaError(
        f"cannot search for a {type(value).__name__} value; "
        "use str, int, float, bool, Decimal, date or datetime"
    )


class Criteria:
    """A search condition or a combination of them; ``str()`` gives the wire form."""

    __slots__ = ()

    def render(self) -> str:
        """The criteria string Bigin expects, e.g. ``((Email:equals:a@b.c)and(Amount:greater_than:5))``."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render()

    def __and__(self, other: Criteria) -> Criteria:
        return Group.combine("and", self, other)

    def __or__(self, other: Criteria) -> Criteria:
        return Group.combine("or", self, other)

    def __bool__(self) -> bool:
        # ``a and b`` would silently drop ``a``; make the mistake loud instead.
        raise TypeError("combine criteria with & and |, not 'and'/'or'; a criteria has no truth value")


class Condition(Criteria):
    """One ``(Field:operator:value)``; the value is escaped when the condition is built."""

    __slots__ = ("field", "operator", "value")

    def __init__(self, field: str, operator: str, value: str) -> None:
        self.field = field
        self.operator = operator
        self.value = value

    def render(self) -> str:
        return f"({self.field}:{self.operator}:{self.value})"

    def __repr__(self) -> str:
        return f"Condition({self.render()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and self.render() == other.render()

    def __hash__(self) -> int:
        return hash(self.render())


class Group(Criteria):
    """Criteria joined by one operator, rendered as Zoho's nested pairs ``(((A)and(B))and(C))``."""

    __slots__ = ("operator", "parts")

    def __init__(self, operator: Literal["and", "or"], parts: tuple[Criteria, ...]) -> None:
        if len(parts) < 2:
            raise InvalidCriteriaError("a group needs at least two criteria")
        self.operator = operator
        self.parts = parts

    @classmethod
    def combine(cls, operator: Literal["and", "or"], left: Criteria, right: Criteria) -> Group:
        """``left op right``, flattening chains of the same operator (keeps rendering shallow)."""
        for side in (left, right):
            if not isinstance(side, Criteria):
                raise InvalidCriteriaError(f"cannot combine criteria with {type(side).__name__}")
        parts = left.parts if isinstance(left, Group) and left.operator == operator else (left,)
        more = right.parts if isinstance(right, Group) and right.operator == operator else (right,)
        return cls(operator, parts + more)

    def render(self) -> str:
        # Pairs nest to the left, so a chain renders iteratively whatever its length.
        text = self.parts[0].render()
        for part in self.parts[1:]:
            text = f"({text}{self.operator}{part.render()})"
        return text

    def __repr__(self) -> str:
        return f"Group({self.render()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Group) and self.render() == other.render()

    def __hash__(self) -> int:
        return hash(self.render())


class Field:
    """A field to compare: ``Field("Stage").is_in(["Won", "Lost"])``, ``Field("Amount") >= 10``.

    Comparison operators build criteria instead of booleans, so a ``Field`` is not hashable.
    """

    __slots__ = ("name",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise InvalidCriteriaError(
                f"invalid field name {name!r}: use the API name (letters, digits, _ $; one '.' for a "
                "sub-field), e.g. 'Last_Name' or 'Account_Name.id'"
            )
        self.name = name

    def __repr__(self) -> str:
        return f"Field({self.name!r})"

    def _condition(self, operator: str, value: object) -> Condition:
        return Condition(self.name, operator, render_value(value))

    def equals(self, value: CriteriaValue) -> Condition:
        """``equals``; note Bigin's search treats it loosely, so re-check exactness if it matters."""
        return self._condition("equals", value)

    def not_equal(self, value: CriteriaValue) -> Condition:
        """``not_equal``."""
        return self._condition("not_equal", value)

    def starts_with(self, value: CriteriaValue) -> Condition:
        """``starts_with``."""
        return self._condition("starts_with", value)

    def greater_than(self, value: CriteriaValue) -> Condition:
        """``greater_than``."""
        return self._condition("greater_than", value)

    def greater_equal(self, value: CriteriaValue) -> Condition:
        """``greater_equal``."""
        return self._condition("greater_equal", value)

    def less_than(self, value: CriteriaValue) -> Condition:
        """``less_than``."""
        return self._condition("less_than", value)

    def less_equal(self, value: CriteriaValue) -> Condition:
        """``less_equal``."""
        return self._condition("less_equal", value)

    def is_in(self, values: Iterable[CriteriaValue]) -> Condition:
        """``in``: any of the values (a comma-separated list; commas inside values are escaped)."""
        if isinstance(values, (str, bytes)):
            raise InvalidCriteriaError("is_in() takes a list of values, not a single string")
        rendered = [render_value(value) for value in values]
        if not rendered:
            raise InvalidCriteriaError(f"is_in() on {self.name} needs at least one value")
        return Condition(self.name, "in", ",".join(rendered))

    def between(self, low: CriteriaValue, high: CriteriaValue) -> Condition:
        """``between``: from ``low`` to ``high`` (numbers, dates, datetimes)."""
        return Condition(self.name, "between", f"{render_value(low)},{render_value(high)}")

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return self._condition("equals", value)

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        return self._condition("not_equal", value)

    def __gt__(self, value: object) -> Condition:
        return self._condition("greater_than", value)

    def __ge__(self, value: object) -> Condition:
        return self._condition("greater_equal", value)

    def __lt__(self, value: object) -> Condition:
        return self._condition("less_than", value)

    def __le__(self, value: object) -> Condition:
        return self._condition("less_equal", value)


def _balanced(text: str) -> bool:
    depth = 0
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not escaped


def criteria_to_str(criteria: Criteria | str) -> str:
    """The wire string for a built criteria, or a raw one checked for balanced parentheses."""
    if isinstance(criteria, Criteria):
        return criteria.render()
    if not isinstance(criteria, str):
        raise InvalidCriteriaError(f"criteria must be a Criteria or a str, not {type(criteria).__name__}")
    text = criteria.strip()
    if not text:
        raise InvalidCriteriaError("criteria is empty")
    if not _balanced(text):
        raise InvalidCriteriaError(
            f"unbalanced parentheses in criteria {text!r} (escape literal ones as \\( \\))"
        )
    return text
