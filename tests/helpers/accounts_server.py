"""A fake Zoho accounts server on a loopback socket that fails on demand, and one failure episode.

The server speaks just enough HTTP/1.1 for httpx: it reads a request (head and body), counts it,
and answers as its ``mode`` says: a token, a 500, ``invalid_code`` in an HTTP 200 body, Zoho's
"Access Denied" (HTTP 400), no answer at all (``hang``), or an answer dripped a byte at a time that
never ends (``slow``: no socket read ever times out, only the refresh's own bound can stop it).
"Connection refused" is a closed loopback port. A real socket matters here: connect errors, read
timeouts and drips are what httpx raises from a network, not from a mock.

:func:`episode` drives one failure episode: fifty callers need a token while the server fails,
then the server recovers and one more call is made (after Zoho's window, on a fake clock, where
the failure calls for a wait). The chaos tests assert on its report; ``benchmarks/token_faults.py``
prints it.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from anyio.abc import ByteStream
from pydantic import SecretStr

from bigin_async import AuthenticationError
from bigin_async.auth import RefreshBlockedError, Token, TokenManager
from tests.helpers.loopback import serve_loopback

MODES = ("500", "invalid_code", "access_denied", "hang", "slow", "refused")
TOKEN_PATH = "/oauth/v2/token"
START = 1_800_000_000.0  # the fake wall clock's start (epoch seconds)
ACCESS_DENIED = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


class AccountsServer:
    """``/oauth/v2/token`` on 127.0.0.1; ``received`` counts requests that reached it."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received = 0
        self.minted = 0
        self.port = 0
        self.arrived = anyio.Event()  # set by the first request that reaches the server
        self.hold: anyio.Event | None = None  # when given, the first answer waits for it

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{TOKEN_PATH}"

    @classmethod
    @asynccontextmanager
    async def running(cls) -> AsyncIterator[AccountsServer]:
        server = cls()
        async with serve_loopback(server._connection) as port:
            server.port = port
            yield server

    async def _connection(self, stream: ByteStream) -> None:
        async with stream:
            buffer = b""
            try:
                while True:
                    request, buffer = await _read_request(stream, buffer)
                    if request is None:
                        return
                    await self._answer(stream)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                return

    async def _answer(self, stream: ByteStream) -> None:
        self.received += 1
        first = not self.arrived.is_set()
        self.arrived.set()
        if first and self.hold is not None:
            await self.hold.wait()
        mode = self.mode
        if mode == "hang":
            await anyio.sleep_forever()
        if mode == "slow":
            await stream.send(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            )
            for _ in range(100_000):  # a byte every 50 ms: each socket read gets something
                await anyio.sleep(0.05)
                await stream.send(b" ")
            return
        body: Mapping[str, object]
        if mode == "ok":
            self.minted += 1
            status, body = (
                200,
                {"access_token": f"1000.minted-{self.minted}", "expires_in": 3600, "token_type": "Bearer"},
            )
        elif mode == "500":
            status, body = 500, {"error": "internal_error"}
        elif mode == "invalid_code":
            status, body = 200, {"error": "invalid_code"}
        elif mode == "access_denied":
            status, body = 400, ACCESS_DENIED
        else:
            raise AssertionError(f"unknown mode {mode!r}")
        payload = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        await stream.send(head.encode() + payload)


async def _read_request(stream: ByteStream, buffer: bytes) -> tuple[bytes | None, bytes]:
    """One request (head and body) off ``stream``, and what was read past it; None at the end."""
    for _ in range(10_000):
        if b"\r\n\r\n" in buffer:
            break
        try:
            buffer += await stream.receive()
        except anyio.EndOfStream:
            return None, b""
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    for _ in range(10_000):
        if len(rest) >= length:
            break
        rest += await stream.receive()
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


class CountingTransport(httpx.AsyncBaseTransport):
    """The real network transport, counting every attempt (also those refused before connecting)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{TOKEN_PATH}"


def _kind(result: Token | BaseException) -> str:
    if isinstance(result, Token):
        return "token"
    code = getattr(result, "code", None)
    return f"{type(result).__name__}({code})" if code else type(result).__name__


async def episode(mode: str, waiters: int = 50) -> dict[str, Any]:
    """``waiters`` callers need a token while the accounts server fails as ``mode`` says; then it
    recovers. What reached the server, what the callers saw, and whether the client came back."""
    clock = [START]
    counting = CountingTransport()
    async with AccountsServer.running() as server, httpx.AsyncClient(transport=counting) as http:
        tokens = TokenManager(
            token_url=closed_port_url() if mode == "refused" else server.url,
            client_id=SecretStr("1000.CHAOS"),
            client_secret=SecretStr("chaos-secret"),
            refresh_token=SecretStr("1000.chaos-refresh"),
            clock=lambda: clock[0],
            timeout=1.0,  # a hung server is a read timeout after 1 s; the drip never is
            refresh_deadline=3.0,
            retry_backoff=0.01,
        )
        tokens.http = http
        server.mode = mode
        server.hold = release = anyio.Event()
        everyone_waits = anyio.Event()
        results: list[Token | BaseException] = []

        async def caller(number: int) -> None:
            if number == waiters - 1:
                everyone_waits.set()
            try:
                results.append(await tokens.get_token())
            except Exception as exc:
                results.append(exc)

        with anyio.fail_after(60):  # a safety bound only: every episode ends on its own
            async with anyio.create_task_group() as tasks:
                for number in range(waiters):
                    tasks.start_soon(caller, number)
                await everyone_waits.wait()
                if mode != "refused":
                    await server.arrived.wait()  # the one refresh is at the server, all others wait
                release.set()
        report: dict[str, Any] = {
            "mode": mode,
            "waiters": waiters,
            "refresh_requests_reached_endpoint": server.received,
            "connection_attempts": counting.attempts,
            "seen_by_waiters": dict(Counter(_kind(r) for r in results)),
            "one_error_for_all": len({str(r) for r in results}) == 1 and not isinstance(results[0], Token),
        }

        # Recovery: the server answers again (and the network is back).
        server.mode = "ok"
        tokens.token_url = server.url
        tokens.timeout = 10.0
        reached = server.received
        next_call = await _try(tokens)
        report["next_call"] = _kind(next_call)
        report["next_call_requests"] = server.received - reached
        if isinstance(next_call, RefreshBlockedError):
            clock[0] += next_call.retry_after  # Zoho's window ends
            next_call = await _try(tokens)
        elif isinstance(next_call, AuthenticationError):
            clock[0] += tokens.permanent_failure_ttl  # the negative cache ends
            next_call = await _try(tokens)
        report["recovered"] = isinstance(next_call, Token)
        report["requests_to_recover"] = server.received - reached
    return report


async def _try(tokens: TokenManager) -> Token | BaseException:
    try:
        return await tokens.get_token()
    except Exception as exc:
        return exc
