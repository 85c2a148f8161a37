"""An httpx transport that runs the emulator in-process yet fails the way a socket would.

``httpx.ASGITransport`` is fast but too kind: it ignores timeouts and lets server-side exceptions
escape as themselves. Tests of retry and loss-safety need the client to see what it would see over
the network, so this wrapper maps:

- the middleware's ``ConnectionDropped`` (drop before/after the app) to ``httpx.RemoteProtocolError``
  carrying the request, as when a server closes the socket mid-response;
- a response slower than the request's read timeout (``request.extensions["timeout"]["read"]``) to
  ``httpx.ReadTimeout``, cancelling the server-side work the way a client hanging up does.

Malformed bodies need no help: they pass through as the bytes they are.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx

from .middleware import ASGIApp, ConnectionDropped

__all__ = ["EmulatorTransport"]


class EmulatorTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=EmulatorTransport(app))`` talks to ``app`` with no sockets.

    App exceptions other than the emulated faults propagate unchanged (as with
    ``ASGITransport(raise_app_exceptions=True)``), so bugs in routes fail tests loudly.
    """

    def __init__(self, app: ASGIApp, *, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self.app = app
        self._asgi = httpx.ASGITransport(app=app, client=client)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        read_timeout = _read_timeout(request)
        try:
            if read_timeout is None:
                return await self._asgi.handle_async_request(request)
            with anyio.move_on_after(read_timeout):
                return await self._asgi.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        # Only our own deadline gets here, so a TimeoutError raised by the app stays what it is.
        raise httpx.ReadTimeout(f"no response within the read timeout of {read_timeout} s", request=request)

    async def aclose(self) -> None:
        await self._asgi.aclose()


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts: dict[str, Any] = request.extensions.get("timeout", {})
    value = timeouts.get("read")
    return float(value) if value is not None else None
