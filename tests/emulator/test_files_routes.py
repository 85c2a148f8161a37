"""The emulator's file routes over plain httpx: attachments, photos, the Files API, Zoho's answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bigin_emulator import BiginEmulator, FileFaults, FileLimits
from bigin_emulator.routes.files import content_disposition
from tests.helpers.clock import FakeClock

API = "/bigin/v2"


@pytest.fixture
async def http(emulator: BiginEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with emulator.http_client(token=emulator.issue_token()) as client:
        yield client


def _contact(emulator: BiginEmulator, name: str = "Ng") -> str:
    record_id: str = emulator.insert_records("Contacts", [{"Last_Name": name}])[0]["details"]["id"]
    return record_id


def _error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert (body["status"], body["code"]) == ("error", code), body
    return body


async def _attach(
    http: httpx.AsyncClient, path: str, name: str, data: bytes, kind: str = "text/plain"
) -> str:
    answer = await http.post(f"{API}/{path}/Attachments", files={"file": (name, data, kind)})
    assert answer.status_code == 200, answer.text
    attachment_id: str = answer.json()["data"][0]["details"]["id"]
    return attachment_id


# -- attachments ----------------------------------------------------------------------------------


async def test_a_file_attached_is_listed_downloaded_and_deleted_in_zohos_shapes(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    record_id = _contact(emulator)
    answer = await http.post(
        f"{API}/Contacts/{record_id}/Attachments",
        files={"file": ("contract.pdf", b"%PDF-1", "application/pdf")},
    )
    assert answer.status_code == 200
    (entry,) = answer.json()["data"]
    assert (entry["code"], entry["status"], entry["message"]) == (
        "SUCCESS",
        "success",
        "attachment uploaded successfully",
    )
    details = entry["details"]
    assert set(details) == {"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By"}
    assert details["Created_Time"] == "2026-01-01T00:00:00+00:00" and set(details["Created_By"]) == {
        "name",
        "id",
    }

    listed = await http.get(f"{API}/Contacts/{record_id}/Attachments")
    assert listed.status_code == 200
    body = listed.json()
    assert body["info"] == {"per_page": 200, "count": 1, "page": 1, "more_records": False}
    (attachment,) = body["data"]
    assert attachment["id"] == details["id"] and attachment["File_Name"] == "contract.pdf"
    assert (
        attachment["Size"] == "6" and attachment["$type"] == "Attachment" and attachment["$link_url"] is None
    )
    assert (
        attachment["Parent_Id"] == {"name": "Ng", "id": record_id} and attachment["$se_module"] == "Contacts"
    )
    assert attachment["$file_id"] and attachment["Owner"]["id"] == details["Created_By"]["id"]

    download = await http.get(f"{API}/Contacts/{record_id}/Attachments/{details['id']}")
    assert download.status_code == 200 and download.content == b"%PDF-1"
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == "6"
    assert download.headers["content-disposition"] == 'attachment; filename="contract.pdf"'

    deleted = await http.delete(f"{API}/Contacts/{record_id}/Attachments/{details['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {
        "data": [
            {
                "code": "SUCCESS",
                "details": {"id": details["id"]},
                "message": "record deleted",
                "status": "success",
            }
        ]
    }
    assert (await http.get(f"{API}/Contacts/{record_id}/Attachments")).status_code == 204
    assert (await http.get(f"{API}/Contacts/{record_id}/Attachments/{details['id']}")).status_code == 204
    again = await http.delete(f"{API}/Contacts/{record_id}/Attachments/{details['id']}")
    assert again.status_code == 400 and again.json()["data"][0]["code"] == "INVALID_DATA"
    assert emulator.uploads.stored_bytes == 0


async def test_a_link_is_attached_with_its_title_and_has_no_bytes(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    record_id = emulator.insert_records("Pipelines", [{"Deal_Name": "Big", "Stage": "Qualification"}])[0][
        "details"
    ]["id"]
    path = f"{API}/Pipelines/{record_id}/Attachments"
    form = {"attachmentUrl": (None, "https://example.com/spec"), "title": (None, "The spec")}
    answer = await http.post(path, files=form)
    assert answer.status_code == 200, answer.text
    link_id = answer.json()["data"][0]["details"]["id"]
    untitled = await http.post(path, files={"attachmentUrl": (None, "http://example.com/x")})
    assert untitled.status_code == 200
    listed = (await http.get(path, params={"fields": "File_Name,$link_url,$type,Size"})).json()["data"]
    untitled_id = untitled.json()["data"][0]["details"]["id"]
    assert listed == [
        {"$type": "Link URL", "$link_url": "http://example.com/x", "File_Name": "http://example.com/x"}
        | {"Size": None, "id": untitled_id},
        {"$type": "Link URL", "$link_url": "https://example.com/spec", "File_Name": "The spec"}
        | {"Size": None, "id": link_id},
    ]
    _error(await http.get(f"{path}/{link_id}"), 400, "INVALID_DATA")
    _error(await http.post(path, files={"attachmentUrl": (None, "javascript:alert(1)")}), 400, "INVALID_DATA")
    both: dict[str, Any] = {
        "attachmentUrl": (None, "https://example.com"),
        "file": ("a.txt", b"a", "text/plain"),
    }
    _error(await http.post(path, files=both), 400, "INVALID_DATA")


async def test_attachments_are_listed_newest_first_in_numbered_pages(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    record_id = _contact(emulator)
    ids = [await _attach(http, f"Contacts/{record_id}", f"{n}.txt", b"n") for n in range(3)]
    path = f"{API}/Contacts/{record_id}/Attachments"
    first = (await http.get(path, params={"per_page": 2})).json()
    assert [a["id"] for a in first["data"]] == ids[:0:-1] and first["info"]["more_records"] is True
    second = (await http.get(path, params={"per_page": 2, "page": 2})).json()
    assert [a["id"] for a in second["data"]] == ids[:1] and second["info"] == {
        "per_page": 2,
        "count": 1,
        "page": 2,
        "more_records": False,
    }
    assert (await http.get(path, params={"page": 3, "per_page": 2})).status_code == 204
    _error(await http.get(path, params={"per_page": 201}), 400, "INVALID_DATA")


async def test_every_module_with_attachments_takes_them_and_notes_do_not(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    records = {
        "Accounts": {"Account_Name": "Acme"},
        "Products": {"Product_Name": "Widget"},
        "Tasks": {"Subject": "Call back"},
        "Calls": {"Subject": "Intro"},
        "Events": {
            "Event_Title": "Demo",
            "Start_DateTime": "2026-01-02T10:00:00+00:00",
            "End_DateTime": "2026-01-02T11:00:00+00:00",
        },
    }
    for module, record in records.items():
        record_id = emulator.insert_records(module, [record])[0]["details"]["id"]
        await _attach(http, f"{module}/{record_id}", "a.txt", module.encode())
        listed = (await http.get(f"{API}/{module}/{record_id}/Attachments")).json()["data"]
        assert [a["$se_module"] for a in listed] == [module]
    note = emulator.insert_records("Notes", [{"Note_Content": "n"}])[0]["details"]["id"]
    _error(await http.get(f"{API}/Notes/{note}/Attachments"), 400, "INVALID_DATA")
    _error(await http.get(f"{API}/Companies/{note}/Attachments"), 400, "INVALID_MODULE")


async def test_an_unknown_record_is_zohos_invalid_data_for_writes_and_204_for_reads(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    path = f"{API}/Contacts/5545000000009999999"
    body = _error(await http.post(f"{path}/Attachments", files={"file": ("a", b"a")}), 400, "INVALID_DATA")
    assert body["details"] == {"id": "5545000000009999999", "resource_path_index": 1}
    _error(await http.delete(f"{path}/Attachments/1"), 400, "INVALID_DATA")
    _error(await http.post(f"{path}/photo", files={"file": ("a", b"a")}), 400, "INVALID_DATA")
    _error(await http.delete(f"{path}/photo"), 400, "INVALID_DATA")
    for read in (f"{path}/Attachments", f"{path}/Attachments/1", f"{path}/photo"):
        assert (await http.get(read)).status_code == 204, read


async def test_an_upload_without_a_file_part_is_required_param_missing(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    record_id = _contact(emulator)
    for path in (f"Contacts/{record_id}/Attachments", f"Contacts/{record_id}/photo", "files"):
        sent: dict[str, Any]
        for sent in (
            {"files": {"other": ("a.txt", b"a")}},
            {"files": {"title": (None, "only a title")}},
            {"json": {"data": [{}]}},
            {"content": b""},
        ):
            body = _error(await http.post(f"{API}/{path}", **sent), 400, "REQUIRED_PARAM_MISSING")
            assert body["details"] == {"param": "file"}
    assert emulator.uploads.stored_bytes == 0


async def test_one_file_an_attachment_call(emulator: BiginEmulator, http: httpx.AsyncClient) -> None:
    record_id = _contact(emulator)
    two = [("file", ("a.txt", b"a")), ("file", ("b.txt", b"b"))]
    body = _error(
        await http.post(f"{API}/Contacts/{record_id}/Attachments", files=two), 400, "LIMIT_EXCEEDED"
    )
    assert body["details"]["limit"] == 1


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("plain name.pdf", 'attachment; filename="plain name.pdf"'),
        ("café.pdf", "attachment; filename=\"caf_.pdf\"; filename*=UTF-8''caf%C3%A9.pdf"),
        ('a"b\\c.txt', "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%5Cc.txt"),
        ("line\r\nbreak", "attachment; filename=\"line__break\"; filename*=UTF-8''line%0D%0Abreak"),
        ("", "attachment; filename=\"file\"; filename*=UTF-8''"),
    ],
)
def test_content_disposition_keeps_names_safe_and_non_ascii_in_filename_star(name: str, header: str) -> None:
    assert content_disposition(name) == header


async def test_a_non_ascii_name_round_trips_through_filename_star(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    record_id = _contact(emulator)
    sent = (
        b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E5%A5%91%E7%B4%84.pdf"
        b"\r\n\r\nX\r\n--b--\r\n"
    )
    answer = await http.post(
        f"{API}/Contacts/{record_id}/Attachments",
        content=sent,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    attachment_id = answer.json()["data"][0]["details"]["id"]
    listed = (await http.get(f"{API}/Contacts/{record_id}/Attachments")).json()["data"]
    assert listed[0]["File_Name"] == "契約.pdf"
    download = await http.get(f"{API}/Contacts/{record_id}/Attachments/{attachment_id}")
    assert download.headers["content-disposition"].endswith("filename*=UTF-8''%E5%A5%91%E7%B4%84.pdf")
    assert download.headers["content-type"] == "application/octet-stream"  # none was sent


# -- photos -------------------------------------------------------------------------------------------


async def test_a_photo_is_set_replaced_read_and_deleted(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    for module, record in (
        ("Contacts", {"Last_Name": "Ng"}),
        ("Accounts", {"Account_Name": "Acme"}),
        ("Products", {"Product_Name": "Widget"}),
    ):
        record_id = emulator.insert_records(module, [record])[0]["details"]["id"]
        path = f"{API}/{module}/{record_id}/photo"
        assert (await http.get(path)).status_code == 204
        answer = await http.post(path, files={"file": ("me.png", b"PNG1", "image/png")})
        assert answer.status_code == 200
        assert answer.json() == {
            "code": "SUCCESS",
            "details": {},
            "message": "photo uploaded successfully",
            "status": "success",
        }
        await http.post(path, files={"file": ("me.jpg", b"JPEG22", "image/jpeg")})
        photo = await http.get(path)
        assert photo.content == b"JPEG22" and photo.headers["content-type"] == "image/jpeg"
        assert photo.headers["content-disposition"] == 'attachment; filename="me.jpg"'
        assert emulator.uploads.stored_bytes == 6  # the first photo was let go
        deleted = await http.delete(path)
        assert deleted.json() == {
            "code": "SUCCESS",
            "details": {},
            "message": "photo deleted",
            "status": "success",
        }
        assert (await http.get(path)).status_code == 204
        assert (await http.delete(path)).status_code == 200  # nothing left to delete: still done
        assert emulator.uploads.stored_bytes == 0


async def test_modules_without_photos_are_refused(emulator: BiginEmulator, http: httpx.AsyncClient) -> None:
    deal = emulator.insert_records("Pipelines", [{"Deal_Name": "Big", "Stage": "Qualification"}])[0][
        "details"
    ]["id"]
    for method in ("GET", "POST", "DELETE"):
        files = {"file": ("a.png", b"x")} if method == "POST" else None
        answer = await http.request(method, f"{API}/Pipelines/{deal}/photo", files=files)
        assert _error(answer, 400, "INVALID_MODULE")["details"] == {"resource_path_index": 0}


# -- the Files API ------------------------------------------------------------------------------------


async def test_files_api_takes_several_files_and_gives_each_an_id(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    files = [("file", ("a.txt", b"AAA", "text/plain")), ("file", ("b.csv", b"B", "text/csv"))]
    answer = await http.post(f"{API}/files", files=files, data={"note": "ignored"})
    assert answer.status_code == 200, answer.text
    entries = answer.json()["data"]
    assert [(e["code"], e["status"], e["message"], e["details"]["name"]) for e in entries] == [
        ("SUCCESS", "success", "file uploaded successfully", "a.txt"),
        ("SUCCESS", "success", "file uploaded successfully", "b.csv"),
    ]
    ids = [e["details"]["id"] for e in entries]
    assert len(set(ids)) == 2 and all(len(i) > 64 for i in ids)
    first = await http.get(f"{API}/files", params={"id": ids[0]})
    assert first.content == b"AAA" and first.headers["content-type"] == "text/plain"
    assert first.headers["content-disposition"] == 'attachment; filename="a.txt"'
    assert (await http.get(f"{API}/files", params={"id": "nope"})).status_code == 204
    body = _error(await http.get(f"{API}/files"), 400, "REQUIRED_PARAM_MISSING")
    assert body["details"] == {"param": "id"}
    assert emulator.uploads.stored_bytes == 4


async def test_an_empty_file_is_kept_and_comes_back_empty(http: httpx.AsyncClient) -> None:
    answer = await http.post(f"{API}/files", files={"file": ("empty.txt", b"", "text/plain")})
    file_id = answer.json()["data"][0]["details"]["id"]
    download = await http.get(f"{API}/files", params={"id": file_id})
    assert (download.status_code, download.content, download.headers["content-length"]) == (200, b"", "0")


async def test_files_api_takes_at_most_ten_files_a_call(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    ten = [("file", (f"{n}.txt", b"x")) for n in range(10)]
    assert (await http.post(f"{API}/files", files=ten)).status_code == 200
    body = _error(await http.post(f"{API}/files", files=[*ten, ("file", ("x", b"x"))]), 400, "LIMIT_EXCEEDED")
    assert body["details"] == {"param": "file", "limit": 10}
    assert len(emulator.uploads.files) == 10


async def test_a_file_past_the_limit_is_file_size_exceeded_and_nothing_is_kept(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, file_limits=FileLimits(max_file_bytes=1000))
    record_id = _contact(emulator)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        for path in (f"Contacts/{record_id}/Attachments", f"Contacts/{record_id}/photo", "files"):
            body = _error(
                await http.post(f"{API}/{path}", files={"file": ("a", b"x" * 1001)}),
                400,
                "FILE_SIZE_EXCEEDED",
            )
            assert body["details"] == {"limit": 1000}
            assert (await http.post(f"{API}/{path}", files={"file": ("a", b"x" * 1000)})).status_code == 200
        many = [("file", ("a", b"x" * 1000)), ("file", ("b", b"x" * 1001))]
        _error(await http.post(f"{API}/files", files=many), 400, "FILE_SIZE_EXCEEDED")
    assert emulator.uploads.stored_bytes == 3000


async def test_what_the_org_keeps_is_bounded_and_deleting_frees_room(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, file_limits=FileLimits(max_file_bytes=100, max_stored_bytes=250))
    record_id = _contact(emulator)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        first = await _attach(http, f"Contacts/{record_id}", "a", b"x" * 100)
        await http.post(f"{API}/Contacts/{record_id}/photo", files={"file": ("p", b"x" * 100)})
        body = _error(
            await http.post(f"{API}/files", files=[("file", ("a", b"x" * 30)), ("file", ("b", b"x" * 30))]),
            400,
            "LIMIT_EXCEEDED",
        )
        assert body["details"] == {"limit": 250}
        assert emulator.uploads.files == {}  # all of the call's files, or none
        _error(
            await http.post(f"{API}/Contacts/{record_id}/Attachments", files={"file": ("b", b"x" * 51)}),
            400,
            "LIMIT_EXCEEDED",
        )
        # a photo replacing one counts only what it adds
        assert (
            await http.post(f"{API}/Contacts/{record_id}/photo", files={"file": ("p", b"y" * 100)})
        ).status_code == 200
        await http.delete(f"{API}/Contacts/{record_id}/Attachments/{first}")
        assert emulator.uploads.stored_bytes == 100
        assert (await http.post(f"{API}/files", files={"file": ("c", b"x" * 100)})).status_code == 200
        # a link takes no room
        link = {"attachmentUrl": (None, "https://a.example")}
        assert (await http.post(f"{API}/Contacts/{record_id}/Attachments", files=link)).status_code == 200


async def test_a_deleted_record_takes_its_attachments_and_photo_with_it(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    record_id, other = _contact(emulator), _contact(emulator, "Ito")
    await _attach(http, f"Contacts/{record_id}", "a", b"x" * 10)
    await _attach(http, f"Contacts/{other}", "b", b"x" * 7)
    await http.post(f"{API}/Contacts/{record_id}/photo", files={"file": ("p", b"x" * 5)})
    assert emulator.uploads.stored_bytes == 22
    answer = await http.delete(f"{API}/Contacts", params={"ids": f"{record_id},5545000000009999999"})
    assert answer.status_code == 207
    assert emulator.uploads.stored_bytes == 7
    assert emulator.uploads.attachments_of("Contacts", record_id) == {}
    assert (await http.get(f"{API}/Contacts/{other}/Attachments")).status_code == 200


async def test_a_company_deleted_takes_its_contacts_files_with_them(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    """Deleting a company deletes its contacts (a cascade no write call names): their files go too."""
    account = emulator.insert_records("Accounts", [{"Account_Name": "Acme"}])[0]["details"]["id"]
    contact = emulator.insert_records("Contacts", [{"Last_Name": "Ng", "Account_Name": {"id": account}}])
    contact_id = contact[0]["details"]["id"]
    await _attach(http, f"Accounts/{account}", "a", b"x" * 3)
    await _attach(http, f"Contacts/{contact_id}", "c", b"x" * 10)
    await http.post(f"{API}/Contacts/{contact_id}/photo", files={"file": ("p", b"x" * 5)})
    assert (await http.delete(f"{API}/Accounts", params={"ids": account})).status_code == 200
    assert emulator.store.table("Contacts").get(contact_id) is None
    assert emulator.uploads.stored_bytes == 0
    assert emulator.uploads.attachments_of("Contacts", contact_id) == {}


async def test_an_org_loaded_from_a_saved_state_has_no_files(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    record_id = _contact(emulator)
    await _attach(http, f"Contacts/{record_id}", "a", b"x" * 10)
    await http.post(f"{API}/Contacts/{record_id}/photo", files={"file": ("p", b"x")})
    await _file_ids(http, "f")
    emulator.import_state(emulator.export_state())
    assert emulator.uploads.stored_bytes == 0 and emulator.uploads.files == {}
    assert (await http.get(f"{API}/Contacts/{record_id}/Attachments")).status_code == 204
    assert (await http.get(f"{API}/Contacts/{record_id}/photo")).status_code == 204


# -- the file-upload field ----------------------------------------------------------------------------


async def _file_ids(http: httpx.AsyncClient, *names: str) -> list[str]:
    answer = await http.post(f"{API}/files", files=[("file", (name, name.encode())) for name in names])
    return [entry["details"]["id"] for entry in answer.json()["data"]]


async def test_a_file_upload_field_takes_files_api_ids_and_reads_back_their_entries(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    first, second = await _file_ids(http, "contract.pdf", "annex.pdf")
    created = await http.post(
        f"{API}/Contacts", json={"data": [{"Last_Name": "Ng", "Contract_File": [{"file_id": first}]}]}
    )
    assert created.status_code == 201, created.text
    record_id = created.json()["data"][0]["details"]["id"]

    async def held() -> list[dict[str, Any]]:
        record = (await http.get(f"{API}/Contacts/{record_id}")).json()["data"][0]
        value: list[dict[str, Any]] = record["Contract_File"]
        return value

    (entry,) = await held()
    assert (
        entry["file_Name"] == "contract.pdf" and entry["file_Size"] == "12" and entry["File_Id__s"] == first
    )
    assert entry["attachment_Id"] and entry["id"]
    update = {"data": [{"id": record_id, "Contract_File": [{"file_id": second}, {"file_id": first}]}]}
    assert (await http.put(f"{API}/Contacts", json=update)).status_code == 200
    assert [e["File_Id__s"] for e in await held()] == [first, second]  # added, the same file not twice
    remove = {
        "data": [
            {"id": record_id, "Contract_File": [{"attachment_id": entry["attachment_Id"], "_delete": None}]}
        ]
    }
    assert (await http.put(f"{API}/Contacts", json=remove)).status_code == 200
    assert [e["File_Id__s"] for e in await held()] == [second]
    cleared = {"data": [{"id": record_id, "Contract_File": None}]}
    assert (await http.put(f"{API}/Contacts", json=cleared)).status_code == 200
    assert (await http.get(f"{API}/Contacts/{record_id}")).json()["data"][0]["Contract_File"] is None
    listed = await http.get(f"{API}/Contacts", params={"fields": "Contract_File"})
    assert listed.json()["data"][0]["Contract_File"] is None


@pytest.mark.parametrize(
    ("value", "details"),
    [
        ([{"file_id": "not-a-file"}], {"api_name": "Contract_File", "id": "not-a-file"}),
        ([{"file": "x"}], {"api_name": "Contract_File", "id": None}),
        ({"file_id": "x"}, {"api_name": "Contract_File", "expected_data_type": "jsonarray"}),
        (["x"], {"api_name": "Contract_File", "expected_data_type": "jsonobject"}),
        ([{"attachment_id": "1", "_delete": None}], {"api_name": "Contract_File", "id": "1"}),
    ],
)
async def test_a_file_upload_field_refuses_what_is_not_a_files_api_file(
    http: httpx.AsyncClient, value: Any, details: dict[str, Any]
) -> None:
    answer = await http.post(f"{API}/Contacts", json={"data": [{"Last_Name": "Ng", "Contract_File": value}]})
    assert answer.status_code == 400
    (entry,) = answer.json()["data"]
    assert entry["code"] == "INVALID_DATA" and entry["details"] == details


async def test_the_file_upload_field_is_in_the_fields_metadata(http: httpx.AsyncClient) -> None:
    fields = (await http.get(f"{API}/settings/fields", params={"module": "Contacts"})).json()["fields"]
    (field,) = [f for f in fields if f["api_name"] == "Contract_File"]
    assert field["data_type"] == "fileupload" and field["json_type"] == "jsonarray"


# -- faults, credits, routing -------------------------------------------------------------------------


async def test_a_dropped_upload_answer_leaves_the_upload_kept_but_unanswered(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, file_faults=FileFaults(drop_upload_answers=3))
    record_id = _contact(emulator)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        for path in (f"Contacts/{record_id}/Attachments", f"Contacts/{record_id}/photo", "files"):
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(f"{API}/{path}", files={"file": ("a.txt", b"kept")})
        assert len(emulator.uploads.attachments_of("Contacts", record_id)) == 1
        assert (await http.get(f"{API}/Contacts/{record_id}/photo")).content == b"kept"
        assert len(emulator.uploads.files) == 1
        assert (await http.post(f"{API}/files", files={"file": ("b.txt", b"b")})).status_code == 200
        emulator.file_faults.drop_upload_answers += 1
        with pytest.raises(httpx.RemoteProtocolError):  # a link's answer is lost the same way
            await http.post(
                f"{API}/Contacts/{record_id}/Attachments", files={"attachmentUrl": (None, "https://a.b")}
            )
    assert len(emulator.uploads.attachments_of("Contacts", record_id)) == 2
    assert emulator.counters.faults_injected == {"drop_file_upload_answers": 4}
    assert emulator.file_faults.drop_upload_answers == 0
    with pytest.raises(ValueError, match="FileFaults.drop_upload_answers"):
        FileFaults(drop_upload_answers=-1)


async def test_every_file_call_costs_one_credit(emulator: BiginEmulator, http: httpx.AsyncClient) -> None:
    record_id = _contact(emulator)
    attachment_id = await _attach(http, f"Contacts/{record_id}", "a", b"x" * 5000)
    await http.get(f"{API}/Contacts/{record_id}/Attachments")
    await http.get(f"{API}/Contacts/{record_id}/Attachments/{attachment_id}")
    await http.delete(f"{API}/Contacts/{record_id}/Attachments/{attachment_id}")
    await http.post(f"{API}/Contacts/{record_id}/photo", files={"file": ("p", b"x")})
    await http.get(f"{API}/Contacts/{record_id}/photo")
    await http.delete(f"{API}/Contacts/{record_id}/photo")
    await http.post(f"{API}/files", files=[("file", (f"{n}", b"x")) for n in range(10)])
    await http.get(f"{API}/files", params={"id": "x"})
    assert emulator.counters.credits == 9


async def test_file_limits_are_checked_and_default_to_zohos(emulator: BiginEmulator) -> None:
    limits = emulator.ctx.config.files
    assert (limits.max_file_bytes, limits.max_stored_bytes, limits.max_files_per_upload) == (
        20 * 1024 * 1024,
        256 * 1024 * 1024,
        10,
    )
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="FileLimits.max_file_bytes"):
            FileLimits(max_file_bytes=bad)  # type: ignore[arg-type]


async def test_the_related_list_routes_still_answer_other_related_lists(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    """``Attachments`` and ``photo`` are taken first; ``/{id}/{Related}`` stays the related lists'."""
    account = emulator.insert_records("Accounts", [{"Account_Name": "Acme"}])[0]["details"]["id"]
    emulator.insert_records("Contacts", [{"Last_Name": "Ng", "Account_Name": {"id": account}}])
    answer = await http.get(f"{API}/Accounts/{account}/Contacts", params={"fields": "Last_Name"})
    assert answer.status_code == 200 and answer.json()["data"][0]["Last_Name"] == "Ng"
    assert (await http.put(f"{API}/Accounts/{account}/Attachments", json={"data": [{}]})).status_code == 400


# -- bodies as they arrive ----------------------------------------------------------------------------


class HandDrivenUpload:
    """Drives ``emulator.app`` by hand: a POST whose body arrives in ``chunks`` (endlessly, if so)."""

    def __init__(
        self,
        emulator: BiginEmulator,
        path: str,
        headers: list[tuple[bytes, bytes]],
        content_type: bytes | None = b"multipart/form-data; boundary=b",
    ) -> None:
        self.emulator = emulator
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"authorization", f"Zoho-oauthtoken {emulator.issue_token()}".encode()),
                *([(b"content-type", content_type)] if content_type is not None else []),
                *headers,
            ],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        self.reads = 0
        self.sent: list[dict[str, Any]] = []

    async def run(self, chunk: bytes, *, leave_after: int | None = None) -> dict[str, Any]:
        """Send the part's head, then ``chunk`` again and again (until ``leave_after`` reads, if so)."""
        head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big"\r\n\r\n'

        async def receive() -> dict[str, Any]:
            self.reads += 1
            if leave_after is not None and self.reads > leave_after:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": head if self.reads == 1 else chunk, "more_body": True}

        async def send(message: Any) -> None:
            self.sent.append(message)

        await self.emulator.app(self.scope, receive, send)
        assert self.sent[0]["status"] == 400
        body: dict[str, Any] = json.loads(self.sent[1]["body"])
        return body


async def test_an_endless_upload_is_cut_once_past_the_limit_and_nothing_is_kept(clock: FakeClock) -> None:
    """No Content-Length, or one that lies (10 bytes): the route stops reading once past the limit."""
    emulator = BiginEmulator(clock=clock, file_limits=FileLimits(max_file_bytes=10 * 1024))
    record_id = _contact(emulator)
    for path in (
        f"{API}/Contacts/{record_id}/Attachments",
        f"{API}/Contacts/{record_id}/photo",
        f"{API}/files",
    ):
        for headers in ([], [(b"content-length", b"10")]):
            upload = HandDrivenUpload(emulator, path, headers)
            body = await upload.run(b"x" * 1024)
            assert body["code"] == "FILE_SIZE_EXCEEDED" and body["details"] == {"limit": 10 * 1024}
            assert upload.reads == 1 + 11  # the part's head, then 11 KiB: one past the limit
    assert emulator.uploads.stored_bytes == 0


async def test_text_parts_cannot_swell_an_attachment_body_past_one_file(clock: FakeClock) -> None:
    """Many small parts, each under the file limit: the body as a whole is still bounded."""
    emulator = BiginEmulator(clock=clock, file_limits=FileLimits(max_file_bytes=64 * 1024))
    record_id = _contact(emulator)
    parts = [("title", (None, "t" * 60_000))] * 4
    async with emulator.http_client(token=emulator.issue_token()) as http:
        answer = await http.post(f"{API}/Contacts/{record_id}/Attachments", files=parts)
    assert _error(answer, 400, "FILE_SIZE_EXCEEDED")["details"] == {"limit": 64 * 1024}


@pytest.mark.parametrize("content_type", [None, b"application/json", b"application/octet-stream"])
async def test_an_endless_body_that_is_not_a_form_is_cut_too_never_held_whole(
    clock: FakeClock, content_type: bytes | None
) -> None:
    """The server's outer layer decodes JSON writes to count their records; a file route's body it
    leaves alone, so the route's limit holds whatever the content type claims."""
    emulator = BiginEmulator(clock=clock, file_limits=FileLimits(max_file_bytes=10 * 1024))
    record_id = _contact(emulator)
    for path in (
        f"{API}/files",
        f"{API}/Contacts/{record_id}/Attachments",
        f"{API}/Contacts/{record_id}/photo",
    ):
        upload = HandDrivenUpload(emulator, path, [], content_type)
        assert (await upload.run(b"x" * 1024 * 1024, leave_after=60))["code"] == "FILE_SIZE_EXCEEDED"
        assert upload.reads == 2, path  # a MiB at a time: cut at the first past the body's limit


async def test_a_torn_upload_keeps_nothing_even_a_part_it_closed(emulator: BiginEmulator) -> None:
    record_id = _contact(emulator)
    for path in (
        f"{API}/Contacts/{record_id}/Attachments",
        f"{API}/Contacts/{record_id}/photo",
        f"{API}/files",
    ):
        upload = HandDrivenUpload(emulator, path, [])
        body = await upload.run(b"content\r\n--b\r\n", leave_after=2)
        assert body["code"] == "REQUIRED_PARAM_MISSING"
    assert emulator.uploads.stored_bytes == 0 and emulator.uploads.attachments == {}


async def test_a_declared_body_past_the_limit_is_refused_unread(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, file_limits=FileLimits(max_file_bytes=1024))
    record_id = _contact(emulator)
    upload = HandDrivenUpload(
        emulator, f"{API}/Contacts/{record_id}/Attachments", [(b"content-length", b"10000000")]
    )
    assert (await upload.run(b""))["code"] == "FILE_SIZE_EXCEEDED"
    assert upload.reads == 0


async def test_a_part_whose_headers_never_end_is_invalid_data(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="file"' + b"x" * 20_000
    answer = await http.post(
        f"{API}/files", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert _error(answer, 400, "INVALID_DATA")["details"] == {"param": "body"}


async def test_served_over_sockets_a_large_file_goes_up_chunked_and_comes_down_in_pieces(
    anyio_backend: str,
) -> None:
    if anyio_backend != "asyncio":
        pytest.skip("uvicorn runs on asyncio only; trio users use the in-process transport")
    size = 6 * 1024 * 1024 + 7
    emulator = BiginEmulator(file_limits=FileLimits(max_file_bytes=size))
    record_id = _contact(emulator)
    content = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    boundary = b"sockets"

    async def body() -> AsyncIterator[bytes]:  # no Content-Length: the body arrives chunked
        yield b'--sockets\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
        for start in range(0, size, 100_000):
            yield content[start : start + 100_000]
        yield b"\r\n--" + boundary + b"--\r\n"

    headers = {"Authorization": f"Zoho-oauthtoken {emulator.issue_token()}"}
    async with emulator.serve() as url, httpx.AsyncClient(base_url=url, headers=headers) as http:
        answer = await http.post(
            f"{API}/Contacts/{record_id}/Attachments",
            content=body(),
            headers={"content-type": "multipart/form-data; boundary=sockets"},
        )
        assert answer.status_code == 200, answer.text
        attachment_id = answer.json()["data"][0]["details"]["id"]
        pieces = []
        async with http.stream("GET", f"{API}/Contacts/{record_id}/Attachments/{attachment_id}") as download:
            assert download.headers["content-length"] == str(size)
            async for piece in download.aiter_raw():
                pieces.append(piece)
    assert len(pieces) > 1 and b"".join(pieces) == content


def test_a_stored_body_hands_out_pieces_and_a_store_alone_has_no_faults() -> None:
    from bigin_emulator.state.files import StoredBody, UploadStore

    body = StoredBody("a", "text/plain", bytearray(b"abcdefg"))
    assert list(body.chunks(3)) == [b"abc", b"def", b"g"] and body.data == b"abcdefg"
    store = UploadStore(FileLimits(), iter(str(n) for n in range(100)).__next__, lambda: "now")
    assert store.faults is None
    assert store.remove_photo("Contacts", "1") is False
    assert store.detach("Contacts", "1", "2") is None
