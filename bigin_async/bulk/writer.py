"""``BulkWriter``: a bulk write fed one record at a time by a producer that runs for a while.

``async with client.contacts.bulk_writer(mode="upsert", duplicate_check_fields=["Email"]) as w:
await w.add(record)``. Full batches go out as soon as they fill; the last partial batch goes out
on exit; ``w.result`` then holds every outcome. ``add`` waits when the writer is a few batches
ahead of the server (backpressure), so a fast producer cannot fill memory.

If the block raises, the run stops as it does when an input iterator fails: records added and not
yet sent are not sent (a re-run with the same ``journal=`` sends them), the batches already at the
server finish and are journaled, and the block's exception is raised as itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bigin_async._tasks import unwrapping_task_group
from bigin_async._transport import Transport
from bigin_async.bulk.engine import BulkPlan, run_bulk
from bigin_async.bulk.results import BulkResult, ProgressCallback, ResultCallback
from bigin_async.errors import ValidationError

__all__ = ["BulkWriter"]


class BulkWriter:
    """Collects records through :meth:`add` and writes them in batches of 100 as they fill."""

    def __init__(
        self,
        transport: Transport,
        plan: BulkPlan,
        *,
        journal: str | None = None,
        on_result: ResultCallback | None = None,
        on_progress: ProgressCallback | None = None,
        keep_outcomes: bool | None = None,
    ) -> None:
        self._transport = transport
        self._plan = plan
        self._options: dict[str, Any] = {
            "journal_path": journal,
            "on_result": on_result,
            "on_progress": on_progress,
            "keep_outcomes": keep_outcomes,
        }
        self._send: MemoryObjectSendStream[Any] | None = None
        self._group: TaskGroup | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._result: BulkResult | None = None
        self._failure: Exception | None = None  # the block's own exception: stop reading records
        self.added = 0

    @property
    def result(self) -> BulkResult:
        """Every outcome, available once the ``async with`` block has exited."""
        if self._result is None:
            raise ValidationError("the writer's result is ready only after the `async with` block ends")
        return self._result

    async def __aenter__(self) -> BulkWriter:
        send, receive = anyio.create_memory_object_stream[Any](self._plan.batch_size)
        self._send = send
        self._stack = contextlib.AsyncExitStack()
        # Unwrapping: a BulkAbortedError (or the block's own exception) reaches the caller as itself.
        self._group = await self._stack.enter_async_context(unwrapping_task_group())
        self._group.start_soon(self._run, receive)
        return self

    async def _run(self, receive: MemoryObjectReceiveStream[Any]) -> None:
        async def records() -> AsyncIterator[Any]:
            async with receive:
                async for record in receive:
                    if self._failure is not None:
                        raise self._failure
                    yield record
                if self._failure is not None:
                    raise self._failure

        self._result = await run_bulk(self._transport, self._plan, records(), **self._options)

    async def add(self, record: Any) -> None:
        """Queue one record (waits when the writer is ahead of the server)."""
        if self._send is None:
            raise ValidationError("use the writer inside `async with ... as writer:`")
        await self._send.send(record)
        self.added += 1

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._send is not None and self._stack is not None
        if isinstance(exc, Exception):
            # The block failed: like a failing input iterator, its exception stops the run (no
            # further record is sent) but the batches already at the server finish and are
            # journaled; cancelling them would turn known outcomes into unknown ones (inserts a
            # re-run could then not send again). Raised as itself once they are done.
            self._failure = exc
            exc_type = tb = exc = None
        await self._send.aclose()  # no more records: the engine flushes the last partial batch
        handled = await self._stack.__aexit__(exc_type, exc, tb)
        if self._failure is not None:  # never swallowed, even if the run ended without reading it
            raise self._failure
        return handled
