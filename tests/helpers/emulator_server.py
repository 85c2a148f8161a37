"""A tiny ASGI app and a fake clock for testing the emulator's infrastructure without A1's routes.

The app records every write it applies, so a test can tell "the server applied it but the client
never heard" (drop_after) from "the server never saw it" (drop_before). Requests can be held at an
``anyio.Event`` to build real concurrency without sleeping.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from bigin_emulator.server.middleware import EmulatorMiddleware, Message, Receive, Scope, Send
from bigin_emulator.server.transport import EmulatorTransport


class FakeClock:
    """A clock that only moves when told to: rolling windows become exact and instant to test."""

    EPOCH_AT_START = 1_700_000_000.0

    def __init__(self, start: float = 1_000.0) -> None:
        self.start = start
        self.now = start

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        """Unix time moving in step with the fake monotonic time (EPOCH_AT_START at the start)."""
        return self.EPOCH_AT_START + (self.now - self.start)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingApp:
    """Answers every request with JSON; remembers applied writes; optionally holds requests."""

    def __init__(self) -> None:
        self.writes: list[Any] = []
        self.calls = 0
        self.hold_until: anyio.Event | None = None
        self.expected_held = 0
        self.all_held = anyio.Event()
        self._held = 0

    def hold(self, count: int) -> anyio.Event:
        """Hold the next ``count`` requests until the returned event is set."""
        self.hold_until = anyio.Event()
        self.expected_held = count
        self.all_held = anyio.Event()
        self._held = 0
        return self.hold_until

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        self.calls += 1
        body = await _read_body(receive)
        if scope["method"] in ("POST", "PUT") and str(scope["path"]).startswith("/bigin/"):
            self.writes.append(json.loads(body))
        if self.hold_until is not None and not self.hold_until.is_set():
            self._held += 1
            if self._held == self.expected_held:
                self.all_held.set()
            await self.hold_until.wait()
        status = 201 if scope["method"] == "POST" else 200
        payload = json.dumps({"data": [{"path": scope["path"], "status": "success"}]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


@asynccontextmanager
async def in_process_client(app: EmulatorMiddleware, **kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=EmulatorTransport(app), base_url="http://emulator", **kwargs
    ) as client:
        yield client


def records(count: int) -> dict[str, Any]:
    return {"data": [{"Last_Name": f"Record {i}"} for i in range(count)]}
