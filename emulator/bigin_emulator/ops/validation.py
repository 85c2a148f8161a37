"""Type checks for written field values, by Zoho data type.

A wrong type is Zoho's per-record ``INVALID_DATA`` with ``expected_data_type`` in the details; a
too-long text is ``INVALID_DATA`` with ``maximum_length``. Accepted values are returned in the
stored form: datetimes are normalised to the org's offset without fractions (clients often send
``...Z``, Zoho shows ``+00:00``), bigint numbers become strings as Zoho shows them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta, timezone
from typing import Any

from bigin_emulator.ops.comparisons import parse_iso_datetime
from bigin_emulator.state.metadata import FieldSpec

__all__ = ["FieldError", "coerce_value", "plain_text_limit"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TEXT_TYPES = frozenset({"text", "textarea", "phone", "website", "profileimage", "picklist"})
_NUMBER_TYPES = frozenset({"double", "currency", "percent"})


class FieldError(Exception):
    """A value that does not fit its field; ``details`` go into the INVALID_DATA entry."""

    def __init__(self, api_name: str, **details: Any) -> None:
        super().__init__(api_name)
        self.details: dict[str, Any] = {"api_name": api_name, **details}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def plain_text_limit(spec: FieldSpec) -> int | None:
    """For a text-like field, the length up to which a written ``str`` is stored unchanged.

    ``coerce_value`` returns such a string as it is; callers use this to skip it for the common
    case. None for every other data type.
    """
    return spec.length if spec.data_type in _TEXT_TYPES else None


def coerce_value(spec: FieldSpec, value: Any, utc_offset: timedelta) -> Any:
    """The stored form of ``value`` for a plain (non-lookup) field, or ``FieldError``."""
    if value is None:
        return None
    data_type = spec.data_type
    name = spec.api_name
    if data_type in _TEXT_TYPES:
        if _is_number(value) and data_type != "picklist":
            value = str(value)
        if not isinstance(value, str):
            raise FieldError(name, expected_data_type=data_type)
        if len(value) > spec.length:
            raise FieldError(name, maximum_length=spec.length)
        return value
    if data_type == "email":
        if not isinstance(value, str) or not _EMAIL.match(value) or len(value) > spec.length:
            raise FieldError(name, expected_data_type="email")
        return value
    if data_type == "boolean":
        if not isinstance(value, bool):
            raise FieldError(name, expected_data_type="boolean")
        return value
    if data_type == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise FieldError(name, expected_data_type="integer")
        return value
    if data_type == "bigint":
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.isdigit():
            return value
        raise FieldError(name, expected_data_type="bigint")
    if data_type in _NUMBER_TYPES:
        if not _is_number(value):
            raise FieldError(name, expected_data_type="double")
        return value
    if data_type == "date":
        return _coerce_date(name, value)
    if data_type == "datetime":
        return _coerce_datetime(name, value, utc_offset)
    if data_type in ("jsonarray", "multiselectpicklist"):
        if not isinstance(value, list):
            raise FieldError(name, expected_data_type=data_type)
        return value
    return value  # jsonobject and anything else: kept as sent


def _coerce_date(name: str, value: Any) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise FieldError(name, expected_data_type="date")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise FieldError(name, expected_data_type="date") from None
    return value


def _coerce_datetime(name: str, value: Any, utc_offset: timedelta) -> str:
    if not isinstance(value, str):
        raise FieldError(name, expected_data_type="datetime")
    try:
        moment = parse_iso_datetime(value)
    except ValueError:
        raise FieldError(name, expected_data_type="datetime") from None
    if moment.tzinfo is None:
        raise FieldError(name, expected_data_type="datetime")
    return moment.astimezone(timezone(utc_offset)).replace(microsecond=0).isoformat(timespec="seconds")
