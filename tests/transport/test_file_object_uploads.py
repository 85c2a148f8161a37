"""Uploads from file objects that look odd but are fine, and ones refused: the edges of the fixes
for the file seam review (names that are not UTF-8, text fields, files at their end, binary
objects whose mode says "r", reads a timeout left behind in a worker thread).
"""

from __future__ import annotations

import io
import os
import threading
import zipfile
from pathlib import Path

import anyio
import pytest

from bigin_async import BiginError, FormField, Upload, ValidationError
from bigin_async._multipart import prepare_parts
from tests.transport.test_file_sources import Keep, Pipe, parts_of, send
from tests.transport.test_upload_download import client


async def test_a_latin_1_path_name_is_sent_with_a_replacement_character(tmp_path: Path) -> None:
    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9.pdf")))
    path.write_bytes(b"%PDF")
    keep = Keep()
    async with client("http://127.0.0.1", transport=keep) as bigin:
        await send(bigin, Upload(path))
    ((headers, body),) = keep.bodies
    assert 'filename="caf\ufffd.pdf"'.encode() in body
    assert parts_of(headers, body)[0].get_payload(decode=True) == b"%PDF"


def test_a_lone_surrogate_in_a_given_name_is_sent_as_a_question_mark() -> None:
    assert Upload(b"x", filename="a\ud800.txt").name == "a?.txt"


def test_text_that_utf_8_cannot_carry_is_refused_in_a_field() -> None:
    with pytest.raises(ValidationError):
        FormField("title", "a\ud800")
    with pytest.raises(ValidationError):
        FormField("ti\ud800tle", "a")


async def test_a_body_of_text_fields_only_is_named_by_its_fields_and_files_are_counted() -> None:
    fields = await prepare_parts(
        [FormField("attachmentUrl", "https://example.com/a"), FormField("title", "A")]
    )
    assert fields.name == "the attachmentUrl field and the title field"
    files = await prepare_parts([FormField("title", "A"), Upload(b"1", filename="a.txt"), Upload(b"2")])
    assert files.name == "a.txt and 1 more file(s)"


async def test_a_file_object_at_its_end_is_sent_empty_when_size_0_is_given() -> None:
    done = io.BytesIO(b"sent before")
    done.seek(0, os.SEEK_END)
    keep = Keep()
    async with client("http://127.0.0.1", transport=keep) as bigin:
        with pytest.raises(ValidationError, match="at its end"):
            await send(bigin, Upload(done, filename="a.csv"))
        await send(bigin, Upload(done, filename="a.csv", size=0))
    ((headers, body),) = keep.bodies
    assert parts_of(headers, body)[0].get_payload(decode=True) == b""


async def test_a_zip_member_is_binary_though_its_mode_says_r(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("inner.csv", b"id\n1\n")
    keep = Keep()
    with zipfile.ZipFile(archive) as reader, reader.open("inner.csv") as member:
        assert member.mode in ("r", "rb")  # "r" before Python 3.13: no "b", yet it gives bytes
        async with client("http://127.0.0.1", transport=keep) as bigin:
            await send(bigin, Upload(member, filename="inner.csv"))
    ((headers, body),) = keep.bodies
    assert parts_of(headers, body)[0].get_payload(decode=True) == b"id\n1\n"


class TextAsync:
    """An async file object in text mode that is not anyio's (aiofiles' shape: a ``mode``)."""

    mode = "r"

    async def read(self, size: int = -1) -> str:  # pragma: no cover - refused before reading
        return ""


async def test_an_async_file_whose_mode_is_text_is_refused_before_sending() -> None:
    keep = Keep()
    async with client("http://127.0.0.1", transport=keep) as bigin:
        with pytest.raises(ValidationError, match="binary mode"):
            await send(bigin, Upload(TextAsync(), size=0))  # type: ignore[arg-type]
    assert keep.requests == 0


class FailingDisk(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        raise OSError(5, "Input/output error")


async def test_a_path_that_fails_to_read_is_a_validation_error_with_its_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    monkeypatch.setattr(Path, "open", lambda self, mode="r": FailingDisk(b"abc"))
    async with client("http://127.0.0.1", transport=Keep()) as bigin:
        with pytest.raises(ValidationError, match="Input/output error.*nothing was applied") as caught:
            await send(bigin, Upload(path))
    assert isinstance(caught.value.__cause__, OSError)


class StallsOnce(io.BytesIO):
    """Seekable; its first read blocks (until released) and says so when it has begun."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reading = threading.Event()
        self.release = threading.Event()

    def read(self, size: int | None = -1) -> bytes:
        if not self.reading.is_set():
            self.reading.set()
            self.release.wait(5)
        return super().read(size)


async def test_a_retry_is_refused_while_a_read_left_behind_by_the_last_attempt_still_runs() -> None:
    file = StallsOnce(b"abc")
    body = await prepare_parts(Upload(file, filename="a"))
    try:
        async with body.open() as chunks, anyio.create_task_group() as group:

            async def read_all() -> None:
                async for _ in chunks:
                    pass  # pragma: no cover - cancelled in the read

            group.start_soon(read_all)
            await anyio.to_thread.run_sync(file.reading.wait)
            group.cancel_scope.cancel()  # the attempt ends; its read stays in the worker thread
        with pytest.raises(BiginError, match="did not return"):
            async with body.open():
                pass  # pragma: no cover - refused on opening
    finally:
        file.release.set()


def test_a_read_error_without_words_names_its_type() -> None:
    from bigin_async._multipart import _read_failed

    assert "(ValueError)" in str(_read_failed("a", "reading it", ValueError()))


async def test_a_body_says_before_a_retry_whether_it_can_be_sent_again(tmp_path: Path) -> None:
    """check_sendable lets a retry be refused before it spends a send time: a pipe read by an
    attempt cannot give its bytes again, while a path, bytes and a seekable file can."""
    (tmp_path / "a.txt").write_text("a")
    again = await prepare_parts(
        [Upload(tmp_path / "a.txt"), Upload(b"b"), Upload(io.BytesIO(b"c"), filename="c")]
    )
    once = await prepare_parts([Upload(b"b"), Upload(Pipe(b"abc"), size=3, filename="p")])
    for body in (again, once):
        body.check_sendable()  # nothing read yet: every source can give its bytes
        async with body.open() as chunks:
            assert b"".join([chunk async for chunk in chunks]).count(b"--") >= 2
    again.check_sendable()
    with pytest.raises(BiginError, match="cannot seek"):
        once.check_sendable()
