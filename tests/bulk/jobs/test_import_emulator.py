"""bulk_import through Bulk Write jobs against the emulator: parts, outcomes in order, row errors on
the right records, shuffled results, split zips, refusals before sending, faults on the way, via."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from bigin_async.bulk import BulkProgress, RecordOutcome
from bigin_async.bulk.jobs.via import AUTO_JOBS_THRESHOLD_WRITE
from bigin_async.bulk.jobs.write import ImportPlan, run_import
from bigin_async.errors import ValidationError
from bigin_emulator import BiginEmulator

POLL = 0.001


def contacts(
    count: int, *, start: int = 0, missing_last_name: frozenset[int] = frozenset()
) -> list[dict[str, Any]]:
    return [
        {
            "Last_Name": None if i in missing_last_name else f"Last {i}",
            "First_Name": f"First {i}",
            "Email": f"person{i}@example.test",
        }
        for i in range(start, start + count)
    ]


def write_jobs(emulator: BiginEmulator) -> list[Any]:
    return [job for job in emulator.jobs.jobs.values() if job.kind == "write"]


def requests(emulator: BiginEmulator, route: str) -> int:
    counters = emulator.counters
    routes = {
        **counters.requests_by_route,
        **{f"content {k}": v for k, v in counters.file_host_by_route.items()},
    }
    return sum(n for name, n in routes.items() if name.endswith(route))


async def test_a_60000_record_upsert_runs_as_3_jobs_with_every_outcome_in_input_order(tmp_path: Path) -> None:
    emulator = BiginEmulator(shuffle_write_results=True)
    bad = frozenset({7, 25_003, 59_999})
    records = contacts(60_000, missing_last_name=bad)
    phases: list[tuple[str, int]] = []
    streamed: list[int] = []

    def progress(p: BulkProgress) -> None:
        if not phases or phases[-1] != (p.phase, p.part):
            phases.append((p.phase, p.part))

    def on_result(outcome: RecordOutcome) -> None:
        streamed.append(outcome.index)

    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(
            records,
            operation="upsert",
            find_by="Email",
            via="jobs",
            poll_interval=POLL,
            on_progress=progress,
            on_result=on_result,
            keep_outcomes=True,
            workdir=tmp_path / "parts",
        )
    assert len(write_jobs(emulator)) == 3
    assert streamed == list(range(60_000))
    assert [o.index for o in result.outcomes] == list(range(60_000))
    errors = {o.index: o for o in result.outcomes if o.status == "error"}
    assert set(errors) == bad
    assert {(o.code, o.details.get("api_name")) for o in errors.values()} == {
        ("MANDATORY_NOT_FOUND", "Last_Name")
    }
    assert all(
        o.status == "success" and o.action == "insert" and o.id for o in result.outcomes if o.index not in bad
    )
    # Each record's id is the record the store holds for that record's email.
    by_email = {r["Email"]: r["id"] for r in emulator.store.table("Contacts")}
    assert all(by_email[records[o.index]["Email"]] == o.id for o in result.outcomes[::997] if o.ok)
    assert len(emulator.store.table("Contacts")) == 60_000 - len(bad)
    assert {"writing", "uploading", "waiting", "reading"} <= {phase for phase, _ in phases}
    assert {part for _, part in phases} >= {1, 2, 3}
    assert not list((tmp_path / "parts").glob("part-*.zip"))  # parts removed once their results are read


async def test_an_upsert_again_updates_and_keep_outcomes_false_keeps_nothing(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        await bigin.contacts.bulk_import(contacts(300), operation="upsert", via="jobs", poll_interval=POLL)
        seen: list[RecordOutcome] = []
        again = await bigin.contacts.bulk_import(
            contacts(300), operation="upsert", via="jobs", poll_interval=POLL, on_result=seen.append
        )
    assert again.outcomes == [] and again.total == 300 and again.actions["update"] == 300
    assert [o.action for o in seen] == ["update"] * 300
    assert len(emulator.store.table("Contacts")) == 300


async def test_an_update_by_email_and_by_id(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        made = await bigin.contacts.bulk_import(contacts(50), via="jobs", poll_interval=POLL)
        by_email = [{"Email": f"person{i}@example.test", "Title": "Dr"} for i in range(50)]
        by_email.append({"Email": "nobody@example.test", "Title": "Dr"})
        updated = await bigin.contacts.bulk_import(
            by_email, operation="update", find_by="Email", poll_interval=POLL
        )
        by_id = [{"id": o.id, "Title": "Prof"} for o in made.outcomes[:10]]
        again = await bigin.contacts.bulk_update(by_id, via="jobs")
    assert updated.actions["update"] == 50 and updated.outcomes[-1].status == "error"
    assert again.actions["update"] == 10
    titles = [r.get("Title") for r in emulator.store.table("Contacts")]
    assert titles.count("Prof") == 10 and titles.count("Dr") == 40


async def test_records_refused_before_sending_keep_their_place(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    records: list[Any] = contacts(5)
    records.insert(2, "not a record")
    records.insert(4, {"Last_Name": "Lookup", "Account_Name": {"name": "no id"}})
    records.append({"First_Name": "no last name"})
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(records, via="jobs", poll_interval=POLL)
    assert [o.status for o in result.outcomes] == [
        "success",
        "success",
        "error",
        "success",
        "error",
        "success",
        "success",
        "error",
    ]
    assert result.outcomes[7].code == "MANDATORY_NOT_FOUND" and result.outcomes[2].code == "INVALID_INPUT"
    assert len(write_jobs(emulator)) == 1


async def test_a_zip_over_25_mb_is_split_before_upload(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    # Random base64 (6 bits a character): 48 records of 750,000 characters zip to ~27 MB, more than
    # one upload takes (25 MB).
    records = [
        {
            "Last_Name": f"Wide {i}",
            "Email": f"wide{i}@example.test",
            "Description": base64.b64encode(os.urandom(562_500)).decode(),
        }
        for i in range(48)
    ]
    parts: set[int] = set()
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(
            records, via="jobs", poll_interval=POLL, on_progress=lambda p: parts.add(p.part)
        )
    assert len(write_jobs(emulator)) == 2
    assert requests(emulator, "POST /bigin/v2/upload") == 2
    assert result.total == 48 and [o.index for o in result.outcomes] == list(range(48))
    assert all(o.code != "FILE_SIZE_EXCEEDED" for o in result.outcomes)


async def test_notes_are_refused_before_anything_is_sent() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        with pytest.raises(ValidationError, match="Notes"):
            await bigin.notes.bulk_import([{"Note_Content": "x"}] * 10, via="jobs")
        with pytest.raises(ValidationError, match="Notes"):
            await bigin.notes.bulk_import([{"Note_Content": "x"}] * 10)
        with pytest.raises(ValidationError, match="cannot go through Bulk Write jobs"):
            await bigin.notes.bulk_create([{"Note_Content": "x"}], via="jobs")
    assert emulator.counters.requests_total == 0


@pytest.mark.parametrize("count", [AUTO_JOBS_THRESHOLD_WRITE - 1, AUTO_JOBS_THRESHOLD_WRITE + 1])
@pytest.mark.parametrize("as_generator", [False, True])
async def test_auto_picks_calls_up_to_the_threshold_and_jobs_above(count: int, as_generator: bool) -> None:
    emulator = BiginEmulator()
    records = contacts(count)

    async def stream() -> Any:
        for record in records:
            yield record

    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(stream() if as_generator else records, poll_interval=POLL)
    jobs = len(write_jobs(emulator))
    calls = requests(emulator, "POST /bigin/v2/Contacts")
    if count > AUTO_JOBS_THRESHOLD_WRITE:
        assert (jobs, calls) == (1, 0)
    else:
        assert jobs == 0 and calls == -(-count // 100)
    assert result.total == count and result.actions["insert"] == count
    assert [o.index for o in result.outcomes] == list(range(count))


async def test_via_on_the_call_based_methods() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        created = await bigin.contacts.bulk_create(contacts(20), via="jobs")
        upserted = await bigin.contacts.bulk_upsert(contacts(30), via="jobs")  # Email: the unique field
        by_calls = await bigin.contacts.bulk_upsert(contacts(5, start=100), ["Email"], via="auto")
        with pytest.raises(ValidationError, match="workflows"):
            await bigin.contacts.bulk_create(contacts(1), via="jobs", trigger=["workflow"])
        with pytest.raises(ValidationError, match="one unique field"):
            await bigin.contacts.bulk_upsert(contacts(1), ["Email", "Phone"], via="jobs")
        with pytest.raises(ValidationError, match="via must be"):
            await bigin.contacts.bulk_create(contacts(1), via="sideways")  # type: ignore[arg-type]
    assert created.actions["insert"] == 20
    assert (upserted.actions["update"], upserted.actions["insert"]) == (20, 10)
    assert by_calls.actions["insert"] == 5 and len(write_jobs(emulator)) == 2


async def test_bulk_import_via_calls_maps_to_the_call_based_methods() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        made = await bigin.contacts.bulk_import(contacts(10), via="calls")
        upserted = await bigin.contacts.bulk_import(contacts(12), operation="upsert", via="calls")
        updated = await bigin.contacts.bulk_import(
            [{"id": o.id, "Title": "x"} for o in made.outcomes], operation="update", via="calls"
        )
        with pytest.raises(ValidationError, match="by id"):
            await bigin.contacts.bulk_import(
                [{"Email": "a@b.test"}], operation="update", find_by="Email", via="calls"
            )
        with pytest.raises(ValidationError, match="operation"):
            await bigin.contacts.bulk_import([], operation="merge", via="calls")  # type: ignore[arg-type]
    assert (made.actions["insert"], upserted.actions["update"], upserted.actions["insert"]) == (10, 10, 2)
    assert updated.actions["update"] == 10 and not write_jobs(emulator)


async def test_a_lost_upload_answer_is_uploaded_again_and_the_job_created_once() -> None:
    emulator = BiginEmulator()
    emulator.job_faults.drop_upload_answers = 1
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(contacts(40), via="jobs", poll_interval=POLL)
    assert result.actions["insert"] == 40
    assert requests(emulator, "POST /bigin/v2/upload") == 2  # the first file waits unused: harmless
    assert len(write_jobs(emulator)) == 1
    assert len(emulator.store.table("Contacts")) == 40


async def test_a_lost_job_answer_leaves_inserts_unknown_and_asks_again_for_upserts() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        emulator.job_faults.drop_create_answers = 1
        inserted = await bigin.contacts.bulk_import(contacts(30), via="jobs", poll_interval=POLL)
        assert {o.status for o in inserted.outcomes} == {"unknown"}
        assert {o.code for o in inserted.outcomes} == {"UNKNOWN_FATE"}
        assert len(write_jobs(emulator)) == 1  # created (and it ran), never asked for again
        emulator.job_faults.drop_create_answers = 1
        upserted = await bigin.contacts.bulk_import(
            contacts(30, start=100), operation="upsert", via="jobs", poll_interval=POLL
        )
    assert upserted.counts["success"] == 30
    assert len(write_jobs(emulator)) == 3  # the lost one, and the one asked for again
    emails = [r["Email"] for r in emulator.store.table("Contacts")]
    upserted_emails = [f"person{i}@example.test" for i in range(100, 130)]
    assert all(emails.count(email) == 1 for email in upserted_emails)  # applied twice, no duplicates


async def test_a_failed_job_makes_its_records_errors_and_the_run_goes_on() -> None:
    emulator = BiginEmulator()
    emulator.job_faults.fail_jobs = 1
    async with emulator.client() as bigin:
        plan = ImportPlan("Contacts", "insert", poll_interval=POLL, part_records=10)
        result = await run_import(bigin.bulk_jobs, plan, contacts(25))
    statuses = [o.status for o in result.outcomes]
    assert statuses == ["error"] * 10 + ["success"] * 15
    assert {o.code for o in result.outcomes[:10]} == {"BULK_JOB_FAILED"}
    assert all(o.details.get("job_id") for o in result.outcomes[:10])
    assert len(write_jobs(emulator)) == 3


async def test_a_callback_url_goes_with_each_job() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(
            contacts(12), via="jobs", poll_interval=POLL, callback_url="https://hooks.example.test/bulk"
        )
    assert result.actions["insert"] == 12
    assert [dict(job.callback or {}).get("url") for job in write_jobs(emulator)] == [
        "https://hooks.example.test/bulk"
    ]
