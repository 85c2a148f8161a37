"""Uploads from bytes, sync and async file objects and several parts, read back by a real parser.

Every body goes over a loopback socket to the fake server of ``test_upload_download``, which
hashes what it reads; the multipart is then parsed with the standard library's ``email`` parser
(a second opinion on the framing, not ours).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import ByteStream

from bigin_async import AmbiguousWriteError, BiginError, FileTooLargeError, FormField, Upload, ValidationError
from bigin_async._multipart import prepare_parts
from bigin_async.resources._files import MAX_FILE_BYTES, as_upload
from tests.transport.test_upload_download import (
    Echo,
    Seen,
    Server,
    answer_json,
    client,
    running,
)


class Keep(httpx.AsyncBaseTransport):
    """Reads each request's body whole (small bodies only) and answers 200; or fails the first
    ``connect_failures`` attempts before reading anything."""

    def __init__(self, connect_failures: int = 0) -> None:
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        self.connect_failures = connect_failures
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.connect_failures:
            self.connect_failures -= 1
            raise httpx.ConnectError("refused", request=request)
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        self.bodies.append((dict(request.headers), body))
        return httpx.Response(200, json={"data": []})


def parts_of(headers: dict[str, str], body: bytes) -> list[Any]:
    assert int(headers["content-length"]) == len(body)
    raw = f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    return list(message.iter_parts())


async def send(bigin: Any, upload: Any) -> httpx.Response:
    response: httpx.Response = await bigin.transport.send("POST", "/files", upload=upload)
    return response


async def test_bytes_a_sync_file_and_an_async_file_upload_the_same_bytes(tmp_path: Path) -> None:
    content = os.urandom(700_000)  # several chunks
    path = tmp_path / "contract.pdf"
    path.write_bytes(content)
    keep = Keep()
    async with client("http://127.0.0.1", transport=keep) as bigin:
        await send(bigin, Upload(content, filename="contract.pdf"))
        with path.open("rb") as sync_file:
            await send(bigin, Upload(sync_file))
        async with await anyio.open_file(path, "rb") as async_file:
            await send(bigin, Upload(async_file))
        await send(bigin, Upload(bytearray(content), filename="contract.pdf"))
    assert len(keep.bodies) == 4
    for headers, body in keep.bodies:
        (part,) = parts_of(headers, body)
        assert part.get_filename() == "contract.pdf"
        assert part.get_content_type() == "application/pdf"  # guessed from the name
        assert part.get_payload(decode=True) == content


async def test_several_files_and_text_fields_go_in_one_body_in_order(tmp_path: Path) -> None:
    keep = Keep()
    (tmp_path / "a.txt").write_bytes(b"first file")
    async with client("http://127.0.0.1", transport=keep) as bigin:
        await send(
            bigin,
            [
                Upload(tmp_path / "a.txt"),
                FormField("title", "Signed contract"),
                Upload(b"\x00\x01binary", filename="b.bin"),
                Upload(io.BytesIO(b""), filename="empty.csv"),
            ],
        )
    ((headers, body),) = keep.bodies
    parts = parts_of(headers, body)
    assert [p.get_param("name", header="content-disposition") for p in parts] == [
        "file",
        "title",
        "file",
        "file",
    ]
    assert [p.get_filename() for p in parts] == ["a.txt", None, "b.bin", "empty.csv"]
    assert parts[0].get_payload(decode=True) == b"first file"
    assert parts[1].get_content() == "Signed contract"
    assert parts[2].get_payload(decode=True) == b"\x00\x01binary"
    assert parts[2].get_content_type() == "application/octet-stream"
    assert parts[3].get_payload(decode=True) == b""


async def test_a_file_over_its_limit_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    keep = Keep()
    path = tmp_path / "big.bin"
    with path.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: no 20 MB written
    async with client("http://127.0.0.1", transport=keep) as bigin:
        with pytest.raises(FileTooLargeError) as caught:
            await send(bigin, as_upload(path, max_size=MAX_FILE_BYTES))
        with pytest.raises(FileTooLargeError):
            await send(bigin, [Upload(b"small"), as_upload(b"x" * 11, filename="x", max_size=10)])
    assert keep.requests == 0
    assert caught.value.size == MAX_FILE_BYTES + 1
    assert caught.value.limit == MAX_FILE_BYTES
    assert caught.value.filename == "big.bin"
    assert isinstance(caught.value, ValidationError)


def test_the_stricter_limit_wins_and_a_given_filename_replaces_the_upload_s() -> None:
    upload = Upload(b"abc", filename="a.txt", max_size=5)
    assert as_upload(upload, max_size=10).max_size == 5
    assert as_upload(upload, max_size=2).max_size == 2
    assert as_upload(upload, filename="b.txt").name == "b.txt"
    assert as_upload(upload).name == "a.txt"


async def test_a_seekable_file_object_is_uploaded_again_from_where_it_stood(tmp_path: Path) -> None:
    keep = Keep(connect_failures=1)
    file = io.BytesIO(b"HEADER" + b"payload")
    file.seek(6)
    async with client("http://127.0.0.1", transport=keep) as bigin:
        await send(bigin, Upload(file, filename="p.bin"))
    assert keep.requests == 2
    ((headers, body),) = keep.bodies
    (part,) = parts_of(headers, body)
    assert part.get_payload(decode=True) == b"payload"


class Pipe(io.RawIOBase):
    """A file object that cannot seek, like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


async def test_a_pipe_needs_its_size_and_is_retried_only_while_unread() -> None:
    async with client("http://127.0.0.1", transport=Keep()) as bigin:
        with pytest.raises(ValidationError, match="give its size"):
            await send(bigin, Upload(Pipe(b"abc")))
    keep = Keep(connect_failures=1)  # the connect failed before any byte was read: retried
    async with client("http://127.0.0.1", transport=keep) as bigin:
        await send(bigin, Upload(Pipe(b"abc"), size=3, filename="p"))
    ((headers, body),) = keep.bodies
    assert parts_of(headers, body)[0].get_payload(decode=True) == b"abc"


async def test_a_pipe_read_by_a_failed_attempt_is_not_sent_again_half_empty() -> None:
    class ReadThenRefuse(Keep):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.requests += 1
            async for _ in request.stream:  # type: ignore[union-attr]
                pass
            return httpx.Response(429, json={"code": "TOO_MANY_REQUESTS", "status": "error"})

    server = ReadThenRefuse()
    async with client("http://127.0.0.1", transport=server, max_retries=2) as bigin:
        with pytest.raises(BiginError, match="cannot seek"):
            await send(bigin, Upload(Pipe(b"abc"), size=3, filename="p"))
    assert server.requests == 1


async def test_a_stream_that_lies_about_its_size_is_abandoned() -> None:
    async with client("http://127.0.0.1", transport=Echo()) as bigin:
        with pytest.raises(ValidationError, match="changed size"):
            await send(bigin, Upload(Pipe(b"abcd"), size=3, filename="p"))
        with pytest.raises(ValidationError, match="size=5 was given"):
            await send(bigin, Upload(io.BytesIO(b"abcd"), size=5, filename="p"))


@pytest.mark.parametrize(
    "source",
    [None, 12, "text", io.StringIO("text"), object()],
    ids=["none", "int", "missing-path", "text-file", "object"],
)
async def test_what_is_not_a_file_is_refused_before_sending(source: Any) -> None:
    keep = Keep()
    async with client("http://127.0.0.1", transport=keep) as bigin:
        with pytest.raises(ValidationError):
            await send(bigin, Upload(source))
    assert keep.requests == 0


async def test_a_text_mode_async_file_is_refused_when_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    async with client("http://127.0.0.1", transport=Echo()) as bigin:
        async with await anyio.open_file(path, "r") as text:
            with pytest.raises(ValidationError, match="binary mode"):
                await send(bigin, Upload(text))  # type: ignore[arg-type]


@pytest.mark.parametrize("parts", [[], "file.txt", [b"raw bytes"]], ids=["empty", "str", "not-a-part"])
async def test_an_upload_needs_upload_or_form_field_parts(parts: Any) -> None:
    with pytest.raises(ValidationError):
        await prepare_parts(parts)


def test_form_fields_and_uploads_refuse_header_breaking_names() -> None:
    for bad in ('a"b', "a\r\nb", ""):
        with pytest.raises(ValidationError):
            FormField(bad, "v")
        with pytest.raises(ValidationError):
            Upload(b"x", field=bad)
    with pytest.raises(ValidationError):
        FormField("title", 5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Upload(b"x", max_size=-1)
    assert "SECRET" not in repr(Upload(b"SECRET", filename="a"))


async def test_an_upload_of_a_file_object_whose_answer_is_lost_names_the_file_and_is_sent_once() -> None:
    async def lose(n: int, seen: Seen, stream: ByteStream) -> None:
        return None  # read whole, then the connection closes without an answer

    server = Server(lose)
    async with running(server) as url, client(url) as bigin:
        with pytest.raises(AmbiguousWriteError, match="report.pdf"):
            await send(bigin, Upload(io.BytesIO(b"%PDF-1.7 body"), filename="report.pdf"))
    assert len(server.seen) == 1


async def test_the_fake_server_gets_every_byte_of_a_several_part_body(tmp_path: Path) -> None:
    first, second = os.urandom(300_000), os.urandom(5)

    async def ok(n: int, seen: Seen, stream: ByteStream) -> None:
        await answer_json(stream, body=json.dumps({"data": []}).encode())

    server = Server(ok)
    async with running(server) as url, client(url) as bigin:
        await send(bigin, [Upload(first, filename="1"), Upload(second, filename="2")])
    (seen,) = server.seen
    body_size = int(seen.headers["content-length"])
    assert seen.size == body_size
    assert seen.sha256 != hashlib.sha256(first + second).hexdigest()  # the framing is there too
