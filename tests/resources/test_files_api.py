"""``client.files`` against a fake Files API that parses every body: calls of 10, order, limits, faults.

The fake stores what each ``POST /files`` carries (parsed by the standard library's ``email``
parser, not ours) and gives it back on ``GET /files?id=``. It can lose the answer of one call
(the call was received and stored: what a timeout after sending looks like), answer its entries in
another order, or answer something else, so the tests see what the user is told in each case.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from bigin_async import (
    AmbiguousUploadError,
    AmbiguousWriteError,
    Download,
    FileStream,
    FileTooLargeError,
    InvalidRequestError,
    NotFoundError,
    Upload,
    UploadedFile,
    ValidationError,
    file_upload_value,
)
from bigin_async.resources._files import MAX_FILE_BYTES
from bigin_async.resources.files import MAX_FILES_PER_CALL, check_file_id
from tests.helpers.file_server import Chunks, sparse_file
from tests.helpers.resources import scripted_client
from tests.transport.test_file_sources import parts_of


class FakeFiles(httpx.AsyncBaseTransport):
    """Zoho's ``/files``: stores each part named ``file``, answers one entry {"name", "id"} per file.

    ``lose`` holds the numbers (from 1) of the POSTs whose answer is lost after the files were
    stored; ``reorder`` answers each call's entries last first; ``answer`` replaces a POST's answer.
    """

    def __init__(
        self,
        *,
        lose: set[int] | None = None,
        reorder: bool = False,
        answer: Callable[[list[tuple[str, bytes]]], httpx.Response] | None = None,
    ) -> None:
        self.stored: dict[str, tuple[str, bytes]] = {}
        self.calls: list[list[tuple[str, bytes]]] = []
        self.gets: list[str] = []
        self.lose = lose or set()
        self.reorder = reorder
        self.answer = answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/bigin/v2/files"
        if request.method == "GET":
            file_id = request.url.params["id"]
            self.gets.append(file_id)
            if file_id not in self.stored:
                return httpx.Response(204)
            name, content = self.stored[file_id]
            disposition = {
                "Content-Disposition": f'attachment; filename="{name}"',
                "Content-Length": str(len(content)),
            }
            return httpx.Response(200, headers=disposition, stream=Chunks(content))
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        parts = parts_of(dict(request.headers), body)
        assert {part["Content-Disposition"].params["name"] for part in parts} == {"file"}
        files = [(str(part.get_filename()), bytes(part.get_payload(decode=True))) for part in parts]
        self.calls.append(files)
        if self.answer is not None:
            return self.answer(files)
        entries = []
        for name, content in files:
            file_id = f"enc{hashlib.sha256(content).hexdigest()[:12]}{len(self.stored)}"
            self.stored[file_id] = (name, content)
            entries.append(
                {
                    "code": "SUCCESS",
                    "details": {"name": name, "id": file_id},
                    "message": "ok",
                    "status": "success",
                }
            )
        if len(self.calls) in self.lose:
            raise httpx.ReadTimeout("the answer never came", request=request)
        if self.reorder:
            entries.reverse()
        return httpx.Response(200, json={"data": entries})


def named(count: int) -> list[Upload]:
    return [Upload(f"content of file {i}".encode(), filename=f"f{i:02}.txt") for i in range(count)]


async def test_several_files_of_several_kinds_go_in_one_call_in_order(tmp_path: Path) -> None:
    path = tmp_path / "contract.pdf"
    path.write_bytes(os.urandom(300_000))
    fake = FakeFiles()
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with path.open("rb") as sync_file:
            async with await anyio.open_file(path, "rb") as async_file:
                stored = await client.files.upload(
                    path, b"plain bytes", Upload(b"<svg/>", filename="logo.svg"), sync_file, async_file
                )
    assert len(fake.calls) == 1
    assert [name for name, _ in fake.calls[0]] == [
        "contract.pdf",
        "file",
        "logo.svg",
        "contract.pdf",
        "contract.pdf",
    ]
    assert all(type(file) is UploadedFile for file in stored)
    assert [file.name for file in stored] == [
        "contract.pdf",
        "file",
        "logo.svg",
        "contract.pdf",
        "contract.pdf",
    ]
    assert [fake.stored[file.id][1] for file in stored] == [
        path.read_bytes(),
        b"plain bytes",
        b"<svg/>",
        path.read_bytes(),
        path.read_bytes(),
    ]
    assert all(file.id == file.file_id for file in stored)


async def test_twelve_files_go_in_two_calls_and_come_back_in_input_order() -> None:
    fake = FakeFiles()
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        stored = await client.files.upload(*named(12))
    assert [len(call) for call in fake.calls] == [MAX_FILES_PER_CALL, 2]
    assert [file.name for file in stored] == [f"f{i:02}.txt" for i in range(12)]
    assert [fake.stored[file.id][1] for file in stored] == [
        f"content of file {i}".encode() for i in range(12)
    ]
    assert len({file.id for file in stored}) == 12


async def test_entries_answered_in_another_order_are_put_back_in_input_order() -> None:
    fake = FakeFiles(reorder=True)
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        stored = await client.files.upload(*named(3))
    assert [fake.stored[file.id][1] for file in stored] == [f"content of file {i}".encode() for i in range(3)]
    assert [file.name for file in stored] == ["f00.txt", "f01.txt", "f02.txt"]


async def test_files_of_one_name_answered_in_another_order_take_that_names_entries_in_turn() -> None:
    # Nothing in the answer tells two files of one name apart: each takes the next entry of its name.
    fake = FakeFiles(reorder=True)
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        stored = await client.files.upload(*named(2), Upload(b"same name", filename="f00.txt"))
    assert [file.name for file in stored] == ["f00.txt", "f01.txt", "f00.txt"]
    assert fake.stored[stored[1].id][1] == b"content of file 1"
    assert {fake.stored[stored[0].id][1], fake.stored[stored[2].id][1]} == {
        b"content of file 0",
        b"same name",
    }


async def test_entries_with_other_names_are_taken_in_the_answers_order() -> None:
    def renamed(files: list[tuple[str, bytes]]) -> httpx.Response:
        entries = [
            {"status": "success", "details": {"name": f"x-{n}", "id": f"id{i}"}}
            for i, (n, _) in enumerate(files)
        ]
        return httpx.Response(200, json={"data": entries})

    def nameless(files: list[tuple[str, bytes]]) -> httpx.Response:
        return httpx.Response(
            200,
            json={"data": [{"status": "success", "details": {"id": f"id{i}"}} for i in range(len(files))]},
        )

    async with scripted_client(FakeFiles(answer=renamed)) as client:  # type: ignore[arg-type]
        stored = await client.files.upload(*named(2))
    assert [(f.id, f.name) for f in stored] == [("id0", "x-f00.txt"), ("id1", "x-f01.txt")]
    async with scripted_client(FakeFiles(answer=nameless)) as client:  # type: ignore[arg-type]
        stored = await client.files.upload(*named(2))
    assert [(f.id, f.name) for f in stored] == [("id0", "f00.txt"), ("id1", "f01.txt")]  # the name sent


async def test_a_file_over_20_mb_is_refused_before_any_call(tmp_path: Path) -> None:
    big = sparse_file(tmp_path / "scan.tiff", MAX_FILE_BYTES + 1)  # nothing written, nothing read
    exact = sparse_file(tmp_path / "exact.bin", MAX_FILE_BYTES)
    fake = FakeFiles()
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with pytest.raises(FileTooLargeError) as too_large:
            await client.files.upload(*named(11), big)  # the 12th file: the first call is not sent either
        with pytest.raises(FileTooLargeError):
            await client.files.upload(Upload(big, max_size=10 * MAX_FILE_BYTES))  # the stricter limit wins
        with pytest.raises(FileTooLargeError):
            await client.files.upload(b"x" * (MAX_FILE_BYTES + 1))
    assert fake.calls == []
    assert (too_large.value.filename, too_large.value.size, too_large.value.limit) == (
        "scan.tiff",
        MAX_FILE_BYTES + 1,
        MAX_FILE_BYTES,
    )
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        (stored,) = await client.files.upload(exact)  # exactly 20 MB is taken
    assert len(fake.stored[stored.id][1]) == MAX_FILE_BYTES


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ((), "at least one file"),
        (("",), "names no file"),
        ((123,), "must be a path, bytes or a binary file object"),
        ((None,), "must be a path, bytes or a binary file object"),
        (("/nonexistent/contract.pdf",), "cannot upload"),
    ],
)
async def test_what_is_not_a_file_is_refused_before_any_call(files: tuple[Any, ...], says: str) -> None:
    fake = FakeFiles()
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match=says):
            await client.files.upload(*named(10), *files) if files else await client.files.upload()
    assert fake.calls == []


async def test_one_file_object_given_twice_is_refused_before_any_call(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"once")
    fake = FakeFiles()
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with path.open("rb") as file:
            with pytest.raises(ValidationError, match="given twice"):
                await client.files.upload(file, b"other", Upload(file, filename="b.txt"))
        (first, second) = await client.files.upload(path, path)  # a path is read anew each time
    assert len(fake.calls) == 1
    assert fake.stored[first.id][1] == fake.stored[second.id][1] == b"once"


async def test_a_lost_answer_of_the_second_call_says_which_files_have_ids_and_sends_nothing_again() -> None:
    fake = FakeFiles(lose={2})
    given = named(25)
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with pytest.raises(AmbiguousUploadError) as error:
            await client.files.upload(*given)
    assert [len(call) for call in fake.calls] == [10, 10]  # the lost call was not re-sent, the third not sent
    lost = error.value
    assert isinstance(lost, AmbiguousWriteError) and lost.method == "POST"
    assert [file.name for file in lost.uploaded] == [f"f{i:02}.txt" for i in range(10)]
    assert [fake.stored[file.id][1] for file in lost.uploaded] == [u.source for u in given[:10]]
    assert lost.records == given[10:20] and lost.not_sent == given[20:]
    assert "the first 10 were stored" in str(lost) and "Files 11 to 20 may or may not" in str(lost)
    assert "the 5 after them were not sent" in str(lost)
    assert isinstance(lost.__cause__, AmbiguousWriteError)


async def test_a_cancel_during_the_second_call_sends_nothing_after_it() -> None:
    scope = anyio.CancelScope()

    def cancel_second(files: list[tuple[str, bytes]]) -> httpx.Response:
        if len(fake.calls) == 2:
            scope.cancel()
        entries = [
            {"status": "success", "details": {"name": n, "id": f"id{len(fake.calls)}-{n}"}} for n, _ in files
        ]
        return httpx.Response(200, json={"data": entries})

    fake = FakeFiles(answer=cancel_second)
    stored = None
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with scope:
            stored = await client.files.upload(*named(25))
    assert scope.cancelled_caught and stored is None
    assert [len(call) for call in fake.calls] == [10, 10]


def test_an_ambiguous_upload_error_pickles_with_what_it_knows() -> None:
    error = AmbiguousUploadError(
        "lost",
        uploaded=[UploadedFile(file_id="enc1", name="a.txt")],
        records=[b"two"],
        not_sent=["three.pdf"],
        method="POST",
        url="https://www.zohoapis.com/bigin/v2/files",
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is AmbiguousUploadError and str(copy) == "lost"
    assert (copy.uploaded, copy.records, copy.not_sent) == (error.uploaded, [b"two"], ["three.pdf"])
    assert (copy.method, copy.url) == ("POST", error.url)


async def test_a_lost_answer_of_the_first_call_has_no_file_with_an_id() -> None:
    fake = FakeFiles(lose={1})
    given = [b"one", b"two"]
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with pytest.raises(AmbiguousUploadError) as error:
            await client.files.upload(*given)
    assert len(fake.calls) == 1
    assert error.value.uploaded == [] and error.value.records == given and error.value.not_sent == []
    assert "none was stored before them" in str(error.value) and "no file came after them" in str(error.value)


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"status": "success", "details": {"name": "f00.txt", "id": "a"}}]},  # one entry for two
        {"data": []},
        {"data": [{"status": "success", "details": {"name": "f00.txt"}}] * 2},  # no id
        {"something": "else"},
    ],
    ids=["too-few", "none", "no-id", "other-shape"],
)
async def test_an_answer_that_does_not_name_each_file_is_ambiguous_not_a_result(body: Any) -> None:
    fake = FakeFiles(answer=lambda files: httpx.Response(200, json=body))
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with pytest.raises(AmbiguousUploadError):
            await client.files.upload(*named(2))
    assert len(fake.calls) == 1


async def test_a_refused_call_raises_zohos_error_and_later_calls_are_not_sent() -> None:
    def refuse(files: list[tuple[str, bytes]]) -> httpx.Response:
        entry = {"code": "INVALID_DATA", "details": {}, "message": "file type not allowed", "status": "error"}
        return httpx.Response(400, json={"data": [entry]})

    fake = FakeFiles(answer=refuse)
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match="file type not allowed"):
            await client.files.upload(*named(15))
    assert len(fake.calls) == 1


async def test_download_by_id_to_a_path_a_directory_and_a_stream(tmp_path: Path) -> None:
    content = os.urandom(200_000)
    fake = FakeFiles()
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        (stored,) = await client.files.upload(Upload(content, filename="report.pdf"))
        to_path = await client.files.download(stored.id, tmp_path / "copy.pdf")
        (tmp_path / "in").mkdir()
        to_dir = await client.files.download(stored, tmp_path / "in")
        async with client.files.download(stored.id) as stream:
            assert isinstance(stream, FileStream) and stream.filename == "report.pdf"
            streamed = b"".join([chunk async for chunk in stream])
        with pytest.raises(NotFoundError):
            await client.files.download("encUnknown", tmp_path / "none.pdf")
    assert isinstance(to_path, Download) and to_path.path.read_bytes() == content
    assert to_dir.path == tmp_path / "in" / "report.pdf" and to_dir.path.read_bytes() == content
    assert streamed == content
    assert not (tmp_path / "none.pdf").exists()
    assert fake.gets == [stored.id] * 3 + ["encUnknown"]


@pytest.mark.parametrize("bad", ["", " enc", "enc\n1", "enc 1", "x" * 1001, 42, None, b"enc"])
async def test_a_file_id_that_is_not_one_is_refused_before_sending(bad: Any) -> None:
    fake = FakeFiles()
    async with scripted_client(fake) as client:  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="file_id"):
            client.files.download(bad)
    assert fake.gets == []


def test_check_file_id_takes_an_id_or_an_uploaded_file() -> None:
    assert check_file_id("ae9c7cefa418aec1d6a5cc2d7d5e00a5") == "ae9c7cefa418aec1d6a5cc2d7d5e00a5"
    assert check_file_id(UploadedFile(file_id="enc1", name="a.txt")) == "enc1"


def test_uploaded_file_reads_both_answers_shapes() -> None:
    files_api = UploadedFile.model_validate({"name": "a.pdf", "id": "encrypted1"})
    bulk = UploadedFile.model_validate({"file_id": 1234, "created_time": "2024-05-01T10:00:00+05:30"})
    assert (files_api.id, files_api.file_id, files_api.name) == ("encrypted1", "encrypted1", "a.pdf")
    assert (bulk.id, bulk.file_id, bulk.name) == ("1234", "1234", None) and bulk.created_time is not None
    assert UploadedFile(file_id="x").id == "x"


def test_file_upload_value_names_each_file_once() -> None:
    first = UploadedFile(file_id="enc1", name="a.pdf")
    assert file_upload_value(first, "enc2") == [{"file_id": "enc1"}, {"file_id": "enc2"}]
    cases: list[tuple[tuple[Any, ...], str]] = [
        ((), "at least one"),
        ((first, "enc1"), "twice"),
        (("",), "not a file id"),
        ((" enc1",), "not a file id"),
        (("enc\x001",), "not a file id"),
        ((42,), "not int"),
        ((None,), "not NoneType"),
    ]
    for bad, says in cases:
        with pytest.raises(ValidationError, match=says):
            file_upload_value(*bad)


async def test_a_download_from_an_in_memory_answer_is_whole(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=b"hello", headers={"Content-Disposition": 'attachment; filename="a.txt"'}
        )

    async with scripted_client(httpx.MockTransport(handler)) as client:  # type: ignore[arg-type]
        saved = await client.files.download("enc1", tmp_path)
    assert saved.path.read_bytes() == b"hello" and saved.filename == "a.txt"
