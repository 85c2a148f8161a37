"""A Bulk Write result CSV mapped back to the rows of the part that was sent, each match verified.

The result holds one row per input row: the part's first mapped columns echoed, then ``STATUS``
(``ADDED``, ``UPDATED``, ``SKIPPED``), ``RECORD_ID`` and ``ERRORS`` (``CODE-Column`` items joined
by ``;``). Zoho does not promise the rows come in input order, so order is trusted only after
checking it: result row i goes to part row i when its echoed cells equal that row's. At the
first mismatch (or a row count that differs) every row is matched by its echoed cells instead;
identical rows are interchangeable (their records are alike in every echoed column). Zoho may
echo a cell as it stored it rather than as it was sent (spaces trimmed, ``1000.50`` as
``1000.5``, an email in lower case), so rows are matched on the cells as Bigin could have
normalised them; records that become alike once normalised but were sent different cannot be
told apart by their echoes, and neither can records of one key when the result holds more rows
of it than were sent, nor (when the result echoes only some of the columns) records alike in the
echoed columns but not in the others, in order or not: all of them are left unmatched rather
than given another's verdict. A
part row no result row matches is ``None`` here, an ``unknown`` outcome for the caller: never a
success by default. Result rows that match no part row are ignored (logged).

Both files are read as streams from their zips; only the matching by value holds one part's
echoed cells (at most 25,000 rows) in memory.

Cells can be huge (a long text field): the ``csv`` module's field size limit, a guard for
untrusted CSVs, is raised for the process to what a 25 MB upload can hold.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
import zipfile
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bigin_async._redact import get_logger
from bigin_async.bulk.jobs.parts import LOOKUP_SUFFIX
from bigin_async.bulk.results import RecordOutcome

logger = get_logger("bulk")

__all__ = [
    "ResultRow",
    "ResultsError",
    "allow_large_cells",
    "csv_rows",
    "map_results",
    "outcome_of",
    "parse_errors",
]

_STATUS, _RECORD_ID, _ERRORS = "STATUS", "RECORD_ID", "ERRORS"


class ResultsError(Exception):
    """The result file is not a Bulk Write result (not a zip of one CSV, no STATUS column...)."""


@dataclass
class ResultRow:
    """One result row's verdict on one record."""

    status: str
    record_id: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)


def allow_large_cells() -> None:
    """Let ``csv`` read cells as long as a Bulk Write upload can hold (its default stops at 128 KiB)."""
    limit = min(sys.maxsize, 2**31 - 1)
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


@contextmanager
def csv_rows(path: Path) -> Iterator[Iterator[list[str]]]:
    """The rows of the one CSV inside the zip at ``path``, streamed (``ResultsError`` if it is not that)."""
    allow_large_cells()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise ResultsError(f"{path.name} is not a zip ({error})") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1 or not members[0].filename.lower().endswith(".csv"):
            raise ResultsError(f"{path.name} does not hold exactly one CSV")
        with (
            archive.open(members[0]) as raw,
            io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,
        ):
            yield csv.reader(text)


def parse_errors(text: str) -> list[dict[str, Any]]:
    """``MANDATORY_NOT_FOUND-Last_Name;INVALID_DATA-Email`` as ``[{"code", "api_name"}, ...]``."""
    errors: list[dict[str, Any]] = []
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        code, _, column = item.partition("-")
        entry: dict[str, Any] = {"code": code.strip() or item}
        if column.strip():
            entry["api_name"] = column.strip()
        errors.append(entry)
    return errors


def _row(cells: Sequence[str], status: int, record_id: int | None, errors: int | None) -> ResultRow:
    def cell(position: int | None) -> str:
        return cells[position] if position is not None and position < len(cells) else ""

    return ResultRow(
        cell(status).strip().upper(), cell(record_id).strip() or None, parse_errors(cell(errors))
    )


def outcome_of(
    row: ResultRow | None, index: int, record: Any, *, updating: bool, sent_id: str | None = None
) -> RecordOutcome:
    """One record's outcome from its result row: ADDED/UPDATED a success, SKIPPED an error, the rest unknown.

    ``updating``: the job was an update (its SKIPPED rows are failed updates, not inserts).
    ``sent_id``: the id the record was sent with (an update by id). An ADDED or UPDATED row with
    no ``RECORD_ID`` is a success only for such a record (the id is the one sent); any other is
    ``unknown``: the record may have been written, but which record it is cannot be said.
    """
    if row is None:
        return RecordOutcome(
            index,
            "unknown",
            "update" if updating else None,
            code="NO_RESULT",
            message="the job's result has no row for this record: its fate is not known",
            record=record,
        )
    if row.status in ("ADDED", "UPDATED"):
        action: Any = "insert" if row.status == "ADDED" else "update"
        if row.record_id is not None:
            return RecordOutcome(index, "success", action, id=row.record_id, record=record)
        if action == "update" and sent_id:
            return RecordOutcome(index, "success", action, id=sent_id, record=record)
        return RecordOutcome(
            index,
            "unknown",
            action,
            code="NO_RECORD_ID",
            message=f"the job's result says {row.status} for this record but gives no RECORD_ID: the record "
            "may have been written, but which record it is cannot be said",
            record=record,
        )
    first = row.errors[0] if row.errors else {}
    details: dict[str, Any] = {"api_name": first["api_name"]} if "api_name" in first else {}
    if len(row.errors) > 1:
        details["errors"] = row.errors
    if row.status == "SKIPPED":
        code = first.get("code") or "SKIPPED"
        message = "Bigin skipped this record" + (
            ": " + "; ".join(f"{e['code']} ({e.get('api_name', '-')})" for e in row.errors)
            if row.errors
            else ""
        )
        return RecordOutcome(
            index,
            "error",
            "update" if updating else None,
            id=row.record_id if code == "DUPLICATE_DATA" else None,
            code=code,
            message=message,
            details=details,
            record=record,
        )
    return RecordOutcome(
        index,
        "unknown",
        "update" if updating else None,
        id=row.record_id,
        code="UNKNOWN_STATUS",
        message=f"the job's result says {row.status!r} for this record, a status this SDK does not know",
        details=details,
        record=record,
    )


def _last(names: Sequence[str], name: str) -> int | None:
    return len(names) - 1 - names[::-1].index(name) if name in names else None


def _key(cells: Sequence[str], positions: Sequence[int]) -> tuple[str, ...]:
    return tuple(cells[p] if p < len(cells) else "" for p in positions)


def map_results(part_zip: Path, columns: Sequence[str], result_zip: Path) -> list[ResultRow | None]:
    """The result of each row of the part (in the part's row order); ``None`` where no row matched.

    ``columns`` are the part's CSV headers. Raises :class:`ResultsError` for a file that is not
    a Bulk Write result at all.
    """
    with csv_rows(result_zip) as rows:
        header = next(rows, None)
        names = [name.strip().upper() for name in header or []]  # Zoho's spelling of them may vary
        # The result's own columns come after the echoed ones: the last of each name, so a
        # field of the module called Status (a task's) is an echoed column, not the verdict.
        status = _last(names, _STATUS)
        if header is None or status is None:
            raise ResultsError(f"{result_zip.name} has no {_STATUS} column")
        record_id = _last(names, _RECORD_ID)
        errors = _last(names, _ERRORS)
        # The echoed columns, by their position in the result and in the part (a lookup is
        # echoed under its field's name, sent as ``Name.id``).
        where = {name: position for position, name in enumerate(columns)}
        echoed: list[tuple[int, int]] = []
        for position, name in enumerate(header[:status]):
            part_position = where.get(name, where.get(name + LOOKUP_SUFFIX))
            if part_position is not None:
                echoed.append((position, part_position))
        if not echoed:
            logger.warning(
                "bulk write result %s echoes no column of its part: no row verified",
                result_zip,
                extra={"bigin_event": "bulk_result_unverified"},
            )
            return _all_missing(part_zip)
        in_result = [p for p, _ in echoed]
        in_part = [p for _, p in echoed]
        # Echoes of only some columns: records alike in those but not in the others cannot be
        # told apart (in order or not: Zoho does not promise the order).
        mixed = _mixed_keys(part_zip, in_part) if set(in_part) != set(range(len(columns))) else set()
        in_order = _in_order(part_zip, rows, in_result, in_part, (status, record_id, errors), mixed)
    if in_order is not None:
        return in_order
    return _by_value(part_zip, result_zip, in_result, in_part, (status, record_id, errors), mixed)


def _mixed_keys(part_zip: Path, in_part: Sequence[int]) -> set[tuple[str, ...]]:
    """The (normalised) echoed keys that rows differing in a column not echoed share."""
    first: dict[tuple[str, ...], bytes] = {}
    mixed: set[tuple[str, ...]] = set()
    with csv_rows(part_zip) as sent:
        next(sent, None)
        for sent_row in sent:
            key = _normalised(_key(sent_row, in_part))
            whole = hashlib.blake2b(digest_size=16)
            for cell in sent_row:
                whole.update(f"{len(cell)}:{cell}".encode("utf-8", "surrogatepass"))
            digest = whole.digest()
            if first.setdefault(key, digest) != digest:
                mixed.add(key)
    return mixed


def _in_order(
    part_zip: Path,
    rows: Iterator[list[str]],
    in_result: Sequence[int],
    in_part: Sequence[int],
    verdict: tuple[int, int | None, int | None],
    mixed: set[tuple[str, ...]],
) -> list[ResultRow | None] | None:
    """Row i to row i, if every echoed cell agrees and the counts are equal; else None.

    A row whose key is in ``mixed`` stays unmatched (None): its echo fits other records too.
    """
    mapped: list[ResultRow | None] = []
    with csv_rows(part_zip) as sent:
        next(sent, None)
        for sent_row in sent:
            result_row = next(rows, None)
            key = _key(sent_row, in_part)
            if result_row is None or _key(result_row, in_result) != key:
                return None
            mapped.append(None if mixed and _normalised(key) in mixed else _row(result_row, *verdict))
        if next(rows, None) is not None:
            return None
    return mapped


def _by_value(
    part_zip: Path,
    result_zip: Path,
    in_result: Sequence[int],
    in_part: Sequence[int],
    verdict: tuple[int, int | None, int | None],
    mixed: set[tuple[str, ...]],
) -> list[ResultRow | None]:
    # Part rows by their normalised key; a key some rows were sent with differently is ambiguous,
    # as is one rows differing in a column not echoed share (``mixed``).
    waiting: dict[tuple[str, ...], deque[int]] = {}
    sent_as: dict[tuple[str, ...], tuple[str, ...] | None] = {}
    count = 0
    with csv_rows(part_zip) as sent:
        next(sent, None)
        for position, sent_row in enumerate(sent):
            raw = _key(sent_row, in_part)
            key = _normalised(raw)
            waiting.setdefault(key, deque()).append(position)
            sent_as[key] = raw if sent_as.get(key, raw) == raw else None
            count += 1
    found: dict[tuple[str, ...], list[ResultRow]] = {}
    extra = 0
    with csv_rows(result_zip) as rows:
        next(rows, None)
        for result_row in rows:
            key = _normalised(_key(result_row, in_result))
            if key not in waiting:
                extra += 1
                continue
            found.setdefault(key, []).append(_row(result_row, *verdict))
    mapped: list[ResultRow | None] = [None] * count
    ambiguous = 0
    for key, verdicts in found.items():
        positions = waiting[key]
        if sent_as[key] is None or key in mixed or len(verdicts) > len(positions):
            ambiguous += len(positions)
            continue
        for position, row in zip(positions, verdicts, strict=False):
            mapped[position] = row
    missing = mapped.count(None)
    if extra or missing:
        logger.warning(
            "bulk write result %s: %d result rows match no record sent, %d records have no result row "
            "(%d of them because their echoes cannot tell them apart)",
            result_zip,
            extra,
            missing,
            ambiguous,
            extra={"bigin_event": "bulk_result_unmatched"},
        )
    return mapped


def _normalised(key: tuple[str, ...]) -> tuple[str, ...]:
    """The cells as Bigin may echo them: trimmed, case folded, numbers in one form."""
    return tuple(_normal_cell(cell) for cell in key)


def _normal_cell(cell: str) -> str:
    text = cell.strip().casefold()
    if text[:1].isdigit() or text[:1] in ("-", "+", "."):
        try:
            number = Decimal(text)
        except ArithmeticError:
            return text
        if number.is_finite():
            return str(number.normalize()) if number else "0"
    return text


def _all_missing(part_zip: Path) -> list[ResultRow | None]:
    with csv_rows(part_zip) as sent:
        next(sent, None)
        return [None for _ in sent]
