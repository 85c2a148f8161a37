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

An export that stops part way (an error from Bigin, Ctrl-C, a cancellation, a kill) keeps what
it wrote: ``NAME.part`` and, beside it, ``NAME.part.state.json`` (see :class:`ExportState`), saved
after every page of 200 once the page is written and on disk (fsync: after a power loss the state
never counts bytes the disk lost). ``--resume`` continues it: the options must be the ones the
state holds, the first bytes of ``.part`` the state counted must hold exactly its records (the
header row, the count, the last id), the rest (a line torn by a crash, a page written after the
last state) is cut off, and the walk continues:

- through pages (``--via calls``) within Bigin's first 2,000 records: from the first page again,
  skipping the ids the file holds (at most 10 calls). Page numbers shift when records are deleted
  in Bigin (a record never written moves onto a page already read) or added (a record written
  moves onto the next page): only reading them again writes each record once;
- through pages past record 2,000: from the saved page token, the head of its page up to the last
  id written skipped (tokens expire, as Zoho's ``page_token_expiry`` says: an old one is refused
  by Bigin, and the export must start over);
- through ``bulk_export`` (``--via jobs``, or ``auto`` when the record count decides): the read
  starts again (a new Bulk Read job: 50 credits a page) and the records up to the last id written
  are skipped, since a Bulk Read job, like ``bulk_export``'s calls, hands records out by id.

Either way the finished file holds every record once. Without ``--resume`` an existing state is
refused (exit 2), never overwritten; ``--resume`` of an export already complete (``NAME`` there,
no ``NAME.part``) is refused too; standard output (``-o -``) cannot be resumed. ``NAME.part`` is
locked while it is written (``flock``; ``msvcrt.locking`` on Windows): a second export of the same name at
the same time is refused instead of cutting the first one's file.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import AsyncIterable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TextIO

from bigin_async._filelock import try_lock
from bigin_async.cli.common import UsageError
from bigin_async.cli.criteria_text import parse_criteria
from bigin_async.cli.progress import ProgressView
from bigin_async.cli.via import Via, export_via
from bigin_async.client import BiginClient
from bigin_async.errors import InvalidRequestError, PaginationLimitError, ValidationError
from bigin_async.models import Record
from bigin_async.pagination import PAGE_WALL, AsyncPaginator, PagePosition
from bigin_async.resources.base import MAX_FIELDS_PER_READ, ModuleClient

if TYPE_CHECKING:
    from bigin_async import CreditsReport

__all__ = [
    "CHECKPOINT_RECORDS",
    "ExportOptions",
    "ExportReport",
    "ExportState",
    "RecordSink",
    "export_records",
    "open_sink",
    "partial_path",
    "resume_hint",
    "run_export",
    "state_path",
]

ExportFormat = Literal["csv", "jsonl"]
# How a resumed export finds its place: the next page (a page walk), or the last id (bulk_export).
Route = Literal["pages", "ids"]
# Records between two saved states through bulk_export (as many as a page walk saves at a time).
CHECKPOINT_RECORDS = 200
_STATE_VERSION = 1


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
    resume: bool = False  # continue the interrupted export NAME.part (see the module's docstring)


@dataclass
class ExportReport:
    count: int  # records in the output (a resumed export: those written before, too)
    elapsed: float  # seconds of this run's walk (from the first request to the last record)
    output: str
    via: Via = "calls"  # what ran: calls, jobs, or auto (bulk_export chose by the record count)
    #: Credits the client spent (its own count, by Zoho's rules), set when the client closes.
    credits: CreditsReport | None = None
    #: Records the ``.part`` file already held when this run resumed it (0: not a resumed run).
    resumed_from: int = 0
    #: Lines for the summary: what the run did that the figures do not say.
    notes: list[str] = field(default_factory=list)

    @property
    def this_run(self) -> int:
        """Records written by this run (the rate's numerator)."""
        return self.count - self.resumed_from


def partial_path(output: str | os.PathLike[str]) -> Path:
    """``NAME.part``: where an export to ``NAME`` is written until it is complete."""
    path = Path(output)
    return path.with_name(path.name + ".part")


def state_path(output: str | os.PathLike[str]) -> Path:
    """``NAME.part.state.json``: where an export to ``NAME`` saves how far it got."""
    path = partial_path(output)
    return path.with_name(path.name + ".state.json")


@dataclass(frozen=True)
class ExportState:
    """How far an interrupted export got: saved as ``NAME.part.state.json`` beside ``NAME.part``.

    ``shape`` is the options that decide the output's content (module, fields, criteria, sort,
    format, via, max records): a resumed run must give the same. ``columns`` the columns they
    resolved to (``--fields all`` follows the module's fields, which can change). ``count`` the
    records written and ``offset`` the length in bytes of ``NAME.part`` holding exactly them.
    ``position`` where a page walk continues (the next page number, or page token past record
    2,000: within them a resume walks again from the first page, see :func:`_rewalks`);
    ``last_id`` the id of the last record written (a read through ``bulk_export`` skips the
    records up to it; a walk from a page token skips the head of its page up to it when records
    added meanwhile pushed it onto that page), checked against the file's last record on resume.
    """

    shape: dict[str, Any]
    columns: list[str]
    route: Route
    count: int
    offset: int
    position: PagePosition | None = None
    last_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": _STATE_VERSION,
            "shape": self.shape,
            "columns": self.columns,
            "route": self.route,
            "count": self.count,
            "offset": self.offset,
            "position": asdict(self.position) if self.position is not None else None,
            "last_id": self.last_id,
        }

    @classmethod
    def from_json(cls, data: Any) -> ExportState:
        """The state a file holds; ValueError when it is not one this version wrote.

        Every field is checked for its type and range, never coerced: a state torn or edited by
        hand (``true`` for a count, ``"12"`` for a byte length) is refused rather than read as
        another position, since a wrong position means records lost or written twice.
        """
        if not isinstance(data, dict) or data.get("version") != _STATE_VERSION:
            raise ValueError("not an export state of this version")
        missing = [name for name in ("shape", "columns", "route", "count", "offset") if name not in data]
        if missing:
            raise ValueError(f"{', '.join(missing)} missing")
        shape, columns, route = data["shape"], data["columns"], data["route"]
        count, offset, last_id = data["count"], data["offset"], data.get("last_id")
        if not isinstance(shape, dict) or not all(isinstance(name, str) for name in shape):
            raise ValueError("shape is not an object")
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
            raise ValueError("columns is not a list of names")
        if route not in ("pages", "ids"):
            raise ValueError(f"route {route!r} is neither 'pages' nor 'ids'")
        if not _is_count(count) or not _is_count(offset):
            raise ValueError("count and offset must be whole numbers >= 0")
        if last_id is not None and not (isinstance(last_id, str) and last_id.isdigit()):
            raise ValueError("last_id is not a record id")
        if (count == 0) != (last_id is None):
            raise ValueError("count and last_id disagree")
        return cls(
            shape=dict(shape),
            columns=list(columns),
            route=route,
            count=count,
            offset=offset,
            position=_position(data.get("position")),
            last_id=last_id,
        )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _position(data: Any) -> PagePosition | None:
    """A saved :class:`PagePosition`, checked (ValueError when it is not one a walk gives)."""
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) != {"page", "page_token", "records", "per_page", "done"}:
        raise ValueError("position is not a page position")
    page, token, records, per_page, done = (
        data["page"],
        data["page_token"],
        data["records"],
        data["per_page"],
        data["done"],
    )
    if not _is_count(per_page) or not 1 <= per_page <= 200:
        raise ValueError("position.per_page must be from 1 to 200")
    if not _is_count(page) or not 1 <= page <= PAGE_WALL // per_page + 1:
        raise ValueError(f"position.page must be from 1 to {PAGE_WALL // per_page + 1}")
    if token is not None and not (isinstance(token, str) and token and token.isascii()):
        raise ValueError("position.page_token is not a page token")
    if not _is_count(records) or not isinstance(done, bool):
        raise ValueError("position.records or position.done is of the wrong type")
    return PagePosition(page=page, page_token=token, records=records, per_page=per_page, done=done)


def _shape(options: ExportOptions) -> dict[str, Any]:
    """The options that decide what the output holds (the rest, like --poll-interval, do not)."""
    return {
        "module": options.module,
        "fields": options.fields,
        "criteria": options.criteria,
        "sort_by": options.sort_by,
        "sort_order": options.sort_order,
        "format": options.fmt,
        "via": options.via,
        "max_records": options.max_records,
    }


_OPTION_NAMES = {
    "module": "MODULE",
    "fields": "--fields",
    "criteria": "--criteria",
    "sort_by": "--sort-by",
    "sort_order": "--sort-order",
    "format": "--format",
    "via": "--via",
    "max_records": "--max-records",
}


def resume_hint(output: str) -> str | None:
    """What to tell the user after an export to ``output`` stopped: the records kept and how to go on
    (None: nothing was kept to resume)."""
    if output == "-":
        return None
    try:
        state = ExportState.from_json(json.loads(state_path(output).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
    part = partial_path(output)
    return (
        f"{part} holds the first {state.count:,} records: run the same command with --resume to "
        f"continue from there (or delete {part} and {state_path(output)} to start over)"
    )


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


class RecordSink:
    """Writes records to an open text stream as CSV (fixed columns) or JSON lines (as read).

    ``header=False`` leaves the CSV's header row out (a resumed file has it already).
    """

    def __init__(
        self, handle: TextIO, fmt: ExportFormat, columns: Sequence[str], *, header: bool = True
    ) -> None:
        self.handle = handle
        self.fmt = fmt
        self.columns = list(columns)
        self.count = 0
        self._csv = csv.writer(handle) if fmt == "csv" else None
        if self._csv is not None and header:
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
        self.partial = None if self.path is None else partial_path(self.path)
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


def _previous(options: ExportOptions) -> ExportState | None:
    """The state of the interrupted export ``--resume`` continues (None: none, start afresh).

    Refuses (UsageError, exit 2) a state without ``--resume``, one that cannot be read, one whose
    options differ from these, and ``--resume`` of an export that is complete already (``NAME``
    there and no ``NAME.part``): never a silent overwrite or a file of two exports. A state left
    without its ``.part`` (the process died between renaming the finished file and removing the
    state) describes nothing any more and is removed.
    """
    if options.output == "-":
        return None
    part, saved = partial_path(options.output), state_path(options.output)
    if saved.exists() and not part.exists():
        saved.unlink(missing_ok=True)
    if not options.resume:
        if saved.exists():
            raise UsageError(
                f"{part} holds an interrupted export ({saved} says how far it got): pass --resume "
                f"to continue it, or delete both files to start over"
            )
        return None
    if not saved.exists():
        if part.exists():
            raise UsageError(
                f"--resume: {part} has no {saved.name} beside it, so where it stopped is unknown: "
                f"delete {part} and export again"
            )
        if Path(options.output).exists():
            raise UsageError(
                f"--resume: {options.output} is complete already (there is no {part.name} to continue): "
                "run without --resume to export it again"
            )
        return None
    try:
        state = ExportState.from_json(json.loads(saved.read_bytes().decode("utf-8")))
    except (OSError, ValueError) as error:
        raise UsageError(
            f"--resume: {saved} cannot be read ({error}): delete it and {part} and export again"
        ) from None
    shape = _shape(options)
    changed = [
        f"{_OPTION_NAMES.get(name, name)} was {state.shape.get(name)!r}, now {shape[name]!r}"
        for name in shape
        if state.shape.get(name) != shape[name]
    ]
    if changed:
        raise UsageError(
            "--resume needs the options of the export it continues: "
            + "; ".join(changed)
            + f" (run it with those, or delete {part} and {saved} to start over)"
        )
    return state


def _per_page(max_records: int | None) -> int:
    """The page size of an export's walk (what the paginator asks for with ``max_records``)."""
    return min(200, max_records) if max_records is not None else 200


def _lines(handle: BinaryIO, offset: int) -> Iterator[str]:
    """The lines of the first ``offset`` bytes, decoded (ValueError when ``offset`` is not a line end
    or the bytes are not UTF-8)."""
    remaining = offset
    for raw in handle:
        if remaining == 0:
            return
        if len(raw) > remaining or not raw.endswith(b"\n"):
            raise ValueError(f"byte {offset:,} is not the end of a line")
        remaining -= len(raw)
        yield raw.decode("utf-8")
    if remaining:
        raise ValueError(f"it ends before byte {offset:,}")


def _read_part(
    part: Path, fmt: ExportFormat, columns: list[str], offset: int, *, ids: bool
) -> tuple[int, str | None, set[str]]:
    """The records the first ``offset`` bytes of ``part`` hold: their count, the last id, and (with
    ``ids``) every id. Read as a stream: memory holds one line (and the ids when asked)."""
    count, last, seen = 0, None, set()
    with part.open("rb") as handle:
        lines = _lines(handle, offset)
        if fmt == "csv":
            rows = csv.reader(lines)
            header = next(rows, None)
            if header != columns:
                raise ValueError("its first line is not the header row the export wrote")
            values: Iterator[Any] = (row[0] if row else None for row in rows)
        else:
            values = (_json_id(line) for line in lines)
        for value in values:
            if not isinstance(value, str) or not value.isdigit():
                raise ValueError(f"record {count + 1:,} has no id")
            count, last = count + 1, value
            if ids:
                seen.add(value)
    return count, last, seen


def _json_id(line: str) -> Any:
    data = json.loads(line)
    return data.get("id") if isinstance(data, dict) else None


def _check_partial(
    state: ExportState, options: ExportOptions, columns: list[str], route: Route
) -> set[str] | None:
    """The ``.part`` file can be continued: the same columns, and its first ``state.offset`` bytes
    are exactly the ``state.count`` records the state says, the last of them ``state.last_id``.

    Returns the ids written when the walk is to start again from the first page (see
    :func:`_rewalks`), else None.
    """
    part, saved = partial_path(options.output), state_path(options.output)
    if columns != state.columns:
        raise UsageError(
            f"--resume: the export's columns changed since it stopped ({', '.join(state.columns)} then, "
            f"{', '.join(columns)} now): delete {part} and {saved} and export again"
        )
    if route != state.route:
        raise UsageError(
            f"--resume: the export ran through {'pages' if state.route == 'pages' else 'bulk_export'} and "
            f"would now run through {'pages' if route == 'pages' else 'bulk_export'}: give the same --via"
        )
    position = state.position
    if route == "pages" and position is not None and position.per_page != _per_page(options.max_records):
        raise UsageError(
            f"--resume: {saved} is not a state this export writes (pages of {position.per_page}): "
            f"delete it and {part} and export again"
        )
    try:
        size = part.stat().st_size
    except OSError as error:
        raise UsageError(
            f"--resume: {part} cannot be read ({error}): export again without --resume"
        ) from None
    if size < state.offset:
        raise UsageError(
            f"--resume: {part} is not the file its state describes: it has {size:,} bytes and the state "
            f"counted {state.offset:,} (a file cut short, or data the disk lost in a power failure): "
            f"delete it and {saved} and export again"
        )
    rewalk = _rewalks(state)
    try:
        count, last, ids = _read_part(part, options.fmt, columns, state.offset, ids=rewalk)
    except (OSError, ValueError, csv.Error) as error:
        reason = str(error)
    else:
        if (count, last) == (state.count, state.last_id):
            return ids if rewalk else None
        reason = f"{count:,} records up to byte {state.offset:,}, the state counted {state.count:,}"
    raise UsageError(
        f"--resume: {part} is not the file its state describes ({reason}): delete it and {saved} "
        "and export again"
    )


def _rewalks(state: ExportState) -> bool:
    """Whether a page walk resumes by walking again from the first page, skipping the ids written.

    Within Bigin's first 2,000 records a walk goes by page number, and page numbers do not hold
    still: records deleted in Bigin since the stop pull later records onto pages already read (they
    would never be written), records added push written ones onto the next page (they would be
    written twice), a record edited moves under a sort by a field. Reading those pages again (at
    most 10 calls) and skipping the ids the file holds writes each record once, whatever changed.
    Past record 2,000 the walk holds a page token, the only way there: it continues from the token
    (Zoho does not document what a token does when records change meanwhile; the emulator keys it
    to the last record served), and skips the head of its page up to the last id written.
    """
    return state.route == "pages" and (state.position is None or state.position.page_token is None)


def _lock(handle: TextIO, part: Path) -> None:
    """Hold ``part``'s lock while this run writes it (released when the file closes or the process
    dies); UsageError when another export holds it."""
    try:
        locked = try_lock(handle.fileno())
    except OSError:
        locked = False
    if not locked:
        handle.close()
        raise UsageError(
            f"{part} is being written by another bigin export (it holds the file's lock): let it "
            "finish, or stop it and run this one with --resume"
        )


class _Writer:
    """The output of one run: the sink, and (for a file) the state saved at each consistent point.

    A consistent point is between pages (a page walk) or between records (``bulk_export``): the
    file then holds exactly ``count`` whole records, the last one ``last_id``. Only such points
    are saved, so a stop in the middle of a page (Ctrl-C under trio can land anywhere) resumes
    from the page before it.
    """

    def __init__(
        self,
        options: ExportOptions,
        columns: list[str],
        route: Route,
        previous: ExportState | None,
    ) -> None:
        self._options = options
        self.output = options.output
        self._columns = columns
        self._route: Route = route
        self.file = options.output != "-"
        self._part = partial_path(options.output) if self.file else None
        self._state_file = state_path(options.output) if self.file else None
        self.handle: TextIO
        if self._part is None:
            self.handle = sys.stdout
        else:
            # Opened without truncating, locked, then cut: a second export of the same NAME (a
            # scheduled run meeting a manual --resume) must not cut or interleave the first's file.
            self._part.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self._part, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
            self.handle = open(descriptor, "r+", newline="", encoding="utf-8")
            _lock(self.handle, self._part)
            self.handle.truncate(previous.offset if previous is not None else 0)  # a torn line goes
            self.handle.seek(0, os.SEEK_END)
        self.sink = RecordSink(self.handle, options.fmt, columns, header=previous is None)
        self.sink.count = previous.count if previous is not None else 0
        self.resumed_from = self.sink.count
        self.last_id = previous.last_id if previous is not None else None
        self.position = previous.position if previous is not None else None
        self.saved = previous is not None
        self._between = True  # at a consistent point (no record or page half written)

    @property
    def count(self) -> int:
        return self.sink.count

    def start_page(self) -> None:
        self._between = False

    def write(self, record: Record) -> None:
        between, self._between = self._between, False
        self.sink.write(record)
        self.last_id = record.id
        self._between = between

    def checkpoint(self, position: PagePosition | None = None) -> None:
        """A consistent point: flush the file and save the state (a file only)."""
        self._between = True
        self.position = position
        if self._part is None or self._state_file is None:
            return
        self.handle.flush()
        # On disk before the state claims it: after a power loss, a state counting bytes the disk
        # never got could only be refused, and the export would start over.
        os.fsync(self.handle.fileno())
        state = ExportState(
            shape=_shape(self._options),
            columns=self._columns,
            route=self._route,
            count=self.count,
            offset=self.handle.tell(),
            position=position,
            last_id=self.last_id,
        )
        temporary = self._state_file.with_name(self._state_file.name + ".tmp")
        temporary.unlink(missing_ok=True)  # a kill's leftover, or a link planted to be written through
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with open(descriptor, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(state.to_json()))
            handle.flush()
            os.fsync(handle.fileno())  # the new state whole, or (the rename lost) the old one
        os.replace(temporary, self._state_file)  # atomic: the old state or the new, never half
        self.saved = True

    def complete(self) -> None:
        if self._part is None or self._state_file is None:
            self.handle.flush()
            return
        self.handle.close()
        assert self._options.output != "-"
        os.replace(self._part, self._options.output)
        self._state_file.unlink(missing_ok=True)
        self._state_file.with_name(self._state_file.name + ".tmp").unlink(missing_ok=True)

    def stopped(self, *, resumable: bool) -> None:
        """The run stopped before the end: keep the file and its state when it can be resumed."""
        if self._part is None or self._state_file is None:
            self.handle.flush()
            return
        if resumable and self._route == "ids" and self._between and self.count > self.resumed_from:
            try:
                self.checkpoint(self.position)  # the records read since the last saved state
            except OSError:
                pass  # the state saved before still describes a prefix of the file
        self.handle.close()
        if not resumable or not self.saved:
            self._part.unlink(missing_ok=True)
            self._state_file.unlink(missing_ok=True)
            self._state_file.with_name(self._state_file.name + ".tmp").unlink(missing_ok=True)


async def run_export(client: BiginClient, options: ExportOptions, view: ProgressView) -> ExportReport:
    if options.resume and options.output == "-":
        raise UsageError("--resume continues a file; standard output (-o -) cannot be resumed")
    previous = _previous(options)
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
    route: Route = "pages" if via == "calls" else "ids"
    notes: list[str] = []
    written: set[str] | None = None
    if previous is not None:
        written = _check_partial(previous, options, columns, route)
    elif options.resume:
        notes.append("nothing to resume: no interrupted export of this name; exported from the first record")
    started = time.perf_counter()
    writer = _Writer(options, columns, route, previous)
    complete = False
    resumable = True  # what a stop leaves: NAME.part and its state, when any was saved
    records: AsyncIterable[Any] | None = None
    try:
        if route == "pages":
            described = f"export {options.module}"
            progress = view.count_task(described, options.max_records, completed=writer.count)
            await _write_pages(
                _paged(module, options, fields), writer, options.max_records, progress, written
            )
        else:
            records = module.bulk_export(
                fields=[name for name in names if name != "id"],
                criteria=parse_criteria(options.criteria) if options.criteria else None,
                via=via,
                poll_interval=options.poll_interval,
                on_progress=view.export_task(f"export {options.module} via {via}", options.max_records),
            )
            await _write_by_id(records, writer, options.max_records)
        complete = True
    except PaginationLimitError:
        resumable = False  # a search past its reach fails the same way however often it is resumed
        raise
    finally:
        try:
            if complete:
                writer.complete()
            else:
                writer.stopped(resumable=resumable)
        finally:
            aclose = getattr(records, "aclose", None)
            if aclose is not None:  # a --max-records stop leaves the export's files to clean up now
                await aclose()
    elapsed = time.perf_counter() - started
    view.finish(records=writer.count - writer.resumed_from, seconds=elapsed)
    if previous is not None:
        notes.append(f"resumed after record {previous.count:,}")
    if written is not None:
        notes.append(
            "read again from the first page, the records written before skipped by id (page numbers "
            "shift when records are added or deleted in Bigin)"
        )
    # What ran: auto's choice once bulk_export made it (from the record count), not "auto".
    chosen = getattr(records, "via", None)
    ran: Via = chosen if chosen in ("calls", "jobs") else via
    if via == "auto" and ran != "auto":
        notes.append("auto chose " + ("Bulk Read jobs" if ran == "jobs" else "pages of 200"))
    return ExportReport(
        writer.count, elapsed, options.output, ran, resumed_from=writer.resumed_from, notes=notes
    )


async def _write_pages(
    paginator: AsyncPaginator[Any],
    writer: _Writer,
    max_records: int | None,
    progress: Callable[[int], None],
    written: set[str] | None = None,
) -> None:
    """A page walk: each page written whole, then flushed and its position saved.

    ``written`` (a resume within the first 2,000 records, see :func:`_rewalks`): the walk starts
    again from the first page and the records of these ids are skipped. Else a resumed walk
    continues from the saved position. ``max_records`` counts the records of every run, so the
    paginator is given none: it would count the records read again and skipped.
    """
    start = writer.position if written is None else None
    try:
        pages = paginator.pages(start=start)
    except ValidationError as error:
        part = partial_path(writer.output)
        raise UsageError(
            f"--resume: {state_path(writer.output)} is not a state this export writes ({error}): "
            f"delete it and {part} and export again"
        ) from None
    repeat = writer.last_id if start is not None else None  # the next page may begin with records written
    try:
        async for page in pages:
            start = None
            records = page.data
            if repeat is not None:
                ids = [record.id for record in records]
                if repeat in ids:  # records added since pushed the page: its head was written already
                    records = records[ids.index(repeat) + 1 :]
                repeat = None
            if written is not None:
                records = [record for record in records if record.id not in written]
            writer.start_page()
            for record in records:
                if max_records is not None and writer.count >= max_records:
                    break
                writer.write(record)
            writer.checkpoint(pages.position)
            progress(writer.count)
            if max_records is not None and writer.count >= max_records:
                break
    except InvalidRequestError as error:
        if start is None or start.page_token is None:
            raise
        # Only a page token reaches past record 2,000, and Zoho's expire (page_token_expiry):
        # there is no other way back to where the walk stopped.
        part = partial_path(writer.output)
        raise UsageError(
            f"--resume: Bigin refused the page token saved with {part} ({error}); page tokens expire, "
            f"and only a token reaches past record 2,000: delete {part} and {state_path(writer.output)} "
            "and export again"
        ) from error


async def _write_by_id(records: AsyncIterable[Any], writer: _Writer, max_records: int | None) -> None:
    """A read through ``bulk_export`` (records by id): those up to the last id written are skipped."""
    floor = int(writer.last_id) if writer.last_id is not None else None
    async for record in records:
        if floor is not None and int(record.id or 0) <= floor:
            continue
        if max_records is not None and writer.count >= max_records:
            break
        writer.write(record)
        if writer.count % CHECKPOINT_RECORDS == 0:
            writer.checkpoint()


def _paged(module: ModuleClient[Any], options: ExportOptions, fields: str) -> AsyncPaginator[Any]:
    """The calls path: a search for ``--criteria``, else the module's list (both page by page).

    The page size follows ``--max-records`` as the paginator's own limit would (fewer than a page
    wanted: a smaller page); the limit itself is the writer's (see :func:`_write_pages`).
    """
    per_page = _per_page(options.max_records)
    if options.criteria:
        return module.search(criteria=options.criteria, fields=fields, per_page=per_page)
    return module.list(
        fields=fields, per_page=per_page, sort_by=options.sort_by, sort_order=options.sort_order
    )
