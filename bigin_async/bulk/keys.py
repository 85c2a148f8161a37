"""Does a record carry its upsert key? An upsert is exactly-once only for records that do.

``POST /{Module}/upsert`` updates the record that matches on the duplicate-check fields (the
``duplicate_check_fields`` of the call, else the module's unique fields) and inserts otherwise. A
record with no value in any of those fields can match nothing: for it the upsert *is* an insert,
and sending it again after a lost answer creates a second record. So the SDK sends such records
as inserts (never retried after an ambiguous failure, ``unknown`` when their answer is lost) and
only records that carry their key as idempotent upserts. Shared by the bulk engine and the
single-record ``upsert()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bigin_async._field_aliases import RENAMES

__all__ = ["UNIQUE_FIELDS", "carries_upsert_key", "upsert_key_fields"]

# The fields Bigin checks when an upsert names none (a module's unique fields, as the emulator's
# metadata has them). A module missing here has no field known to be unique: without explicit
# duplicate_check_fields, each of its upserts is treated as an insert, the safe side.
UNIQUE_FIELDS: dict[str, tuple[str, ...]] = {
    "Contacts": ("Email",),
    "Accounts": ("Account_Name",),
    "Products": ("Product_Name",),
}


def upsert_key_fields(module: str, duplicate_check_fields: Sequence[str] | None = None) -> tuple[str, ...]:
    """The Bigin field names an upsert of ``module`` matches on (field aliases translated)."""
    if not duplicate_check_fields:
        return UNIQUE_FIELDS.get(module, ())
    renames = RENAMES.get(module, {})
    return tuple(renames.get(name, name) for name in duplicate_check_fields)


def carries_upsert_key(
    wire: Mapping[str, Any], module: str, duplicate_check_fields: Sequence[str] | None = None
) -> bool:
    """True when ``wire`` (a record in Bigin's field names) has a value in a field the upsert matches on.

    ``None``, an empty or all-blank string, and an empty lookup count as no value: the server
    cannot match on them, so the upsert would insert.
    """
    for name in upsert_key_fields(module, duplicate_check_fields):
        value = wire.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            if value.strip():
                return True
        elif isinstance(value, Mapping):
            if value.get("id") or value.get("name"):
                return True
        elif isinstance(value, (list, tuple)):
            if value:
                return True
        else:
            return True
    return False
