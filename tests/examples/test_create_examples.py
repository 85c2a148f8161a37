"""The one-record examples: each creates what its docstring promises, linked as it says."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bigin_async import BiginClient
from bigin_emulator import BiginEmulator
from tests.helpers.examples import load_example


def stored(emulator: BiginEmulator, module: str, record_id: str) -> dict[str, Any]:
    record = emulator.store.table(module).get(record_id)
    assert record is not None, f"{module} {record_id} was not written"
    return record


def tag_names(record: dict[str, Any]) -> set[str]:
    return {tag["name"] for tag in record.get("Tag") or []}


async def test_get_pipelines_lists_the_default_pipeline_with_its_stages_in_order(bigin: BiginClient) -> None:
    example = load_example("get_pipelines")
    pipelines = await example.main(bigin)
    default = next(p for p in pipelines if p.default)
    assert default.name == "Sales Pipeline"
    assert [(s.display_value, s.probability) for s in default.stages] == [
        ("Qualification", 10),
        ("Needs Analysis", 25),
        ("Proposal", 50),
        ("Negotiation", 75),
        ("Closed Won", 100),
        ("Closed Lost", 0),
    ]
    assert "Sales Pipeline (default)" in example.describe(pipelines)


async def test_create_contact_writes_every_field_and_a_second_run_finds_him(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("create_contact")
    first = await example.main(bigin)
    assert first.created
    john = stored(emulator, "Contacts", first.id)
    assert (john["Full_Name"], john["Email"], john["Title"]) == ("John Doe", "john.doe@example.com", "CEO")
    assert (john["Mailing_City"], john["Mailing_Zip"], john["Mobile"]) == ("New York", "10001", "555-0124")
    assert tag_names(john) == {"VIP", "Decision Maker"}
    # A plain company name: the company is created and the contact linked to it by id.
    company = stored(emulator, "Accounts", john["Account_Name"]["id"])
    assert company["Account_Name"] == "Acme Corporation"

    again = await example.main(bigin)
    assert (again.created, again.id) == (False, first.id)
    assert len(emulator.store.table("Contacts")) == 1


async def test_create_company_goes_to_accounts_and_is_not_duplicated(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("create_company")
    saved = await example.main(bigin)
    company = stored(emulator, "Accounts", saved.id)
    assert (company["Account_Name"], company["Industry"], company["Employees"]) == (
        "TechCorp Inc",
        "Technology",
        50,
    )
    assert (company["Billing_City"], company["Annual_Revenue"]) == ("San Francisco", 5000000)
    assert tag_names(company) == {"Technology", "B2B"}
    assert (await example.main(bigin)).id == saved.id
    assert len(emulator.store.table("Accounts")) == 1


async def test_create_product_keeps_the_fields_given(bigin: BiginClient, emulator: BiginEmulator) -> None:
    example = load_example("create_product")
    saved = await example.main(bigin)
    product = stored(emulator, "Products", saved.id)
    assert (product["Product_Name"], product["Product_Code"]) == (
        "Professional Website Package",
        "WEB-PRO-001",
    )
    assert (product["Unit_Price"], product["Product_Active"], product["Taxable"]) == (5000, True, True)
    assert product["Tax_Percentage"] == 8.5  # not a Bigin field: kept like a custom one
    read = await bigin.products.get(saved.id, fields=["Product_Name", "Unit_Price"])
    assert read.Unit_Price == 5000.0
    assert not (await example.main(bigin)).created


async def test_create_deal_links_pipeline_contact_and_company(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("create_deal")
    created = await example.main(bigin)
    deal = stored(emulator, "Pipelines", created.deal_id)
    assert (deal["Deal_Name"], deal["Amount"], deal["Stage"]) == (
        "Website Redesign Project",
        25000,
        "Proposal",
    )
    assert deal["Layout"]["id"] == created.pipeline_id == emulator.ctx.pipelines.default().id
    assert deal["Contact_Name"]["id"] == created.contact_id
    assert deal["Account_Name"]["id"] == created.company_id
    assert tag_names(deal) == {"Website", "Design"}
    ahead = date.fromisoformat(deal["Closing_Date"]) - date.today()
    assert timedelta(days=44) <= ahead <= timedelta(days=45)
    assert stored(emulator, "Contacts", created.contact_id)["Email"] == "john.doe@example.com"
    assert stored(emulator, "Accounts", created.company_id)["Account_Name"] == "Acme Corporation"
    johns_deals = [d.id async for d in bigin.contacts.related(created.contact_id, "Pipelines")]
    assert johns_deals == [created.deal_id]


async def test_create_task_relates_it_to_the_contact(bigin: BiginClient, emulator: BiginEmulator) -> None:
    example = load_example("create_task")
    created = await example.main(bigin)
    task = stored(emulator, "Tasks", created.task_id)
    assert (task["Subject"], task["Status"], task["Priority"]) == (
        "Follow up with client",
        "Not Started",
        "High",
    )
    assert (task["What_Id"]["id"], task["$se_module"]) == (created.contact_id, "Contacts")
    read = await bigin.tasks.get(created.task_id)
    assert read.Related_To is not None and read.Related_To.id == created.contact_id
    assert [t.id async for t in bigin.contacts.related(created.contact_id, "Tasks")] == [created.task_id]


async def test_create_note_attaches_it_to_the_contact(bigin: BiginClient, emulator: BiginEmulator) -> None:
    example = load_example("create_note")
    created = await example.main(bigin)
    assert created.notes_on_contact == 1
    note = stored(emulator, "Notes", created.note_id)
    assert note["Note_Title"] == "Initial Call Notes"
    assert note["Note_Content"].startswith("Client is interested")
    assert (note["Parent_Id"]["id"], note["$se_module"]) == (created.contact_id, "Contacts")
    again = await example.main(bigin)  # the contact is reused, the note added
    assert (again.contact_id, again.notes_on_contact) == (created.contact_id, 2)


async def test_create_event_has_the_participant_and_the_deal(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("create_event")
    created = await example.main(bigin)
    event = stored(emulator, "Events", created.event_id)
    assert (event["Event_Title"], event["Venue"]) == ("Client Meeting", "Conference Room A")
    assert event["Participants"] == [{"type": "contact", "participant": created.contact_id}]
    assert (event["What_Id"]["id"], event["$se_module"]) == (created.deal_id, "Pipelines")
    read = await bigin.events.get(created.event_id)
    assert read.Start_DateTime is not None and read.End_DateTime is not None
    assert read.End_DateTime - read.Start_DateTime == timedelta(hours=1)
    assert stored(emulator, "Pipelines", created.deal_id)["Contact_Name"]["id"] == created.contact_id
