"""``deleted()`` against the emulator's bins: records deleted by the client are listed in the recycle
bin, and once the bin is emptied (or their time in it runs out) as permanently deleted."""

from __future__ import annotations

from datetime import datetime

from bigin_async import BiginClient, DeletedRecord
from bigin_emulator import BiginEmulator
from tests.helpers.clock import FakeClock
from tests.helpers.resources import wired_client

DAY = 86_400.0


async def contacts(client: BiginClient, *names: str) -> list[str]:
    result = await client.contacts.bulk_create({"First_Name": "Ann", "Last_Name": name} for name in names)
    return [str(outcome.id) for outcome in result.outcomes]


def ids(entries: list[DeletedRecord]) -> list[str]:
    return [entry.id for entry in entries]


async def test_records_deleted_are_in_the_recycle_bin_then_permanently_deleted_once_it_is_emptied() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        first, second, third = await contacts(client, "Ames", "Bell", "Cole")
        await client.contacts.delete(first)
        await client.contacts.bulk_delete([second])
        wire.clear()

        recycled = [entry async for entry in client.contacts.deleted("recycle")]
        assert ids(recycled) == [second, first]  # the most recently deleted first
        entry = recycled[1]
        assert type(entry) is DeletedRecord and entry.type == "recycle" and entry.in_recycle_bin
        assert entry.display_name == "Ann Ames"
        assert entry.deleted_by is not None and entry.deleted_by.id and entry.deleted_by.name
        assert entry.created_by is not None and entry.created_by.id
        assert isinstance(entry.deleted_time, datetime) and entry.deleted_time.tzinfo is not None
        assert [entry async for entry in client.contacts.deleted("permanent")] == []
        assert [entry async for entry in client.companies.deleted()] == []  # another module's bin

        assert emulator.purge_recycle_bin("Contacts") == 2
        await client.contacts.delete(third)

        permanent = [entry async for entry in client.contacts.deleted("permanent")]
        assert ids(permanent) == [second, first] and {e.type for e in permanent} == {"permanent"}
        assert ids([entry async for entry in client.contacts.deleted("recycle")]) == [third]
        every = [entry async for entry in client.contacts.deleted()]
        assert ids(every) == [third, second, first]
        assert [e.in_recycle_bin for e in every] == [True, False, False]
    assert {s.route for s in wire.sent} >= {"GET /Contacts/deleted"}
    assert [s.params["type"] for s in wire.to("GET", "/Contacts/deleted")] == [
        "recycle",
        "permanent",
        "permanent",
        "recycle",
        "all",
    ]
    assert all("page_token" not in s.params for s in wire.sent)


async def test_a_record_left_in_the_bin_past_its_retention_is_listed_as_permanently_deleted() -> None:
    clock = FakeClock()
    emulator = BiginEmulator(clock=clock, recycle_bin_retention=60 * DAY)
    async with wired_client(emulator) as (client, _):
        [deal] = [
            str((await client.deals.create({"Deal_Name": "Old", "Stage": "Qualification"})).id),
        ]
        await client.deals.delete(deal)
        clock.advance(59 * DAY)
        assert ids([e async for e in client.deals.deleted("recycle")]) == [deal]
        clock.advance(2 * DAY)
        assert [e async for e in client.deals.deleted("recycle")] == []
        assert ids([e async for e in client.module("Deals").deleted("permanent")]) == [deal]


async def test_250_deleted_records_are_walked_over_two_numbered_pages() -> None:
    async with wired_client(BiginEmulator()) as (client, wire):
        created = await contacts(client, *(f"N{n}" for n in range(250)))
        await client.contacts.bulk_delete(created)
        wire.clear()
        entries = [entry async for entry in client.contacts.deleted("recycle")]
        few = await client.contacts.deleted(max_records=3).to_list(limit=10)
    assert sorted(ids(entries)) == sorted(created) and len(set(ids(entries))) == 250
    assert [s.params["page"] for s in wire.sent] == ["1", "2", "1"]
    assert len(few) == 3 and wire.sent[-1].params["per_page"] == "3"
