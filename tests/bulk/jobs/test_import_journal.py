"""Resuming Bulk Write imports in one process: what each journaled state makes the next run do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bigin_async.bulk import BulkResult, RecordOutcome
from bigin_async.bulk.jobs.via import choose_via, journal_way
from bigin_async.bulk.jobs.write import ImportPlan, Operation, run_import
from bigin_async.client import BiginClient
from bigin_async.errors import JournalError, ValidationError
from bigin_emulator import BiginEmulator

POLL = 0.001


def contacts(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Last_Name": f"L{i}", "Email": f"p{i}@example.test"} for i in range(start, start + count)]


def write_jobs(emulator: BiginEmulator) -> int:
    return sum(1 for job in emulator.jobs.jobs.values() if job.kind == "write")


async def run(
    bigin: BiginClient,
    records: Any,
    journal: Path,
    operation: Operation = "insert",
    part: int = 10,
    **options: Any,
) -> BulkResult:
    plan = ImportPlan(
        "Contacts",
        operation,
        "Email" if operation == "upsert" else None,
        poll_interval=POLL,
        part_records=part,
    )
    return await run_import(bigin.bulk_jobs, plan, records, journal_path=journal, **options)


async def test_an_insert_whose_job_answer_was_lost_stays_unknown_on_resume(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    journal = tmp_path / "import.journal"
    async with emulator.client() as bigin:
        emulator.job_faults.drop_create_answers = 1
        first = await run(bigin, contacts(25), journal)
        assert [o.status for o in first.outcomes] == ["unknown"] * 10 + ["success"] * 15
        emulator.counters.reset()
        again = await run(bigin, contacts(25), journal)
    assert [o.status for o in again.outcomes] == ["unknown"] * 10 + ["success"] * 15
    assert all(o.from_journal for o in again.outcomes)
    assert write_jobs(emulator) == 3  # nothing asked for again
    assert emulator.counters.requests_total == 0


async def test_a_resume_with_another_input_is_refused_before_that_part_is_sent(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    journal = tmp_path / "import.journal"
    async with emulator.client() as bigin:
        await run(bigin, contacts(20), journal)
        emulator.counters.reset()
        changed = contacts(20)
        changed[14]["Last_Name"] = "Changed"
        with pytest.raises(
            JournalError, match="part 2 .*records 11 to 20.* not the input of the run being resumed"
        ):
            await run(bigin, changed, journal)
    assert emulator.counters.requests_total == 0
    assert write_jobs(emulator) == 2


async def test_a_failed_job_is_reported_again_not_created_again(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    journal = tmp_path / "import.journal"
    async with emulator.client() as bigin:
        emulator.job_faults.fail_jobs = 1
        first = await run(bigin, contacts(15), journal)
        again = await run(bigin, contacts(15), journal)
    assert [o.code for o in again.outcomes] == [o.code for o in first.outcomes]
    assert {o.code for o in again.outcomes[:10]} == {"BULK_JOB_FAILED"} and again.outcomes[0].from_journal
    assert write_jobs(emulator) == 2


async def test_a_lost_or_damaged_result_file_is_downloaded_again(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    journal = tmp_path / "import.journal"
    async with emulator.client() as bigin:
        first = await run(bigin, contacts(15), journal)
        results = sorted((tmp_path / "import.journal.parts").glob("*.result.zip"))
        assert len(results) == 2
        results[0].unlink()
        results[1].write_bytes(b"damaged")
        emulator.counters.reset()
        again = await run(bigin, contacts(15), journal)
    assert [o.id for o in again.outcomes] == [o.id for o in first.outcomes]
    assert emulator.counters.requests_by_route.get("GET /bigin/bulk/v2/write/{id}/result") == 2
    assert write_jobs(emulator) == 2


async def test_auto_keeps_the_way_of_the_journal_it_resumes(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    jobs_journal, calls_journal = tmp_path / "jobs.journal", tmp_path / "calls.journal"
    async with emulator.client() as bigin:
        await bigin.contacts.bulk_import(contacts(12), via="jobs", journal=jobs_journal, poll_interval=POLL)
        await bigin.contacts.bulk_import(contacts(3, 50), via="calls", journal=calls_journal)
        assert (journal_way(jobs_journal), journal_way(calls_journal)) == ("jobs", "calls")
        assert journal_way(tmp_path / "none.journal") is None
        (tmp_path / "garbage").write_text("nope")
        assert journal_way(tmp_path / "garbage") is None
        emulator.counters.reset()
        again = await bigin.contacts.bulk_import(contacts(12), journal=jobs_journal, poll_interval=POLL)
    assert again.skipped == 12 and emulator.counters.requests_total == 0
    many = contacts(6_000)
    way, chosen = await choose_via("auto", iter(many), journal=calls_journal)
    assert way == "calls" and chosen is not many and list(chosen) == many  # type: ignore[arg-type]
    with pytest.raises(JournalError, match="not the header of a Bulk Write jobs journal"):
        async with emulator.client() as bigin:
            await bigin.contacts.bulk_import(contacts(3), via="jobs", journal=calls_journal)


async def test_the_callers_exception_stops_the_run_and_is_raised_as_itself(tmp_path: Path) -> None:
    emulator = BiginEmulator()

    def on_result(outcome: RecordOutcome) -> None:
        if outcome.index == 12:
            raise RuntimeError("caller says stop")

    async def failing() -> Any:
        for record in contacts(15):
            yield record
        raise KeyError("the input broke")

    async with emulator.client() as bigin:
        with pytest.raises(RuntimeError, match="caller says stop"):
            await run(bigin, contacts(40), tmp_path / "a.journal", on_result=on_result)
        assert write_jobs(emulator) <= 3
        with pytest.raises(KeyError, match="the input broke"):
            await run(bigin, failing(), tmp_path / "b.journal")


async def test_plans_a_job_cannot_run_are_refused_before_sending() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        for plan, match in [
            (ImportPlan("Notes"), "Notes"),
            (ImportPlan("Contacts", "delete"), "operation"),  # type: ignore[arg-type]
            (ImportPlan("Contacts", "insert", "Email"), "find_by is for update"),
            (ImportPlan("Contacts", "upsert"), "needs find_by"),
            (ImportPlan("Contacts", "upsert", "id"), "not by id"),
            (ImportPlan("Contacts", max_parallel_jobs=0), "max_parallel_jobs"),
            (ImportPlan("Contacts", part_records=25_001), "part_records"),
            (ImportPlan("Contacts", poll_interval=-1), "poll_interval"),
        ]:
            with pytest.raises(ValidationError, match=match):
                await run_import(bigin.bulk_jobs, plan, contacts(1))
        with pytest.raises(ValidationError, match="not one value"):
            await run_import(bigin.bulk_jobs, ImportPlan("Contacts"), {"Last_Name": "x"})
    assert emulator.counters.requests_total == 0


async def test_parallel_jobs_keep_input_order(tmp_path: Path) -> None:
    emulator = BiginEmulator(shuffle_write_results=True)
    async with emulator.client() as bigin:
        plan = ImportPlan(
            "Contacts", "upsert", "Email", poll_interval=POLL, part_records=7, max_parallel_jobs=3
        )
        result = await run_import(bigin.bulk_jobs, plan, contacts(50))
    assert [o.index for o in result.outcomes] == list(range(50)) and result.actions["insert"] == 50
    assert write_jobs(emulator) == 8


async def test_a_resume_with_a_shorter_input_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = BiginEmulator()
    journal = tmp_path / "import.journal"
    async with emulator.client() as bigin:
        await run(bigin, contacts(30), journal)
        with caplog.at_level("WARNING"):
            shorter = await run(bigin, contacts(20), journal)
    assert shorter.total == 20 and all(o.from_journal for o in shorter.outcomes)
    assert "holds 1 parts past the end of this input (from part 3)" in caplog.text
    assert write_jobs(emulator) == 3


async def test_a_relative_journal_resumed_from_another_directory_finds_its_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = BiginEmulator()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    async with emulator.client() as bigin:
        await run(bigin, contacts(12), Path("import.journal"))
        monkeypatch.chdir(tmp_path / "elsewhere")
        emulator.counters.reset()
        again = await run(bigin, contacts(12), tmp_path / "import.journal")
    assert again.ok and all(o.from_journal for o in again.outcomes)
    assert emulator.counters.requests_total == 0
