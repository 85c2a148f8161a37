"""Search contacts by criteria, email, phone and word, with bigin-async.

Bigin's call is ``GET /bigin/v2/Contacts/search`` with ``criteria=(Email:equals:...)``, or
``email=``, ``phone=`` or ``word=`` (full text). ``bigin.contacts.search`` takes exactly one of
``criteria``, ``email``, ``phone`` or ``word`` and returns a paginator; criteria are built with
``Field`` so a value can never rewrite the query (``(``, ``)`` and ``,`` are escaped).

Two Bigin facts worth knowing: ``equals`` is not an exact match (it can also return records that
merely contain the value), so filter client-side when exactness matters; and the search index
lags writes by 10-20 seconds on a real org.

    python examples/search.py
"""

from __future__ import annotations

from dataclasses import dataclass

from _common import JOHN_DOE, run_example

from bigin_async import BiginClient, Contact, Field
from bigin_emulator import BiginEmulator

EMAIL = str(JOHN_DOE["Email"])
PHONE = str(JOHN_DOE["Phone"])
WORD = "Doe"


def seed(emulator: BiginEmulator) -> None:
    """Stands in for a real org's data: John Doe among 25 generated contacts."""
    emulator.insert_records("Contacts", [JOHN_DOE])
    emulator.seed_data(contacts=25)


@dataclass(frozen=True)
class SearchResults:
    by_criteria: list[Contact]
    by_email: list[Contact]
    by_phone: list[Contact]
    by_word: list[Contact]


async def main(bigin: BiginClient) -> SearchResults:
    """Four searches on Contacts: criteria, email, phone and word (at most 200 matches each)."""
    contacts = bigin.contacts
    criteria = Field("Email") == EMAIL  # renders as (Email:equals:john.doe@example.com)
    by_criteria = await contacts.search(criteria=criteria).to_list(limit=200)
    return SearchResults(
        # "equals" may also match look-alikes: keep only the exact address.
        by_criteria=[c for c in by_criteria if (c.Email or "").casefold() == EMAIL.casefold()],
        by_email=await contacts.search(email=EMAIL).to_list(limit=200),
        by_phone=await contacts.search(phone=PHONE).to_list(limit=200),
        by_word=await contacts.search(word=WORD).to_list(limit=200),
    )


def describe(found: SearchResults) -> str:
    def names(contacts: list[Contact]) -> str:
        return ", ".join(f"{c.Full_Name or c.Last_Name} <{c.Email}>" for c in contacts) or "none"

    return "\n".join(
        [
            f"Found contacts (criteria Email equals {EMAIL}): {names(found.by_criteria)}",
            f"Found contacts (email={EMAIL}): {names(found.by_email)}",
            f"Found contacts (phone={PHONE}): {names(found.by_phone)}",
            f"Found contacts (word={WORD}): {names(found.by_word)}",
        ]
    )


if __name__ == "__main__":
    run_example(main, describe, seed=seed)
