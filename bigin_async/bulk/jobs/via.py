"""The one front door of bulk writes: through 100-record calls, through Bulk Write jobs, or chosen.

``via="calls"`` sends 100 records a call (1 credit per 10 records inserted or updated: 2,500 for
25,000 records); ``via="jobs"`` sends parts of up to 25,000 records through Bulk Write jobs
(500 credits a part) and waits for each job (minutes, on Zoho's side); ``via="auto"`` reads up
to :data:`AUTO_JOBS_THRESHOLD_WRITE` records first: no more than that and calls are used (a job's
wait costs more than the credits it saves), more and jobs are. At 5,000 records calls cost 500
credits, one job 500 too: above it jobs cost less, and the gap grows to a factor of five.

A resumed run keeps the way of the run it resumes: ``auto`` with a ``journal=`` that already
holds a jobs journal goes through jobs, one of call-based writes through calls, whatever the
count (the same input gives the same choice anyway; a journal of the other way would be refused).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sized
from pathlib import Path
from typing import Any, Literal

from bigin_async.bulk.jobs.journal import JOBS_JOURNAL_KIND
from bigin_async.bulk.results import BulkResult
from bigin_async.errors import ValidationError

__all__ = ["AUTO_JOBS_THRESHOLD_WRITE", "Via", "choose_via", "journal_way", "write_via"]

Via = Literal["calls", "jobs", "auto"]
# ``via="auto"`` uses Bulk Write jobs for more records than this, calls for this many or fewer.
AUTO_JOBS_THRESHOLD_WRITE = 5_000

BulkInput = Iterable[Any] | AsyncIterable[Any]
Runner = Callable[[BulkInput], Awaitable[BulkResult]]


def journal_way(journal: str | os.PathLike[str] | None) -> Literal["calls", "jobs"] | None:
    """Which way the run that wrote ``journal`` went (None: no journal yet, or not one of ours)."""
    if journal is None:
        return None
    try:
        with Path(journal).open("rb") as handle:
            first = handle.readline(4096)
        header = json.loads(first)
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("t") != "header":
        return None
    return "jobs" if header.get("kind") == JOBS_JOURNAL_KIND else "calls"


async def choose_via(
    via: Via,
    records: BulkInput,
    *,
    journal: str | os.PathLike[str] | None = None,
    threshold: int = AUTO_JOBS_THRESHOLD_WRITE,
) -> tuple[Literal["calls", "jobs"], BulkInput]:
    """The way to go, and the records to send that way (``auto`` may have read some of them ahead)."""
    if via not in ("calls", "jobs", "auto"):
        raise ValidationError(f"via must be calls, jobs or auto, got {via!r}")
    if via != "auto":
        return via, records
    known = journal_way(journal)
    if known is not None:
        return known, records
    if isinstance(records, Sized) and not isinstance(records, (str, bytes)):
        return ("jobs" if len(records) > threshold else "calls"), records
    if isinstance(records, AsyncIterable):
        stream = records.__aiter__()
        ahead: list[Any] = []
        async for record in _take(stream, threshold + 1):
            ahead.append(record)
        if len(ahead) <= threshold:
            return "calls", ahead
        return "jobs", _chain(ahead, stream)
    iterator = iter(records)
    ahead = list(itertools.islice(iterator, threshold + 1))
    if len(ahead) <= threshold:
        return "calls", ahead
    return "jobs", itertools.chain(ahead, iterator)


async def _take(stream: AsyncIterator[Any], count: int) -> AsyncIterator[Any]:
    for _ in range(count):
        try:
            yield await stream.__anext__()
        except StopAsyncIteration:
            return


async def _chain(ahead: list[Any], stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    try:
        for record in ahead:
            yield record
        ahead.clear()
        async for record in stream:
            yield record
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


async def write_via(
    via: Via,
    records: BulkInput,
    *,
    calls: Runner,
    jobs: Runner,
    journal: str | os.PathLike[str] | None = None,
) -> BulkResult:
    """Run the write ``via`` says (see the module docstring), ``auto`` deciding by the count."""
    way, chosen = await choose_via(via, records, journal=journal)
    return await (jobs if way == "jobs" else calls)(chosen)
