"""Records into Bulk Write parts: zipped CSVs of at most 25,000 records, 25 MB and 200 columns, on disk.

A Bulk Write job takes one zip holding one CSV, its first row the fields' API names. Records
arrive one at a time from any stream, so a part is written as they come: each record's row goes
to a spool file at once (memory holds two numbers a row, never the rows), and when the part is
full the zip is written from the spool. The columns are the union of the fields the part's
records carry, in the order they first appear; a row written before a later record added a
column is padded with empty cells (with ``ignore_empty`` an empty cell changes nothing).

The zipped size is bounded while the part fills: every row is also fed to a deflate stream, so
the part closes before its zip could pass the limit; the zip written is checked again, and one
that still passes it (a compressor that did worse than the estimate) is split in two before
anything is uploaded.

Values go into the CSV as Bigin imports them: text as it is, ``true``/``false``, plain numbers,
multi-select values joined by ``;``, a lookup (``{"id": ...}``) as the linked record's id under
an ``Account_Name.id``-style header. Text is never altered: a value that looks like a spreadsheet
formula (``=HYPERLINK(...)``, ``+1``, ``@x``) is imported by Bigin as the text it is, and
prefixing it with a quote to protect spreadsheets would store the quote in Bigin. These CSVs are
for Bigin, not for a spreadsheet: open them in one with care.

The CSV's fingerprint (sha256 of its bytes) is kept with the part: the same input gives the same
parts, byte for byte, so a resumed run can tell whether it was given the input of the run it
resumes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
import zlib
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bigin_async.errors import ValidationError
from bigin_async.models.jobs import MAX_UPLOAD_BYTES, WRITE_JOB_MAX_RECORDS

__all__ = [
    "MAX_COLUMNS",
    "LOOKUP_SUFFIX",
    "Part",
    "PartWriter",
    "record_cells",
]

# Zoho's limit on a Bulk Write CSV's columns.
MAX_COLUMNS = 200
# The header of a lookup column: ``Account_Name.id`` holds the linked account's id.
LOOKUP_SUFFIX = ".id"
# Room kept below the zip limit for what the estimate does not see: the zip's own headers, the
# header row, and rows padded with empty cells after a later record added a column.
_ZIP_MARGIN = 512 * 1024
# Rows are fed to the deflate stream, and it is flushed (its output size exact), every this many
# bytes; the rows not fed yet are counted at their full size (deflate expands nothing by more
# than a few bytes a block).
_FLUSH_EVERY = 256 * 1024
_WRITE_CHUNK = 1024 * 1024  # bytes handed to the zip at a time
_COMPRESSION_LEVEL = 6  # zipfile's default level for ZIP_DEFLATED
# A fixed timestamp inside the zip: the same part gives the same zip in every run.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_MULTI_SEPARATOR = ";"


def _number(value: float) -> str:
    """A float as plain digits (``1e-07`` would be read as text by an importer)."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _scalar(name: str, value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return _number(value)
    raise ValueError(f"field {name}: a {kind.__name__} cannot go into a Bulk Write CSV cell")


def record_cells(wire: Mapping[str, Any]) -> dict[str, str]:
    """One record's wire form as CSV cells by column header; ``ValueError`` for what a CSV cannot carry.

    ``None`` leaves the cell empty (with ``ignore_empty``, the field is left as it is); a lookup
    needs its ``id`` (Bulk Write links by id); a multi-select list needs values without ``;``;
    subforms and other lists of objects cannot be imported through a job.
    """
    cells: dict[str, str] = {}
    for name, value in wire.items():
        kind = type(value)
        if kind is str:
            cells[name] = value
        elif value is None:
            continue
        elif isinstance(value, Mapping):
            linked = value.get("id")
            if linked is None or linked == "":
                raise ValueError(
                    f"field {name}: a lookup in a Bulk Write job needs the linked record's id, got {value!r}"
                )
            cells[name + LOOKUP_SUFFIX] = _scalar(name, linked)
        elif isinstance(value, (list, tuple)):
            items = [_scalar(name, item) for item in value]
            if any(_MULTI_SEPARATOR in item for item in items):
                raise ValueError(
                    f"field {name}: a multi-select value holding {_MULTI_SEPARATOR!r} cannot be told apart "
                    "from two values in a Bulk Write CSV"
                )
            cells[name] = _MULTI_SEPARATOR.join(items)
        else:
            cells[name] = _scalar(name, value)
    return cells


@dataclass
class Part:
    """One written part: its zip on disk, the fingerprint of its CSV, and where its rows came from."""

    number: int
    zip_path: Path
    csv_name: str
    columns: list[str]
    sha256: str
    zip_size: int
    #: The input position of each row, in row order.
    indexes: list[int] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.indexes)

    @property
    def first(self) -> int:
        return self.indexes[0]

    @property
    def last(self) -> int:
        return self.indexes[-1]


class _RowEncoder:
    """One row as CSV bytes (UTF-8, quoted where Zoho's CSV reader needs it)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def encode(self, cells: Sequence[str]) -> bytes:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(cells)
        try:
            return self._buffer.getvalue().encode("utf-8")
        except UnicodeEncodeError as error:  # a lone surrogate: not text UTF-8 can carry
            raise ValueError(f"a value is not valid text ({error.reason})") from None


class PartWriter:
    """Fills one part record by record; :meth:`add` says when the part is full, :meth:`finish` zips it.

    Parts are numbered from 1 by the caller; a part that has to be split when finished takes the
    next numbers too (:meth:`finish` returns every part it wrote).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        number: int,
        *,
        max_records: int = WRITE_JOB_MAX_RECORDS,
        max_zip_bytes: int = MAX_UPLOAD_BYTES,
        max_columns: int = MAX_COLUMNS,
    ) -> None:
        self.directory = Path(directory)
        self.number = number
        self.max_records = max_records
        self.max_zip_bytes = max_zip_bytes
        self.max_columns = max_columns
        self.columns: dict[str, int] = {}
        self.indexes: list[int] = []
        self._lengths = array("q")  # bytes of each spooled row
        self._widths = array("h")  # columns each spooled row was written with
        self._encoder = _RowEncoder()
        self._deflate = zlib.compressobj(_COMPRESSION_LEVEL, zlib.DEFLATED, -15)
        self._compressed = 0  # deflate output of the rows fed so far
        self._unfed = bytearray()  # rows not fed to the deflate stream yet
        self._spool_path = self.directory / f"part-{number:05d}.spool"
        self._spool: io.BufferedWriter | None = None

    def __len__(self) -> int:
        return len(self.indexes)

    def _budget(self) -> int:
        return self.max_zip_bytes - min(_ZIP_MARGIN, self.max_zip_bytes // 4)

    def add(self, index: int, cells: Mapping[str, str]) -> bool:
        """Add one record's cells; False (nothing added) when the part is full and it goes in the next.

        ``ValidationError`` when the record could not go in any part: more columns than a job
        takes, or cells that alone would zip to more than the limit.
        """
        if not any(cells.values()):
            raise ValidationError("a record with no value in any field: nothing to import")
        if len(self.indexes) >= self.max_records:
            return False
        columns = self.columns
        new = [] if cells.keys() <= columns.keys() else [name for name in cells if name not in columns]
        if new and len(new) + len(columns) > self.max_columns:
            if self.indexes and len(cells) <= self.max_columns:
                return False  # the next part may take it (no part takes more than max_columns cells)
            # Too many cells, or too many with the columns every part starts with (an upsert's
            # find_by, which a keyless record does not carry): no part can take it.
            shared = ", ".join(columns) if not self.indexes else ""
            also = f" and the {shared} column every part has" if shared else ""
            raise ValidationError(
                f"a record with {len(cells)} columns{also}: a Bulk Write CSV takes at most {self.max_columns}"
            )
        for name in new:
            columns[name] = len(columns)
        row = [""] * len(columns)
        for name, cell in cells.items():
            row[columns[name]] = cell
        while not row[-1]:  # trailing empty cells are padded when the zip is written (one cell has a value)
            row.pop()
        try:
            data = self._encoder.encode(row)
        except ValueError:
            self._forget(new)
            raise
        # An upper bound of the zip if this row joins: the deflate output of the rows fed so far,
        # plus the rows not fed yet and this one, as if they did not compress at all.
        bound = self._compressed + len(self._unfed) + len(data) + 64
        if bound > self._budget():
            self._forget(new)
            if not self.indexes:
                raise ValidationError(
                    f"a record whose cells take {len(data):,} bytes: a Bulk Write zip takes at most "
                    f"{self.max_zip_bytes:,}"
                )
            return False
        if self._spool is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._spool = self._spool_path.open("wb")
        self._spool.write(data)
        self._lengths.append(len(data))
        self._widths.append(len(row))
        self.indexes.append(index)
        self._unfed += data
        if len(self._unfed) >= _FLUSH_EVERY:
            self._feed()
        return True

    def _feed(self) -> None:
        """Deflate the rows not fed yet; the output size so far is then exact."""
        self._compressed += len(self._deflate.compress(self._unfed))
        self._compressed += len(self._deflate.flush(zlib.Z_SYNC_FLUSH))
        self._unfed.clear()

    def _forget(self, new: list[str]) -> None:
        for name in new:
            del self.columns[name]

    def finish(self) -> list[Part]:
        """Write the zip (or zips, if it had to be split); the spool is removed. Empty: no part."""
        if self._spool is None:
            return []
        self._spool.close()
        self._spool = None
        try:
            rows = list(range(len(self.indexes)))
            return self._write(rows, self.number)
        finally:
            self._spool_path.unlink(missing_ok=True)

    def _write(self, rows: list[int], number: int) -> list[Part]:
        """Zip ``rows`` (positions in the spool) as part ``number``; split in two if the zip is too big."""
        width = max(self._widths[row] for row in rows)
        columns = list(self.columns)[:width]
        name = f"part-{number:05d}.csv"
        path = self.directory / f"part-{number:05d}.zip"
        digest = hashlib.sha256()
        offsets = self._offsets()
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        with (
            path.open("wb") as raw,
            zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSION_LEVEL) as archive,
            archive.open(info, "w", force_zip64=False) as member,
            self._spool_path.open("rb") as spool,
        ):
            chunk = bytearray(self._encoder.encode(columns))
            position = -1
            for row in rows:
                if offsets[row] != position:  # rows of a split part are not all consecutive
                    spool.seek(offsets[row])
                data = spool.read(self._lengths[row])
                position = offsets[row] + self._lengths[row]
                missing = width - self._widths[row]
                if missing:
                    data = data[:-2] + b"," * missing + b"\r\n"
                chunk += data
                if len(chunk) >= _WRITE_CHUNK:
                    digest.update(chunk)
                    member.write(chunk)
                    chunk.clear()
            digest.update(chunk)
            member.write(chunk)
        size = path.stat().st_size
        if size > self.max_zip_bytes:
            if len(rows) == 1:  # pragma: no cover - add() refuses a row that alone passes the budget
                path.unlink()
                raise ValidationError(f"one record zips to {size:,} bytes, over {self.max_zip_bytes:,}")
            path.unlink()
            half = len(rows) // 2
            first = self._write(rows[:half], number)
            return first + self._write(rows[half:], number + len(first))
        return [
            Part(
                number=number,
                zip_path=path,
                csv_name=name,
                columns=columns,
                sha256=digest.hexdigest(),
                zip_size=size,
                indexes=[self.indexes[row] for row in rows],
            )
        ]

    def _offsets(self) -> array[int]:
        offsets = array("q", [0]) * len(self._lengths)
        position = 0
        for row, length in enumerate(self._lengths):
            offsets[row] = position
            position += length
        return offsets

    def discard(self) -> None:
        """Drop the spool (a run that stops before the part is finished)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self._spool_path.unlink(missing_ok=True)
