"""The common operations (company, contact, deal, task, meeting, note), through the SDK and emulator."""

from __future__ import annotations

from typing import Any

import httpx

from bigin_async.models import Contact
from bigin_emulator import BiginEmulator
from tests.helpers.resources import wired_client


async def test_complete_sales_workflow() -> None:
    """Company, contact, deal, task and meeting, each created under field aliases, then a note on the deal."""
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        company = await client.companies.create(
            {
                "Company_Name": "New Tech Corp",
                "Email": "info@newtech.com",
                "Phone": "555-2000",
                "Industry": "Technology",
            }
        )
        contact = await client.contacts.create(
            {
                "First_Name": "Sarah",
                "Last_Name": "Johnson",
                "Email": "sarah@newtech.com",
                "Phone": "555-2001",
                "Company_Name": {"id": company.id},
                "Job_Title": "CTO",
            }
        )
        deal = await client.deals.create(
            {
                "Deal_Name": "Enterprise Software License",
                "Amount": 50000,
                "Stage": "Qualification",
                "Expected_Close_Date": "2025-03-31",
                "Contact_Name": {"id": contact.id},
                "Company_Name": {"id": company.id},
            }
        )
        task = await client.tasks.create(
            {
                "Subject": "Prepare proposal",
                "Due_Date": "2025-01-25",
                "Priority": "High",
                "Status": "Not Started",
                "Related_To": {"module": "Pipelines", "id": deal.id},
            }
        )
        meeting = await client.events.create(
            {
                "Event_Title": "Demo Meeting",
                "Start_DateTime": "2025-01-22T14:00:00Z",
                "End_DateTime": "2025-01-22T15:00:00Z",
                "Participants": [{"id": contact.id}],
                "Related_To": {"module": "Pipelines", "id": deal.id},
            }
        )
        note = await client.notes.add("Deals", deal.id, "Discovery call", "CTO wants SSO and an annual plan.")  # type: ignore[arg-type]

        read_company = await client.companies.get(company.id)  # type: ignore[arg-type]
        read_contact = await client.contacts.get(contact.id)  # type: ignore[arg-type]
        read_deal = await client.deals.get(deal.id)  # type: ignore[arg-type]
        company_contacts = await client.companies.related(company.id, "Contacts").to_list(limit=10)  # type: ignore[arg-type]
        deal_tasks = await client.deals.related(deal.id, "Tasks").to_list(limit=10)  # type: ignore[arg-type]
        deal_events = await client.deals.related(deal.id, "Events").to_list(limit=10)  # type: ignore[arg-type]
        deal_notes = await client.notes.for_record("Deals", deal.id).to_list(limit=10)  # type: ignore[arg-type]

    assert all(r.ok and r.action == "insert" for r in (company, contact, deal, task, meeting, note))
    assert read_company.Account_Name == "New Tech Corp" and read_company.Industry == "Technology"
    assert read_contact.Account_Name is not None and read_contact.Account_Name.id == company.id
    assert read_contact.Account_Name.name == "New Tech Corp"
    assert read_contact.get("Title") == "CTO"  # the field alias Job_Title, sent as Bigin's Title
    assert read_deal.Stage == "Qualification" and read_deal.Amount == 50000
    assert read_deal.Contact_Name is not None and read_deal.Contact_Name.id == contact.id
    assert read_deal.Account_Name is not None and read_deal.Account_Name.id == company.id
    assert str(read_deal.Closing_Date or read_deal.Expected_Close_Date) == "2025-03-31"
    assert [c.id for c in company_contacts] == [contact.id]
    assert [t.id for t in deal_tasks] == [task.id] and [e.id for e in deal_events] == [meeting.id]
    assert [n.id for n in deal_notes] == [note.id] and deal_notes[0].get("Note_Title") == "Discovery call"
    assert [s.route for s in wire.sent if s.method == "POST"] == [
        "POST /Accounts",
        "POST /Contacts",
        "POST /Pipelines",
        "POST /Tasks",
        "POST /Events",
        "POST /Notes",
    ]


async def test_export_all_contacts() -> None:
    """A hand-written loop pages with page/per_page until more_records is false; past 2,000 that stops
    working (and v2 also requires ``fields``). The SDK's export is one ``async for``."""
    emulator = BiginEmulator()
    emulator.seed_data(contacts=2_345)
    expected = set(emulator.store.table("Contacts").records)

    async with wired_client(emulator) as (client, wire):
        all_contacts: list[Contact] = []
        pages = 0
        async for page in client.contacts.list(per_page=200).pages():
            all_contacts.extend(page.data)
            pages += 1
        streamed = {c.id async for c in client.contacts.list()}
    assert len(all_contacts) == 2_345 and {c.id for c in all_contacts} == expected == streamed
    assert pages == 12
    assert all(type(c) is Contact and c.Email for c in all_contacts)
    assert not any("page" in s.params and "page_token" in s.params for s in wire.sent)

    # That hand-written page/per_page loop, against the same org.
    failures: list[dict[str, Any]] = []
    exported = 0
    async with emulator.http_client(token=emulator.issue_token()) as raw:
        for fields in (None, "Last_Name,Email"):
            page_number, has_more = 1, True
            while has_more:
                params: dict[str, Any] = {"page": page_number, "per_page": 200}
                if fields:
                    params["fields"] = fields
                response: httpx.Response = await raw.get("/bigin/v2/Contacts", params=params)
                data = response.json()
                if "data" in data:
                    exported += len(data["data"]) if fields else 0
                    has_more = data.get("info", {}).get("more_records", False)
                    page_number += 1
                else:
                    failures.append(data)
                    has_more = False
    assert [f["code"] for f in failures] == ["REQUIRED_PARAM_MISSING", "DISCRETE_PAGINATION_LIMIT_EXCEEDED"]
    assert exported == 2_000  # the hand-written loop silently ends 345 records short
