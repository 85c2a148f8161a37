"""How a filter value compares with a stored field value, shared by search criteria and COQL.

Filter values arrive as text; stored values are text, numbers, booleans, lookups or lists. The
rules: text compares case-insensitively; a number compares numerically when the filter parses as
one; booleans match "true"/"false"; a lookup matches by its id or its name; a list (tags) matches
when any element does; ISO dates and datetimes order as instants. ``${EMPTY}`` matches an unset
value, as in Zoho's criteria. ``loosely_equals`` is real Bigin's search ``equals`` on text: the
stored text matches when it holds every word of the filter value, in any order
(``search_products_equals_fuzzy.json``: ``Nango Test Product`` found ``Nango Unlink Test Product``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

__all__ = [
    "EMPTY",
    "candidates",
    "equals",
    "loosely_equals",
    "order_key",
    "parse_iso_datetime",
    "starts_with",
]

_WORD = re.compile(r"\w+")

EMPTY = "${EMPTY}"


def candidates(record: dict[str, Any], field: str) -> list[Any]:
    """The values of ``field`` a filter may match: ``A.id``/``A.name`` reach into a lookup."""
    if "." in field:
        head, _, tail = field.partition(".")
        container = record.get(head)
        if isinstance(container, dict):
            return [container.get(tail)]
        if isinstance(container, list):
            return [item.get(tail) for item in container if isinstance(item, dict)]
        return [None]
    value = record.get(field)
    if isinstance(value, dict):
        return [value.get("id"), value.get("name")]
    if isinstance(value, list):
        found = [item.get("name", item.get("id")) if isinstance(item, dict) else item for item in value]
        return found or [None]
    return [value]


def _number(text: str) -> int | float | None:
    """A number from text; whole numbers stay ints so 19-digit ids compare exactly."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def equals(stored: Any, wanted: str) -> bool:
    if stored is None or stored == "":
        return wanted == EMPTY
    if isinstance(stored, bool):
        return wanted.casefold() == ("true" if stored else "false")
    if isinstance(stored, int | float):
        number = _number(wanted)
        return number is not None and stored == number
    if isinstance(stored, str):
        return stored.casefold() == wanted.casefold()
    return False


def loosely_equals(stored: Any, wanted: str) -> bool:
    """``equals`` as Bigin's search index applies it: text matches on its words, the rest exactly."""
    if equals(stored, wanted):
        return True
    if not isinstance(stored, str):
        return False
    words = _WORD.findall(wanted.casefold())
    return bool(words) and set(words) <= set(_WORD.findall(stored.casefold()))


def starts_with(stored: Any, prefix: str) -> bool:
    return isinstance(stored, str) and stored.casefold().startswith(prefix.casefold())


def parse_iso_datetime(text: str) -> datetime:
    """``datetime.fromisoformat`` as Python 3.11 reads Zoho's times, on 3.10 too: a trailing ``Z`` is UTC.

    Python 3.10's ``fromisoformat`` refuses ``2026-01-02T10:00:00Z``, which clients send; raises
    ``ValueError`` for what is not an ISO 8601 date-time.
    """
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _instant(text: str) -> datetime | None:
    if len(text) < 10 or text[4] != "-":
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        moment = parse_iso_datetime(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def order_key(value: Any) -> tuple[int, Any] | None:
    """A key for <, >, between: numbers, instants or folded text; None when it cannot be ordered."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        instant = _instant(value)
        if instant is not None:
            return (1, instant)
        number = _number(value)
        if number is not None:
            return (0, number)
        return (2, value.casefold())
    return None
