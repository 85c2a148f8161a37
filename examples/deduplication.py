"""Deduplication: create or update a contact by its Email, with bigin-async.

Create or update by hand: search ``/Contacts/search`` with ``criteria=(Email:equals:...)``,
then PUT to the match or POST a new contact.
:func:`create_or_update_contact` is that, with the SDK. Two caveats on a real org: search
``equals`` is not an exact match (so the match is checked here), and the search index lags writes
by 10-20 seconds, so two runs close together can both create. The one-call answer is
``bigin.contacts.upsert(record, duplicate_check_fields=["Email"])``: Bigin matches and writes
atomically, and the result says whether it inserted or updated; both are shown.

    python examples/deduplication.py
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from _common import record_id, run_example

from bigin_async import BiginClient, Contact, Field


@dataclass(frozen=True)
class Outcome:
    id: str
    action: Literal["created", "updated"]


async def find_contact_by_email(bigin: BiginClient, email: str) -> Contact | None:
    """The contact whose Email is exactly ``email`` (case-insensitive), if any."""
    matches = await bigin.contacts.search(criteria=Field("Email") == email).to_list(limit=200)
    return next((c for c in matches if (c.Email or "").casefold() == email.casefold()), None)


async def create_or_update_contact(bigin: BiginClient, contact: Mapping[str, Any]) -> Outcome:
    """Search, then write: update the contact with this Email, or create one."""
    existing = await find_contact_by_email(bigin, str(contact["Email"]))
    if existing is not None and existing.id is not None:
        await bigin.contacts.update(existing.id, contact)
        return Outcome(existing.id, "updated")
    return Outcome(record_id(await bigin.contacts.create(contact)), "created")


async def upsert_contact(bigin: BiginClient, contact: Mapping[str, Any]) -> Outcome:
    """The same in one atomic call; Bigin says which it did."""
    result = await bigin.contacts.upsert(contact, duplicate_check_fields=["Email"])
    return Outcome(record_id(result), "updated" if result.action == "update" else "created")


async def main(bigin: BiginClient) -> list[Outcome]:
    """Write John Doe twice by search-then-write, then twice more by upsert: one John Doe in the end."""
    john = {"First_Name": "John", "Last_Name": "Doe", "Email": "john.doe@example.com", "Phone": "555-0123"}
    return [
        await create_or_update_contact(bigin, john),
        await create_or_update_contact(bigin, {**john, "Phone": "555-0199"}),
        await upsert_contact(bigin, {"Last_Name": "Doe", "Email": john["Email"], "Title": "CEO"}),
        await upsert_contact(bigin, {"Last_Name": "Roe", "Email": "mary.roe@example.com"}),
    ]


def describe(outcomes: list[Outcome]) -> str:
    return "\n".join(f"{outcome.action}: {outcome.id}" for outcome in outcomes)


if __name__ == "__main__":
    run_example(main, describe)
