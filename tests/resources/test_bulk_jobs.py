"""``bigin.bulk_jobs`` against respx-mocked Zoho hosts: what goes over the wire, and what never does.

Uploads carry ``feature: bulk-write`` and the org's zgid (read once, even for concurrent uploads);
job creation spends 500 / 50 credits and a write job is never created twice; what can be refused
before sending is refused with nothing sent; polling, downloads and callbacks are typed.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx

from bigin_async import (
    AmbiguousWriteError,
    APIError,
    BiginClient,
    BulkJobError,
    BulkJobFailedError,
    BulkReadJob,
    BulkWriteJob,
    ConfigurationError,
    Field,
    FieldMapping,
    InvalidCriteriaError,
    InvalidNotificationError,
    NotFoundError,
    ValidationError,
)
from bigin_async._coordination import LocalLimits
from bigin_async._limits import RateLimiter
from bigin_async.models.jobs import MAX_UPLOAD_BYTES
from bigin_async.resources.bulk_jobs import (
    DOWNLOAD_TIMEOUT,
    MAX_POLL_GROWTH,
    BulkJobsClient,
    check_upload_zip,
    next_poll_interval,
)
from tests.helpers.clock import SleepingClock as FakeClock  # time moves only when someone sleeps

API = "https://www.zohoapis.com"
BULK = f"{API}/bigin/bulk/v2"
CONTENT = "https://content.zohoapis.com/bigin/v2"
ZGID = "900000001"
ORG = {"org": [{"id": "1", "zgid": ZGID, "company_name": "Acme"}]}
UPLOADED = {
    "status": "success",
    "code": "FILE_UPLOAD_SUCCESS",
    "message": "file uploaded.",
    "details": {"file_id": "111000000000123", "created_time": "2026-12-01T10:00:00+00:00"},
}
WRITE_CREATED = {
    "status": "success",
    "code": "ADDED_SUCCESSFULLY",
    "message": "Added successfully.",
    "details": {"id": "5600000000001", "created_by": {"id": "9", "name": "Admin"}},
}
READ_CREATED = {
    "data": [
        {
            "status": "success",
            "code": "ADDED_SUCCESSFULLY",
            "message": "Added successfully.",
            "details": {
                "id": "7700000000002",
                "operation": "read",
                "state": "ADDED",
                "created_by": {"id": "9", "name": "Admin"},
                "created_time": "2026-12-01T10:00:00+00:00",
            },
        }
    ],
    "info": {},
}


def client(**settings: Any) -> BiginClient:
    settings.setdefault("retry_backoff_seconds", 0.0)
    return BiginClient(access_token="1000.access-SECRET", **settings)


def write_status(state: str, job_id: str = "5600000000001", **more: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": job_id, "operation": "insert", "status": state, **more}
    if state == "COMPLETED":
        entry["result"] = {"download_url": f"/bigin/bulk/v2/write/{job_id}/result"}
    return {"data": [entry]}


def read_status(state: str, job_id: str = "7700000000002") -> dict[str, Any]:
    entry: dict[str, Any] = {"id": job_id, "operation": "read", "state": state}
    if state == "COMPLETED":
        entry["result"] = {
            "page": 1,
            "count": 3,
            "download_url": f"/bigin/bulk/v2/read/{job_id}/result",
            "per_page": 200000,
            "more_records": False,
        }
    return {"data": [entry]}


def make_zip(path: Path, members: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        default = {"part.csv": "Last_Name,Email\nSmith,s@x.io\n"}
        for name, text in (default if members is None else members).items():
            archive.writestr(name, text)
    return path


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mocked:
        yield mocked


def spy_credits(bigin: BiginClient, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keywords of each ``send_parsed`` call through the client's transport."""
    seen: list[dict[str, Any]] = []
    transport = bigin.transport
    original = transport.send_parsed

    async def spy(method: str, path: str, parse: Any, **kwargs: Any) -> Any:
        seen.append({"method": method, "path": path, **kwargs})
        return await original(method, path, parse, **kwargs)

    monkeypatch.setattr(transport, "send_parsed", spy)
    return seen


# -- the client attribute --------------------------------------------------------------------------


async def test_bulk_jobs_is_one_client_on_the_client_s_transport() -> None:
    async with client() as bigin:
        jobs = bigin.bulk_jobs
        assert isinstance(jobs, BulkJobsClient) and bigin.bulk_jobs is jobs
        assert jobs._transport is bigin.transport


# -- upload ----------------------------------------------------------------------------------------


async def test_upload_goes_to_the_file_host_with_the_org_s_zgid(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    org = router.get(f"{API}/bigin/v2/org").respond(json=ORG)
    upload = router.post(f"{CONTENT}/upload").respond(json=UPLOADED)
    path = make_zip(tmp_path / "part.zip")
    async with client() as bigin:
        first = await bigin.bulk_jobs.upload(path)
        second = await bigin.bulk_jobs.upload(str(path))
    assert first.file_id == "111000000000123" and second == first
    assert org.call_count == 1, "the zgid is read once and kept"
    assert upload.call_count == 2
    request = upload.calls.last.request
    assert request.headers["feature"] == "bulk-write"
    assert request.headers["X-CRM-ORG"] == ZGID
    assert request.headers["Authorization"] == "Zoho-oauthtoken 1000.access-SECRET"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = request.read()
    assert b'name="file"' in body and path.read_bytes() in body


async def test_concurrent_first_uploads_read_the_org_once(tmp_path: Path) -> None:
    org_reads = 0
    uploads: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal org_reads
        if request.url.path == "/bigin/v2/org":
            org_reads += 1
            for _ in range(20):  # let every other upload reach the zgid meanwhile
                await anyio.lowlevel.checkpoint()
            return httpx.Response(200, json=ORG)
        uploads.append(request)
        return httpx.Response(200, json=UPLOADED)

    path = make_zip(tmp_path / "part.zip")
    async with client(transport=httpx.MockTransport(handler)) as bigin:
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(bigin.bulk_jobs.upload, path)
    assert org_reads == 1
    assert len(uploads) == 5 and {r.headers["X-CRM-ORG"] for r in uploads} == {ZGID}


async def test_a_failed_org_read_is_not_kept(router: respx.MockRouter, tmp_path: Path) -> None:
    org = router.get(f"{API}/bigin/v2/org")
    org.side_effect = [
        httpx.Response(401, json={"code": "INVALID_TOKEN", "message": "x"}),
        httpx.Response(200, json=ORG),
    ]
    router.post(f"{CONTENT}/upload").respond(json=UPLOADED)
    path = make_zip(tmp_path / "part.zip")
    async with client() as bigin:
        with pytest.raises(APIError):
            await bigin.bulk_jobs.upload(path)
        assert (await bigin.bulk_jobs.upload(path)).file_id == "111000000000123"
    assert org.call_count == 2


async def test_an_org_id_given_is_used_without_reading_the_org(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    upload = router.post(f"{CONTENT}/upload").respond(json=UPLOADED)
    async with client() as bigin:
        jobs = BulkJobsClient(bigin.transport, org_id="42")
        await jobs.upload(make_zip(tmp_path / "part.zip"))
    assert upload.calls.last.request.headers["X-CRM-ORG"] == "42"
    with pytest.raises(ValidationError):
        BulkJobsClient(bigin.transport, org_id="42\r\nX-Evil: 1")


async def test_an_org_without_zgid_is_a_clear_error(router: respx.MockRouter, tmp_path: Path) -> None:
    router.get(f"{API}/bigin/v2/org").respond(json={"org": [{"id": "1"}]})
    upload = router.post(f"{CONTENT}/upload").respond(json=UPLOADED)
    async with client() as bigin:
        with pytest.raises(ConfigurationError, match="org_id"):
            await bigin.bulk_jobs.upload(make_zip(tmp_path / "part.zip"))
    assert upload.call_count == 0


def _two_csvs(path: Path) -> Path:
    return make_zip(path, {"a.csv": "Last_Name\nA\n", "b.csv": "Last_Name\nB\n"})


def _not_a_zip(path: Path) -> Path:
    path.write_text("Last_Name\nSmith\n")
    return path


def _a_txt(path: Path) -> Path:
    return make_zip(path, {"part.txt": "Last_Name\nA\n"})


def _empty_zip(path: Path) -> Path:
    return make_zip(path, {})


def _a_directory(path: Path) -> Path:
    path.mkdir()
    return path


def _missing(path: Path) -> Path:
    return path


def _too_large(path: Path) -> Path:
    make_zip(path)
    with path.open("r+b") as file:  # sparse: the size is what counts, checked before anything is read
        file.truncate(MAX_UPLOAD_BYTES + 1)
    return path


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (_two_csvs, "exactly one .csv"),
        (_a_txt, "exactly one .csv"),
        (_empty_zip, "exactly one .csv"),
        (_not_a_zip, "not a zip"),
        (_a_directory, "not a regular file"),
        (_missing, "cannot upload"),
        (_too_large, "25 MB"),
    ],
)
async def test_an_upload_zoho_would_refuse_is_refused_with_nothing_sent(
    router: respx.MockRouter, tmp_path: Path, build: Any, message: str
) -> None:
    path = build(tmp_path / "part.zip")
    async with client() as bigin:
        with pytest.raises(ValidationError, match=message):
            await bigin.bulk_jobs.upload(path)
        assert bigin.transport.calls == 0
    assert len(router.calls) == 0


def test_check_upload_zip_accepts_exactly_one_csv(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "ok.zip", {"Contacts.CSV": "Last_Name\nA\n"})
    assert check_upload_zip(str(path)) == path


async def test_an_upload_refused_by_the_file_host_is_typed(router: respx.MockRouter, tmp_path: Path) -> None:
    router.get(f"{API}/bigin/v2/org").respond(json=ORG)
    router.post(f"{CONTENT}/upload").respond(
        400, json={"status": "error", "code": "INVALID_FILE", "message": "bad"}
    )
    async with client() as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.bulk_jobs.upload(make_zip(tmp_path / "part.zip"))
    assert caught.value.code == "INVALID_FILE" and caught.value.status_code == 400


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "error", "details": {"file_id": "1"}},
        {"status": "success"},
        {"status": "success", "details": {}},
    ],
)
async def test_an_upload_answer_without_a_file_id_is_malformed(
    router: respx.MockRouter, tmp_path: Path, answer: dict[str, Any]
) -> None:
    router.get(f"{API}/bigin/v2/org").respond(json=ORG)
    route = router.post(f"{CONTENT}/upload").respond(json=answer)
    async with client(max_retries=1) as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.bulk_jobs.upload(make_zip(tmp_path / "part.zip"))
    assert caught.value.code == "MALFORMED_RESPONSE"
    assert route.call_count == 2, "an upload no job names is harmless: it is sent again"


# -- create_write ------------------------------------------------------------------------------------


async def test_create_write_sends_zoho_s_body_for_500_credits(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = router.post(f"{BULK}/write").respond(201, json=WRITE_CREATED)
    async with client() as bigin:
        seen = spy_credits(bigin, monkeypatch)
        job = await bigin.bulk_jobs.create_write(
            module="Companies",
            file_id="111000000000123",
            operation="upsert",
            field_mappings=["Account_Name", "Website", "Phone"],
            find_by="Account_Name",
            callback_url="https://hooks.example.com/bulk?x=1",
        )
    assert json.loads(route.calls.last.request.content) == {
        "operation": "upsert",
        "character_encoding": "UTF-8",
        "callback": {"url": "https://hooks.example.com/bulk?x=1", "method": "post"},
        "resource": [
            {
                "type": "data",
                "module": {"api_name": "Accounts"},
                "file_id": "111000000000123",
                "ignore_empty": True,
                "find_by": "Account_Name",
                "field_mappings": [
                    {"api_name": "Account_Name", "index": 0},
                    {"api_name": "Website", "index": 1},
                    {"api_name": "Phone", "index": 2},
                ],
            }
        ],
    }
    assert [(s["credits"], s["idempotent"], s["service"]) for s in seen] == [(500, False, "bulk")]
    assert isinstance(job, BulkWriteJob)
    assert (job.id, job.state, job.operation, job.done) == ("5600000000001", "ADDED", "upsert", False)
    assert job.created_by is not None and job.created_by.name == "Admin"
    assert job.resources[0].module == "Accounts" and job.resources[0].find_by == "Account_Name"


async def test_field_mappings_may_name_indexes_and_lookups(router: respx.MockRouter) -> None:
    route = router.post(f"{BULK}/write").respond(201, json=WRITE_CREATED)
    async with client() as bigin:
        await bigin.bulk_jobs.create_write(
            module="Contacts",
            file_id="123",
            operation="update",
            field_mappings=[
                FieldMapping(api_name="id", index=2),
                FieldMapping(api_name="Account_Name", index=0, find_by="id"),
                FieldMapping(api_name="Date_of_Birth", index=1, format="MM/dd/yyyy"),
            ],
            find_by="id",
            ignore_empty=False,
        )
    sent = json.loads(route.calls.last.request.content)
    assert "callback" not in sent
    resource = sent["resource"][0]
    assert resource["ignore_empty"] is False and resource["find_by"] == "id"
    assert resource["field_mappings"] == [
        {"api_name": "id", "index": 2},
        {"api_name": "Account_Name", "index": 0, "find_by": "id"},
        {"api_name": "Date_of_Birth", "index": 1, "format": "MM/dd/yyyy"},
    ]


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadTimeout("lost"),
        httpx.RemoteProtocolError("dropped"),
        httpx.Response(500, json={"code": "INTERNAL_ERROR", "message": "x"}),
        httpx.Response(201, text="<html>proxy</html>"),
        httpx.Response(201, json={"status": "success", "details": {}}),
    ],
    ids=["read-timeout", "dropped", "5xx", "not-json", "no-id"],
)
async def test_a_write_job_is_never_created_twice_after_a_lost_answer(
    router: respx.MockRouter, fault: Any
) -> None:
    route = router.post(f"{BULK}/write")
    route.side_effect = [fault, httpx.Response(201, json=WRITE_CREATED)]
    async with client() as bigin:
        with pytest.raises(AmbiguousWriteError):
            await bigin.bulk_jobs.create_write(
                module="Contacts", file_id="123", operation="insert", field_mappings=["Last_Name"]
            )
    assert route.call_count == 1


def _write(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "module": "Contacts",
        "file_id": "123",
        "operation": "upsert",
        "field_mappings": ["Last_Name", "Email"],
        "find_by": "Email",
    }
    arguments.update(changes)
    return arguments


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"module": "Notes"}, "does not take Notes"),
        ({"module": "Users"}, "not a module"),
        ({"operation": "delete"}, "operation must be"),
        ({"find_by": None}, "needs find_by"),
        ({"operation": "update", "find_by": None}, "needs find_by"),
        ({"find_by": "Phone"}, "mapped columns"),
        ({"find_by": "Email),x"}, "field API names"),
        ({"operation": "insert"}, "find_by is for update and upsert"),
        ({"field_mappings": []}, "at least one column"),
        ({"field_mappings": "Last_Name"}, "list of field API names"),
        ({"field_mappings": ["Last_Name", FieldMapping(api_name="Email", index=1)]}, "not a mix"),
        ({"field_mappings": ["Email", "Email"]}, "same field twice"),
        (
            {
                "field_mappings": [
                    FieldMapping(api_name="Email", index=0),
                    FieldMapping(api_name="X", index=0),
                ]
            },
            "same column index twice",
        ),
        ({"field_mappings": ["bad name"]}, "field API names"),
        ({"field_mappings": [f"F{i}" for i in range(201)], "find_by": "F0"}, "at most 200 columns"),
        ({"file_id": "../write"}, "file_id"),
        ({"ignore_empty": "yes"}, "ignore_empty"),
        ({"callback_url": "ftp://example.com/x"}, "callback_url"),
        ({"callback_url": "https:///nohost"}, "callback_url"),
    ],
)
async def test_a_write_job_zoho_would_refuse_is_refused_with_nothing_sent(
    router: respx.MockRouter, changes: dict[str, Any], message: str
) -> None:
    async with client() as bigin:
        with pytest.raises(ValidationError, match=message):
            await bigin.bulk_jobs.create_write(**_write(**changes))
        assert bigin.transport.calls == 0
    assert len(router.calls) == 0


async def test_a_refused_write_job_keeps_zoho_s_code(router: respx.MockRouter) -> None:
    router.post(f"{BULK}/write").respond(
        400,
        json={
            "status": "error",
            "code": "INVALID_DATA",
            "message": "bad",
            "details": {"api_name": "file_id"},
        },
    )
    async with client() as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.bulk_jobs.create_write(**_write())
    assert caught.value.code == "INVALID_DATA" and caught.value.details == {"api_name": "file_id"}


# -- create_read -------------------------------------------------------------------------------------


async def test_create_read_sends_the_query_for_50_credits(
    router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = router.post(f"{BULK}/read").respond(201, json=READ_CREATED)
    async with client() as bigin:
        seen = spy_credits(bigin, monkeypatch)
        job = await bigin.bulk_jobs.create_read(
            module="Deals",
            fields=["Deal_Name", "Amount"],
            criteria=(Field("Amount") > 1000) & (Field("Stage").is_in(["Won", "Lost"])),
            page=2,
            callback_url="https://hooks.example.com/read",
        )
    assert json.loads(route.calls.last.request.content) == {
        "query": {
            "module": "Pipelines",
            "fields": ["Deal_Name", "Amount"],
            "criteria": {
                "group_operator": "and",
                "group": [
                    {"api_name": "Amount", "comparator": "greater_than", "value": 1000},
                    {"api_name": "Stage", "comparator": "in", "value": ["Won", "Lost"]},
                ],
            },
            "page": 2,
        },
        "callback": {"url": "https://hooks.example.com/read", "method": "post"},
    }
    assert [(s["credits"], s["idempotent"], s["service"]) for s in seen] == [(50, True, "bulk")]
    assert isinstance(job, BulkReadJob)
    assert (job.id, job.state, job.operation) == ("7700000000002", "ADDED", "read")
    assert job.query is not None and job.query["page"] == 2


async def test_create_read_without_fields_or_criteria_asks_for_everything(router: respx.MockRouter) -> None:
    route = router.post(f"{BULK}/read").respond(201, json=READ_CREATED)
    async with client() as bigin:
        await bigin.bulk_jobs.create_read(
            module="Contacts", criteria={"api_name": "Email", "comparator": "ends_with", "value": "@x.io"}
        )
    assert json.loads(route.calls.last.request.content) == {
        "query": {
            "module": "Contacts",
            "criteria": {"api_name": "Email", "comparator": "ends_with", "value": "@x.io"},
            "page": 1,
        }
    }


async def test_a_read_job_s_lost_answer_is_asked_again(router: respx.MockRouter) -> None:
    route = router.post(f"{BULK}/read")
    route.side_effect = [httpx.ReadTimeout("lost"), httpx.Response(201, json=READ_CREATED)]
    async with client() as bigin:
        job = await bigin.bulk_jobs.create_read(module="Contacts")
    assert job.id == "7700000000002" and route.call_count == 2


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"module": "Notes"}, ValidationError, "does not take Notes"),
        ({"fields": "Email"}, ValidationError, "not one string"),
        ({"fields": []}, ValidationError, "field API names"),
        ({"fields": ["Email", "a b"]}, ValidationError, "field API names"),
        ({"page": 0}, ValidationError, "page"),
        ({"page": True}, ValidationError, "page"),
        ({"page": 1.5}, ValidationError, "page"),
        (
            {"criteria": {"api_name": "Email", "comparator": "like", "value": "x"}},
            InvalidCriteriaError,
            "comparator",
        ),
        ({"criteria": "(Email:equals:x)"}, InvalidCriteriaError, "JSON object"),
        ({"callback_url": "mailto:x@y.z"}, ValidationError, "callback_url"),
    ],
)
async def test_a_read_job_zoho_would_refuse_is_refused_with_nothing_sent(
    router: respx.MockRouter, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    async with client() as bigin:
        with pytest.raises(error, match=message):
            await bigin.bulk_jobs.create_read(**{"module": "Contacts", **changes})
    assert len(router.calls) == 0


# -- status ------------------------------------------------------------------------------------------


async def test_get_write_and_get_read_read_both_status_shapes(router: respx.MockRouter) -> None:
    unwrapped = write_status("COMPLETED")["data"][0]
    router.get(f"{BULK}/write/5600000000001").respond(json=unwrapped)
    router.get(f"{BULK}/read/7700000000002").respond(json=read_status("IN PROGRESS"))
    async with client() as bigin:
        write = await bigin.bulk_jobs.get_write("5600000000001")
        read = await bigin.bulk_jobs.get_read("7700000000002")
    assert write.done and write.download_url == "/bigin/bulk/v2/write/5600000000001/result"
    assert read.state == "IN PROGRESS" and read.download_url is None


async def test_a_status_about_another_job_is_malformed(router: respx.MockRouter) -> None:
    route = router.get(f"{BULK}/write/5600000000001").respond(json=write_status("ADDED", job_id="999"))
    async with client(max_retries=1) as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.bulk_jobs.get_write("5600000000001")
    assert caught.value.code == "MALFORMED_RESPONSE" and route.call_count == 2


async def test_an_unknown_job_is_not_found(router: respx.MockRouter) -> None:
    router.get(f"{BULK}/read/1").respond(
        404, json={"status": "error", "code": "RECORD_NOT_FOUND", "message": "x"}
    )
    async with client() as bigin:
        with pytest.raises(NotFoundError):
            await bigin.bulk_jobs.get_read("1")


@pytest.mark.parametrize("job_id", ["../org", "", "12 34", "0"])
async def test_a_job_id_that_is_not_an_id_is_refused(router: respx.MockRouter, job_id: str) -> None:
    async with client() as bigin:
        with pytest.raises(ValidationError):
            await bigin.bulk_jobs.get_write(job_id)
        with pytest.raises(ValidationError):
            await bigin.bulk_jobs.wait_read(job_id)
    assert len(router.calls) == 0


# -- waiting ------------------------------------------------------------------------------------------


async def test_wait_write_polls_until_completed_and_reports_each_new_state(router: respx.MockRouter) -> None:
    states = ["ADDED", "ADDED", "IN PROGRESS", "IN PROGRESS", "IN PROGRESS", "COMPLETED"]
    route = router.get(f"{BULK}/write/5600000000001")
    route.side_effect = [httpx.Response(200, json=write_status(state)) for state in states]
    seen: list[str] = []
    async with client() as bigin:
        job = await bigin.bulk_jobs.wait_write(
            "5600000000001", poll_interval=0, on_state=lambda j: seen.append(j.state)
        )
    assert job.done and job.download_url is not None
    assert route.call_count == len(states)
    assert seen == ["ADDED", "IN PROGRESS", "COMPLETED"]


async def test_wait_read_takes_a_job_and_keeps_polling_through_unknown_states(
    router: respx.MockRouter,
) -> None:
    route = router.get(f"{BULK}/read/7700000000002")
    route.side_effect = [
        httpx.Response(200, json=read_status(s)) for s in ("QUEUED", "IN PROGRESS", "COMPLETED")
    ]
    async with client() as bigin:
        started = BulkReadJob(id="7700000000002", state="ADDED")
        job = await bigin.bulk_jobs.wait_read(started, poll_interval=0)
    assert job.done and job.result is not None and job.result.count == 3
    assert route.call_count == 3


@pytest.mark.parametrize("kind", ["write", "read"])
async def test_a_failed_job_raises_with_the_job(router: respx.MockRouter, kind: str) -> None:
    if kind == "write":
        router.get(f"{BULK}/write/5600000000001").respond(json=write_status("FAILED"))
    else:
        router.get(f"{BULK}/read/7700000000002").respond(json=read_status("FAILED"))
    async with client() as bigin:
        with pytest.raises(BulkJobFailedError) as caught:
            if kind == "write":
                await bigin.bulk_jobs.wait_write("5600000000001", poll_interval=0)
            else:
                await bigin.bulk_jobs.wait_read("7700000000002", poll_interval=0)
    error = caught.value
    assert error.state == "FAILED" and error.job is not None and error.job.failed
    assert error.job_id == ("5600000000001" if kind == "write" else "7700000000002")


@pytest.mark.parametrize("interval", [-1, float("nan"), float("inf"), True, "5"])
async def test_a_bad_poll_interval_is_refused(router: respx.MockRouter, interval: Any) -> None:
    async with client() as bigin:
        with pytest.raises(ValidationError, match="poll_interval"):
            await bigin.bulk_jobs.wait_write("5600000000001", poll_interval=interval)
    assert len(router.calls) == 0


def test_polls_double_while_the_state_stays_and_hold_when_it_moves() -> None:
    waits = [5.0]
    for _ in range(8):
        waits.append(next_poll_interval(waits[-1], 5.0, changed=False))
    assert waits[:5] == [5.0, 10.0, 20.0, 40.0, 60.0]
    assert max(waits) == 5.0 * MAX_POLL_GROWTH == waits[-1] == 60.0
    # ADDED -> IN PROGRESS: the long state follows, so the wait does not fall back to 5 s.
    assert next_poll_interval(20.0, 5.0, changed=True) == 20.0
    assert next_poll_interval(1.0, 5.0, changed=True) == 5.0


def test_a_four_minute_read_job_costs_at_most_eight_polls() -> None:
    # A 200,000-record Bulk Read page: 30 s queued, then about 200 s processing. Every poll is a
    # credit, and five such pages must stay under 300 credits with their 250 for the jobs.
    queued, done = 30.0, 230.0
    now, wait, polls, state = 0.0, 5.0, 0, "ADDED"
    while True:
        now += wait
        polls += 1
        seen = "COMPLETED" if now >= done else "IN PROGRESS" if now >= queued else "ADDED"
        if seen == "COMPLETED":
            break
        wait = next_poll_interval(wait, 5.0, changed=seen != state)
        state = seen
    assert polls <= 8
    assert now - done <= 60.0  # the result is picked up at most a minute late


# -- downloads ----------------------------------------------------------------------------------------


async def test_download_streams_a_write_result_to_the_path(router: respx.MockRouter, tmp_path: Path) -> None:
    content = b"PK\x03\x04 result zip bytes" * 1000
    route = router.get(f"{BULK}/write/5600000000001/result").respond(
        200, content=content, headers={"Content-Type": "application/zip"}
    )
    target = tmp_path / "result.zip"
    async with client() as bigin:
        job = BulkWriteJob.from_answer(write_status("COMPLETED"))
        path = await bigin.bulk_jobs.download(job, to=target)
    assert path == target and target.read_bytes() == content
    assert not (tmp_path / "result.zip.part").exists()
    assert route.call_count == 1


async def test_download_bounds_each_attempt_by_the_download_timeout(
    router: respx.MockRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    router.get(f"{BULK}/read/7700000000002/result").respond(200, content=b"zip")
    seen: list[dict[str, Any]] = []
    async with client(timeout=30.0) as bigin:
        original = bigin.transport.send

        async def spy(method: str, path: str, **kwargs: Any) -> httpx.Response:
            seen.append({"path": path, **kwargs})
            return await original(method, path, **kwargs)

        monkeypatch.setattr(bigin.transport, "send", spy)
        await bigin.bulk_jobs.download("/bigin/bulk/v2/read/7700000000002/result", to=tmp_path / "r.zip")
    assert seen == [
        {
            "path": "/read/7700000000002/result",
            "service": "bulk",
            "download_to": tmp_path / "r.zip",
            "timeout": DOWNLOAD_TIMEOUT,
            "paced_by": bigin.transport.read_downloads,  # each attempt keeps to the 10 a minute
        }
    ]


async def test_a_job_without_a_result_has_nothing_to_download(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    async with client() as bigin:
        job = BulkWriteJob.from_answer(write_status("IN PROGRESS"))
        with pytest.raises(BulkJobError) as caught:
            await bigin.bulk_jobs.download(job, to=tmp_path / "r.zip")
    assert caught.value.job_id == "5600000000001" and caught.value.state == "IN PROGRESS"
    assert len(router.calls) == 0


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("", ValidationError),
        ("/bigin/v2/org", ValidationError),
        ("write/1/result", ValidationError),
        ("https://evil.example.com/bigin/bulk/v2/read/1/result", ConfigurationError),
        ("http://www.zohoapis.com/bigin/bulk/v2/write/1/result", ConfigurationError),
    ],
)
async def test_a_download_url_off_the_bulk_api_is_refused_with_nothing_sent(
    router: respx.MockRouter, tmp_path: Path, url: str, error: type[Exception]
) -> None:
    async with client() as bigin:
        with pytest.raises(error):
            await bigin.bulk_jobs.download(url, to=tmp_path / "r.zip")
    assert len(router.calls) == 0
    assert list(tmp_path.iterdir()) == []


async def test_an_absolute_result_url_on_the_api_host_is_downloaded(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    route = router.get(f"{BULK}/write/1/result").respond(200, content=b"zip")
    async with client() as bigin:
        await bigin.bulk_jobs.download(f"{BULK}/write/1/result", to=tmp_path / "r.zip")
    assert route.call_count == 1


async def test_read_downloads_keep_to_ten_a_minute_and_write_downloads_are_not_held(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    clock = FakeClock()
    sent_at: list[tuple[str, float]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent_at.append((request.url.path.split("/")[4], clock.now))
        return httpx.Response(200, content=b"zip")

    router.get(url__regex=rf"{BULK}/(read|write)/\d+/result").mock(side_effect=answer)
    limiter = RateLimiter.per_minute(10, latency_allowance=0.0, clock=clock, sleep_until=clock.sleep_until)
    async with client() as bigin:
        jobs = BulkJobsClient(bigin.transport, download_limiter=limiter)
        for number in range(11):
            await jobs.download(f"/bigin/bulk/v2/read/{number + 1}/result", to=tmp_path / f"r{number}.zip")
        before = clock.now
        for number in range(5):
            await jobs.download(f"/bigin/bulk/v2/write/{number + 1}/result", to=tmp_path / f"w{number}.zip")
    reads = [at for kind, at in sent_at if kind == "read"]
    writes = [at for kind, at in sent_at if kind == "write"]
    assert len(reads) == 11
    assert reads[10] - reads[0] >= 60.0, "an 11th read download within a minute would get Zoho's 429"
    assert all(later - earlier >= 6.0 for earlier, later in zip(reads, reads[1:], strict=False))
    assert writes == [before] * 5


async def test_a_429_on_a_read_download_is_retried(router: respx.MockRouter, tmp_path: Path) -> None:
    route = router.get(f"{BULK}/read/7700000000002/result")
    route.side_effect = [
        httpx.Response(429, json={"code": "TOO_MANY_REQUESTS", "message": "x"}, headers={"Retry-After": "0"}),
        httpx.Response(200, content=b"zip"),
    ]
    clock = FakeClock()
    limiter = RateLimiter.per_minute(10, latency_allowance=0.0, clock=clock, sleep_until=clock.sleep_until)
    async with client() as bigin:
        job = BulkReadJob.from_answer(read_status("COMPLETED"))
        jobs = BulkJobsClient(bigin.transport, download_limiter=limiter)
        path = await jobs.download(job, to=tmp_path / "r.zip")
    assert path.read_bytes() == b"zip" and route.call_count == 2
    assert clock.now >= 6.0, "the retry is a download too: it waits its place in the minute"


# -- callbacks ------------------------------------------------------------------------------------------


def test_job_event_reads_a_callback_body() -> None:
    body = {"job_id": "5600000000001", "operation": "upsert", "state": "COMPLETED", "resource": [{"x": 1}]}
    for given in (json.dumps(body).encode(), json.dumps(body), body):
        event = BulkJobsClient.job_event(given)
        assert (event.job_id, event.operation, event.state, event.done) == (
            "5600000000001",
            "upsert",
            "COMPLETED",
            True,
        )
    read = BulkJobsClient.job_event(
        {"job_id": 7700000000002, "operation": "read", "state": "FAILED", "query": {}}
    )
    assert read.job_id == "7700000000002" and read.failed


def _deep(levels: int) -> dict[str, Any]:
    body: dict[str, Any] = {"job_id": "1", "state": "COMPLETED"}
    nested: Any = 1
    for _ in range(levels):
        nested = [nested]
    body["query"] = nested
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 100_000, "nested too deeply"),
        (_deep(40), "nested too deeply"),
        (b" " * (2 << 20), "larger than max_bytes"),
        ({"state": "COMPLETED"}, "job_id"),
        ({"job_id": "../org", "state": "COMPLETED"}, "job_id"),
        ({"job_id": "12\r\n", "state": "COMPLETED"}, "job_id"),
        ({"job_id": ["1"], "state": "COMPLETED"}, "job_id"),
        ({"job_id": "1"}, "state"),
        ({"job_id": "1", "state": 5}, "state"),
        ({"job_id": "1", "state": "X" * 1000}, "state"),
        ({"job_id": "1", "state": "COMPLETED", "operation": {"$gt": ""}}, "operation"),
        (12, "bytes, str or a mapping"),
    ],
)
def test_a_hostile_callback_body_is_a_typed_error(body: Any, message: str) -> None:
    with pytest.raises(InvalidNotificationError, match=message):
        BulkJobsClient.job_event(body)


@pytest.mark.parametrize("max_bytes", [0, -1, True, 1.5])
def test_job_event_refuses_a_bad_max_bytes(max_bytes: Any) -> None:
    with pytest.raises(ValidationError, match="max_bytes"):
        BulkJobsClient.job_event(b"{}", max_bytes=max_bytes)


def test_job_event_honours_a_smaller_max_bytes() -> None:
    body = b'{"job_id": "1", "state": "COMPLETED"}'
    assert BulkJobsClient.job_event(body, max_bytes=len(body)).job_id == "1"
    with pytest.raises(InvalidNotificationError, match="larger than max_bytes"):
        BulkJobsClient.job_event(body, max_bytes=len(body) - 1)


async def test_a_cancelled_wait_stops_polling(router: respx.MockRouter) -> None:
    route = router.get(f"{BULK}/write/5600000000001").respond(json=write_status("IN PROGRESS"))
    async with client() as bigin:
        with anyio.CancelScope() as scope:
            await bigin.bulk_jobs.wait_write(
                "5600000000001", poll_interval=1000.0, on_state=lambda _: scope.cancel()
            )
    assert scope.cancelled_caught and route.call_count == 1


async def test_an_upload_cancelled_while_reading_the_org_leaves_the_org_to_the_next(tmp_path: Path) -> None:
    reading = anyio.Event()
    org_reads = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal org_reads
        if request.url.path == "/bigin/v2/org":
            org_reads += 1
            if org_reads == 1:
                reading.set()
                await anyio.sleep_forever()
            return httpx.Response(200, json=ORG)
        return httpx.Response(200, json=UPLOADED)

    path = make_zip(tmp_path / "part.zip")
    async with client(transport=httpx.MockTransport(handler)) as bigin:
        async with anyio.create_task_group() as group:
            group.start_soon(bigin.bulk_jobs.upload, path)
            await reading.wait()
            group.cancel_scope.cancel()
        uploaded = await bigin.bulk_jobs.upload(path)
    assert uploaded.file_id == "111000000000123" and org_reads == 2


async def test_the_client_and_its_views_share_one_pace_of_read_downloads(
    router: respx.MockRouter, tmp_path: Path
) -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return httpx.Response(200, content=b"zip")

    router.get(url__regex=rf"{BULK}/read/\d+/result").mock(side_effect=answer)
    async with client() as bigin:
        view = bigin.with_options(timeout=60.0)
        assert view.bulk_jobs is not bigin.bulk_jobs
        # The client's one limiter, on a clock the test moves (no real minute passes).
        shared = RateLimiter.per_minute(10, latency_allowance=0.0, clock=clock, sleep_until=clock.sleep_until)
        limits = bigin.transport.limits
        assert isinstance(limits, LocalLimits)
        limits._read_downloads = shared
        for number in range(11):
            jobs = bigin.bulk_jobs if number % 2 else view.bulk_jobs
            await jobs.download(f"/bigin/bulk/v2/read/{number + 1}/result", to=tmp_path / f"r{number}.zip")
    assert len(sent_at) == 11 and sent_at[10] - sent_at[0] >= 60.0
