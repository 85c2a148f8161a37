"""Reading import files (CSV or JSON lines) one row at a time, with column mapping and typing.

A file of a million rows is never held in memory: rows are read as the bulk engine asks for them.
A row that cannot become a record (a malformed JSON line, a CSV row with more cells than the
header) is not skipped silently: it becomes a :class:`BadRow`, which the engine refuses on its
own and the results file reports with the reason, in its place in the input order.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from bigin_async._inputs import FIELD_NAME
from bigin_async.cli.common import UsageError
from bigin_async.models import FieldInfo

__all__ = [
    "DELIMITER_NAMES",
    "BadRow",
    "ColumnMap",
    "FieldTypes",
    "Format",
    "Row",
    "count_rows",
    "detect_format",
    "jsonl_keys",
    "parse_delimiter",
    "read_csv_header",
    "read_rows",
    "sniff_delimiter",
]

Format = Literal["csv", "jsonl"]
# Excel writes a byte-order mark; utf-8-sig reads files with or without one.
ENCODING = "utf-8-sig"
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})
# The separators spreadsheets write, by the name people use for them (Excel in many European
# locales saves "CSV" with semicolons, since the comma is their decimal mark).
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_DELIMITER_WORDS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read as a record; ``reason`` says why."""

    reason: str


@dataclass(frozen=True)
class Row:
    """One input row: the line it starts on (1-based, as an editor shows it) and its record."""

    line: int
    record: dict[str, Any] | BadRow


def parse_delimiter(text: str | None) -> str | None:
    """``--delimiter``: one character, or ``tab``/``\\t``/``semicolon``/``comma``/``pipe``; None when
    not given (the file's own is then sniffed from its header, see :func:`sniff_delimiter`)."""
    if text is None:
        return None
    value = _DELIMITER_WORDS.get(text.casefold(), text)
    if len(value) != 1 or value in '"\r\n' or value.isalnum():
        raise UsageError(f"--delimiter expects one character (or tab, semicolon, comma, pipe), got {text!r}")
    return value


def _delimiter_hint(delimiter: str) -> str:
    return "--delimiter tab" if delimiter == "\t" else f"--delimiter '{delimiter}'"


_QUOTED = re.compile(r'"[^"]*"')


def sniff_delimiter(path: Path) -> str:
    """The separator of a CSV file without ``--delimiter``: comma, semicolon, tab or pipe, read off
    its header line (``csv.Sniffer`` restricted to those four).

    Excel saves "CSV" with semicolons where the comma is the decimal mark, and exports from other
    tools use tabs or pipes: each is taken as it is. A header with none of them is one column. A
    header holding two of them outside quotes (``Last_Name;Email,Phone``) could be either: field
    names never hold a separator, so that file is refused, naming ``--delimiter``.
    """
    with _reading(path), path.open(newline="", encoding=ENCODING) as handle:
        line = ""
        for text in handle:
            if not line and not text.strip():
                continue  # blank lines above the header
            line += text
            if line.count('"') % 2 == 0:  # a quoted name may hold a line break: read to its end
                break
    line = line.rstrip("\r\n")
    bare = _QUOTED.sub("", line)
    present = [d for d in DELIMITER_NAMES if d in bare]
    if not present:
        return ","
    try:
        sniffed: str | None = csv.Sniffer().sniff(line, delimiters="".join(DELIMITER_NAMES)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed is None or present != [sniffed]:
        names = " and ".join(f"{DELIMITER_NAMES[d]}s" for d in present)
        raise UsageError(
            f"{path.name}: cannot tell its separator (its header {line!r} holds {names}); "
            f"pass --delimiter, e.g. {_delimiter_hint(present[0])}"
        )
    return sniffed


def detect_format(path: Path, explicit: str | None) -> Format:
    if explicit in ("csv", "jsonl"):
        return explicit  # type: ignore[return-value]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise UsageError(f"cannot tell the format of {path.name}: name it .csv or .jsonl, or pass --format")


@dataclass
class ColumnMap:
    """``--map CSV_COL=Field``: rename a column; ``Field.id`` writes a lookup ``{"id": value}``;
    ``CSV_COL=`` (nothing after ``=``) leaves the column out. Unmapped columns keep their names."""

    targets: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, items: Sequence[str] | None) -> ColumnMap:
        targets: dict[str, str | None] = {}
        for item in items or ():
            source, sep, target = item.partition("=")
            source, target = source.strip(), target.strip()
            if not sep or not source:
                raise UsageError(f"--map expects SOURCE_COLUMN=Field_API_Name, got {item!r}")
            if target and (not FIELD_NAME.match(target) or target.count(".") > 1):
                raise UsageError(f"--map {item!r}: {target!r} is not a field API name (or Field.id)")
            if source in targets:
                raise UsageError(f"--map names the column {source!r} twice")
            targets[source] = target or None
        return cls(targets)

    def check_columns(self, columns: Sequence[str], path: Path) -> None:
        """Refuse a mapping of a column the file does not have (a typo would drop data silently)."""
        missing = [name for name in self.targets if name not in columns]
        if missing:
            raise UsageError(
                f"--map names column(s) {', '.join(map(repr, missing))} that {path.name} does not have; "
                f"its columns are: {', '.join(columns)}"
            )

    def apply(self, row: Mapping[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name, value in row.items():
            target = self.targets.get(name, name)
            if target is None:
                continue
            base, dot, sub = target.partition(".")
            if dot:
                nested = record.get(base)
                if not isinstance(nested, dict):
                    nested = record[base] = {}
                nested[sub] = value
            else:
                record[target] = value
        return record


class FieldTypes:
    """Turns CSV text into the types the module's fields take (numbers, booleans, lookups, lists).

    CSV has only text, and Bigin refuses ``"25000"`` for a currency field. The module's field
    metadata (one call) says what each field wants. A cell that does not convert is sent as
    written: the server then refuses that one record, and the results file says which and why.
    """

    def __init__(self, fields: Sequence[FieldInfo] = ()) -> None:
        self.types = {f.api_name: f.data_type or "" for f in fields if f.api_name}
        self.lengths = {f.api_name: f.length for f in fields if f.api_name and f.length}

    def problems(self, record: Mapping[str, Any]) -> list[str]:
        """Why Bigin would refuse ``record`` (already converted) for a value's type or length, one
        reason per field: what ``bigin import --dry-run`` reports without sending it. A value of a
        field the metadata does not list is left to the server."""
        found: list[str] = []
        for name, value in record.items():
            data_type = self.types.get(name)
            if data_type is None or value is None:
                continue
            if name == "Tag" and not isinstance(value, list):
                # Bigin takes tags as a list (a CSV cell is split on ; or , into one; a JSON line
                # gives the list itself): a string is refused (INVALID_DATA, a JSON array expected).
                found.append(f"Tag: {value!r} is not a list of tags")
                continue
            expected = _expected_type(data_type, value)
            if expected:
                found.append(f"{name}: {value!r} is not {expected}")
                continue
            limit = self.lengths.get(name)
            if limit and data_type in _TEXT_TYPES and isinstance(value, str) and len(value) > limit:
                found.append(f"{name}: {len(value):,} characters, over its {limit:,}")
        return found

    def convert(self, record: dict[str, Any]) -> dict[str, Any]:
        for name, value in record.items():
            if isinstance(value, str):
                record[name] = self._convert(name, value)
        return record

    def _convert(self, name: str, text: str) -> Any:
        data_type = self.types.get(name)
        if name == "Tag":
            return [tag.strip() for tag in re.split(r"[;,]", text) if tag.strip()]
        if data_type in ("integer", "long") and _INTEGER.match(text):
            return int(text)
        if data_type in ("double", "currency", "percent", "decimal") and _NUMBER.match(text):
            number = float(text)
            return (
                int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
            )
        if data_type == "boolean" and text.casefold() in _TRUE | _FALSE:
            return text.casefold() in _TRUE
        if data_type == "multiselectpicklist":
            return [part.strip() for part in text.split(";") if part.strip()]
        if data_type in ("lookup", "ownerlookup") and text.isdigit():
            return {"id": text}
        return text


_TEXT_TYPES = frozenset({"text", "textarea", "phone", "website", "email", "picklist"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _expected_type(data_type: str, value: Any) -> str | None:
    """What a field of ``data_type`` takes, when ``value`` is not that (None: it fits)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if data_type in ("integer", "long"):
        return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number"
    if data_type == "bigint":
        fits = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.isdigit()
        )
        return None if fits else "a whole number"
    if data_type in ("double", "currency", "percent", "decimal"):
        return None if number else "a number"
    if data_type == "boolean":
        return None if isinstance(value, bool) else "true or false"
    if data_type == "email":
        return None if isinstance(value, str) and _EMAIL.match(value) else "an email address"
    if data_type == "date":
        return None if isinstance(value, str) and _valid_date(value) else "a date (YYYY-MM-DD)"
    if data_type == "datetime":
        return None if isinstance(value, str) and _valid_datetime(value) else "a date-time with its offset"
    if data_type == "multiselectpicklist":
        return None if isinstance(value, list) else "a list of values"
    return None


def _valid_date(text: str) -> bool:
    try:
        return bool(_DATE.match(text)) and bool(date.fromisoformat(text))
    except ValueError:
        return False


def _valid_datetime(text: str) -> bool:
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return False
    return moment.tzinfo is not None


def read_rows(
    path: Path, fmt: Format, mapping: ColumnMap, types: FieldTypes | None = None, *, delimiter: str = ","
) -> Generator[Row, None, None]:
    """The rows of ``path`` as records, lazily (the file stays open while the iterator lives)."""
    if fmt == "csv":
        return _read_csv(path, mapping, types or FieldTypes(), delimiter)
    return _read_jsonl(path, mapping)


def _first_row(reader: Iterator[list[str]]) -> list[str]:
    """The header: the first row that is not blank (blank lines above it are no rows)."""
    return next((cells for cells in reader if cells and any(cell.strip() for cell in cells)), [])


def read_csv_header(
    path: Path, mapping: ColumnMap, *, delimiter: str = ",", sniffed: bool = False
) -> list[str]:
    """The header row, checked (named, no duplicates, every mapped column present, split on the
    file's own separator) before any record is sent: a wrong header would otherwise fail every
    row, one call at a time, or drop columns without a word. A ``sniffed`` separator was read off
    this header already (outside quotes), so only a given one (``--delimiter``) is checked
    against it."""
    with _reading(path), path.open(newline="", encoding=ENCODING) as handle:
        header = _first_row(csv.reader(handle, delimiter=delimiter))
    if not header:
        raise UsageError(f"{path.name} is empty: a CSV import needs a header row of field names")
    if not sniffed:
        _check_delimiter([name for name in header if name.strip() not in mapping.targets], delimiter, path)
    columns = _check_header(header, path)
    mapping.check_columns(columns, path)
    return columns


def _check_delimiter(header: list[str], delimiter: str, path: Path) -> None:
    """A header split on the wrong separator reads as one column named ``Last_Name;Email``; field
    names never hold a separator, so a separator inside the column names tells which one it is.
    ``header`` leaves out the columns ``--map`` names: their names are the user's own."""
    if not header:
        return
    text = "".join(header)
    counts = {other: text.count(other) for other in DELIMITER_NAMES if other != delimiter}
    other, found = max(counts.items(), key=lambda item: item[1])
    if found and found >= len(header) - 1:
        raise UsageError(
            f"{path.name} looks {DELIMITER_NAMES[other]}-separated "
            f"(its header reads {delimiter.join(header)!r}); pass {_delimiter_hint(other)}"
        )


def _check_header(header: list[str], path: Path) -> list[str]:
    header = [name.strip() for name in header]
    blank = [str(i + 1) for i, name in enumerate(header) if not name]
    if blank:
        raise UsageError(f"{path.name}: header column(s) {', '.join(blank)} have no name")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise UsageError(f"{path.name}: the header names the column {name!r} twice")
        seen.add(name)
    return header


def _read_csv(
    path: Path, mapping: ColumnMap, types: FieldTypes, delimiter: str
) -> Generator[Row, None, None]:
    with path.open(newline="", encoding=ENCODING) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = [name.strip() for name in _first_row(reader)]  # checked by read_csv_header first
        width = len(header)
        line = reader.line_num + 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not cells or all(not cell.strip() for cell in cells):
                continue  # a blank line is no record
            if len(cells) > width:
                extra = len(cells) - width
                yield Row(start, BadRow(f"the row has {extra} more cell(s) than the header has columns"))
                continue
            # Empty cells mean "no value": they are left out rather than sent as "".
            present = {name: cell.strip() for name, cell in zip(header, cells, strict=False) if cell.strip()}
            yield Row(start, types.convert(mapping.apply(present)))


def _read_jsonl(path: Path, mapping: ColumnMap) -> Generator[Row, None, None]:
    with path.open(encoding=ENCODING) as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except ValueError as error:
                yield Row(number, BadRow(f"not valid JSON: {error}"))
                continue
            if not isinstance(value, dict):
                yield Row(number, BadRow(f"a line must hold a JSON object, not {type(value).__name__}"))
                continue
            yield Row(number, mapping.apply(value))


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A whole-file pass: what would break the import half way (bytes that are not UTF-8, a NUL in
    a CSV) is found here, before anything is sent."""
    try:
        yield
    except UnicodeDecodeError as error:
        raise UsageError(f"{path.name} is not UTF-8 text ({error}); save it as UTF-8 and try again") from None
    except csv.Error as error:
        raise UsageError(f"{path.name} is not a readable CSV file: {error}") from None


def count_rows(path: Path, fmt: Format, *, delimiter: str = ",") -> int:
    """How many records ``path`` holds (for the bar's total and ETA): one quick pass."""
    with _reading(path), path.open(newline="" if fmt == "csv" else None, encoding=ENCODING) as handle:
        if fmt == "csv":
            rows = sum(
                1
                for cells in csv.reader(handle, delimiter=delimiter)
                if cells and any(c.strip() for c in cells)
            )
            return max(0, rows - 1)
        return sum(1 for text in handle if text.strip())


def jsonl_keys(path: Path) -> list[str]:
    """Every key of every object in a JSON-lines file, in first-seen order: its "columns", checked
    against the module's fields like a CSV header (lines that are not objects are skipped here;
    they fail alone when read)."""
    keys: dict[str, None] = {}
    with _reading(path), path.open(encoding=ENCODING) as handle:
        for text in handle:
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, dict):
                keys.update(dict.fromkeys(value))
    return list(keys)
