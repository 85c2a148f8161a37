"""Typed bulk job models: every state parsed, unknown ones kept, both status shapes, the module tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pydantic
import pytest

from bigin_async.errors import BiginError, BulkJobError, BulkJobFailedError, ValidationError
from bigin_async.models import MODULES
from bigin_async.models.jobs import (
    BULK_READ_MODULES,
    BULK_WRITE_MODULES,
    BulkReadJob,
    BulkWriteJob,
    FieldMapping,
    JobEvent,
    JobState,
    UploadedFile,
    check_bulk_module,
    job_entry,
)

WRITE_STATUS: dict[str, Any] = {
    "id": "5600000000001",
    "operation": "insert",
    "status": "COMPLETED",
    "character_encoding": "UTF-8",
    "created_by": {"id": "111", "name": "Admin"},
    "created_time": "2026-12-01T10:00:00+00:00",
    "resource": [
        {
            "type": "data",
            "module": {"api_name": "Contacts"},
            "status": "COMPLETED",
            "find_by": "Email",
            "field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "Email", "index": 1}],
            "file": {
                "status": "COMPLETED",
                "name": "part1.csv",
                "added_count": 8,
                "skipped_count": 1,
                "updated_count": 1,
                "total_count": 10,
            },
        }
    ],
    "callback": {"url": "https://example.com/cb", "method": "post"},
    "result": {"download_url": "/bigin/bulk/v2/write/5600000000001/result"},
}

READ_STATUS: dict[str, Any] = {
    "id": "7700000000002",
    "operation": "read",
    "state": "COMPLETED",
    "query": {"module": "Contacts", "fields": ["Last_Name"], "page": 1},
    "created_by": {"id": "111", "name": "Admin"},
    "created_time": "2026-12-01T10:00:00+00:00",
    "result": {
        "page": 1,
        "count": 200000,
        "download_url": "/bigin/bulk/v2/read/7700000000002/result",
        "per_page": 200000,
        "more_records": True,
    },
}


@pytest.mark.parametrize("state", ["ADDED", "IN PROGRESS", "COMPLETED", "FAILED"])
def test_every_documented_state_parses_for_both_kinds(state: str) -> None:
    write = BulkWriteJob.from_answer({"data": [{**WRITE_STATUS, "status": state}]})
    read = BulkReadJob.from_answer({"data": [{**READ_STATUS, "state": state}]})
    for job in (write, read):
        assert job.state == state
        assert job.state_enum is JobState(state)
        assert job.done is (state == "COMPLETED")
        assert job.failed is (state == "FAILED")


def test_in_progress_is_spelled_with_a_space() -> None:
    assert JobState.IN_PROGRESS.value == "IN PROGRESS"
    assert JobState("IN PROGRESS") is JobState.IN_PROGRESS


def test_an_unknown_state_is_kept_as_zoho_sent_it() -> None:
    job = BulkWriteJob.from_answer({**WRITE_STATUS, "status": "QUEUED_FOR_REVIEW", "result": None})
    assert job.state == "QUEUED_FOR_REVIEW" and job.state_enum is None
    assert not job.done and not job.failed
    read = BulkReadJob.from_answer({"data": [{**READ_STATUS, "state": "PAUSED"}]})
    assert read.state == "PAUSED" and read.state_enum is None


def test_the_write_status_reads_wrapped_and_unwrapped() -> None:
    wrapped = BulkWriteJob.from_answer({"data": [WRITE_STATUS]})
    unwrapped = BulkWriteJob.from_answer(WRITE_STATUS)
    assert wrapped == unwrapped
    job = wrapped
    assert job.id == "5600000000001" and job.operation == "insert"
    assert job.created_time == datetime.fromisoformat("2026-12-01T10:00:00+00:00")
    assert job.created_by is not None and job.created_by.name == "Admin"
    assert job.download_url == "/bigin/bulk/v2/write/5600000000001/result"
    (resource,) = job.resources
    assert resource.module == "Contacts" and resource.find_by == "Email"
    assert [m.api_name for m in resource.field_mappings] == ["Last_Name", "Email"]
    assert resource.file is not None
    assert (resource.file.added_count, resource.file.skipped_count, resource.file.updated_count) == (8, 1, 1)
    assert resource.file.total_count == 10


def test_the_read_status_reads_wrapped_and_unwrapped() -> None:
    wrapped = BulkReadJob.from_answer({"data": [READ_STATUS], "info": {}})
    assert BulkReadJob.from_answer(READ_STATUS) == wrapped
    assert wrapped.result is not None
    assert (wrapped.result.page, wrapped.result.count, wrapped.result.per_page) == (1, 200000, 200000)
    assert wrapped.result.more_records is True
    assert wrapped.download_url == "/bigin/bulk/v2/read/7700000000002/result"
    assert wrapped.query == {"module": "Contacts", "fields": ["Last_Name"], "page": 1}


def test_a_job_not_completed_has_no_result() -> None:
    write = BulkWriteJob.from_answer({"id": "1", "status": "IN PROGRESS"})
    read = BulkReadJob.from_answer({"data": [{"id": "2", "state": "ADDED"}]})
    assert write.download_url is None and write.result is None and write.resources == []
    assert read.download_url is None and read.result is None


def test_a_failed_job_keeps_what_zoho_said() -> None:
    job = BulkWriteJob.from_answer({"data": [{**WRITE_STATUS, "status": "FAILED", "result": None}]})
    assert job.failed and not job.done and job.download_url is None


def test_unknown_keys_are_kept() -> None:
    job = BulkReadJob.from_answer({**READ_STATUS, "file_type": "csv", "$new": {"x": 1}})
    assert job.get("file_type") == "csv" and job.get("$new") == {"x": 1}


def test_ids_sent_as_numbers_are_read_as_strings() -> None:
    assert BulkWriteJob.from_answer({"id": 5600000000001, "status": "ADDED"}).id == "5600000000001"
    assert UploadedFile.model_validate({"file_id": 123}).file_id == "123"


@pytest.mark.parametrize(
    "answer",
    [
        [],
        "COMPLETED",
        None,
        {"data": []},
        {"data": {"id": "1"}},
        {"data": ["1"]},
    ],
)
def test_an_answer_without_a_job_is_malformed(answer: Any) -> None:
    with pytest.raises(ValueError):
        job_entry(answer)


@pytest.mark.parametrize("entry", [{"id": "1"}, {"status": "ADDED"}, {"id": "1", "status": ["ADDED"]}])
def test_a_job_without_its_id_or_state_is_malformed(entry: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        BulkWriteJob.from_answer({"data": [entry]})


def test_field_mappings_dump_only_what_is_set() -> None:
    assert FieldMapping(api_name="Last_Name", index=0).to_wire() == {"api_name": "Last_Name", "index": 0}
    lookup = FieldMapping(api_name="Account_Name", index=3, find_by="id")
    assert lookup.to_wire() == {"api_name": "Account_Name", "index": 3, "find_by": "id"}
    with pytest.raises(pydantic.ValidationError):
        FieldMapping(api_name="Email", index=-1)
    assert FieldMapping("Email", 1) == FieldMapping(api_name="Email", index=1)
    assert FieldMapping("Birth", 2, "MM/dd/yyyy").to_wire() == {
        "api_name": "Birth",
        "index": 2,
        "format": "MM/dd/yyyy",
    }
    assert FieldMapping.model_validate({"api_name": "Email", "index": 1, "x": 1}).get("x") == 1


def test_a_job_event_parses_a_callback() -> None:
    event = JobEvent.model_validate(
        {"job_id": "5600000000001", "operation": "insert", "state": "COMPLETED", "resource": [{"x": 1}]}
    )
    assert (event.job_id, event.operation, event.state, event.done) == (
        "5600000000001",
        "insert",
        "COMPLETED",
        True,
    )
    assert event.get("resource") == [{"x": 1}]


def test_the_module_tables_come_from_the_one_module_table() -> None:
    names = [spec.api_name for spec in MODULES]
    assert set(BULK_WRITE_MODULES) == set(names) - {"Notes"}
    assert set(BULK_READ_MODULES) == {
        "Contacts",
        "Accounts",
        "Pipelines",
        "Products",
        "Calls",
        "Events",
        "Tasks",
    }
    assert list(BULK_WRITE_MODULES) == [name for name in names if name in BULK_WRITE_MODULES]


@pytest.mark.parametrize(
    ("given", "wire"), [("Contacts", "Contacts"), ("Companies", "Accounts"), ("Deals", "Pipelines")]
)
def test_bulk_modules_accept_the_aliases(given: str, wire: str) -> None:
    assert check_bulk_module(given, "write") == wire
    assert check_bulk_module(given, "read") == wire


@pytest.mark.parametrize("kind", ["write", "read"])
def test_notes_and_unknown_modules_are_refused(kind: Any) -> None:
    with pytest.raises(ValidationError, match="does not take Notes"):
        check_bulk_module("Notes", kind)
    with pytest.raises(ValidationError, match="not a module"):
        check_bulk_module("Users", kind)
    with pytest.raises(ValidationError, match="not a module"):
        check_bulk_module("../org", kind)
    with pytest.raises(ValidationError, match="module API name"):
        check_bulk_module(None, kind)


def test_job_errors_carry_the_job() -> None:
    job = BulkWriteJob.from_answer({"id": "9", "status": "FAILED"})
    error = BulkJobFailedError("failed", job_id=job.id, state=job.state, job=job)
    assert isinstance(error, BulkJobError) and isinstance(error, BiginError)
    assert (error.job_id, error.state, error.job) == ("9", "FAILED", job)
    bare = BulkJobError("no result")
    assert (bare.job_id, bare.state, bare.job) == (None, None, None)
