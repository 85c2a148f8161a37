"""``bigin import``: a CSV or JSON-lines file into a module, with a results file of every row's fate.

The rows stream from the file into the SDK's bulk engine (100 records a call, as many calls at
once as the client's gate allows) and each outcome streams out to the results CSV as soon as it
is known, in input order: memory stays flat whatever the file size, and a crash leaves a results
file that is correct up to where it stopped. With ``--journal`` a re-run of the same command
resumes instead of starting over (upserts and updates are re-sent safely; inserts whose answer
was lost are reported ``unknown`` rather than risked twice).

Before the first record is sent, the columns (a CSV header, or every key of a JSON-lines file)
are checked against the module's fields, with one ``settings/fields`` call: Bigin drops a field
it does not know without a word (see :mod:`bigin_async.cli.columns`).

``--via jobs`` (or ``auto`` above the SDK's threshold, see :mod:`bigin_async.cli.via`) sends the
rows through Bigin's Bulk Write jobs instead (``bulk_import``: CSV parts of up to 25,000 records,
500 credits a job instead of 2,500 for the same records in calls); the results file is the same,
one line per input row in input order, read back from each job's result file.

``--dry-run`` does all of that but send: it reads and checks every row (the columns, each row's
mandatory fields and ``--unique`` value, each value's type against the field metadata) with the
one ``settings/fields`` call, and says what would be sent. ``--retry-unknown`` and ``--only-rows``
send some rows again (see :mod:`bigin_async.cli.results`): those whose fate the results file
says is unknown, as an upsert on a unique field, or those a list names.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import tempfile
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from bigin_async._field_aliases import to_bigin_names
from bigin_async.bulk import BATCH_LIMIT, MANDATORY_FIELDS, BulkAbortedError, BulkResult, RecordOutcome
from bigin_async.bulk.engine import BulkPlan, prepare
from bigin_async.bulk.jobs.parts import record_cells
from bigin_async.bulk.jobs.via import journal_way
from bigin_async.bulk.jobs.write import ImportPlan
from bigin_async.bulk.jobs.write import _check as check_for_job
from bigin_async.bulk.keys import UNIQUE_FIELDS, carries_upsert_key
from bigin_async.cli.columns import ColumnCheck, check_columns
from bigin_async.cli.common import UsageError
from bigin_async.cli.progress import ProgressView
from bigin_async.cli.sources import (
    BadRow,
    ColumnMap,
    FieldTypes,
    Format,
    Row,
    count_rows,
    jsonl_keys,
    read_csv_header,
    read_rows,
    sniff_delimiter,
)
from bigin_async.cli.via import ImportRoute, Via, file_host_known, import_route
from bigin_async.client import BiginClient
from bigin_async.errors import PermissionDeniedError
from bigin_async.models import FieldInfo
from bigin_async.resources.base import DEFAULT

if TYPE_CHECKING:
    from bigin_async import CreditsReport

__all__ = [
    "DryRunReport",
    "ImportMode",
    "ImportOptions",
    "ImportReport",
    "LineNumbers",
    "ResultsFile",
    "RowSelection",
    "default_results_path",
    "retry_unique_fields",
    "run_dry_run",
    "run_import",
]

ImportMode = Literal["create", "upsert", "update"]

# The field(s) that name a record to a person reading the results file.
_KEY_FIELDS = {
    "Contacts": ("Email",),
    "Accounts": ("Account_Name",),
    "Pipelines": ("Deal_Name",),
    "Products": ("Product_Name",),
}


def default_results_path(source: Path) -> Path:
    """``contacts.csv`` (or ``contacts.jsonl``) → ``contacts.results.csv`` next to it."""
    return source.with_name(f"{source.stem}.results.csv")


def retry_unique_fields(module: str, unique: Sequence[str] | None) -> list[str]:
    """The field ``--retry-unknown`` upserts on: ``--unique``, else the module's own duplicate
    check (Email for Contacts). A module without one needs ``--unique``: re-sending an insert whose
    fate is unknown without a field to match on could create the record twice."""
    if unique:
        return list(unique)
    own = UNIQUE_FIELDS.get(module)
    if not own:
        raise UsageError(
            f"--retry-unknown re-sends the rows as an upsert, and {module} has no unique field the SDK "
            "knows to match them on: pass --unique FIELD (a field whose value tells the records apart)"
        )
    return list(own)


@dataclass(frozen=True)
class RowSelection:
    """The rows a re-run sends (``--retry-unknown``, ``--only-rows``), by results-file row number."""

    rows: frozenset[int]
    what: str  # "the unknown rows of people.results.csv", said in the summary
    #: Which records may be sent (None: all of them); see :func:`_carries_key`.
    needs: Callable[[dict[str, Any] | BadRow], bool] | None = None
    #: The results file's ``key`` of each row it names (``Email=a@example.com``), checked against
    #: the row now at that number before anything is sent: an input edited since (rows sorted,
    #: added or removed) would otherwise have other rows re-sent than those the file names.
    keys: Mapping[int, str] = field(default_factory=dict)
    #: Every row after this one is picked too: the rows a results file cut short (an import that
    #: died before writing them) does not report, whose fate is unknown (None: no such rows).
    beyond: int | None = None
    #: Rows not sent after all (see :attr:`ImportReport.repeated`).
    excluded: frozenset[int] = frozenset()

    def picks(self, number: int) -> bool:
        """Whether row ``number`` (1 is the first record) is one this run reads to send."""
        chosen = number in self.rows or (self.beyond is not None and number > self.beyond)
        return chosen and number not in self.excluded


def _carries_key(module: str, unique: Sequence[str]) -> Callable[[dict[str, Any] | BadRow], bool]:
    """Whether a record has a value in the upsert's ``unique`` fields. An unknown row without one
    is not sent again by ``--retry-unknown``: the upsert could not match it, so it would be an
    insert again, a second record if the first one did land."""

    def check(record: dict[str, Any] | BadRow) -> bool:
        if isinstance(record, BadRow):
            return True  # refused before sending, whatever it holds
        return carries_upsert_key(to_bigin_names(module, dict(record)), module, unique)

    return check


@dataclass
class ImportOptions:
    module: str  # Bigin's API name (Contacts, Accounts, Pipelines, ...)
    path: Path
    fmt: Format
    mode: ImportMode = "create"
    unique: Sequence[str] | None = None
    mapping: ColumnMap = field(default_factory=ColumnMap)
    journal: str | None = None
    results: Path | None = None
    workflows: bool = True
    batch_size: int | None = None  # records per call (None: 100, Bigin's limit); calls only
    delimiter: str | None = None  # None: sniffed from the header (comma, semicolon, tab, pipe)
    ignore_unknown_columns: bool = False
    via: Via = "auto"
    poll_interval: float = 5.0  # seconds between a job's status polls (jobs only)
    workdir: Path | None = None  # where a job's CSV parts are written (jobs only; default: temporary)
    dry_run: bool = False  # read and check every row, send nothing
    retry_unknown: bool = False  # send again only the rows the results file says are unknown
    only_rows: Path | None = None  # send only the rows this file lists (a results file or numbers)

    @property
    def results_path(self) -> Path:
        return self.results or default_results_path(self.path)

    def key_fields(self) -> tuple[str, ...]:
        fields = (
            tuple(self.unique)
            if self.unique
            else _KEY_FIELDS.get(self.module, MANDATORY_FIELDS.get(self.module, ()))
        )
        return ("id", *fields) if self.mode == "update" else fields


@dataclass
class ImportReport:
    result: BulkResult
    total_rows: int
    elapsed: float
    results_path: Path
    aborted: BulkAbortedError | None = None
    journal: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    columns_checked: bool = True
    #: Records this run inserted / updated (``insert``, ``update``); the journal's skipped rows are not in it.
    done_now: Counter[str] = field(default_factory=Counter)
    #: Calls or jobs, and why (``--via`` and what ``auto`` saw).
    route: ImportRoute | None = None
    #: Credits the client spent (its own count, by Zoho's rules), set when the client closes.
    credits: CreditsReport | None = None
    #: Records this run decided, by status (``success``, ``error``, ``unknown``): not the journal's.
    now: Counter[str] = field(default_factory=Counter)
    #: Failed records by the code the results file gives them (``INVALID_DATA``, ``INVALID_ROW``...).
    failed_codes: Counter[str] = field(default_factory=Counter)
    module: str = ""
    mode: ImportMode = "create"
    unique: list[str] | None = None
    #: The rows this run sent again (``--retry-unknown``, ``--only-rows``); None: the whole file.
    selection: RowSelection | None = None
    #: Said instead of a summary when there was nothing to send (no unknown row left).
    nothing_to_do: str | None = None
    #: Rows ``--retry-unknown`` did not send: no value to match on (still unknown in the results).
    held_back: list[int] = field(default_factory=list)
    #: Rows a re-run did not send, each with the row holding the same unique value: an upsert of
    #: both would write one record, the later row over the earlier one (still unknown in the results).
    repeated: list[tuple[int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.aborted is None and self.result.ok and not self.held_back and not self.repeated

    @property
    def skipped(self) -> int:
        """Rows the journal showed as done by an earlier run: reported from it, not sent again."""
        return self.result.skipped

    @property
    def this_run(self) -> int:
        """Rows this run decided: sent now, or refused before sending (a bad row); not the skipped ones."""
        return self.result.total - self.skipped

    def journal_summary(self) -> str | None:
        """What the journal did for this run, in words (None without ``--journal``).

        ``matched`` counts the rows the journal recognised (by content, wherever they now stand):
        a resumed import that matches far fewer rows than the last run handled was given another
        file, or another import's journal. Matched rows the journal shows in flight are sent
        again (upserts, updates), so ``matched`` can exceed ``skipped``.
        """
        if self.journal is None:
            return None
        return (
            f"journal: {self.result.journal_matched:,} of {self.result.total:,} rows matched it; "
            f"{self.skipped:,} skipped (done by an earlier run), {self.this_run:,} handled by this run"
        )


def outcome_code(outcome: RecordOutcome) -> str:
    """The code the results file gives an outcome: Zoho's, the SDK's, or ``INVALID_ROW`` for a row
    that could not be read as a record."""
    return "INVALID_ROW" if isinstance(outcome.record, BadRow) else outcome.code or ""


class ResultsFile:
    """The results CSV: one line per input row, in input order, saying what became of it."""

    COLUMNS = ("row", "line", "status", "action", "id", "code", "message", "details", "key")

    def __init__(self, handle: TextIO, key_fields: Sequence[str]) -> None:
        self._writer = csv.writer(handle)
        self._writer.writerow(self.COLUMNS)
        self._key_fields = key_fields

    def write(self, outcome: RecordOutcome, line: int | None, row: int | None = None) -> None:
        """One outcome's line; ``row`` is its row number in the file (default: its index + 1)."""
        record = outcome.record
        message = outcome.message or ""
        code = outcome_code(outcome)
        if isinstance(record, BadRow):
            message = record.reason
        key = key_text(record, self._key_fields)
        details = (
            json.dumps(outcome.details, ensure_ascii=False, default=str)
            if outcome.details and not outcome.ok
            else ""
        )
        self._writer.writerow(
            (
                row if row is not None else outcome.index + 1,
                line or "",
                outcome.status,
                outcome.action or "",
                outcome.id or "",
                code,
                message,
                details,
                key,
            )
        )


def _cell(value: Any) -> str:
    if isinstance(value, dict) and "id" in value:
        return str(value["id"])
    return str(value)


def key_text(record: dict[str, Any] | BadRow, names: Sequence[str]) -> str:
    """The results file's ``key`` of a record: ``Email=a@example.com`` (its ``names`` that have a
    value, ``; ``-separated), what tells a person, and a re-run, which record a row was."""
    if not isinstance(record, dict):
        return ""
    return "; ".join(f"{name}={_cell(record[name])}" for name in names if record.get(name) is not None)


# The field names of a ``key`` cell: ``Email=...; Last_Name=...``.
_KEY_NAME = re.compile(r"(?:^|; )([^=;\s]+)=")


def _key_names(key: str) -> list[str]:
    return list(dict.fromkeys(_KEY_NAME.findall(key)))


class LineNumbers:
    """Which line of the input file each row started on, in memory that does not grow with the file.

    Rows mostly follow each other line by line; only where that breaks (a blank line, a cell
    holding a newline) is a ``(row, line)`` mark kept, so a million-row file whose outcomes come
    back a whole 25,000-record job later costs a few marks, not a million entries.
    """

    def __init__(self) -> None:
        self._rows: list[int] = []
        self._lines: list[int] = []

    def add(self, index: int, line: int) -> None:
        if not self._rows or self.line(index) != line:
            self._rows.append(index)
            self._lines.append(line)

    def line(self, index: int) -> int | None:
        """The line row ``index`` started on (None before the first row was added)."""
        mark = bisect_right(self._rows, index) - 1
        return None if mark < 0 else self._lines[mark] + index - self._rows[mark]


def _numbered(
    rows: Generator[Row, None, None],
    lines: LineNumbers,
    selection: RowSelection | None,
    picked: list[int],
    held: list[int] | None = None,
) -> Generator[dict[str, Any] | BadRow, None, None]:
    """The records of ``rows``, remembering each one's line for its outcome's line in the results;
    with a ``selection``, only its rows, each one's row number in the file appended to ``picked``.
    A selection that ``needs`` a key (``--retry-unknown``) holds back the rows without one, their
    numbers appended to ``held``: their line in the results file stays as it was."""
    try:
        sent = 0
        for index, row in enumerate(rows):
            if selection is not None:
                if not selection.picks(index + 1):
                    continue
                if selection.needs is not None and not selection.needs(row.record):
                    if held is not None:
                        held.append(index + 1)
                    continue
                picked.append(index + 1)
            lines.add(sent, row.line)
            sent += 1
            yield row.record
    finally:
        rows.close()  # closes the input file now, not whenever the generator is collected


async def _module_fields(client: BiginClient, options: ImportOptions) -> list[FieldInfo] | None:
    """The module's fields (one ``settings/fields`` call): the names a column may have, and the
    types CSV text is converted to. Refused for want of a scope or a permission, the import stops
    unless ``--ignore-unknown-columns`` (None: the columns go unchecked). Any other failure (refused
    credentials, an unreachable server) would fail every record too: it stops the import here."""
    try:
        return await client.settings.fields(options.module)
    except PermissionDeniedError as error:
        if options.ignore_unknown_columns:
            return None
        raise UsageError(
            f"cannot read the field list of {options.module} ({error.code or error}: the token needs the "
            "ZohoBigin.settings scope), so the columns cannot be checked, and Bigin drops unknown fields "
            "without a word. Add the scope, or pass --ignore-unknown-columns to import without the check"
        ) from None


def _open_results(path: Path) -> TextIO:
    """The results file, written a line at a time (line-buffered): a process killed mid-run leaves
    every line it wrote whole, so a re-run (``--retry-unknown``) knows where the file stops."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", newline="", encoding="utf-8", buffering=1)


def _selection(options: ImportOptions) -> RowSelection | None:
    """The rows ``--retry-unknown`` or ``--only-rows`` send again, read before anything is sent
    (and the results file the new outcomes are merged into, read through: a file that is not one
    would fail the merge after the records were sent)."""
    from bigin_async.cli.results import check_results_file, pick_rows, pick_unknown

    if options.retry_unknown:
        results = options.results_path
        if not results.is_file():
            raise UsageError(
                f"--retry-unknown reads the results file of the earlier run, and there is none at {results} "
                "(pass --results PATH if it was written elsewhere)"
            )
        picked = pick_unknown(results)
        return RowSelection(
            picked.rows,
            f"the rows {results.name} gives as unknown",
            _carries_key(options.module, options.unique or UNIQUE_FIELDS.get(options.module, ())),
            keys=picked.keys,
            beyond=picked.last,
        )
    if options.only_rows is not None:
        listed = pick_rows(options.only_rows)
        if options.mode == "create" and listed.landed:
            shown = ", ".join(map(str, sorted(listed.landed)[:5])) + (
                ", ..." if len(listed.landed) > 5 else ""
            )
            raise UsageError(
                f"--only-rows {options.only_rows.name} lists row(s) {shown} that it gives as inserted or "
                "of unknown fate: their record is (or may be) in Bigin, and sending them again as an insert "
                "makes a second one. Leave them out, or send them as an upsert (--unique FIELD; "
                "--retry-unknown for the unknown ones)"
            )
        if options.results_path.is_file() and options.results_path.resolve() != options.only_rows.resolve():
            check_results_file(options.results_path)
        return RowSelection(listed.rows, f"the rows {options.only_rows.name} lists", keys=listed.keys)
    return None


@dataclass
class _Checked:
    """What the checks before sending found: the file's shape, the fields, the way it goes."""

    delimiter: str
    total: int  # the rows this run reads into the engine (the selection's, with one)
    fields: list[FieldInfo] | None
    columns: ColumnCheck
    route: ImportRoute
    selection: RowSelection | None
    #: Picked rows not sent: (row, the row with the same unique value); see :func:`_verify_selection`.
    repeated: list[tuple[int, int]] = field(default_factory=list)


async def _check(client: BiginClient, options: ImportOptions) -> _Checked | str:
    """Every check before a record is sent, with the one ``settings/fields`` call (a module Bigin
    does not have is its INVALID_MODULE, raised). A string: there is nothing to send (and no call
    was made)."""
    path = options.path
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    if options.mode == "update" and options.unique:
        raise UsageError("--unique goes with --mode upsert (an update finds records by their id column)")
    if options.mode == "create" and options.unique:
        raise UsageError("--unique goes with --mode upsert")
    delimiter = ","
    if options.fmt == "csv":
        delimiter = options.delimiter or sniff_delimiter(path)
        columns = read_csv_header(
            path, options.mapping, delimiter=delimiter, sniffed=options.delimiter is None
        )
        rows = count_rows(path, options.fmt, delimiter=delimiter)
    else:
        rows = count_rows(path, options.fmt)
        columns = jsonl_keys(path)
        options.mapping.check_columns(columns, path)
    selection = _selection(options)
    total = rows
    if selection is not None:
        beyond = sorted(number for number in selection.rows if number > rows)
        if beyond:
            shown = ", ".join(map(str, beyond[:5])) + (", ..." if len(beyond) > 5 else "")
            raise UsageError(
                f"{selection.what} include row(s) {shown}, past the {plural(rows, 'row')} of {path.name}: "
                "is it the file of that run?"
            )
        unlisted = rows - selection.beyond if selection.beyond is not None else 0
        if unlisted > 0 and selection.beyond is not None:
            after = (
                f"the {plural(unlisted, 'row')} after its last (row {selection.beyond:,})"
                if selection.beyond
                else f"all {plural(unlisted, 'row')} (it holds none)"
            )
            selection = replace(selection, what=f"{selection.what}, and {after}, whose fate it does not give")
        else:
            selection = replace(selection, beyond=None)
        total = len(selection.rows) + max(0, unlisted)
        if not total:
            return f"{selection.what}: none, so nothing was sent"
    fields = await _module_fields(client, options)
    checked = check_columns(
        options.module,
        columns,
        options.mapping,
        fields,
        unique=options.unique,
        mode=options.mode,
        ignore_unknown=options.ignore_unknown_columns,
        jsonl=options.fmt == "jsonl",
    )
    repeated: list[tuple[int, int]] = []
    if selection is not None:
        types = FieldTypes(fields or ()) if options.fmt == "csv" else None
        repeated = _verify_selection(options, selection, types, delimiter, checked.unique)
        if repeated:
            selection = replace(selection, excluded=frozenset(row for row, _ in repeated))
            total -= len(repeated)
    route = import_route(
        options.via,
        module=options.module,
        mode=options.mode,
        rows=total,
        unique=checked.unique,
        workflows=options.workflows,
        batch_size=options.batch_size,
        resumed=journal_way(options.journal),
        uploads=file_host_known(client.config),
    )
    return _Checked(delimiter, total, fields, checked, route, selection, repeated)


def _upsert_value(module: str, record: dict[str, Any], unique: Sequence[str]) -> tuple[str, ...] | None:
    """The values an upsert matches ``record`` on (None: it has none, it would be an insert)."""
    wire = to_bigin_names(module, dict(record))
    values = tuple(_cell(wire.get(name)) for name in unique if wire.get(name) not in (None, ""))
    return values if len(values) == len(unique) else None


def _verify_selection(
    options: ImportOptions,
    selection: RowSelection,
    types: FieldTypes | None,
    delimiter: str,
    unique: Sequence[str] | None,
) -> list[tuple[int, int]]:
    """Before a re-run sends anything: each picked row's key, as the results file gives it, must
    be the row's key now (else the input changed since, and its row numbers name other rows: a
    usage error); and an upsert must not send two rows with the same unique value (one record,
    the later row written over the earlier one), nor a row whose value another row of the file
    holds. Those rows are returned, each with the row it repeats: they are not sent.

    Two passes over the input, memory in the picked rows only."""
    changed: list[str] = []
    picked_values: dict[tuple[str, ...], int] = {}
    repeated: dict[int, int] = {}
    upsert = options.mode == "upsert" and bool(unique)

    def rows() -> Generator[tuple[int, dict[str, Any] | BadRow], None, None]:
        source = read_rows(options.path, options.fmt, options.mapping, types, delimiter=delimiter)
        with contextlib.closing(source):
            for index, row in enumerate(source):
                yield index + 1, row.record

    for number, record in rows():
        if not selection.picks(number):
            continue
        recorded = selection.keys.get(number)
        if recorded is not None:
            now = key_text(record, _key_names(recorded))
            if now != recorded:
                shown = now or ("a row that cannot be read" if isinstance(record, BadRow) else "no key")
                changed.append(f"row {number:,} is {shown}, was {recorded}")
                if len(changed) >= 5:
                    break
        if upsert and isinstance(record, dict) and (selection.needs is None or selection.needs(record)):
            value = _upsert_value(options.module, record, unique or ())
            if value is not None:
                if value in picked_values:
                    repeated[number] = picked_values[value]
                else:
                    picked_values[value] = number
    if changed:
        results = options.only_rows.name if options.only_rows is not None else options.results_path.name
        raise UsageError(
            f"{options.path.name} changed since {results} was written: {'; '.join(changed)}. Its row "
            "numbers now name other rows, and sending those would not resend the rows it means. Run it "
            "on the input as it was then (same rows, same order, same --map)"
        )
    if picked_values:
        for number, record in rows():
            if selection.picks(number) or not isinstance(record, dict):
                continue
            value = _upsert_value(options.module, record, unique or ())
            first = picked_values.get(value) if value is not None else None
            if first is not None and first not in repeated:
                repeated[first] = number
    return sorted(repeated.items())


def plural(count: int, word: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 rows``."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _empty_report(options: ImportOptions, note: str) -> ImportReport:
    return ImportReport(
        BulkResult(kept=False),
        0,
        0.0,
        options.results_path,
        module=options.module,
        mode=options.mode,
        unique=list(options.unique) if options.unique else None,
        nothing_to_do=note,
    )


async def run_import(client: BiginClient, options: ImportOptions, view: ProgressView) -> ImportReport:
    """Import ``options.path`` and write the results file; returns the counts (outcomes are not kept).

    With a selection (``--retry-unknown``, ``--only-rows``) the new outcomes go to a temporary
    file first, merged into the results file when the run ends; an exception (Ctrl-C, a crash)
    leaves the results file as it was."""
    checked = await _check(client, options)
    if isinstance(checked, str):
        return _empty_report(options, checked)
    route, selection = checked.route, checked.selection
    module = client.module(options.module)
    lines = LineNumbers()
    picked: list[int] = []
    held: list[int] = []
    types = FieldTypes(checked.fields or ()) if options.fmt == "csv" else None
    records = _numbered(
        read_rows(options.path, options.fmt, options.mapping, types, delimiter=checked.delimiter),
        lines,
        selection,
        picked,
        held,
    )
    results_path = options.results_path
    partial: Path | None = None
    if selection is not None:
        from bigin_async.cli.results import remove_leftovers

        results_path.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(results_path)
        descriptor, name = tempfile.mkstemp(
            prefix=f".{results_path.name}.", suffix=".new", dir=results_path.parent
        )
        os.close(descriptor)
        partial = Path(name)
    handle = _open_results(partial or results_path)
    results = ResultsFile(handle, options.key_fields())

    done_now: Counter[str] = Counter()
    now: Counter[str] = Counter()
    failed_codes: Counter[str] = Counter()

    def on_result(outcome: RecordOutcome) -> None:
        row = picked[outcome.index] if selection is not None else None
        results.write(outcome, lines.line(outcome.index), row)
        if outcome.status == "error":
            failed_codes[outcome_code(outcome) or "(no code)"] += 1
        if not outcome.from_journal:
            now[outcome.status] += 1
            if outcome.ok and outcome.action:
                done_now[outcome.action] += 1

    on_progress = view.bulk_task(f"{options.mode} {options.module} via {route.via}", checked.total)
    started = time.perf_counter()
    aborted: BulkAbortedError | None = None
    try:
        try:
            if route.via == "jobs":
                result = await module.bulk_import(
                    records,
                    operation=route.operation,
                    find_by=route.find_by,
                    journal=options.journal,
                    on_progress=on_progress,
                    on_result=on_result,
                    keep_outcomes=False,
                    via="jobs",
                    workdir=options.workdir,
                    poll_interval=options.poll_interval,
                )
            else:
                common: dict[str, Any] = {
                    "trigger": DEFAULT if options.workflows else [],
                    "journal": options.journal,
                    "on_result": on_result,
                    "on_progress": on_progress,
                    "keep_outcomes": False,
                    "batch_size": options.batch_size or BATCH_LIMIT,
                }
                if options.mode == "upsert":
                    result = await module.bulk_upsert(records, checked.columns.unique, **common)
                elif options.mode == "update":
                    result = await module.bulk_update(records, **common)
                else:
                    result = await module.bulk_create(records, **common)
        except BulkAbortedError as error:
            aborted, result = error, error.result
        finally:
            handle.close()
            records.close()
        elapsed = time.perf_counter() - started
        on_progress.finish(result.total - result.skipped, elapsed)
        if partial is not None:
            from bigin_async.cli.results import merge_results

            try:
                merge_results(results_path, partial, results_path)
            except Exception as error:
                # The records were sent: their outcomes must not go with the temporary file.
                kept = results_path.with_name(f"{results_path.stem}.retry-{os.getpid()}.csv")
                os.replace(partial, kept)
                partial = None
                raise UsageError(
                    f"the new outcomes could not be merged into {results_path} ({error}); they are in "
                    f"{kept}, one line per row sent"
                ) from error
    finally:
        if partial is not None:
            with contextlib.suppress(OSError):
                partial.unlink()
    return ImportReport(
        result,
        checked.total,
        elapsed,
        results_path,
        aborted,
        options.journal,
        ignored_columns=checked.columns.ignored,
        columns_checked=checked.columns.checked,
        done_now=done_now,
        route=route,
        now=now,
        failed_codes=failed_codes,
        module=options.module,
        mode=options.mode,
        unique=checked.columns.unique,
        selection=selection,
        held_back=held,
        repeated=checked.repeated,
    )


@dataclass
class DryRunReport:
    """What ``--dry-run`` found: the rows that would be sent, those refused and why, a sample."""

    module: str
    mode: ImportMode
    unique: list[str] | None
    route: ImportRoute
    rows: int  # rows read (the selection's, with one)
    valid: int = 0
    refused: int = 0
    #: The first refusals: (row number, line, reason); ``refused`` counts them all.
    refusals: list[tuple[int, int | None, str]] = field(default_factory=list)
    #: Upsert rows with no value in the unique field(s): each would be inserted as a new record.
    keyless: int = 0
    sample: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    columns_checked: bool = True
    selection: RowSelection | None = None
    nothing_to_do: str | None = None
    credits: CreditsReport | None = None
    #: Rows ``--retry-unknown`` would not send: no value in the unique field to match on.
    held_back: list[int] = field(default_factory=list)
    #: Rows a re-run would not send: another row holds the same unique value (see ImportReport).
    repeated: list[tuple[int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.refused == 0 and not self.held_back and not self.repeated


#: How many refused rows a dry run lists (all are counted), and how many records it shows.
DRY_RUN_REFUSALS_SHOWN = 20
DRY_RUN_SAMPLE = 2


async def run_dry_run(client: BiginClient, options: ImportOptions) -> DryRunReport:
    """Read and check every row as the import would, with the one ``settings/fields`` call, and
    send nothing: the engine's own check of each record (mandatory fields, ids, the shape of a
    record), the upsert key, and each value against its field's type and length."""
    checked = await _check(client, options)
    if isinstance(checked, str):
        route = ImportRoute("calls", "nothing to send")
        return DryRunReport(options.module, options.mode, None, route, 0, nothing_to_do=checked)
    unique = checked.columns.unique
    report = DryRunReport(
        options.module,
        options.mode,
        unique,
        checked.route,
        checked.total,
        ignored_columns=checked.columns.ignored,
        columns_checked=checked.columns.checked,
        selection=checked.selection,
        repeated=checked.repeated,
    )
    job = (
        ImportPlan(options.module, checked.route.operation, find_by=checked.route.find_by)
        if checked.route.via == "jobs"
        else None
    )
    plan = BulkPlan(options.module, options.mode, duplicate_check_fields=unique)
    as_insert = BulkPlan(options.module, "create")
    types = FieldTypes(checked.fields or ())
    lines = LineNumbers()
    picked: list[int] = []
    records = _numbered(
        read_rows(
            options.path,
            options.fmt,
            options.mapping,
            types if options.fmt == "csv" else None,
            delimiter=checked.delimiter,
        ),
        lines,
        checked.selection,
        picked,
        report.held_back,
    )

    def refuse(index: int, reason: str) -> None:
        report.refused += 1
        if len(report.refusals) < DRY_RUN_REFUSALS_SHOWN:
            row = picked[index] if checked.selection is not None else index + 1
            report.refusals.append((row, lines.line(index), reason))

    with contextlib.closing(records):
        for index, record in enumerate(records):
            if isinstance(record, BadRow):
                refuse(index, record.reason)
                continue
            if job is not None:
                # A Bulk Write job checks its records its own way, and a CSV cell carries less
                # than a JSON body (no tag objects, no lookup without its id).
                wire = check_for_job(job, index, record)
                if isinstance(wire, RecordOutcome):
                    refuse(index, wire.message or wire.code or "refused")
                    continue
                try:
                    record_cells(wire)
                except ValueError as error:
                    refuse(index, str(error))
                    continue
            item = prepare(plan, index, record)
            if isinstance(item, RecordOutcome):
                refuse(index, item.message or item.code or "refused")
                continue
            if options.mode == "upsert" and not item.idempotent:
                # No value to match on: Bigin inserts it, so it needs what an insert needs.
                insert = prepare(as_insert, index, record)
                if isinstance(insert, RecordOutcome):
                    keys = ", ".join(unique or UNIQUE_FIELDS.get(options.module, ()))
                    refuse(index, f"{insert.message} (no {keys} either, so the upsert would insert it)")
                    continue
                report.keyless += 1
            problems = types.problems(item.wire) if checked.fields is not None else []
            if problems:
                refuse(index, "; ".join(problems))
                continue
            report.valid += 1
            if len(report.sample) < DRY_RUN_SAMPLE:
                report.sample.append(item.wire)
    report.rows = report.valid + report.refused  # the rows held back are not read for sending
    return report
