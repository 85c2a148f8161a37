"""Notes, tasks and events attached to records, related lists, and tags on records."""

from __future__ import annotations

import pytest

from bigin_async.models import Contact, Deal, Event, Note, RelatedTo, Task
from bigin_emulator import BiginEmulator
from tests.helpers.resources import wired_client


def org_with_a_contact() -> tuple[BiginEmulator, str, str]:
    emulator = BiginEmulator()
    ids = emulator.seed_data(companies=1, contacts=3, deals=1)
    return emulator, ids["Contacts"][0], ids["Pipelines"][0]


@pytest.mark.parametrize(
    ("module", "wire_module"), [("Contacts", "Contacts"), ("Deals", "Pipelines"), ("Companies", "Accounts")]
)
async def test_notes_add_and_for_record_on_each_parent(module: str, wire_module: str) -> None:
    emulator = BiginEmulator()
    ids = emulator.seed_data(companies=1, contacts=1, deals=1)
    parent_id = ids[wire_module][0]
    async with wired_client(emulator) as (client, wire):
        first = await client.notes.add(module, parent_id, "Kick-off", "Went well.")
        second = await client.notes.add(module, parent_id, None, "No title here.")
        notes = await client.notes.for_record(module, parent_id).to_list(limit=10)
        other = await client.notes.for_record("Contacts", ids["Contacts"][0]).to_list(limit=10)
    assert first.ok and second.ok
    assert {n.id for n in notes} == {first.id, second.id}
    assert all(type(n) is Note for n in notes)
    assert {n.get("Note_Content") for n in notes} == {"Went well.", "No title here."}
    by_id = {n.id: n for n in notes}
    assert by_id[first.id].get("Note_Title") == "Kick-off" and by_id[second.id].get("Note_Title") is None
    assert wire.sent[0].path == "/Notes"
    assert wire.sent[0].body["data"] == [
        {
            "Note_Content": "Went well.",
            "Parent_Id": {"id": parent_id},
            "$se_module": wire_module,
            "Note_Title": "Kick-off",
        }
    ]
    assert "Note_Title" not in wire.sent[1].body["data"][0]
    assert wire.sent[2].route == f"GET /{wire_module}/{parent_id}/Notes"
    if wire_module != "Contacts":
        assert other == []


async def test_tasks_and_events_are_related_to_a_record_by_module_and_id() -> None:
    emulator, contact_id, deal_id = org_with_a_contact()
    async with wired_client(emulator) as (client, wire):
        task = await client.tasks.create(
            {
                "Subject": "Prepare proposal",
                "Due_Date": "2025-01-25",
                "Priority": "High",
                "Related_To": {"module": "Pipelines", "id": deal_id},
            }
        )
        event = await client.events.create(
            Event(
                Event_Title="Demo",
                Start_DateTime="2025-01-22T14:00:00Z",
                End_DateTime="2025-01-22T15:00:00Z",
                Related_To=RelatedTo(module="Contacts", id=contact_id),
                Participants=[{"id": contact_id}],
            )
        )
        read_task = await client.tasks.get(task.id)  # type: ignore[arg-type]
        read_event = await client.events.get(event.id)  # type: ignore[arg-type]
        deal_tasks = await client.deals.related(deal_id, "Tasks").to_list(limit=10)
    assert type(read_task) is Task and read_task.Related_To is not None
    assert read_task.Related_To.id == deal_id and read_task.Related_To.module_api_name == "Pipelines"
    assert read_event.Related_To is not None and read_event.Related_To.id == contact_id
    assert read_event.Related_To.module_api_name == "Contacts"
    assert read_event.Participants and read_event.Participants[0].id == contact_id
    # The field alias Related_To is sent under Bigin's names: What_Id + $se_module, typed participants.
    sent = wire.sent[1].body["data"][0]
    assert (sent["What_Id"], sent["$se_module"]) == ({"id": contact_id}, "Contacts")
    assert "Related_To" not in sent
    assert sent["Participants"] == [{"type": "contact", "participant": contact_id}]
    assert [t.id for t in deal_tasks] == [task.id]


async def test_related_lists_are_typed_by_the_related_module() -> None:
    emulator = BiginEmulator()
    ids = emulator.seed_data(companies=1, contacts=4, deals=2)
    account_id = ids["Accounts"][0]
    async with wired_client(emulator) as (client, wire):
        contacts = await client.companies.related(account_id, "Contacts").to_list(limit=10)
        paged = [c async for c in client.companies.related(account_id, "Contacts", per_page=3)]
        first = await client.companies.related(account_id, "Contacts", per_page=3)
        deal = await client.deals.update(ids["Pipelines"][0], {"Account_Name": {"id": account_id}})
        deals = await client.companies.related(account_id, "Pipelines").to_list(limit=10)
    assert {c.id for c in contacts} == set(ids["Contacts"]) == {c.id for c in paged}
    assert all(type(c) is Contact for c in contacts) and all(type(d) is Deal for d in deals)
    assert first.info is not None and first.info.more_records is True and len(first.data) == 3
    assert [d.id for d in deals] == [deal.id]
    related_calls = [s for s in wire.sent if s.path == f"/Accounts/{account_id}/Contacts"]
    assert [s.params.get("page") for s in related_calls] == ["1", "1", "2", "1"]
    assert related_calls[0].params["fields"].startswith("First_Name,Last_Name")  # Contacts' defaults


async def test_tags_are_added_to_and_removed_from_records() -> None:
    emulator, contact_id, _ = org_with_a_contact()
    other_id = next(i for i in emulator.store.table("Contacts").records if i != contact_id)
    async with wired_client(emulator) as (client, wire):
        added = await client.contacts.add_tags([contact_id, other_id], ["VIP", "Hot lead"])
        assert [r.id for r in added] == [contact_id, other_id] and all(r.ok for r in added)
        assert {t.name for t in (await client.contacts.get(contact_id)).Tag or []} == {"VIP", "Hot lead"}
        removed = await client.contacts.remove_tags(contact_id, "Hot lead")
        assert removed[0].ok
        tags = (await client.contacts.get(contact_id)).Tag or []
        defined = await client.settings.tags("Contacts")
        created_with_tag = await client.contacts.create({"Last_Name": "Tagged", "Tag": ["VIP"]})
        with_tag = await client.contacts.get(created_with_tag.id)  # type: ignore[arg-type]
    assert [t.name for t in tags] == ["VIP"]
    assert {t["name"] for t in defined} >= {"VIP", "Hot lead"}
    assert [t.name for t in with_tag.Tag or []] == ["VIP"]
    add_call = wire.to("POST", "/Contacts/actions/add_tags")[0]
    assert add_call.params == {"ids": f"{contact_id},{other_id}", "tag_names": "VIP,Hot lead"}
    assert wire.to("POST", "/Contacts")[0].body["data"] == [{"Last_Name": "Tagged", "Tag": [{"name": "VIP"}]}]
    stored = emulator.store.table("Contacts").get(other_id) or {}
    assert {t["name"] for t in stored["Tag"]} == {"VIP", "Hot lead"}  # the other record kept both


async def test_related_lists_accept_the_module_name_aliases_companies_and_deals() -> None:
    emulator = BiginEmulator()
    ids = emulator.seed_data(companies=1, contacts=1, deals=1)
    contact_id, deal_id = ids["Contacts"][0], ids["Pipelines"][0]
    async with wired_client(emulator) as (client, wire):
        await client.deals.update(deal_id, {"Contact_Name": {"id": contact_id}})
        deals = await client.contacts.related(contact_id, "Deals").to_list(limit=5)
        companies_contacts = (
            await client.module("Companies").related(ids["Accounts"][0], "Contacts").to_list(limit=5)
        )
    assert [d.id for d in deals] == [deal_id] and type(deals[0]) is Deal
    assert [c.id for c in companies_contacts] == [contact_id]
    assert wire.sent[1].path == f"/Contacts/{contact_id}/Pipelines"
    assert wire.sent[2].path == f"/Accounts/{ids['Accounts'][0]}/Contacts"
