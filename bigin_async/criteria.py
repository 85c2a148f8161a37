"""Search criteria builder: ``(Field("Email") == "a@b.c") & (Field("Amount") > 1000)``.

Bigin's ``criteria`` parameter is a small language, ``(Field:operator:value)`` combined as
``((A)and(B))`` / ``((A)or(B))``. Building it with f-strings is an injection hole: a value such as
``a),(Email:equals:x`` rewrites the query. Values are therefore always escaped here (a backslash
before ``\\``, ``(``, ``)`` and ``,``) and field names are checked, so user input can only ever be
a value.

Python evaluates ``&`` before ``==``, so parenthesise each comparison when combining them.

Bulk Read jobs take criteria in Zoho's JSON form instead (``{"api_name", "comparator", "value"}``
and ``{"group_operator", "group"}``): :meth:`Criteria.to_json` gives it from the same builder, with
the values kept typed (a number stays a number, a date is ISO ``yyyy-MM-dd``), and
:func:`criteria_to_json` also checks a JSON criteria written by hand before it is sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

from bigin_async.errors import InvalidCriteriaError
from bigin_async.models.wire import format_datetime

__all__ = [
    "JSON_COMPARATORS",
    "MAX_JSON_CRITERIA_DEPTH",
    "Condition",
    "Criteria",
    "CriteriaValue",
    "Field",
    "Group",
    "InvalidCriteriaError",
    "criteria_to_json",
    "criteria_to_str",
    "escape_value",
    "json_value",
    "render_value",
]

CriteriaValue = str | int | float | bool | Decimal | date | datetime | Enum

# An API name, optionally with one sub-field (``Account_Name.id``), as Zoho's parser accepts.
_FIELD_NAME = re.compile(r"[A-Za-z0-9_$]+(\.[A-Za-z0-9_$]+)?")
_ESCAPES = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)", ",": "\\,"})


def escape_value(text: str) -> str:
    """Backslash-escape the characters that would end or split a criteria value."""
    return text.translate(_ESCAPES)


# Zoho's comparators of the JSON criteria form (Bulk Read). The builder's operators have the same
# names there but ``equals``, which is ``equal``.
JSON_COMPARATORS = frozenset(
    {
        "equal",
        "not_equal",
        "in",
        "not_in",
        "less_than",
        "less_equal",
        "greater_than",
        "greater_equal",
        "between",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
    }
)
_JSON_COMPARATOR = {"equals": "equal"}
# How deep groups of a JSON criteria may nest: far past any real query, short of any stack limit.
MAX_JSON_CRITERIA_DEPTH = 32
# Which comparators compare with a list of values, and with exactly how many (None: at least one).
_LIST_COMPARATORS: dict[str, int | None] = {"in": None, "not_in": None, "between": 2}

JsonScalar = str | int | float | bool


def _typed(value: object) -> str | int | float | bool | Decimal:
    """A value checked for searching: text, a bool, a finite number, or a date/datetime as ISO text."""
    if isinstance(value, Enum):
        return _typed(value.value)
    if isinstance(value, str):
        if not value:
            # ``(Email:equals:)`` is malformed for Bigin; say so before a round trip does.
            raise InvalidCriteriaError("cannot search for an empty string")
        return value
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, (float, Decimal)):
        if not (math.isfinite(value) if isinstance(value, float) else value.is_finite()):
            raise InvalidCriteriaError(f"{value} cannot be searched for")
        return value
    if isinstance(value, datetime):  # before date: a datetime is also a date
        try:
            return format_datetime(value)
        except ValueError as error:
            raise InvalidCriteriaError(str(error)) from None
    if isinstance(value, date):
        return value.isoformat()
    raise InvalidCriteriaError(
        f"cannot search for a {type(value).__name__} value; "
        "use str, int, float, bool, Decimal, date or datetime"
    )


def render_value(value: object) -> str:
    """One value in Bigin's criteria format (dates ``yyyy-MM-dd``, bools ``true``/``false``)."""
    typed = _typed(value)
    if isinstance(typed, str):
        return escape_value(typed)
    if isinstance(typed, bool):  # before int: a bool is also an int
        return "true" if typed else "false"
    if isinstance(typed, int):
        return str(typed)
    if isinstance(typed, float):
        text = repr(typed)
        return text if "e" not in text else format(Decimal(text), "f")
    return format(typed, "f")


def json_value(value: object) -> JsonScalar:
    """One value in Zoho's JSON criteria form: numbers and bools stay JSON numbers and bools.

    Dates are ``yyyy-MM-dd`` and datetimes ISO 8601 with their offset, as Bigin writes them; a
    ``Decimal`` becomes a JSON number (an int when it is whole), since JSON has no decimals.
    """
    typed = _typed(value)
    if isinstance(typed, Decimal):
        return int(typed) if typed == typed.to_integral_value() else float(typed)
    return typed


class Criteria:
    """A search condition or a combination of them; ``str()`` gives the wire form."""

    __slots__ = ()

    def render(self) -> str:
        """The criteria string Bigin expects, e.g. ``((Email:equals:a@b.c)and(Amount:greater_than:5))``."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """Zoho's JSON criteria form (Bulk Read): ``{"api_name", "comparator", "value"}`` or a group."""
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
    """One ``(Field:operator:value)``; the value is escaped when the condition is built.

    ``raw`` is the value as given (a list for ``in`` and ``between``), kept for the JSON form,
    where numbers stay numbers; a condition built from an escaped ``value`` alone reads it back.
    """

    __slots__ = ("field", "operator", "raw", "value")

    def __init__(self, field: str, operator: str, value: str, *, raw: object = None) -> None:
        self.field = field
        self.operator = operator
        self.value = value
        self.raw = raw

    def render(self) -> str:
        return f"({self.field}:{self.operator}:{self.value})"

    def to_json(self) -> dict[str, Any]:
        comparator = _JSON_COMPARATOR.get(self.operator, self.operator)
        if comparator not in JSON_COMPARATORS:
            raise InvalidCriteriaError(f"{self.operator!r} has no comparator in Zoho's JSON criteria")
        size = _LIST_COMPARATORS.get(comparator, 0)
        value: JsonScalar | list[JsonScalar]
        if self.raw is None:
            texts: list[JsonScalar] = list(_unescaped(self.value, split=size != 0))
            value = texts if size != 0 else texts[0]
        elif size != 0:
            value = [json_value(item) for item in _as_list(self.raw)]
        else:
            value = json_value(self.raw)
        return _checked_condition({"api_name": self.field, "comparator": comparator, "value": value})

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

    def to_json(self) -> dict[str, Any]:
        return {"group_operator": self.operator, "group": [part.to_json() for part in self.parts]}

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
        return Condition(self.name, operator, render_value(value), raw=value)

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
        items = list(values)  # an iterator is read once, for both forms
        rendered = [render_value(value) for value in items]
        if not rendered:
            raise InvalidCriteriaError(f"is_in() on {self.name} needs at least one value")
        return Condition(self.name, "in", ",".join(rendered), raw=items)

    def between(self, low: CriteriaValue, high: CriteriaValue) -> Condition:
        """``between``: from ``low`` to ``high`` (numbers, dates, datetimes)."""
        return Condition(self.name, "between", f"{render_value(low)},{render_value(high)}", raw=[low, high])

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


def _as_list(raw: object) -> list[object]:
    if not isinstance(raw, (list, tuple)):
        raise InvalidCriteriaError(f"expected a list of values, got {type(raw).__name__}")
    return list(raw)


def _unescaped(text: str, *, split: bool) -> list[str]:
    """An escaped criteria value read back: its pieces split on unescaped commas when ``split``."""
    pieces: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "," and split:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _checked_scalar(value: object, where: str) -> JsonScalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidCriteriaError(f"{where}: {value} cannot be searched for")
    if isinstance(value, str) and not value:
        raise InvalidCriteriaError(
            f'{where}: an empty value is written "${{EMPTY}}" in Zoho\'s JSON criteria'
        )
    if not isinstance(value, (str, bool, int, float)):
        raise InvalidCriteriaError(
            f"{where}: a value is text, a number or a bool, not {type(value).__name__}"
        )
    return value


def _checked_condition(condition: Mapping[str, Any], where: str = "criteria") -> dict[str, Any]:
    if set(condition) != {"api_name", "comparator", "value"}:
        raise InvalidCriteriaError(
            f"{where}: a condition has exactly the keys api_name, comparator and value, "
            f"got {sorted(map(str, condition))}"
        )
    name, comparator, value = condition["api_name"], condition["comparator"], condition["value"]
    if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
        raise InvalidCriteriaError(f"{where}: {name!r} is not a field API name")
    if comparator not in JSON_COMPARATORS:
        raise InvalidCriteriaError(
            f"{where}: unknown comparator {comparator!r}; one of {', '.join(sorted(JSON_COMPARATORS))}"
        )
    size = _LIST_COMPARATORS.get(comparator, 0)
    if size == 0:
        checked: JsonScalar | list[JsonScalar] = _checked_scalar(value, where)
    else:
        if not isinstance(value, (list, tuple)) or not value or (size is not None and len(value) != size):
            wanted = f"a list of {size} values" if size else "a non-empty list of values"
            raise InvalidCriteriaError(f"{where}: {comparator} takes {wanted}")
        checked = [_checked_scalar(item, where) for item in value]
    return {"api_name": name, "comparator": comparator, "value": checked}


def _checked_json(criteria: object, where: str, depth: int) -> dict[str, Any]:
    if depth > MAX_JSON_CRITERIA_DEPTH:
        raise InvalidCriteriaError(f"criteria nest deeper than {MAX_JSON_CRITERIA_DEPTH} groups")
    if not isinstance(criteria, Mapping):
        raise InvalidCriteriaError(f"{where}: a criteria is a JSON object, not {type(criteria).__name__}")
    if "group" not in criteria and "group_operator" not in criteria:
        return _checked_condition(criteria, where)
    if set(criteria) != {"group", "group_operator"}:
        raise InvalidCriteriaError(f"{where}: a group has exactly the keys group_operator and group")
    operator, group = criteria["group_operator"], criteria["group"]
    if operator not in ("and", "or"):
        raise InvalidCriteriaError(f'{where}: group_operator is "and" or "or", not {operator!r}')
    if not isinstance(group, (list, tuple)) or not group:
        raise InvalidCriteriaError(f"{where}: group is a non-empty list of criteria")
    parts = [_checked_json(part, f"{where}.group[{index}]", depth + 1) for index, part in enumerate(group)]
    return {"group_operator": operator, "group": parts}


def criteria_to_json(criteria: Criteria | Mapping[str, Any]) -> dict[str, Any]:
    """Zoho's JSON criteria form of a built criteria, or a JSON criteria checked and copied.

    A mapping is sent as written once its shape is Zoho's: conditions of exactly ``api_name``,
    ``comparator`` (one of :data:`JSON_COMPARATORS`) and ``value`` (a list for ``in``,
    ``not_in``; two values for ``between``), groups of ``group_operator`` ``"and"``/``"or"`` and a
    non-empty ``group``. A typo found here costs nothing; found by Zoho, it costs a job's credits.
    """
    if isinstance(criteria, Criteria):
        return criteria.to_json()
    return _checked_json(criteria, "criteria", 0)
