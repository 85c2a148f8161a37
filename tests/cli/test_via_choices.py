"""``--via``: what ``auto`` picks for an import or an export, and what only calls can do."""

from __future__ import annotations

from typing import Any

import pytest

from bigin_async._config import build_settings
from bigin_async.bulk.jobs import AUTO_JOBS_THRESHOLD_READ
from bigin_async.bulk.jobs.via import AUTO_JOBS_THRESHOLD_WRITE
from bigin_async.cli.common import UsageError
from bigin_async.cli.via import ImportRoute, export_via, file_host_known, import_route


def route(via: str = "auto", **options: object) -> ImportRoute:
    settings: dict[str, object] = {"module": "Contacts", "mode": "create", "rows": 10, "unique": None}
    settings.update(options)
    return import_route(via, **settings)  # type: ignore[arg-type]


def test_auto_imports_through_calls_up_to_the_threshold_and_through_jobs_past_it() -> None:
    assert route(rows=AUTO_JOBS_THRESHOLD_WRITE).via == "calls"
    past = route(rows=AUTO_JOBS_THRESHOLD_WRITE + 1)
    assert (past.via, past.operation, past.find_by) == ("jobs", "insert", None)
    assert f"{AUTO_JOBS_THRESHOLD_WRITE + 1:,} rows" in past.reason


def test_each_mode_maps_to_its_job_operation_and_find_by() -> None:
    big = AUTO_JOBS_THRESHOLD_WRITE * 2
    update = route("jobs", mode="update")
    upsert = route("jobs", mode="upsert", rows=big, unique=["Email"])
    default_key = route("jobs", mode="upsert", unique=None)
    company = route("jobs", mode="upsert", module="Accounts", unique=None)
    assert (update.operation, update.find_by) == ("update", "id")
    assert (upsert.operation, upsert.find_by) == ("upsert", "Email")
    assert default_key.find_by == "Email" and company.find_by == "Account_Name"  # the module's own


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"workflows": False}, "--no-workflows"),
        ({"batch_size": 50}, "--batch-size"),
        ({"mode": "upsert", "unique": ["Email", "Last_Name"]}, "2 --unique fields"),
        ({"mode": "upsert", "module": "Tasks", "unique": None}, "no --unique field"),
        ({"uploads": False}, "--content-domain"),
    ],
)
def test_what_only_calls_can_do_keeps_auto_on_calls_and_refuses_jobs(
    options: dict[str, object], words: str
) -> None:
    chosen = route("auto", rows=AUTO_JOBS_THRESHOLD_WRITE * 10, **options)
    assert chosen.via == "calls" and words in chosen.reason
    with pytest.raises(UsageError, match="--via jobs cannot run") as refused:
        route("jobs", **options)
    assert words in str(refused.value)


def test_calls_is_calls_whatever_the_options() -> None:
    assert route("calls", rows=10**6, workflows=False).via == "calls"


def test_export_via() -> None:
    plain: dict[str, Any] = {
        "fields": 5,
        "max_fields_per_call": 50,
        "sorted_": False,
        "max_records": None,
    }
    assert export_via("auto", **plain) == "auto"  # bulk_export decides by the record count
    assert export_via("jobs", **plain) == "jobs" and export_via("calls", **plain) == "calls"
    assert export_via("auto", **{**plain, "fields": 51}) == "jobs"  # a call reads at most 50 fields
    assert export_via("calls", **{**plain, "fields": 51}) == "calls"  # refused later, by the exporter
    assert export_via("auto", **{**plain, "sorted_": True}) == "calls"
    assert export_via("auto", **{**plain, "max_records": AUTO_JOBS_THRESHOLD_READ}) == "calls"
    assert export_via("auto", **{**plain, "max_records": AUTO_JOBS_THRESHOLD_READ + 1}) == "auto"
    with pytest.raises(UsageError, match="a Bulk Read job returns records by id"):
        export_via("jobs", **{**plain, "sorted_": True})
    with pytest.raises(UsageError, match="at most 50 fields"):
        export_via("auto", **{**plain, "sorted_": True, "fields": 60})


def test_a_resumed_import_keeps_the_way_of_its_journal() -> None:
    assert route(rows=10, resumed="jobs").via == "jobs"
    assert route(rows=10, resumed="jobs").reason == "auto: resuming a journal of jobs"
    assert route(rows=10**6, resumed="calls").via == "calls"
    assert route("jobs", rows=10, resumed="calls").via == "jobs"  # asked for: the SDK refuses the journal
    with pytest.raises(UsageError, match="journal is of an import through jobs"):
        route(rows=10, resumed="jobs", workflows=False)


def test_a_file_host_is_known_when_set_or_derivable_from_the_api_domain() -> None:
    zoho = build_settings(region="eu")
    assert zoho.api_domain_overridden is False and file_host_known(zoho)  # the token names a zohoapis host
    assert file_host_known(build_settings(api_domain="https://www.zohoapis.com"))
    assert not file_host_known(build_settings(api_domain="http://127.0.0.1:8787"))
    assert file_host_known(
        build_settings(api_domain="http://127.0.0.1:8787", content_domain="http://127.0.0.1:8788")
    )
