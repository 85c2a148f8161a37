"""The names users code against for bulk jobs import from the package itself."""

from __future__ import annotations

import typing

import bigin_async
from bigin_async.bulk import jobs


def test_bulk_export_progress_and_via_come_from_the_package() -> None:
    assert bigin_async.BulkExport is jobs.BulkExport
    assert bigin_async.ExportProgress is jobs.ExportProgress
    assert typing.get_args(bigin_async.Via) == ("calls", "jobs", "auto")
    assert {"BulkExport", "ExportProgress", "Via"} <= set(bigin_async.__all__)


def test_the_auto_thresholds_are_the_documented_figures() -> None:
    # docs/bulk-jobs.md and the bulk_import/bulk_export docstrings state these two numbers.
    assert jobs.AUTO_JOBS_THRESHOLD_WRITE == 5_000
    assert jobs.AUTO_JOBS_THRESHOLD_READ == 10_000
