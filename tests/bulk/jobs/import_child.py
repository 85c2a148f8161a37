"""A Bulk Write import in a process of its own, for kill-and-resume tests: the parent SIGKILLs it.

``python -m tests.bulk.jobs.import_child API_URL CONTENT_URL JOURNAL SUMMARY RECORDS PART_RECORDS``
upserts ``RECORDS`` contacts (parts of ``PART_RECORDS``) into the emulator served at the URLs,
journaled in ``JOURNAL``, and writes its result's summary and outcomes to ``SUMMARY`` (JSON) when
it ends, which a killed run never does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio

from bigin_async.bulk.jobs.write import ImportPlan, run_import
from bigin_async.cli.common import EMULATOR_CREDENTIALS
from bigin_async.client import BiginClient

__all__ = ["records", "main"]


def records(count: int) -> list[dict[str, Any]]:
    """The same input in every process: contacts with an email each, every 17th without a last name."""
    return [
        {
            "Last_Name": None if i % 17 == 5 else f"Last {i}",
            "First_Name": f"First {i}",
            "Email": f"person{i}@example.test",
            "Title": 'x, "y"\nz' if i % 3 else "=formula",
        }
        for i in range(count)
    ]


async def main(argv: list[str]) -> None:
    api, content, journal, summary, count, part_records = argv
    async with BiginClient(
        api_domain=api,
        accounts_url=api,
        content_domain=content,
        client_id=EMULATOR_CREDENTIALS["client_id"],
        client_secret=EMULATOR_CREDENTIALS["client_secret"],
        refresh_token=EMULATOR_CREDENTIALS["refresh_token"],
    ) as bigin:
        plan = ImportPlan("Contacts", "upsert", "Email", poll_interval=0.001, part_records=int(part_records))
        result = await run_import(bigin.bulk_jobs, plan, records(int(count)), journal_path=journal)
    outcomes = [[o.index, o.status, o.code, o.from_journal] for o in result.outcomes]
    Path(summary).write_text(json.dumps({"summary": result.summary(), "outcomes": outcomes}))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:])
