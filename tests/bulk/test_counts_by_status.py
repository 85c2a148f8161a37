"""``BulkResult.counts`` counts statuses only; ``actions`` counts what Bigin did (issue 14, item 3)."""

from __future__ import annotations

import pytest

from bigin_async.bulk import BulkResult, RecordOutcome
from bigin_async.bulk.results import MAYBE_DELETED


def _result() -> BulkResult:
    result = BulkResult()
    result.record(RecordOutcome(0, "success", "insert", "1"))
    result.record(RecordOutcome(1, "success", "update", "2", from_journal=True))
    result.record(RecordOutcome(2, "error", code="INVALID_DATA"))
    result.record(RecordOutcome(3, "unknown", "insert"))
    result.record(RecordOutcome(4, "success", "delete", "5", code=MAYBE_DELETED))
    return result


def test_counts_hold_statuses_that_add_up_to_the_total() -> None:
    result = _result()
    assert dict(result.counts) == {"success": 3, "error": 1, "unknown": 1}
    assert sum(result.counts.values()) == result.total == 5


def test_actions_hold_only_successful_records_by_action() -> None:
    result = _result()
    assert dict(result.actions) == {"insert": 1, "update": 1, "delete": 1}  # the unknown insert is not one
    assert (result.skipped, result.maybe_deleted) == (1, 1)


@pytest.mark.parametrize("moved", ["insert", "update", "delete", "skipped", "maybe_deleted"])
def test_an_old_key_of_counts_names_its_new_place_instead_of_reading_zero(moved: str) -> None:
    with pytest.raises(KeyError, match="counts holds statuses only"):
        _ = _result().counts[moved]


def test_a_status_none_had_reads_zero() -> None:
    assert BulkResult().counts["error"] == 0


def test_summary_keeps_its_keys() -> None:
    assert _result().summary() == {
        "total": 5,
        "succeeded": 3,
        "failed": 1,
        "unknown": 1,
        "inserted": 1,
        "updated": 1,
        "deleted": 1,
        "skipped": 1,
        "journal_matched": 0,
    }
