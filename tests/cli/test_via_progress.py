"""``bigin import/export --via jobs``: a progress bar per phase, fed by BulkProgress and ExportProgress."""

from __future__ import annotations

import io

from rich.console import Console

from bigin_async.bulk import BulkProgress
from bigin_async.bulk.jobs import ExportProgress
from bigin_async.cli.progress import ProgressView, phase_label


def view() -> ProgressView:
    return ProgressView(Console(file=io.StringIO(), width=200), enabled=False)


def test_a_job_run_gets_a_bar_per_phase_under_the_records_bar() -> None:
    progress = view()
    update = progress.bulk_task("create Contacts via jobs", 60_000)
    update(BulkProgress(phase="writing", part=1, parts=None))
    update(BulkProgress(phase="writing", part=3, parts=3))
    update(BulkProgress(phase="uploading", part=1, parts=3))
    update(BulkProgress(phase="waiting", part=1, parts=3, job_id="111", job_state="ADDED"))
    update(BulkProgress(phase="waiting", part=1, parts=3, job_id="111", job_state="IN PROGRESS"))
    update(BulkProgress(processed=25_000, succeeded=24_990, failed=10, phase="reading", part=1, parts=3))
    assert progress.bars == [
        ("create Contacts via jobs", 25_000, 60_000),
        ("writing CSV parts", 3, 3),
        ("uploading parts", 1, 3),
        ("waiting on the job 111: IN PROGRESS", 1, 3),
        ("reading results", 1, 3),
    ]


def test_a_call_run_keeps_its_one_bar() -> None:
    progress = view()
    update = progress.bulk_task("create Contacts via calls", 300)
    update(BulkProgress(processed=100, succeeded=100, batches=1))
    assert progress.bars == [("create Contacts via calls", 100, 300)]


def test_an_export_through_jobs_counts_records_and_pages() -> None:
    progress = view()
    update = progress.export_task("export Contacts via jobs")
    update(ExportProgress(phase="waiting", page=1, records=0, job_id="9", job_state="ADDED"))
    update(ExportProgress(phase="downloading", page=1, records=0, job_id="9", job_state="COMPLETED"))
    update(ExportProgress(phase="reading", page=1, records=1500, job_id="9", job_state="COMPLETED"))
    progress.finish()
    assert progress.bars == [
        ("export Contacts via jobs", 1500, 1500),
        ("waiting on the job 9: ADDED", 1, 1),
        ("downloading results", 1, 1),
        ("reading results", 1, 1),
    ]


def test_phase_labels() -> None:
    assert phase_label("waiting") == "waiting on the job"
    assert phase_label("waiting", "5", None) == "waiting on the job 5"
    assert phase_label("something new") == "something new"
