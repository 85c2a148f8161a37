"""Record photos against a fake Zoho (``httpx.MockTransport``): which clients offer them, the wire,
the 10 MB limit checked before sending, a lost answer sent again, a record without a photo.

The round trip through the emulator is in ``test_photos_emulator.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bigin_async import (
    AmbiguousWriteError,
    BiginError,
    FileStream,
    FileTooLargeError,
    InvalidRequestError,
    NotFoundError,
    Upload,
    ValidationError,
)
from bigin_async.resources.photos import MAX_PHOTO_BYTES, PHOTO_MODULES, PhotoClient
from tests.helpers.file_server import Chunks, FileServer, RequestSeen, bigin_for, json_answer, sparse_file

RECORD = "4150868000000224005"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
UPLOADED = {"code": "SUCCESS", "details": {}, "message": "photo uploaded successfully", "status": "success"}
DELETED = {"code": "SUCCESS", "details": {}, "message": "photo deleted successfully", "status": "success"}


def answer(body: Any, status: int = 200) -> FileServer:
    return FileServer(json_answer(body, status))


async def test_photos_are_offered_on_contacts_companies_and_products_only() -> None:
    async with bigin_for(answer(UPLOADED)) as bigin:
        photos = {"Contacts": bigin.contacts, "Accounts": bigin.companies, "Products": bigin.products}
        for module, client in photos.items():
            photo = client.photo(RECORD)
            assert isinstance(photo, PhotoClient) and (photo.module, photo.record_id) == (module, RECORD)
            assert module in repr(photo)
        others: tuple[object, ...] = (
            bigin.deals,
            bigin.tasks,
            bigin.events,
            bigin.calls,
            bigin.notes,
            bigin.module("Custom_X"),
        )
        for other in others:
            assert not hasattr(other, "photo")
        assert set(photos) == PHOTO_MODULES
        with pytest.raises(ValidationError, match="no photo"):
            PhotoClient(bigin.transport, "Pipelines", RECORD)
        assert PhotoClient(bigin.transport, "Companies", RECORD).module == "Accounts"
        for bad in ("../x", "", "01", None):
            with pytest.raises(ValidationError):
                bigin.contacts.photo(bad)  # type: ignore[arg-type]


async def test_upload_posts_one_file_part_to_the_photo_path() -> None:
    server = answer(UPLOADED)
    async with bigin_for(server) as bigin:
        await bigin.companies.photo(RECORD).upload(PNG, "logo.png")
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("POST", f"/bigin/v2/Accounts/{RECORD}/photo")
    (part,) = seen.parts
    assert (part.name, part.filename, part.content_type, part.content) == (
        "file",
        "logo.png",
        "image/png",
        PNG,
    )


async def test_a_photo_over_10_mb_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    big = sparse_file(tmp_path / "huge.jpg", MAX_PHOTO_BYTES + 1)
    server = answer(UPLOADED)
    async with bigin_for(server) as bigin:
        with pytest.raises(FileTooLargeError) as refused:
            await bigin.contacts.photo(RECORD).upload(big)
    assert server.requests == []
    assert (refused.value.filename, refused.value.limit) == ("huge.jpg", MAX_PHOTO_BYTES)


async def test_a_photo_whose_answer_was_lost_is_sent_again_it_replaces_itself(tmp_path: Path) -> None:
    def lose_the_first(seen: RequestSeen) -> httpx.Response:
        if len(server.requests) == 1:
            raise httpx.ReadError("the answer was lost")
        return httpx.Response(200, json=UPLOADED)

    server = FileServer(lose_the_first)
    path = tmp_path / "face.png"
    path.write_bytes(PNG)
    async with bigin_for(server) as bigin:
        await bigin.contacts.photo(RECORD).upload(path)
    assert len(server.requests) == 2
    assert [seen.parts[0].content for seen in server.requests] == [PNG, PNG]


async def test_a_photo_from_a_pipe_that_lost_its_answer_is_not_sent_half() -> None:
    server = FileServer(lambda seen: (_ for _ in ()).throw(httpx.ReadError("the answer was lost")))

    class Pipe:
        """A file object that cannot seek back (a pipe): it can be read once."""

        def __init__(self) -> None:
            self._left = PNG

        def read(self, size: int = -1) -> bytes:
            chunk, self._left = self._left[:size], self._left[size:]
            return chunk

        def seekable(self) -> bool:
            return False

    async with bigin_for(server, max_retries=3) as bigin:
        with pytest.raises(BiginError) as failed:
            pipe = Upload(Pipe(), size=len(PNG), filename="p.png")
            await bigin.contacts.photo(RECORD).upload(pipe)
    # Sent whole once and its answer lost: the photo may be set, and the pipe cannot give it
    # again, so the call ends as a write of unknown fate (not half a photo, not a plain failure).
    assert isinstance(failed.value, AmbiguousWriteError)
    assert "cannot be sent again" in str(failed.value)
    assert len(server.requests) == 1


async def test_a_refused_photo_raises_the_typed_error() -> None:
    refusal = {
        "code": "INVALID_DATA",
        "details": {},
        "message": "unsupported image format",
        "status": "error",
    }
    server = answer(refusal, 400)
    async with bigin_for(server) as bigin:
        with pytest.raises(InvalidRequestError, match="unsupported image"):
            await bigin.contacts.photo(RECORD).upload(b"GIF89a", "x.gif")
    in_a_2xx = answer(refusal, 200)
    async with bigin_for(in_a_2xx) as bigin:
        with pytest.raises(InvalidRequestError):
            await bigin.contacts.photo(RECORD).upload(b"GIF89a", "x.gif")


async def test_download_saves_or_streams_the_image_and_no_photo_is_not_found(tmp_path: Path) -> None:
    headers = {"Content-Type": "image/png", "Content-Disposition": 'attachment; filename="ng.png"'}
    server = FileServer(lambda seen: httpx.Response(200, stream=Chunks(PNG), headers=headers))
    async with bigin_for(server) as bigin:
        photo = bigin.products.photo(RECORD)
        saved = await photo.download(tmp_path)
        stream = photo.download()
        assert isinstance(stream, FileStream)
        async with stream:
            body = b"".join([chunk async for chunk in stream])
    assert saved.path == tmp_path / "ng.png" and saved.path.read_bytes() == PNG
    assert body == PNG and {s.path for s in server.requests} == {f"/bigin/v2/Products/{RECORD}/photo"}

    none = FileServer(lambda seen: httpx.Response(204))
    async with bigin_for(none) as bigin:
        with pytest.raises(NotFoundError):
            await bigin.contacts.photo(RECORD).download(tmp_path / "none.png")
        with pytest.raises(NotFoundError):
            async with bigin.contacts.photo(RECORD).download():
                pass
    assert not (tmp_path / "none.png").exists()


async def test_delete_removes_the_photo() -> None:
    server = answer(DELETED)
    async with bigin_for(server) as bigin:
        await bigin.contacts.photo(RECORD).delete()
    assert (server.requests[0].method, server.requests[0].path) == (
        "DELETE",
        f"/bigin/v2/Contacts/{RECORD}/photo",
    )
    refused = answer({"code": "NO_PERMISSION", "details": {}, "message": "no", "status": "error"}, 403)
    async with bigin_for(refused) as bigin:
        with pytest.raises(BiginError):
            await bigin.contacts.photo(RECORD).delete()
