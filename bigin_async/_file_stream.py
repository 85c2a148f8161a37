"""``FileStream``: a download read as it arrives, chunk by chunk, by the caller's own loop.

The call goes through the client's one pipeline (the gate, the limits, the token, the retries and
the deadline all apply). It runs in a task of its own while the caller's ``async with`` block is
open: the task hands each piece of the body over as the caller asks for the next one (nothing is
buffered beyond the piece at hand), and holds the gate's slot until the block ends. Retries stop
at the first piece handed over: a download cut after that raises :class:`BiginError` rather than
starting the file again under the caller's loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import httpx
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bigin_async._download import cut_short, filename_of
from bigin_async._redact import redact_url
from bigin_async._safe_chain import without_request
from bigin_async.errors import BiginError, ConfigurationError, NotFoundError

__all__ = ["BATCH_BYTES", "Consume", "FileStream"]

BATCH_BYTES = 256 * 1024  # the most handed over at once: a few socket reads
FULL_READ = 64 * 1024  # what one socket read gives when more is waiting (httpcore reads 64 KiB)


class Consume(Protocol):
    """The transport's hook: called with each 2xx answer whose body is not read yet, reads it."""

    async def __call__(self, response: httpx.Response, /) -> None: ...

    @property
    def retryable(self) -> bool:
        """False once part of a body was handed out: another attempt would hand it out again."""
        ...


class _HandOver:
    """A stream's :class:`Consume`: each attempt's answer goes to :meth:`FileStream._hand_over`."""

    def __init__(self, stream: FileStream, send: MemoryObjectSendStream[object]) -> None:
        self._stream = stream
        self._send = send

    async def __call__(self, response: httpx.Response, /) -> None:
        await self._stream._hand_over(response, self._send)

    @property
    def retryable(self) -> bool:
        return self._stream._given == 0


class _End:
    """The body ended whole."""


_END = _End()


class FileStream:
    """A file downloaded as it arrives: ``async with ... as stream: async for chunk in stream``.

    On entering, the request is sent and the answer's headers read; then ``filename`` (the name in
    the answer's ``Content-Disposition``), ``content_type`` and ``size`` (its ``Content-Length``,
    None when the server sent none) are known, and iterating gives the body's bytes. The call's
    ``timeout`` and ``deadline`` bound the whole download, the caller's time between chunks
    included: a download cut by them raises at the loop's next read (the caller's own awaits are
    never cancelled, so the block may sit in an async generator). Leaving the block early closes
    the connection. An answer with no file (204) raises :class:`NotFoundError` on entering.
    """

    def __init__(self, run: Callable[[Consume], Awaitable[Any]], *, method: str, url: str) -> None:
        self._run = run
        self._method = method
        self._url = url
        self._entered = False
        self._group: TaskGroup | None = None
        self._receive: MemoryObjectReceiveStream[object] | None = None
        self._ended = False
        self._given = 0  # bytes handed (or being handed) to the reading loop: no retry past 0
        self._read = 0  # bytes the reading loop took
        self._head_sent = False
        self.filename: str | None = None
        self.content_type: str | None = None
        self.size: int | None = None
        self.status_code: int | None = None

    def __repr__(self) -> str:
        return f"FileStream({self._method} {redact_url(self._url)}, filename={self.filename!r})"

    @property
    def bytes_read(self) -> int:
        """Bytes the reading loop has taken so far."""
        return self._read

    async def __aenter__(self) -> FileStream:
        if self._entered:
            raise ConfigurationError("a FileStream is entered once; ask for the download again")
        self._entered = True
        send, receive = anyio.create_memory_object_stream[object](0)
        self._receive = receive
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        group.start_soon(self._call, send)
        try:
            first = await receive.receive()
            if isinstance(first, BaseException):
                raise first
            assert isinstance(first, httpx.Response)
            self._describe(first)
        except BaseException:
            await self._close()
            raise
        return self

    def _describe(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.filename = filename_of(response.headers)
        self.content_type = response.headers.get("content-type")
        length = response.headers.get("content-length", "")
        self.size = int(length) if length.isdigit() else None
        if response.status_code == 204:
            raise NotFoundError(
                "the server answered 204: there is no file to download",
                status_code=204,
                method=self._method,
                url=self._url,
            )

    async def _call(self, send: MemoryObjectSendStream[object]) -> None:
        """The transport's call; its end or its error goes to the caller's next read.

        The caller's own code is never cancelled from here (a block inside an async generator,
        as a web framework's streaming response has, would break): a download that fails or
        runs out of time ends (its connection closed, its slot at the gate given back) and the
        error is raised when the caller reads again.
        """
        async with send:
            outcome: object = _END
            try:
                await self._run(_HandOver(self, send))
            except Exception as exc:  # noqa: BLE001 - raised in the caller's task, at its next read
                outcome = exc
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await send.send(outcome)

    async def _hand_over(self, response: httpx.Response, send: MemoryObjectSendStream[object]) -> None:
        """One attempt's 2xx answer: its headers (the first time), then its body, as asked for.

        Pieces are handed over in batches of up to 256 KiB while the body streams in faster than
        it is read, and at once when the network is the slower.

        A failure before any byte was handed over is the attempt's, and retried like any read; one
        after is the download's end: :class:`BiginError`, with the cause kept (without the request).
        """
        if not self._head_sent:
            self._head_sent = True
            await send.send(response)
        elif not self._given:
            self._describe(response)  # a retry's answer: its body is the one the loop will read
        failure: httpx.RequestError | None = None
        left = False  # the reading loop is gone (its block ended) or the call was cancelled
        batch: list[bytes] = []

        async def hand(reading: anyio.CancelScope) -> None:
            nonlocal left
            data = batch[0] if len(batch) == 1 else b"".join(batch)
            batch.clear()
            # Counted before it goes: a send cut by a cancel may still have delivered it, and a
            # retry must never give the loop bytes it may already have.
            self._given += len(data)
            try:
                await send.send(data)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.get_cancelled_exc_class()):
                left = True
                reading.cancel()

        try:
            # As in ``_download``: the body's iterators must end on their own await (the socket),
            # never be left suspended for the garbage collector. So when the reading loop goes,
            # the loop goes on to the next piece under a cancelled scope instead of leaving.
            with anyio.CancelScope() as reading:
                gathered = 0
                async for piece in response.aiter_bytes():
                    if left or not piece:
                        continue
                    batch.append(piece)
                    gathered += len(piece)
                    # Full socket reads mean more is already there: hand them over together (one
                    # task switch per batch, not per read); a short read means the network is
                    # behind, so what came goes to the loop at once.
                    if gathered >= BATCH_BYTES or len(piece) < FULL_READ:
                        gathered = 0
                        await hand(reading)
                if batch and not left:
                    await hand(reading)
        except httpx.RequestError as exc:
            failure = exc
        if left:
            await anyio.lowlevel.checkpoint()  # a cancelled call is cancelled again here
            return
        failure = failure or cut_short(response)
        if failure is None:
            return
        if not self._given:
            raise failure  # the attempt's: the transport retries it, and chains it without the request
        # httpx's exception holds the request, Authorization header and all: what is chained is a
        # copy without it (its own chain kept, without tracebacks), as for every call's failure.
        raise BiginError(
            f"the download of {self.filename or redact_url(self._url)} broke off after {self._given} "
            f"bytes ({type(failure).__name__}); it was not started again under the reading loop. "
            "Download it again (saved to a path, a cut download is retried whole)."
        ) from without_request(failure)

    def __aiter__(self) -> FileStream:
        return self

    async def __anext__(self) -> bytes:
        if self._receive is None or self._group is None:
            raise ConfigurationError("iterate a FileStream inside its 'async with' block")
        if self._ended:
            raise StopAsyncIteration
        try:
            item = await self._receive.receive()
        except anyio.EndOfStream:
            item = _END
        if isinstance(item, bytes):
            self._read += len(item)
            return item
        self._ended = True
        if isinstance(item, BaseException):
            raise item
        raise StopAsyncIteration

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        group, self._group = self._group, None
        receive, self._receive = self._receive, None
        if receive is not None:
            receive.close()
        if group is not None:
            group.cancel_scope.cancel()
            await group.__aexit__(None, None, None)
