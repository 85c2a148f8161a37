"""Import and export thousands of contacts through Bigin's bulk jobs, with bigin-async.

Through 100-record calls an insert costs 1 credit per 10 records; a Bulk Write job takes up to
25,000 records for 500 credits, and a Bulk Read job returns up to 200,000 for 50. Here
``bulk_import`` streams 30,000 generated contacts into CSV parts of 25,000 (two jobs), uploads
each to the data centre's file host, runs the jobs and reads every record's fate back from the
jobs' result files, in input order; ``bulk_export`` then reads the Paris ones back through a read
job, typed as the REST records are. ``bigin.credits`` says what it cost, counted as Zoho does.

Against your org (credentials in the environment) the jobs take minutes: the progress lines show
each phase (writing, uploading, waiting on the job, reading the results).

    python examples/bulk_jobs.py
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from _common import run_example

from bigin_async import BiginClient, BulkProgress, BulkResult, Contact, CreditsReport, Field

CITIES = ("Paris", "Berlin", "Lisbon")


def generated_contacts(count: int) -> Iterator[dict[str, Any]]:
    """Rows made one at a time: a generator of a million rows streams in constant memory."""
    for number in range(count):
        yield {
            "Last_Name": f"Bulk {number}",
            "Email": f"bulk.{number}@example.com",
            "Mailing_City": CITIES[number % len(CITIES)],
        }


@dataclass
class JobsRun:
    imported: BulkResult
    paris: list[Contact]
    credits: CreditsReport
    phases: list[str] = field(default_factory=list)


async def main(bigin: BiginClient, count: int = 30_000) -> JobsRun:
    """Upsert ``count`` contacts on Email through Bulk Write jobs, then read the Paris ones back."""
    phases: list[str] = []

    def on_progress(progress: BulkProgress) -> None:
        line = f"{progress.phase} part {progress.part} of {progress.parts or 'as yet unknown'}"
        if progress.phase == "waiting" and progress.job_id:
            line += f": job {progress.job_id} {progress.job_state or ''}".rstrip()
        if not phases or phases[-1] != line:
            phases.append(line)

    # An upsert on Email: running the example again updates the same contacts instead of doubling them.
    imported = await bigin.contacts.bulk_import(
        generated_contacts(count), operation="upsert", find_by="Email", via="jobs", on_progress=on_progress
    )
    # The SDK's criteria become Zoho's JSON criteria for the read job.
    paris = [
        contact
        async for contact in bigin.contacts.bulk_export(
            fields=["Last_Name", "Email", "Mailing_City"], criteria=Field("Mailing_City") == "Paris"
        )
    ]
    return JobsRun(imported, paris, bigin.credits, phases)


def describe(run: JobsRun) -> str:
    lines = [*run.phases, f"Bulk import: {run.imported.summary()}"]
    lines.append(f"Read back {len(run.paris):,} contacts in Paris through a Bulk Read job")
    calls = -(-run.imported.total // 10)  # 1 credit per 10 records written through calls
    lines.append(f"Credits spent: {run.credits.spent_total:,} (the import alone through calls: {calls:,})")
    return "\n".join(lines)


if __name__ == "__main__":
    run_example(main, describe)
