"""``bigin.bulk_jobs`` end to end against the emulator: upload, jobs, polling, result zips, callbacks.

Every request the client makes is recorded on the way out, so the tests also check where things
went: the file host gets the upload and nothing else, and the token goes only to the emulator's
API host and its file host.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest

from bigin_async import AmbiguousWriteError, BiginClient, BulkJobFailedError, Field, ValidationError
from bigin_async._limits import RateLimiter
from bigin_async.resources.bulk_jobs import BulkJobsClient
from bigin_emulator import BiginEmulator
from tests.helpers.clock import FakeClock
from tests.helpers.receiver import Receiver  # a webhook app that keeps what it is sent

API_HOST = "127.0.0.1"
FILE_HOST = "127.0.0.2"


class Recorder(httpx.AsyncBaseTransport):
    """Keeps (host, method, path, whether it carried the token) of each request, then sends it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, str, bool]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        carried = "Authorization" in request.headers
        self.seen.append((request.url.host, request.method, request.url.path, carried))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def recorded(emulator: BiginEmulator) -> tuple[BiginClient, Recorder]:
    recorder = Recorder(emulator.transport())
    return emulator.client(transport=recorder, retry_backoff_seconds=0.0), recorder


def csv_zip(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("part.csv", text.getvalue())
    return path


def zipped_rows(path: Path) -> tuple[str, list[dict[str, str]]]:
    with zipfile.ZipFile(path) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode("utf-8")
    return name, list(csv.DictReader(io.StringIO(text)))


def assert_token_stayed_home(recorder: Recorder) -> None:
    assert {host for host, _, _, carried in recorder.seen if carried} <= {API_HOST, FILE_HOST}
    on_file_host = {(method, path) for host, method, path, _ in recorder.seen if host == FILE_HOST}
    assert on_file_host <= {("POST", "/bigin/v2/upload")}


async def test_a_write_job_from_upload_to_result_csv(emulator: BiginEmulator, tmp_path: Path) -> None:
    rows = [["Last_Name", "Email"], ["Ng", "ng@x.io"], ["", "nobody@x.io"], ["Okafor", "ok@x.io"]]
    bigin, recorder = recorded(emulator)
    states: list[str] = []
    async with bigin:
        jobs = bigin.bulk_jobs
        uploaded = await jobs.upload(csv_zip(tmp_path / "part.zip", rows))
        job = await jobs.create_write(
            module="Contacts", file_id=uploaded.file_id, operation="insert", field_mappings=rows[0]
        )
        assert job.state == "ADDED"
        done = await jobs.wait_write(job.id, poll_interval=0, on_state=lambda j: states.append(j.state))
        result = await jobs.download(done, to=tmp_path / "result.zip")
        _, out = zipped_rows(result)
        created = [await bigin.contacts.get(row["RECORD_ID"]) for row in out if row["STATUS"] == "ADDED"]
        spent = bigin.credits.spent_total
    assert done.done and states[-1] == "COMPLETED"
    (resource,) = done.resources
    assert resource.file is not None and (resource.file.added_count, resource.file.skipped_count) == (2, 1)
    assert [(row["Last_Name"], row["STATUS"]) for row in out] == [
        ("Ng", "ADDED"),
        ("", "SKIPPED"),
        ("Okafor", "ADDED"),
    ]
    assert "MANDATORY_NOT_FOUND" in out[1]["ERRORS"] and out[1]["RECORD_ID"] == ""
    assert [c.Email for c in created] == ["ng@x.io", "ok@x.io"]
    assert emulator.counters.credits_by_route["POST /bigin/bulk/v2/write"] == 500
    assert spent == emulator.counters.credits, "the client counts credits as the server does"
    assert emulator.counters.file_host_by_route == {"POST /bigin/v2/upload": 1}
    assert_token_stayed_home(recorder)


async def test_an_upsert_job_updates_by_its_find_by_field(emulator: BiginEmulator, tmp_path: Path) -> None:
    async with emulator.client() as bigin:
        existing = await bigin.contacts.create({"Last_Name": "Old", "Email": "a@x.io"})
        jobs = bigin.bulk_jobs
        rows = [["Email", "Last_Name"], ["a@x.io", "New"], ["b@x.io", "Fresh"]]
        uploaded = await jobs.upload(csv_zip(tmp_path / "up.zip", rows))
        job = await jobs.create_write(
            module="Contacts",
            file_id=uploaded.file_id,
            operation="upsert",
            field_mappings=rows[0],
            find_by="Email",
        )
        done = await jobs.wait_write(job, poll_interval=0)
        _, out = zipped_rows(await jobs.download(done, to=tmp_path / "r.zip"))
        assert existing.id is not None
        updated = await bigin.contacts.get(existing.id)
    assert [(row["Email"], row["STATUS"]) for row in out] == [("a@x.io", "UPDATED"), ("b@x.io", "ADDED")]
    assert out[0]["RECORD_ID"] == existing.id and updated.Last_Name == "New"


async def test_a_read_job_from_create_to_csv(emulator: BiginEmulator, tmp_path: Path) -> None:
    ids = emulator.seed_data(contacts=12)["Contacts"]
    bigin, recorder = recorded(emulator)
    async with bigin:
        jobs = bigin.bulk_jobs
        job = await jobs.create_read(module="Contacts", fields=["Last_Name", "Email"])
        done = await jobs.wait_read(job.id, poll_interval=0)
        path = await jobs.download(done, to=tmp_path / "page1.zip")
    assert done.result is not None and done.result.count == 12 and done.result.more_records is False
    name, rows = zipped_rows(path)
    assert name == f"{job.id}.csv"
    assert list(rows[0]) == ["id", "Last_Name", "Email"]
    assert [row["id"] for row in rows] == sorted(ids, key=int)
    assert emulator.counters.credits_by_route["POST /bigin/bulk/v2/read"] == 50
    assert emulator.counters.file_host_by_route == {}
    assert_token_stayed_home(recorder)


async def test_a_read_job_with_criteria_reads_only_the_match(emulator: BiginEmulator, tmp_path: Path) -> None:
    emulator.insert_records(
        "Contacts",
        [{"Last_Name": name, "Email": f"{name.lower()}@x.io"} for name in ("Ng", "Okafor", "Nguyen")],
    )
    async with emulator.client() as bigin:
        jobs = bigin.bulk_jobs
        job = await jobs.create_read(
            module="Contacts", fields=["Last_Name"], criteria=Field("Last_Name").starts_with("Ng")
        )
        path = await jobs.download(await jobs.wait_read(job, poll_interval=0), to=tmp_path / "r.zip")
    assert sorted(row["Last_Name"] for row in zipped_rows(path)[1]) == ["Ng", "Nguyen"]


async def test_notes_are_refused_before_anything_reaches_the_emulator(
    emulator: BiginEmulator, tmp_path: Path
) -> None:
    async with emulator.client() as bigin:
        with pytest.raises(ValidationError, match="Notes"):
            await bigin.bulk_jobs.create_write(
                module="Notes", file_id="123", operation="insert", field_mappings=["Note_Content"]
            )
        with pytest.raises(ValidationError, match="Notes"):
            await bigin.bulk_jobs.create_read(module="Notes")
    assert emulator.counters.requests_total == 0 and emulator.counters.file_host_by_route == {}


async def test_a_failing_job_raises_with_its_state(emulator: BiginEmulator, tmp_path: Path) -> None:
    emulator.job_faults.fail_jobs = 1
    async with emulator.client() as bigin:
        jobs = bigin.bulk_jobs
        uploaded = await jobs.upload(csv_zip(tmp_path / "p.zip", [["Last_Name"], ["Ng"]]))
        job = await jobs.create_write(
            module="Contacts", file_id=uploaded.file_id, operation="insert", field_mappings=["Last_Name"]
        )
        with pytest.raises(BulkJobFailedError) as caught:
            await jobs.wait_write(job.id, poll_interval=0)
    assert caught.value.job_id == job.id and caught.value.state == "FAILED"


async def test_a_lost_create_answer_is_never_sent_again(emulator: BiginEmulator, tmp_path: Path) -> None:
    emulator.job_faults.drop_create_answers = 1
    async with emulator.client() as bigin:
        jobs = bigin.bulk_jobs
        uploaded = await jobs.upload(csv_zip(tmp_path / "p.zip", [["Last_Name"], ["Ng"]]))
        with pytest.raises(AmbiguousWriteError):
            await jobs.create_write(
                module="Contacts", file_id=uploaded.file_id, operation="insert", field_mappings=["Last_Name"]
            )
    assert emulator.counters.requests_by_route["POST /bigin/bulk/v2/write"] == 1
    assert len(emulator.jobs.jobs) == 1


async def test_a_lost_upload_answer_is_uploaded_again(emulator: BiginEmulator, tmp_path: Path) -> None:
    emulator.job_faults.drop_upload_answers = 1
    async with emulator.client() as bigin:
        uploaded = await bigin.bulk_jobs.upload(csv_zip(tmp_path / "p.zip", [["Last_Name"], ["Ng"]]))
    assert uploaded.file_id
    assert emulator.counters.file_host_by_route == {"POST /bigin/v2/upload": 2}


async def test_the_callback_names_the_job_and_job_event_reads_it(
    emulator: BiginEmulator, tmp_path: Path
) -> None:
    receiver = Receiver()
    emulator.register_webhook_app("http://hooks.test/", receiver)
    async with emulator.client() as bigin:
        jobs = bigin.bulk_jobs
        uploaded = await jobs.upload(csv_zip(tmp_path / "p.zip", [["Last_Name"], ["Ng"]]))
        job = await jobs.create_write(
            module="Contacts",
            file_id=uploaded.file_id,
            operation="insert",
            field_mappings=["Last_Name"],
            callback_url="http://hooks.test/bulk",
        )
        read = await jobs.create_read(module="Contacts", callback_url="http://hooks.test/read")
        await jobs.wait_write(job, poll_interval=0)
        await jobs.wait_read(read, poll_interval=0)
        await emulator.notifier.drain()
        events = [BulkJobsClient.job_event(body) for body in receiver.bodies]
        by_id = {event.job_id: event for event in events}
        status = await jobs.get_write(by_id[job.id].job_id)
    assert set(by_id) == {job.id, read.id}
    assert by_id[job.id].operation == "insert" and by_id[job.id].done
    assert by_id[read.id].operation == "read" and by_id[read.id].state == "COMPLETED"
    assert status.done and status.download_url is not None


async def test_read_downloads_are_paced_below_the_emulator_s_limit(tmp_path: Path) -> None:
    """Eleven downloads of one result: the eleventh waits for the minute, so it never meets the 429."""
    clock = FakeClock()
    emulator = BiginEmulator(clock=clock)
    emulator.seed_data(contacts=2)

    async def sleep_until(when: float) -> None:  # the minute passes on the emulator's clock too
        clock.now = max(clock.now, when)
        await anyio.lowlevel.checkpoint()

    limiter = RateLimiter.per_minute(10, clock=clock, sleep_until=sleep_until)
    start = clock.now
    async with emulator.client() as bigin:
        jobs = BulkJobsClient(bigin.transport, download_limiter=limiter)
        done = await jobs.wait_read(await jobs.create_read(module="Contacts"), poll_interval=0)
        for number in range(11):
            await jobs.download(done, to=tmp_path / f"r{number}.zip")
    assert clock.now - start >= 60.0
    assert emulator.counters.requests_by_route["GET /bigin/bulk/v2/read/{id}/result"] == 11
    assert emulator.counters.responses_by_status.get(429, 0) == 0
