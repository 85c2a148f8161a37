"""Every paginator reports progress: list, search, related, users and COQL."""

from __future__ import annotations

from bigin_emulator import BiginEmulator


async def test_progress_callbacks_on_every_paginator() -> None:
    emulator = BiginEmulator()
    created = emulator.seed_data(companies=1, contacts=250)
    company_id = created["Accounts"][0]
    seen: dict[str, list[int]] = {"list": [], "related": [], "coql": [], "users": [], "search": []}
    async with emulator.client() as bigin:
        await bigin.contacts.list(fields=["Last_Name"], on_progress=seen["list"].append).to_list(limit=1000)
        await bigin.companies.related(company_id, "Contacts", on_progress=seen["related"].append).to_list(
            limit=1000
        )
        await bigin.coql(
            "select Last_Name from Contacts where Last_Name is not null", on_progress=seen["coql"].append
        ).to_list(limit=1000)
        await bigin.users.list(on_progress=seen["users"].append).to_list(limit=10)
        await bigin.contacts.search(word="example", on_progress=seen["search"].append).to_list(limit=1000)
    assert seen["list"] == [200, 250]
    assert seen["related"] == [200, 250]
    assert seen["coql"] == [200, 250]
    assert seen["users"] and seen["users"][-1] >= 1
    assert seen["search"] and seen["search"][-1] > 0
