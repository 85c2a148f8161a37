"""examples/sync_external_system.py and examples/import_leads.py against a fresh emulator.

(tests/examples/test_scripts.py also runs both as scripts, the way a user would.)
"""

from __future__ import annotations

from bigin_emulator import BiginEmulator
from tests.helpers.examples import load_example


async def test_sync_counts_synced_and_failed_and_a_second_sync_only_updates() -> None:
    example = load_example("sync_external_system")
    emulator = BiginEmulator()
    example.seed(emulator)
    async with emulator.client() as bigin:
        first = await example.main(bigin, extra=250)
        second = await example.main(bigin, extra=250)
    contacts = emulator.store.table("Contacts")
    # 252 contacts, of which member100 and member200 have one-word names: no last name.
    assert (first.synced, first.failed_count, first.created, first.updated) == (250, 2, 249, 1)
    assert [email for email, _ in first.failed] == ["member100@example.org", "member200@example.org"]
    assert all("MANDATORY_NOT_FOUND" in why for _, why in first.failed)
    assert (second.synced, second.created, second.updated) == (250, 0, 250)
    assert len(contacts) == 250
    [john] = [contacts.get(i) for i in contacts.find_equal("Email", "john@example.com")]
    assert john is not None and john["Phone"] == "555-0001" and john["Last_Name"] == "Doe"
    assert first.progress[-1].processed == 252
    assert "Sync completed. Success: 250" in example.describe(first)


async def test_import_leads_creates_then_updates_companies_contacts_and_deals() -> None:
    example = load_example("import_leads")
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        first = await example.main(bigin, extra=60)
        sizes = {m: len(emulator.store.table(m)) for m in ("Accounts", "Contacts", "Pipelines")}
        second = await example.main(bigin, extra=60)
    # 4 leads written with field aliases (one has no last name) + 60 generated: 10 per company,
    # every 3rd a deal.
    assert [item["email"] for item in first.failed] == ["nameless@example.com"]
    assert len(first.successful) == 63
    assert sizes == {"Accounts": 2 + 7, "Contacts": 63, "Pipelines": 2 + 20}
    assert {m: len(emulator.store.table(m)) for m in sizes} == sizes  # the second run doubled nothing
    assert second.contacts.actions["update"] == 63 and second.deals.actions["update"] == 22
    contacts = emulator.store.table("Contacts")
    [john_id] = contacts.find_equal("Email", "john@example.com")
    john = contacts.get(john_id)
    [acme_id] = emulator.store.table("Accounts").find_equal("Account_Name", "Acme Corp")
    assert john is not None and john["Account_Name"]["id"] == acme_id
    deals = emulator.store.table("Pipelines")
    [deal] = [deals.get(i) for i in deals.find_equal("Deal_Name", example.deal_name(example.LEADS[0]))]
    assert (
        deal is not None and deal["Contact_Name"]["id"] == john_id and deal["Account_Name"]["id"] == acme_id
    )
    assert deal["Amount"] == 25000 and deal["Stage"] == "Qualification"
    assert "Success: 63, Failed: 1" in example.describe(first)
