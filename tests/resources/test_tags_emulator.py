"""``bigin.tags`` and 500-a-call ``add_tags``/``remove_tags`` against the emulator, calls counted there."""

from __future__ import annotations

import pytest

from bigin_async.errors import InvalidRequestError
from bigin_emulator import BiginEmulator
from tests.helpers.lost_answers import LoseAnswers
from tests.helpers.resources import wired_client

ADD = "POST /bigin/v2/Contacts/actions/add_tags"
REMOVE = "POST /bigin/v2/Contacts/actions/remove_tags"


async def test_tags_are_created_listed_updated_counted_and_deleted() -> None:
    emulator = BiginEmulator()
    contacts = emulator.seed_data(contacts=3)["Contacts"]
    async with wired_client(emulator) as (client, _):
        hot, cold = await client.tags.create("Contacts", ["Hot", {"name": "Cold", "color_code": "#57B1FD"}])
        assert (hot.name, hot.color_code, cold.name, cold.color_code) == ("Hot", None, "Cold", "#57B1FD")
        assert hot.id and cold.id and hot.created_time is not None
        renamed = await client.tags.update("Contacts", cold.id, name="Frozen")
        recoloured = await client.tags.update("Contacts", hot.id, color_code="#F17574")
        listed = {t.id: t for t in await client.tags.list("Contacts")}
        tagged = await client.contacts.add_tags(contacts[:2], ["Frozen"])
        counted = await client.tags.records_count("Contacts", cold.id)
        deleted = await client.tags.delete(cold.id)
        after = {t.name for t in await client.tags.list("Contacts")}
        record = await client.contacts.get(contacts[0])
        with pytest.raises(InvalidRequestError) as gone:
            await client.tags.delete(cold.id)  # no lost answer before it: "not found" is an error
        raw = await client.settings.tags("Contacts")
    assert (renamed.name, renamed.color_code) == ("Frozen", "#57B1FD")  # the colour kept
    assert (recoloured.name, recoloured.color_code) == ("Hot", "#F17574")  # the name kept
    assert (listed[cold.id].name, listed[cold.id].color_code) == ("Frozen", "#57B1FD")
    assert listed[hot.id].color_code == "#F17574"
    assert all(r.ok for r in tagged) and counted == 2
    assert deleted.ok and deleted.id == cold.id and deleted.code == "SUCCESS"
    assert "Frozen" not in after and "Frozen" not in {t.name for t in record.Tag or []}
    assert gone.value.code == "INVALID_DATA"
    assert {t["name"] for t in raw} == after


async def test_a_retried_delete_that_finds_the_tag_gone_succeeds_flagged() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (setup, _):
        (tag,) = await setup.tags.create("Contacts", "Doomed")
    assert tag.id is not None
    lossy = LoseAnswers(emulator.transport(), "DELETE", f"/bigin/v2/settings/tags/{tag.id}")
    async with emulator.client(transport=lossy, retry_backoff_seconds=0) as client:
        result = await client.tags.delete(tag.id)
        left = await client.tags.list("Contacts")
    assert lossy.lost == 1 and emulator.counters.requests_by_route["DELETE /bigin/v2/settings/tags/{id}"] == 2
    assert result.ok and result.code == "MAYBE_ALREADY_DELETED"
    assert result.details == {"id": tag.id, "maybe_never_existed": True}
    assert left == []


async def test_merge_moves_the_records_of_one_tag_to_the_other() -> None:
    emulator = BiginEmulator()
    contacts = emulator.seed_data(contacts=3)["Contacts"]
    async with wired_client(emulator) as (client, _):
        await client.contacts.add_tags(contacts[:2], ["Old"])
        await client.contacts.add_tags(contacts[1:], ["New"])
        by_name = {t.name: t for t in await client.tags.list("Contacts")}
        old, new = by_name["Old"].id, by_name["New"].id
        assert old is not None and new is not None
        merged = await client.tags.merge(old, new)
        names = {t.name for t in await client.tags.list("Contacts")}
        count = await client.tags.records_count("Contacts", new)
    assert merged.ok and merged.id == new
    assert "Old" not in names and "New" in names and count == 3


async def test_1200_records_are_tagged_and_untagged_in_three_calls_each() -> None:
    emulator = BiginEmulator()
    contacts = emulator.seed_data(contacts=1200)["Contacts"]
    async with wired_client(emulator) as (client, _):
        added = await client.contacts.add_tags(contacts, ["Bulk"])
        (tag,) = [t for t in await client.tags.list("Contacts") if t.name == "Bulk"]
        assert tag.id is not None
        counted = await client.tags.records_count("Contacts", tag.id)
        removed = await client.contacts.remove_tags(list(reversed(contacts)), "Bulk")
        left = await client.tags.records_count("Contacts", tag.id)
        spent = client.credits.spent_total
    routes = emulator.counters.requests_by_route
    assert routes[ADD] == 3 and routes[REMOVE] == 3
    credits = emulator.counters.credits_by_route
    assert credits[ADD] == 3 and credits[REMOVE] == 3  # a tag call costs 1 credit, as the SDK counts it
    assert [r.id for r in added] == contacts and all(r.ok for r in added)
    assert [r.id for r in removed] == list(reversed(contacts)) and all(r.ok for r in removed)
    assert counted == 1200 and left == 0 and spent == emulator.counters.credits
    stored = emulator.store.table("Contacts").get(contacts[-1]) or {}
    assert "Bulk" not in {t["name"] for t in stored.get("Tag") or []}


async def test_a_record_that_is_not_there_is_one_failed_result_among_the_others() -> None:
    emulator = BiginEmulator()
    contacts = emulator.seed_data(contacts=2)["Contacts"]
    missing = "5545000000009999999"
    async with wired_client(emulator) as (client, _):
        results = await client.contacts.add_tags([contacts[0], missing, contacts[1]], ["VIP"])
        alone = await client.contacts.add_tags([missing], ["VIP"])  # a 400 whose one entry fails
    assert [r.id for r in results] == [contacts[0], missing, contacts[1]]
    assert [r.ok for r in results] == [True, False, True] and results[1].code == "INVALID_DATA"
    assert [(r.id, r.ok) for r in alone] == [(missing, False)]
