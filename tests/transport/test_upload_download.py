"""Uploads streamed from a file and downloads streamed to disk, over real loopback sockets.

The fake servers here speak just enough HTTP/1.1 (one request a connection, then close) to cut
an answer where a test needs it: half a body then a reset, a body that drips in, a request read
whole and never answered. They run on anyio sockets, so every test runs on asyncio and trio.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import os
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import ByteStream

from bigin_async import (
    AmbiguousWriteError,
    BiginClient,
    BiginConnectionError,
    BiginTimeoutError,
    ConfigurationError,
    NotFoundError,
    ValidationError,
)
from bigin_async._download import ERROR_BODY_CAP, Download, read_capped
from bigin_async._multipart import Upload
from tests.helpers.loopback import serve_loopback

ACCESS = "1000.access-SECRET"
OK = json.dumps({"status": "success", "code": "FILE_UPLOAD_SUCCESS", "details": {"file_id": "1"}}).encode()


@dataclass
class Seen:
    """One request as the fake server read it."""

    head: str
    headers: dict[str, str]
    size: int = 0
    sha256: str = ""
    start: bytes = b""
    end: bytes = b""


@dataclass
class Server:
    """How to answer the n-th request (0-based) once it was read whole; what was read."""

    answer: Callable[[int, Seen, ByteStream], Awaitable[None]]
    seen: list[Seen] = field(default_factory=list)

    async def handle(self, stream: ByteStream) -> None:
        async with stream:
            try:
                seen = await read_request(stream)
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                return
            self.seen.append(seen)
            try:
                await self.answer(len(self.seen) - 1, seen, stream)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                pass  # the client hung up (its timeout): nothing more to say


async def read_request(stream: ByteStream) -> Seen:
    """The request head, then the body hashed as it arrives (never kept whole)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += await stream.receive()
    head, rest = buffer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    seen = Seen(lines[0], headers)
    length = int(headers.get("content-length", "0"))
    digest = hashlib.sha256()
    tail = b""
    pending = rest
    while True:
        if pending:
            digest.update(pending)
            if len(seen.start) < 512:
                seen.start += pending[: 512 - len(seen.start)]
            tail = (tail + pending)[-128:]
            seen.size += len(pending)
        if seen.size >= length:
            break
        pending = await stream.receive()
    seen.sha256, seen.end = digest.hexdigest(), tail
    return seen


def response_head(status: int, length: int, content_type: str = "application/zip") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


async def answer_json(stream: ByteStream, status: int = 200, body: bytes = OK) -> None:
    await stream.send(response_head(status, len(body), "application/json") + body)


@asynccontextmanager
async def running(server: Server) -> AsyncIterator[str]:
    async with serve_loopback(server.handle) as port:
        yield f"http://127.0.0.1:{port}"


def client(api: str, content: str | None = None, **options: Any) -> BiginClient:
    kwargs: dict[str, Any] = {
        "access_token": ACCESS,
        "api_domain": api,
        "content_domain": content or api,
        "retry_backoff_seconds": 0.0,
        **options,
    }
    return BiginClient(**kwargs)


def write_file(path: Path, size: int) -> str:
    """A file of ``size`` random bytes, written a MiB at a time; its sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as file:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            digest.update(chunk)
            file.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def multipart_sha256(seen: Seen, path: Path, filename: str) -> str:
    """The sha256 the body should have: the part header, the file, the closing boundary."""
    boundary = seen.headers["content-type"].split("boundary=", 1)[1]
    digest = hashlib.sha256(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/zip\r\n\r\n".encode()
    )
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    digest.update(f"\r\n--{boundary}--\r\n".encode())
    return digest.hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != "source.zip")


# -- uploads -------------------------------------------------------------------------------------


async def test_a_25_mb_upload_streams_with_a_known_length_and_stays_small_in_memory(tmp_path: Path) -> None:
    size = 25 * 1024 * 1024
    path = tmp_path / "contacts.zip"
    write_file(path, size)

    async def ok(n: int, seen: Seen, stream: ByteStream) -> None:
        await answer_json(stream)

    api, files = Server(ok), Server(ok)
    async with running(api) as api_url, running(files) as files_url:
        async with client(api_url, files_url) as bigin:
            tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                response = await bigin.transport.send(
                    "POST",
                    "/upload",
                    service="content",
                    upload=Upload(path),
                    headers={"feature": "bulk-write", "X-CRM-ORG": "4000"},
                )
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert response.json()["details"] == {"file_id": "1"}
    assert api.seen == []  # the file host got the upload, the API host nothing
    (seen,) = files.seen
    assert seen.head == "POST /bigin/v2/upload HTTP/1.1"
    assert "transfer-encoding" not in seen.headers
    assert int(seen.headers["content-length"]) == seen.size > size
    assert seen.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert (seen.headers["feature"], seen.headers["x-crm-org"]) == ("bulk-write", "4000")
    assert seen.headers["authorization"] == f"Zoho-oauthtoken {ACCESS}"
    assert seen.sha256 == multipart_sha256(seen, path, "contacts.zip")
    assert peak < size / 10, f"peak {peak} bytes for a {size} byte upload"


async def test_an_upload_whose_answer_is_lost_is_ambiguous_after_exactly_one_post(tmp_path: Path) -> None:
    path = tmp_path / "source.zip"
    write_file(path, 300_000)

    async def hang_up(n: int, seen: Seen, stream: ByteStream) -> None:
        pass  # read whole, then the connection closes without an answer

    server = Server(hang_up)
    async with running(server) as url, client(url, max_retries=3) as bigin:
        with pytest.raises(AmbiguousWriteError) as info:
            await bigin.transport.send("POST", "/upload", service="content", upload=Upload(path))
    assert len(server.seen) == 1
    assert server.seen[0].sha256 == multipart_sha256(server.seen[0], path, "source.zip")
    assert "source.zip" in str(info.value) and "not re-sent" in str(info.value)
    assert ACCESS not in str(info.value) and info.value.records == []


async def test_an_upload_answered_500_is_ambiguous_and_not_re_sent(tmp_path: Path) -> None:
    path = tmp_path / "source.zip"
    write_file(path, 1000)

    async def fail(n: int, seen: Seen, stream: ByteStream) -> None:
        await answer_json(stream, 500, b'{"code": "INTERNAL_ERROR", "message": "x"}')

    server = Server(fail)
    async with running(server) as url, client(url, max_retries=3) as bigin:
        with pytest.raises(AmbiguousWriteError):
            await bigin.transport.send("POST", "/upload", service="content", upload=Upload(path))
    assert len(server.seen) == 1


async def test_an_upload_is_read_again_from_the_start_for_each_attempt(tmp_path: Path) -> None:
    path = tmp_path / "source.zip"
    write_file(path, 200_000)

    async def limited_once(n: int, seen: Seen, stream: ByteStream) -> None:
        if n == 0:  # a 429 is retried for any method: nothing was applied
            body = b'{"code": "TOO_MANY_REQUESTS", "message": "slow down"}'
            await stream.send(
                b"HTTP/1.1 429 X\r\nRetry-After: 0\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
        else:
            await answer_json(stream)

    server = Server(limited_once)
    async with running(server) as url, client(url) as bigin:
        await bigin.transport.send(
            "POST", "/upload", service="content", upload=Upload(path, filename="a.zip")
        )
    assert len(server.seen) == 2
    expected = multipart_sha256(server.seen[1], path, "a.zip")
    assert [seen.sha256 for seen in server.seen] == [expected, expected]


class FirstConnectFails(httpx.AsyncBaseTransport):
    """The first request fails to connect (nothing sent); later ones go to the real socket."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.failed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.failed:
            self.failed += 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_an_upload_that_could_not_connect_is_retried(tmp_path: Path) -> None:
    path = tmp_path / "source.zip"
    write_file(path, 100_000)

    async def ok(n: int, seen: Seen, stream: ByteStream) -> None:
        await answer_json(stream)

    server = Server(ok)
    wrapper = FirstConnectFails()
    async with running(server) as url, client(url, transport=wrapper) as bigin:
        await bigin.transport.send("POST", "/upload", service="content", upload=Upload(path))
    assert wrapper.failed == 1 and len(server.seen) == 1
    assert server.seen[0].sha256 == multipart_sha256(server.seen[0], path, "source.zip")


class Echo(httpx.AsyncBaseTransport):
    """Reads a streamed request body piece by piece, then answers; runs a hook between pieces."""

    def __init__(self, between: Callable[[], None] = lambda: None) -> None:
        self.bodies: list[bytes] = []
        self.between = between

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = b""
        async for piece in request.stream:  # type: ignore[union-attr]
            body += piece
            self.between()
        self.bodies.append(body)
        return httpx.Response(200, json={"status": "success"})


async def test_a_file_that_changes_size_during_an_upload_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "source.zip"
    write_file(path, 200_000)

    def truncate() -> None:
        os.truncate(path, 10)

    async with client("http://127.0.0.1", transport=Echo(truncate)) as bigin:
        with pytest.raises(ValidationError, match="changed size while it was being uploaded"):
            await bigin.transport.send("POST", "/upload", service="content", upload=Upload(path))
    write_file(path, 10)

    def grow() -> None:
        with path.open("ab") as file:
            file.write(b"more")

    async with client("http://127.0.0.1", transport=Echo(grow)) as bigin:
        with pytest.raises(ValidationError, match="changed size"):
            await bigin.transport.send("POST", "/upload", service="content", upload=Upload(path))


async def test_the_multipart_part_names_its_field_file_name_and_type(tmp_path: Path) -> None:
    path = tmp_path / "source.csv"
    path.write_bytes(b"Last_Name\nDoe\n")
    echo = Echo()
    async with client("http://127.0.0.1", transport=echo) as bigin:
        upload = Upload(path, field="attachment", filename='we"ird.csv', content_type="text/csv")
        await bigin.transport.send("POST", "/upload", service="content", upload=upload)
        with pytest.raises(ValidationError, match="control character"):  # a name is one line
            await bigin.transport.send("POST", "/upload", upload=Upload(path, filename="a\r\nb.csv"))
    (body,) = echo.bodies
    head, rest = body.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n")[1:] == [
        b'Content-Disposition: form-data; name="attachment"; filename="we%22ird.csv"',
        b"Content-Type: text/csv",
    ]
    assert rest.startswith(b"Last_Name\nDoe\n\r\n--") and rest.endswith(b"--\r\n")


@pytest.mark.parametrize(
    "options",
    [{"field": ""}, {"field": 'a"b'}, {"field": "a\nb"}, {"content_type": "text/csv\r\nX-Evil: 1"}],
)
def test_an_upload_that_would_break_its_part_header_is_refused(options: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Upload("x.zip", **options)  # type: ignore[arg-type]


async def test_an_upload_of_a_missing_file_or_with_another_body_sends_nothing(tmp_path: Path) -> None:
    echo = Echo()
    async with client("http://127.0.0.1", transport=echo) as bigin:
        with pytest.raises(ValidationError, match="cannot upload"):
            await bigin.transport.send(
                "POST", "/upload", service="content", upload=Upload(tmp_path / "no.zip")
            )
        with pytest.raises(ValidationError, match="not a regular file"):
            await bigin.transport.send("POST", "/upload", service="content", upload=Upload(tmp_path))
        (tmp_path / "a.zip").write_bytes(b"zip")
        with pytest.raises(ConfigurationError, match="one body"):
            await bigin.transport.send(
                "POST", "/upload", service="content", upload=Upload(tmp_path / "a.zip"), json={"a": 1}
            )
        assert bigin.transport.calls == 0
    assert echo.bodies == []


async def test_a_file_removed_between_attempts_ends_the_call_without_sending_it(tmp_path: Path) -> None:
    path = tmp_path / "source.zip"
    write_file(path, 1000)

    class RemovedAfterConnectFailure(FirstConnectFails):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            path.unlink()
            return await super().handle_async_request(request)

    async with client("http://127.0.0.1", transport=RemovedAfterConnectFailure()) as bigin:
        with pytest.raises(ValidationError, match="cannot upload"):
            await bigin.transport.send("POST", "/upload", service="content", upload=Upload(path))


# -- downloads -----------------------------------------------------------------------------------


async def test_a_download_reset_half_way_is_retried_and_the_final_file_is_whole(tmp_path: Path) -> None:
    body = os.urandom(3 * 1024 * 1024)

    async def reset_first(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(response_head(200, len(body)))
        await stream.send(body[: len(body) // 2] if n == 0 else body)  # then the connection closes

    server = Server(reset_first)
    target = tmp_path / "result.zip"
    async with running(server) as url, client(url) as bigin:
        response = await bigin.transport.send("GET", "/read/1/result", service="bulk", download_to=target)
    assert [seen.head for seen in server.seen] == ["GET /bigin/bulk/v2/read/1/result HTTP/1.1"] * 2
    download = response.extensions["bigin_download"]
    assert download == Download(target, len(body), "application/zip")
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(body).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.zip"]
    assert response.extensions["bigin_ambiguous_attempts"] == 1


async def test_a_drip_fed_download_is_cut_by_its_timeout_and_leaves_no_file(tmp_path: Path) -> None:
    async def drip(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(response_head(200, 1_000_000))
        while True:  # each byte well within httpx's read timeout: only the whole-exchange bound stops it
            await stream.send(b"x")
            await anyio.sleep(0.01)

    server = Server(drip)
    target = tmp_path / "result.zip"
    async with running(server) as url, client(url, max_retries=1) as bigin:
        with pytest.raises(BiginTimeoutError):
            await bigin.transport.send(
                "GET", "/read/1/result", service="bulk", download_to=target, timeout=0.3
            )
    assert len(server.seen) == 2  # a GET is retried, and the retry is cut the same way
    assert list(tmp_path.iterdir()) == []


async def test_a_download_cut_by_the_call_s_deadline_leaves_no_file(tmp_path: Path) -> None:
    async def drip(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(response_head(200, 1_000_000))
        while True:
            await stream.send(b"x" * 100)
            await anyio.sleep(0.01)

    server = Server(drip)
    target = tmp_path / "result.zip"
    async with running(server) as url, client(url, deadline=0.3) as bigin:
        with pytest.raises(BiginTimeoutError, match="deadline"):
            await bigin.transport.send(
                "GET", "/read/1/result", service="bulk", download_to=target, timeout=60
            )
    assert list(tmp_path.iterdir()) == []


async def test_a_download_s_error_answer_is_read_and_raised_and_nothing_is_written(tmp_path: Path) -> None:
    async def missing(n: int, seen: Seen, stream: ByteStream) -> None:
        await answer_json(stream, 404, b'{"code": "RECORD_NOT_FOUND", "message": "no such job"}')

    server = Server(missing)
    async with running(server) as url, client(url) as bigin:
        with pytest.raises(NotFoundError) as info:
            await bigin.transport.send(
                "GET", "/read/9/result", service="bulk", download_to=tmp_path / "r.zip"
            )
        response = await bigin.transport.send(
            "GET", "/read/9/result", service="bulk", download_to=tmp_path / "r.zip", raise_for_status=False
        )
    assert info.value.code == "RECORD_NOT_FOUND"
    assert response.status_code == 404 and response.json()["code"] == "RECORD_NOT_FOUND"
    assert "bigin_download" not in response.extensions
    assert list(tmp_path.iterdir()) == []


async def test_a_download_into_a_missing_directory_sends_nothing(tmp_path: Path) -> None:
    echo = Echo()
    async with client("http://127.0.0.1", transport=echo) as bigin:
        for target in (tmp_path / "no" / "r.zip", Path(""), tmp_path):
            with pytest.raises(ValidationError, match="cannot download"):
                await bigin.transport.send("GET", "/read/1/result", service="bulk", download_to=target)
        assert bigin.transport.calls == 0


class Pieces(httpx.AsyncByteStream):
    """A response body in pieces; ``after`` runs before each piece after the first, ``fail`` ends
    the body with that error instead of its last piece."""

    def __init__(self, pieces: list[bytes], after: Callable[[], None], fail: Exception | None = None) -> None:
        self.pieces, self.after, self.fail = pieces, after, fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, piece in enumerate(self.pieces):
            if index:
                self.after()
            if self.fail is not None and index == len(self.pieces) - 1:
                raise self.fail
            yield piece


class Bodies(httpx.AsyncBaseTransport):
    """Answers each request with the next of ``answers`` (status, headers, stream)."""

    def __init__(self, answers: list[tuple[int, dict[str, str], httpx.AsyncByteStream]]) -> None:
        self.answers = answers
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        status, headers, stream = self.answers[self.requests]
        self.requests += 1
        return httpx.Response(status, headers=headers, stream=stream)


async def test_a_cut_download_is_written_to_a_part_file_that_is_removed(tmp_path: Path) -> None:
    target = tmp_path / "r.zip"
    part = tmp_path / "r.zip.part"
    seen_part: list[bytes] = []

    def look() -> None:
        seen_part.append(part.read_bytes())

    length = {"content-length": "6"}
    answers: list[tuple[int, dict[str, str], httpx.AsyncByteStream]] = [
        (200, length, Pieces([b"ab", b"cd", b""], look, httpx.ReadError("reset"))),  # cut
        (200, length, Pieces([b"ab", b"cd"], look)),  # ends early without an error: 4 of 6 bytes
        (200, length, Pieces([b"ab", b"cd", b"ef"], look)),
    ]
    transport = Bodies(answers)
    async with client("http://127.0.0.1", transport=transport) as bigin:
        response = await bigin.transport.send("GET", "/read/1/result", service="bulk", download_to=target)
    assert transport.requests == 3
    assert seen_part[:2] == [b"ab", b"abcd"]  # the part file grew with the body, then was removed
    assert target.read_bytes() == b"abcdef" and not part.exists()
    assert response.extensions["bigin_download"].size == 6
    with pytest.raises(httpx.ResponseNotRead):
        response.content  # noqa: B018 - the body went to the file, not to memory


async def test_a_download_that_keeps_failing_raises_and_leaves_no_file(tmp_path: Path) -> None:
    answers: list[tuple[int, dict[str, str], httpx.AsyncByteStream]] = [
        (200, {}, Pieces([b"ab", b""], lambda: None, httpx.ReadError("reset"))) for _ in range(3)
    ]
    async with client("http://127.0.0.1", transport=Bodies(answers), max_retries=2) as bigin:
        with pytest.raises(BiginConnectionError):
            await bigin.transport.send("GET", "/r", download_to=tmp_path / "r.zip")
    assert list(tmp_path.iterdir()) == []


async def test_an_error_body_is_kept_to_a_mebibyte() -> None:
    big = b"x" * (ERROR_BODY_CAP + 10)
    response = httpx.Response(
        503,
        headers={"content-length": str(len(big)), "retry-after": "1"},
        stream=Pieces([big[:700_000], big[700_000:]], lambda: None),
        request=httpx.Request("GET", "http://127.0.0.1/x"),
    )
    capped = await read_capped(response)
    assert capped.content == big[:ERROR_BODY_CAP]
    assert capped.headers["retry-after"] == "1" and capped.status_code == 503
    assert capped.headers["content-length"] == str(ERROR_BODY_CAP)


async def test_a_standard_multipart_parser_reads_the_upload_back(tmp_path: Path) -> None:
    path = tmp_path / "source.zip"
    write_file(path, 5000)
    echo = Echo()
    async with client("http://127.0.0.1", transport=echo) as bigin:
        await bigin.transport.send(
            "POST", "/upload", service="content", upload=Upload(path, filename="é.zip")
        )
    (body,) = echo.bodies
    boundary = body.split(b"\r\n", 1)[0][2:].decode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode() + body
    )
    (part,) = message.iter_parts()
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "é.zip"
    assert part.get_content_type() == "application/zip"
    assert part.get_payload(decode=True) == path.read_bytes()


async def test_downloads_and_uploads_through_the_emulator_s_in_process_transport(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from bigin_emulator.server.transport import EmulatorTransport

    zipped = os.urandom(200_000)
    received: list[int] = []

    async def result(request: Request) -> Response:
        if request.path_params["job"] == "1":
            return Response(zipped, media_type="application/zip")
        return JSONResponse({"code": "RECORD_NOT_FOUND", "message": "no such job"}, status_code=404)

    async def upload(request: Request) -> Response:
        size = 0
        async for piece in request.stream():
            size += len(piece)
        received.append(size)
        return JSONResponse({"status": "success", "details": {"file_id": "7"}})

    app = Starlette(
        routes=[
            Route("/bigin/bulk/v2/read/{job}/result", result),
            Route("/bigin/v2/upload", upload, methods=["POST"]),
        ]
    )
    source = tmp_path / "source.zip"
    write_file(source, 100_000)
    target = tmp_path / "r.zip"
    async with client("http://127.0.0.1", "http://127.0.0.2", transport=EmulatorTransport(app)) as bigin:
        response = await bigin.transport.send("GET", "/read/1/result", service="bulk", download_to=target)
        with pytest.raises(NotFoundError):
            await bigin.transport.send(
                "GET", "/read/2/result", service="bulk", download_to=tmp_path / "x.zip"
            )
        answer = await bigin.transport.send("POST", "/upload", service="content", upload=Upload(source))
    assert response.extensions["bigin_download"].size == len(zipped) and target.read_bytes() == zipped
    assert answer.json()["details"]["file_id"] == "7"
    assert received[0] > 100_000
    assert leftovers(tmp_path) == ["r.zip"]
