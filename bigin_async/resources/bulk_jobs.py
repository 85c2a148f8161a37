"""``bigin.bulk_jobs``: Bigin's Bulk Write and Bulk Read jobs, one call each, on the one transport.

Why jobs: through 100-record calls an insert costs 1 credit per 10 records, so 25,000 records cost
2,500 credits; one Bulk Write job takes them for 500. A Bulk Read job returns up to 200,000 records
for 50 credits, where 200-record pages cost 1,000. The price is latency: a job is queued and run on
Zoho's side, so it is created, then polled (or its callback awaited), then its result downloaded.

A write goes in four steps: :meth:`BulkJobsClient.upload` a zip holding one CSV to the data
centre's file host, :meth:`~BulkJobsClient.create_write` a job naming its ``file_id``,
:meth:`~BulkJobsClient.wait_write` until it is COMPLETED, :meth:`~BulkJobsClient.download` the
result zip (one row per input row: ``STATUS``, ``RECORD_ID``, ``ERRORS``). A read is
:meth:`~BulkJobsClient.create_read`, :meth:`~BulkJobsClient.wait_read`, ``download``. Every call
goes through the client's transport: the same gate, limits, daily credits, tokens and retries.
What can be checked is checked before anything is sent, because a job Zoho refuses late has
already cost an upload, and a job created by mistake costs its 500 or 50 credits.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx
import pydantic

from bigin_async._inputs import check_field_names, check_id
from bigin_async._limits import RateLimiter
from bigin_async._multipart import Upload, upload_file
from bigin_async._redact import get_logger
from bigin_async.criteria import Criteria, criteria_to_json
from bigin_async.errors import (
    BulkJobError,
    BulkJobFailedError,
    ConfigurationError,
    InvalidNotificationError,
    RateLimitError,
    ValidationError,
)
from bigin_async.models.jobs import (
    MAX_UPLOAD_BYTES,
    BulkReadJob,
    BulkWriteJob,
    BulkWriteResource,
    FieldMapping,
    JobEvent,
    JobState,
    UploadedFile,
    check_bulk_module,
    job_entry,
)
from bigin_async.resources._base import APIResource, body_of, json_object
from bigin_async.resources.org import OrgClient
from bigin_async.webhooks import MAX_NOTIFICATION_BYTES, MAX_NOTIFICATION_DEPTH, _load, _nested_deeper_than

logger = get_logger("bulk")

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = [
    "DOWNLOAD_TIMEOUT",
    "FULL_MINUTES_WAITED",
    "MAX_COLUMNS",
    "MAX_POLL_GROWTH",
    "READ_JOB_CREDITS",
    "WRITE_JOB_CREDITS",
    "BulkJobsClient",
    "Operation",
    "check_upload_zip",
    "next_poll_interval",
]

# Zoho's credits for creating a job (polls, downloads and uploads cost 1 each, like any call).
WRITE_JOB_CREDITS = 500
READ_JOB_CREDITS = 50
# A result zip of 200,000 records takes far longer than a JSON page: each download attempt gets
# at least this long (seconds), or the client's ``timeout`` when that is longer.
DOWNLOAD_TIMEOUT = 300.0
# Zoho's limit of columns in a Bulk Write CSV.
MAX_COLUMNS = 200
# A Bulk Read download still refused (429) after the transport's retries is tried again this many
# times, each after a whole minute in which the client sends no other download: the org's 10 a
# minute may be spent by another client or app, which a few quick retries cannot outlast.
FULL_MINUTES_WAITED = 5
# Polling a job that stays in one state slows down, up to this many times ``poll_interval``.
# A job's status polls double while its state stays, up to this many times ``poll_interval``
# (60 s at the default 5 s): about 8 polls for a 200,000-record Bulk Read page that takes 4
# minutes, where a fixed 5 s would cost 46 credits a page.
MAX_POLL_GROWTH = 12.0
_POLL_STEP = 2.0

Operation = Literal["insert", "update", "upsert"]
_OPERATIONS = ("insert", "update", "upsert")
J = TypeVar("J", BulkWriteJob, BulkReadJob)
_KIND: dict[type[BulkWriteJob | BulkReadJob], str] = {BulkWriteJob: "write", BulkReadJob: "read"}
# A relative result URL as Zoho gives it: ``/bigin/bulk/v2/read/{id}/result``.
_BULK_PREFIX = "/bigin/bulk/v2"
_READ_RESULT = re.compile(r"/bigin/bulk/v2/read/[^/]+/result/?\Z")


def check_upload_zip(file: str | os.PathLike[str]) -> Path:
    """``file`` as a path, if it is what Zoho's file host takes: a zip of one CSV, at most 25 MB.

    Checked before anything is sent (the upload costs a call, and a refused zip would be found
    only after its whole body went over the wire). Reads the zip's directory only, not its data.
    """
    path, size = upload_file(file)
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"{path} is {size} bytes; Zoho's file host takes a zip of at most {MAX_UPLOAD_BYTES} bytes "
            "(25 MB): split the CSV into smaller parts"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ValidationError(f"{path} is not a zip file; Bulk Write takes a zip holding one CSV") from None
    if len(names) != 1 or not names[0].lower().endswith(".csv") or names[0].endswith("/"):
        raise ValidationError(
            f"{path} holds {len(names)} entries ({', '.join(names[:5])}); Bulk Write takes a zip holding "
            "exactly one .csv file"
        )
    return path


def next_poll_interval(current: float, base: float, *, changed: bool) -> float:
    """The wait before the next poll: twice ``current`` while the state stays, up to 12x ``base``.

    Each poll costs a credit, and a job that sits in one state (queued, then processing a file)
    usually sits there a while longer. A change of state keeps the wait as it is rather than going
    back to ``base``: the state after ADDED, IN PROGRESS, is the long one. So a result is picked
    up at most one wait late: never more than the time the job has already taken, nor more than
    12x ``base`` (60 s at the default 5 s); a ``callback_url`` receiver is told at once.
    """
    if changed:
        return max(base, min(current, base * MAX_POLL_GROWTH))
    return min(current * _POLL_STEP, base * MAX_POLL_GROWTH)


def _callback(url: str | None) -> dict[str, str] | None:
    """The job's ``callback`` object: Zoho POSTs the job's end there."""
    if url is None:
        return None
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"callback_url must be an http(s) URL, got {url!r}")
    return {"url": url, "method": "post"}


def _mappings(field_mappings: Sequence[str] | Sequence[FieldMapping]) -> list[FieldMapping]:
    """Column-to-field mappings: a list of names maps column i to name i."""
    if isinstance(field_mappings, (str, bytes)) or not isinstance(field_mappings, Sequence):
        raise ValidationError("field_mappings is a list of field API names or of FieldMapping")
    items = list(field_mappings)
    if all(isinstance(item, str) for item in items):
        mappings = [FieldMapping(api_name=str(name), index=index) for index, name in enumerate(items)]
    elif all(isinstance(item, FieldMapping) for item in items):
        mappings = [item for item in items if isinstance(item, FieldMapping)]
    else:
        raise ValidationError("field_mappings is a list of field API names or of FieldMapping, not a mix")
    if not mappings:
        raise ValidationError("field_mappings needs at least one column")
    if len(mappings) > MAX_COLUMNS:
        raise ValidationError(f"Bulk Write takes at most {MAX_COLUMNS} columns, got {len(mappings)}")
    names = check_field_names([mapping.api_name for mapping in mappings])
    indexes = [str(mapping.index) for mapping in mappings]
    for what, values in (("column index", indexes), ("field", names)):
        twice = sorted({value for value in values if values.count(value) > 1})
        if twice:
            raise ValidationError(f"field_mappings maps the same {what} twice: {', '.join(twice)}")
    return mappings


def _find_by(operation: str, find_by: str | None, mappings: Sequence[FieldMapping]) -> str | None:
    if operation == "insert":
        if find_by is not None:
            raise ValidationError("find_by is for update and upsert; an insert creates every row")
        return None
    if find_by is None:
        raise ValidationError(
            f"an {operation} job needs find_by: the unique field (or 'id' for an update) that finds "
            "each row's record"
        )
    (name,) = check_field_names([find_by])
    if name not in {mapping.api_name for mapping in mappings}:
        raise ValidationError(f"find_by {name!r} must be one of the mapped columns")
    return name


def _created(body: bytes) -> Mapping[str, Any]:
    """The ``details`` of a job creation answer (Bigin wraps the read one in ``data``)."""
    entry = job_entry(json_object(body))
    details = entry.get("details")
    if entry.get("status") != "success" or not isinstance(details, Mapping) or "id" not in details:
        raise ValueError("the job creation answer names no job id")
    return details


def _checked_job(job: J, job_id: str) -> J:
    if job.id != job_id:  # an answer about another job must not pass for this one's
        raise ValueError(f"the status answer is about job {job.id}, not {job_id}")
    return job


def _job_id(job: str | BulkWriteJob | BulkReadJob) -> str:
    return job.id if isinstance(job, (BulkWriteJob, BulkReadJob)) else check_id(job, "job_id")


def _uploaded(response: httpx.Response) -> UploadedFile:
    answer = json_object(body_of(response))
    details = answer.get("details")
    if answer.get("status") != "success" or not isinstance(details, Mapping):
        raise ValueError("the upload answer names no file_id")
    return UploadedFile.model_validate(details)


def _download_target(url: object) -> tuple[str, bool]:
    """The path to send (relative to the bulk API, or absolute) and whether it is a read's result."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(f"a download URL is a non-empty string, got {url!r}")
    read = bool(_READ_RESULT.search(urlsplit(url).path))
    if url.startswith(("http://", "https://")):
        return url, read  # the transport sends the token only to the API or the file host
    if url.startswith(_BULK_PREFIX + "/"):
        return url[len(_BULK_PREFIX) :], read
    raise ValidationError(f"{url!r} is not a bulk job result URL (they start with {_BULK_PREFIX}/)")


class BulkJobsClient(APIResource):
    """Bulk Write and Bulk Read jobs: ``bigin.bulk_jobs``.

    ``org_id`` is the org's ``zgid`` the file host asks for (``X-CRM-ORG``); when not given it is
    read once from ``GET /org`` at the first upload (one read even for concurrent uploads) and
    kept. Read downloads are paced to Zoho's 10 a minute (the 11th would get a 429) by the
    client's one limiter (``transport.read_downloads``, shared with its ``with_options`` views),
    or by ``download_limiter`` when given.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        org_id: str | None = None,
        download_limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__(transport)
        self._org_id = check_id(org_id, "org_id") if org_id is not None else None
        self._org_lock = anyio.Lock()
        self._download_limiter = download_limiter

    async def _zgid(self) -> str:
        """The org's ``zgid``, read once (the lock makes concurrent first uploads share one read)."""
        if self._org_id is None:
            async with self._org_lock:
                if self._org_id is None:
                    org = await OrgClient(self._transport).get()
                    if org.zgid is None:
                        raise ConfigurationError(
                            "the org answer carries no zgid, which uploads need: pass "
                            "BulkJobsClient(transport, org_id=...)"
                        )
                    self._org_id = check_id(org.zgid, "zgid")
        return self._org_id

    # -- Bulk Write ------------------------------------------------------------------------------
    async def upload(self, file: str | os.PathLike[str]) -> UploadedFile:
        """Upload a zip holding one CSV (first row: field API names) to the data centre's file host.

        The file is streamed from disk, never read whole. Refused before sending: a path that is not
        a zip holding exactly one ``.csv``, or one over 25 MB. An upload whose answer was lost is
        sent again: a file no job names is never applied, so a second copy is harmless.
        """
        path = await anyio.to_thread.run_sync(check_upload_zip, file)
        zgid = await self._zgid()
        return await self._send_response(
            "POST",
            "/upload",
            _uploaded,
            service="content",
            upload=Upload(path, content_type="application/zip"),
            headers={"feature": "bulk-write", "X-CRM-ORG": zgid},
            idempotent=True,
        )

    async def create_write(
        self,
        *,
        module: str,
        file_id: str,
        operation: Operation,
        field_mappings: Sequence[str] | Sequence[FieldMapping],
        find_by: str | None = None,
        ignore_empty: bool = True,
        callback_url: str | None = None,
    ) -> BulkWriteJob:
        """Create a Bulk Write job over an uploaded file: 500 credits for up to 25,000 records.

        ``field_mappings`` as names maps column i to name i; ``find_by`` (update, upsert) is the
        mapped unique field that finds each row's record (``"id"`` for an update by id);
        ``ignore_empty`` leaves a field alone where its cell is empty instead of clearing it.
        Checked before sending: the module (Notes and modules Bulk Write does not take are refused),
        the operation, the mappings, ``find_by``. Never sent twice: each POST makes a new job, so a
        lost answer raises :class:`~bigin_async.AmbiguousWriteError` (look for the job before
        creating another). The job returned is in state ADDED.
        """
        name = check_bulk_module(module, "write")
        if operation not in _OPERATIONS:
            raise ValidationError(f"operation must be one of {', '.join(_OPERATIONS)}, got {operation!r}")
        mappings = _mappings(field_mappings)
        key = _find_by(operation, find_by, mappings)
        if not isinstance(ignore_empty, bool):
            raise ValidationError(f"ignore_empty must be a bool, got {ignore_empty!r}")
        resource = BulkWriteResource(
            type="data",
            module=name,
            file_id=check_id(file_id, "file_id"),
            ignore_empty=ignore_empty,
            find_by=key,
            field_mappings=mappings,
        )
        body: dict[str, Any] = {
            "operation": operation,
            "character_encoding": "UTF-8",
            "resource": [resource.to_wire()],
        }
        known = {"operation": operation, "resource": body["resource"]}
        # Zoho's answer gives the id and creator; the job is ADDED, as just created.
        new: dict[str, Any] = {"status": JobState.ADDED.value}
        return await self._create(BulkWriteJob, body, known, new, callback_url, WRITE_JOB_CREDITS)

    async def get_write(self, job_id: str) -> BulkWriteJob:
        """The write job's status now: state, per-file counts, and the result URL once COMPLETED."""
        return await self._get_job(BulkWriteJob, job_id)

    async def wait_write(
        self,
        job_id: str | BulkWriteJob,
        *,
        poll_interval: float = 5.0,
        on_state: Callable[[BulkWriteJob], object] | None = None,
    ) -> BulkWriteJob:
        """Poll the write job until COMPLETED (returned) or FAILED (:class:`BulkJobFailedError`).

        The first poll is ``poll_interval`` seconds after the start; the wait then doubles while
        the job stays in one state, up to 12 times ``poll_interval`` (see
        :func:`next_poll_interval`): each poll costs a credit. ``on_state`` is called with the job
        at each new state. A callback receiver can skip polling: :meth:`job_event` then
        :meth:`get_write`.
        """
        return await self._wait(BulkWriteJob, _job_id(job_id), poll_interval, on_state)

    # -- Bulk Read -------------------------------------------------------------------------------
    async def create_read(
        self,
        *,
        module: str,
        fields: Sequence[str] | None = None,
        criteria: Criteria | Mapping[str, Any] | None = None,
        page: int = 1,
        callback_url: str | None = None,
    ) -> BulkReadJob:
        """Create a Bulk Read job: 50 credits for a page of up to 200,000 records as one CSV.

        ``fields`` None reads all the module's fields; ``criteria`` is a built criteria
        (``Field("Amount") > 100``) or Zoho's JSON criteria, checked before sending. ``page`` n
        holds records (n-1)*200,000 onwards of the match: when a page's ``more_records`` is true,
        create the next with ``page + 1``. A lost answer is sent again (a second read job is
        harmless: it costs credits, not data).
        """
        name = check_bulk_module(module, "read")
        query: dict[str, Any] = {"module": name}
        if fields is not None:
            if isinstance(fields, str):
                raise ValidationError("fields is a list of field API names, not one string")
            query["fields"] = check_field_names(list(fields))
        if criteria is not None:
            query["criteria"] = criteria_to_json(criteria)
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise ValidationError(f"page must be a whole number from 1, got {page!r}")
        query["page"] = page
        known = {"query": query, "state": JobState.ADDED.value}  # Zoho's details say the state
        return await self._create(BulkReadJob, {"query": query}, known, {}, callback_url, READ_JOB_CREDITS)

    async def get_read(self, job_id: str) -> BulkReadJob:
        """The read job's status now: state, and its ``result`` (count, URL, more_records) once done."""
        return await self._get_job(BulkReadJob, job_id)

    # -- what both kinds share -------------------------------------------------------------------
    async def _create(
        self,
        model: type[J],
        body: dict[str, Any],
        known: Mapping[str, Any],
        new: Mapping[str, Any],
        callback_url: str | None,
        credits: int,
    ) -> J:
        """POST a job for its ``credits``; the job is what was sent (``known``), then Zoho's details,
        then ``new`` (what a just-created job is).

        A write job is never sent twice (a lost answer raises AmbiguousWriteError: each POST makes
        a job of 500 credits that applies its records); a read job is (a second one costs 50
        credits and changes nothing).
        """
        callback = _callback(callback_url)
        if callback is not None:
            body["callback"] = callback

        def parse(answer: bytes) -> J:
            details = _created(answer)
            return model.model_validate({**known, "callback": callback, **details, **new})

        write = model is BulkWriteJob
        return await self._send(
            "POST",
            f"/{_KIND[model]}",
            parse,
            service="bulk",
            json=body,
            credits=credits,
            idempotent=not write,
        )

    async def _get_job(self, model: type[J], job_id: str) -> J:
        checked = check_id(job_id, "job_id")
        return await self._send(
            "GET",
            f"/{_KIND[model]}/{checked}",
            lambda body: _checked_job(model.from_answer(json_object(body)), checked),
            service="bulk",
        )

    async def wait_read(
        self,
        job_id: str | BulkReadJob,
        *,
        poll_interval: float = 5.0,
        on_state: Callable[[BulkReadJob], object] | None = None,
    ) -> BulkReadJob:
        """Poll the read job until COMPLETED (returned) or FAILED, slowing as :meth:`wait_write` does."""
        return await self._wait(BulkReadJob, _job_id(job_id), poll_interval, on_state)

    async def _wait(
        self, model: type[J], job_id: str, poll_interval: float, on_state: Callable[[J], object] | None
    ) -> J:
        if (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, (int, float))
            or not math.isfinite(poll_interval)
            or poll_interval < 0
        ):
            raise ValidationError(f"poll_interval must be a number of seconds >= 0, got {poll_interval!r}")
        interval = float(poll_interval)
        last: str | None = None
        while True:
            job = await self._get_job(model, job_id)
            changed = job.state != last
            if changed:
                last = job.state
                if on_state is not None:
                    on_state(job)
            if job.done:
                return job
            if job.failed:
                raise BulkJobFailedError(
                    f"the bulk {_KIND[model]} job {job.id} ended FAILED",
                    job_id=job.id,
                    state=job.state,
                    job=job,
                )
            interval = next_poll_interval(interval, float(poll_interval), changed=changed)
            await anyio.sleep(interval)

    # -- results and callbacks -------------------------------------------------------------------
    async def download(
        self, url_or_job: str | BulkWriteJob | BulkReadJob, *, to: str | os.PathLike[str]
    ) -> Path:
        """Stream a job's result zip to ``to`` (written whole or not at all) and return its path.

        ``url_or_job`` is a completed job or its ``download_url``. The zip never sits in memory:
        it goes to ``to.part`` and is renamed when complete; a cut download leaves nothing and is
        retried. Each attempt may take ``max(timeout, 300)`` seconds. Read results are paced to
        Zoho's 10 downloads a minute, so an export of many pages never meets the 429; one met all
        the same (the org's minute spent by another client or app) waits a whole minute and tries
        again, up to :data:`FULL_MINUTES_WAITED` times, before the
        :class:`~bigin_async.RateLimitError` is raised.
        """
        if isinstance(url_or_job, (BulkWriteJob, BulkReadJob)):
            url = url_or_job.download_url
            if url is None:
                raise BulkJobError(
                    f"job {url_or_job.id} has no result to download (state {url_or_job.state})",
                    job_id=url_or_job.id,
                    state=url_or_job.state,
                    job=url_or_job,
                )
        else:
            url = url_or_job
        path, read = _download_target(url)
        timeout = max(self._transport.settings.timeout, DOWNLOAD_TIMEOUT)

        def fetch(paced_by: RateLimiter | None = None) -> Awaitable[httpx.Response]:
            return self._transport.send(
                "GET", path, service="bulk", download_to=to, timeout=timeout, paced_by=paced_by
            )

        paced = read or isinstance(url_or_job, BulkReadJob)
        response = await (self._paced_download(fetch) if paced else fetch())
        return Path(response.extensions["bigin_download"].path)

    async def _paced_download(
        self, fetch: Callable[[RateLimiter], Awaitable[httpx.Response]]
    ) -> httpx.Response:
        """A Bulk Read download at Zoho's pace of 10 a minute, waiting out a minute others spent.

        Every attempt the transport makes books its place on the limiter (``paced_by``): a
        download tried again after a drop is one more download in Zoho's count.
        """
        limiter = self._download_limiter or self._transport.read_downloads
        per_minute = self._transport.READ_DOWNLOADS_PER_MINUTE
        minutes = 0
        while True:
            try:
                return await fetch(limiter)
            except RateLimitError:
                if minutes == FULL_MINUTES_WAITED:
                    raise
                minutes += 1
            # Others of the org (another client, another app) spent this minute's downloads, and
            # Zoho says no more (no Retry-After): the minute counts as full from now.
            opens = limiter.earliest()
            for _ in range(per_minute):
                limiter.record(opens)
            logger.warning(
                "Bulk Read result download refused (429: the org's %d a minute are spent elsewhere); "
                "waiting a minute (%d of %d)",
                per_minute,
                minutes,
                FULL_MINUTES_WAITED,
                extra={"bigin_event": "bulk_read_download_refused"},
            )

    @staticmethod
    def job_event(
        body: bytes | str | Mapping[str, Any], *, max_bytes: int = MAX_NOTIFICATION_BYTES
    ) -> JobEvent:
        """A job callback's body, typed: which job ended (``job_id``), its ``operation`` and ``state``.

        The callback URL is public, so the body is untrusted: one over ``max_bytes``, nested deeper
        than a job's body is, not JSON, or without a ``job_id`` of digits and a ``state`` raises
        :class:`~bigin_async.InvalidNotificationError` (answer it with 400). Nothing in it is a
        result: read the job with :meth:`get_write` / :meth:`get_read` before acting on it.
        """
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValidationError(f"max_bytes must be a positive number of bytes, got {max_bytes!r}")
        data = _load(body, max_bytes)
        if _nested_deeper_than(data, MAX_NOTIFICATION_DEPTH):
            raise InvalidNotificationError("the job callback body is nested too deeply")
        try:
            event = JobEvent.model_validate(data)
            check_id(event.job_id, "job_id")
        except (pydantic.ValidationError, ValidationError) as error:
            problems = (
                sorted({str(item["loc"][0]) for item in error.errors() if item.get("loc")})
                if isinstance(error, pydantic.ValidationError)
                else ["job_id"]
            )
            raise InvalidNotificationError(
                f"the job callback body is malformed (check: {', '.join(problems)})"
            ) from None
        return event
