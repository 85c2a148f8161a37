"""Sync contacts from an external system into Bigin, with bigin-async bulk upserts.

Done one contact at a time, a sync splits each external ``name`` into first and last name, then
upserts the contact on Email (create, or update the contact with that Email), counting synced and
failed contacts: one call per contact.

Here the whole list goes to one ``bulk_upsert(..., ["Email"])``: 100 contacts a call, as many calls
at once as the client's limits allow, and one outcome per contact in input order. A contact the
server refuses (an empty last name for a one-word name: Bigin requires a last name) fails on its own
with the reason, the others are synced. Upserts are idempotent, so a dropped connection or a 5xx is
retried safely, and running the sync again updates instead of duplicating. The external system can
be any iterable, even a generator over a paged API.

    python examples/sync_external_system.py
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from _common import run_example

from bigin_async import BiginClient, BulkProgress
from bigin_emulator import BiginEmulator

# Two contacts, then a larger batch as an external system would hand it over.
EXTERNAL_CONTACTS: list[dict[str, str]] = [
    {"name": "John Doe", "email": "john@example.com", "phone": "555-0001"},
    {"name": "Jane Smith", "email": "jane@example.com", "phone": "555-0002"},
]


def external_system(count: int) -> Iterator[dict[str, str]]:
    """``count`` more contacts, made one at a time; every 100th has a one-word name."""
    for number in range(1, count + 1):
        name = f"Member{number}" if number % 100 == 0 else f"Member {number} Example"
        yield {"name": name, "email": f"member{number}@example.org", "phone": f"555-{number:04d}"}


def to_bigin_contact(contact: Mapping[str, str]) -> dict[str, Any]:
    """First word is the first name, the rest the last name.

    (Keeping only the second word as the last name would lose "Smith" from "Mary Ann Smith". A
    one-word name gets an empty last name, and Bigin refuses it.)
    """
    first, _, last = contact.get("name", "").strip().partition(" ")
    return {
        "First_Name": first,
        "Last_Name": last.strip(),
        "Email": contact.get("email"),
        "Phone": contact.get("phone"),
    }


@dataclass
class SyncReport:
    synced: int = 0
    created: int = 0
    updated: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (email, why)
    progress: list[BulkProgress] = field(default_factory=list)

    @property
    def failed_count(self) -> int:
        return len(self.failed)


async def sync_contacts(bigin: BiginClient, external: Iterable[Mapping[str, str]]) -> SyncReport:
    """Upsert every external contact on Email; count synced and failed contacts."""
    report = SyncReport()
    result = await bigin.contacts.bulk_upsert(
        (to_bigin_contact(contact) for contact in external),
        ["Email"],
        on_progress=lambda progress: report.progress.append(BulkProgress(**vars(progress))),
    )
    for outcome in result:
        if outcome.ok:
            report.synced += 1
        else:
            email = outcome.record.get("Email") if isinstance(outcome.record, dict) else None
            report.failed.append((str(email), f"{outcome.code}: {outcome.message}"))
    report.created, report.updated = result.actions["insert"], result.actions["update"]
    return report


async def main(bigin: BiginClient, extra: int = 1_000) -> SyncReport:
    """Sync the two contacts plus ``extra`` more from the external system."""
    return await sync_contacts(bigin, [*EXTERNAL_CONTACTS, *external_system(extra)])


def seed(emulator: BiginEmulator) -> None:
    """John Doe is already in Bigin with an old phone number: the sync updates him."""
    emulator.insert_records(
        "Contacts",
        [{"First_Name": "John", "Last_Name": "Doe", "Email": "john@example.com", "Phone": "555-9999"}],
    )


def describe(report: SyncReport) -> str:
    lines = [f"Failed: {email} - {why}" for email, why in report.failed[:5]]
    if report.failed_count > 5:
        lines.append(f"... and {report.failed_count - 5} more")
    lines.append(
        f"Sync completed. Success: {report.synced} ({report.created} created, {report.updated} updated), "
        f"Failed: {report.failed_count}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    run_example(main, describe, seed=seed)
