"""A misbehaving HTTP server on a raw loopback socket: every call still ends, typed and decided right.

The server is a plain anyio TCP listener written here (no uvicorn, no emulator), so it can do
what real proxies and crashing servers do at the socket level, which an ASGI app cannot:

- ``drip``: answer the headers, then one body byte every 0.2 s, forever;
- ``reset``: answer the headers, then reset the connection (RST);
- ``half``: read the request, then close its sending side (a half-close) without answering;
- ``hang``: read the request and never answer;
- ``stale``: answer, then close the kept-alive connection while it is idle (between calls);
- ``ok``: answer ``{"ok": true}`` (the healthy route).

The path picks the mode: ``/bigin/v2/<mode>/org`` (a GET: retried) or ``/bigin/v2/<mode>/Contacts``
(a POST insert: never re-sent). The server counts the requests it read whole, which is what the
"retried / not re-sent" assertions count. Every bound is small (0.3-1 s) and ``anyio.fail_after``
is only a safety net so a regression fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketStream

from bigin_async import AmbiguousWriteError, BiginClient, BiginConnectionError, BiginTimeoutError

SAFETY = 20.0
RECORDS = [{"Last_Name": "Doe"}, {"Last_Name": "Roe"}]
_DISCONNECTS = (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream, OSError)


def _answer(body: bytes, *, status: str = "200 OK", length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    return head.encode() + body


OK = _answer(b'{"ok": true}')
CREATED = _answer(
    b'{"data": [{"code": "SUCCESS", "status": "success", "details": {"id": "1"}}]}', status="201 Created"
)
PROMISED = _answer(b"", length=1000)  # headers that promise a body of 1000 bytes


class MisbehavingServer:
    def __init__(self) -> None:
        self.seen: Counter[tuple[str, str]] = Counter()  # (method, mode) of requests read whole
        self.connections = 0
        self.stale_closed = anyio.Event()

    async def handle(self, stream: SocketStream) -> None:
        self.connections += 1
        with contextlib.suppress(*_DISCONNECTS):
            async with stream:
                await self._serve(stream)

    async def _serve(self, stream: SocketStream) -> None:
        buffer = b""
        while True:  # one kept-alive connection: request after request until a mode ends it
            request, buffer = await _read_request(stream, buffer)
            if request is None:
                return
            method, mode = request
            self.seen[(method, mode)] += 1
            if mode == "ok":
                await stream.send(CREATED if method == "POST" else OK)
            elif mode == "stale":
                await stream.send(OK)
                await stream.aclose()  # the idle kept-alive connection goes away between calls
                self.stale_closed.set()
                return
            elif mode == "drip":
                await stream.send(PROMISED)
                for _ in range(1000):
                    await anyio.sleep(0.2)  # the server's own pace, not a wait in the test
                    await stream.send(b" ")
                return
            elif mode == "reset":
                await stream.send(PROMISED)
                raw = stream.extra(SocketAttribute.raw_socket)
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                await stream.aclose()  # with SO_LINGER 0: a reset, not a clean close
                return
            elif mode == "half":
                await stream.send_eof()
                await _drain(stream)
                return
            elif mode == "hang":
                await _drain(stream)  # until the client gives up and closes
                return
            else:  # pragma: no cover - a typo in a test
                raise AssertionError(f"unknown mode {mode}")


async def _read_request(stream: SocketStream, buffer: bytes) -> tuple[tuple[str, str] | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        try:
            buffer += await stream.receive()
        except anyio.EndOfStream:
            return None, b""
        if len(buffer) > 65_536:  # pragma: no cover
            raise AssertionError("request head too large")
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(buffer) < length:
        buffer += await stream.receive()
    mode = target.split("?", 1)[0].split("/")[3]  # /bigin/v2/<mode>/...
    return (method, mode), buffer[length:]


async def _drain(stream: SocketStream) -> None:
    with contextlib.suppress(*_DISCONNECTS):
        while True:
            await stream.receive()


@contextlib.asynccontextmanager
async def running() -> AsyncIterator[tuple[MisbehavingServer, str]]:
    server = MisbehavingServer()
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(SocketAttribute.local_port)
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, server.handle)
        try:
            yield server, f"http://127.0.0.1:{port}"
        finally:
            tg.cancel_scope.cancel()
    await listener.aclose()


def client(url: str, **overrides: Any) -> BiginClient:
    options: dict[str, Any] = {
        "access_token": "1000.chaos-token",
        "expires_in": 3600,
        "api_domain": url,
        "timeout": 0.5,
        "deadline": None,
        "max_retries": 1,
        "retry_backoff_seconds": 0.01,
    }
    options.update(overrides)
    return BiginClient(**options)


async def ends_healthy(bigin: BiginClient, server: MisbehavingServer) -> None:
    """After the misbehaving call: no gate slot held, and the next call to a healthy route works."""
    assert bigin.transport.gate.in_flight == 0
    assert await bigin.request("GET", "/ok/org") == {"ok": True}
    assert server.seen[("GET", "ok")] >= 1


# Each mode: the typed error a read gets (after its one retry) and an insert gets (not re-sent).
MODES = {
    "drip": BiginTimeoutError,  # every read within the per-read timeout; the attempt bound ends it
    "hang": BiginTimeoutError,
    "reset": BiginConnectionError,
    "half": BiginConnectionError,
}


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_a_read_is_retried_once_then_raises_typed(mode: str) -> None:
    async with running() as (server, url), client(url) as bigin:
        with anyio.fail_after(SAFETY):
            with pytest.raises(MODES[mode]):
                await bigin.request("GET", f"/{mode}/org")
            assert server.seen[("GET", mode)] == 2  # the first attempt and its one retry
            await ends_healthy(bigin, server)


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_an_insert_is_sent_once_and_its_records_reported_unknown(mode: str) -> None:
    async with running() as (server, url), client(url, max_retries=3) as bigin:
        with anyio.fail_after(SAFETY):
            with pytest.raises(AmbiguousWriteError) as info:
                await bigin.request("POST", f"/{mode}/Contacts", json={"data": RECORDS})
            assert info.value.records == RECORDS
            assert server.seen[("POST", mode)] == 1  # never re-sent: it may have been applied
            await ends_healthy(bigin, server)


@pytest.mark.parametrize("mode", ["drip", "hang"])
async def test_the_deadline_ends_the_call_whatever_the_timeout(mode: str) -> None:
    """A generous timeout (30 s) and a short deadline: the deadline bounds the whole call."""
    async with running() as (server, url), client(url, timeout=30.0, deadline=0.6) as bigin:
        with anyio.fail_after(SAFETY):
            with pytest.raises(BiginTimeoutError, match="deadline"):
                await bigin.request("GET", f"/{mode}/org")
            with pytest.raises(AmbiguousWriteError):
                await bigin.request("POST", f"/{mode}/Contacts", json={"data": RECORDS})
            assert server.seen[("POST", mode)] == 1
            await ends_healthy(bigin, server)


async def test_twenty_bounded_out_calls_leak_no_slot_and_no_pooled_connection() -> None:
    """A leaked connection per cut call would exhaust the pool (gate 2 + 5 spare) well before 20."""
    async with (
        running() as (server, url),
        client(url, max_concurrency=2, max_retries=0, timeout=0.3) as bigin,
    ):
        cut_by_deadline = bigin.with_options(timeout=30.0, deadline=0.3)
        with anyio.fail_after(SAFETY):
            for i in range(20):
                view = cut_by_deadline if i % 2 else bigin
                with pytest.raises(BiginTimeoutError):
                    await view.request("GET", f"/{'drip' if i % 4 < 2 else 'hang'}/org")
            assert server.connections >= 20  # each cut call closed its connection; none was reused
            await ends_healthy(bigin, server)


async def test_a_post_after_the_server_closed_the_idle_connection_is_sent_fresh_and_succeeds() -> None:
    """Stale keep-alive: the pool notices the closed idle connection and opens a new one.

    Nothing of the POST went out on the dead connection, so it must not be reported unknown (and
    httpcore never writes on a pooled connection it finds closed). When a write does fail before
    the request left whole, the connection's trace says so and the call counts as not sent: see
    ``tests/transport/test_pipeline.py::test_an_insert_that_never_left_whole_is_retried``.
    """
    async with running() as (server, url), client(url) as bigin:
        with anyio.fail_after(SAFETY):
            assert await bigin.request("GET", "/stale/org") == {"ok": True}
            await server.stale_closed.wait()
            body = await bigin.request("POST", "/ok/Contacts", json={"data": RECORDS[:1]})
            assert body["data"][0]["code"] == "SUCCESS"
            assert server.seen[("POST", "ok")] == 1
            assert server.connections == 2
            await ends_healthy(bigin, server)
