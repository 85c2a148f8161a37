"""A Bulk Write import, run to the end: parts written, uploaded, jobs created and waited on, results mapped.

Shape: one producer reads the input lazily, checks each record as the call-based bulk methods do
(a bad record gets its own ``error`` outcome and is not sent) and fills a part on disk
(:mod:`~bigin_async.bulk.jobs.parts`); a full part goes to one of ``max_parallel_jobs`` workers,
which upload it, create its job, wait for it and map its result back to the records
(:mod:`~bigin_async.bulk.jobs.results`); outcomes are released strictly in input order. The
producer fills the next part while a job runs, so memory holds the records of at most
``max_parallel_jobs + 1`` parts (25,000 records each), whatever the input's length; with
``keep_outcomes=False`` and ``on_result`` nothing else grows.

Every step of a part is journaled (:mod:`~bigin_async.bulk.jobs.journal`) when ``journal=`` is
given, so a crashed or cancelled run resumes with the same input and never creates a job twice.
In a run, the same rules hold for an answer lost on the way: an upload whose answer is lost is
uploaded again (a stray file on Zoho's side is harmless); a job whose creation answer is lost is
never asked for again for an insert (its records are ``unknown``), and is asked for again, with
a fresh upload, for an update or an upsert whose records all carry their ``find_by`` value
(applying them twice changes nothing). A job that ends FAILED makes its records ``error``
outcomes with code ``BULK_JOB_FAILED``, and the run goes on with the other parts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream

from bigin_async._inputs import FIELD_NAME, check_record
from bigin_async._redact import get_logger
from bigin_async._tasks import unwrapping_task_group
from bigin_async.bulk.engine import _FATAL, MANDATORY_FIELDS, BulkPlan, _aiter, prepare
from bigin_async.bulk.jobs.journal import JobJournal
from bigin_async.bulk.jobs.parts import Part, PartWriter, record_cells
from bigin_async.bulk.jobs.results import ResultsError, map_results, outcome_of
from bigin_async.bulk.keys import carries_upsert_key
from bigin_async.bulk.logfile import AppendOnlyLog
from bigin_async.bulk.results import (
    BulkAbortedError,
    BulkProgress,
    BulkResult,
    ProgressCallback,
    RecordOutcome,
    ResultCallback,
)
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    BiginError,
    BulkJobFailedError,
    JournalError,
    ValidationError,
)
from bigin_async.models.jobs import MAX_UPLOAD_BYTES, WRITE_JOB_MAX_RECORDS, FieldMapping, check_bulk_module

logger = get_logger("bulk")

__all__ = ["FieldNames", "ImportPlan", "JobsAPI", "Operation", "run_import"]

Operation = Literal["insert", "update", "upsert"]
# The module's field API names, read from its field metadata (``settings.field_names``).
FieldNames = Callable[[], Awaitable[Collection[str]]]
# Told each stretch released: its number from 1 in input order, and its records' outcomes.
BatchDone = Callable[[int, Sequence[RecordOutcome]], Awaitable[None]]
Phase = Literal["calls", "writing", "uploading", "waiting", "reading"]

# Uploads tried for one part when answers are lost on the way (each a new, harmless file).
_UPLOAD_ATTEMPTS = 3
# Jobs asked for one part of an update or keyed upsert when the creation answer is lost.
_CREATE_ATTEMPTS = 3
# Records refused before sending that one stretch of outcomes holds before it is released.
_SETTLED_CAP = WRITE_JOB_MAX_RECORDS


class JobsAPI(Protocol):
    """What an import asks of ``client.bulk_jobs`` (a ``BulkJobsClient``)."""

    async def upload(self, file: str | os.PathLike[str]) -> Any: ...

    async def create_write(
        self,
        *,
        module: str,
        file_id: str,
        operation: Operation,
        field_mappings: Sequence[FieldMapping],
        find_by: str | None = None,
        ignore_empty: bool = True,
        callback_url: str | None = None,
    ) -> Any: ...

    async def wait_write(
        self, job_id: str, *, poll_interval: float = 5.0, on_state: Callable[[Any], None] | None = None
    ) -> Any: ...

    async def download(self, url_or_job: Any, *, to: str | os.PathLike[str]) -> Path: ...


@dataclass
class ImportPlan:
    """What an import does: the module, the operation, and the job options."""

    module: str
    operation: Operation = "insert"
    find_by: str | None = None
    ignore_empty: bool = True
    callback_url: str | None = None
    poll_interval: float = 5.0
    max_parallel_jobs: int = 1
    part_records: int = WRITE_JOB_MAX_RECORDS
    part_bytes: int = MAX_UPLOAD_BYTES

    def checked(self) -> ImportPlan:
        """The plan with its module's API name, refused before anything is sent if a job cannot run it."""
        module = check_bulk_module(self.module, "write")
        if self.operation not in ("insert", "update", "upsert"):
            raise ValidationError(f"operation must be insert, update or upsert, got {self.operation!r}")
        find_by = self.find_by
        if self.operation == "insert" and find_by is not None:
            raise ValidationError("find_by is for update and upsert; an insert matches nothing")
        if self.operation != "insert" and not find_by:
            raise ValidationError(
                f"a Bulk Write {self.operation} needs find_by: the field that finds each record "
                "(a unique field such as Email, or id for an update)"
            )
        if self.operation == "upsert" and find_by == "id":
            raise ValidationError("an upsert finds records by a unique field, not by id (use update)")
        if not 1 <= self.max_parallel_jobs <= 10:
            raise ValidationError("max_parallel_jobs must be between 1 and 10")
        if not 1 <= self.part_records <= WRITE_JOB_MAX_RECORDS:
            raise ValidationError(f"part_records must be between 1 and {WRITE_JOB_MAX_RECORDS}")
        if self.poll_interval < 0:
            raise ValidationError("poll_interval must not be negative")
        return ImportPlan(**{**self.__dict__, "module": module})

    @property
    def action(self) -> Literal["insert", "update"] | None:
        return "insert" if self.operation == "insert" else "update" if self.operation == "update" else None


@dataclass
class _Stretch:
    """A run of consecutive input records: the ones refused before sending, and at most one part."""

    first: int
    size: int = 0
    settled: dict[int, RecordOutcome] = field(default_factory=dict)
    records: dict[int, Any] = field(default_factory=dict)  # the part's records, by input index
    parts: list[Part] = field(default_factory=list)
    keyed: bool = True
    outcomes: dict[int, RecordOutcome] = field(default_factory=dict)
    done: anyio.Event = field(default_factory=anyio.Event)


def _check(plan: ImportPlan, index: int, record: Any) -> dict[str, Any] | RecordOutcome:
    """The wire form of one record, or its own error outcome (the checks of the call-based path)."""
    if plan.operation == "update" and plan.find_by != "id":
        try:
            wire = check_record(record, plan.module)
        except (ValidationError, ValueError, TypeError) as error:
            return RecordOutcome(
                index, "error", "update", code="INVALID_INPUT", message=str(error), record=record
            )
        if not carries_upsert_key(wire, plan.module, [plan.find_by or ""]):
            return RecordOutcome(
                index,
                "error",
                "update",
                code="INVALID_INPUT",
                message=f"an update by {plan.find_by} needs each record's {plan.find_by}",
                details={"api_name": plan.find_by},
                record=record,
            )
        return _not_clearing(plan, index, wire, record)
    mode: Any = {"insert": "create", "update": "update", "upsert": "upsert"}[plan.operation]
    prepared = prepare(BulkPlan(plan.module, mode), index, record)
    if isinstance(prepared, RecordOutcome):
        return prepared
    checked: dict[str, Any] = prepared.wire
    return checked if plan.operation == "insert" else _not_clearing(plan, index, checked, record)


def _not_clearing(
    plan: ImportPlan, index: int, wire: dict[str, Any], record: Any
) -> dict[str, Any] | RecordOutcome:
    """An update's or upsert's wire form, or its error if it clears a field (``None``).

    Through calls ``None`` clears the field; a job leaves an empty cell's field as it is (Bigin's
    ``ignore_empty``, needed because a record's missing columns are empty cells too). Sent, the
    update would be reported done with the field not cleared, so it is refused instead. An
    upsert's ``None`` in a mandatory field (a contact's ``Last_Name``) is the error the calls
    would get either way, ``MANDATORY_NOT_FOUND`` (an insert without it, or an update clearing
    it); ``None`` in its ``find_by`` field is no key (the record is inserted), not a clearing.
    """
    cleared = [name for name, value in wire.items() if value is None and name != plan.find_by]
    if not cleared:
        return wire
    if plan.operation == "upsert":
        mandatory = next((name for name in cleared if name in MANDATORY_FIELDS.get(plan.module, ())), None)
        if mandatory is not None:
            return RecordOutcome(
                index,
                "error",
                None,
                code="MANDATORY_NOT_FOUND",
                message=f"required field {mandatory} is None: Bigin refuses it whether the upsert inserts "
                "or updates (checked before sending)",
                details={"api_name": mandatory},
                record=record,
            )
    return RecordOutcome(
        index,
        "error",
        plan.action,
        code="INVALID_INPUT",
        message=f"a Bulk Write job cannot clear {cleared[0]} (None): {plan.operation} this record through "
        "calls (via='calls')",
        details={"api_name": cleared[0]},
        record=record,
    )


def _sent_id(plan: ImportPlan, record: Any) -> str | None:
    """The id an update by id sent this record with (None for any other write)."""
    if plan.find_by != "id":
        return None
    try:
        sent = check_record(record, plan.module).get("id")
    except (ValidationError, ValueError, TypeError):  # pragma: no cover - it was checked before it was sent
        return None
    return str(sent) if sent else None


def _unknown_field(cells: Mapping[str, str], known: Collection[str] | None) -> str | None:
    """The first column of a record that Bigin would not take, or None.

    A job naming a field the module lacks is refused whole (``INVALID_DATA``): every record of
    the part would fail with it. A name must look like an API name (no empty name, no spaces,
    commas, quotes or control characters) and, with the module's field metadata, be one of its
    fields (``Account_Name.id`` by its field; ``id`` and ``$`` keys such as ``$se_module`` are
    Bigin's own, not listed in the metadata).
    """
    for name in cells:
        if not FIELD_NAME.match(name):
            return name
        if known is None or name == "id" or name.startswith("$"):
            continue
        if name.partition(".")[0] not in known:
            return name
    return None


def _mappings(columns: Sequence[str]) -> list[FieldMapping]:
    mappings = []
    for index, name in enumerate(columns):
        if name.endswith(".id") and len(name) > 3:
            mappings.append(FieldMapping(api_name=name[:-3], index=index, find_by="id"))
        else:
            mappings.append(FieldMapping(api_name=name, index=index))
    return mappings


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


async def run_import(
    jobs: JobsAPI,
    plan: ImportPlan,
    records: Iterable[Any] | AsyncIterable[Any],
    *,
    journal_path: str | os.PathLike[str] | None = None,
    workdir: str | os.PathLike[str] | None = None,
    on_result: ResultCallback | None = None,
    on_progress: ProgressCallback | None = None,
    keep_outcomes: bool | None = None,
    field_names: FieldNames | None = None,
    fresh_field_names: FieldNames | None = None,
    on_batch_done: BatchDone | None = None,
) -> BulkResult:
    """Import ``records`` through Bulk Write jobs and return every record's outcome, in input order.

    ``field_names`` reads the module's field API names (once per run, at the first record): a
    record naming a field the module lacks gets its own ``INVALID_DATA`` error instead of
    sinking its whole part. Metadata that cannot be read leaves only the check that each name
    could be an API name. ``field_names`` may answer from a cache: at the first unknown name of
    the run, ``fresh_field_names`` re-reads them once (a custom field created since), then decides.
    ``on_batch_done(number, outcomes)`` is awaited as each stretch of the input (a job part with
    the records refused around it) is released, numbered from 1 in input order: the client's
    ``bulk_batch_done``.
    """
    plan = plan.checked()
    if isinstance(records, (str, bytes, Mapping)):
        raise ValidationError(
            "records must be an iterable of records (a list, a generator...), not one value"
        )
    result = BulkResult(kept=keep_outcomes if keep_outcomes is not None else on_result is None)
    progress = BulkProgress(phase="writing", part=1)  # parts are numbered from 1
    journal = JobJournal(journal_path, module=plan.module, operation=plan.operation) if journal_path else None
    temporary = workdir is None and journal is None
    directory = _workdir(workdir, journal)
    if journal is not None:
        await anyio.to_thread.run_sync(journal.lock_and_load)
    held = None if temporary else _WorkdirLock(directory)
    if held is not None:
        try:
            await anyio.to_thread.run_sync(held.lock)
        except BaseException:
            if journal is not None:
                journal.close()
            raise
    failed: list[BaseException] = []  # the caller's exception, a journal error: raised as itself
    aborted: list[BiginError] = []  # a fatal error of the API: BulkAbortedError
    workers = plan.max_parallel_jobs
    send_parts, receive_parts = anyio.create_memory_object_stream[_Stretch](0)
    send_order, receive_order = anyio.create_memory_object_stream[_Stretch](workers + 2)
    updating = plan.operation == "update"
    asked: set[int] = set()  # parts whose job was asked for (in this run, or one it resumes)
    known_names: list[Collection[str] | None] = []  # the module's field names, once read
    refreshed: list[bool] = []  # the names were re-read past the cache (once a run)

    async def read_names(read: FieldNames | None) -> Collection[str] | None:
        if read is None:
            return None
        try:
            return frozenset(await read())
        except BiginError as error:
            logger.warning(
                "bulk write %s: field metadata cannot be read (%s); field names are checked only "
                "for what cannot be an API name",
                plan.module,
                error,
                extra={"bigin_event": "bulk_fields_unreadable", "bigin_module": plan.module},
            )
            return None

    async def known_fields() -> Collection[str] | None:
        if not known_names:
            known_names.append(await read_names(field_names))
        return known_names[0]

    async def unknown_field(cells: Mapping[str, str]) -> str | None:
        unknown = _unknown_field(cells, await known_fields())
        if unknown is not None and known_names[0] is not None and not refreshed and fresh_field_names:
            refreshed.append(True)  # a field created after the names were cached: read them again
            fresh = await read_names(fresh_field_names)
            if fresh is not None:
                known_names[0] = fresh
                unknown = _unknown_field(cells, fresh)
        return unknown

    def report(phase: Phase | None = None, **changes: Any) -> None:
        if phase is not None:
            progress.phase = phase
        for name, value in changes.items():
            setattr(progress, name, value)
        if on_progress is not None:
            on_progress(progress)

    def fail_all(stretch: _Stretch, part: Part, status: Any, code: str, message: str, **extra: Any) -> None:
        for index in part.indexes:
            stretch.outcomes[index] = RecordOutcome(
                index,
                status,
                plan.action,
                code=code,
                message=message,
                record=stretch.records.get(index),
                **extra,
            )

    def left_at_zoho(stretch: _Stretch, part: Part, job_id: str, what: str) -> None:
        """The job exists but this run cannot learn how it went: a resumed run asks again."""
        message = f"the job {job_id} {what}; resume with the journal to read it"
        fail_all(stretch, part, "unknown", "UNKNOWN_FATE", message, details={"job_id": job_id})

    # -- the producer: records into parts ---------------------------------------------------------
    async def produce() -> None:
        async with send_parts, send_order:
            try:
                async with contextlib.aclosing(_aiter(records)) as stream:
                    await fill(stream)
            except Exception as error:  # the caller's input (or the journal) failed: stop
                failed.append(error)

    async def fill(stream: Any) -> None:
        number = 1
        writer = new_writer(number)
        stretch = _Stretch(first=0)
        index = -1
        try:
            async for record in stream:
                index += 1
                checked = _check(plan, index, record)
                if isinstance(checked, RecordOutcome):
                    stretch.settled[index] = checked
                    stretch.size += 1
                else:
                    try:
                        cells = record_cells(checked)
                        unknown = await unknown_field(cells)
                        if unknown is not None:
                            raise _UnknownField(plan.module, unknown)
                        added = writer.add(index, cells)
                        if not added:
                            number = await close(stretch, writer)
                            stretch = _Stretch(first=index)
                            writer = new_writer(number)
                            added = writer.add(index, cells)
                    except _UnknownField as error:
                        stretch.settled[index] = RecordOutcome(
                            index,
                            "error",
                            plan.action,
                            code="INVALID_DATA",
                            message=str(error),
                            details={"api_name": error.name},
                            record=record,
                        )
                    except (ValidationError, ValueError) as error:
                        stretch.settled[index] = RecordOutcome(
                            index,
                            "error",
                            plan.action,
                            code="INVALID_INPUT",
                            message=str(error),
                            record=record,
                        )
                    else:
                        stretch.records[index] = record
                        if plan.operation == "upsert" and not carries_upsert_key(
                            checked, plan.module, [plan.find_by or ""]
                        ):
                            stretch.keyed = False
                    stretch.size += 1
                if len(stretch.settled) >= _SETTLED_CAP:
                    number = await close(stretch, writer)
                    stretch = _Stretch(first=index + 1)
                    writer = new_writer(number)
                if failed or aborted:
                    break
            if stretch.size and not failed:
                number = await close(stretch, writer)
            progress.parts = number - 1
            beyond = [n for n in journal.parts if n >= number] if journal is not None and not failed else []
            if beyond:  # the resumed run's input ends sooner: those records are not reported again
                logger.warning(
                    "journal %s holds %d parts past the end of this input (from part %d): this input is "
                    "shorter than the one of the run resumed",
                    journal.path if journal is not None else "",
                    len(beyond),
                    number,
                    extra={"bigin_event": "journal_parts_beyond_input"},
                )
        finally:
            writer.discard()

    def new_writer(number: int) -> PartWriter:
        columns = [plan.find_by] if plan.find_by and plan.find_by != "id" else []
        if plan.find_by == "id":
            columns = ["id"]
        writer = PartWriter(directory, number, max_records=plan.part_records, max_zip_bytes=plan.part_bytes)
        for name in columns:
            writer.columns[name] = len(writer.columns)
        return writer

    async def close(stretch: _Stretch, writer: PartWriter) -> int:
        """Zip the stretch's part, check it against the journal, hand it on; the next part's number."""
        stretch.parts = await anyio.to_thread.run_sync(writer.finish)
        for part in stretch.parts:
            await written(part, stretch.keyed)
        await send_order.send(stretch)
        if stretch.parts:
            await send_parts.send(stretch)
        else:
            stretch.done.set()
        report("writing", part=writer.number, job_id=None, job_state=None)
        return writer.number + len(stretch.parts)

    async def written(part: Part, keyed: bool) -> None:
        if journal is None:
            return
        known = journal.parts.get(part.number)
        if known is None:
            await journal.log_written(
                part.number,
                sha256=part.sha256,
                first=part.first,
                last=part.last,
                rows=part.rows,
                path=str(part.zip_path),
                keyed=keyed,
            )
        elif known.sha256 != part.sha256:
            raise JournalError(
                f"journal {journal.path}: part {part.number} (records {part.first + 1} to {part.last + 1}) "
                f"differs from the part the journaled run sent (records {known.first + 1} to "
                f"{known.last + 1}): this is not the input of the run being resumed. Give the same input, "
                "or another journal file for a new import",
                path=str(journal.path),
            )

    # -- the workers: parts through jobs -------------------------------------------------------------
    async def work(receive: ObjectReceiveStream[_Stretch]) -> None:
        async with receive:
            async for stretch in receive:
                for part in stretch.parts:
                    if failed:
                        break
                    if aborted:
                        fail_all(
                            stretch, part, "error", "NOT_SENT", f"not sent: the run stopped ({aborted[0]})"
                        )
                        continue
                    try:
                        await run_part(stretch, part)
                    except _FATAL as error:
                        if not aborted:
                            aborted.append(error)
                        if part.number in asked:  # a job may exist: its records' fate is not known
                            fail_all(stretch, part, "unknown", "UNKNOWN_FATE", f"the run stopped ({error})")
                        else:
                            code = (error.code if isinstance(error, APIError) else None) or type(
                                error
                            ).__name__
                            fail_all(stretch, part, "error", code, f"not sent: the run stopped ({error})")
                    except JournalError as error:
                        if not failed:
                            failed.append(error)
                stretch.done.set()

    async def run_part(stretch: _Stretch, part: Part) -> None:
        state = journal.parts.get(part.number) if journal is not None else None
        if state is not None and state.failed_code is not None:
            fail_all(
                stretch,
                part,
                "error",
                state.failed_code,
                state.failed_message or "the job failed",
                from_journal=True,
                details={"job_id": state.job_id} if state.job_id else {},
            )
            return
        if state is not None and state.results_path is not None:
            path = Path(state.results_path)
            if await anyio.to_thread.run_sync(_digest_if_there, path) == state.results_sha256:
                await read_results(stretch, part, path, from_journal=True)
                return
        job_id = state.job_id if state is not None else None
        url = state.download_url if state is not None else None
        if job_id is not None:  # an earlier run's job: if this run stops, its records' fate is unknown
            asked.add(part.number)
        if job_id is None:
            if state is not None and state.ambiguous and not (plan.operation != "insert" and state.keyed):
                fail_all(
                    stretch,
                    part,
                    "unknown",
                    "UNKNOWN_FATE",
                    "an earlier run asked for this part's job and got no answer: the job may exist, so it "
                    "is not asked for again (that could duplicate these inserts); re-send them as an "
                    "upsert on a unique field",
                    from_journal=True,
                )
                return
            fresh = state is not None and state.ambiguous  # the file may be used by a job already
            created = await create(stretch, part, None if fresh else (state.file_id if state else None))
            if created is None:
                return
            job_id = created
        if url is None:
            url = await wait(stretch, part, job_id)
            if url is None:
                return
        await download(stretch, part, job_id, url)

    async def upload(part: Part) -> str:
        report("uploading", part=part.number, job_id=None, job_state=None)  # its job: not yet
        for attempt in range(1, _UPLOAD_ATTEMPTS + 1):
            try:
                uploaded = await jobs.upload(part.zip_path)
            except AmbiguousWriteError:
                if attempt == _UPLOAD_ATTEMPTS:
                    raise
                logger.warning(
                    "bulk write part %d: upload answer lost; uploading again",
                    part.number,
                    extra={"bigin_event": "bulk_upload_again", "bigin_part": part.number},
                )
                continue
            file_id = str(uploaded.file_id)
            if journal is not None:
                await journal.log_uploaded(part.number, file_id)
            return file_id
        raise AssertionError("unreachable")  # pragma: no cover

    async def create(stretch: _Stretch, part: Part, file_id: str | None) -> str | None:
        """Upload (unless ``file_id``) and create the part's job; its id, or None with outcomes set."""
        keyed = stretch.keyed and plan.operation != "insert"
        for attempt in range(1, _CREATE_ATTEMPTS + 1):
            try:
                asking = False
                if file_id is None:
                    file_id = await upload(part)
                if journal is not None:
                    await journal.log_creating(part.number)
                asked.add(part.number)
                asking = True
                job = await jobs.create_write(
                    module=plan.module,
                    file_id=file_id,
                    operation=plan.operation,
                    field_mappings=_mappings(part.columns),
                    find_by=plan.find_by,
                    ignore_empty=plan.ignore_empty,
                    callback_url=plan.callback_url,
                )
            except AmbiguousWriteError as error:
                if not keyed or attempt == _CREATE_ATTEMPTS:
                    fail_all(
                        stretch,
                        part,
                        "unknown",
                        "UNKNOWN_FATE",
                        f"the job for these records was asked for and its answer was lost ({error}); "
                        + (
                            "not asked for again, to avoid duplicates"
                            if not keyed
                            else "asked for again, and lost again"
                        ),
                    )
                    return None
                file_id = None  # the lost job may hold the file: upload it anew
                continue
            except _FATAL:
                # Refused, not applied: no token, no scope, or the day's credits gone before the
                # POST went out. Said in the journal, or a resumed insert would be left unknown.
                if asking:
                    asked.discard(part.number)
                    if journal is not None:
                        with anyio.CancelScope(shield=True):  # as log_created
                            await journal.log_unsent(part.number)
                raise
            except (APIError, BiginError) as error:
                if (
                    isinstance(error, APIError)
                    and file_id is not None
                    and attempt == 1
                    and _about_file(error)
                ):
                    file_id = None  # an upload an earlier run made that Zoho no longer takes
                    continue
                code = _code_of(error)
                message = error.message if isinstance(error, APIError) else str(error)
                if journal is not None:
                    with anyio.CancelScope(shield=True):  # as log_created
                        await journal.log_failed(part.number, code=code, message=message, job_id=None)
                fail_all(stretch, part, "error", code, message)
                return None
            job_id = str(job.id)
            if journal is not None:
                # Shielded: a cancellation landing as the answer arrives must not lose the id (a
                # resumed run would leave an insert's records unknown, or ask for a second job).
                with anyio.CancelScope(shield=True):
                    await journal.log_created(part.number, job_id)
            return job_id
        return None  # pragma: no cover - the loop returns

    async def wait(stretch: _Stretch, part: Part, job_id: str) -> str | None:
        report("waiting", part=part.number, job_id=job_id, job_state=None)

        def on_state(job: Any) -> None:  # other parts' events may have come between: name this one
            report("waiting", part=part.number, job_id=job_id, job_state=str(getattr(job, "state", "")))

        try:
            job = await jobs.wait_write(job_id, poll_interval=plan.poll_interval, on_state=on_state)
        except BulkJobFailedError as error:
            message = f"the Bulk Write job {job_id} ended FAILED: {error}"
            if journal is not None:
                await journal.log_failed(part.number, code="BULK_JOB_FAILED", message=message, job_id=job_id)
            fail_all(stretch, part, "error", "BULK_JOB_FAILED", message, details={"job_id": job_id})
            return None
        except _FATAL:
            raise
        except BiginError as error:
            left_at_zoho(stretch, part, job_id, f"was created, but its state could not be read ({error})")
            return None
        url = job.download_url
        if not url:
            fail_all(
                stretch, part, "unknown", "NO_RESULT", f"the job {job_id} completed with no result to read"
            )
            return None
        if journal is not None:
            await journal.log_completed(part.number, url)
        return str(url)

    async def download(stretch: _Stretch, part: Part, job_id: str, url: str) -> None:
        report("reading", part=part.number, job_id=job_id, job_state="COMPLETED")  # it has a result
        target = directory / f"part-{part.number:05d}.result.zip"
        try:
            path = Path(await jobs.download(url, to=target))
        except _FATAL:
            raise
        except BiginError as error:
            left_at_zoho(
                stretch, part, job_id, f"completed, but its result could not be downloaded ({error})"
            )
            return
        if journal is not None:
            await journal.log_results(
                part.number, path=str(path), sha256=await anyio.to_thread.run_sync(_sha256, path)
            )
        await read_results(stretch, part, path, from_journal=False)
        if journal is None:  # kept only for a resumed run to read again
            with contextlib.suppress(OSError):
                await anyio.Path(path).unlink(missing_ok=True)

    async def read_results(stretch: _Stretch, part: Part, path: Path, *, from_journal: bool) -> None:
        try:
            rows = await anyio.to_thread.run_sync(map_results, part.zip_path, part.columns, path)
        except ResultsError as error:
            fail_all(
                stretch, part, "unknown", "UNREADABLE_RESULT", f"the job's result cannot be read ({error})"
            )
            return
        for row, index in zip(rows, part.indexes, strict=True):
            record = stretch.records.get(index)
            sent_id = _sent_id(plan, record) if row is not None and row.record_id is None else None
            outcome = outcome_of(row, index, record, updating=updating, sent_id=sent_id)
            outcome.from_journal = from_journal
            stretch.outcomes[index] = outcome

    # -- the releaser: outcomes in input order -----------------------------------------------------
    def release(stretch: _Stretch) -> list[RecordOutcome]:
        """Report the stretch's outcomes in input order; those reported, when a teller wants them."""
        released: list[RecordOutcome] = []
        keep = on_batch_done is not None
        for index in range(stretch.first, stretch.first + stretch.size):
            outcome = stretch.settled.get(index) or stretch.outcomes.get(index)
            if outcome is None:  # a part the run stopped before (failed): not reported
                continue
            if keep:
                released.append(outcome)
            result.record(outcome)
            progress.add(outcome)
            if on_result is not None:
                on_result(outcome)
        for part in stretch.parts:
            with contextlib.suppress(OSError):
                part.zip_path.unlink()
        report()
        return released

    async def releaser() -> None:
        told = 0
        async with receive_order:
            async for stretch in receive_order:
                await stretch.done.wait()
                if not failed:
                    try:
                        released = release(stretch)
                        if on_batch_done is not None and released:
                            told += 1
                            await on_batch_done(told, released)
                    except Exception as error:  # on_result / on_progress / on_batch_done: stop
                        failed.append(error)

    try:
        report()
        async with unwrapping_task_group() as tasks:
            tasks.start_soon(releaser)
            for _ in range(workers):
                tasks.start_soon(work, receive_parts.clone())
            receive_parts.close()
            await produce()
    finally:
        if journal is not None:
            journal.close()
        if held is not None:
            held.close()
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
    if failed:
        raise failed[0]
    if aborted:
        raise BulkAbortedError(
            f"bulk import of {plan.module} stopped after {result.total} records: {aborted[0]}", result
        ) from aborted[0]
    return result


class _UnknownField(Exception):
    """A record names a field Bigin would not take: it is refused alone, not sent."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(
            f"{module} has no field {name!r}: not sent (a Bulk Write job naming it would be refused "
            "with all the records of its part)"
        )
        self.name = name


class _WorkdirLock(AppendOnlyLog):
    """One import at a time in a work directory: two would write, upload and read the same part files
    (one run sending the other's records as its own, those records imported twice and its own never).

    Only the journal's lock is used (the file machinery's), on ``.import.lock`` in the directory.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(directory / ".import")

    def _in_use(self) -> JournalError:
        return JournalError(
            f"the work directory {self.path.parent} is in use by another import (its lock "
            f"{self._lock_path.name} is held); wait for that import to end, or give this one another workdir",
            path=str(self.path.parent),
        )


def _workdir(workdir: str | os.PathLike[str] | None, journal: JobJournal | None) -> Path:
    """Where the parts go: ``workdir``, else beside the journal, else a new temporary directory.

    Absolute, so the paths journaled are found again by a run started in another directory.
    """
    if workdir is not None:
        return Path(os.path.abspath(workdir))
    if journal is not None:
        return Path(os.path.abspath(journal.path.with_name(journal.path.name + ".parts")))
    return Path(tempfile.mkdtemp(prefix="bigin-bulk-write-"))


def _code_of(error: BiginError) -> str:
    return (error.code if isinstance(error, APIError) else None) or type(error).__name__


def _digest_if_there(path: Path) -> str | None:
    return _sha256(path) if path.is_file() else None


def _about_file(error: BiginError) -> bool:
    """A refusal of the job that names the file (unknown or already used ``file_id``)."""
    return (
        isinstance(error, APIError)
        and error.code == "INVALID_DATA"
        and "file_id" in str(error.details or error.message or "")
    )
