"""The Bulk Write jobs journal: stages read back, torn tails cut, foreign or damaged journals refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bigin_async.bulk.jobs.journal import JobJournal
from bigin_async.bulk.journal import Journal
from bigin_async.errors import JournalError


def journal(path: Path, operation: str = "upsert") -> JobJournal:
    return JobJournal(path, module="Contacts", operation=operation)


async def write_stages(path: Path) -> None:
    log = journal(path)
    log.lock_and_load()
    try:
        await log.log_written(1, sha256="a" * 64, first=0, last=9, rows=10, path="/p/1.zip", keyed=True)
        await log.log_uploaded(1, "111")
        await log.log_creating(1)
        await log.log_created(1, "job-1")
        await log.log_completed(1, "/bigin/bulk/v2/write/job-1/result")
        await log.log_results(1, path="/p/1.result.zip", sha256="b" * 64)
        await log.log_written(2, sha256="c" * 64, first=10, last=12, rows=3, path="/p/2.zip", keyed=False)
        await log.log_uploaded(2, "222")
        await log.log_creating(2)
        await log.log_written(3, sha256="d" * 64, first=13, last=13, rows=1, path="/p/3.zip", keyed=True)
        await log.log_failed(3, code="BULK_JOB_FAILED", message="boom", job_id="job-3")
    finally:
        log.close()


async def test_every_stage_is_read_back(tmp_path: Path) -> None:
    path = tmp_path / "import.journal"
    await write_stages(path)
    log = journal(path)
    log.lock_and_load()
    log.close()
    one, two, three = log.parts[1], log.parts[2], log.parts[3]
    assert (one.file_id, one.job_id, one.download_url, one.results_path) == (
        "111",
        "job-1",
        "/bigin/bulk/v2/write/job-1/result",
        "/p/1.result.zip",
    )
    assert not one.ambiguous
    assert two.ambiguous and not two.keyed and two.creating == 1 and two.job_id is None
    assert (three.failed_code, three.failed_message, three.job_id) == ("BULK_JOB_FAILED", "boom", "job-3")
    assert not three.ambiguous


async def test_a_torn_tail_is_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "import.journal"
    await write_stages(path)
    with path.open("ab") as handle:
        handle.write(b'{"t":"created","p":2,"job_')
    log = journal(path)
    log.lock_and_load()
    assert log.parts[2].job_id is None  # the torn line never happened
    await log.log_created(2, "job-2")
    log.close()
    lines = path.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    again = journal(path)
    again.load()
    assert again.parts[2].job_id == "job-2"


async def test_a_call_based_journal_is_not_taken_for_a_jobs_journal(tmp_path: Path) -> None:
    path = tmp_path / "calls.journal"
    calls = Journal(path, module="Contacts", mode="upsert")
    calls.lock()
    await calls.log_pending([0], ["0" * 32])
    calls.close()
    with pytest.raises(JournalError, match="not the header of a Bulk Write jobs journal"):
        journal(path).load()
    jobs = tmp_path / "jobs.journal"
    await write_stages(jobs)
    with pytest.raises(JournalError, match="line 1"):
        Journal(jobs, module="Contacts", mode="upsert").load()


async def test_a_journal_of_another_operation_or_module_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "import.journal"
    await write_stages(path)
    with pytest.raises(JournalError, match="upsert of Contacts, not a insert"):
        journal(path, "insert").load()
    with pytest.raises(JournalError, match="not a upsert of Accounts"):
        JobJournal(path, module="Accounts", operation="upsert").load()


@pytest.mark.parametrize(
    "line",
    [
        '{"t":"uploaded","p":9,"file_id":"1"}',  # a part never written
        '{"t":"created","p":1,"job_id":""}',
        '{"t":"written","p":1,"sha256":"f","first":0,"last":0,"rows":1,"path":"x"}',  # other contents
        '{"t":"sideways","p":1}',
        '{"t":"created","p":0,"job_id":"x"}',
        '["not", "an", "object"]',
        "{broken json",
    ],
)
async def test_a_line_that_is_not_a_journal_record_is_an_error_naming_it(tmp_path: Path, line: str) -> None:
    path = tmp_path / "import.journal"
    await write_stages(path)
    count = len(path.read_text().splitlines())
    with path.open("a") as handle:
        handle.write(line + "\n")
    with pytest.raises(JournalError, match=f"line {count + 1}"):
        journal(path).load()


async def test_a_newer_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "import.journal"
    path.write_text(
        '{"t":"header","kind":"bulk-write-jobs","module":"Contacts","operation":"upsert","v":99}\n'
    )
    with pytest.raises(JournalError, match="newer"):
        journal(path).load()


async def test_a_torn_header_of_a_new_journal_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "import.journal"
    path.write_bytes(b'{"t":"header","kind":"bulk-wr')
    log = journal(path)
    log.lock_and_load()
    await log.log_written(1, sha256="a" * 64, first=0, last=0, rows=1, path="x", keyed=True)
    log.close()
    again = journal(path)
    again.load()
    assert list(again.parts) == [1]


async def test_one_run_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "import.journal"
    first = journal(path)
    first.lock()
    try:
        with pytest.raises(JournalError, match="in use"):
            journal(path).lock()
    finally:
        first.close()
    again = journal(path)
    again.lock_and_load()  # released: a new run takes it
    again.close()


def test_the_file_machinery_needs_a_subclass_to_say_what_its_lines_mean(tmp_path: Path) -> None:
    from bigin_async.bulk.logfile import AppendOnlyLog

    bare = AppendOnlyLog(tmp_path / "bare")
    with pytest.raises(NotImplementedError):
        bare._new_header()
    with pytest.raises(NotImplementedError):
        bare._header({})
    with pytest.raises(NotImplementedError):
        bare._apply(2, {})


def test_a_lock_held_by_another_process_stops_the_run(tmp_path: Path) -> None:
    from bigin_async._filelock import try_lock, unlock

    path = tmp_path / "import.journal"
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)  # another holder of the lock
    try:
        assert try_lock(fd)
        with pytest.raises(JournalError, match="in use"):
            journal(path).lock()
        unlock(fd)
    finally:
        os.close(fd)
    log = journal(path)
    log.lock()  # free again, for this process too (nothing was left marked in use)
    log.close()
