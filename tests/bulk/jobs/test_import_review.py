"""Adversarial review of bulk_import through Bulk Write jobs: result columns that look like the
result's own, echoes Zoho normalises, and other ways a result could be mapped to the wrong record."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

from bigin_async.bulk.jobs.results import map_results
from bigin_emulator import BiginEmulator

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
