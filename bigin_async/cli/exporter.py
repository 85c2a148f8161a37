"""``bigin export``: every record of a module (or of a search) to CSV or JSON lines, streamed.

The paginator holds one page at a time and switches to page tokens past record 2,000 by itself,
so an export of any size runs in constant memory. The file is written under a ``.part`` name and
renamed when complete: a failed export never leaves a truncated file that looks finished. A
search that reaches Bigin's 2,000-record wall fails loudly (the paginator raises) instead of
exporting a silent subset. More fields than Bigin reads at once (50; ``--fields all`` on a
large module) is a usage error naming the count: no column is ever dropped without a word.

``--via jobs`` (or ``auto`` for a large module, see :mod:`bigin_async.cli.via`) reads through
Bigin's Bulk Read jobs instead (``bulk_export``: 200,000 records a job for 50 credits, against
1,000 credits for the same records in pages of 200), streamed from each job's CSV: the output
is written the same way, with the same columns, in id order.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from bigin_async.cli.common import UsageError
from bigin_async.cli.criteria_text import parse_criteria
from bigin_async.cli.progress import ProgressView
from bigin_async.cli.via import Via, export_via
from bigin_async.client import BiginClient
from bigin_async.models import Record
from bigin_async.pagination import AsyncPaginator
from bigin_async.resources.base import MAX_FIELDS_PER_READ, ModuleClient

if TYPE_CHECKING:
    from bigin_async import CreditsReport

__all__ = ["ExportOptions", "ExportReport", "RecordSink", "export_records", "open_sink", "run_export"]

ExportFormat = Literal["csv", "jsonl"]


@dataclass
class ExportOptions:
    module: str  # Bigin's API name
    output: str  # a path, or "-" for standard output
    fmt: ExportFormat
    fields: str | None = None  # comma-separated API names; None: the module's defaults; "all"
    criteria: str | None = None
    max_records: int | None = None
    sort_by: str | None = None
    sort_order: str | None = None
    via: Via = "auto"
    poll_interval: float = 5.0  # seconds between a Bulk Read job's status polls (jobs only)


@dataclass
class ExportReport:
    count: int
    elapsed: float
    output: str
    via: Via = "calls"  # what ran: calls, jobs, or auto (bulk_export chose by the record count)
    #: Credits the client spent (its own count, by Zoho's rules), set when the client closes.
    credits: CreditsReport | None = None


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


class RecordSink:
    """Writes records to an open text stream as CSV (fixed columns) or JSON lines (as read)."""

    def __init__(self, handle: TextIO, fmt: ExportFormat, columns: Sequence[str]) -> None:
        self.handle = handle
        self.fmt = fmt
        self.columns = list(columns)
        self.count = 0
        self._csv = csv.writer(handle) if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writerow(self.columns)

    def write(self, record: Record) -> None:
        # exclude_unset: exactly the fields Bigin sent (nulls included), none of the model's defaults.
        data = record.model_dump(mode="json", exclude_unset=True)
        if self._csv is not None:
            self._csv.writerow([_csv_cell(data.get(name)) for name in self.columns])
        else:
            self.handle.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.count += 1


class _Output:
    """The destination file: written as ``NAME.part``, renamed to ``NAME`` only on success."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.path = None if output == "-" else Path(output)
        self.partial = None if self.path is None else self.path.with_name(self.path.name + ".part")
        self.handle: TextIO = sys.stdout
        if self.partial is not None:
            self.partial.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.partial.open("w", newline="", encoding="utf-8")

    def close(self, *, complete: bool) -> None:
        if self.partial is None or self.path is None:
            self.handle.flush()
            return
        self.handle.close()
        if complete:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)


def open_sink(
    output: str, fmt: ExportFormat, columns: Sequence[str]
) -> tuple[RecordSink, Callable[[bool], None]]:
    """A sink writing to ``output`` and the function that finishes it (``True``: keep the file)."""
    target = _Output(output)
    return RecordSink(target.handle, fmt, columns), lambda complete: target.close(complete=complete)


async def export_records(
    records: AsyncIterable[Any], sink: RecordSink, max_records: int | None = None
) -> int:
    """Stream the records (a paginator, or a bulk export) into ``sink``, at most ``max_records``.

    Returns how many were written.
    """
    async for record in records:
        if max_records is not None and sink.count >= max_records:
            break
        sink.write(record)
    return sink.count


async def run_export(client: BiginClient, options: ExportOptions, view: ProgressView) -> ExportReport:
    module = client.module(options.module)
    fields = await module.resolve_fields(options.fields)
    names = fields.split(",")
    via = export_via(
        options.via,
        fields=len(names),
        max_fields_per_call=MAX_FIELDS_PER_READ,
        sorted_=bool(options.sort_by or options.sort_order),
        max_records=options.max_records,
    )
    if via == "calls" and len(names) > MAX_FIELDS_PER_READ:
        # A page walk reads at most 50 fields; a second walk for the other columns could meet other
        # records (edits, inserts, deletes between the walks) and join columns to the wrong rows.
        asked = "--fields all names" if options.fields == "all" else "--fields names"
        raise UsageError(
            f"{asked} {len(names)} fields of {options.module}, but Bigin reads at most {MAX_FIELDS_PER_READ} "
            f"fields a request and an export does not join separate reads: pass --fields with at most "
            f"{MAX_FIELDS_PER_READ} of them (comma-separated API names), export in several runs, "
            "or use --via jobs (a Bulk Read job reads them all at once)"
        )
    if options.criteria and (options.sort_by or options.sort_order):
        raise UsageError(
            "--sort-by/--sort-order apply to a full export, not to --criteria (search has no sort)"
        )
    columns = ["id", *(name for name in names if name != "id")]
    records: AsyncIterable[Any]
    if via == "calls":
        records = _paged(
            module, options, fields, view.count_task(f"export {options.module}", options.max_records)
        )
    else:
        records = module.bulk_export(
            fields=[name for name in names if name != "id"],
            criteria=parse_criteria(options.criteria) if options.criteria else None,
            via=via,
            poll_interval=options.poll_interval,
            on_progress=view.export_task(f"export {options.module} via {via}", options.max_records),
        )
    started = time.perf_counter()
    sink, finish = open_sink(options.output, options.fmt, columns)
    complete = False
    try:
        count = await export_records(records, sink, options.max_records)
        complete = True
    finally:
        finish(complete)
        aclose = getattr(records, "aclose", None)
        if aclose is not None:  # a --max-records stop leaves the export's files to clean up now
            await aclose()
    view.finish()
    return ExportReport(count, time.perf_counter() - started, options.output, via)


def _paged(
    module: ModuleClient[Any], options: ExportOptions, fields: str, progress: Callable[[int], None]
) -> AsyncPaginator[Any]:
    """The calls path: a search for ``--criteria``, else the module's list (both page by page)."""
    if options.criteria:
        return module.search(
            criteria=options.criteria, fields=fields, max_records=options.max_records, on_progress=progress
        )
    return module.list(
        fields=fields,
        sort_by=options.sort_by,
        sort_order=options.sort_order,
        max_records=options.max_records,
        on_progress=progress,
    )
