"""bulk_import follow-ups: field names checked per record, upserts that clear a field, result rows
without a record id, keyless upserts inserted, and results that echo fewer columns or drop rows."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path
from typing import Any

from bigin_async.bulk.jobs.results import ResultRow, outcome_of
from bigin_async.bulk.jobs.write import run_import
from tests.bulk.jobs.test_import_faults import FakeJobs
from tests.bulk.jobs.test_import_faults import contacts as faults_contacts
from tests.bulk.jobs.test_import_faults import plan as faults_plan


class NoIdJobs(FakeJobs):
    """A jobs API whose result rows say ``status`` with an empty RECORD_ID."""

    status: str = "ADDED"

    async def download(self, url_or_job: Any, *, to: str | os.PathLike[str]) -> Path:
        target = await super().download(url_or_job, to=to)
        with zipfile.ZipFile(target) as archive:
            rows = list(csv.reader(io.StringIO(archive.read(archive.namelist()[0]).decode("utf-8"))))
        for row in rows[1:]:
            row[-3], row[-2] = self.status, ""
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr("r.csv", text.getvalue())
        return target


# -- 3. an ADDED / UPDATED row with no RECORD_ID -----------------------------------------------


def test_an_added_or_updated_row_without_a_record_id_is_unknown_unless_addressed_by_id() -> None:
    added = outcome_of(ResultRow("ADDED", None), 0, {"Last_Name": "x"}, updating=False)
    assert (added.status, added.id, added.code) == ("unknown", None, "NO_RECORD_ID")
    assert "RECORD_ID" in (added.message or "")
    upserted = outcome_of(ResultRow("UPDATED", None), 1, {"Email": "a@x.test"}, updating=False)
    assert (upserted.status, upserted.id) == ("unknown", None)
    by_id = outcome_of(ResultRow("UPDATED", None), 2, {"id": "5"}, updating=True, sent_id="5")
    assert (by_id.status, by_id.action, by_id.id) == ("success", "update", "5")
    # An id in the row is Zoho's word: kept as it is.
    with_id = outcome_of(ResultRow("ADDED", "77"), 3, {}, updating=False)
    assert (with_id.status, with_id.id) == ("success", "77")


async def test_a_result_without_record_ids_end_to_end() -> None:
    inserts = await run_import(NoIdJobs(), faults_plan(), faults_contacts(3))
    assert [(o.status, o.id) for o in inserts.outcomes] == [("unknown", None)] * 3
    updating = NoIdJobs()
    updating.status = "UPDATED"
    records = [{"id": "900", "Title": "a"}, {"id": "901", "Title": "b"}]
    updates = await run_import(updating, faults_plan("update"), records)
    assert [(o.status, o.action, o.id) for o in updates.outcomes] == [
        ("success", "update", "900"),
        ("success", "update", "901"),
    ]
    upserting = NoIdJobs()
    upserting.status = "UPDATED"
    upserts = await run_import(upserting, faults_plan("upsert"), faults_contacts(2))
    assert [(o.status, o.id) for o in upserts.outcomes] == [("unknown", None)] * 2


# -- 1. a record naming a field the module lacks ------------------------------------------------


class Names:
    """The module's field names as ``settings.field_names`` gives them; counts its reads."""

    def __init__(self, names: list[str] | BaseException) -> None:
        self.names = names
        self.reads = 0

    async def __call__(self) -> list[str]:
        self.reads += 1
        if isinstance(self.names, BaseException):
            raise self.names
        return self.names


CONTACT_FIELDS = ["Last_Name", "First_Name", "Email", "Account_Name", "Title"]
ODD_NAMES = ["", "a\nb", "Email,x", 'Last"Name', "Tab\there", "Spaced Name"]


async def test_a_record_with_an_unknown_field_gets_its_own_error_and_the_others_go_on() -> None:
    fake = FakeJobs()
    names = Names(CONTACT_FIELDS)
    records: list[Any] = list(faults_contacts(6))
    records[1] = {**records[1], "Emial": "typo@example.test"}
    records[3] = {**records[3], "Email,x": "1"}
    records[4] = {**records[4], "Account_Name": {"id": "7004"}, "Title": None}  # all known
    result = await run_import(fake, faults_plan(), records, field_names=names)
    assert [o.status for o in result.outcomes] == [
        "success",
        "error",
        "success",
        "error",
        "success",
        "success",
    ]
    for index, name in ((1, "Emial"), (3, "Email,x")):
        outcome = result.outcomes[index]
        assert (outcome.code, outcome.details) == ("INVALID_DATA", {"api_name": name})
        assert outcome.record is records[index] and repr(name) in (outcome.message or "")
    assert fake.calls["create"] == 1 and names.reads == 1
    assert [m.api_name for m in fake.mappings[0]] == ["Last_Name", "Email", "Account_Name"]


async def test_without_field_metadata_names_that_cannot_be_api_names_are_still_refused() -> None:
    from bigin_async.errors import APIError

    fake = FakeJobs()
    names = Names(APIError("no scope for settings", status_code=401, code="OAUTH_SCOPE_MISMATCH"))
    records: list[Any] = [{"Last_Name": "ok", name: "v"} for name in ODD_NAMES]
    records.append({"Last_Name": "typo kept", "Emial": "x"})  # unknown, but could be an API name
    records.append({"Last_Name": "fine", "$se_module": "Accounts", "id_like": "1"})
    result = await run_import(fake, faults_plan(), records, field_names=names)
    statuses = [(o.status, o.details.get("api_name")) for o in result.outcomes]
    assert statuses == [("error", name) for name in ODD_NAMES] + [("success", None)] * 2
    assert {o.code for o in result.outcomes if o.status == "error"} == {"INVALID_DATA"}
    assert fake.calls["create"] == 1 and names.reads == 1


async def test_names_the_metadata_does_not_list_but_bigin_takes_are_not_refused() -> None:
    fake = FakeJobs()
    records = [
        {"id": "5", "Title": "by id"},
        {"id": "6", "Account_Name.id": "7000"},
    ]
    result = await run_import(fake, faults_plan("update"), records, field_names=Names(CONTACT_FIELDS))
    assert result.ok
    tasks = [{"Subject": "call", "What_Id": {"id": "1"}, "$se_module": "Accounts"}]
    task_plan = faults_plan()
    task_plan.module = "Tasks"
    done = await run_import(FakeJobs(), task_plan, tasks, field_names=Names(["Subject", "What_Id"]))
    assert done.ok


async def test_an_import_with_a_typo_through_the_emulator_keeps_every_good_record() -> None:
    from bigin_emulator import BiginEmulator

    emulator = BiginEmulator()
    records: list[Any] = [{"Last_Name": f"L{i}", "Email": f"p{i}@example.test"} for i in range(20)]
    records[5] = {"Last_Name": "L5", "Emial": "p5@example.test"}
    records[9] = {"Last_Name": "L9", "a\nb": "x"}
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(records, via="jobs", poll_interval=0.001)
    errors = {o.index: o.details.get("api_name") for o in result.outcomes if o.status == "error"}
    assert errors == {5: "Emial", 9: "a\nb"}
    assert result.counts["success"] == 18 and len(emulator.store.table("Contacts")) == 18


# -- 2. an upsert that clears a field with None ------------------------------------------------


async def test_an_upsert_clearing_a_field_is_refused_alone_as_the_call_path_would_answer() -> None:
    fake = FakeJobs()
    records: list[Any] = [
        {"Last_Name": "kept", "Email": "a@example.test"},
        {"Last_Name": "clears", "Email": "b@example.test", "Title": None},
        {"Last_Name": None, "Email": "c@example.test"},
        {"Last_Name": "keyless", "Email": None},  # no key: inserted, nothing cleared
        {"Last_Name": None, "Email": "d@example.test", "Title": None},
    ]
    result = await run_import(fake, faults_plan("upsert"), records)
    seen = [(o.status, o.code, o.details.get("api_name")) for o in result.outcomes]
    assert seen == [
        ("success", None, None),
        ("error", "INVALID_INPUT", "Title"),
        ("error", "MANDATORY_NOT_FOUND", "Last_Name"),
        ("success", None, None),
        ("error", "MANDATORY_NOT_FOUND", "Last_Name"),
    ]
    assert "via='calls'" in (result.outcomes[1].message or "")
    assert fake.calls["create"] == 1


# -- 5. results that echo fewer columns, or drop rows ---------------------------------------------


def _people(count: int, *, same_last_name_every: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "Last_Name": "Same" if same_last_name_every and i % same_last_name_every == 0 else f"L{i}",
            "Email": f"p{i}@example.test",
            "Title": f"T{i % 3}",
        }
        for i in range(count)
    ]


def _no_wrong_ids(emulator: Any, records: list[dict[str, Any]], outcomes: list[Any]) -> None:
    """Every success names the record stored for that input (by its email); the rest are unknown."""
    stored = {r["id"]: r["Email"] for r in emulator.store.table("Contacts")}
    for outcome in outcomes:
        assert outcome.status in ("success", "unknown"), outcome
        if outcome.status == "success":
            assert stored[outcome.id] == records[outcome.index]["Email"], outcome


async def test_a_result_echoing_one_column_never_gives_a_record_another_s_id() -> None:
    from bigin_emulator import BiginEmulator

    for shuffled in (False, True):
        emulator = BiginEmulator(write_results_echo_columns=1, shuffle_write_results=shuffled)
        records = _people(60, same_last_name_every=4)  # 15 records share the Last_Name echoed
        async with emulator.client() as bigin:
            result = await bigin.contacts.bulk_import(records, via="jobs", poll_interval=0.001)
        _no_wrong_ids(emulator, records, result.outcomes)
        unknown = {o.index for o in result.outcomes if o.status == "unknown"}
        assert unknown == {i for i in range(60) if i % 4 == 0}, shuffled
        assert {o.code for o in result.outcomes if o.status == "unknown"} == {"NO_RESULT"}
        assert len(emulator.store.table("Contacts")) == 60


async def test_a_result_echoing_no_column_leaves_every_record_unknown() -> None:
    from bigin_emulator import BiginEmulator

    emulator = BiginEmulator(write_results_echo_columns=0)
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(_people(10), via="jobs", poll_interval=0.001)
    assert {o.status for o in result.outcomes} == {"unknown"} and result.total == 10


async def test_rows_dropped_from_a_result_leave_exactly_their_records_unknown() -> None:
    from bigin_emulator import BiginEmulator

    for shuffled in (False, True):
        emulator = BiginEmulator(drop_write_result_rows=3, shuffle_write_results=shuffled)
        records = _people(40)
        async with emulator.client() as bigin:
            result = await bigin.contacts.bulk_import(
                records, operation="upsert", find_by="Email", via="jobs", poll_interval=0.001
            )
        _no_wrong_ids(emulator, records, result.outcomes)
        assert result.counts["unknown"] == 3 and result.counts["success"] == 37, shuffled
        assert len(emulator.store.table("Contacts")) == 40


# -- progress: each phase event describes its own part -----------------------------------------


async def test_each_progress_event_describes_its_own_part_and_job() -> None:
    from bigin_async.bulk.results import BulkProgress

    seen: list[tuple[str, int, str | None, str | None]] = []

    def progress(p: BulkProgress) -> None:
        seen.append((p.phase, p.part, p.job_id, p.job_state))

    fake = FakeJobs()
    result = await run_import(fake, faults_plan(), faults_contacts(25), on_progress=progress)
    assert result.ok and len(fake.jobs) == 3
    assert seen[0][:2] == ("writing", 1)
    assert all(part >= 1 for _, part, _, _ in seen)
    jobs_of: dict[int, set[str | None]] = {}
    for phase, part, job_id, job_state in seen:
        if phase in ("writing", "uploading"):  # the part's job does not exist yet
            assert (job_id, job_state) == (None, None), (phase, part, job_id, job_state)
        elif phase in ("waiting", "reading"):
            jobs_of.setdefault(part, set()).add(job_id)
    assert sorted(jobs_of) == [1, 2, 3]
    assert all(len(ids) == 1 and None not in ids for ids in jobs_of.values())
    assert len(set().union(*jobs_of.values())) == 3  # no part carries another part's job
    for part in (1, 2, 3):
        phases = [phase for phase, number, _, _ in seen if number == part]
        assert {"writing", "uploading", "waiting", "reading"} <= set(phases)


# -- a custom field created after the field metadata was cached --------------------------------


async def test_a_field_created_after_the_metadata_was_cached_is_read_again_once() -> None:
    from bigin_emulator import BiginEmulator

    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        assert "Nickname__c" not in await bigin.settings.field_names("Contacts")  # now cached
        emulator.store.table("Contacts").custom_fields["Nickname__c"] = None  # the org adds a field
        records: list[Any] = [{"Last_Name": f"L{i}", "Nickname__c": f"n{i}"} for i in range(3)]
        records.append({"Last_Name": "typo", "Emial": "x@example.test"})  # still unknown
        records.append({"Last_Name": "typo again", "Emial": "y@example.test"})
        result = await bigin.contacts.bulk_import(records, via="jobs", poll_interval=0.001)
        assert "Nickname__c" in await bigin.settings.field_names("Contacts")  # the cache is fresh
    assert [o.status for o in result.outcomes] == ["success"] * 3 + ["error"] * 2
    assert {o.details.get("api_name") for o in result.outcomes[3:]} == {"Emial"}
    nicknames = sorted(str(r.get("Nickname__c")) for r in emulator.store.table("Contacts"))
    assert nicknames == ["n0", "n1", "n2"]


async def test_names_are_read_again_at_most_once_a_run_and_a_failed_re_read_keeps_the_first() -> None:
    from bigin_async.errors import APIError

    first, fresh = Names(CONTACT_FIELDS), Names(CONTACT_FIELDS + ["Nickname__c"])
    records: list[Any] = [
        {"Last_Name": "a", "Emial": "x"},  # unknown: the names are read again here
        {"Last_Name": "b", "Nickname__c": "n"},  # known since
        {"Last_Name": "c", "Other__c": "o"},  # unknown again: not read a third time
    ]
    result = await run_import(FakeJobs(), faults_plan(), records, field_names=first, fresh_field_names=fresh)
    assert [o.status for o in result.outcomes] == ["error", "success", "error"]
    assert (first.reads, fresh.reads) == (1, 1)
    broken = Names(APIError("down", status_code=500, code="INTERNAL_ERROR"))
    kept = await run_import(
        FakeJobs(), faults_plan(), records[::-1], field_names=Names(CONTACT_FIELDS), fresh_field_names=broken
    )
    assert [o.status for o in kept.outcomes] == ["error"] * 3 and broken.reads == 1
