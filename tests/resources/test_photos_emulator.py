"""Record photos against the emulator: set, read back byte for byte, replace, delete; a lost
answer sent again leaves one photo; a record without one is not found."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigin_async import BiginClient, NotFoundError
from bigin_async.resources.photos import MAX_PHOTO_BYTES
from bigin_emulator import BiginEmulator
from tests.helpers.file_server import sparse_file
from tests.helpers.served_emulator import refused_unsent

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
GIF = b"GIF89a" + bytes(range(200))


async def test_photo_round_trip_replace_and_delete(emulator_client: BiginClient, tmp_path: Path) -> None:
    created = await emulator_client.companies.create({"Account_Name": "Zylker"})
    assert created.id is not None
    photo = emulator_client.companies.photo(created.id)
    with pytest.raises(NotFoundError):
        await photo.download(tmp_path / "none.png")

    await photo.upload(PNG, "logo.png")
    saved = await photo.download(tmp_path / "logo-copy.png")
    assert saved.path.read_bytes() == PNG and saved.content_type == "image/png"
    into = await photo.download(tmp_path)
    assert into.path == tmp_path / "logo.png" and into.path.read_bytes() == PNG

    await photo.upload(GIF, "logo.gif")  # one photo a record: the new one replaces it
    async with photo.download() as stream:
        assert stream.filename == "logo.gif"
        assert b"".join([chunk async for chunk in stream]) == GIF

    await photo.delete()
    with pytest.raises(NotFoundError):
        async with photo.download():
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logo-copy.png", "logo.png"]


async def test_a_lost_photo_answer_is_sent_again_and_leaves_one_photo(
    emulator: BiginEmulator, tmp_path: Path
) -> None:
    async with emulator.client(retry_backoff_seconds=0.0) as bigin:
        created = await bigin.contacts.create({"Last_Name": "Ng"})
        assert created.id is not None
        emulator.file_faults.drop_upload_answers = 1
        path = tmp_path / "face.png"
        path.write_bytes(PNG)
        await bigin.contacts.photo(created.id).upload(path)
        saved = await bigin.contacts.photo(created.id).download(tmp_path / "back.png")
    assert emulator.counters.requests_by_route["POST /bigin/v2/Contacts/{id}/photo"] == 2
    assert saved.path.read_bytes() == PNG


async def test_a_photo_over_the_limit_is_refused_before_sending(
    emulator: BiginEmulator, tmp_path: Path
) -> None:
    big = sparse_file(tmp_path / "huge.jpg", MAX_PHOTO_BYTES + 1)
    async with emulator.client() as bigin:
        product = (await bigin.products.create({"Product_Name": "Widget"})).id
        assert product is not None
        await refused_unsent(emulator, lambda: bigin.products.photo(product).upload(big))
