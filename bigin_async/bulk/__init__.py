"""Bulk writes: any number of records, calls of at most 100, every record accounted for."""

from bigin_async.bulk.engine import BATCH_LIMIT, MANDATORY_FIELDS, BulkMode, BulkPlan, run_bulk
from bigin_async.bulk.journal import Journal, record_hash
from bigin_async.bulk.keys import carries_upsert_key
from bigin_async.bulk.results import BulkAbortedError, BulkProgress, BulkResult, BulkWriteError, RecordOutcome
from bigin_async.bulk.writer import BulkWriter

__all__ = [
    "BATCH_LIMIT",
    "MANDATORY_FIELDS",
    "BulkAbortedError",
    "BulkMode",
    "BulkPlan",
    "BulkProgress",
    "BulkResult",
    "BulkWriteError",
    "BulkWriter",
    "Journal",
    "RecordOutcome",
    "record_hash",
    "carries_upsert_key",
    "run_bulk",
]
