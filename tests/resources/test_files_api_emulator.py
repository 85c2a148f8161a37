"""``client.files`` against the emulator's Files API and a file-upload field (Contacts.Contract_File).

Files go up through the transport's multipart bodies, are kept by the emulator and come back
byte for byte; 12 files take two calls; the ids fill a file-upload field on create and update and
read back as that field's entries; a file past the limit is refused before any call; an answer the
emulator drops is reported, with the ids of the calls answered before, and nothing is sent twice.
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import httpx
import pytest

from bigin_async import AmbiguousUploadError, FileTooLargeError, NotFoundError, Upload, file_upload_value
from bigin_async.models import Contact
from bigin_async.resources._files import MAX_FILE_BYTES
from bigin_emulator import BiginEmulator
from tests.helpers.file_server import sparse_file

UPLOADS = "POST /bigin/v2/files"


def posts(emulator: BiginEmulator) -> int:
    return emulator.counters.requests_by_route.get(UPLOADS, 0)


async def test_several_files_in_one_call_come_back_byte_for_byte(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(os.urandom(1_500_000))
    scan = os.urandom(70_000)
    async with emulator.client() as client:
        async with await anyio.open_file(contract, "rb") as async_file:
            stored = await client.files.upload(contract, Upload(scan, filename="scan.png"), async_file)
        copies = [await client.files.download(file, tmp_path / f"copy{i}") for i, file in enumerate(stored)]
        async with client.files.download(stored[1].id) as stream:
            streamed = b"".join([chunk async for chunk in stream])
            name = stream.filename
    assert posts(emulator) == 1
    assert [file.name for file in stored] == ["contract.pdf", "scan.png", "contract.pdf"]
    assert len({file.id for file in stored}) == 3
    assert [copy.path.read_bytes() for copy in copies] == [contract.read_bytes(), scan, contract.read_bytes()]
    assert [copy.filename for copy in copies] == ["contract.pdf", "scan.png", "contract.pdf"]
    assert (streamed, name) == (scan, "scan.png")


async def test_twelve_files_take_two_calls_and_keep_their_order(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    given = [Upload(f"file number {i}".encode() * 100, filename=f"n{i:02}.txt") for i in range(12)]
    async with emulator.client() as client:
        stored = await client.files.upload(*given)
        back = [await client.files.download(file, tmp_path / file.id) for file in stored]
    assert posts(emulator) == 2
    assert [file.name for file in stored] == [f"n{i:02}.txt" for i in range(12)]
    assert [copy.path.read_bytes() for copy in back] == [upload.source for upload in given]


async def test_a_file_upload_field_filled_from_files_upload_reads_back(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    async with emulator.client() as client:
        first, second = await client.files.upload(
            Upload(b"%PDF-1.7 signed", filename="signed.pdf"), Upload(b"annex", filename="annex.txt")
        )
        created = await client.contacts.create(
            {"Last_Name": "Lovelace", "Contract_File": file_upload_value(first)}
        )
        assert created.id is not None
        read = await client.contacts.get(created.id, fields=["Last_Name", "Contract_File"])
        await client.contacts.update(created.id, {"Contract_File": file_upload_value(second)})
        both = await client.contacts.get(created.id, fields=["Contract_File"])
        entries = both.get("Contract_File")
        copy = await client.files.download(entries[1]["File_Id__s"], tmp_path / "annex.txt")
    assert type(read) is Contact
    (entry,) = read.get("Contract_File")
    assert entry["File_Id__s"] == first.id and entry["file_Name"] == "signed.pdf"
    assert entry["file_Size"] == str(len(b"%PDF-1.7 signed"))
    assert [e["File_Id__s"] for e in entries] == [first.id, second.id]  # an update adds to the field
    assert copy.path.read_bytes() == b"annex"


async def test_a_file_over_the_limit_is_refused_before_any_call(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    big = sparse_file(tmp_path / "video.mp4", MAX_FILE_BYTES + 1)
    async with emulator.client() as client:
        with pytest.raises(FileTooLargeError) as error:
            await client.files.upload(*[b"small"] * 10, big)
    assert posts(emulator) == 0 and emulator.uploads.files == {}
    assert (error.value.filename, error.value.limit) == ("video.mp4", MAX_FILE_BYTES)


class DropSecondUpload(httpx.AsyncBaseTransport):
    """The emulator in-process; once the first Files API call is answered, the next one's answer is
    dropped (the emulator keeps its files and cuts the connection)."""

    def __init__(self, emulator: BiginEmulator) -> None:
        self.emulator = emulator
        self.inner = emulator.transport()
        self.answered = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path == "/bigin/v2/files":
            self.answered += 1
            if self.answered == 1:
                self.emulator.file_faults.drop_upload_answers = 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_dropped_answer_is_reported_with_the_ids_so_far_and_never_resent(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    given = [Upload(f"doc {i}".encode(), filename=f"d{i:02}.txt") for i in range(23)]
    async with emulator.client(transport=DropSecondUpload(emulator)) as client:
        with pytest.raises(AmbiguousUploadError) as error:
            await client.files.upload(*given)
        kept = [await client.files.download(file, tmp_path / file.id) for file in error.value.uploaded]
    lost = error.value
    assert posts(emulator) == 2  # the lost second call was not sent again, the third not at all
    assert [file.name for file in lost.uploaded] == [f"d{i:02}.txt" for i in range(10)]
    assert [copy.path.read_bytes() for copy in kept] == [upload.source for upload in given[:10]]
    assert lost.records == given[10:20] and lost.not_sent == given[20:]
    # The emulator kept the lost call's files: stored once each, their ids unknown to the caller.
    assert len(emulator.uploads.files) == 20


async def test_an_unknown_file_id_is_not_found(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    async with emulator.client() as client:
        with pytest.raises(NotFoundError):
            await client.files.download("a1b2c3d4e5f6", tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()
