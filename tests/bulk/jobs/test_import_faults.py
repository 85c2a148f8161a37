"""run_import against a scripted jobs API: every way a step can fail, and memory flat in the record count.

The fake answers as Zoho does (a result zip echoing the part's columns, row for row) and can be
told to fail any step; it keeps nothing of the records, so the memory measured is the import's.
"""

from __future__ import annotations

import csv
import gc
import io
import os
import tracemalloc
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bigin_async.bulk import BulkAbortedError, BulkProgress, RecordOutcome
from bigin_async.bulk.jobs.write import ImportPlan, run_import
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BiginConnectionError,
    BulkJobFailedError,
    JournalError,
)


@dataclass
class Job:
    id: str
    state: str = "COMPLETED"
    download_url: str | None = None


@dataclass
class FakeJobs:
    """A jobs API: ``faults`` maps a step to the errors (or values) its next calls raise (or return)."""

    faults: dict[str, list[Any]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)  # job id -> file id
    calls: dict[str, int] = field(default_factory=dict)
    mappings: list[Any] = field(default_factory=list)

    def _step(self, name: str) -> Any:
        self.calls[name] = self.calls.get(name, 0) + 1
        queue = self.faults.get(name)
        if queue:
            fault = queue.pop(0)
            if isinstance(fault, BaseException):
                raise fault
            return fault
        return None

    async def upload(self, file: str | os.PathLike[str]) -> Any:
        self._step("upload")
        file_id = str(1000 + len(self.files))
        self.files[file_id] = Path(file)
        return type("Uploaded", (), {"file_id": file_id})()

    async def create_write(self, *, file_id: str, field_mappings: Any, **options: Any) -> Any:
        self._step("create")
        assert file_id in self.files and file_id not in self.jobs.values(), "a file used twice"
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = file_id
        self.mappings.append(field_mappings)
        return Job(job_id, "ADDED")

    async def wait_write(self, job_id: str, *, poll_interval: float = 5.0, on_state: Any = None) -> Any:
        answer = self._step("wait")
        if on_state is not None:
            on_state(Job(job_id, "IN PROGRESS"))
        if answer == "no-url":
            return Job(job_id)
        return Job(job_id, download_url=f"/bigin/bulk/v2/write/{job_id}/result")

    async def download(self, url_or_job: Any, *, to: str | os.PathLike[str]) -> Path:
        answer = self._step("download")
        job_id = str(url_or_job).split("/")[-2]
        target = Path(to)
        if answer == "garbage":
            target.write_bytes(b"not a zip")
            return target
        with (
            zipfile.ZipFile(self.files[self.jobs[job_id]]) as archive,
            archive.open(archive.namelist()[0]) as raw,
        ):
            rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            header = next(rows)
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out, out.open("r.csv", "w") as sink:
                text = io.TextIOWrapper(sink, encoding="utf-8", newline="")
                writer = csv.writer(text)
                writer.writerow([*header, "STATUS", "RECORD_ID", "ERRORS"])
                for number, row in enumerate(rows):
                    writer.writerow([*row, "ADDED", f"{job_id}-{number}", ""])
                text.flush()
                text.detach()
        return target


def contacts(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield {"Last_Name": f"Last {i}", "Email": f"p{i}@example.test", "Account_Name": {"id": str(7000 + i)}}


def plan(operation: Any = "insert", **options: Any) -> ImportPlan:
    find_by = "Email" if operation == "upsert" else "id" if operation == "update" else None
    return ImportPlan("Contacts", operation, find_by, poll_interval=0, part_records=10, **options)


async def test_lookups_are_mapped_by_id_and_progress_names_each_phase() -> None:
    fake = FakeJobs()
    seen: list[tuple[str, int, str | None]] = []

    def progress(p: BulkProgress) -> None:
        seen.append((p.phase, p.part, p.job_state))

    result = await run_import(fake, plan(), contacts(15), on_progress=progress)
    assert [o.id for o in result.outcomes[:2]] == ["job-1-0", "job-1-1"]
    first = fake.mappings[0]
    assert [(m.api_name, m.index, m.find_by) for m in first] == [
        ("Last_Name", 0, None),
        ("Email", 1, None),
        ("Account_Name", 2, "id"),
    ]
    assert ("waiting", 1, "IN PROGRESS") in seen and seen[-1][0] in ("reading", "writing")
    assert {phase for phase, _, _ in seen} == {"writing", "uploading", "waiting", "reading"}


async def test_an_upload_whose_answer_keeps_being_lost_leaves_the_part_unknown_but_runs_on() -> None:
    lost = [AmbiguousWriteError("lost") for _ in range(3)]
    fake = FakeJobs(faults={"upload": lost})
    result = await run_import(fake, plan(), contacts(15))
    assert [o.status for o in result.outcomes] == ["unknown"] * 10 + ["success"] * 5
    assert fake.calls["upload"] == 4 and len(fake.jobs) == 1


async def test_a_refused_job_is_an_error_and_a_refused_file_is_uploaded_again(tmp_path: Path) -> None:
    refused = APIError("no such module", status_code=400, code="NOT_SUPPORTED")
    fake = FakeJobs(faults={"create": [refused]})
    journal = tmp_path / "j"
    result = await run_import(fake, plan(), contacts(15), journal_path=journal)
    assert {o.code for o in result.outcomes[:10]} == {"NOT_SUPPORTED"} and result.outcomes[10].ok
    again = await run_import(FakeJobs(), plan(), contacts(15), journal_path=journal)
    assert again.outcomes[0].from_journal and again.outcomes[0].code == "NOT_SUPPORTED"

    # An earlier run uploaded, then died; the file it left is no longer taken: uploaded anew.
    used = APIError("file used", status_code=400, code="INVALID_DATA", details={"api_name": "file_id"})
    fake = FakeJobs()
    other = tmp_path / "k"
    kept = await run_import(fake, plan(), contacts(5), journal_path=other)
    assert kept.ok
    text = other.read_text().splitlines()
    other.write_text(
        "\n".join(
            line
            for line in text
            if '"t":"creating"' not in line
            and "created" not in line
            and "completed" not in line
            and "results" not in line
        )
        + "\n"
    )
    fake.faults["create"] = [used]
    resumed = await run_import(fake, plan(), contacts(5), journal_path=other)
    assert resumed.ok and fake.calls["upload"] == 2 and fake.calls["create"] == 3


async def test_a_job_that_cannot_be_read_or_downloaded_is_unknown_and_resumable(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    fake = FakeJobs(
        faults={"wait": [BiginConnectionError("down")], "download": [None, BiginConnectionError("down")]}
    )
    result = await run_import(fake, plan(), contacts(25), journal_path=journal)
    assert [o.status for o in result.outcomes] == ["unknown"] * 10 + ["success"] * 10 + ["unknown"] * 5
    assert {o.code for o in result.outcomes if o.status == "unknown"} == {"UNKNOWN_FATE"}
    again = await run_import(fake, plan(), contacts(25), journal_path=journal)
    assert again.ok and len(fake.jobs) == 3  # polled and downloaded, nothing created again


async def test_a_failed_job_a_result_without_url_and_an_unreadable_result() -> None:
    fake = FakeJobs(
        faults={"wait": [BulkJobFailedError("failed", job_id="job-1"), "no-url"], "download": ["garbage"]}
    )
    result = await run_import(fake, plan(), contacts(35))
    codes = [o.code for o in result.outcomes]
    assert codes[:10] == ["BULK_JOB_FAILED"] * 10
    assert codes[10:20] == ["NO_RESULT"] * 10
    assert codes[20:30] == ["UNREADABLE_RESULT"] * 10
    assert all(o.ok for o in result.outcomes[30:])


async def test_a_revoked_token_stops_the_run_with_every_record_accounted_for() -> None:
    revoked = AuthenticationError("revoked", status_code=401, code="INVALID_TOKEN")
    fake = FakeJobs(faults={"wait": [None, revoked]})
    with pytest.raises(BulkAbortedError) as caught:
        await run_import(fake, plan(max_parallel_jobs=1), contacts(45))
    result = caught.value.result
    statuses = [o.status for o in result.outcomes]
    assert statuses[:10] == ["success"] * 10 and statuses[10:20] == ["unknown"] * 10
    assert set(statuses[20:]) <= {"error"} and len(fake.jobs) == 2
    revoked_at_upload = FakeJobs(faults={"upload": [revoked]})
    with pytest.raises(BulkAbortedError) as caught:
        await run_import(revoked_at_upload, plan(), contacts(5))
    assert {o.code for o in caught.value.result.outcomes} == {"INVALID_TOKEN"}


async def test_an_unwritable_journal_stops_the_run(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    fake = FakeJobs()
    broken: list[Any] = []
    from bigin_async.bulk.jobs.journal import JobJournal

    real = JobJournal.log_created

    async def fail(self: JobJournal, number: int, job_id: str) -> None:
        broken.append(job_id)
        raise JournalError("disk full", path=str(journal))

    JobJournal.log_created = fail  # type: ignore[method-assign]
    try:
        with pytest.raises(JournalError, match="disk full"):
            await run_import(fake, plan(), contacts(25), journal_path=journal)
    finally:
        JobJournal.log_created = real  # type: ignore[method-assign]
    assert broken == ["job-1"] and len(fake.jobs) == 1


def peak_of(count: int, tmp_path: Path) -> int:
    import anyio

    seen = [0]

    def on_result(outcome: RecordOutcome) -> None:
        seen[0] += 1

    async def main() -> None:
        big = ImportPlan("Contacts", "insert", poll_interval=0, part_records=500)
        result = await run_import(FakeJobs(), big, contacts(count), on_result=on_result, workdir=tmp_path)
        assert result.outcomes == [] and result.total == count

    gc.collect()
    tracemalloc.start()
    try:
        anyio.run(main)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_flat_in_the_record_count(tmp_path: Path) -> None:
    small = peak_of(2_000, tmp_path / "small")
    large = peak_of(12_000, tmp_path / "large")
    assert large < small * 1.5 + 200_000, (small, large)  # six times the records, not six times the memory


async def test_a_lost_job_answer_for_an_upsert_with_keyless_records_is_not_asked_again() -> None:
    records = list(contacts(10))
    records[3] = {"Last_Name": "no email"}  # an upsert without its find_by value inserts: not harmless
    fake = FakeJobs(faults={"create": [AmbiguousWriteError("lost")]})
    result = await run_import(fake, plan("upsert"), records)
    assert {o.status for o in result.outcomes} == {"unknown"} and fake.calls["create"] == 1
    keyed = FakeJobs(faults={"create": [AmbiguousWriteError("lost")]})
    again = await run_import(keyed, plan("upsert"), contacts(10))
    assert again.ok and keyed.calls == {"upload": 2, "create": 2, "wait": 1, "download": 1}


async def test_many_records_refused_before_sending_are_released_in_stretches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bigin_async.bulk.jobs import write

    monkeypatch.setattr(write, "_SETTLED_CAP", 4)
    records: list[Any] = []
    for i, record in enumerate(contacts(12)):
        records.append(record)
        if i % 2:
            records.extend(["bad"] * 3)
    seen: list[int] = []
    result = await run_import(FakeJobs(), plan(), records, on_result=lambda o: seen.append(o.index))
    assert seen == list(range(len(records)))
    assert result.counts["error"] == 18 and result.counts["success"] == 12


async def test_an_update_by_a_field_needs_that_field() -> None:
    fake = FakeJobs()
    update = ImportPlan("Contacts", "update", "Email", poll_interval=0)
    result = await run_import(fake, update, [{"Email": "a@x.test", "Title": "t"}, {"Title": "no email"}, 42])
    assert [o.status for o in result.outcomes] == ["success", "error", "error"]
    assert result.outcomes[1].details == {"api_name": "Email"} and result.outcomes[2].code == "INVALID_INPUT"
    by_id = await run_import(fake, plan("update"), [{"id": "123", "Title": "x"}, {"Title": "no id"}])
    assert [o.status for o in by_id.outcomes] == ["success", "error"]
    assert fake.mappings[-1][0].api_name == "id"


async def test_the_front_door_decides_by_count_and_refuses_unknown_ways() -> None:
    from bigin_async.bulk.jobs.via import choose_via
    from bigin_async.errors import ValidationError

    def generate(count: int) -> Iterator[int]:
        yield from range(count)

    way, chosen = await choose_via("auto", generate(11), threshold=10)
    assert way == "jobs" and list(chosen) == list(range(11))  # type: ignore[arg-type]
    way, chosen = await choose_via("auto", generate(10), threshold=10)
    assert way == "calls" and list(chosen) == list(range(10))  # type: ignore[arg-type]
    assert (await choose_via("auto", list(range(11)), threshold=10))[0] == "jobs"
    assert (await choose_via("jobs", []))[0] == "jobs"
    with pytest.raises(ValidationError, match="via must be"):
        await choose_via("fast", [])  # type: ignore[arg-type]


async def test_a_job_refused_before_it_went_out_is_asked_for_on_resume(tmp_path: Path) -> None:
    from bigin_async.errors import BudgetExhaustedError

    journal = tmp_path / "j"
    spent = FakeJobs(faults={"create": [BudgetExhaustedError("no credits left today", remaining=10)]})
    with pytest.raises(BulkAbortedError) as caught:
        await run_import(spent, plan(), contacts(5), journal_path=journal)
    assert {o.status for o in caught.value.result.outcomes} == {"error"}  # not sent: not unknown
    assert '"t":"unsent"' in journal.read_text()
    resumed = await run_import(spent, plan(), contacts(5), journal_path=journal)
    assert resumed.ok and len(spent.jobs) == 1  # an insert, asked for again: the first never went out
    assert spent.calls["upload"] == 1  # its uploaded file reused


async def test_each_stretch_is_told_in_input_order_and_the_told_add_up_even_when_the_run_stops() -> None:
    # bulk_batch_done through jobs (helper-88: a write through jobs told none).
    told: list[tuple[int, list[str]]] = []

    async def on_batch_done(number: int, outcomes: Any) -> None:
        told.append((number, [o.status for o in outcomes]))

    revoked = AuthenticationError("revoked", status_code=401, code="INVALID_TOKEN")
    fake = FakeJobs(faults={"wait": [None, revoked]})
    with pytest.raises(BulkAbortedError) as caught:
        await run_import(fake, plan(max_parallel_jobs=1), contacts(45), on_batch_done=on_batch_done)
    result = caught.value.result
    assert [number for number, _ in told] == list(range(1, len(told) + 1))
    flat = [status for _, statuses in told for status in statuses]
    assert flat == [o.status for o in result.outcomes] and len(flat) == result.total > 10
