"""``FileStream``: downloads read chunk by chunk by the caller's loop, over real loopback sockets."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.abc import ByteStream

from bigin_async import (
    BiginError,
    BiginTimeoutError,
    ConfigurationError,
    Download,
    NotFoundError,
    ValidationError,
)
from bigin_async._download import SaveIn, filename_of, safe_filename
from bigin_async.resources._files import download
from tests.transport.test_upload_download import Bodies, Pieces, Seen, Server, answer_json, client, running

BODY = os.urandom(1_000_000)


def head(length: int, disposition: str | None = 'attachment; filename="report.pdf"') -> bytes:
    extra = f"Content-Disposition: {disposition}\r\n" if disposition else ""
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: {length}\r\n{extra}"
        "Connection: close\r\n\r\n"
    ).encode()


async def whole(n: int, seen: Seen, stream: ByteStream) -> None:
    await stream.send(head(len(BODY)) + BODY)


async def test_a_stream_gives_the_body_and_what_the_headers_say() -> None:
    server = Server(whole)
    async with running(server) as url, client(url) as bigin:
        async with bigin.transport.open_stream("GET", "/Contacts/1/Attachments/2") as stream:
            assert (stream.filename, stream.content_type, stream.size) == (
                "report.pdf",
                "application/pdf",
                len(BODY),
            )
            chunks = [chunk async for chunk in stream]
        assert b"".join(chunks) == BODY
        assert stream.bytes_read == len(BODY)
        # the slot was given back: another call goes through at once
        async with bigin.transport.open_stream("GET", "/Contacts/1/Attachments/2") as again:
            assert len(b"".join([c async for c in again])) == len(BODY)
    assert [s.head for s in server.seen] == ["GET /bigin/v2/Contacts/1/Attachments/2 HTTP/1.1"] * 2


async def test_a_reset_before_the_first_byte_is_retried_one_after_is_an_error() -> None:
    async def reset_first(n: int, seen: Seen, stream: ByteStream) -> None:
        if n == 0:
            await stream.send(head(len(BODY)))  # the head, then the connection closes
        else:
            await stream.send(head(len(BODY)) + BODY)

    server = Server(reset_first)
    async with running(server) as url, client(url) as bigin:
        async with bigin.transport.open_stream("GET", "/files") as stream:
            assert b"".join([c async for c in stream]) == BODY
    assert len(server.seen) == 2

    async def half(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(head(len(BODY)) + BODY[:300_000])

    server = Server(half)
    async with running(server) as url, client(url) as bigin:
        got = bytearray()
        with pytest.raises(BiginError, match="broke off after"):
            async with bigin.transport.open_stream("GET", "/files") as stream:
                async for chunk in stream:
                    got += chunk
    assert bytes(got) == BODY[: len(got)] and 0 < len(got) <= 300_000
    assert len(server.seen) == 1  # not sent again under the loop


async def test_an_error_answer_or_a_204_raises_on_entering(tmp_path: Path) -> None:
    async def not_found(n: int, seen: Seen, stream: ByteStream) -> None:
        await answer_json(
            stream, 400, b'{"code":"INVALID_DATA","message":"no such attachment","status":"error"}'
        )

    async with running(Server(not_found)) as url, client(url) as bigin:
        with pytest.raises(BiginError, match="no such attachment"):
            async with bigin.transport.open_stream("GET", "/files"):
                pass  # pragma: no cover - not reached

    async def empty(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")

    async with running(Server(empty)) as url, client(url) as bigin:
        with pytest.raises(NotFoundError):
            async with bigin.transport.open_stream("GET", "/Contacts/1/photo"):
                pass  # pragma: no cover - not reached
        with pytest.raises(NotFoundError):
            await download(bigin.transport, "/Contacts/1/photo", to=tmp_path / "photo.jpg")
    assert list(tmp_path.iterdir()) == []  # a 204 saves no empty file


async def test_leaving_the_block_early_closes_the_download_and_frees_the_gate() -> None:
    server = Server(whole)
    async with running(server) as url, client(url, max_concurrency=1) as bigin:
        for _ in range(3):  # with one slot, a slot left taken would hang the next block
            async with bigin.transport.open_stream("GET", "/files") as stream:
                async for _chunk in stream:
                    break
        with anyio.CancelScope() as scope:
            async with bigin.transport.open_stream("GET", "/files") as stream:
                scope.cancel()
                await anyio.sleep(1)  # cancelled at once
        assert scope.cancelled_caught
        async with bigin.transport.open_stream("GET", "/files") as stream:
            assert len(b"".join([c async for c in stream])) == len(BODY)


async def test_a_slow_reading_loop_is_bounded_by_the_call_s_timeout() -> None:
    """The loop's own work (here another call, which waits for the only slot at the gate) takes
    longer than the stream's timeout: the download ends, its slot goes back, and the loop's next
    read raises the timeout; the loop's own await is not cancelled."""

    async def stall(n: int, seen: Seen, stream: ByteStream) -> None:
        if n == 0:
            await stream.send(head(len(BODY)) + BODY[:1000])
            await anyio.sleep_forever()  # the server's side: it never sends the rest
        await stream.send(head(len(BODY)) + BODY)

    async with running(Server(stall)) as url, client(url, max_concurrency=1) as bigin:
        with pytest.raises(BiginTimeoutError):
            async with bigin.transport.open_stream("GET", "/files", timeout=0.2) as stream:
                async for _chunk in stream:
                    await bigin.transport.send("GET", "/other")


async def test_a_stream_is_entered_once_and_read_inside_its_block() -> None:
    async with running(Server(whole)) as url, client(url) as bigin:
        stream = bigin.transport.open_stream("GET", "/files")
        with pytest.raises(ConfigurationError):
            await stream.__anext__()
        async with stream:
            pass
        with pytest.raises(ConfigurationError):
            await stream.__aenter__()
        assert "SECRET" not in repr(stream)


async def test_downloads_to_a_directory_take_the_server_s_name_made_safe(tmp_path: Path) -> None:
    async def hostile(n: int, seen: Seen, stream: ByteStream) -> None:
        names = [
            'attachment; filename="../../etc/passwd"',
            "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
            None,
        ]
        await stream.send(head(5, names[n]) + b"hello")

    server = Server(hostile)
    async with running(server) as url, client(url) as bigin:
        first = await download(bigin.transport, "/files", to=tmp_path)
        second = await download(bigin.transport, "/files", to=tmp_path)
        third = await download(bigin.transport, "/files", to=tmp_path)
    assert first == Download(tmp_path / "passwd", 5, "application/pdf", "../../etc/passwd")
    assert second.path == tmp_path / "résumé.pdf" and second.filename == "résumé.pdf"
    assert third.path == tmp_path / "download" and third.filename is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["download", "passwd", "résumé.pdf"]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("..", "download"),
        (".hidden", "hidden"),
        ("a\x00b\r\n.txt", "a_b__.txt"),
        ("C:\\Users\\x\\evil.exe", "evil.exe"),
        ("", "download"),
        (None, "download"),
        ("é" * 200 + ".pdf", "é" * 118 + ".pdf"),
    ],
)
def test_safe_file_names(name: str | None, safe: str) -> None:
    assert safe_filename(name) == safe
    assert len(safe_filename(name).encode()) <= 255


async def test_a_directory_that_does_not_exist_is_refused_before_sending(tmp_path: Path) -> None:
    server = Server(whole)
    async with running(server) as url, client(url) as bigin:
        with pytest.raises(ValidationError, match="no such directory"):
            await bigin.transport.send("GET", "/files", download_to=SaveIn(tmp_path / "gone"))
    assert server.seen == []


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("attachment; filename*=UTF-8''a%20b.pdf; filename=\"fallback.pdf\"", "a b.pdf"),
        ('inline; filename="x.png"', "x.png"),
        ("attachment", None),
        ('attachment; filename="   "', None),
    ],
)
def test_the_file_name_comes_from_content_disposition(header: str, name: str | None) -> None:
    assert filename_of(httpx.Headers({"content-disposition": header})) == name
    assert filename_of(httpx.Headers({})) is None


async def test_an_answer_made_in_memory_streams_whole() -> None:
    """httpx.MockTransport's answers come with their body already read: no bytes are counted as
    downloaded, and the body is whole all the same (not "cut short")."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"hello", headers={"Content-Type": "text/plain"})

    async with client("http://127.0.0.1", transport=httpx.MockTransport(handler)) as bigin:
        async with bigin.transport.open_stream("GET", "/files") as stream:
            assert b"".join([chunk async for chunk in stream]) == b"hello"
        assert (stream.size, stream.content_type) == (5, "text/plain")


@pytest.mark.parametrize(
    ("piece", "count", "handed"),
    [(64 * 1024, 16, [256 * 1024] * 4), (1000, 5, [1000] * 5), (64 * 1024, 5, [256 * 1024, 64 * 1024])],
    ids=["full-reads-batched", "short-reads-at-once", "the-rest-at-the-end"],
)
async def test_full_reads_are_handed_over_in_batches_short_ones_at_once(
    piece: int, count: int, handed: list[int]
) -> None:
    body = [os.urandom(piece) for _ in range(count)]
    answer = (200, {"Content-Length": str(piece * count)}, Pieces(body, lambda: None))
    async with client("http://127.0.0.1", transport=Bodies([answer])) as bigin:
        async with bigin.transport.open_stream("GET", "/files") as stream:
            chunks = [chunk async for chunk in stream]
    assert [len(chunk) for chunk in chunks] == handed
    assert b"".join(chunks) == b"".join(body)
