"""Formatting of Python values into what Bigin accepts on a write.

Bigin is strict about formats that Python's defaults get wrong: dates must be ``yyyy-MM-dd``,
datetimes ISO 8601 *with* an offset and *without* milliseconds (``2026-02-06T00:28:53-08:00``),
and ``Decimal`` is not JSON at all. This module owns those rules once, so the record models, the
plain-dict path used by the module clients and the criteria builder all format alike.

It deliberately knows nothing of the record classes: a model is formatted through its own
``to_wire()`` method, which keeps this a leaf module with no import cycle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

__all__ = ["format_date", "format_datetime", "format_decimal", "wire_value"]

# Values of these exact types are already valid JSON and are passed through untouched: checking
# the exact type first keeps the common case (a record full of strings) to one set lookup a value.
# float is not among them: NaN and infinities are not JSON and must be refused.
PLAIN_JSON_TYPES: frozenset[type] = frozenset({str, int, bool, type(None)})


def format_datetime(value: datetime) -> str:
    """``2026-02-06T00:28:53-08:00``: ISO 8601 with the offset, milliseconds dropped.

    A naive datetime is refused rather than assumed to be UTC: Bigin would store it as an
    instant, and guessing the zone silently shifts meetings and due times by the org's offset.
    Attach a zone (``datetime.now(timezone.utc)``, ``zoneinfo.ZoneInfo("Europe/Paris")``) instead.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"naive datetime {value.isoformat()} has no time zone; Bigin needs an offset "
            "(e.g. 2026-02-06T00:28:53-08:00): attach a tzinfo instead of letting the SDK guess"
        )
    return value.replace(microsecond=0).isoformat()


def format_date(value: date) -> str:
    """``yyyy-MM-dd``, the only date format Bigin accepts."""
    return value.isoformat()


def format_decimal(value: Decimal) -> int | float:
    """A ``Decimal`` as a JSON number: an int when it is whole, else the nearest float.

    Bigin's currency and decimal fields take JSON numbers, not strings, so precision beyond a
    double is not representable on the wire anyway.
    """
    if not value.is_finite():
        raise ValueError(f"{value} is not a number Bigin can store")
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def wire_value(value: Any) -> Any:
    """Turn one field value (possibly nested) into its JSON-ready wire form."""
    value_type = type(value)
    if value_type in PLAIN_JSON_TYPES:
        return value
    if value_type is dict:  # exact-type fast paths before the slower isinstance checks
        return {key: wire_value(item) for key, item in value.items()}
    if value_type is list:
        return [wire_value(item) for item in value]
    if value_type is float:
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a number Bigin can store")
        return value
    if isinstance(value, BaseModel):
        to_wire = getattr(value, "to_wire", None)
        if callable(to_wire):
            return to_wire()
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, datetime):  # before date: a datetime is also a date
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, Enum):
        return wire_value(value.value)
    if isinstance(value, float):  # a float subclass
        return wire_value(float(value))
    if isinstance(value, Mapping):
        return {key: wire_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [wire_value(item) for item in value]
    return value
