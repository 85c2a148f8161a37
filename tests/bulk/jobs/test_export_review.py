"""Adversarial review of ``bulk_export``: hostile results, page edges, values, files and descriptors.

Each test here failed before the fix it came with (see the commit that added it).
"""

from __future__ import annotations

import csv
import os
import struct
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest

from bigin_async import Field
from bigin_async._limits import RateLimiter
from bigin_async.bulk.jobs.read import BulkExport
from bigin_async.bulk.jobs.results import allow_large_cells
from bigin_async.client import BiginClient
from bigin_async.errors import BulkJobError, RateLimitError
from bigin_async.models.jobs import BulkReadJob
from bigin_async.models.records import Contact
from bigin_async.resources.bulk_jobs import FULL_MINUTES_WAITED, BulkJobsClient
from bigin_emulator import BiginEmulator
from tests.bulk.jobs.test_export_reading import FakeJobs, contact_rows, export_of, workdir, zip_of
from tests.helpers.clock import FakeClock
from tests.helpers.export_records import downloads_on_fake_time

__all__ = ["workdir"]  # the fixture, shared with the reading tests


def line_bomb(path: Path, size: int) -> Path:
    """A zip of a few kilobytes whose CSV is a header, then one line of ``size`` bytes with no end."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("1.csv", "w") as entry:
            entry.write(b"id,Last_Name\n1,")
            chunk = b"a" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    return path


async def refuses_the_line_bomb(tmp_path: Path) -> None:
    """A 64 MB cell with no end is refused on page 1 having held under 8 MB."""
    jobs = FakeJobs([line_bomb(tmp_path / "bomb.zip", 64 * 1024 * 1024)])
    tracemalloc.start()
    try:
        with pytest.raises(BulkJobError, match="page 1"):
            [r async for r in export_of(jobs)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


async def test_a_row_without_an_end_is_refused_before_it_fills_memory(tmp_path: Path) -> None:
    # 64 MB of one cell inflate from a zip of about 64 KB: a Bulk Read result is not trusted to
    # be sane, so a row is read only up to what a row can hold, never whole into memory.
    await refuses_the_line_bomb(tmp_path)


async def test_a_row_is_bounded_even_after_a_bulk_write_raised_the_csv_cell_limit(
    tmp_path: Path,
) -> None:
    # Reading a Bulk Write's results lets ``csv`` take cells up to 2 GiB, for the whole process:
    # a later Bulk Read in the same process must keep its own bound on a row.
    before = csv.field_size_limit()
    allow_large_cells()
    try:
        await refuses_the_line_bomb(tmp_path)
    finally:
        csv.field_size_limit(before)


async def test_a_note_with_carriage_returns_exports_as_get_reads_it(emulator: BiginEmulator) -> None:
    texts = ["old mac\rline", "dos\r\nline", "unix\nline", "trailing\r"]
    ids = [
        entry["details"]["id"]
        for entry in emulator.insert_records(
            "Contacts", [{"Last_Name": f"N{i}", "Description": text} for i, text in enumerate(texts)]
        )
    ]
    async with emulator.client() as client:
        downloads_on_fake_time(client)
        exported = [r async for r in client.contacts.bulk_export(fields=["Description"], poll_interval=0)]
        assert [r.id for r in exported] == ids
        for record in exported:
            assert record.id is not None
            rest = await client.contacts.get(record.id, fields=["Description"])
            assert record.Description == rest.Description
    assert [r.Description for r in exported] == texts


def paced_on(clock: FakeClock) -> RateLimiter:
    """Zoho's 10 downloads a minute, on the emulator's clock: a wait moves it instead of sleeping."""

    async def sleep_until(deadline: float) -> None:
        clock.now = max(clock.now, deadline)

    return RateLimiter.per_minute(10, clock=clock, sleep_until=sleep_until)


async def test_a_bare_429_on_a_download_waits_for_the_orgs_minute_to_pass(tmp_path: Path) -> None:
    # Zoho documents no Retry-After. Another client of the org (a second export, another app)
    # spent this minute's ten downloads: a few quick retries cannot outlast the minute, so the
    # export waits the minute out instead of failing with its pages half read.
    clock = FakeClock()
    emulator = BiginEmulator(clock=clock, bulk_read_page_size=10, bare_429s=True)
    ids = [
        entry["details"]["id"]
        for entry in emulator.insert_records("Contacts", [{"Last_Name": f"L{i}"} for i in range(25)])
    ]
    async with emulator.client() as other, emulator.client(retry_backoff_seconds=0) as client:
        done = await other.bulk_jobs.wait_read(
            (await other.bulk_jobs.create_read(module="Contacts", fields=["Last_Name"])).id, poll_interval=0
        )
        for number in range(10):  # the other client's own pace is its own business
            await BulkJobsClient(other.transport, download_limiter=paced_on(FakeClock())).download(
                done, to=tmp_path / f"other-{number}.zip"
            )
        client.bulk_jobs = BulkJobsClient(client.transport, download_limiter=paced_on(clock))
        started = clock.now
        records = [r.id async for r in client.contacts.bulk_export(fields=["Last_Name"], poll_interval=0)]
    assert records == ids
    assert clock.now - started >= 60


class RefusedResults(httpx.AsyncBaseTransport):
    """Passes requests to ``inner``, but answers every Bulk Read result download with a bare 429."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/result"):
            self.refused += 1
            body = {"status": "error", "code": "TOO_MANY_REQUESTS", "message": "too many", "details": {}}
            return httpx.Response(429, json=body)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_download_refused_minute_after_minute_gives_up_and_leaves_no_files(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    emulator = BiginEmulator(clock=clock)
    emulator.insert_records("Contacts", [{"Last_Name": "A"}])
    spy = RefusedResults(emulator.transport())
    async with emulator.client(transport=spy, retry_backoff_seconds=0, max_retries=2) as client:
        client.bulk_jobs = BulkJobsClient(client.transport, download_limiter=paced_on(clock))
        started = clock.now
        with pytest.raises(RateLimitError):
            [r async for r in client.contacts.bulk_export(poll_interval=0, workdir=tmp_path)]
    assert spy.refused == 3 * (FULL_MINUTES_WAITED + 1)  # each round: the try and the transport's 2 retries
    assert clock.now - started >= 60 * FULL_MINUTES_WAITED
    assert list(tmp_path.iterdir()) == []


async def export_cancelled_at(
    client: BiginClient, stop_at: int, work: Path, to: Path | None
) -> tuple[anyio.CancelScope, BulkExport[Contact]]:
    """An export cancelled at its ``stop_at``-th progress report (the cancellation lands at the
    next checkpoint, wherever in the export that is)."""
    seen = 0
    with anyio.CancelScope() as scope:

        def stop(_: object) -> None:
            nonlocal seen
            seen += 1
            if seen == stop_at:
                scope.cancel()

        export = client.contacts.bulk_export(
            fields=["Last_Name"], poll_interval=0, on_progress=stop, workdir=work, to=to
        )
        async for _ in export:
            await anyio.lowlevel.checkpoint()
    return scope, export


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
@pytest.mark.parametrize("keep", [False, True])
async def test_a_cancellation_at_any_progress_report_leaves_no_file_and_no_descriptor(
    tmp_path: Path, keep: bool
) -> None:
    clock = FakeClock()  # the org's minute of downloads passes as the client waits for it
    emulator = BiginEmulator(clock=clock, bulk_read_page_size=10)
    emulator.insert_records("Contacts", [{"Last_Name": f"L{i}"} for i in range(25)])
    async with emulator.client() as client:
        client.bulk_jobs = BulkJobsClient(client.transport, download_limiter=paced_on(clock))
        reports = 0

        def count(_: object) -> None:
            nonlocal reports
            reports += 1

        assert len([r async for r in client.contacts.bulk_export(poll_interval=0, on_progress=count)]) == 25
        for stop_at in range(1, reports + 1):
            work, kept = tmp_path / f"work-{stop_at}", tmp_path / f"kept-{stop_at}"
            work.mkdir()
            kept.mkdir()
            before = open_descriptors()
            scope, export = await export_cancelled_at(client, stop_at, work, kept / "c.csv" if keep else None)
            assert scope.cancelled_caught or stop_at == reports, stop_at
            assert list(work.iterdir()) == [], stop_at
            assert open_descriptors() == before, stop_at
            for path in kept.iterdir():  # only whole pages are kept
                assert path.suffix == ".csv" and path in export.paths, stop_at
                assert len(path.read_text(encoding="utf-8").splitlines()) in (11, 6), stop_at


async def test_a_result_without_a_column_asked_for_is_an_error_not_empty_values(
    tmp_path: Path, workdir: Path
) -> None:
    # Zoho left Email out of the CSV (a field this user's profile cannot read, a result of another
    # query): every record would come out with Email None, as if the org had no emails at all.
    rows = [["id", "Last_Name", "Account_Name"], ["10", "Ng", "77"]]
    jobs = FakeJobs([zip_of(tmp_path / "p1.zip", rows)])
    with pytest.raises(BulkJobError, match=r"no column for Email \(asked for\)") as raised:
        [r async for r in export_of(jobs, fields=["Last_Name", "Email", "id"], workdir=workdir)]
    assert raised.value.job_id == "1"
    assert list(workdir.iterdir()) == []
    # The columns asked for, in any order, with more beside them: read as usual.
    jobs = FakeJobs([zip_of(tmp_path / "p2.zip", [["Email", "id", "Last_Name"], ["a@b.c", "10", "Ng"]])])
    [record] = [r async for r in export_of(jobs, fields=["Last_Name", "Email"])]
    assert (record.id, record.Email, record.Last_Name) == ("10", "a@b.c", "Ng")


def patched_zip(path: Path, patch: Callable[[bytearray, int, int], None]) -> Path:
    """A zip of one good CSV whose local and central headers ``patch(data, local, central)`` edits."""
    zip_of(path, [["id", "Last_Name"], ["1", "a"]])
    data = bytearray(path.read_bytes())
    patch(data, data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02"))
    path.write_bytes(bytes(data))
    return path


def encrypted(data: bytearray, local: int, central: int) -> None:
    data[local + 6] |= 1  # general purpose flag bit 0: the member is encrypted
    data[central + 8] |= 1


def unknown_method(data: bytearray, local: int, central: int) -> None:
    data[local + 8 : local + 10] = struct.pack("<H", 97)  # a compression method zipfile cannot read
    data[central + 10 : central + 12] = struct.pack("<H", 97)


@pytest.mark.parametrize("patch", [encrypted, unknown_method])
@pytest.mark.parametrize("keep", [False, True])
async def test_a_zip_member_that_cannot_be_opened_is_a_bulk_job_error(
    tmp_path: Path, workdir: Path, patch: Callable[[bytearray, int, int], None], keep: bool
) -> None:
    # zipfile says RuntimeError (encrypted) or NotImplementedError (the method): raised as they
    # were, they passed a caller's ``except BulkJobError`` by.
    jobs = FakeJobs([patched_zip(tmp_path / "odd.zip", patch)])
    to = tmp_path / "kept.csv" if keep else None
    with pytest.raises(BulkJobError, match="cannot be read"):
        [r async for r in export_of(jobs, workdir=workdir, to=to)]
    assert list(workdir.iterdir()) == []
    assert not (tmp_path / "kept.csv").exists() and not (tmp_path / "kept.csv.part").exists()


async def test_a_result_holding_fewer_rows_than_its_job_counted_is_an_error(
    tmp_path: Path, workdir: Path
) -> None:
    # The job said 3 records; a whole, well-formed CSV of 2 rows gives no other sign that one is
    # missing, and "every record accounted for" is the point of an export.
    class Overcounted(FakeJobs):
        def _job(self, page: int, state: str) -> BulkReadJob:
            job = super()._job(page, state)
            assert job.result is not None
            return job.model_copy(update={"result": job.result.model_copy(update={"count": 3})})

    export = export_of(Overcounted([zip_of(tmp_path / "p1.zip", contact_rows(10, 2))]), workdir=workdir)
    seen = []
    with pytest.raises(BulkJobError, match="ends after 2 of the 3 records"):
        async for record in export:
            seen.append(record.id)
    assert seen == ["10", "11"]
    assert list(workdir.iterdir()) == []


async def test_through_calls_with_criteria_records_come_in_id_order_as_jobs_give_them(
    emulator: BiginEmulator,
) -> None:
    # Search answers in its own order (newest first here): via="auto" picked calls or jobs by the
    # count, and the order of the same export changed with it.
    ids = [
        entry["details"]["id"]
        for entry in emulator.insert_records(
            "Contacts", [{"Last_Name": f"Same {i}", "First_Name": "Ann"} for i in range(7)]
        )
    ]
    async with emulator.client() as client:
        downloads_on_fake_time(client)
        criteria = Field("First_Name") == "Ann"
        calls = [r.id async for r in client.contacts.bulk_export(criteria=criteria, via="calls")]
        jobs = [r.id async for r in client.contacts.bulk_export(criteria=criteria, poll_interval=0)]
    assert jobs == ids
    assert calls == ids


@pytest.mark.xfail(
    strict=True,
    reason="known, documented, not fixed: a record deleted from a page already read pulls the next "
    "page's first record back onto it, unseen (Bulk Read pages are offsets; only an id criteria per "
    "page, which Zoho's documents do not promise, would chain them without a gap)",
)
@pytest.mark.bigin_emulator(bulk_read_page_size=10)
async def test_a_record_deleted_during_the_export_costs_no_other_record(emulator: BiginEmulator) -> None:
    ids = [
        entry["details"]["id"]
        for entry in emulator.insert_records("Contacts", [{"Last_Name": f"L{i}"} for i in range(25)])
    ]
    async with emulator.client() as client:
        downloads_on_fake_time(client)
        seen = []
        async for record in client.contacts.bulk_export(fields=["Last_Name"], poll_interval=0):
            assert record.id is not None
            seen.append(record.id)
            if len(seen) == 1:
                await client.contacts.delete(record.id)  # already exported: nothing else may go
    assert [i for i in ids if i not in seen] == []
