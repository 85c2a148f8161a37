"""Attachments against a fake Zoho (``httpx.MockTransport``): what goes on the wire, what is refused
before sending, how answers read, and that a 15 MB upload never sits in the client's memory.

The round trips through the emulator are in ``test_attachments_emulator.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from bigin_async import (
    AmbiguousWriteError,
    APIError,
    Attachment,
    Download,
    FileStream,
    FileTooLargeError,
    InvalidRequestError,
    NotFoundError,
    Upload,
    ValidationError,
)
from bigin_async.resources.attachments import (
    ATTACHMENT_FIELDS,
    MAX_ATTACHMENT_BYTES,
    MAX_LINK_LENGTH,
    AttachmentsClient,
    check_link_url,
)
from bigin_async.resources.base import ModuleClient
from tests.helpers.file_server import (
    Chunks,
    FileServer,
    RequestSeen,
    bigin_for,
    json_answer,
    peak_during,
    sparse_file,
)

CONTACT = "4150868000000224005"
ATTACHMENT = "4150868000000321001"
MB = 1024 * 1024

UPLOADED = {
    "data": [
        {
            "code": "SUCCESS",
            "details": {
                "Modified_Time": "2026-03-28T14:35:04+05:30",
                "Modified_By": {"name": "Ana Ng", "id": "4150868000000078001"},
                "Created_Time": "2026-03-28T14:35:04+05:30",
                "id": ATTACHMENT,
                "Created_By": {"name": "Ana Ng", "id": "4150868000000078001"},
            },
            "message": "attachment uploaded successfully",
            "status": "success",
        }
    ]
}


def listing(*entries: dict[str, Any], more: bool = False, page: int = 1) -> dict[str, Any]:
    return {
        "data": list(entries),
        "info": {"per_page": 200, "count": len(entries), "page": page, "more_records": more},
    }


# -- the model ---------------------------------------------------------------------------------


def test_an_attachment_reads_zohos_shape_and_keeps_what_it_does_not_know() -> None:
    attachment = Attachment.model_validate(
        {
            "id": 4150868000000321001,
            "File_Name": "contract.pdf",
            "Size": "2048",
            "Created_Time": "2026-03-28T14:35:04+05:30",
            "Owner": {"name": "Ana Ng", "id": "4150868000000078001", "email": "ana@example.com"},
            "Parent_Id": {"name": "Ng", "id": CONTACT},
            "$type": "Attachment",
            "$file_id": "abc123",
            "$se_module": "Contacts",
            "$editable": True,
        }
    )
    assert attachment.id == ATTACHMENT and attachment.Size == 2048
    assert attachment.type == "Attachment" and attachment.file_id == "abc123"
    assert attachment.module == "Contacts" and attachment.Parent_Id is not None
    assert attachment.Parent_Id.id == CONTACT and not attachment.is_link
    assert attachment.get("$editable") is True and attachment.get("$type") == "Attachment"
    assert attachment.Created_Time is not None and attachment.Created_Time.utcoffset() is not None
    assert attachment.model_dump()["$se_module"] == "Contacts"


@pytest.mark.parametrize(
    ("size", "read"),
    [
        ("0", 0),
        (" 17 ", 17),
        (17, 17),
        (None, None),
        ("", None),
        ("1.2 MB", None),
        (-3, None),
        ("-3", None),
        (True, None),
        (1.5, None),
        ("١٢", None),
    ],
)
def test_a_size_is_bytes_or_none_never_a_failed_page(size: object, read: int | None) -> None:
    assert Attachment.model_validate({"id": "1", "Size": size}).Size == read


def test_a_link_is_told_by_its_type_or_its_url_and_a_nested_module_reads_as_its_name() -> None:
    link = Attachment.model_validate(
        {
            "id": "2",
            "$type": "Link URL",
            "$link_url": "https://x.test",
            "$se_module": {"api_name": "Pipelines"},
        }
    )
    assert link.is_link and link.link_url == "https://x.test" and link.module == "Pipelines"
    assert Attachment.model_validate({"id": "3", "$link_url": "https://y.test"}).is_link
    assert not Attachment.model_validate({"id": "4", "$type": "Attachment", "$link_url": None}).is_link


# -- where attachments are offered -------------------------------------------------------------


async def test_every_module_with_attachments_offers_them_and_notes_refuse() -> None:
    server = FileServer(json_answer(listing()))
    async with bigin_for(server) as bigin:
        clients: dict[str, ModuleClient[Any]] = {
            "Contacts": bigin.contacts,
            "Accounts": bigin.companies,
            "Pipelines": bigin.deals,
            "Products": bigin.products,
            "Tasks": bigin.tasks,
            "Events": bigin.events,
            "Calls": bigin.calls,
            "Vendors_X": bigin.module("Vendors_X"),
        }
        for module, client in clients.items():
            attachments = client.attachments(CONTACT)
            assert isinstance(attachments, AttachmentsClient)
            assert (attachments.module, attachments.record_id) == (module, CONTACT)
            assert module in repr(attachments)
            await attachments.list().to_list(limit=1)
        with pytest.raises(ValidationError, match="Notes records take no attachments"):
            bigin.notes.attachments(CONTACT)
        assert AttachmentsClient(bigin.transport, "Deals", CONTACT).module == "Pipelines"
        for bad_module in ("", "../x", None):
            with pytest.raises(ValidationError):
                AttachmentsClient(bigin.transport, bad_module, CONTACT)  # type: ignore[arg-type]
    assert [seen.path for seen in server.requests] == [
        f"/bigin/v2/{module}/{CONTACT}/Attachments" for module in clients
    ]


@pytest.mark.parametrize("bad", ["../settings", "0", "12a", "", " 1", "1\n", 0, -1, None, True])
async def test_record_and_attachment_ids_are_checked_before_anything_is_sent(bad: Any) -> None:
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin:
        with pytest.raises(ValidationError):
            bigin.contacts.attachments(bad)
        attachments = bigin.contacts.attachments(CONTACT)
        with pytest.raises(ValidationError):
            attachments.download(bad)
        with pytest.raises(ValidationError):
            await attachments.delete(bad)
    assert server.requests == []


# -- list ----------------------------------------------------------------------------------------


async def test_list_asks_every_known_field_and_walks_page_numbers() -> None:
    entry = {"id": ATTACHMENT, "File_Name": "a.pdf", "Size": "10", "$type": "Attachment"}
    pages = [listing(entry, more=True), listing({**entry, "id": "4150868000000321002"}, page=2)]
    server = FileServer(lambda seen: httpx.Response(200, json=pages[len(server.requests) - 1]))
    async with bigin_for(server) as bigin:
        found = [a async for a in bigin.deals.attachments(CONTACT).list(per_page=1)]
    assert [a.id for a in found] == [ATTACHMENT, "4150868000000321002"]
    assert all(isinstance(a, Attachment) and a.Size == 10 for a in found)
    first, second = server.requests
    assert first.params == {"fields": ",".join(ATTACHMENT_FIELDS), "per_page": "1", "page": "1"}
    assert second.params["page"] == "2"


async def test_list_with_named_fields_and_a_record_without_attachments() -> None:
    server = FileServer(lambda seen: httpx.Response(204))
    async with bigin_for(server) as bigin:
        attachments = bigin.contacts.attachments(CONTACT)
        assert await attachments.list(fields="File_Name, Size,,File_Name").to_list(limit=5) == []
        assert await attachments.list(fields=["$link_url"], max_records=3).to_list(limit=5) == []
        bad_fields: list[Any] = ["", [], ["File Name"], ["a,b"], [3]]
        for bad in bad_fields:
            with pytest.raises(ValidationError):
                attachments.list(fields=bad)
    assert server.requests[0].params["fields"] == "File_Name,Size"
    assert server.requests[1].params == {"fields": "$link_url", "per_page": "3", "page": "1"}


# -- upload --------------------------------------------------------------------------------------


async def test_upload_sends_one_file_part_and_returns_what_the_answer_confirms() -> None:
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin:
        attachment = await bigin.contacts.attachments(CONTACT).upload(b"%PDF-1.7 contract", "contract.pdf")
    (seen,) = server.requests
    assert (seen.method, seen.path) == ("POST", f"/bigin/v2/Contacts/{CONTACT}/Attachments")
    (part,) = seen.parts
    assert (part.name, part.filename, part.content_type) == ("file", "contract.pdf", "application/pdf")
    assert part.content == b"%PDF-1.7 contract"
    assert attachment.id == ATTACHMENT and attachment.File_Name == "contract.pdf"
    assert attachment.type == "Attachment" and attachment.module == "Contacts" and not attachment.is_link
    assert attachment.Parent_Id is not None and attachment.Parent_Id.id == CONTACT
    assert attachment.Created_By is not None and attachment.Created_By.name == "Ana Ng"
    assert attachment.Size is None  # not in Zoho's answer: list() says it


async def test_upload_names_a_file_by_its_path_or_its_upload_options(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello")
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin:
        attachments = bigin.deals.attachments(CONTACT)
        by_path = await attachments.upload(path)
        with path.open("rb") as opened:
            by_file = await attachments.upload(opened)
        by_upload = await attachments.upload(Upload(b"x", filename="given.bin", content_type="image/png"))
        renamed = await attachments.upload(Upload(b"y", filename="given.bin"), filename="other.csv")
    assert [p.filename for seen in server.requests for p in seen.parts] == [
        "notes.txt",
        "notes.txt",
        "given.bin",
        "other.csv",
    ]
    assert [seen.parts[0].content for seen in server.requests[:2]] == [b"hello", b"hello"]
    assert [p.content_type for seen in server.requests for p in seen.parts] == [
        "text/plain",
        "text/plain",
        "image/png",
        "text/csv",
    ]
    assert (by_path.File_Name, by_file.File_Name) == ("notes.txt", "notes.txt")
    assert (by_upload.File_Name, renamed.File_Name) == ("given.bin", "other.csv")


async def test_upload_refuses_what_is_no_file_before_sending(tmp_path: Path) -> None:
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin:
        attachments = bigin.contacts.attachments(CONTACT)
        for bad in (tmp_path / "missing.pdf", tmp_path, "", 12, "text", None):
            with pytest.raises(ValidationError):
                await attachments.upload(bad)  # type: ignore[arg-type]
        with (tmp_path / "t.txt").open("w") as text_file, pytest.raises(ValidationError, match="text mode"):
            await attachments.upload(text_file)  # type: ignore[arg-type]
    assert server.requests == []


async def test_a_file_over_20_mb_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    big = sparse_file(tmp_path / "big.bin", MAX_ATTACHMENT_BYTES + 1)
    exact = sparse_file(tmp_path / "exact.bin", MAX_ATTACHMENT_BYTES)
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin:
        attachments = bigin.contacts.attachments(CONTACT)
        with pytest.raises(FileTooLargeError) as refused:
            await attachments.upload(big)
        with big.open("rb") as opened, pytest.raises(FileTooLargeError):
            await attachments.upload(opened)
        with pytest.raises(FileTooLargeError):  # a looser limit of the caller's own does not lift Zoho's
            await attachments.upload(Upload(big, max_size=100 * MB))
        with pytest.raises(FileTooLargeError):
            await attachments.upload(Upload(b"12345", max_size=4))  # a stricter one of the caller's holds
        assert server.requests == []
        await attachments.upload(exact)
    assert (refused.value.filename, refused.value.size, refused.value.limit) == (
        "big.bin",
        MAX_ATTACHMENT_BYTES + 1,
        MAX_ATTACHMENT_BYTES,
    )
    assert len(server.requests) == 1 and server.requests[0].parts[0].size == MAX_ATTACHMENT_BYTES


def _lose_the_answer(seen: RequestSeen) -> httpx.Response:
    raise httpx.ReadError("connection reset after the body was read")


async def test_an_upload_whose_answer_is_lost_is_ambiguous_and_sent_once() -> None:
    server = FileServer(_lose_the_answer)
    async with bigin_for(server, max_retries=3) as bigin:
        with pytest.raises(AmbiguousWriteError) as lost:
            await bigin.contacts.attachments(CONTACT).upload(b"once only", "once.txt")
    assert len(server.requests) == 1 and server.requests[0].parts[0].content == b"once only"
    assert "once.txt" in str(lost.value)


async def test_a_refused_upload_raises_the_typed_error_and_a_blank_answer_is_not_success() -> None:
    refusal = {
        "data": [{"code": "INVALID_DATA", "details": {}, "message": "invalid file", "status": "error"}]
    }
    server = FileServer(json_answer(refusal))
    async with bigin_for(server) as bigin:
        with pytest.raises(InvalidRequestError, match="invalid file"):
            await bigin.contacts.attachments(CONTACT).upload(b"x")
    nameless = {"data": [{"code": "SUCCESS", "details": {}, "message": "ok", "status": "success"}]}
    server = FileServer(json_answer(nameless))
    async with bigin_for(server, max_retries=3) as bigin:
        with pytest.raises(AmbiguousWriteError):
            await bigin.contacts.attachments(CONTACT).upload(b"x")
    assert len(server.requests) == 1
    blank = FileServer(lambda seen: httpx.Response(200, content=b""))
    async with bigin_for(blank, max_retries=3) as bigin:
        with pytest.raises(AmbiguousWriteError):
            await bigin.contacts.attachments(CONTACT).upload(b"x")
    assert len(blank.requests) == 1


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(MB), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture
def file_15_mb(tmp_path: Path) -> Path:
    path = tmp_path / "scan.pdf"
    block = os.urandom(MB)
    with path.open("wb") as file:
        for n in range(15):
            file.write(bytes([n]) + block[1:])
    return path


async def test_a_15_mb_upload_from_a_path_streams_in_little_memory(file_15_mb: Path) -> None:
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin:
        attachments = bigin.contacts.attachments(CONTACT)
        _, peak = await peak_during(lambda: attachments.upload(file_15_mb))
    (part,) = server.requests[0].parts
    assert part.size == 15 * MB and part.sha256 == _hash_file(file_15_mb)
    assert peak < 4 * MB, f"{peak:,} bytes at the peak of a 15 MB upload"


async def test_a_15_mb_upload_from_an_async_file_object_streams_in_little_memory(file_15_mb: Path) -> None:
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin, await anyio.open_file(file_15_mb, "rb") as opened:
        attachments = bigin.contacts.attachments(CONTACT)
        _, peak = await peak_during(lambda: attachments.upload(opened, filename="from-async.pdf"))
    (part,) = server.requests[0].parts
    assert part.filename == "from-async.pdf"
    assert part.size == 15 * MB and part.sha256 == _hash_file(file_15_mb)
    assert peak < 4 * MB, f"{peak:,} bytes at the peak of a 15 MB upload"


# -- links -----------------------------------------------------------------------------------------


async def test_attach_link_sends_the_url_and_title_as_form_fields() -> None:
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin:
        attachments = bigin.deals.attachments(CONTACT)
        titled = await attachments.attach_link("https://docs.example.com/q?id=1#s", "Quote 🧾")
        bare = await attachments.attach_link("http://example.com")
    first, second = server.requests
    assert [(p.name, p.filename, p.text) for p in first.parts] == [
        ("attachmentUrl", None, "https://docs.example.com/q?id=1#s"),
        ("title", None, "Quote 🧾"),
    ]
    assert [p.name for p in second.parts] == ["attachmentUrl"]
    assert (
        titled.is_link
        and titled.type == "Link URL"
        and titled.link_url == "https://docs.example.com/q?id=1#s"
    )
    assert titled.File_Name == "Quote 🧾" and titled.module == "Pipelines"
    assert bare.is_link and bare.File_Name == "http://example.com"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "ftp://example.com/x",
        "https://",
        "example.com/page",
        "/relative",
        "https://exa mple.com",
        "https://example.com/\nSet-Cookie: x",
        "https://example.com/\x00",
        "https://example.com/\u202eevil",
        " https://example.com",
        "https://[::1",
        "https://example.com:port/",
        "https://example.com/" + "a" * MAX_LINK_LENGTH,
        "",
        None,
        b"https://example.com",
    ],
)
async def test_a_link_that_is_no_web_url_is_refused_before_sending(url: Any) -> None:
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin:
        with pytest.raises(ValidationError):
            await bigin.contacts.attachments(CONTACT).attach_link(url)
    assert server.requests == []


@pytest.mark.parametrize("title", ["", "   ", "two\nlines", "tab\x0b", "x" * 256, 5])
async def test_a_title_that_is_not_one_line_is_refused_before_sending(title: Any) -> None:
    server = FileServer(json_answer(UPLOADED))
    async with bigin_for(server) as bigin:
        with pytest.raises(ValidationError):
            await bigin.contacts.attachments(CONTACT).attach_link("https://example.com", title)
    assert server.requests == []


def test_check_link_url_keeps_a_good_url_as_given() -> None:
    class Sneaky(str):
        def __str__(self) -> str:
            return "javascript:alert(1)"

    assert check_link_url("HTTPS://Example.com/a%20b") == "HTTPS://Example.com/a%20b"
    checked = check_link_url(Sneaky("https://example.com"))
    assert checked == "https://example.com" and type(checked) is str


async def test_a_link_whose_answer_is_lost_is_ambiguous_and_sent_once() -> None:
    server = FileServer(_lose_the_answer)
    async with bigin_for(server, max_retries=3) as bigin:
        with pytest.raises(AmbiguousWriteError):
            await bigin.contacts.attachments(CONTACT).attach_link("https://example.com")
    assert len(server.requests) == 1


# -- download --------------------------------------------------------------------------------------

BODY = bytes(range(256)) * 1000


def file_answer(disposition: str) -> Callable[[RequestSeen], httpx.Response]:
    def answer(seen: RequestSeen) -> httpx.Response:
        headers = {
            "Content-Type": "application/pdf",
            "Content-Disposition": disposition,
            "Content-Length": str(len(BODY)),
        }
        return httpx.Response(200, stream=Chunks(BODY), headers=headers)

    return answer


# Zoho's shape for a name that is not ASCII: both parameters, the plain one an ASCII stand-in.
BOTH_NAMES = "attachment; filename=\"x.pdf\"; filename*=UTF-8''Angebot%20%C3%BC.pdf"


@pytest.mark.parametrize(
    "disposition",
    [
        "attachment; filename*=UTF-8''Angebot%20%C3%BC.pdf",
        BOTH_NAMES,
    ],
)
async def test_download_to_a_path_a_directory_and_as_a_stream(tmp_path: Path, disposition: str) -> None:
    server = FileServer(file_answer(disposition))
    async with bigin_for(server) as bigin:
        attachments = bigin.contacts.attachments(CONTACT)
        to_path = await attachments.download(ATTACHMENT, to=tmp_path / "mine.pdf")
        into_dir = await attachments.download(ATTACHMENT, to=tmp_path)
        stream = attachments.download(ATTACHMENT)
        assert isinstance(stream, FileStream)
        async with stream:
            chunks = [chunk async for chunk in stream]
            assert stream.filename == "Angebot ü.pdf" and stream.content_type == "application/pdf"
            assert stream.size == len(BODY)
    assert isinstance(to_path, Download) and to_path.path == tmp_path / "mine.pdf"
    assert to_path.path.read_bytes() == BODY and to_path.size == len(BODY)
    assert into_dir.path == tmp_path / "Angebot ü.pdf" and into_dir.path.read_bytes() == BODY
    assert into_dir.filename == "Angebot ü.pdf"
    assert b"".join(chunks) == BODY
    assert {seen.path for seen in server.requests} == {
        f"/bigin/v2/Contacts/{CONTACT}/Attachments/{ATTACHMENT}"
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Angebot ü.pdf", "mine.pdf"]


@pytest.mark.parametrize(
    ("disposition", "kept_as"),
    [
        ('attachment; filename="../../evil.sh"', "evil.sh"),
        ('attachment; filename=".bashrc"', "bashrc"),
        ("attachment; filename*=UTF-8''..%2F..%2Fx%0A.pdf", "x_.pdf"),
        ("attachment", "download"),
    ],
)
async def test_a_name_from_the_server_stays_inside_the_directory(
    tmp_path: Path, disposition: str, kept_as: str
) -> None:
    into = tmp_path / "into"
    into.mkdir()
    server = FileServer(file_answer(disposition))
    async with bigin_for(server) as bigin:
        saved = await bigin.contacts.attachments(CONTACT).download(ATTACHMENT, to=into)
    assert saved.path == into / kept_as and saved.path.read_bytes() == BODY
    assert [p.name for p in tmp_path.iterdir()] == ["into"]


async def test_a_download_to_a_missing_directory_is_refused_before_sending(tmp_path: Path) -> None:
    server = FileServer(file_answer("attachment"))
    async with bigin_for(server) as bigin:
        with pytest.raises(ValidationError):
            await bigin.contacts.attachments(CONTACT).download(ATTACHMENT, to=tmp_path / "no" / "x.pdf")
    assert server.requests == []


async def test_a_download_of_nothing_is_not_found_and_leaves_no_file(tmp_path: Path) -> None:
    server = FileServer(lambda seen: httpx.Response(204))
    async with bigin_for(server) as bigin:
        attachments = bigin.contacts.attachments(CONTACT)
        with pytest.raises(NotFoundError):
            await attachments.download(ATTACHMENT, to=tmp_path / "x.pdf")
        with pytest.raises(NotFoundError):
            async with attachments.download(ATTACHMENT):
                pass
    assert list(tmp_path.iterdir()) == []


# -- delete ----------------------------------------------------------------------------------------

DELETED = {
    "data": [
        {"code": "SUCCESS", "details": {"id": ATTACHMENT}, "message": "record deleted", "status": "success"}
    ]
}
GONE = {
    "data": [
        {
            "code": "INVALID_DATA",
            "details": {"id": ATTACHMENT},
            "message": "the id given seems to be invalid",
            "status": "error",
        }
    ]
}


async def test_delete_answers_one_result() -> None:
    server = FileServer(json_answer(DELETED))
    async with bigin_for(server) as bigin:
        result = await bigin.products.attachments(CONTACT).delete(ATTACHMENT)
    assert result.ok and result.id == ATTACHMENT and result.action == "delete"
    assert (server.requests[0].method, server.requests[0].path) == (
        "DELETE",
        f"/bigin/v2/Products/{CONTACT}/Attachments/{ATTACHMENT}",
    )


async def test_deleting_a_missing_attachment_is_an_error_unless_a_lost_attempt_may_have_done_it() -> None:
    server = FileServer(json_answer(GONE, 400))
    async with bigin_for(server) as bigin:
        with pytest.raises(InvalidRequestError, match="invalid"):
            await bigin.contacts.attachments(CONTACT).delete(ATTACHMENT)

    def lost_then_gone(seen: RequestSeen) -> httpx.Response:
        if len(server.requests) == 1:
            raise httpx.ReadError("the answer was lost")
        return httpx.Response(400, json=GONE)

    server = FileServer(lost_then_gone)
    async with bigin_for(server) as bigin:
        result = await bigin.contacts.attachments(CONTACT).delete(ATTACHMENT)
    assert len(server.requests) == 2
    assert result.ok and result.code == "MAYBE_ALREADY_DELETED" and result.details["maybe_never_existed"]


async def test_a_delete_answered_with_garbage_is_retried_then_malformed() -> None:
    server = FileServer(lambda seen: httpx.Response(200, content=b"<html>proxy</html>"))
    async with bigin_for(server, max_retries=2) as bigin:
        with pytest.raises(APIError) as failed:
            await bigin.contacts.attachments(CONTACT).delete(ATTACHMENT)
    assert failed.value.code == "MALFORMED_RESPONSE" and len(server.requests) == 3


async def test_a_refused_delete_without_a_body_raises_the_http_error() -> None:
    server = FileServer(lambda seen: httpx.Response(404, content=b"<html>no</html>"))
    async with bigin_for(server) as bigin:
        with pytest.raises(NotFoundError):
            await bigin.contacts.attachments(CONTACT).delete(ATTACHMENT)
    assert json.dumps(DELETED)  # the shapes above are JSON
