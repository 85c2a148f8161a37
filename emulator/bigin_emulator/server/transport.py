"""An httpx transport that runs the emulator in-process yet fails the way a socket would.

``httpx.ASGITransport`` is fast but too kind: it ignores timeouts and lets server-side exceptions
escape as themselves. Tests of retry and loss-safety need the client to see what it would see over
the network, so this wrapper maps:

- the middleware's ``ConnectionDropped`` (drop before/after the app) to ``httpx.RemoteProtocolError``
  carrying the request, as when a server closes the socket mid-response;
- a response slower than the request's read timeout (``request.extensions["timeout"]["read"]``) to
  ``httpx.ReadTimeout``, cancelling the server-side work the way a client hanging up does. As on
  a socket, the timeout counts the silence between pieces of the answer, not the whole answer:
  a body that drips in, each piece in time, never times out (only a deadline stops it);
- with ``hosts``, a request to any other host to ``httpx.ConnectError``, as a host that does not
  resolve would: a client that ignores the token's ``api_domain`` then fails instead of reaching
  the emulator anyway.

With ``content_app``, requests to ``content_host`` (``127.0.0.2``, the in-process stand-in for
``content.zohoapis.*``) go to that app, the file host, and never to the API.

Malformed bodies need no help: they pass through as the bytes they are. A request body the app
stopped reading (an upload refused as too large while it arrived) is closed once the answer is in,
as a socket's would be, so the client's body generator (an open file, say) is not left unfinished.
"""

from __future__ import annotations

from collections.abc import Collection
from contextvars import ContextVar
from typing import Any

import anyio
import httpx

from bigin_emulator.server.middleware import ASGIApp, ConnectionDropped, Message, Receive, Scope, Send

__all__ = ["CONTENT_HOST", "EmulatorTransport"]

CONTENT_HOST = "127.0.0.2"


class EmulatorTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=EmulatorTransport(app))`` talks to ``app`` with no sockets.

    App exceptions other than the emulated faults propagate unchanged (as with
    ``ASGITransport(raise_app_exceptions=True)``), so bugs in routes fail tests loudly.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        client: tuple[str, int] = ("127.0.0.1", 123),
        hosts: Collection[str] | None = None,
        content_app: ASGIApp | None = None,
        content_host: str = CONTENT_HOST,
    ) -> None:
        self.app = app
        self.hosts = frozenset(hosts) if hosts is not None else None
        self.content_host = content_host
        self._asgi = httpx.ASGITransport(app=_timed(app), client=client)
        self._content = (
            httpx.ASGITransport(app=_timed(content_app), client=client) if content_app is not None else None
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        asgi = self._asgi
        if self._content is not None and request.url.host == self.content_host:
            asgi = self._content
        elif self.hosts is not None and request.url.host not in self.hosts:
            raise httpx.ConnectError(f"the emulator does not answer on {request.url.host!r}", request=request)
        read_timeout = _read_timeout(request)
        body = _ClosingBody(request.stream)
        request.stream = body
        try:
            if read_timeout is None:
                return await asgi.handle_async_request(request)
            with anyio.CancelScope() as silence:
                silence.deadline = anyio.current_time() + read_timeout
                token = _SILENCE.set((silence, read_timeout))
                try:
                    return await asgi.handle_async_request(request)
                finally:
                    _SILENCE.reset(token)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        finally:
            await body.aclose()
        # Only our own deadline gets here, so a TimeoutError raised by the app stays what it is.
        raise httpx.ReadTimeout(f"no response within the read timeout of {read_timeout} s", request=request)

    async def aclose(self) -> None:
        await self._asgi.aclose()
        if self._content is not None:
            await self._content.aclose()


class _ClosingBody(httpx.AsyncByteStream):
    """A request body whose reading can be ended early (``aclose``), read or not to its end."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._chunks: Any = None

    def __aiter__(self) -> _ClosingBody:
        self._chunks = self._stream.__aiter__()
        return self

    async def __anext__(self) -> bytes:
        chunk: bytes = await self._chunks.__anext__()
        return chunk

    async def aclose(self) -> None:
        closing = getattr(self._chunks, "aclose", None)
        self._chunks = None
        if closing is not None:
            await closing()


# The read deadline of the request being handled (httpx.ASGITransport runs the app in the caller's task).
_SILENCE: ContextVar[tuple[anyio.CancelScope, float] | None] = ContextVar(
    "emulator_read_silence", default=None
)


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts: dict[str, Any] = request.extensions.get("timeout", {})
    value = timeouts.get("read")
    return float(value) if value is not None else None


def _timed(app: ASGIApp) -> ASGIApp:
    """``app``, with each piece of its answer moving the read deadline on (as bytes on a socket do).

    Only a piece followed by more moves it: an answer in one piece (nearly all) costs nothing.
    """

    async def timed_app(scope: Scope, receive: Receive, send: Send) -> None:
        watch = _SILENCE.get()
        if watch is None:
            await app(scope, receive, send)
            return
        silence, read_timeout = watch

        async def timed_send(message: Message) -> None:
            await send(message)
            if message.get("more_body", False):  # more is coming: the silence starts again now
                silence.deadline = anyio.current_time() + read_timeout

        await app(scope, receive, timed_send)

    return timed_app
