"""An adversary's review of the file seam: uploads from every source, FileStream, saved downloads.

Each test drives the real pipeline over loopback sockets (the fake servers of
``test_upload_download``) or an in-process httpx transport, on asyncio and trio. A test that fails
names a defect; the passing ones are behaviours checked and found right.
"""

from __future__ import annotations

import io
import os
import tracemalloc
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from anyio.abc import ByteStream

from bigin_async import (
    BiginError,
    BiginTimeoutError,
    FormField,
    InvalidRequestError,
    Upload,
    ValidationError,
)
from bigin_async._download import safe_filename
from bigin_async.resources._files import download
from tests.transport.test_file_sources import Pipe
from tests.transport.test_file_stream import head
from tests.transport.test_upload_download import ACCESS, Seen, Server, answer_json, client, running

BODY = os.urandom(600_000)
TOO_MANY = b'{"code": "TOO_MANY_REQUESTS", "message": "slow down", "status": "error"}'


async def answer_429(stream: ByteStream) -> None:
    await stream.send(
        b"HTTP/1.1 429 X\r\nRetry-After: 0\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(TOO_MANY)}\r\nConnection: close\r\n\r\n".encode()
        + TOO_MANY
    )


async def outcome(work: Awaitable[Any]) -> BaseException | None:
    """What ``work`` raised (None when it returned), kept for asserting outside the servers' group."""
    try:
        await work
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        return exc
    return None


async def read_into(bigin: Any, got: bytearray, timeout: float | None = None) -> None:
    """Read ``GET /files`` as a FileStream into ``got``, chunk by chunk."""
    async with bigin.transport.open_stream("GET", "/files", timeout=timeout) as stream:
        async for chunk in stream:
            got.extend(chunk)


class Counting(Server):
    """A fake server that also counts the connections it accepted (a request read or not)."""

    connections: int = 0

    async def handle(self, stream: ByteStream) -> None:
        self.connections += 1
        await super().handle(stream)


# -- FileStream: a retry after bytes were handed out ------------------------------------------------


async def stall_first(n: int, seen: Seen, stream: ByteStream) -> None:
    """The first answer gives 1,000 bytes then stalls (until the client hangs up); others are whole."""
    if n == 0:
        await stream.send(head(len(BODY)) + BODY[:1000])
        await anyio.sleep_forever()
    await stream.send(head(len(BODY)) + BODY)


async def test_a_stream_stalled_after_its_first_bytes_is_not_started_again_under_the_loop() -> None:
    """The attempt's timeout fires after 1,000 bytes were handed to the reading loop. The call must
    end (BiginError), not send the GET again and hand the loop the file from its first byte once
    more: the loop would get 1,000 + 600,000 bytes, a silently corrupted file."""
    server = Server(stall_first)
    got = bytearray()

    async with running(server) as url, client(url) as bigin:
        with anyio.fail_after(20):
            error = await outcome(read_into(bigin, got, timeout=0.5))
    assert bytes(got) == BODY[: len(got)], f"the loop got {len(got)} bytes, not a prefix of the file"
    assert isinstance(error, BiginError), error
    assert len(server.seen) == 1, "the GET was sent again after bytes were handed out"


async def test_a_block_busy_elsewhere_after_its_first_chunk_ends_on_the_timeout_without_re_sending() -> None:
    """The loop takes a chunk, then waits for another call of the same client, which can only go
    once the stream's slot at the gate (the only one) is given back: the stream's timeout must end
    the download while the block is busy elsewhere. Its error comes at the loop's next read, and
    the GET is not re-sent (each resend would be a download the caller never reads: credits spent
    for nothing). The caller's own await is not cancelled (the lead's choice: a block inside an
    async generator must not be cancelled from the stream's task)."""
    server = Server(stall_first)
    others: list[int] = []

    async def read() -> None:
        async with bigin.transport.open_stream("GET", "/files", timeout=0.5) as stream:
            async for _chunk in stream:
                other = await bigin.transport.send("GET", "/other")  # waits for the stream's slot
                others.append(len(other.content))

    async with running(server) as url, client(url, max_retries=3, max_concurrency=1) as bigin:
        with anyio.fail_after(20):
            error = await outcome(read())
        spent = bigin.credits.spent_total
    assert isinstance(error, BiginTimeoutError), error
    assert ACCESS not in str(error)
    assert others == [len(BODY)]
    assert [seen.head.split()[1] for seen in server.seen] == ["/bigin/v2/files", "/bigin/v2/other"]
    assert spent == 2


# -- uploads: sources that misbehave --------------------------------------------------------------


class Keep(httpx.AsyncBaseTransport):
    """Reads each request's body whole (small bodies only) and answers 200 (or the statuses given
    first); counts the requests."""

    def __init__(self, *statuses: int) -> None:
        self.bodies: list[bytes] = []
        self.statuses = list(statuses)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        self.bodies.append(body)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "0"}, content=TOO_MANY)
        return httpx.Response(status, json={"data": []})


async def test_a_pipe_that_cannot_be_sent_again_spends_no_credit_on_the_attempt_it_cannot_make() -> None:
    """A 429 (uncounted: Zoho charged nothing) after the pipe was read: the retry cannot send it
    again. Spec: the call raises the attempt's error. It should not book a send time and spend a
    daily credit for an attempt that sends nothing."""
    keep = Keep(429)
    async with client("http://127.0.0.1", transport=keep, max_retries=2) as bigin:
        error = await outcome(
            bigin.transport.send("POST", "/files", upload=Upload(Pipe(b"abc"), size=3, filename="p"))
        )
        spent = bigin.credits.spent_total
    assert isinstance(error, BiginError)
    assert len(keep.bodies) == 1
    assert spent == 0, f"{spent} credit(s) counted for a 429 and an attempt never sent"


async def test_a_closed_file_object_is_refused_as_a_validation_error_before_sending() -> None:
    keep = Keep()
    closed = io.BytesIO(b"data")
    closed.close()
    async with client("http://127.0.0.1", transport=keep) as bigin:
        error = await outcome(bigin.transport.send("POST", "/files", upload=Upload(closed, filename="a")))
    assert keep.bodies == []
    assert isinstance(error, ValidationError), f"{type(error).__name__}: {error}"


class Delegating:
    """An async file object by delegation: ``read`` is a plain method returning the awaitable of
    the file it wraps (the spec's AsyncReadable: any object whose ``read(n)`` is awaitable)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.name = "delegated.bin"

    def read(self, size: int = -1) -> Awaitable[bytes]:
        return self._inner.read(size)  # type: ignore[no-any-return]

    def seek(self, offset: int, whence: int = 0) -> Awaitable[int]:
        return self._inner.seek(offset, whence)  # type: ignore[no-any-return]

    def tell(self) -> Awaitable[int]:
        return self._inner.tell()  # type: ignore[no-any-return]


async def test_an_async_readable_whose_read_is_not_a_coroutine_function_is_uploaded(tmp_path: Path) -> None:
    path = tmp_path / "delegated.bin"
    path.write_bytes(b"payload" * 1000)
    keep = Keep()
    async with client("http://127.0.0.1", transport=keep) as bigin:
        async with await anyio.open_file(path, "rb") as inner:
            error = await outcome(bigin.transport.send("POST", "/files", upload=Upload(Delegating(inner))))
    assert error is None, f"{type(error).__name__}: {error}"
    assert b"payload" * 1000 in keep.bodies[0]


async def test_a_text_mode_async_file_is_refused_before_a_credit_is_spent_or_a_connection_opened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")

    async def ok(n: int, seen: Seen, stream: ByteStream) -> None:
        await answer_json(stream)  # pragma: no cover - never a whole request

    server = Counting(ok)
    async with running(server) as url, client(url) as bigin:
        async with await anyio.open_file(path, "r") as text:
            error = await outcome(bigin.transport.send("POST", "/files", upload=Upload(text)))  # type: ignore[arg-type]
        spent = bigin.credits.spent_total
    assert isinstance(error, ValidationError)
    assert (server.connections, spent) == (0, 0), "a text file is known to be one before sending"


class FailingRead(io.RawIOBase):
    """A seekable file whose disk fails after its first chunk (an I/O error mid-upload)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self._at = self._size if whence == os.SEEK_END else offset
        return self._at

    def tell(self) -> int:
        return self._at

    def read(self, size: int = -1) -> bytes:
        if self._at:
            raise OSError(5, "Input/output error")
        self._at += size
        return b"x" * size


async def test_a_file_that_fails_to_read_mid_upload_raises_a_bigin_error_not_a_bare_os_error() -> None:
    keep = Keep()
    async with client("http://127.0.0.1", transport=keep) as bigin:
        error = await outcome(
            bigin.transport.send("POST", "/files", upload=Upload(FailingRead(1_000_000), filename="big.bin"))
        )
    assert isinstance(error, BiginError), f"{type(error).__name__}: {error}"


class SeekFailsLater(io.BytesIO):
    """Seekable while the body is prepared; its seek back for a retry fails (a lying file)."""

    seeks = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        self.seeks += 1
        if self.seeks > 2:  # tell/seek-to-end/seek-back were fine: the retry's seek is not
            raise OSError(29, "Illegal seek")
        return super().seek(offset, whence)


async def test_a_file_whose_seek_back_fails_ends_the_call_with_a_bigin_error() -> None:
    keep = Keep(429)
    async with client("http://127.0.0.1", transport=keep) as bigin:
        error = await outcome(
            bigin.transport.send("POST", "/files", upload=Upload(SeekFailsLater(b"abc"), filename="a"))
        )
    assert len(keep.bodies) == 1
    assert isinstance(error, BiginError), f"{type(error).__name__}: {error}"


async def test_a_non_contiguous_memoryview_is_uploaded_or_refused_as_a_validation_error() -> None:
    keep = Keep()
    view = memoryview(b"a-b-c-d-")[::2]
    async with client("http://127.0.0.1", transport=keep) as bigin:
        error = await outcome(bigin.transport.send("POST", "/files", upload=Upload(view, filename="v")))
    assert error is None or isinstance(error, ValidationError), f"{type(error).__name__}: {error}"
    if error is None:
        assert b"\r\n\r\nabcd\r\n" in keep.bodies[0]


async def test_a_15_mb_upload_from_an_async_file_stays_small_in_memory(tmp_path: Path) -> None:
    size = 15 * 1024 * 1024
    path = tmp_path / "big.bin"
    with path.open("wb") as file:
        for _ in range(15):
            file.write(os.urandom(1 << 20))

    async def ok(n: int, seen: Seen, stream: ByteStream) -> None:
        await answer_json(stream)

    server = Server(ok)
    async with running(server) as url, client(url) as bigin:
        async with await anyio.open_file(path, "rb") as source:
            tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                await bigin.transport.send("POST", "/files", upload=[FormField("title", "t"), Upload(source)])
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    (seen,) = server.seen
    assert seen.size == int(seen.headers["content-length"]) > size
    assert peak < size / 10, f"peak {peak} bytes for a {size} byte upload"


async def test_a_several_part_upload_retried_after_a_429_sends_the_same_body_again(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(os.urandom(300_000))
    seekable = io.BytesIO(b"skip" + os.urandom(400_000))
    seekable.seek(4)  # uploaded from where it stands, and sought back there for the retry
    keep = Keep(429, 429)
    async with client("http://127.0.0.1", transport=keep) as bigin:
        async with await anyio.open_file(path, "rb") as async_file:
            await bigin.transport.send(
                "POST",
                "/files",
                upload=[
                    Upload(path),
                    FormField("title", "Q3"),
                    Upload(async_file, filename="b.pdf"),
                    Upload(seekable, filename="c.bin"),
                    Upload(b"tiny", filename="d.txt"),
                ],
            )
        spent = bigin.credits.spent_total
    first, second, third = keep.bodies
    boundary = first.split(b"\r\n", 1)[0]
    assert second.replace(second.split(b"\r\n", 1)[0], boundary) == first
    assert third.replace(third.split(b"\r\n", 1)[0], boundary) == first
    assert first.count(boundary) == 6
    assert spent == 1  # two 429s charged nothing


# -- FileStream: cancellation, leaks, which error surfaces ------------------------------------------


async def test_a_stream_cancelled_while_waiting_for_its_headers_frees_the_only_slot() -> None:
    asked = anyio.Event()

    async def first_never_answers(n: int, seen: Seen, stream: ByteStream) -> None:
        if n == 0:
            asked.set()
            await anyio.sleep_forever()
        await stream.send(head(len(BODY)) + BODY)

    server = Server(first_never_answers)
    async with running(server) as url, client(url, max_concurrency=1) as bigin:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                scope = anyio.CancelScope()

                async def enter() -> None:
                    with scope:
                        async with bigin.transport.open_stream("GET", "/files"):
                            pytest.fail("entered though cancelled")  # pragma: no cover

                group.start_soon(enter)
                await asked.wait()
                scope.cancel()
            assert scope.cancelled_caught
            assert bigin.transport.gate.in_flight == 0
            async with bigin.transport.open_stream("GET", "/files") as stream:
                assert b"".join([c async for c in stream]) == BODY


async def test_a_stream_cancelled_during_a_retry_s_wait_frees_the_slot_and_stays_cancelled() -> None:
    """Headers came, the body broke before its first byte; the retry waits out a 429's cooldown
    and the caller's scope is cancelled then: the cancellation is the caller's (caught by its scope,
    no error), the slot is free."""
    waiting = anyio.Event()

    async def reset_then_limited(n: int, seen: Seen, stream: ByteStream) -> None:
        if n == 0:
            await stream.send(head(len(BODY)))  # the head, then the connection closes
        elif n == 1:
            body = b'{"code": "TOO_MANY_REQUESTS", "status": "error"}'
            await stream.send(
                b"HTTP/1.1 429 X\r\nRetry-After: 30\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            waiting.set()
        else:
            await stream.send(head(len(BODY)) + BODY)

    server = Server(reset_then_limited)
    async with running(server) as url, client(url, max_concurrency=1, max_retry_after=60) as bigin:
        with anyio.fail_after(10):
            scope = anyio.CancelScope()
            async with anyio.create_task_group() as group:

                async def read() -> None:
                    with scope:
                        async with bigin.transport.open_stream("GET", "/files") as stream:
                            async for _chunk in stream:
                                pytest.fail("a chunk came")  # pragma: no cover

                group.start_soon(read)
                await waiting.wait()
                await anyio.wait_all_tasks_blocked()
                scope.cancel()
            assert scope.cancelled_caught
            assert bigin.transport.gate.in_flight == 0


async def test_a_retry_that_ends_in_an_error_surfaces_it_at_the_end_of_a_block_awaiting_elsewhere() -> None:
    async def reset_then_refuse(n: int, seen: Seen, stream: ByteStream) -> None:
        if n == 0:
            await stream.send(head(len(BODY)))  # the head, then the connection closes
        else:
            await answer_json(stream, 400, b'{"code":"INVALID_DATA","message":"gone","status":"error"}')

    async def read() -> None:
        async with bigin.transport.open_stream("GET", "/files") as stream:
            assert stream.filename == "report.pdf"
            await bigin.transport.send("GET", "/other", raise_for_status=False)  # waits for the slot
            async for _chunk in stream:
                pass  # pragma: no cover - the retry's 400 ended the download

    server = Server(reset_then_refuse)
    async with running(server) as url, client(url, max_concurrency=1) as bigin:
        with anyio.fail_after(10):
            error = await outcome(read())
            assert bigin.transport.gate.in_flight == 0
    assert isinstance(error, InvalidRequestError), repr(error)
    assert "gone" in str(error) and ACCESS not in str(error)


async def test_the_block_s_own_error_wins_over_the_download_s() -> None:
    async def reset_then_refuse(n: int, seen: Seen, stream: ByteStream) -> None:
        if n == 0:
            await stream.send(head(len(BODY)))
        else:
            await answer_json(stream, 400, b'{"code":"INVALID_DATA","message":"gone","status":"error"}')

    class Mine(Exception):
        pass

    async def read() -> None:
        async with bigin.transport.open_stream("GET", "/files"):
            try:
                await bigin.transport.send("GET", "/other", raise_for_status=False)  # waits for the slot
            finally:
                raise Mine

    async with running(Server(reset_then_refuse)) as url, client(url, max_concurrency=1) as bigin:
        with anyio.fail_after(10):
            error = await outcome(read())
    assert isinstance(error, Mine)


async def test_a_redirect_ends_the_stream_on_entering_and_is_not_followed() -> None:
    async def redirect(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/steal\r\nContent-Length: 0\r\n"
            b"Connection: close\r\n\r\n"
        )

    server = Server(redirect)
    async with running(server) as url, client(url, max_concurrency=1) as bigin:
        with anyio.fail_after(10):
            error = await outcome(bigin.transport.open_stream("GET", "/files").__aenter__())
            assert bigin.transport.gate.in_flight == 0
    assert isinstance(error, BiginError) and ACCESS not in str(error)
    assert len(server.seen) == 1


async def test_a_body_shorter_than_its_content_length_ends_in_an_error_not_a_short_file() -> None:
    async def short(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(head(len(BODY) + 10) + BODY)  # ten bytes promised and never sent

    got = bytearray()

    async with running(Server(short)) as url, client(url) as bigin:
        with anyio.fail_after(10):
            error = await outcome(read_into(bigin, got))
    assert isinstance(error, BiginError) and bytes(got) == BODY[: len(got)]


async def test_a_retried_stream_describes_the_answer_whose_body_it_gives() -> None:
    """The first answer's head (a.pdf, 10 bytes) came, then its body broke before a byte; the
    retry's answer is another file (b.pdf, 600,000 bytes). The loop reads b.pdf's body: the
    stream's filename and size must be that answer's, or a caller sizing a buffer by ``size``
    (or naming the file by ``filename``) is wrong."""

    async def changes(n: int, seen: Seen, stream: ByteStream) -> None:
        if n == 0:
            await stream.send(head(10, 'attachment; filename="a.pdf"'))
        else:
            await stream.send(head(len(BODY), 'attachment; filename="b.pdf"') + BODY)

    async def read() -> tuple[bytes, str | None, int | None]:
        async with bigin.transport.open_stream("GET", "/files") as stream:
            data = b"".join([c async for c in stream])
            return data, stream.filename, stream.size

    async with running(Server(changes)) as url, client(url) as bigin:
        with anyio.fail_after(10):
            data, name, size = await read()
    assert data == BODY
    assert (name, size) == ("b.pdf", len(BODY))


# -- downloads into a directory: the server's name ------------------------------------------------


async def test_a_255_byte_server_name_is_saved_not_refused_for_its_part_file(tmp_path: Path) -> None:
    name = "a" * 300 + ".pdf"

    async def long_name(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(head(5, f'attachment; filename="{name}"') + b"hello")

    async with running(Server(long_name)) as url, client(url) as bigin:
        error = await outcome(download(bigin.transport, "/files", to=tmp_path))
    assert error is None, f"{type(error).__name__}: {error}"
    (saved,) = tmp_path.iterdir()
    assert saved.read_bytes() == b"hello" and saved.name.endswith(".pdf")


@pytest.mark.parametrize(
    "name",
    ["evil\x9b[2J.txt", "evil\x85.txt", "line\u2028break.txt", "rtl\u202etxt.exe"],
    ids=["c1-csi", "c1-nel", "line-separator", "bidi-override"],
)
def test_a_safe_file_name_has_no_control_or_format_characters(name: str) -> None:
    import unicodedata

    safe = safe_filename(name)
    assert not [c for c in safe if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")], repr(safe)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("attachment; filename*=UTF-8''..%2F..%2F..%2Fetc%2Fpasswd", "passwd"),
        ('attachment; filename="..\\\\..\\\\boot.ini"', "boot.ini"),
        ('attachment; filename="...."', "download"),
        ("attachment; filename*=UTF-8''%00", "_"),
        ("attachment; filename*=bogus''x.pdf; filename=\"y.pdf\"", "x.pdf"),
    ],
)
async def test_hostile_names_stay_inside_the_directory(tmp_path: Path, header: str, expected: str) -> None:
    target = tmp_path / "in"
    target.mkdir()

    async def hostile(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(head(2, header) + b"ok")

    async with running(Server(hostile)) as url, client(url) as bigin:
        saved = await download(bigin.transport, "/files", to=target)
    assert saved.path.parent == target
    assert [p.name for p in target.iterdir()] == [saved.path.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
    assert saved.path.name in (expected, "download") and saved.path.read_bytes() == b"ok"


@pytest.mark.parametrize("name", [" . . ", ". ..", ". .hidden"], ids=["dot", "dot-dot", "hidden"])
async def test_dots_and_spaces_do_not_make_a_name_of_the_directory_its_parent_or_a_hidden_file(
    tmp_path: Path, name: str
) -> None:
    """The spec: no ``..``, no leading dot. Stripping spaces after the dots leaves ``.`` (the
    directory itself: its part file goes to the parent, ``in.part``, and the rename fails), ``..``
    (the parent) or ``.hidden``."""
    target = tmp_path / "in"
    target.mkdir()

    async def hostile(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(head(2, f'attachment; filename="{name}"') + b"ok")

    async with running(Server(hostile)) as url, client(url) as bigin:
        error = await outcome(download(bigin.transport, "/files", to=target))
    assert error is None, f"{type(error).__name__}: {error}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
    (saved,) = target.iterdir()
    assert not saved.name.startswith(".") and saved.read_bytes() == b"ok"


@pytest.mark.parametrize("name", [" . . ", ". ..", ". .hidden", ". \t.x"])
def test_a_safe_name_is_never_a_dot_name(name: str) -> None:
    safe = safe_filename(name)
    assert safe not in (".", "..") and not safe.startswith("."), repr(safe)


# -- uploads: names and answers -------------------------------------------------------------------


async def test_a_path_whose_name_is_not_utf8_is_uploaded_or_refused_as_a_validation_error(
    tmp_path: Path,
) -> None:
    """On Linux a file name is bytes; one written in Latin-1 (``café.pdf`` as ``caf\\xe9.pdf``)
    comes back from ``os.fsdecode`` with a lone surrogate that UTF-8 cannot encode."""
    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9.pdf")))
    path.write_bytes(b"%PDF")
    keep = Keep()
    async with client("http://127.0.0.1", transport=keep) as bigin:
        error = await outcome(bigin.transport.send("POST", "/files", upload=Upload(path)))
    assert error is None or isinstance(error, ValidationError), f"{type(error).__name__}: {error}"


async def test_a_lost_answer_names_the_file_not_the_text_field_before_it() -> None:
    async def lose(n: int, seen: Seen, stream: ByteStream) -> None:
        return None  # read whole, then the connection closes without an answer

    server = Server(lose)
    async with running(server) as url, client(url) as bigin:
        error = await outcome(
            bigin.transport.send(
                "POST", "/files", upload=[FormField("title", "Q3"), Upload(b"%PDF", filename="report.pdf")]
            )
        )
    assert isinstance(error, BiginError) and "report.pdf" in str(error), str(error)


async def test_an_upload_refused_before_its_body_was_read_raises_the_server_s_answer_and_frees_the_slot(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.zip"
    path.write_bytes(os.urandom(8 * 1024 * 1024))

    async def refuse_early(stream: ByteStream) -> None:
        async with stream:
            buffer = b""
            while b"\r\n\r\n" not in buffer:
                buffer += await stream.receive()
            body = b'{"code":"INVALID_DATA","message":"too big","status":"error"}'
            await stream.send(
                b"HTTP/1.1 400 X\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )

    from tests.helpers.loopback import serve_loopback

    async with serve_loopback(refuse_early) as port:
        url = f"http://127.0.0.1:{port}"
        async with client(url, max_concurrency=1) as bigin:
            with anyio.fail_after(20):
                error = await outcome(bigin.transport.send("POST", "/files", upload=Upload(path)))
                assert bigin.transport.gate.in_flight == 0
    assert isinstance(error, BiginError), repr(error)
    assert ACCESS not in str(error)


async def test_the_same_file_object_uploaded_again_is_not_sent_as_an_empty_file() -> None:
    """After an answer was lost the error says to upload the file again; the caller passes the
    same file object, now at its end. Sending an empty ``report.pdf`` (and Zoho storing it) is a
    silent loss: it should be refused (or read from where the first upload started)."""
    keep = Keep()
    report = io.BytesIO(b"%PDF-1.7 " + os.urandom(1000))
    async with client("http://127.0.0.1", transport=keep) as bigin:
        await bigin.transport.send("POST", "/files", upload=Upload(report, filename="report.pdf"))
        error = await outcome(
            bigin.transport.send("POST", "/files", upload=Upload(report, filename="report.pdf"))
        )
    if error is None:
        assert len(keep.bodies) == 2 and keep.bodies[1].count(b"%PDF-1.7 ") == 1, "an empty file was sent"
    else:
        assert isinstance(error, ValidationError) and len(keep.bodies) == 1


# -- FileStream: more faults checked and found right ----------------------------------------------


async def test_leaving_a_drip_fed_stream_mid_read_leaves_no_generator_suspended() -> None:
    import gc

    more = anyio.Event()

    async def drip(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(head(len(BODY)) + BODY[:10])
        await more.wait()
        await stream.send(BODY[10:])

    async with running(Server(drip)) as url, client(url, max_concurrency=1) as bigin:
        with anyio.fail_after(10):
            for _ in range(2):
                async with bigin.transport.open_stream("GET", "/files") as stream:
                    async for chunk in stream:
                        assert chunk == BODY[:10]
                        break
            assert bigin.transport.gate.in_flight == 0
            more.set()
    gc.collect()


async def test_the_deadline_cutting_a_stream_after_its_first_bytes_raises_and_sends_once() -> None:
    server = Server(stall_first)
    got = bytearray()

    async with running(server) as url, client(url, deadline=0.5) as bigin:
        with anyio.fail_after(20):
            error = await outcome(read_into(bigin, got, timeout=30))
    assert isinstance(error, BiginTimeoutError), repr(error)
    assert bytes(got) == BODY[:1000] and len(server.seen) == 1


def test_a_file_stream_block_can_return_a_value_under_mypy() -> None:
    """``FileStream.__aexit__`` is annotated ``-> bool``: mypy then takes the block for one that
    may swallow exceptions, and every user function returning from inside ``async with
    open_stream(...)`` fails ``mypy --strict`` with "Missing return statement" (this file had to
    add a ``raise`` after such a block). It never swallows: ``-> None`` (or ``Literal[False]``)."""
    import typing

    from bigin_async import FileStream

    returned = typing.get_type_hints(FileStream.__aexit__)["return"]
    assert returned in (type(None), typing.Literal[False]), returned


async def test_a_download_to_an_empty_path_is_refused_not_saved_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``to=""`` names no file (``as_upload("")`` is refused so); ``Path("")`` is ``.``, an existing
    directory, so the server's file name lands in whatever the working directory is."""
    monkeypatch.chdir(tmp_path)
    server = Counting(lambda n, seen, stream: stream.send(head(2) + b"ok"))
    async with running(server) as url, client(url) as bigin:
        error = await outcome(download(bigin.transport, "/files", to=""))
    assert isinstance(error, ValidationError), f"{error!r}; saved {os.listdir(tmp_path)}"
    assert server.connections == 0


async def test_an_upload_reset_half_way_is_sent_again_whole_from_every_source(tmp_path: Path) -> None:
    """The connection drops after 100 kB of the body: the body never arrived whole, so Zoho cannot
    have applied it; the retry sends every part again from its start (a seekable file sought back)."""
    path = tmp_path / "a.pdf"
    path.write_bytes(os.urandom(300_000))
    seekable = io.BytesIO(os.urandom(200_000))
    bodies: list[bytes] = []

    async def reset_first(stream: ByteStream) -> None:
        async with stream:
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            head_part, body = data.split(b"\r\n\r\n", 1)
            length = int(head_part.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(body) < (100_000 if not bodies else length):
                body += await stream.receive()
            bodies.append(body)
            if len(bodies) > 1:
                await answer_json(stream)

    from tests.helpers.loopback import serve_loopback

    async with serve_loopback(reset_first) as port, client(f"http://127.0.0.1:{port}") as bigin:
        with anyio.fail_after(20):
            await bigin.transport.send(
                "POST",
                "/files",
                upload=[Upload(path), FormField("title", "t"), Upload(seekable, filename="b")],
            )
    assert len(bodies) == 2
    assert path.read_bytes() in bodies[1] and seekable.getvalue() in bodies[1]


async def test_a_stream_read_through_an_async_generator_that_breaks_raises_the_download_s_error() -> None:
    """The usual way to pass a download on (a web framework's streaming response takes an async
    generator): ``async def chunks(): async with stream: async for c in stream: yield c``. The
    download breaks half way while the consumer awaits its own work between chunks. The error
    should come out of the generator as the download's BiginError; with the stream's task group
    open across the ``yield``, its cancellation lands in the consumer's own await instead."""

    async def half(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(head(len(BODY)) + BODY[:300_000])

    async def chunks(bigin: Any, timeout: float | None = None) -> Any:
        async with bigin.transport.open_stream("GET", "/files", timeout=timeout) as stream:
            async for chunk in stream:
                yield chunk

    async def consume(bigin: Any, timeout: float | None = None, slow: bool = False) -> None:
        generator = chunks(bigin, timeout)
        try:
            async for _chunk in generator:
                if slow:  # the consumer's own work, slower than the timeout: another call of the
                    await bigin.transport.send("GET", "/other")  # client, which waits for the slot
                await anyio.lowlevel.checkpoint()  # the consumer's own work: writing the chunk out
        finally:
            with anyio.CancelScope(shield=True):
                await generator.aclose()

    async with running(Server(stall_first)) as url, client(url, max_retries=0, max_concurrency=1) as bigin:
        with anyio.fail_after(10):
            with anyio.CancelScope() as scope:
                slow_error = await outcome(consume(bigin, timeout=0.5, slow=True))
    assert not scope.cancelled_caught
    assert isinstance(slow_error, BiginTimeoutError), repr(slow_error)
    async with running(Server(half)) as url, client(url) as bigin:
        with anyio.fail_after(10):
            with anyio.CancelScope() as scope:
                error = await outcome(consume(bigin))
    assert not scope.cancelled_caught
    assert isinstance(error, BiginError), repr(error)


class Stalled(Pipe):
    """A sync pipe whose producer stalls: ``read`` blocks (until released, or 5 s at most)."""

    def __init__(self) -> None:
        import threading

        super().__init__(b"")
        self.release = threading.Event()
        self.gave_up = False

    def read(self, size: int = -1) -> bytes:
        self.gave_up = not self.release.wait(5)
        return b""


async def test_a_stalled_sync_file_object_does_not_hold_the_call_past_its_timeout() -> None:
    """The call's timeout bounds the whole exchange; a sync file object read in a worker thread
    that never returns keeps the call (and its slot) past it, until the read gives up."""
    pipe = Stalled()
    keep = Keep()
    try:
        async with client("http://127.0.0.1", transport=keep, max_retries=0) as bigin:
            error = await outcome(
                bigin.transport.send(
                    "POST", "/files", upload=Upload(pipe, size=10, filename="p"), timeout=0.3
                )
            )
    finally:
        pipe.release.set()
    assert not pipe.gave_up, "the call waited for the stalled read to return"
    assert isinstance(error, BiginError), repr(error)
