"""The cells of a Bulk Read CSV as the values a REST record carries for the same fields.

A Bulk Read result is text: ids as digits, a lookup (``Owner``, ``Account_Name``...) as the
linked record's id, ``true``/``false``, plain numbers, multi-select values joined by ``;``, an
empty cell for no value. A record read through ``get()`` or ``list()`` carries JSON instead. Each
column is turned into that JSON form, by the field's type in the module's field metadata
(``/settings/fields``: ``data_type`` and ``json_type``), so the record class then types it
exactly as it types a REST answer: the same column gives an equal value whichever way it was
read. Ids stay strings (they are ~19 digits, and ``bigint`` fields are strings in REST answers
too); a lookup becomes ``{"id": ...}``, the only part of it the CSV carries; dates and
datetimes stay the ISO text REST sends (the record class parses the ones it declares). A column
the metadata does not describe (a custom field the org added since) stays a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bigin_async.models import FieldInfo

__all__ = ["CellReader", "RowReader", "cell_reader", "row_reader"]

CellReader = Callable[[str], Any]

# Zoho's field types whose REST value is a link to another record: ``{"name", "id"}``.
_LOOKUP_TYPES = frozenset({"lookup", "ownerlookup", "userlookup"})
_NUMBERS = frozenset({"integer", "double", "long", "decimal"})
_INTEGER = re.compile(r"[+-]?\d+")
_BOOLEANS = {"true": True, "false": False}
# Multi-select values, and tag names, are joined with this in a Bulk Read CSV.
_SEPARATOR = ";"


def _text(cell: str) -> Any:
    return cell if cell else None


def _lookup(cell: str) -> Any:
    return {"id": cell} if cell else None


def _boolean(cell: str) -> Any:
    if not cell:
        return None
    return _BOOLEANS.get(cell.lower(), cell)


def _number(cell: str) -> Any:
    """As JSON reads the same digits: ``12`` an int, ``12.5`` a float (anything else stays text)."""
    if not cell:
        return None
    try:
        return int(cell) if _INTEGER.fullmatch(cell) else float(cell)
    except ValueError:
        return cell


def _values(cell: str) -> Any:
    return [value for value in cell.split(_SEPARATOR) if value] if cell else []


def _tags(cell: str) -> Any:
    return [{"name": name} for name in _values(cell)]


def _json(cell: str) -> Any:
    """The JSON value a cell holds; the text itself if it holds none."""
    try:
        return json.loads(cell)
    except ValueError:
        return cell


def _json_array(cell: str) -> Any:
    """A list-valued field other than a multi-select (``Participants``): JSON text if it is one."""
    if not cell:
        return []
    return _json(cell) if cell.startswith("[") else _values(cell)


def _file_upload(cell: str) -> Any:
    """A file-upload field: its files as JSON, or None when it holds none (REST reads it so)."""
    return _json(cell) if cell.startswith("[") else None if not cell else _text(cell)


def _json_object(cell: str) -> Any:
    return _json(cell) if cell.startswith("{") else _text(cell)


def cell_reader(field: FieldInfo | None) -> CellReader:
    """How one column's cells become REST values, from that field's metadata (None: text)."""
    if field is None:
        return _text
    data_type = (field.data_type or "").lower()
    json_type = (field.json_type or "").lower()
    if data_type in _LOOKUP_TYPES:
        return _lookup
    if json_type == "boolean" or data_type == "boolean":
        return _boolean
    if json_type in _NUMBERS:
        return _number
    if field.api_name == "Tag" or data_type == "tag":
        return _tags
    if data_type == "multiselectpicklist":
        return _values
    # A JSON value (an event's participants, a reminder) is written as compact JSON text; the
    # type may be in either key (the metadata calls a reminder ``jsonobject`` with json_type string).
    if data_type == "fileupload":
        return _file_upload
    if "jsonarray" in (json_type, data_type):
        return _json_array
    if "jsonobject" in (json_type, data_type):
        return _json_object
    return _text


class RowReader:
    """Turns one CSV row (a list of cells, in header order) into a REST-shaped record dict."""

    __slots__ = ("_header", "_readers")

    def __init__(self, header: Sequence[str], readers: Sequence[CellReader]) -> None:
        self._header = tuple(header)
        self._readers = tuple(readers)

    @property
    def header(self) -> tuple[str, ...]:
        return self._header

    def __call__(self, row: Sequence[str]) -> dict[str, Any]:
        if len(row) != len(self._header):
            raise ValueError(f"a row has {len(row)} cells, the header names {len(self._header)} columns")
        return {name: read(cell) for name, read, cell in zip(self._header, self._readers, row, strict=True)}


def row_reader(header: Sequence[str], fields: Iterable[FieldInfo]) -> RowReader:
    """A reader for rows under ``header``, typed by the module's field metadata ``fields``.

    The ``id`` column stays the id's text. A header that is empty, or names a column twice,
    is refused (``ValueError``): its rows could not be told apart into fields.
    """
    names = list(header)
    if not names or any(not name for name in names):
        raise ValueError(f"the CSV header {names!r} has an empty column name")
    if len(set(names)) != len(names):
        raise ValueError(f"the CSV header {names!r} names a column twice")
    if "id" not in names:
        raise ValueError(f"the CSV header {names!r} has no id column")
    by_name = {field.api_name: field for field in fields if field.api_name}
    readers = [_text if name == "id" else cell_reader(by_name.get(name)) for name in names]
    return RowReader(names, readers)
