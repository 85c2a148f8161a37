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
