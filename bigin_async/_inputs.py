"""Checks of caller input, shared by the module clients and the bulk engine.

Everything here runs before a request is built: an id that is not digits could rewrite the URL
(``../settings``), an empty record would be a wasted call, a bad field name an opaque 400.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bigin_async._field_aliases import to_bigin_names
from bigin_async.errors import ValidationError
from bigin_async.models import Record, record_to_wire
from bigin_async.models.base import BiginModel, assigned_fields

__all__ = [
    "FIELD_NAME",
    "check_field_list",
    "check_field_names",
    "check_id",
    "check_id_list",
    "check_module_name",
    "check_new_record",
    "check_record",
    "fields_to_wire",
]

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, and "123\n" is not an id. ASCII
# digits only (``[0-9]``, not ``\d``, which takes "١٢٣"), no leading zero: what an int id prints as.
_ID = re.compile(r"[1-9][0-9]{0,29}\Z")
_MODULE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}\Z")
_ID_BOUND = 10**30  # the smallest int of 31 digits
FIELD_NAME = re.compile(r"\$?[A-Za-z0-9_.]{1,100}\Z")


def check_id(value: object, what: str = "id") -> str:
    """A record id as Bigin expects it: 1 to 30 digits, not all zeros. Anything else could rewrite the URL.

    An int is held to the same rule as its string (``10**40`` is no more an id than its 41
    digits are); ``True``, negative numbers and zero are refused whatever their type, and a
    string is an id when it is what an int id prints as: no sign, space or leading zero ("0123"
    would name record 123 under a second spelling), ASCII digits only. Always a plain ``str``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        # Bounded before ``str()``: Python refuses to print an int of 4,300+ digits at all.
        if not 0 < value < _ID_BOUND:
            shown = "an int of more than 30 digits" if value > 0 else repr(value)
            raise ValidationError(
                f"{what} must be a string of 1 to 30 digits (a Bigin record id), got {shown}"
            )
        value = int.__repr__(value)  # an int subclass's own __str__ is not asked
    elif isinstance(value, str):
        # A plain str of the same characters: a subclass's __str__/__format__ would otherwise
        # decide what goes into the URL ("/Contacts/{id}" printing as "/Contacts/../settings").
        value = str.__str__(value)
    if not isinstance(value, str) or not _ID.match(value):
        raise ValidationError(
            f"{what} must be a string of 1 to 30 digits without a leading zero (a Bigin record id), "
            f"got {value!r}"
        )
    return value


def check_id_list(ids: object, what: str = "id") -> list[str]:
    """Ids for one call on several records: one id or a list, each a valid id, none twice, at least one.

    A duplicate is refused rather than dropped: Zoho would answer for it twice, and one result per
    id given could no longer be lined up with the input. ``what`` names one id in the messages
    ("related id", "record id").
    """
    if isinstance(ids, (str, int)) and not isinstance(ids, bool):
        ids = [ids]
    if not isinstance(ids, Sequence):
        raise ValidationError(f"give a {what} or a list of them, not {type(ids).__name__}")
    checked = [check_id(one, f"a {what}") for one in ids]
    if not checked:
        raise ValidationError(f"give at least one {what}")
    twice = [one for one, seen in Counter(checked).items() if seen > 1]
    if twice:
        raise ValidationError(f"{what}s given more than once: {', '.join(twice)}")
    return checked


def check_module_name(name: object) -> str:
    if not isinstance(name, str) or not _MODULE.match(name):
        raise ValidationError(f"module API name must be letters, digits and underscores, got {name!r}")
    return name


def fields_to_wire(value: object, model: type[BiginModel], refusal: str) -> dict[str, Any]:
    """The wire form of a ``model`` or a dict of fields (values formatted as for any write).

    Anything else is refused with ``refusal`` and the type given ("..., not str"): a record, a
    user, whatever is sent as a dict of Zoho's field names reads the same way.
    """
    if isinstance(value, (model, Mapping)):
        return record_to_wire(value)
    raise ValidationError(f"{refusal}, not {type(value).__name__}")


def check_record(record: object, module: str | None = None) -> dict[str, Any]:
    """The wire form of one record, refusing what cannot be a record before anything is sent.

    With ``module`` (an API name), the field aliases accepted on write are sent under Bigin's names
    (``Company_Name`` → ``Account_Name``, ``Related_To`` → ``What_Id`` + ``$se_module``, ...; see
    :mod:`bigin_async._field_aliases`): live Bigin drops fields it does not know without a word.
    """
    wire = fields_to_wire(record, Record, "a record must be a dict or a model")
    if not wire:
        raise ValidationError("empty record: nothing to write")
    return to_bigin_names(module, wire) if module else wire


def check_new_record(record: object, module: str | None = None) -> dict[str, Any]:
    """:func:`check_record` for a write that makes a record (an insert, an upsert).

    A record read from Bigin is refused: its write form is its id and the fields changed since
    the read, an update, not a copy; and a copy of all it holds would resend its id and what
    Bigin computes (``Full_Name``, ``Created_Time``, ``$``-fields...). A copy names its fields.
    """
    if isinstance(record, Record) and assigned_fields(record) is not None:
        name = type(record).__name__
        raise ValidationError(
            f"this {name} was read from Bigin: a write of it sends its id and the fields changed since the "
            "read, so to change that record call update(record.id, record); to copy it into a new record, "
            "create one from the fields to copy, e.g. "
            "create(record.model_dump(by_alias=True, include={'Last_Name', 'Email'}))"
        )
    return check_record(record, module)


def check_field_names(fields: Sequence[str] | str) -> list[str]:
    """Field API names for ``duplicate_check_fields`` and the like."""
    if isinstance(fields, str):
        fields = [fields]
    names = list(fields)
    if not names or not all(isinstance(n, str) and FIELD_NAME.match(n) for n in names):
        raise ValidationError(f"expected field API names, got {fields!r}")
    return names


def check_field_list(fields: str | Sequence[str], what: str = "field") -> list[str]:
    """The field API names a read asks for, from ``"A,B"`` or a list: at least one, each once.

    Each must be a field name (anything else could change the query); one named twice is asked
    for once, where it first stands. ``what`` names one field in the message ("attachment field").
    """
    if isinstance(fields, str):
        names = [name.strip() for name in fields.split(",") if name.strip()]
    else:
        names = list(fields)
    if not names:
        raise ValidationError(f"fields must name at least one {what}")
    for name in names:
        if not isinstance(name, str) or not FIELD_NAME.match(name):
            raise ValidationError(f"invalid field name {name!r}")
    return list(dict.fromkeys(names))
