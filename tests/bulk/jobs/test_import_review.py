"""Adversarial review of bulk_import through Bulk Write jobs: result columns that look like the
result's own, echoes Zoho normalises, and other ways a result could be mapped to the wrong record."""

from __future__ import annotations

import csv
import functools
import io
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from bigin_async.bulk import BulkAbortedError, BulkProgress
from bigin_async.bulk.jobs.parts import MAX_COLUMNS, PartWriter
from bigin_async.bulk.jobs.results import map_results
from bigin_async.bulk.jobs.via import AUTO_JOBS_THRESHOLD_WRITE
from bigin_async.bulk.jobs.write import ImportPlan, run_import
from bigin_async.errors import AuthenticationError, JournalError, ValidationError
from bigin_emulator import BiginEmulator
from tests.bulk.jobs.test_import_faults import FakeJobs
from tests.bulk.jobs.test_import_faults import contacts as faults_contacts
from tests.bulk.jobs.test_import_faults import plan as faults_plan

POLL = 0.001


def _zip(path: Path, rows: list[list[str]], *, terminator: str = "\r\n") -> Path:
    text = io.StringIO()
    csv.writer(text, lineterminator=terminator).writerows(rows)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(path.stem + ".csv", text.getvalue().encode("utf-8"))
    return path


async def test_a_task_status_field_is_not_taken_for_the_results_status(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    tasks: list[dict[str, Any]] = [{"Subject": f"Call {i}", "Status": "Not Started"} for i in range(5)]
    async with emulator.client() as bigin:
        result = await bigin.tasks.bulk_import(tasks, via="jobs", poll_interval=POLL)
    stored = {record["id"] for record in emulator.store.table("Tasks")}
    assert len(stored) == 5
    assert [o.status for o in result.outcomes] == ["success"] * 5
    assert {o.id for o in result.outcomes} == stored


def test_a_result_column_named_status_in_any_case_before_the_result_columns(tmp_path: Path) -> None:
    part = _zip(tmp_path / "part.zip", [["Subject", "status"], ["a", "Deferred"], ["b", "Completed"]])
    result = _zip(
        tmp_path / "result.zip",
        [
            ["Subject", "status", "STATUS", "RECORD_ID", "ERRORS"],
            ["b", "Completed", "ADDED", "2", ""],
            ["a", "Deferred", "SKIPPED", "", "INVALID_DATA-Subject"],
        ],
    )
    rows = map_results(part, ["Subject", "status"], result)
    assert [(r.status, r.record_id) if r else None for r in rows] == [("SKIPPED", None), ("ADDED", "2")]


def test_an_echo_zoho_trimmed_does_not_give_one_record_the_verdict_of_another(tmp_path: Path) -> None:
    # Two records alike but for a space Zoho trims when it echoes: the one skipped as a duplicate
    # must not be reported added with the id of the other.
    part = _zip(tmp_path / "part.zip", [["Last_Name", "Email"], ["Lee", " a@x.test"], ["Lee", "a@x.test"]])
    result = _zip(
        tmp_path / "result.zip",
        [
            ["Last_Name", "Email", "STATUS", "RECORD_ID", "ERRORS"],
            ["Lee", "a@x.test", "ADDED", "111", ""],
            ["Lee", "a@x.test", "SKIPPED", "", "DUPLICATE_DATA-Email"],
        ],
    )
    rows = map_results(part, ["Last_Name", "Email"], result)
    # Which row is which cannot be told: neither may be a success with the other's verdict.
    assert all(row is None for row in rows)


def test_echoes_zoho_normalised_are_still_matched_when_no_two_records_collide(tmp_path: Path) -> None:
    part = _zip(
        tmp_path / "part.zip",
        [["Last_Name", "Annual_Revenue"], [" Lee ", "1000.50"], ["Kim", "2e3"], ["Ray", "7"]],
    )
    result = _zip(
        tmp_path / "result.zip",
        [
            ["Last_Name", "Annual_Revenue", "STATUS", "RECORD_ID", "ERRORS"],
            ["Ray", "7", "ADDED", "3", ""],
            ["Lee", "1000.5", "ADDED", "1", ""],
            ["Kim", "2000", "ADDED", "2", ""],
        ],
    )
    rows = map_results(part, ["Last_Name", "Annual_Revenue"], result)
    assert [r.record_id if r else None for r in rows] == ["1", "2", "3"]


async def test_values_with_line_breaks_of_every_kind_come_back_on_their_records() -> None:
    emulator = BiginEmulator(shuffle_write_results=True)
    names = ["Lee\rKim", "Ray\nMo", "Ann\r\nBo", '"quoted", x', "plain"]
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(
            [{"Last_Name": name} for name in names], via="jobs", poll_interval=POLL
        )
    by_name = {record["Last_Name"]: record["id"] for record in emulator.store.table("Contacts")}
    assert [o.status for o in result.outcomes] == ["success"] * len(names)
    assert [o.id for o in result.outcomes] == [by_name[name] for name in names]


class _Crash(BaseException):
    """The process dying right there (nothing after it runs but finally blocks)."""


async def test_a_resumed_job_whose_polling_is_refused_is_unknown_not_an_error(tmp_path: Path) -> None:
    # Run 1 created part 1's job and died while waiting on it. Run 2 polls that job and its
    # token is refused: the job exists and may have added every record, so they are not "error".
    journal = tmp_path / "import.journal"
    fake = FakeJobs(faults={"wait": [_Crash()]})
    with pytest.raises(_Crash):
        await run_import(fake, faults_plan(), faults_contacts(10), journal_path=journal)
    assert len(fake.jobs) == 1
    revoked = AuthenticationError("revoked", status_code=401, code="INVALID_TOKEN")
    fake.faults = {"wait": [revoked]}
    with pytest.raises(BulkAbortedError) as caught:
        await run_import(fake, faults_plan(), faults_contacts(10), journal_path=journal)
    assert len(fake.jobs) == 1
    assert {o.status for o in caught.value.result.outcomes} == {"unknown"}


async def test_two_imports_given_one_workdir_do_not_send_each_others_parts(tmp_path: Path) -> None:
    # Import A has written its part and is about to upload it when import B, given the same
    # work directory, writes its own part 1 there: A must not upload (and report as its own)
    # B's records.
    emulator = BiginEmulator()
    workdir = tmp_path / "work"
    a_uploading, b_written = anyio.Event(), anyio.Event()
    outcomes: dict[str, Any] = {}

    async with emulator.client() as bigin:

        class HeldJobs:
            """The client's jobs API, A's upload held until B has written its part."""

            def __getattr__(self, name: str) -> Any:
                return getattr(bigin.bulk_jobs, name)

            async def upload(self, file: Any) -> Any:
                a_uploading.set()
                await b_written.wait()
                return await bigin.bulk_jobs.upload(file)

        def b_progress(progress: BulkProgress) -> None:
            if progress.phase == "uploading":
                b_written.set()

        async def run(name: str, jobs: Any, **options: Any) -> None:
            records = [{"Last_Name": f"{name}{i}"} for i in range(5)]
            try:
                result = await run_import(
                    jobs, ImportPlan("Contacts", poll_interval=POLL), records, workdir=workdir, **options
                )
            except JournalError as error:  # refused before sending: fine
                b_written.set()
                outcomes[name] = error
            else:
                outcomes[name] = (records, result)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run, "A", HeldJobs())
            await a_uploading.wait()
            tasks.start_soon(functools.partial(run, "B", bigin.bulk_jobs, on_progress=b_progress))

    stored = [record["Last_Name"] for record in emulator.store.table("Contacts")]
    assert len(stored) == len(set(stored)), f"stored twice: {sorted(stored)}"
    by_id = {record["id"]: record["Last_Name"] for record in emulator.store.table("Contacts")}
    for name, outcome in outcomes.items():
        if isinstance(outcome, JournalError):
            continue
        records, result = outcome
        for o in result.outcomes:
            assert o.status == "success" and by_id[o.id] == records[o.index]["Last_Name"], (name, o)


class _CancelAt:
    """An ``on_progress`` that cancels ``scope`` at its ``n``-th call."""

    def __init__(self, scope: anyio.CancelScope, n: int) -> None:
        self.scope, self.n, self.calls = scope, n, 0

    def __call__(self, _: BulkProgress) -> None:
        self.calls += 1
        if self.calls == self.n:
            self.scope.cancel()


async def test_cancelled_at_every_step_then_resumed_loses_and_doubles_nothing(tmp_path: Path) -> None:
    records = [{"Last_Name": f"L{i}", "Email": f"p{i}@example.test"} for i in range(30)]
    plan = ImportPlan("Contacts", poll_interval=POLL, part_records=10)
    clean = BiginEmulator()
    async with clean.client() as bigin:
        steps: list[str] = []
        await run_import(bigin.bulk_jobs, plan, records, on_progress=lambda p: steps.append(p.phase))
    for stop_at in range(1, len(steps) + 1):
        emulator = BiginEmulator()
        journal = tmp_path / f"cancelled-{stop_at}.journal"
        async with emulator.client() as bigin:
            with anyio.CancelScope() as scope:
                cancel_at = _CancelAt(scope, stop_at)
                await run_import(bigin.bulk_jobs, plan, records, journal_path=journal, on_progress=cancel_at)
            result = await run_import(bigin.bulk_jobs, plan, records, journal_path=journal)
        stored = [record["Last_Name"] for record in emulator.store.table("Contacts")]
        assert len(stored) == len(set(stored)), (stop_at, sorted(stored))
        by_id = {record["id"]: record["Last_Name"] for record in emulator.store.table("Contacts")}
        assert len(result.outcomes) == 30
        for o in result.outcomes:
            assert o.status in ("success", "unknown"), (stop_at, o)
            if o.status == "success":
                assert by_id[o.id] == records[o.index]["Last_Name"], (stop_at, o)
        # Unknown only where a job may exist; every record not unknown is stored once.
        unknown = {records[o.index]["Last_Name"] for o in result.outcomes if o.status == "unknown"}
        assert set(stored) >= {r["Last_Name"] for r in records} - unknown, stop_at
        assert sum(1 for job in emulator.jobs.jobs.values() if job.kind == "write") <= 3, stop_at
        assert not list(journal.with_name(journal.name + ".parts").glob("*.spool")), stop_at


async def test_a_cancelled_import_without_journal_leaves_no_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    # The temporary directories go under this test's own directory: the system's is shared with
    # other runs, whose directories would come and go during this one.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    records = [{"Last_Name": f"L{i}"} for i in range(30)]
    plan = ImportPlan("Contacts", poll_interval=POLL, part_records=10)
    assert tempfile.gettempdir() == str(tmp_path)
    before = set(Path(tempfile.gettempdir()).glob("bigin-bulk-write-*"))
    for stop_at in range(1, 12):
        emulator = BiginEmulator()
        async with emulator.client() as bigin:
            with anyio.CancelScope() as scope:
                cancel_at = _CancelAt(scope, stop_at)
                await run_import(bigin.bulk_jobs, plan, records, on_progress=cancel_at)
        assert set(Path(tempfile.gettempdir()).glob("bigin-bulk-write-*")) == before, stop_at


@pytest.mark.parametrize("operation", ["insert", "upsert"])
async def test_cancelled_as_the_job_answer_arrives_the_job_is_kept_not_asked_again(
    tmp_path: Path, operation: Any
) -> None:
    # The job was created and its answer (with the id) reached the import, but the caller's
    # deadline fell right then: the id must still be journaled, so a resumed run polls that job
    # (an insert's records are not left unknown, an upsert's job is not created a second time).
    records = [{"Last_Name": f"L{i}", "Email": f"p{i}@example.test"} for i in range(5)]
    find_by = "Email" if operation == "upsert" else None
    plan = ImportPlan("Contacts", operation, find_by, poll_interval=POLL)
    journal = tmp_path / "import.journal"
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        with anyio.CancelScope() as scope:

            class CancelledOnAnswer:
                def __getattr__(self, name: str) -> Any:
                    return getattr(bigin.bulk_jobs, name)

                async def create_write(self, **options: Any) -> Any:
                    job = await bigin.bulk_jobs.create_write(**options)
                    scope.cancel()
                    return job

            await run_import(CancelledOnAnswer(), plan, records, journal_path=journal)
        result = await run_import(bigin.bulk_jobs, plan, records, journal_path=journal)
    assert sum(1 for job in emulator.jobs.jobs.values() if job.kind == "write") == 1
    assert [o.status for o in result.outcomes] == ["success"] * 5
    assert len(emulator.store.table("Contacts")) == 5


@pytest.mark.parametrize("count", [AUTO_JOBS_THRESHOLD_WRITE, AUTO_JOBS_THRESHOLD_WRITE + 1])
@pytest.mark.parametrize("kind", ["generator", "async generator"])
async def test_auto_reads_ahead_from_a_one_shot_stream_and_sends_each_record_once(
    count: int, kind: str
) -> None:
    def records() -> Iterator[dict[str, Any]]:
        for i in range(count):
            yield {"Last_Name": f"L{i}"}

    async def async_records() -> AsyncIterator[dict[str, Any]]:
        for record in records():
            yield record

    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        stream: Any = records() if kind == "generator" else async_records()
        result = await bigin.contacts.bulk_import(stream, via="auto", poll_interval=POLL)
    stored = sorted(int(record["Last_Name"][1:]) for record in emulator.store.table("Contacts"))
    assert stored == list(range(count))
    assert [o.index for o in result.outcomes] == list(range(count)) and result.ok
    jobs = sum(1 for job in emulator.jobs.jobs.values() if job.kind == "write")
    assert jobs == (1 if count > AUTO_JOBS_THRESHOLD_WRITE else 0)


async def test_an_update_that_clears_a_field_is_not_reported_done_by_a_job_that_keeps_it() -> None:
    # Through calls, None clears the field; a job leaves empty cells alone (ignore_empty). The
    # same update must not store different things depending on the way (auto: on the count).
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        made = await bigin.contacts.bulk_import(
            [{"Last_Name": f"L{i}", "Title": "Dr"} for i in range(2)], via="jobs", poll_interval=POLL
        )
        first, second = (str(o.id) for o in made.outcomes)
        result = await bigin.contacts.bulk_import(
            [{"id": first, "Title": None}, {"id": second, "Title": "Prof"}],
            operation="update",
            via="jobs",
            poll_interval=POLL,
        )
    titles = {record["id"]: record.get("Title") for record in emulator.store.table("Contacts")}
    cleared, updated = result.outcomes
    assert updated.ok and titles[second] == "Prof"
    assert cleared.ok == (titles[first] is None)
    assert cleared.status == "error" and cleared.details == {"api_name": "Title"}


def test_a_record_that_fits_200_columns_only_without_the_find_by_column_is_refused_alone(
    tmp_path: Path,
) -> None:
    # An upsert's parts all carry the find_by column: a keyless record of 200 other fields would
    # make a 201-column CSV, which the file host refuses (the whole part with it).
    writer = PartWriter(tmp_path, 1)
    writer.columns["Email"] = 0
    with pytest.raises(ValidationError, match="200"):
        writer.add(0, {f"F{i}": "x" for i in range(MAX_COLUMNS)})
    assert writer.add(1, {"Email": "a@x.test", **{f"F{i}": "x" for i in range(MAX_COLUMNS - 1)}})
    (part,) = writer.finish()
    assert len(part.columns) == MAX_COLUMNS


def test_a_key_with_more_result_rows_than_records_sent_is_left_unknown(tmp_path: Path) -> None:
    part = _zip(
        tmp_path / "part.zip",
        [["Last_Name", "Code"], ["Lee", "1.2.3"], ["Kim", "-Infinity"], ["Ray", "0.00"], ["Mo", "x"]],
    )
    result = _zip(
        tmp_path / "result.zip",
        [
            ["Last_Name", "Code", "STATUS", "RECORD_ID", "ERRORS"],
            ["Mo", "x", "ADDED", "4", ""],
            ["Mo", "x", "SKIPPED", "", "DUPLICATE_DATA-Last_Name"],  # two verdicts for one record
            ["Ray", "0", "ADDED", "3", ""],
            ["kim", "-infinity", "ADDED", "2", ""],
            ["Lee", "1.2.3", "ADDED", "1", ""],
        ],
    )
    rows = map_results(part, ["Last_Name", "Code"], result)
    assert [r.record_id if r else None for r in rows] == ["1", "2", "3", None]


async def test_a_workdir_in_use_refuses_the_run_and_frees_its_journal(tmp_path: Path) -> None:
    from bigin_async.bulk.jobs.write import _WorkdirLock

    fake = FakeJobs()
    journal, workdir = tmp_path / "import.journal", tmp_path / "work"
    held = _WorkdirLock(workdir)
    held.lock()
    try:
        with pytest.raises(JournalError, match="work directory"):
            await run_import(fake, faults_plan(), faults_contacts(5), journal_path=journal, workdir=workdir)
    finally:
        held.close()
    assert fake.calls == {}
    result = await run_import(fake, faults_plan(), faults_contacts(5), journal_path=journal, workdir=workdir)
    assert result.ok and result.total == 5
