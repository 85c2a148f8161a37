"""``bulk_export``: every record of a module (or of a criteria) through Bulk Read jobs, as typed records.

A Bulk Read job returns up to 200,000 records for 50 credits, where 200-record pages cost 1,000:
a million contacts cost 250 credits instead of 5,000. The export creates a job for page 1, waits
for it, downloads its zip, and reads the CSV in it row by row straight out of the zip, so memory
holds one row whatever the record count (the zip itself is on disk). When the job says
``more_records``, the next page is a new job with ``page`` + 1, until the last.

Each row becomes the module's record class, typed as a REST record is (see
:mod:`bigin_async.bulk.jobs.csv_values`): an exported record equals the same record read with
``get()``, for the fields the CSV carries (a lookup carries its id only, a tag its name).

Files: each page's zip goes to a temporary directory (in ``workdir`` when given) and is unlinked
as soon as it is opened, so nothing stays on disk whatever happens to the export (finished, left
with ``break``, cancelled, failed). With ``to="contacts.csv"`` the CSVs are kept, exactly as Zoho
wrote them: page 1 as ``contacts.csv``, page 2 as ``contacts-2.csv``, page 3 as ``contacts-3.csv``
(the page number before the extension), each written as ``<name>.part`` and renamed when whole;
:attr:`BulkExport.paths` lists them (a file of an earlier, longer export beside them is left
as it is).

``via``: ``"jobs"`` (the default) always runs jobs; ``"calls"`` reads pages of 200 through
``list()`` (sorted by id, as jobs are) or ``search()`` (with criteria, which reaches 2,000
records, sorted by id once all are read), at most 50 fields (``fields`` None: all of them,
refused past 50), and its records also carry lookup names; ``"auto"`` runs calls when fewer
than :data:`AUTO_JOBS_THRESHOLD_READ` records match, jobs otherwise (see :class:`BulkExport`).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import weakref
import zipfile
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, Union

import anyio
import anyio.lowlevel
import anyio.to_thread

from bigin_async._lifecycle import AsyncClosing
from bigin_async._redact import get_logger
from bigin_async.bulk.jobs.csv_values import RowReader, row_reader
from bigin_async.bulk.jobs.via import Via
from bigin_async.criteria import Criteria
from bigin_async.errors import BulkJobError, PaginationLimitError, UsageError, ValidationError
from bigin_async.models import FieldInfo, Record, mark_as_read
from bigin_async.models.jobs import BulkReadJob, check_bulk_module

logger = get_logger("bulk")

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "AUTO_JOBS_THRESHOLD_READ",
    "BulkExport",
    "ExportProgress",
    "ExportProgressCallback",
    "ExportSource",
    "ReadJobs",
    "page_path",
]

R = TypeVar("R", bound=Record)

ExportCriteria = Union[Criteria, Mapping[str, Any], None]

# ``via="auto"`` runs jobs from this many matching records: below it 200-record pages cost fewer
# credits than a job (50 credits = 50 pages = 10,000 records) and answer at once, where a job waits
# in Zoho's queue.
AUTO_JOBS_THRESHOLD_READ = 10_000
# Rows read between two yields to the event loop (and progress reports while reading a page).
ROWS_PER_CHECKPOINT = 1_000
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
# What reading a damaged result raises: not a zip, a bad CRC, cut deflate data, not UTF-8, bad CSV,
# a compression method zipfile cannot read.
_TORN = (ValueError, zipfile.BadZipFile, zlib.error, EOFError, csv.Error, NotImplementedError)
_ENCRYPTED = 0x1  # a zip member's general purpose flag: its data is encrypted
# The longest header line read (field API names: 200 columns of them are a few kilobytes).
_MAX_HEADER_CHARS = 1024 * 1024
# The most one cell of a Bulk Read result may hold: csv's own default (Zoho's longest text field
# holds 32,000 characters). Not csv.field_size_limit() as it is now: reading a Bulk Write's results
# (or anything else in the process) may have raised that to 2 GiB for everyone.
_MAX_CELL_CHARS = 128 * 1024


@dataclass(frozen=True)
class ExportProgress:
    """Where an export stands: ``phase`` ``waiting`` (on the job), ``downloading``, ``reading``.

    ``page`` is the Bulk Read page (1, 2, ...; 0 when reading through calls), ``records`` the
    records handed out so far in all, ``job_id``/``job_state`` the page's job as last seen, and
    ``page_records`` how many records the page holds (once its job completed).
    """

    phase: Literal["waiting", "downloading", "reading"]
    page: int
    records: int
    job_id: str | None = None
    job_state: str | None = None
    page_records: int | None = None


ExportProgressCallback = Callable[[ExportProgress], None]


class ReadJobs(Protocol):
    """What an export asks of ``client.bulk_jobs``."""

    async def create_read(
        self,
        *,
        module: str,
        fields: Sequence[str] | None = None,
        criteria: Criteria | Mapping[str, Any] | None = None,
        page: int = 1,
        callback_url: str | None = None,
    ) -> BulkReadJob: ...

    async def wait_read(
        self,
        job_id: str,
        *,
        poll_interval: float = 5.0,
        on_state: Callable[[BulkReadJob], object] | None = None,
    ) -> BulkReadJob: ...

    async def download(self, url_or_job: Any, *, to: str | os.PathLike[str]) -> Path: ...


@dataclass(frozen=True)
class ExportSource(Generic[R]):
    """What an export reads from, given by the module client: its jobs, metadata and listings.

    ``records(fields, criteria)`` walks the records through calls (``list()`` sorted by id, or
    ``search()``); ``coql(query)`` runs a COQL query (the record count probe of ``via="auto"``);
    ``calls_max_fields`` is how many fields a call reads at most.
    """

    module: str
    model: type[R]
    jobs: ReadJobs
    field_metadata: Callable[[], Awaitable[Sequence[FieldInfo]]]
    records: Callable[[Sequence[str], Criteria | None], AsyncIterable[R]]
    coql: Callable[[str], AsyncIterable[Record]]
    calls_max_fields: int = 50  # fields a call reads at most (Bigin's cap): more go through jobs


def page_path(to: Path, page: int) -> Path:
    """Where page ``page``'s CSV is kept: ``to`` for page 1, ``stem-N.suffix`` beside it after."""
    if page == 1:
        return to
    return to.with_name(f"{to.stem}-{page}{to.suffix}")


def _check_options(via: object, poll_interval: object, to: Path | None, workdir: Path | None) -> None:
    if via not in ("calls", "jobs", "auto"):
        raise ValidationError(f"via must be 'calls', 'jobs' or 'auto', got {via!r}")
    if (
        isinstance(poll_interval, bool)
        or not isinstance(poll_interval, (int, float))
        or not 0 <= poll_interval < float("inf")
    ):
        raise ValidationError(f"poll_interval must be a number of seconds >= 0, got {poll_interval!r}")
    if to is not None and to.is_dir():
        raise ValidationError(f"to={str(to)!r} is a directory; name the CSV file to write (page 1's)")
    if to is not None and not to.parent.is_dir():
        raise ValidationError(f"to={str(to)!r}: its directory does not exist")
    if workdir is not None and not workdir.is_dir():
        raise ValidationError(f"workdir={str(workdir)!r} is not a directory")


class _Rows:
    """The rows of one page's CSV, read one at a time from an open file (a zip, or a kept CSV).

    The file is opened by descriptor and, for a zip, unlinked at once: it exists only while this
    reader holds it. ``close()`` releases it; a reader dropped unclosed (an ``async for`` left by
    ``break``) releases its descriptor when collected (closing a read-only descriptor: no I/O).
    """

    def __init__(self, path: Path, *, zipped: bool, unlink: bool) -> None:
        fd = os.open(path, _OPEN_FLAGS)
        self._release = weakref.finalize(self, os.close, fd)
        self.leftover: Path | None = None
        try:
            binary: IO[bytes] = open(fd, "rb", closefd=False)  # closed by close()
            if zipped:
                archive = zipfile.ZipFile(binary)
                binary = archive.open(_csv_member(archive))
            self._text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
            lines = _BoundedLines(self._text, _MAX_HEADER_CHARS)
            self._reader: Iterator[list[str]] = csv.reader(lines)
            self.header: list[str] = next(self._reader, [])
            # A line holds at most one row: each cell up to the csv module's field limit.
            cell = min(csv.field_size_limit(), _MAX_CELL_CHARS)
            lines.limit = (cell + 3) * max(1, len(self.header))
        except BaseException:
            self._release()
            raise
        if unlink:
            try:
                os.unlink(path)
            except OSError:  # a system that cannot unlink an open file: removed at close
                self.leftover = path

    def next_row(self) -> list[str] | None:
        return next(self._reader, None)

    def close(self) -> None:
        self._text.close()
        self._release()


class _BoundedLines:
    """The lines of a text file, each read only up to ``limit`` characters.

    A zip of a few kilobytes can inflate to gigabytes of one line: read whole (as iterating a
    file does), that line would fill memory before the CSV reader could find it too long. A
    line longer than ``limit`` is an error instead.
    """

    def __init__(self, text: IO[str], limit: int) -> None:
        self._text = text
        self.limit = limit

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        line = self._text.readline(self.limit + 1)
        if not line:
            raise StopIteration
        if len(line) > self.limit and line[-1] not in "\r\n":
            raise ValueError(f"a line of the CSV runs past {self.limit} characters, longer than a row can be")
        return line


def _csv_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) != 1 or not members[0].filename.lower().endswith(".csv"):
        names = [info.filename for info in members]
        raise ValueError(f"a Bulk Read result holds one CSV, this zip holds {names}")
    if members[0].flag_bits & _ENCRYPTED:  # zipfile would ask for a password (a RuntimeError)
        raise ValueError(f"the CSV {members[0].filename!r} in the zip is encrypted")
    return members[0]


def _extract_csv(zip_path: Path, target: Path) -> None:
    """Copy the zip's CSV to ``target`` (through ``<target>.part``, fsynced, renamed when whole)."""
    part = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(zip_path) as archive, archive.open(_csv_member(archive)) as source:
            with open(part, "wb") as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


class _Replay(AsyncIterator[R]):
    """Records already read, handed out again one at a time (no generator left to finalize)."""

    def __init__(self, records: Sequence[R]) -> None:
        self._records = iter(records)

    async def __anext__(self) -> R:
        try:
            return next(self._records)
        except StopIteration:
            raise StopAsyncIteration from None


def _remove_tree(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


class BulkExport(AsyncClosing, AsyncIterator[R], Generic[R]):
    """The records of an export: ``async for record in client.contacts.bulk_export(...)``.

    One pass: the export creates jobs (50 credits each) as it goes, so iterating it again does
    not start over. Leaving early (``break``) is safe; ``await export.aclose()`` or
    ``async with client.contacts.bulk_export(...) as records:`` releases the open page at once.
    An error (a FAILED job: :class:`~bigin_async.errors.BulkJobFailedError`) or a cancellation
    ends the export: nothing of it stays on disk but the pages kept with ``to=`` that were whole.

    ``via="auto"`` counts cheaply before choosing: without criteria one COQL call asks whether a
    :data:`AUTO_JOBS_THRESHOLD_READ`-th record exists (1 credit); with criteria, ids are walked
    through search up to its 2,000-record reach (at most 10 calls), and more than that runs jobs,
    since calls cannot reach them; JSON criteria (a ``Mapping``), and more fields than a call
    reads (50), always run jobs. :attr:`via` says what was chosen, once the first record was
    asked for.

    Pages are chained by number, as Zoho serves them (matches sorted by id). Page n+1's job is
    created as soon as page n's job completes with ``more_records``, so it runs while page n is
    downloaded and read (an export left before its last page leaves that job unread: 50
    credits). A record created during the export with an id inside a page already read pushes
    that page's last records onto the next one: those repeated rows (ids not above the previous
    page's last id) are skipped, so every record is handed out once. A record deleted during the
    export pulls the next page's first record back onto a page already read, where it is not
    seen: export a quiet module, or export again what changed (criteria on ``Modified_Time``).
    """

    def __init__(
        self,
        source: ExportSource[R],
        *,
        fields: Sequence[str] | None = None,
        criteria: ExportCriteria = None,
        to: str | os.PathLike[str] | None = None,
        via: Via = "jobs",
        poll_interval: float = 5.0,
        on_progress: ExportProgressCallback | None = None,
        workdir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._to = Path(to) if to is not None else None
        self._workdir = Path(workdir) if workdir is not None else None
        _check_options(via, poll_interval, self._to, self._workdir)
        if isinstance(fields, str):
            raise ValidationError("fields must be a list of field API names, not one string")
        if criteria is not None and not isinstance(criteria, (Criteria, Mapping)):
            raise ValidationError(f"criteria must be a Criteria or a JSON criteria mapping, got {criteria!r}")
        if via == "calls" and isinstance(criteria, Mapping):
            raise ValidationError(
                "JSON criteria (a mapping) are Bulk Read's form; through calls give a Criteria "
                "(Field('Email') == ...), or use via='jobs'"
            )
        self._source = source
        self._module = check_bulk_module(source.module, "read") if via != "calls" else source.module
        self._fields = list(dict.fromkeys(fields)) if fields is not None else None
        self._criteria = criteria
        self._requested_via: Via = via
        self._poll_interval = float(poll_interval)
        self._on_progress = on_progress
        self.via: Literal["calls", "jobs"] | None = None
        self.paths: list[Path] = []
        self._calls: AsyncIterator[R] | None = None
        self._metadata: Sequence[FieldInfo] | None = None
        self._rows: _Rows | None = None
        self._read: RowReader | None = None
        self._page = 0
        self._next_page: int | None = 1
        self._job: BulkReadJob | None = None
        self._ahead: BulkReadJob | None = None  # the next page's job, created before it is needed
        self._last_id = -1  # the previous page's last id, to skip rows a shifted page repeats
        self._leading = False  # still at the head of a page (where repeated rows can be)
        self._count = 0
        self._page_count = 0
        self._finished = False
        self._failure: BaseException | None = None

    def __repr__(self) -> str:
        via = self.via or self._requested_via
        return f"BulkExport(module={self._module!r}, via={via!r}, records={self._count})"

    @property
    def records(self) -> int:
        """How many records the export has handed out so far."""
        return self._count

    def __aiter__(self) -> Self:
        return self

    async def aclose(self) -> None:
        """Release the page being read and end the export (idempotent)."""
        self._finished = True
        self._close_page()

    async def __anext__(self) -> R:
        if self._failure is not None:
            raise UsageError("this export stopped at an error (raised before); start a new bulk_export")
        if self._finished:
            raise StopAsyncIteration
        try:
            if self.via is None:
                self.via = await self._choose()
            record = await (self._next_call() if self.via == "calls" else self._next_job_record())
        except StopAsyncIteration:
            self._finished = True
            self._close_page()
            raise
        except BaseException as error:
            self._failure = error
            self._close_page()
            raise
        self._count += 1
        return record

    # -- choosing ---------------------------------------------------------------------------
    async def _choose(self) -> Literal["calls", "jobs"]:
        via = self._requested_via
        if via != "auto":
            return via
        if isinstance(self._criteria, Mapping) or len(await self._names()) > self._source.calls_max_fields:
            return "jobs"  # calls can express neither JSON criteria nor a read of that many fields
        if self._criteria is None:
            query = (
                f"select id from {self._module} where id is not null limit {AUTO_JOBS_THRESHOLD_READ - 1}, 1"
            )
            async for _ in self._source.coql(query):
                return "jobs"
            return "calls"
        try:
            async for _ in self._source.records(["id"], self._criteria):
                pass
        except PaginationLimitError:  # more than search reaches: only jobs read them all
            return "jobs"
        return "calls"

    # -- calls ------------------------------------------------------------------------------
    async def _next_call(self) -> R:
        if self._calls is None:
            names = await self._names()
            criteria = self._criteria if isinstance(self._criteria, Criteria) else None
            records = self._source.records(names, criteria)
            if criteria is None:
                self._calls = aiter(records)  # list() sorted by id, page after page
            else:
                # Search answers in an order of its own, and reaches 2,000 records at most: they
                # are sorted by id, the order jobs (and list()) give, whichever way was chosen.
                found = [record async for record in records]
                found.sort(key=lambda record: int(record.id or 0))
                self._calls = _Replay(found)
        record = await anext(self._calls)
        if self._count % ROWS_PER_CHECKPOINT == 0:
            self._progress("reading")
        return record

    async def _names(self) -> list[str]:
        """The fields a read through calls asks for: those given, or all of the module's."""
        return self._fields or [f.api_name for f in await self._field_metadata() if f.api_name]

    # -- jobs -------------------------------------------------------------------------------
    async def _field_metadata(self) -> Sequence[FieldInfo]:
        if self._metadata is None:
            self._metadata = await self._source.field_metadata()
        return self._metadata

    async def _next_job_record(self) -> R:
        while True:
            if self._rows is None:
                if self._next_page is None:
                    raise StopAsyncIteration
                await self._open_page(self._next_page)
            assert self._rows is not None and self._read is not None
            try:
                row = self._rows.next_row()
            except _TORN as error:  # cut or corrupt deflate data, bytes that are not UTF-8
                raise self._error(f"after row {self._page_count} of page {self._page}: {error}") from None
            if row is None:
                self._end_page()
                continue
            self._page_count += 1
            if self._page_count % ROWS_PER_CHECKPOINT == 0:
                self._progress("reading")
                await anyio.lowlevel.checkpoint()
            record = self._record(row)
            if record is not None:
                return record

    def _record(self, row: list[str]) -> R | None:
        assert self._read is not None
        try:
            values = self._read(row)
            number = int(values["id"])
        except (ValueError, TypeError) as error:
            raise self._error(f"row {self._page_count} of page {self._page}: {error}") from None
        if self._leading:
            if number <= self._last_id:
                logger.debug(
                    "export: page %d repeats record %s (the page shifted); skipped",
                    self._page,
                    number,
                    extra={"bigin_event": "export_record_repeated"},
                )
                return None
            self._leading = False
        self._last_id = max(self._last_id, number)
        try:
            record = self._source.model.model_validate(values)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise self._error(
                f"row {self._page_count} of page {self._page} is not a record: {error}"
            ) from None
        mark_as_read([record])
        return record

    def _error(self, what: str) -> BulkJobError:
        job = self._job
        return BulkJobError(
            f"the Bulk Read result of job {job.id if job else '?'} cannot be read: {what}",
            job_id=job.id if job else None,
            state=job.state if job else None,
            job=job,
        )

    async def _open_page(self, page: int) -> None:
        self._page, self._page_count, self._job = page, 0, None
        self._progress("waiting")
        jobs = self._source.jobs
        ahead, self._ahead = self._ahead, None
        created = ahead if ahead is not None else await self._create(page)
        self._job = created
        self._progress("waiting")

        def on_state(job: BulkReadJob) -> None:
            self._job = job
            self._progress("waiting")

        job = await jobs.wait_read(created.id, poll_interval=self._poll_interval, on_state=on_state)
        self._job = job
        if job.result is None or not job.result.download_url:
            raise self._error("the completed job names no result to download")
        if job.result.more_records:
            # The next page's job runs on Zoho's side while this page downloads and is read.
            self._ahead = await self._create(page + 1)
        self._progress("downloading")
        directory = Path(tempfile.mkdtemp(prefix="bigin-export-", dir=self._workdir))
        try:
            zip_path = directory / f"{job.id}.zip"
            await jobs.download(job, to=zip_path)
            self._progress("reading")
            try:
                self._rows = await anyio.to_thread.run_sync(self._open_rows, zip_path, page)
            except _TORN as error:
                raise self._error(str(error)) from None
        finally:
            if self._rows is None or self._rows.leftover is None:
                _remove_tree(directory)
        try:
            self._read = row_reader(self._rows.header, await self._field_metadata())
        except ValueError as error:
            raise self._error(str(error)) from None
        # A column asked for and missing would read as None in every record: as if the org held
        # no such values (a field the user's profile cannot read, a result of another query).
        missing = [name for name in self._fields or () if name != "id" and name not in self._read.header]
        if missing:
            raise self._error(
                f"its CSV has no column for {', '.join(missing)} (asked for); it has "
                f"{', '.join(self._read.header)}"
            )
        self._leading = page > 1

    async def _create(self, page: int) -> BulkReadJob:
        return await self._source.jobs.create_read(
            module=self._module, fields=self._fields, criteria=self._criteria, page=page
        )

    def _open_rows(self, zip_path: Path, page: int) -> _Rows:
        if self._to is None:
            return _Rows(zip_path, zipped=True, unlink=True)
        target = page_path(self._to, page)
        _extract_csv(zip_path, target)
        self.paths.append(target)
        return _Rows(target, zipped=False, unlink=False)

    def _end_page(self) -> None:
        job = self._job
        more = bool(job is not None and job.result is not None and job.result.more_records)
        counted = job.result.count if job is not None and job.result is not None else None
        if counted is not None and self._page_count < counted:
            # A CSV short of rows is otherwise whole and well formed: nothing else shows the loss.
            raise self._error(
                f"its CSV ends after {self._page_count} of the {counted} records the job counted"
            )
        self._progress("reading")
        self._close_page()
        self._next_page = self._page + 1 if more else None

    def _close_page(self) -> None:
        rows, self._rows, self._read = self._rows, None, None
        if rows is not None:
            rows.close()
            if rows.leftover is not None:
                _remove_tree(rows.leftover.parent)

    def _progress(self, phase: Literal["waiting", "downloading", "reading"]) -> None:
        if self._on_progress is None:
            return
        job = self._job
        result = job.result if job is not None else None
        self._on_progress(
            ExportProgress(
                phase=phase,
                page=self._page,
                records=self._count,
                job_id=job.id if job is not None else None,
                job_state=job.state if job is not None else None,
                page_records=result.count if result is not None else None,
            )
        )
