"""Bulk Read's work on the store: the query checked, the page of matching records, the zipped CSV.

A read job's ``query`` (module, fields, JSON criteria, page) is checked when the job is created
(``parse_read_query``), so a bad one is a 400 at once, as on Zoho. When the job completes its page
is taken (``select_page``): the matching records sorted by id, page ``n`` holding matches
``(n-1)*size .. n*size-1``. Records are never mutated in place (a write replaces the dict), so the
page keeps exactly the records as they were at that moment, whatever is written afterwards, for
the price of a list of references. The zip (``write_result_zip``) is written from the page in
batches of rows into any binary file (a temporary file, a ``BytesIO``): the CSV is never one
string in memory.

CSV values as Zoho writes them: ids as digits, lookups (``Owner``, ``Account_Name``,
``Contact_Name``, ``What_Id``...) as the linked record's id, dates ``YYYY-MM-DD`` and datetimes ISO
8601 with their offset (as stored), booleans ``true``/``false``, numbers plain (never an
exponent), multi-select picklists and tags joined by ``;``, other JSON values (an event's
participants, a reminder) as compact JSON, anything empty as an empty cell.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import IO, Any

from bigin_emulator.ops.json_criteria import Predicate, json_criteria_predicate
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.state.metadata import MODULES, FieldSpec, ModuleSpec
from bigin_emulator.state.store import Record, Store

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "READ_MODULES",
    "ExportPage",
    "ReadQuery",
    "csv_value",
    "parse_read_query",
    "select_page",
    "write_csv_zip",
    "write_result_zip",
]

# The modules a Bulk Read takes (Zoho's list: deals, contacts, accounts, products, calls, events, tasks).
READ_MODULES: tuple[str, ...] = ("Contacts", "Accounts", "Pipelines", "Products", "Calls", "Events", "Tasks")
DEFAULT_PAGE_SIZE = 200_000  # records a page holds on Zoho (a CSV page; 20,000 for ICS, not emulated)
_ROWS_PER_BATCH = 2_000  # rows formatted and handed to the CSV writer at a time
_ZIP_LEVEL = 1  # deflate's fastest level: a 200,000-row page zips in well under a second


@dataclass(frozen=True)
class ReadQuery:
    """A checked ``query``: the module, the asked fields (None: all of them), the filter, the page."""

    spec: ModuleSpec
    fields: tuple[str, ...] | None
    predicate: Predicate | None
    page: int


@dataclass(frozen=True)
class ExportPage:
    """One page of a read job's result: the CSV's columns after ``id`` and the records, by id."""

    spec: ModuleSpec
    columns: tuple[str, ...]
    records: Sequence[Record]
    page: int
    per_page: int
    more_records: bool

    @property
    def count(self) -> int:
        return len(self.records)


def _invalid(message: str, param: str, **details: Any) -> ApiError:
    return ApiError(400, "INVALID_DATA", message, {"param": param, **details})


def _module(raw: Any) -> ModuleSpec:
    """``"Contacts"`` or ``{"api_name": "Contacts"}``, a module Bulk Read takes."""
    name = raw.get("api_name") if isinstance(raw, Mapping) else raw
    if name is None:
        raise ApiError(400, "REQUIRED_PARAM_MISSING", "query.module is missing", {"param": "query.module"})
    if not isinstance(name, str) or name not in MODULES:
        raise ApiError(400, "INVALID_MODULE", details={"param": "query.module"})
    if name not in READ_MODULES:
        raise ApiError(
            400,
            "NOT_SUPPORTED",
            f"Bulk Read does not take the {name} module; it takes {', '.join(READ_MODULES)}",
            {"param": "query.module", "api_name": name},
        )
    return MODULES[name]


def _known(spec: ModuleSpec, custom: Mapping[str, None], name: str) -> bool:
    return name == "id" or name in spec.by_name or name in spec.aliases or name in custom


def _fields(spec: ModuleSpec, custom: Mapping[str, None], raw: Any) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise _invalid("query.fields must be a list of field API names", "query.fields")
    for name in raw:
        if not _known(spec, custom, name):
            raise _invalid(
                f"the field {name!r} is not a field of {spec.api_name}", "query.fields", api_name=name
            )
    if not raw:
        return None  # no fields asked: all of them
    return tuple(dict.fromkeys(name for name in raw if name != "id"))


def _page(raw: Any) -> int:
    if raw is None:
        return 1
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise _invalid(f"query.page must be a whole number from 1, got {raw!r}", "query.page")
    return raw


def parse_read_query(raw: Any, store: Store) -> ReadQuery:
    """Check a create-job body's ``query`` as Zoho does; ``ApiError`` (a 400) says what is wrong."""
    if not isinstance(raw, Mapping):
        raise ApiError(400, "REQUIRED_PARAM_MISSING", "the query object is missing", {"param": "query"})
    spec = _module(raw.get("module"))
    if raw.get("cvid") is not None:
        raise ApiError(
            400, "NOT_SUPPORTED", "the emulated org has no custom views to read by", {"param": "query.cvid"}
        )
    file_type = raw.get("file_type", "csv")
    if file_type != "csv":
        raise ApiError(
            400, "NOT_SUPPORTED", "the emulator writes Bulk Read results as CSV only", {"param": "file_type"}
        )
    custom = store.table(spec.api_name).custom_fields
    fields = _fields(spec, custom, raw.get("fields"))
    criteria = raw.get("criteria")
    predicate = json_criteria_predicate(spec, custom, criteria) if criteria is not None else None
    return ReadQuery(spec, fields, predicate, _page(raw.get("page")))


def _all_columns(spec: ModuleSpec, custom: Mapping[str, None]) -> tuple[str, ...]:
    """No fields asked: every field of the module, then those the org added, in first-seen order."""
    names = [name for name in spec.field_names if name != "id"]
    names += [name for name in custom if name not in spec.aliases and name not in spec.by_name]
    return tuple(names)


def select_page(query: ReadQuery, store: Store, page_size: int = DEFAULT_PAGE_SIZE) -> ExportPage:
    """The records of the query's page, as they are now, sorted by id.

    Matches are scanned in id order and the scan stops one record past the page, which is all it
    takes to know ``more_records``.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    table = store.table(query.spec.api_name)
    ordered: Iterator[Record] = iter(table)
    if not _in_id_order(table.records):
        ordered = iter(sorted(table, key=lambda record: (len(record["id"]), record["id"])))
    if query.predicate is not None:
        ordered = filter(query.predicate, ordered)
    start = (query.page - 1) * page_size
    taken = list(islice(ordered, start, start + page_size + 1))
    more = len(taken) > page_size
    columns = query.fields if query.fields is not None else _all_columns(query.spec, table.custom_fields)
    return ExportPage(query.spec, columns, taken[:page_size], query.page, page_size, more)


def _in_id_order(records: Mapping[str, Record]) -> bool:
    """Whether insertion order is id order (always, unless a state import added records out of it)."""
    previous = (0, "")
    for record_id in records:
        key = (len(record_id), record_id)
        if key < previous:
            return False
        previous = key
    return True


# -- values --------------------------------------------------------------------------------------


def _number(value: int | float) -> str:
    text = repr(value)
    if "e" in text or "E" in text:  # 1e+16, 1e-07: written out in full
        text = format(Decimal(text), "f")
    return text


def _item(value: Any) -> str:
    if type(value) is dict:
        name = value.get("name", value.get("id"))
        return "" if name is None else str(name)
    return csv_value(value)


def _mapping(value: dict[str, Any]) -> str:
    linked = value.get("id")
    return str(linked) if linked is not None else _json(value)


_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: str,
    type(None): lambda _: "",
    bool: lambda value: "true" if value else "false",
    int: _number,
    float: _number,
    dict: _mapping,
    list: lambda value: ";".join(_item(item) for item in value),
}


def csv_value(value: Any) -> str:
    """One value as Bulk Read's CSV writes it (see the module docstring)."""
    return _BY_TYPE.get(type(value), str)(value)


def _json(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_JSON_TYPES = frozenset({"jsonarray", "jsonobject"})
# Types the store keeps as text (``ops.validation`` stores them so): their cells go to the CSV as they are.
_TEXT_TYPES = frozenset(
    {
        "text",
        "textarea",
        "phone",
        "website",
        "profileimage",
        "picklist",
        "email",
        "bigint",
        "date",
        "datetime",
    }
)


def _lookup_or_value(value: Any) -> Any:
    if type(value) is dict:
        return value.get("id")  # None: an empty cell
    return csv_value(value)


def _cell_formatter(field: FieldSpec | None) -> Callable[[Any], Any] | None:
    """How a column's stored values become cells; None when they are text already (most columns)."""
    if field is None:
        return csv_value  # a field the org added: any type
    if field.data_type in _TEXT_TYPES:
        return None
    if field.data_type in _JSON_TYPES:
        return _json
    if field.lookup_module is not None or field.data_type == "ownerlookup":
        return _lookup_or_value  # a link: the linked record's id, nothing else
    return csv_value


def _rows(page: ExportPage) -> Iterator[list[Any]]:
    """The CSV rows: ``id`` then the columns; only the cells that are not text already are formatted."""
    spec = page.spec
    names = [spec.aliases.get(column, column) for column in page.columns]
    fixes = [
        (index, formatter)
        for index, name in enumerate(names, start=1)
        if (formatter := _cell_formatter(spec.by_name.get(name))) is not None
    ]
    for record in page.records:
        row = [record["id"], *map(record.get, names)]
        for index, formatter in fixes:
            value = row[index]
            if value is not None:
                row[index] = formatter(value)
        yield row


def write_csv_zip(
    target: IO[bytes], csv_name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write a zip holding one UTF-8 CSV, ``csv_name`` (``header`` then ``rows``), into ``target``.

    Rows are encoded and compressed a batch at a time, so memory holds one batch of text and the
    compressed bytes written so far (none of them when ``target`` is a file): a 200,000-record
    page is never one string. ``None`` cells are empty.
    """
    buffer = io.StringIO()
    # Rows end in CRLF (RFC 4180): the csv module quotes a cell holding any character of the line
    # end, so a lone carriage return in a note is quoted too (with "\n" alone it was not, and every
    # reader split the row there).
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    batches = iter(rows)
    with (
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_ZIP_LEVEL) as archive,
        archive.open(csv_name, "w", force_zip64=True) as entry,
    ):
        while True:
            writer.writerows(islice(batches, _ROWS_PER_BATCH))
            text = buffer.getvalue()
            if not text:
                break
            entry.write(text.encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()


def write_result_zip(target: IO[bytes], csv_name: str, page: ExportPage) -> None:
    """The page's result zip: ``csv_name`` with ``id`` and the columns, one row per record."""
    write_csv_zip(target, csv_name, ["id", *page.columns], _rows(page))
