"""Export all contacts, past record 2,000, with bigin-async.

The usual export is a ``while has_more`` loop over ``GET /Contacts?page=N&per_page=200`` reading
``info.more_records``. That loop stops working at record 2,000: Bigin serves only the first 2,000
records by page number. ``bigin.contacts.list()`` is a paginator that walks every page and switches
to ``page_token`` past 2,000 by itself; ``.pages()`` gives each page with its ``info``, holding one
page at a time. (Bigin v2 also requires ``fields`` on list calls; the SDK sends the module's
defaults, or the names you give.)

    python examples/export_all_contacts.py
"""

from __future__ import annotations

from collections.abc import Callable

from _common import run_example

from bigin_async import BiginClient, Contact
from bigin_emulator import BiginEmulator

FIELDS = ["First_Name", "Last_Name", "Email", "Phone", "Account_Name"]
PageCallback = Callable[[int, int], None]


def seed(emulator: BiginEmulator) -> None:
    """Stands in for a real org's data: 450 contacts, so three pages of 200."""
    emulator.seed_data(contacts=450)


async def main(bigin: BiginClient, on_page: PageCallback | None = None) -> list[Contact]:
    """Every contact, 200 per call; ``on_page(page_number, total_so_far)`` after each page."""
    all_contacts: list[Contact] = []
    page_number = 0
    async for page in bigin.contacts.list(fields=FIELDS, per_page=200).pages():
        page_number += 1
        all_contacts.extend(page.data)
        if on_page is not None:
            on_page(page_number, len(all_contacts))
    return all_contacts


def print_progress(page_number: int, total: int) -> None:
    print(f"Fetched page {page_number}, total contacts: {total}")


if __name__ == "__main__":
    run_example(
        lambda bigin: main(bigin, on_page=print_progress),
        lambda contacts: f"Total contacts exported: {len(contacts)}",
        seed=seed,
    )
