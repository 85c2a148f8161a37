"""A fake Bigin for file calls: an ``httpx.MockTransport`` handler that reads multipart bodies
as they stream in (each part hashed and counted, only small parts kept), so a test of a 15 MB
upload measures the client's memory, not this server's.

``FileServer(answer)``: ``answer(seen)`` gives the response for each request once its body was
read whole (or raises, e.g. ``httpx.ReadError``, to lose the answer after the body arrived);
``bigin_for(server)`` is a client into it, ``json_answer(body)`` the plainest answer. ``sparse_file``
makes a file of any size that takes no disk, for the size limits; ``peak_during`` measures what a
call allocated at its peak.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx

from bigin_async import BiginClient

__all__ = [
    "KEEP",
    "Chunks",
    "FileServer",
    "PartSeen",
    "RequestSeen",
    "bigin_for",
    "json_answer",
    "peak_during",
    "sparse_file",
]

KEEP = 64 * 1024  # a part up to this size is kept whole (text fields, small files)


@dataclass
class PartSeen:
    """One multipart part as read: its headers' names, size, hash, and content when small."""

    name: str | None
    filename: str | None
    content_type: str | None
    size: int = 0
    sha256: str = ""
    content: bytes = b""

    @property
    def text(self) -> str:
        return self.content.decode()


@dataclass
class RequestSeen:
    method: str
    path: str
    params: dict[str, str]
    headers: httpx.Headers
    parts: list[PartSeen] = field(default_factory=list)
    size: int = 0

    def part(self, name: str) -> PartSeen:
        return next(p for p in self.parts if p.name == name)


class _PartSink:
    def __init__(self, headers: Message) -> None:
        self.seen = PartSeen(
            headers.get_param("name", header="content-disposition"),  # type: ignore[arg-type]
            headers.get_filename(),
            headers.get_content_type() if headers.get("content-type") else None,
        )
        self._digest = hashlib.sha256()
        self._kept = bytearray()

    def feed(self, data: bytes) -> None:
        self._digest.update(data)
        self.seen.size += len(data)
        if self.seen.size <= KEEP:
            self._kept += data

    def close(self) -> PartSeen:
        self.seen.sha256 = self._digest.hexdigest()
        self.seen.content = bytes(self._kept) if self.seen.size <= KEEP else b""
        return self.seen


class _MultipartReader:
    """Splits a multipart/form-data body into parts as its chunks arrive."""

    def __init__(self, boundary: str) -> None:
        self._opening = b"--" + boundary.encode()
        self._delimiter = b"\r\n--" + boundary.encode()
        self._buffer = b""
        self._state = "opening"  # opening -> headers -> data -> (headers ...) -> done
        self._part: _PartSink | None = None
        self.parts: list[PartSeen] = []

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while self._step():
            pass

    def _step(self) -> bool:
        buffer = self._buffer
        if self._state == "opening":
            if len(buffer) < len(self._opening) + 2:
                return False
            assert buffer.startswith(self._opening + b"\r\n"), buffer[:80]
            self._buffer, self._state = buffer[len(self._opening) + 2 :], "headers"
            return True
        if self._state == "headers":
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return False
            self._part = _PartSink(BytesHeaderParser().parsebytes(buffer[: end + 4]))
            self._buffer, self._state = buffer[end + 4 :], "data"
            return True
        if self._state == "data":
            assert self._part is not None
            at = buffer.find(self._delimiter)
            if at < 0:
                keep = len(self._delimiter) + 2
                if len(buffer) > keep:
                    self._part.feed(buffer[:-keep])
                    self._buffer = buffer[-keep:]
                return False
            if len(buffer) < at + len(self._delimiter) + 2:
                return False
            self._part.feed(buffer[:at])
            self.parts.append(self._part.close())
            rest = buffer[at + len(self._delimiter) :]
            self._state = "done" if rest.startswith(b"--") else "headers"
            self._buffer = rest[2:]
            return True
        return False

    def done(self) -> bool:
        return self._state == "done"


class Chunks(httpx.AsyncByteStream):
    """An answer's body that streams in pieces, as one from a socket does (``content=`` bytes
    would come already read, with no bytes counted as downloaded)."""

    def __init__(self, body: bytes, size: int = 64 * 1024) -> None:
        self._body, self._size = body, size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), self._size):
            yield self._body[start : start + self._size]


Answer = Callable[[RequestSeen], httpx.Response]


class FileServer:
    """``transport=httpx.MockTransport(server.handler)``; ``server.requests`` is what came."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[RequestSeen] = []

    async def handler(self, request: httpx.Request) -> httpx.Response:
        seen = RequestSeen(request.method, request.url.path, dict(request.url.params), request.headers)
        self.requests.append(seen)
        content_type = request.headers.get("content-type", "")
        reader = None
        if content_type.startswith("multipart/form-data"):
            message = Message()
            message["content-type"] = content_type
            reader = _MultipartReader(str(message.get_param("boundary")))
        async for chunk in request.stream:  # type: ignore[union-attr]
            seen.size += len(chunk)
            if reader is not None:
                reader.feed(chunk)
        if reader is not None:
            assert reader.done(), "the multipart body did not end with its closing boundary"
            seen.parts = reader.parts
        declared = request.headers.get("content-length")
        assert declared is None or int(declared) == seen.size, (declared, seen.size)
        return self.answer(seen)


def json_answer(body: Any, status: int = 200) -> Answer:
    """An answer of ``body`` as JSON, the same to every request."""
    return lambda seen: httpx.Response(status, json=body)


def bigin_for(server: FileServer, **settings: Any) -> BiginClient:
    """A client into ``server``, retrying without waiting."""
    settings.setdefault("retry_backoff_seconds", 0.0)
    return BiginClient(
        access_token="1000.access-SECRET", transport=httpx.MockTransport(server.handler), **settings
    )


def sparse_file(path: Path, size: int) -> Path:
    """A file of ``size`` bytes at ``path``, none of them written (sparse): a limit tested for free."""
    with path.open("wb") as file:
        file.truncate(size)
    return path


async def peak_during(call: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
    """What ``call`` gave, and Python's allocations at their peak while it ran (bytes)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        given = await call()
        return given, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
