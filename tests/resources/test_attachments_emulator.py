"""Attachments against the emulator: upload, list, download and delete round trips comparing bytes,
a lost answer reported ambiguous and sent once, a file over the limit never sent, links.

The client's memory during 15 MB uploads and downloads is measured against an emulator served
from a child process over loopback: the in-process one keeps every file it is sent in this
process, which tracemalloc would count as the client's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from bigin_async import (
    AmbiguousWriteError,
    BiginClient,
    InvalidRequestError,
    ValidationError,
)
from bigin_async.resources.attachments import MAX_ATTACHMENT_BYTES
from bigin_emulator import BiginEmulator
from tests.helpers.file_server import peak_during, sparse_file
from tests.helpers.served_emulator import emulator_in_child, refused_unsent

MB = 1024 * 1024
UPLOADS = "POST /bigin/v2/Contacts/{id}/Attachments"


@pytest.fixture
async def served_url() -> AsyncIterator[str]:
    """An emulator in a child process, served over loopback: its files are not in this process."""
    async with emulator_in_child() as url:
        yield url


async def new_contact(bigin: BiginClient, name: str = "Ng") -> str:
    created = await bigin.contacts.create({"Last_Name": name})
    assert created.id is not None
    return created.id


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_upload_list_download_and_delete_round_trip(
    emulator_client: BiginClient, tmp_path: Path
) -> None:
    contact = await new_contact(emulator_client)
    attachments = emulator_client.contacts.attachments(contact)
    pdf = b"%PDF-1.7\n" + os.urandom(3000)
    path = tmp_path / "notes.txt"
    path.write_bytes(b"plain notes\n")
    uploaded = await attachments.upload(pdf, "contract.pdf")
    from_path = await attachments.upload(path)
    listed = {a.id: a for a in await attachments.list().to_list(limit=10)}
    assert set(listed) == {uploaded.id, from_path.id}
    first = listed[uploaded.id]
    assert (first.File_Name, first.Size, first.type, first.module) == (
        "contract.pdf",
        len(pdf),
        "Attachment",
        "Contacts",
    )
    assert first.Parent_Id is not None and first.Parent_Id.id == contact and not first.is_link
    assert first.Created_Time == uploaded.Created_Time
    assert first.Created_By is not None and uploaded.Created_By is not None
    assert first.Created_By.id == uploaded.Created_By.id
    assert listed[from_path.id].File_Name == "notes.txt" and listed[from_path.id].Size == 12

    saved = await attachments.download(uploaded.id, to=tmp_path / "copy.pdf")
    assert saved.path.read_bytes() == pdf and saved.content_type == "application/pdf"
    directory = tmp_path / "into"
    directory.mkdir()
    into = await attachments.download(from_path.id, to=directory)
    assert into.path == directory / "notes.txt" and into.path.read_bytes() == b"plain notes\n"
    async with attachments.download(uploaded.id) as stream:
        assert stream.filename == "contract.pdf" and stream.size == len(pdf)
        assert b"".join([chunk async for chunk in stream]) == pdf

    deleted = await attachments.delete(uploaded.id)
    assert deleted.ok and deleted.id == uploaded.id
    assert [a.id for a in await attachments.list().to_list(limit=10)] == [from_path.id]
    with pytest.raises(InvalidRequestError):
        await attachments.delete(uploaded.id)


async def test_a_15_mb_file_from_a_path_and_from_an_async_file_arrives_whole(
    emulator_client: BiginClient, tmp_path: Path
) -> None:
    contact = await new_contact(emulator_client)
    attachments = emulator_client.deals.attachments(await _deal(emulator_client, contact))
    body = os.urandom(15 * MB)
    path = tmp_path / "scan.bin"
    path.write_bytes(body)
    by_path = await attachments.upload(path)
    async with await anyio.open_file(path, "rb") as opened:
        by_file = await attachments.upload(opened, filename="scan-async.bin")
    sizes = {a.id: a.Size for a in await attachments.list().to_list(limit=10)}
    assert sizes == {by_path.id: 15 * MB, by_file.id: 15 * MB}
    for attachment_id in (by_path.id, by_file.id):
        saved = await attachments.download(attachment_id, to=tmp_path / f"copy-{attachment_id}")
        assert saved.size == 15 * MB and sha256(saved.path.read_bytes()) == sha256(body)
        saved.path.unlink()


async def test_15_mb_up_and_down_over_loopback_in_little_client_memory(
    served_url: str, tmp_path: Path
) -> None:
    body = os.urandom(15 * MB)
    path = tmp_path / "scan.bin"
    path.write_bytes(body)
    client = BiginClient(
        client_id="emulator-client-id",
        client_secret="emulator-client-secret",
        refresh_token="emulator-refresh-token",
        api_domain=served_url,
        accounts_url=served_url,
        retry_backoff_seconds=0.0,
    )
    async with client as bigin:
        attachments = bigin.contacts.attachments(await new_contact(bigin))
        by_path, path_peak = await peak_during(lambda: attachments.upload(path))
        async with await anyio.open_file(path, "rb") as opened:
            by_file, file_peak = await peak_during(lambda: attachments.upload(opened, filename="async.bin"))
        saved, download_peak = await peak_during(
            lambda: attachments.download(by_file.id, to=tmp_path / "back")
        )
        streamed = hashlib.sha256()

        async def stream() -> None:
            async with attachments.download(by_path.id) as chunks:
                async for chunk in chunks:
                    streamed.update(chunk)

        _, stream_peak = await peak_during(stream)
    assert sha256(saved.path.read_bytes()) == sha256(body) == streamed.hexdigest()
    peaks = {"upload from a path": path_peak, "upload from an async file": file_peak}
    peaks |= {"download to a file": download_peak, "streamed download": stream_peak}
    assert all(peak < 4 * MB for peak in peaks.values()), {what: f"{peak:,}" for what, peak in peaks.items()}


async def _deal(bigin: BiginClient, contact: str) -> str:
    created = await bigin.deals.create(
        {"Deal_Name": "Renewal", "Stage": "Qualification", "Contact_Name": {"id": contact}}
    )
    assert created.id is not None
    return created.id


async def test_an_upload_whose_answer_is_lost_is_ambiguous_and_was_sent_once(emulator: BiginEmulator) -> None:
    async with emulator.client(max_retries=3, retry_backoff_seconds=0.0) as bigin:
        contact = await new_contact(bigin)
        emulator.file_faults.drop_upload_answers = 1
        with pytest.raises(AmbiguousWriteError):
            await bigin.contacts.attachments(contact).upload(b"maybe kept", "maybe.txt")
        kept = await bigin.contacts.attachments(contact).list().to_list(limit=5)
    assert emulator.counters.requests_by_route[UPLOADS] == 1
    assert [a.File_Name for a in kept] == ["maybe.txt"]  # the emulator kept it: a re-send would be a second


async def test_a_file_over_20_mb_is_refused_before_anything_is_sent(
    emulator: BiginEmulator, tmp_path: Path
) -> None:
    big = sparse_file(tmp_path / "big.bin", MAX_ATTACHMENT_BYTES + 1)
    async with emulator.client() as bigin:
        contact = await new_contact(bigin)
        await refused_unsent(emulator, lambda: bigin.contacts.attachments(contact).upload(big))
        assert UPLOADS not in emulator.counters.requests_by_route


async def test_attach_a_link_list_it_and_find_nothing_to_download(
    emulator_client: BiginClient, tmp_path: Path
) -> None:
    contact = await new_contact(emulator_client)
    attachments = emulator_client.contacts.attachments(contact)
    titled = await attachments.attach_link("https://docs.example.com/quote?id=7", "Quote")
    bare = await attachments.attach_link("https://example.com/x")
    listed = {a.id: a for a in await attachments.list().to_list(limit=10)}
    for sent in (titled, bare):
        seen = listed[sent.id]
        assert seen.is_link and seen.link_url == sent.link_url and seen.File_Name == sent.File_Name
        assert seen.type == sent.type == "Link URL"
    assert listed[titled.id].File_Name == "Quote"
    with pytest.raises(InvalidRequestError):
        await attachments.download(titled.id, to=tmp_path / "link")
    assert list(tmp_path.iterdir()) == []


async def test_named_fields_and_pages(emulator_client: BiginClient) -> None:
    contact = await new_contact(emulator_client)
    attachments = emulator_client.contacts.attachments(contact)
    ids = {(await attachments.upload(f"file {n}".encode(), f"f{n}.txt")).id for n in range(5)}
    walked = [a async for a in attachments.list(fields=["File_Name"], per_page=2)]
    assert {a.id for a in walked} == ids and len(walked) == 5
    assert all(a.File_Name and a.Size is None for a in walked)  # only what was asked (and id)
    assert len(await attachments.list(max_records=3).to_list(limit=10)) == 3


async def test_every_module_with_attachments_takes_them_and_notes_do_not(
    emulator_client: BiginClient,
) -> None:
    contact = await new_contact(emulator_client)
    company = await emulator_client.companies.create({"Account_Name": "Zylker"})
    product = await emulator_client.products.create({"Product_Name": "Widget"})
    task = await emulator_client.tasks.create({"Subject": "Call back"})
    for client, record_id in (
        (emulator_client.companies, company.id),
        (emulator_client.products, product.id),
        (emulator_client.tasks, task.id),
        (emulator_client.contacts, contact),
    ):
        assert record_id is not None
        attachment = await client.attachments(record_id).upload(b"x", "x.txt")
        assert [a.id for a in await client.attachments(record_id).list().to_list(limit=2)] == [attachment.id]
    with pytest.raises(ValidationError):
        emulator_client.notes.attachments(contact)


@pytest.mark.parametrize(
    "name",
    [
        "Angebot.pdf",
        "Angebot ü.pdf",
        "Fünf «Tage» 📎.txt",
    ],
)
async def test_a_download_into_a_directory_takes_the_name_zoho_gives(
    emulator_client: BiginClient, tmp_path: Path, name: str
) -> None:
    contact = await new_contact(emulator_client)
    attachments = emulator_client.contacts.attachments(contact)
    uploaded = await attachments.upload(b"body", name)
    saved = await attachments.download(uploaded.id, to=tmp_path)
    assert saved.path == tmp_path / name and saved.filename == name and saved.path.read_bytes() == b"body"
