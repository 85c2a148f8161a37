"""Shared set-up for the module-client tests: an emulator-backed client that records the wire.

``Wire`` wraps the emulator's in-process transport and keeps every API request (method, path,
query) the client sent, so a test can assert what went over the wire, not only what came back:
that Companies go to ``/Accounts``, that ``page`` and ``page_token`` never travel together, that a
refused input sent nothing at all.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bigin_async.client import BiginClient
from bigin_emulator import BiginEmulator

API_PREFIX = "/bigin/v2"


@dataclass(frozen=True)
class Sent:
    """One request as the server received it (API path without the ``/bigin/v2`` prefix)."""

    method: str
    path: str
    params: dict[str, str]
    body: Any

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


class Wire(httpx.AsyncBaseTransport):
    """Records each API request, then hands it to the real transport underneath."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[Sent] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith(API_PREFIX):
            content = request.content
            body = json.loads(content) if content else None
            self.sent.append(Sent(request.method, path[len(API_PREFIX) :], dict(request.url.params), body))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def routes(self) -> list[str]:
        return [s.route for s in self.sent]

    def to(self, method: str, path: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method and s.path == path]

    def clear(self) -> None:
        self.sent.clear()


@asynccontextmanager
async def wired_client(emulator: BiginEmulator, **options: Any) -> AsyncIterator[tuple[BiginClient, Wire]]:
    """A ``BiginClient`` into ``emulator`` (in-process) and the recorder of its API requests."""
    wire = Wire(emulator.transport())
    async with emulator.client(transport=wire, **options) as client:
        yield client, wire


def ids_of(records: list[Any]) -> list[str]:
    return [r.id for r in records]


class Scripted(httpx.AsyncBaseTransport):
    """A fake Bigin that answers each API request with the next answer of a script.

    An answer is an ``httpx.Response``, an exception to raise (a lost answer), or a callable of
    the request; the last answer repeats once the script runs out. Every request is recorded.
    """

    def __init__(self, *answers: Any) -> None:
        assert answers, "a script needs at least one answer"
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if callable(answer) and not isinstance(answer, httpx.Response):
            answer = answer(request)
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, httpx.Response)
        return httpx.Response(
            answer.status_code, headers=answer.headers, content=answer.content, request=request
        )

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def answer(status: int, body: Any = None, *, raw: bytes | None = None) -> httpx.Response:
    """One canned answer: ``body`` as JSON, or ``raw`` bytes as they are."""
    content = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    return httpx.Response(status, content=content)


def scripted_client(script: Scripted, **options: Any) -> BiginClient:
    """A client into ``script`` on loopback, retrying without waiting (``retry_backoff_seconds=0``)."""
    options.setdefault("max_retries", 2)
    options.setdefault("retry_backoff_seconds", 0)
    return BiginClient(access_token="t", api_domain="http://127.0.0.1", transport=script, **options)


@asynccontextmanager
async def scripted(*answers: Any) -> AsyncIterator[tuple[BiginClient, list[httpx.Request]]]:
    """A client into a fake Bigin giving ``answers`` in turn (see :class:`Scripted`), and the
    requests it received."""
    script = Scripted(*answers)
    async with scripted_client(script) as client:
        yield client, script.requests
