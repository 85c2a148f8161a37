"""search.py, bulk_create_and_upsert.py and export_all_contacts.py against a fresh emulator."""

from __future__ import annotations

from bigin_async import BiginClient
from bigin_emulator import BiginEmulator
from tests.helpers.examples import load_example


def ids_with_email(emulator: BiginEmulator, email: str) -> list[str]:
    return emulator.store.table("Contacts").find_equal("Email", email)


async def test_search_finds_john_by_criteria_email_phone_and_word(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("search")
    example.seed(emulator)
    assert len(emulator.store.table("Contacts")) == 26
    [john_id] = ids_with_email(emulator, "john.doe@example.com")

    found = await example.main(bigin)

    assert [c.id for c in found.by_criteria] == [john_id]  # exact matches only
    for name in ("by_email", "by_phone", "by_word"):
        assert john_id in [c.id for c in getattr(found, name)], name
    assert all(c.Phone == "555-0123" for c in found.by_phone)
    assert "Found contacts (word=Doe): " in example.describe(found)


async def test_search_finds_nothing_in_an_empty_org(bigin: BiginClient) -> None:
    found = await load_example("search").main(bigin)
    assert (found.by_criteria, found.by_email, found.by_phone, found.by_word) == ([], [], [], [])


async def test_bulk_create_then_upsert_updates_instead_of_duplicating(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("bulk_create_and_upsert")
    run = await example.main(bigin, batch_rows=250)

    assert run.created.ok and run.created.actions["insert"] == 3
    assert [o.index for o in run.created] == [0, 1, 2]
    assert (run.upserted.actions["insert"], run.upserted.actions["update"]) == (1, 1)
    [alice_id] = ids_with_email(emulator, "alice@example.com")
    assert run.upserted.outcomes[1].id == alice_id
    alice = emulator.store.table("Contacts").get(alice_id)
    assert alice is not None and alice["Phone"] == "555-0456"
    # Company_Name as a plain string made the companies.
    assert {c["Account_Name"] for c in emulator.store.table("Accounts")} == {
        "ABC Inc",
        "XYZ Corp",
        "Tech Solutions",
    }

    assert run.batched.ok and run.batched.total == 250
    assert [(p.batches, p.processed) for p in run.progress] == [(1, 100), (2, 200), (3, 250)]
    assert len(emulator.store.table("Contacts")) == 3 + 1 + 250


async def test_bulk_run_twice_reports_duplicates_per_record_and_updates_the_batch(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("bulk_create_and_upsert")
    await example.main(bigin, batch_rows=10)
    again = await example.main(bigin, batch_rows=10)
    assert [o.code for o in again.created.failed] == ["DUPLICATE_DATA"] * 3
    assert again.upserted.actions["update"] == 2
    assert again.batched.actions["update"] == 10
    assert len(emulator.store.table("Contacts")) == 3 + 1 + 10
    assert "DUPLICATE_DATA" in example.describe(again)


async def test_export_walks_every_page(bigin: BiginClient, emulator: BiginEmulator) -> None:
    example = load_example("export_all_contacts")
    example.seed(emulator)
    pages: list[tuple[int, int]] = []
    contacts = await example.main(bigin, on_page=lambda number, total: pages.append((number, total)))
    assert pages == [(1, 200), (2, 400), (3, 450)]
    assert sorted(c.id for c in contacts) == sorted(r["id"] for r in emulator.store.table("Contacts"))


async def test_export_goes_past_record_2000(bigin: BiginClient, emulator: BiginEmulator) -> None:
    # A page-number loop stops at 2,000 (Bigin serves no page 11 by number).
    emulator.seed_data(contacts=2_050)
    contacts = await load_example("export_all_contacts").main(bigin)
    ids = [c.id for c in contacts]
    assert len(ids) == len(set(ids)) == 2_050
    assert set(ids) == {r["id"] for r in emulator.store.table("Contacts")}
