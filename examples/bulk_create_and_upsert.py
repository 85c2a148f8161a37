"""Bulk create and bulk upsert of contacts, and batch processing of many, with bigin-async.

Bigin's calls are ``POST /bigin/v2/Contacts`` with up to 100 records and
``POST /bigin/v2/Contacts/upsert`` with ``duplicate_check_fields: ["Email"]``; done by hand, a loop slices
records into batches of 100 and sleeps a second between them. Here ``bulk_create`` / ``bulk_upsert``
take any number of records (any iterable, even a generator), cut them into calls of 100, pace them
by the client's limits instead of fixed sleeps, and report one outcome per input record, in input
order: a batch can partly fail, so each record's fate is read, never just the HTTP status.

    python examples/bulk_create_and_upsert.py
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from _common import run_example

from bigin_async import BiginClient, BulkProgress, BulkResult

# Three contacts. Field alias accepted on write: ``Company_Name`` -> ``Account_Name``; a plain
# string there makes Bigin create (or link) a company of that name.
NEW_CONTACTS: list[dict[str, Any]] = [
    {"First_Name": "Alice", "Last_Name": "Johnson", "Email": "alice@example.com", "Company_Name": "ABC Inc"},
    {"First_Name": "Bob", "Last_Name": "Williams", "Email": "bob@example.com", "Company_Name": "XYZ Corp"},
    {
        "First_Name": "Carol",
        "Last_Name": "Davis",
        "Email": "carol@example.com",
        "Company_Name": "Tech Solutions",
    },
]

# An upsert: John Doe is new, Alice exists (matched by Email) and gets a phone number.
UPSERT_CONTACTS: list[dict[str, Any]] = [
    {"First_Name": "John", "Last_Name": "Doe", "Email": "john@example.com", "Phone": "555-0123"},
    {"First_Name": "Alice", "Last_Name": "Johnson", "Email": "alice@example.com", "Phone": "555-0456"},
]


def generated_contacts(count: int) -> Iterator[dict[str, Any]]:
    """Rows for the batch-processing part, made one at a time (never all held in memory)."""
    for number in range(1, count + 1):
        yield {"Last_Name": f"Batch {number}", "Email": f"batch.{number}@example.com"}


@dataclass
class BulkRun:
    created: BulkResult
    upserted: BulkResult
    batched: BulkResult
    progress: list[BulkProgress] = field(default_factory=list)


async def main(bigin: BiginClient, batch_rows: int = 250) -> BulkRun:
    """Bulk create, bulk upsert, then ``batch_rows`` generated contacts in batches of 100."""
    created = await bigin.contacts.bulk_create(NEW_CONTACTS)
    upserted = await bigin.contacts.bulk_upsert(UPSERT_CONTACTS, duplicate_check_fields=["Email"])
    progress: list[BulkProgress] = []

    def on_progress(totals: BulkProgress) -> None:
        # Instead of logging "Processed batch N: M records" by hand: running totals from the SDK.
        progress.append(replace(totals))  # a snapshot: the SDK keeps updating its own

    # Upsert on Email, so running the example again updates these rows instead of failing.
    batched = await bigin.contacts.bulk_upsert(
        generated_contacts(batch_rows), duplicate_check_fields=["Email"], on_progress=on_progress
    )
    return BulkRun(created, upserted, batched, progress)


def describe(run: BulkRun) -> str:
    lines = [f"Bulk create result: {run.created.summary()}"]
    lines += [f"  #{o.index} {o.status} {o.code or ''} {o.id or ''}".rstrip() for o in run.created]
    lines.append(f"Upsert result: {run.upserted.summary()}")
    lines += [f"  #{o.index} {o.action or o.status} {o.id or o.code}" for o in run.upserted]
    lines += [f"Processed batch {p.batches}: {p.processed} records so far" for p in run.progress]
    lines.append(f"Batch processing: {run.batched.summary()}")
    return "\n".join(lines)


if __name__ == "__main__":
    run_example(main, describe)
