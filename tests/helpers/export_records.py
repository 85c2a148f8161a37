"""What a Bulk Read CSV carries of a REST record, for tests that compare the two reads.

A Bulk Read CSV holds a lookup as the linked record's id and a tag as its name, so a record
exported through a job equals the same record read through ``get()`` once the REST record is cut
down to what the CSV carries: :func:`as_csv_carries`. :func:`csv_cell` writes one REST value the
way Zoho writes it in a Bulk Read CSV (the emulator's format, spec section 7).

:func:`downloads_on_fake_time` keeps a client's 10-downloads-a-minute pacing but on a clock that
jumps instead of sleeping; :class:`CutResults` drops Bulk Read result downloads half way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from bigin_async._limits import RateLimiter
from bigin_async.client import BiginClient
from bigin_async.models import Record
from bigin_async.resources.bulk_jobs import BulkJobsClient
from tests.helpers.clock import FakeClock

__all__ = ["CutResults", "as_csv_carries", "csv_cell", "csv_row", "downloads_on_fake_time"]


def csv_cell(value: Any) -> str:
    """One REST value as a Bulk Read CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return str(value["id"]) if "id" in value else json.dumps(value)
    if isinstance(value, list):
        return ";".join(str(item["name"]) if isinstance(item, dict) else str(item) for item in value)
    return str(value)


def csv_row(record: Mapping[str, Any], header: Iterable[str]) -> list[str]:
    return [csv_cell(record.get(name)) for name in header]


def _carried(name: str, value: Any) -> Any:
    if isinstance(value, dict) and "id" in value:
        return {"id": value["id"]}
    if name == "Tag" and isinstance(value, list):
        return [{"name": item["name"]} for item in value]
    return value


def as_csv_carries(record: Record | Mapping[str, Any], fields: Iterable[str], model: type[Record]) -> Record:
    """``record`` with only ``fields`` (and its id), lookups cut to their id and tags to their name."""
    wire = record.model_dump(by_alias=True) if isinstance(record, Record) else dict(record)
    names = {"id", *fields}
    return model.model_validate(
        {name: _carried(name, value) for name, value in wire.items() if name in names}
    )


def downloads_on_fake_time(client: BiginClient) -> FakeClock:
    """Give ``client`` a ``bulk_jobs`` whose download pacing (10 a minute) waits on a fake clock.

    The limiter still books every download a minute apart per ten; a wait moves the clock
    instead of sleeping. Returns the clock (it only moves forward).
    """
    clock = FakeClock(0.0)

    async def sleep_until(deadline: float) -> None:
        clock.now = max(clock.now, deadline)

    limiter = RateLimiter.per_minute(10, clock=clock, sleep_until=sleep_until)
    client.bulk_jobs = BulkJobsClient(client.transport, download_limiter=limiter)
    return clock


class _CutStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, keep: int) -> None:
        self._inner = inner
        self._keep = keep

    async def __aiter__(self) -> Any:
        inner = self._inner.__aiter__()
        sent = 0
        try:
            async for chunk in inner:
                if sent + len(chunk) >= self._keep:
                    yield chunk[: self._keep - sent]
                    raise httpx.RemoteProtocolError(
                        "peer closed connection without sending complete message body"
                    )
                sent += len(chunk)
                yield chunk
        finally:
            close = getattr(inner, "aclose", None)  # an async generator's: finish it, not leave it to GC
            if close is not None:
                await close()

    async def aclose(self) -> None:
        await self._inner.aclose()


class CutResults(httpx.AsyncBaseTransport):
    """Passes requests to ``inner``; the first ``cuts`` Bulk Read result bodies stop after ``keep`` bytes.

    ``on_response(response)`` may rewrite any answer (a test moving the emulator's clock on a 429).
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        cuts: int = 0,
        keep: int = 100,
        on_response: Any = None,
    ) -> None:
        self.inner = inner
        self.cuts = cuts
        self.keep = keep
        self.on_response = on_response
        self.results: list[int] = []  # the status of each result download, in order

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.on_response is not None:
            response = self.on_response(response) or response
        path = request.url.path
        if path.startswith("/bigin/bulk/v2/read/") and path.endswith("/result"):
            self.results.append(response.status_code)
            if response.status_code == 200 and self.cuts > 0:
                self.cuts -= 1
                assert isinstance(response.stream, httpx.AsyncByteStream)
                response.stream = _CutStream(response.stream, self.keep)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
