"""Formatting of Python values into what Bigin accepts on a write.

Bigin is strict about formats that Python's defaults get wrong: dates must be ``yyyy-MM-dd``,
datetimes ISO 8601 *with* an offset and *without* milliseconds (``2026-02-06T00:28:53-08:00``),
and ``Decimal`` is not JSON at all. This module owns those rules once, so the record models, the
plain-dict path used by the module clients and the criteria builder all format alike.

It deliberately knows nothing of the record classes: a model is formatted through its own
``to_wire()`` method, which keeps this a leaf module with no import cycle.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from bigin_async.errors import ValidationError

__all__ = ["format_date", "format_datetime", "format_decimal", "sorted_set", "wire_value"]

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
    """Turn one field value (possibly nested) into its JSON-ready wire form.

    What Bigin cannot store is refused here, per value, with a :class:`ValidationError` that says
    why (bytes, arbitrary objects, NaN and infinities, datetimes without an offset), so a bulk
    write fails that one record before sending instead of the whole call failing to encode. A set
    goes out sorted: its Python order follows the process's hash seed, and the same record must
    give the same body (and journal fingerprint) in every process.
    """
    value_type = type(value)
    if value_type in PLAIN_JSON_TYPES:
        return value
    if value_type is dict:  # exact-type fast paths before the slower isinstance checks
        return {key if type(key) is str else _wire_key(key): wire_value(item) for key, item in value.items()}
    if value_type is list:
        return [wire_value(item) for item in value]
    if value_type is float:
        if not math.isfinite(value):
            raise ValidationError(
                f"{value} is not a number Bigin can store (NaN and infinities are not JSON)"
            )
        return value
    if isinstance(value, BaseModel):
        to_wire = getattr(value, "to_wire", None)
        if callable(to_wire):
            return to_wire()
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, (datetime, date, Decimal)):  # datetime first: a datetime is also a date
        try:
            if isinstance(value, datetime):
                return format_datetime(value)
            return format_date(value) if isinstance(value, date) else format_decimal(value)
        except ValidationError:
            raise
        except ValueError as error:
            raise ValidationError(str(error)) from None
    if isinstance(value, Enum):
        return wire_value(value.value)
    if isinstance(value, float):  # a float subclass
        return wire_value(float(value))
    if isinstance(value, str):  # a str or int subclass (bool is final): its plain value, not
        return str.__str__(value)  # what the subclass's own __str__/__int__ would make of it
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, Mapping):
        return {key if type(key) is str else _wire_key(key): wire_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted_set(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise ValidationError(
            f"{value_type.__name__} is not JSON: decode it to str (or base64 for file content) before sending"
        )
    raise ValidationError(
        f"a {value_type.__name__} is not a value Bigin can store: use str, int, float, bool, None, Decimal, "
        "date, datetime with an offset, a model, or lists and dicts of those"
    )


def sorted_set(values: set[Any] | frozenset[Any]) -> list[Any]:
    """A set's wire forms in one canonical order (by their JSON text), the same in every process."""
    items = [wire_value(item) for item in values]
    try:
        return sorted(items)
    except TypeError:  # mixed types (1 and "a"): order by the JSON text, which always compares
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _wire_key(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    if isinstance(key, (int, float)) or key is None:  # json would turn these into text anyway
        return json.dumps(key)
    raise ValidationError(f"a {type(key).__name__} cannot be a field name: keys must be text")
