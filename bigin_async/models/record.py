"""``Record``, the base of every module's records, and the write formatting of records.

A write sends only what the caller set: the fields given to a model built by hand, and for a
record read from Bigin its id plus the fields assigned after reading. Sending a whole read-back
record would overwrite fields someone else changed meanwhile and resend read-only system fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bigin_async.errors import ValidationError
from bigin_async.models import common
from bigin_async.models.base import BiginModel, Id, model_to_wire
from bigin_async.models.wire import PLAIN_JSON_TYPES, sorted_set, wire_value

__all__ = ["READ_ONLY_FIELDS", "Record", "record_to_wire"]

# System fields Bigin computes itself. They arrive on every read and are never part of a write.
READ_ONLY_FIELDS: frozenset[str] = frozenset(
    {"Created_Time", "Modified_Time", "Created_By", "Modified_By", "Last_Activity_Time"}
)


class Record(BiginModel):
    """Fields every Bigin record has; each module's record adds its own (all optional).

    Every field is optional because ``fields=`` returns only what was asked for, and fields that
    are unset in Bigin arrive as ``null``. Unknown and custom fields are kept as extras under their
    exact wire names: ``record.get("$approval_state")``, ``record.model_extra``.

    Read, change, write back: ``contact = await bigin.contacts.get(id)``, then
    ``contact.Phone = "555"`` (or ``contact.set("Custom_c", 1)``) and
    ``await bigin.contacts.update(id, contact)`` sends ``Phone`` alone, so edits others made since
    the read survive. A list, dict or lookup changed in place (``contact.Tag.append(tag)``,
    ``contact.Owner.id = ...``) counts as changed too: it is compared with its value as read and
    sent whole. A value assigned is sent even when equal to the one read.

    ``create()`` and ``upsert()`` refuse a read record (its write form is an update). To copy
    one into a new record, create from the fields to copy:
    ``create(record.model_dump(by_alias=True, include={"Last_Name", "Email"}))``; a whole dump
    would resend its id and what Bigin computes (``Full_Name``, ``Created_Time``, ``$``-fields).
    """

    id: Id | None = None
    Owner: common.Owner | None = None
    Created_By: common.Owner | None = None
    Modified_By: common.Owner | None = None
    Created_Time: datetime | None = None
    Modified_Time: datetime | None = None
    Last_Activity_Time: datetime | None = None
    Tag: list[common.Tag] | None = None

    def to_wire(self) -> dict[str, Any]:
        """The write body of this record: set fields only, read-only system fields left out.

        Dates become ``yyyy-MM-dd``, datetimes ISO 8601 with offset and no milliseconds (a naive
        datetime raises ``ValueError``), lookups and ``Owner`` ``{"id"}``, tags ``[{"name"}]``.
        """
        return model_to_wire(self, READ_ONLY_FIELDS)


def record_to_wire(record: Mapping[str, Any] | BiginModel) -> dict[str, Any]:
    """Format one record for a write body, whether a model or a plain dict.

    A dict is sent as given (its keys are the caller's choice) with only its values formatted:
    date/datetime/Decimal values, models inside it, and bare-string tags
    (``"Tag": ["VIP"]``) turned into Bigin's ``[{"name": "VIP"}]``. The module clients call this
    for every record they send, so plain JSON values take a single type check each.
    """
    if isinstance(record, BiginModel):
        return record.to_wire()
    plain = PLAIN_JSON_TYPES
    wire: dict[str, Any] = {}
    try:
        for key, value in record.items():
            if type(value) in plain:
                wire[key] = value
            elif key == "Tag" and isinstance(value, (list, tuple, set, frozenset)):
                tags = value if isinstance(value, (list, tuple)) else sorted_set(value)
                wire[key] = [{"name": tag} if isinstance(tag, str) else wire_value(tag) for tag in tags]
            else:
                wire[key] = wire_value(value)
    except ValidationError as error:  # say which field, so one bad value in a 100-record batch is found
        raise ValidationError(f"field {key}: {error}") from None
    return wire
