"""Bulk Read jobs: ``POST /bigin/bulk/v2/read``, ``GET .../read/{job_id}``, ``GET .../read/{job_id}/result``.

A job is created with a checked ``query`` (``ops.bulk_export.parse_read_query``: a bad module,
field, criteria or page is a 400 at once), then moves through ``ADDED``, ``IN PROGRESS`` and
``COMPLETED`` (or ``FAILED``) on the org's job registry (``state.jobs``), which takes the page
(``select_page``) once, when the job ends, and sends the callback. The status answer carries
``result`` (``page``, ``count``, ``per_page``, ``more_records``, ``download_url``) once the job
is ``COMPLETED``; a later page is a new job with ``"page": n``.

The result is a zip holding ``{job_id}.csv``, built at the first download in a worker thread (a
200,000-record page takes a few seconds; the CSV is compressed as it is written, so only the zip
is ever whole in memory), kept for the latest jobs and streamed in pieces. Zoho allows at most
``DOWNLOADS_PER_MINUTE`` result downloads in a rolling minute, counted here on the org's clock;
past that a download is refused with 429 ``TOO_MANY_REQUESTS`` (with ``Retry-After`` unless the
emulator plays with ``bare_429s``), and a refused one does not count.
"""

from __future__ import annotations

import io
import math
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bigin_emulator.ops.bulk_export import (
    DEFAULT_PAGE_SIZE,
    ExportPage,
    ReadQuery,
    parse_read_query,
    select_page,
    write_result_zip,
)
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.bulk_jobs import added_answer, completed_job, found_job, job_callback, job_request
from bigin_emulator.routes.responses import error_response, json_response
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.jobs import COMPLETED, Job, JobRegistry
from bigin_emulator.state.org_data import current_user

__all__ = ["BULK_READ_BASE", "DOWNLOADS_PER_MINUTE", "bulk_read_routes"]

BULK_READ_BASE = "/bigin/bulk/v2/read"
DOWNLOADS_PER_MINUTE = 10
MINUTE = 60.0
_CACHED_ZIPS = 2  # result zips kept built (a 200,000-record page zips to about 12 MB)
_CHUNK_BYTES = 256 * 1024


def _module_of(query: ReadQuery) -> dict[str, str]:
    return {"api_name": query.spec.api_name, "id": query.spec.module_id}


def _echo(raw: Mapping[str, Any], query: ReadQuery) -> dict[str, Any]:
    """The query as the status answer and the callback show it: the module named, the page set."""
    echo: dict[str, Any] = {"module": _module_of(query), "page": query.page}
    for key in ("fields", "criteria"):
        if raw.get(key) is not None:
            echo[key] = raw[key]
    return echo


def _result(job: Job) -> dict[str, Any]:
    page: ExportPage = job.result
    return {
        "page": page.page,
        "count": page.count,
        "download_url": f"{BULK_READ_BASE}/{job.id}/result",
        "per_page": page.per_page,
        "more_records": page.more_records,
    }


def _status_body(job: Job) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": job.id,
        "operation": "read",
        "state": job.state,
        "query": job.data["query"],
        "created_by": current_user().short_lookup(),
        "created_time": job.created_time,
        "file_type": "csv",
    }
    if job.callback is not None:
        body["callback"] = dict(job.callback)
    if job.state == COMPLETED:
        body["result"] = _result(job)
    return body


class _DownloadWindow:
    """Result downloads in the last rolling minute of the org's clock, for Zoho's 10-a-minute limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until a download is allowed (0: now)."""
        while self._times and now - self._times[0] >= MINUTE:
            self._times.popleft()
        return 0.0 if len(self._times) < self.limit else self._times[0] + MINUTE - now

    def add(self, now: float) -> None:
        self._times.append(now)


class _ZipCache:
    """Result zips built at a first download, kept for the latest few jobs (a retried or parallel
    download of the same page is not built again; an older one is rebuilt if it is asked again)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._zips: dict[str, bytes] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def zip_of(self, job: Job) -> memoryview:
        lock = self._locks.setdefault(job.id, anyio.Lock())
        async with lock:
            built = self._zips.pop(job.id, None)
            if built is None:
                target = io.BytesIO()
                await anyio.to_thread.run_sync(write_result_zip, target, f"{job.id}.csv", job.result)
                built = target.getvalue()
            self._zips[job.id] = built  # the newest last
            while len(self._zips) > self.keep:
                oldest = next(iter(self._zips))
                del self._zips[oldest]
                self._locks.pop(oldest, None)
        return memoryview(built)


async def _pieces(data: memoryview) -> AsyncIterator[bytes]:
    for start in range(0, len(data), _CHUNK_BYTES):
        yield bytes(data[start : start + _CHUNK_BYTES])
        await anyio.lowlevel.checkpoint()


def bulk_read_routes(
    ctx: EmulatorContext, jobs: JobRegistry, *, page_size: int = DEFAULT_PAGE_SIZE
) -> list[Route]:
    """The Bulk Read routes of one org; ``page_size`` is the records a page holds (Zoho: 200,000)."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise ValueError(f"bulk_read_page_size must be a whole number from 1, got {page_size!r}")
    store = ctx.store
    downloads = _DownloadWindow(DOWNLOADS_PER_MINUTE)
    zips = _ZipCache(_CACHED_ZIPS)
    bare_429s = ctx.config.realism.bare_429s

    async def create(request: Request) -> Response:
        body = await job_request(request)
        raw = body.get("query")
        query = parse_read_query(raw, store)
        callback = job_callback(body.get("callback"))
        assert isinstance(raw, Mapping)  # parse_read_query refuses anything else
        echo = _echo(raw, query)
        waiting = len(store.table(query.spec.api_name)) - (query.page - 1) * page_size
        job = jobs.create(
            "read",
            "read",
            records=min(page_size, max(0, waiting)),  # what the page can hold, for the job's duration
            work=lambda: select_page(query, store, page_size),
            callback=callback,
            event={"query": echo},
            data={"query": echo},
        )
        details = {
            "id": job.id,
            "operation": "read",
            "state": job.state,
            "created_by": current_user().short_lookup(),
            "created_time": job.created_time,
        }
        return json_response({"data": [added_answer(details)], "info": {}}, 201)

    async def status(request: Request) -> Response:
        return json_response({"data": [_status_body(found_job(jobs, request, "read"))]})

    async def result(request: Request) -> Response:
        job = completed_job(jobs, request, "read")
        now = ctx.now()
        wait = downloads.wait(now)
        if wait > 0:
            error = ApiError(
                429,
                "TOO_MANY_REQUESTS",
                f"at most {DOWNLOADS_PER_MINUTE} Bulk Read results can be downloaded a minute",
                {"limit": DOWNLOADS_PER_MINUTE},
            )
            response = error_response(error)
            if not bare_429s:
                response.headers["retry-after"] = str(max(1, math.ceil(wait)))
            return response
        downloads.add(now)
        data = await zips.zip_of(job)
        headers = {
            "content-length": str(len(data)),
            "content-disposition": f'attachment; filename="{job.id}.zip"',
        }
        return StreamingResponse(_pieces(data), media_type="application/zip", headers=headers)

    return [
        Route(BULK_READ_BASE, create, methods=["POST"]),
        Route(BULK_READ_BASE + "/{job_id:record_id}", status, methods=["GET"]),
        Route(BULK_READ_BASE + "/{job_id:record_id}/result", result, methods=["GET"]),
    ]
