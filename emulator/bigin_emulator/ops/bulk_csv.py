"""Bulk Write files: checking an uploaded zip, applying its CSV as records, writing the result zip.

An upload is a zip holding exactly one CSV (UTF-8, first row the field API names), at most
``MAX_ZIP_BYTES`` zipped, ``MAX_COLUMNS`` columns and ``MAX_RECORDS`` records (Zoho's limits). The
CSV inside may inflate to at most ``MAX_CSV_BYTES``: the emulator's own bound (Zoho documents only
the zipped size), checked against the size the zip declares before anything is inflated; zipfile
never yields more than the declared size (a zip that lies about it fails its CRC check), so a tiny
zip that would inflate to gigabytes is refused without inflating it. A row may be at most
``MAX_ROW_CHARS`` long. The CSV is read as a stream, row by row, both when checked and when applied.

Applying a file goes through the REST writes' own ``RecordWriter``, so a row is validated exactly
as a record sent to ``POST /Contacts`` is (mandatory fields, duplicates, types, lookups): cells are
first turned into the JSON values a REST client would send, by the field's type (``true``/``false``,
numbers, ``;``-joined multi-select values; a lookup from an ``Account_Name.id`` column, or an
``Account_Name`` column holding an id). ``ignore_empty`` leaves a field alone when its cell is
empty; without it an empty cell clears the field. An upsert row without its ``find_by`` value is
inserted; an update row without it is ``MANDATORY_NOT_FOUND``.

The result zip holds one CSV: the mapped columns (API names as mapped, in mapping order), then
``STATUS`` (``ADDED``, ``UPDATED``, ``SKIPPED``), ``RECORD_ID`` and ``ERRORS`` (``CODE-Column``
items joined by ``;``), one row per input row, in input order unless shuffled.
"""

from __future__ import annotations

import csv
import gc
import io
import random
import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bigin_emulator.ops.wire import ApiError, record_error
from bigin_emulator.ops.writes import RecordWriter
from bigin_emulator.state.metadata import FieldSpec, ModuleSpec

__all__ = [
    "MAX_COLUMNS",
    "MAX_CSV_BYTES",
    "MAX_RECORDS",
    "MAX_ROW_CHARS",
    "MAX_ZIP_BYTES",
    "CsvFile",
    "FieldMapping",
    "WriteOutcome",
    "WritePlan",
    "apply_write",
    "check_upload",
    "data_rows",
    "result_zip",
]

MAX_ZIP_BYTES = 25 * 1024 * 1024
MAX_COLUMNS = 200
MAX_RECORDS = 25_000
MAX_CSV_BYTES = 256 * 1024 * 1024
MAX_ROW_CHARS = 8 * 1024 * 1024

RESULT_COLUMNS = ("STATUS", "RECORD_ID", "ERRORS")
_DIGITS = re.compile(r"^\d+$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER_TYPES = frozenset({"double", "currency", "percent"})
_LIST_TYPES = frozenset({"multiselectpicklist", "jsonarray", "tag"})


def _refused(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(400, code, message, details)


@dataclass(frozen=True)
class CsvFile:
    """What an accepted upload holds: the CSV's name in the zip, its header and its record count."""

    name: str
    header: tuple[str, ...]
    records: int


# -- reading an upload ---------------------------------------------------------------------------


def _member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The one CSV of the zip, after the checks that need nothing inflated."""
    entries = archive.infolist()
    if len(entries) != 1:
        raise _refused("INVALID_FILE", f"the zip must hold exactly one CSV file, it holds {len(entries)}")
    entry = entries[0]
    name = entry.filename
    parts = name.replace("\\", "/").split("/")
    if entry.is_dir() or len(parts) != 1 or name.startswith(".") or not name.lower().endswith(".csv"):
        raise _refused("INVALID_FILE", "the zip must hold one .csv file at its top level", file_name=name)
    if entry.flag_bits & 0x1:
        raise _refused("INVALID_FILE", "the CSV inside the zip is encrypted", file_name=name)
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _refused("INVALID_FILE", "the zip must be stored or deflated", file_name=name)
    if entry.file_size > MAX_CSV_BYTES:
        raise _refused(
            "FILE_SIZE_EXCEEDED",
            f"the CSV inflates to {entry.file_size} bytes, more than {MAX_CSV_BYTES}",
            limit=MAX_CSV_BYTES,
        )
    return entry


def _lines(text: io.TextIOBase) -> Iterator[str]:
    while True:
        line = text.readline(MAX_ROW_CHARS)
        if not line:
            return
        if len(line) >= MAX_ROW_CHARS and not line.endswith("\n"):
            raise _refused("INVALID_FILE", f"a row of the CSV is longer than {MAX_ROW_CHARS} characters")
        yield line


def _allow_long_cells() -> None:
    """Let ``csv`` read a cell as long as a row may be: its default limit (128 KiB) is the process's,
    so without this a long cell would be refused or not depending on what ran before."""
    if csv.field_size_limit() < MAX_ROW_CHARS:
        csv.field_size_limit(MAX_ROW_CHARS)


def _rows(data: bytes) -> Generator[list[str], None, None]:
    """Every non-blank row of the upload's CSV (header first), streamed; refusals as ``ApiError``."""
    _allow_long_cells()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise _refused("INVALID_FILE", "the file is not a zip archive") from None
    with archive:
        entry = _member(archive)
        try:
            with archive.open(entry) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
                for row in csv.reader(_lines(text), strict=True):
                    if row:
                        yield row
        except UnicodeDecodeError:
            raise _refused("INVALID_FILE", "the CSV is not UTF-8", file_name=entry.filename) from None
        except csv.Error as error:
            message = f"the CSV cannot be read: {error}"
            raise _refused("INVALID_FILE", message, file_name=entry.filename) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
            raise _refused("INVALID_FILE", "the zip is damaged", file_name=entry.filename) from None


def _check_header(row: list[str]) -> tuple[str, ...]:
    header = tuple(cell.strip() for cell in row)
    if len(header) > MAX_COLUMNS:
        raise _refused(
            "LIMIT_EXCEEDED", f"the CSV has {len(header)} columns, at most {MAX_COLUMNS}", limit=MAX_COLUMNS
        )
    if not all(header):
        raise _refused("INVALID_FILE", "every column of the CSV's first row must name a field")
    if len(set(header)) != len(header):
        duplicate = next(name for name in header if header.count(name) > 1)
        raise _refused("INVALID_FILE", f"the column {duplicate!r} appears twice", api_name=duplicate)
    return header


def check_upload(data: bytes) -> CsvFile:
    """Check an uploaded zip (see the module docstring); ``ApiError`` says why one is refused."""
    if len(data) > MAX_ZIP_BYTES:
        raise _refused(
            "FILE_SIZE_EXCEEDED", f"the zip is larger than {MAX_ZIP_BYTES} bytes", limit=MAX_ZIP_BYTES
        )
    rows = _rows(data)
    try:
        first = next(rows, None)
        if first is None:
            raise _refused("INVALID_FILE", "the CSV is empty: its first row must name the fields")
        header = _check_header(first)
        records = 0
        for number, row in enumerate(rows, 1):
            if number > MAX_RECORDS:
                raise _refused(
                    "LIMIT_EXCEEDED", f"the CSV has more than {MAX_RECORDS} records", limit=MAX_RECORDS
                )
            if len(row) > len(header):
                raise _refused("INVALID_FILE", f"record {number} has more cells than the header", row=number)
            records = number
    finally:
        rows.close()  # a refusal stops reading: the zip is closed now, not when collected
    if records == 0:
        raise _refused("INVALID_FILE", "the CSV holds no records, only its header")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name = archive.infolist()[0].filename
    return CsvFile(name, header, records)


def data_rows(data: bytes) -> Iterator[list[str]]:
    """The records of an accepted upload (the header skipped), streamed."""
    rows = _rows(data)
    next(rows, None)
    return rows


# -- applying it -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldMapping:
    """Column ``index`` of the CSV into ``api_name`` (``Account_Name.id``: a lookup by id)."""

    api_name: str
    index: int
    find_by: str | None = None  # a lookup column's key: "id" or "name"


@dataclass(frozen=True)
class WritePlan:
    """What a Bulk Write job does with its file, as accepted when the job was created."""

    spec: ModuleSpec
    operation: str  # insert | update | upsert
    mappings: tuple[FieldMapping, ...]
    find_by: str | None = None
    ignore_empty: bool = False


@dataclass(frozen=True)
class WriteOutcome:
    """A finished job's result zip and counts."""

    result_zip: bytes
    result_name: str
    added: int
    updated: int
    skipped: int

    @property
    def total(self) -> int:
        return self.added + self.updated + self.skipped


Setter = Callable[[dict[str, Any], str], None]


def _value_of(field_spec: FieldSpec | None, cell: str) -> Any:
    """A cell as the JSON value a REST client would send for the field (strings when unsure)."""
    if field_spec is None:
        return cell
    data_type = field_spec.data_type
    if data_type == "boolean":
        lowered = cell.strip().lower()
        return {"true": True, "false": False}.get(lowered, cell)
    if data_type == "integer" and _INTEGER.match(cell.strip()):
        return int(cell)
    if data_type in _NUMBER_TYPES:
        try:
            number = float(cell)
        except ValueError:
            return cell
        return int(number) if number.is_integer() and "." not in cell and "e" not in cell.lower() else number
    if data_type in _LIST_TYPES:
        return [part for part in cell.split(";") if part]
    return cell


def _setter(spec: ModuleSpec, mapping: FieldMapping) -> tuple[str, Setter]:
    """The record key a column writes and how a cell becomes its value."""
    name, _, suffix = mapping.api_name.partition(".")
    key = suffix or mapping.find_by
    field_spec = spec.by_name.get(name)
    is_lookup = field_spec is not None and (
        field_spec.lookup_module is not None or field_spec.data_type == "ownerlookup"
    )
    if is_lookup and key in ("id", "name"):

        def by_key(record: dict[str, Any], cell: str) -> None:
            record[name] = {key: cell}

        return name, by_key
    if is_lookup:

        def lookup(record: dict[str, Any], cell: str) -> None:
            record[name] = {"id": cell} if _DIGITS.match(cell) else cell

        return name, lookup

    def plain(record: dict[str, Any], cell: str) -> None:
        record[name] = _value_of(field_spec, cell)

    return name, plain


def _records(plan: WritePlan, rows: Iterator[list[str]], echoed: list[list[str]]) -> list[dict[str, Any]]:
    setters = [(m.index, *_setter(plan.spec, m)) for m in plan.mappings]
    ignore_empty = plan.ignore_empty
    records = []
    for row in rows:
        width = len(row)
        echoed.append([row[m.index] if m.index < width else "" for m in plan.mappings])
        record: dict[str, Any] = {}
        for index, name, setter in setters:
            cell = row[index] if index < width else ""
            if cell == "":
                if not ignore_empty:
                    record[name] = None
                continue
            setter(record, cell)
        records.append(record)
    return records


def _entries(writer: RecordWriter, plan: WritePlan, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One write result entry per record, from the REST writes' own writer."""
    spec, find_by = plan.spec, plan.find_by
    if plan.operation == "insert":
        return writer.insert(spec, records)
    assert find_by is not None  # checked when the job was created
    if plan.operation == "upsert":
        # A row without its find_by value matches nothing and is inserted, as Zoho's bulk upsert
        # (and the REST upsert) does.
        return writer.upsert(spec, records, [find_by])
    missing = record_error("MANDATORY_NOT_FOUND", {"api_name": find_by})
    keyed = [i for i, record in enumerate(records) if record.get(find_by) not in (None, "")]
    entries = [missing] * len(records)
    table = writer.ctx.store.table(spec.api_name)
    not_found = record_error("INVALID_DATA", {"api_name": find_by}, "no record has this value")
    for i in keyed:
        value = records[i][find_by]
        record_id = str(value) if find_by == "id" else table.first_equal(find_by, value)
        if record_id is None or table.get(record_id) is None:
            entries[i] = not_found
        else:
            entries[i] = writer.update(spec, [records[i]], "bulk", path_id=record_id)[0]
    return entries


def _status(plan: WritePlan, entry: dict[str, Any]) -> str:
    if entry.get("status") != "success":
        return "SKIPPED"
    if plan.operation == "update" or entry.get("action") == "update":
        return "UPDATED"
    return "ADDED"


def _errors(entry: dict[str, Any]) -> str:
    if entry.get("status") == "success":
        return ""
    details = entry.get("details") or {}
    column = details.get("api_name") if isinstance(details, dict) else None
    return f"{entry['code']}-{column}" if column else str(entry["code"])


def apply_write(
    writer: RecordWriter,
    plan: WritePlan,
    data: bytes,
    name: str,
    *,
    shuffle: random.Random | None = None,
    echo_columns: int | None = None,
    drop_rows: int = 0,
    drop_seed: str = "",
) -> WriteOutcome:
    """Apply an accepted upload to the org as ``plan`` says; the result zip and counts.

    The result is made harder to read when asked (``Realism``): its rows ``shuffle``d, only the
    first ``echo_columns`` mapped columns echoed, ``drop_rows`` rows left out (chosen by
    ``drop_seed``); the counts still say every row.

    Python's cyclic garbage collector is paused while the rows are written: 25,000 records make
    hundreds of thousands of (acyclic) dicts and strings, and each collection they trigger walks
    the whole store, so without the pause a job gets slower the more records the org holds.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        outcome, header, rows = _apply(writer, plan, data)
    finally:
        if paused:
            gc.enable()
    if echo_columns is not None:
        header = header[:echo_columns]
        rows = [[*row[: min(echo_columns, len(row) - 3)], *row[-3:]] for row in rows]
    if drop_rows:
        dropped = set(random.Random(f"drop {drop_seed}").sample(range(len(rows)), min(drop_rows, len(rows))))
        rows = [row for number, row in enumerate(rows) if number not in dropped]
    if shuffle is not None:
        shuffle.shuffle(rows)
    return WriteOutcome(result_zip(name, header, rows), name, *outcome)


def _apply(
    writer: RecordWriter, plan: WritePlan, data: bytes
) -> tuple[tuple[int, int, int], list[str], list[list[str]]]:
    """Apply the file: the counts (added, updated, skipped), the echoed header and the result rows."""
    echoed: list[list[str]] = []
    records = _records(plan, data_rows(data), echoed)
    entries = _entries(writer, plan, records)
    writer.ctx.announce(plan.spec.api_name, plan.operation, records, entries)
    counts = {"ADDED": 0, "UPDATED": 0, "SKIPPED": 0}
    result_rows = []
    for cells, entry in zip(echoed, entries, strict=True):
        status = _status(plan, entry)
        counts[status] += 1
        record_id = entry.get("details", {}).get("id", "") if status != "SKIPPED" else ""
        result_rows.append([*cells, status, record_id, _errors(entry)])
    header = [m.api_name for m in plan.mappings]
    return (counts["ADDED"], counts["UPDATED"], counts["SKIPPED"]), header, result_rows


def result_zip(name: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """A zip holding one CSV ``name``: ``header`` + the result columns, then ``rows``."""
    text = io.StringIO()
    # CRLF, as the Bulk Read CSVs: with a bare "\n" a cell holding a lone "\r" goes unquoted and
    # splits its row for any CSV reader.
    out = csv.writer(text, lineterminator="\r\n")
    out.writerow([*header, *RESULT_COLUMNS])
    out.writerows(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(name, text.getvalue().encode("utf-8"))
    return buffer.getvalue()
