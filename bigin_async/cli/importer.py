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
"""

from __future__ import annotations

import csv
import json
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from bigin_async.bulk import BATCH_LIMIT, MANDATORY_FIELDS, BulkAbortedError, BulkResult, RecordOutcome
from bigin_async.bulk.jobs.via import journal_way
from bigin_async.cli.columns import check_columns
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
)
from bigin_async.cli.via import ImportRoute, Via, file_host_known, import_route
from bigin_async.client import BiginClient
from bigin_async.errors import PermissionDeniedError
from bigin_async.models import FieldInfo
from bigin_async.resources.base import DEFAULT

if TYPE_CHECKING:
    from bigin_async import CreditsReport

__all__ = [
    "ImportMode",
    "ImportOptions",
    "ImportReport",
    "LineNumbers",
    "ResultsFile",
    "default_results_path",
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
    """``contacts.csv`` → ``contacts.results.csv`` next to it."""
    return source.with_name(f"{source.stem}.results.csv")


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
    delimiter: str = ","
    ignore_unknown_columns: bool = False
    via: Via = "auto"
    poll_interval: float = 5.0  # seconds between a job's status polls (jobs only)
    workdir: Path | None = None  # where a job's CSV parts are written (jobs only; default: temporary)

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

    @property
    def ok(self) -> bool:
        return self.aborted is None and self.result.ok

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


class ResultsFile:
    """The results CSV: one line per input row, in input order, saying what became of it."""

    COLUMNS = ("row", "line", "status", "action", "id", "code", "message", "details", "key")

    def __init__(self, handle: TextIO, key_fields: Sequence[str]) -> None:
        self._writer = csv.writer(handle)
        self._writer.writerow(self.COLUMNS)
        self._key_fields = key_fields

    def write(self, outcome: RecordOutcome, line: int | None) -> None:
        record = outcome.record
        message = outcome.message or ""
        code = outcome.code or ""
        if isinstance(record, BadRow):
            code, message = "INVALID_ROW", record.reason
        key = ""
        if isinstance(record, dict):
            key = "; ".join(
                f"{name}={_cell(record[name])}" for name in self._key_fields if record.get(name) is not None
            )
        details = (
            json.dumps(outcome.details, ensure_ascii=False, default=str)
            if outcome.details and not outcome.ok
            else ""
        )
        self._writer.writerow(
            (
                outcome.index + 1,
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
    rows: Generator[Row, None, None], lines: LineNumbers
) -> Generator[dict[str, Any] | BadRow, None, None]:
    """The records of ``rows``, remembering each one's line for its outcome's line in the results."""
    try:
        for index, row in enumerate(rows):
            lines.add(index, row.line)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", newline="", encoding="utf-8")


async def run_import(client: BiginClient, options: ImportOptions, view: ProgressView) -> ImportReport:
    """Import ``options.path`` and write the results file; returns the counts (outcomes are not kept)."""
    path = options.path
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    if options.mode == "update" and options.unique:
        raise UsageError("--unique goes with --mode upsert (an update finds records by their id column)")
    if options.mode == "create" and options.unique:
        raise UsageError("--unique goes with --mode upsert")
    if options.fmt == "csv":
        columns = read_csv_header(path, options.mapping, delimiter=options.delimiter)
        total = count_rows(path, options.fmt, delimiter=options.delimiter)
    else:
        total = count_rows(path, options.fmt)
        columns = jsonl_keys(path)
        options.mapping.check_columns(columns, path)
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
    module = client.module(options.module)
    lines = LineNumbers()
    types = FieldTypes(fields or ()) if options.fmt == "csv" else None
    records = _numbered(
        read_rows(path, options.fmt, options.mapping, types, delimiter=options.delimiter), lines
    )
    handle = _open_results(options.results_path)
    results = ResultsFile(handle, options.key_fields())

    done_now: Counter[str] = Counter()

    def on_result(outcome: RecordOutcome) -> None:
        results.write(outcome, lines.line(outcome.index))
        if outcome.ok and outcome.action and not outcome.from_journal:
            done_now[outcome.action] += 1

    on_progress = view.bulk_task(f"{options.mode} {options.module} via {route.via}", total)
    started = time.perf_counter()
    aborted: BulkAbortedError | None = None
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
                result = await module.bulk_upsert(records, checked.unique, **common)
            elif options.mode == "update":
                result = await module.bulk_update(records, **common)
            else:
                result = await module.bulk_create(records, **common)
    except BulkAbortedError as error:
        aborted, result = error, error.result
    finally:
        handle.close()
        records.close()
    return ImportReport(
        result,
        total,
        time.perf_counter() - started,
        options.results_path,
        aborted,
        options.journal,
        ignored_columns=checked.ignored,
        columns_checked=checked.checked,
        done_now=done_now,
        route=route,
    )
