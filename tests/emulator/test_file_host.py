"""The emulator's file host: Bulk Write uploads only, with Zoho's checks and limits, hostile zips refused."""

from __future__ import annotations

import io
import os
import socket
import struct
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bigin_emulator import BiginEmulator, JobFaults
from bigin_emulator.ops import bulk_csv
from bigin_emulator.ops.bulk_csv import MAX_COLUMNS, MAX_CSV_BYTES, MAX_RECORDS, MAX_ZIP_BYTES
from bigin_emulator.server.file_host import file_part
from tests.helpers.bulk_uploads import UPLOAD_URL, ZGID, authorised, csv_text, csv_zip, upload

ROWS = [["Last_Name", "Email"], ["Ng", "ng@example.com"], ["Ito", "ito@example.com"]]


@pytest.fixture
async def http(emulator: BiginEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with authorised(emulator) as client:
        yield client


def _refusal(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == "error" and body["code"] == code, body
    return body


# -- an upload ------------------------------------------------------------------------------------


async def test_an_upload_is_stored_under_a_file_id_and_answered_as_zoho_does(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    answer = await upload(http, csv_zip(ROWS))
    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["code"], body["message"]) == (
        "success",
        "FILE_UPLOAD_SUCCESS",
        "file uploaded.",
    )
    file_id = body["details"]["file_id"]
    assert file_id.isdigit() and body["details"]["created_time"] == "2026-01-01T00:00:00+00:00"
    stored = emulator.files.unused(file_id)
    assert stored is not None and (stored.name, stored.header, stored.records) == (
        "part.csv",
        ("Last_Name", "Email"),
        2,
    )
    assert emulator.counters.file_host_by_route == {"POST /bigin/v2/upload": 1}
    assert not any("upload" in route for route in emulator.counters.requests_by_route)
    assert emulator.counters.credits == 1


async def test_a_byte_order_mark_and_crlf_lines_are_fine(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    raw = b"\xef\xbb\xbfLast_Name,Email\r\nNg,ng@example.com\r\n\r\n"
    answer = await upload(http, csv_zip(raw=raw))
    stored = emulator.files.unused(answer.json()["details"]["file_id"])
    assert stored is not None and stored.header == ("Last_Name", "Email") and stored.records == 1


async def test_the_file_host_answers_nothing_but_uploads(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    for method, url in [
        ("GET", UPLOAD_URL),
        ("PUT", UPLOAD_URL),
        ("GET", "http://127.0.0.2/bigin/v2/org"),
        ("POST", "http://127.0.0.2/bigin/v2/Contacts"),
        ("GET", "http://127.0.0.2/"),
    ]:
        _refusal(await http.request(method, url), 404, "INVALID_URL_PATTERN")
    assert emulator.counters.file_host_by_route == {
        "GET /bigin/v2/upload": 1,
        "PUT /bigin/v2/upload": 1,
        "GET /bigin/v2/org": 1,
        "POST /bigin/v2/Contacts": 1,
        "GET /": 1,
    }
    # ... and the API host takes no uploads ("upload" is no module of the API).
    on_api = await upload(http, csv_zip(ROWS), url="http://127.0.0.1/bigin/v2/upload")
    _refusal(on_api, 400, "INVALID_MODULE")
    assert not emulator.files.files


async def test_the_token_is_checked(emulator: BiginEmulator) -> None:
    async with emulator.http_client() as anonymous:
        _refusal(await upload(anonymous, csv_zip(ROWS)), 401, "AUTHENTICATION_FAILURE")
    async with emulator.http_client(token="not-a-token") as stranger:
        _refusal(await upload(stranger, csv_zip(ROWS)), 401, "INVALID_TOKEN")
    assert not emulator.files.files


@pytest.mark.parametrize(
    ("headers", "code", "header"),
    [
        ({"feature": None}, "REQUIRED_PARAM_MISSING", "feature"),
        ({"feature": "bulk-read"}, "INVALID_DATA", "feature"),
        ({"X-CRM-ORG": None}, "REQUIRED_PARAM_MISSING", "X-CRM-ORG"),
        ({"X-CRM-ORG": "123"}, "INVALID_DATA", "X-CRM-ORG"),
    ],
)
async def test_the_feature_and_org_headers_are_required(
    http: httpx.AsyncClient, headers: dict[str, str | None], code: str, header: str
) -> None:
    body = _refusal(await upload(http, csv_zip(ROWS), headers=headers), 400, code)
    assert body["details"] == {"header": header}


async def test_the_org_header_is_the_zgid_get_org_gives(http: httpx.AsyncClient) -> None:
    assert (await http.get("/bigin/v2/org")).json()["org"][0]["zgid"] == ZGID


async def test_the_zip_must_come_as_the_file_field(http: httpx.AsyncClient) -> None:
    headers = {"feature": "bulk-write", "X-CRM-ORG": ZGID}
    other_field = await http.post(UPLOAD_URL, headers=headers, files={"upload": ("a.zip", csv_zip(ROWS))})
    _refusal(other_field, 400, "REQUIRED_PARAM_MISSING")
    _refusal(
        await http.post(UPLOAD_URL, headers=headers, content=csv_zip(ROWS)), 400, "REQUIRED_PARAM_MISSING"
    )


# -- hostile files ----------------------------------------------------------------------------------


def _big_header(columns: int) -> list[str]:
    return [f"Field_{i}" for i in range(columns)]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"not a zip at all", "INVALID_FILE"),
        (csv_zip(ROWS, extra={"second.csv": b"Last_Name\nNg\n"}), "INVALID_FILE"),
        (csv_zip(raw="Last_Name\nMüller\n".encode("latin-1")), "INVALID_FILE"),
        (csv_zip(ROWS, name="../../etc/evil.csv"), "INVALID_FILE"),
        (csv_zip(ROWS, name="/abs.csv"), "INVALID_FILE"),
        (csv_zip(ROWS, name="folder\\inner.csv"), "INVALID_FILE"),
        (csv_zip(ROWS, name="part.txt"), "INVALID_FILE"),
        (csv_zip(ROWS, name=".hidden.csv"), "INVALID_FILE"),
        (csv_zip(raw=b""), "INVALID_FILE"),
        (csv_zip([["Last_Name", "Email"]]), "INVALID_FILE"),
        (csv_zip([["Last_Name", ""], ["Ng", "x"]]), "INVALID_FILE"),
        (csv_zip([["Last_Name", "Last_Name"], ["Ng", "x"]]), "INVALID_FILE"),
        (csv_zip([["Last_Name"], ["Ng", "extra"]]), "INVALID_FILE"),
        (csv_zip(raw=b'Last_Name\n"unterminated\n'), "INVALID_FILE"),
        (csv_zip([_big_header(MAX_COLUMNS + 1), ["x"] * (MAX_COLUMNS + 1)]), "LIMIT_EXCEEDED"),
    ],
    ids=[
        "not-a-zip",
        "two-csvs",
        "not-utf8",
        "path-traversal",
        "absolute-path",
        "backslash-path",
        "not-csv",
        "hidden",
        "empty",
        "header-only",
        "blank-column-name",
        "duplicate-column",
        "row-wider-than-header",
        "broken-quoting",
        "201-columns",
    ],
)
async def test_hostile_files_are_refused_and_nothing_is_stored(
    emulator: BiginEmulator, http: httpx.AsyncClient, data: bytes, code: str
) -> None:
    _refusal(await upload(http, data), 400, code)
    assert not emulator.files.files


async def test_200_columns_and_25000_records_are_taken_one_more_is_refused(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    wide = csv_zip([_big_header(MAX_COLUMNS), ["x"] * MAX_COLUMNS])
    assert (await upload(http, wide)).status_code == 200
    rows = [["Last_Name"], *([f"N{i}"] for i in range(MAX_RECORDS))]
    assert (await upload(http, csv_zip(rows))).status_code == 200
    body = _refusal(await upload(http, csv_zip([*rows, ["one more"]])), 400, "LIMIT_EXCEEDED")
    assert body["details"] == {"limit": MAX_RECORDS}
    assert len(emulator.files.files) == 2


async def test_a_zip_over_25_mb_is_refused(emulator: BiginEmulator, http: httpx.AsyncClient) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("part.csv", b"Last_Name\n" + os.urandom(MAX_ZIP_BYTES))
    body = _refusal(await upload(http, buffer.getvalue()), 400, "FILE_SIZE_EXCEEDED")
    assert body["details"] == {"limit": MAX_ZIP_BYTES}
    assert not emulator.files.files


def _declaring(data: bytes, size: int) -> bytes:
    """The one-member zip ``data`` with its inflated size stated as ``size`` in both headers."""
    patched = bytearray(data)
    local = patched.index(b"PK\x03\x04")
    central = patched.index(b"PK\x01\x02")
    struct.pack_into("<I", patched, local + 22, size)
    struct.pack_into("<I", patched, central + 24, size)
    return bytes(patched)


async def test_a_zip_bomb_is_refused_without_being_inflated(
    emulator: BiginEmulator, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = _declaring(csv_zip(raw=b"Last_Name\n" + b"a" * 10_000), 3_000_000_000)
    assert len(bomb) < 1000

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the bomb was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    body = _refusal(await upload(http, bomb), 400, "FILE_SIZE_EXCEEDED")
    assert body["details"] == {"limit": MAX_CSV_BYTES}
    assert not emulator.files.files


async def test_a_zip_lying_about_its_size_is_read_no_further_than_it_says(http: httpx.AsyncClient) -> None:
    liar = _declaring(csv_zip(raw=b"Last_Name\n" + b"a\n" * 5_000_000), 20)
    assert len(liar) < 50_000
    _refusal(await upload(http, liar), 400, "INVALID_FILE")


async def test_a_row_past_the_row_length_limit_is_refused(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_csv, "MAX_ROW_CHARS", 64)
    _refusal(await upload(http, csv_zip(raw=b"Last_Name\n" + b"a" * 200 + b"\n")), 400, "INVALID_FILE")


def _upload_scope(token: str, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    """An upload's ASGI scope with the right token and headers, and ``headers`` besides."""
    return {
        "type": "http",
        "method": "POST",
        "path": "/bigin/v2/upload",
        "query_string": b"",
        "headers": [
            (b"authorization", f"Zoho-oauthtoken {token}".encode()),
            (b"feature", b"bulk-write"),
            (b"x-crm-org", ZGID.encode()),
            *headers,
        ],
    }


async def test_a_body_arriving_past_the_limit_is_cut_off_while_it_arrives(emulator: BiginEmulator) -> None:
    """No Content-Length to go by: the host stops reading once the body passes the limit."""
    token = emulator.issue_token()
    sent: list[dict[str, Any]] = []
    chunks_read = 0
    chunk = b"x" * (1024 * 1024)

    async def receive() -> dict[str, Any]:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = _upload_scope(token, (b"content-type", b"multipart/form-data; boundary=b"))
    await emulator.content_app(scope, receive, send)
    assert sent[0]["status"] == 400 and b"FILE_SIZE_EXCEEDED" in sent[1]["body"]
    assert chunks_read == MAX_ZIP_BYTES // len(chunk) + 1


def test_multipart_parts_are_found_by_name_only() -> None:
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="other"\r\n\r\nnope\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.zip"\r\n'
        b"Content-Type: application/zip\r\n\r\nZIP\r\nBYTES\r\n--xyz--\r\n"
    )
    assert file_part(body, 'multipart/form-data; boundary="xyz"') == b"ZIP\r\nBYTES"
    assert file_part(body, "multipart/form-data; boundary=xyz", "missing") is None
    assert file_part(body, "application/json") is None
    assert file_part(body, "multipart/form-data") is None
    assert file_part(b"no delimiter at all", "multipart/form-data; boundary=xyz") is None
    assert file_part(b"--xyz\r\nbroken", "multipart/form-data; boundary=xyz") is None
    assert file_part(b"--xyz\r\nA: b\r\n\r\nno end", "multipart/form-data; boundary=xyz") is None


# -- faults, sockets, the SDK's settings -------------------------------------------------------------


async def test_a_dropped_upload_answer_leaves_the_file_stored_but_its_id_unknown(clock: Any) -> None:
    emulator = BiginEmulator(clock=clock, job_faults=JobFaults(drop_upload_answers=1))
    async with authorised(emulator) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await upload(http, csv_zip(ROWS))
        assert (await upload(http, csv_zip(ROWS))).status_code == 200
    assert len(emulator.files.files) == 2 and emulator.job_faults.drop_upload_answers == 0
    assert emulator.counters.faults_injected == {"drop_upload_answers": 1}


async def test_served_over_sockets_the_file_host_has_its_own_port(anyio_backend: str) -> None:
    if anyio_backend != "asyncio":
        pytest.skip("uvicorn runs on asyncio only; trio users use the in-process transport")
    emulator = BiginEmulator()
    assert emulator.content_url is None
    headers = {"Authorization": f"Zoho-oauthtoken {emulator.issue_token()}"}
    with socket.socket() as probe:  # a port free a moment ago, for the file host
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    async with emulator.serve(content_port=free_port) as url, httpx.AsyncClient(headers=headers) as http:
        content = emulator.content_url
        assert content == f"http://127.0.0.1:{free_port}" and content != url
        answer = await upload(http, csv_zip(ROWS), url=f"{content}/bigin/v2/upload")
        assert answer.status_code == 200, answer.text
        assert (await http.get(f"{content}/bigin/v2/org")).status_code == 404
        assert (await http.get(f"{url}/bigin/v2/org")).status_code == 200
    assert emulator.content_url is None
    assert emulator.counters.file_host_by_route == {"POST /bigin/v2/upload": 1, "GET /bigin/v2/org": 1}


def test_the_sdk_client_is_pointed_at_the_in_process_file_host(emulator: BiginEmulator) -> None:
    assert emulator.client().config.content_domain == "http://127.0.0.2"


def test_csv_text_round_trips() -> None:
    assert csv_text([["a", "b,c"]]) == 'a,"b,c"\n'


async def test_a_declared_body_past_the_limit_is_refused_unread(emulator: BiginEmulator) -> None:
    token = emulator.issue_token()
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: Any) -> None:
        sent.append(message)

    scope = _upload_scope(token, (b"content-length", str(MAX_ZIP_BYTES + 1024 * 1024).encode()))
    await emulator.content_app(scope, receive, send)
    assert sent[0]["status"] == 400 and b"FILE_SIZE_EXCEEDED" in sent[1]["body"]


async def test_the_file_host_answers_a_server_starting_and_stopping(emulator: BiginEmulator) -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    await emulator.content_app({"type": "lifespan"}, receive, send)
    await emulator.file_host({"type": "websocket"}, receive, send)  # nothing else is served
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def _with_flags(data: bytes, flags: int) -> bytes:
    patched = bytearray(data)
    struct.pack_into("<H", patched, patched.index(b"PK\x01\x02") + 8, flags)
    return bytes(patched)


async def test_encrypted_or_oddly_compressed_zips_are_refused(http: httpx.AsyncClient) -> None:
    _refusal(await upload(http, _with_flags(csv_zip(ROWS), 0x1)), 400, "INVALID_FILE")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("part.csv", csv_text(ROWS))
    _refusal(await upload(http, buffer.getvalue()), 400, "INVALID_FILE")


def test_a_part_without_a_disposition_has_no_name() -> None:
    body = b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"
    assert file_part(body, "multipart/form-data; boundary=b") is None


async def test_an_upload_without_a_read_timeout_and_a_client_leaving_early(emulator: BiginEmulator) -> None:
    async with emulator.http_client(token=emulator.issue_token(), timeout=None) as http:
        assert (await upload(http, csv_zip(ROWS))).status_code == 200
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"--b\r\n", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = _upload_scope(emulator.issue_token(), (b"content-type", b"multipart/form-data; boundary=b"))
    await emulator.content_app(scope, receive, send)
    assert sent[0]["status"] == 400 and b"REQUIRED_PARAM_MISSING" in sent[1]["body"]


async def test_a_middleware_without_a_file_host_refuses_to_serve_one() -> None:
    from bigin_emulator.server.middleware import EmulatorMiddleware

    async def app(*args: Any) -> Any:
        raise AssertionError("not reached")

    bare = EmulatorMiddleware(app)
    with pytest.raises(RuntimeError, match="content_app"):
        await bare.serve_content({"type": "http"}, app, app)
