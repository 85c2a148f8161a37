"""Bulk jobs: Bigin's Bulk Write and Bulk Read, for imports and exports of up to millions of records.

A Bulk Read job returns up to 200,000 records for 50 credits, a Bulk Write job takes up to 25,000
for 500: far fewer credits than 100-record calls. This package turns those jobs into the same
records and results the call-based methods give.
"""

from bigin_async.bulk.jobs.csv_values import CellReader, RowReader, cell_reader, row_reader
from bigin_async.bulk.jobs.read import (
    AUTO_JOBS_THRESHOLD_READ,
    BulkExport,
    ExportProgress,
    ExportProgressCallback,
    ExportSource,
    ReadJobs,
)
from bigin_async.bulk.jobs.via import AUTO_JOBS_THRESHOLD_WRITE, Via

__all__ = [
    "AUTO_JOBS_THRESHOLD_READ",
    "AUTO_JOBS_THRESHOLD_WRITE",
    "BulkExport",
    "CellReader",
    "ExportProgress",
    "ExportProgressCallback",
    "ExportSource",
    "ReadJobs",
    "RowReader",
    "Via",
    "cell_reader",
    "row_reader",
]
