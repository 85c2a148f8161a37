"""An integration class (import leads, deals by stage, a contact's activity), with bigin-async.

A class over one ``BiginClient`` with ``import_leads`` (create or update the contact,
find or create the company, create a deal when there is an amount; collect successes and
failures), ``get_deals_by_stage`` and ``get_contact_activity`` (tasks, events and notes of a
contact). Token refresh, limits and retries are the SDK's (``BiginClient.from_env()`` reads the
client id, client secret and refresh token from
``BIGIN_CLIENT_ID``/``BIGIN_CLIENT_SECRET``/``BIGIN_REFRESH_TOKEN``).

Choices made on purpose: the company is resolved before the contact, so the contact links to it by
id (a plain company name on a contact makes Bigin create another company); a deal gets the default
pipeline's first stage (Bigin requires a stage); and a contact's activity is read from its related
lists (``GET /Tasks`` takes no criteria), the three lists at once.

    python examples/integration.py
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import anyio
from _common import default_pipeline, meeting_time, record_id, run_example
from deduplication import Outcome, create_or_update_contact

from bigin_async import BiginClient, BiginError, Deal, Field, Pipeline, Record


@dataclass(frozen=True)
class Lead:
    """One lead as an external system hands it over (its camelCase keys, snake_cased)."""

    last_name: str
    email: str
    first_name: str | None = None
    phone: str | None = None
    mobile: str | None = None
    job_title: str | None = None
    company_name: str | None = None
    company_email: str | None = None
    company_phone: str | None = None
    deal_amount: float | None = None
    expected_close_date: date | None = None


@dataclass(frozen=True)
class Imported:
    email: str
    contact_id: str
    action: str


@dataclass(frozen=True)
class Failed:
    email: str
    error: str


@dataclass
class ImportResults:
    successful: list[Imported] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)


@dataclass(frozen=True)
class ContactActivity:
    tasks: list[Record]
    events: list[Record]
    notes: list[Record]


class BiginIntegration:
    """An integration class on top of one shared, long-lived SDK client."""

    def __init__(self, bigin: BiginClient) -> None:
        self.bigin = bigin
        self._pipeline: Pipeline | None = None

    async def pipeline(self) -> Pipeline:
        """The default team pipeline, read once (new deals go to its first stage)."""
        if self._pipeline is None:
            self._pipeline = await default_pipeline(self.bigin)
        return self._pipeline

    async def import_leads(self, leads: list[Lead]) -> ImportResults:
        """Import each lead; one lead's failure is recorded and the others go on."""
        results = ImportResults()
        for lead in leads:
            try:
                company_id = await self.create_or_update_company(lead) if lead.company_name else None
                contact = await self.create_or_update_contact(lead, company_id)
                if lead.deal_amount:
                    await self.create_deal(lead, contact.id, company_id)
                results.successful.append(Imported(lead.email, contact.id, contact.action))
            except BiginError as error:  # e.g. MANDATORY_NOT_FOUND for a lead without a last name
                results.failed.append(Failed(lead.email, str(error)))
        return results

    async def create_or_update_contact(self, lead: Lead, company_id: str | None) -> Outcome:
        """deduplication.py's search-then-write, with the lead's fields in Bigin's names."""
        contact: dict[str, Any] = {
            "First_Name": lead.first_name,
            "Last_Name": lead.last_name,
            "Email": lead.email,
            "Phone": lead.phone,
            "Mobile": lead.mobile,
            "Title": lead.job_title,  # "Job_Title" is accepted too
        }
        if company_id is not None:
            contact["Company_Name"] = {"id": company_id}  # alias of Account_Name
        # Unset values are left out rather than sent as null (null would clear the field).
        return await create_or_update_contact(self.bigin, {k: v for k, v in contact.items() if v is not None})

    async def create_or_update_company(self, lead: Lead) -> str:
        """The company with this exact name, or a new one (an existing company is never updated)."""
        name = str(lead.company_name)
        matches = await self.bigin.companies.search(criteria=Field("Account_Name") == name).to_list(limit=200)
        for company in matches:
            if company.id is not None and (company.Account_Name or "").casefold() == name.casefold():
                return company.id
        # Bigin companies have no Email field out of the box: the lead's company email is not sent.
        new_company = {"Account_Name": name, "Phone": lead.company_phone}
        return record_id(
            await self.bigin.companies.create({k: v for k, v in new_company.items() if v is not None})
        )

    async def create_deal(self, lead: Lead, contact_id: str, company_id: str | None) -> str:
        pipeline = await self.pipeline()
        deal: dict[str, Any] = {
            "Deal_Name": "Opportunity - " + " ".join(filter(None, [lead.first_name, lead.last_name])),
            "Amount": lead.deal_amount,
            "Stage": pipeline.stages[0].display_value,
            "Pipeline": {"id": pipeline.id},  # alias of Layout
            "Contact_Name": {"id": contact_id},
        }
        if lead.expected_close_date is not None:
            deal["Expected_Close_Date"] = lead.expected_close_date  # alias of Closing_Date
        if company_id is not None:
            deal["Company_Name"] = {"id": company_id}  # alias of Account_Name
        return record_id(await self.bigin.deals.create(deal))

    async def get_deals_by_stage(self, stage: str) -> list[Deal]:
        """Deals in ``stage`` (search ``equals`` is not exact in Bigin: checked here)."""
        found = self.bigin.deals.search(criteria=Field("Stage") == stage, max_records=2000)
        return [deal async for deal in found if (deal.Stage or "").casefold() == stage.casefold()]

    async def get_contact_activity(self, contact_id: str) -> ContactActivity:
        """The contact's tasks, events and notes, the three related lists read concurrently."""
        lists: dict[str, list[Record]] = {}

        async def collect(name: str) -> None:
            lists[name] = [record async for record in self.bigin.contacts.related(contact_id, name)]

        async with anyio.create_task_group() as group:
            for name in ("Tasks", "Events", "Notes"):
                group.start_soon(collect, name)
        return ContactActivity(lists["Tasks"], lists["Events"], lists["Notes"])


LEADS = [
    Lead(
        first_name="John",
        last_name="Doe",
        email="john@example.com",
        phone="555-0123",
        company_name="Acme Corp",
        deal_amount=25000,
        expected_close_date=date(date.today().year + 1, 3, 31),
    ),
    Lead(first_name="Jane", last_name="Smith", email="jane@example.com", job_title="Buyer"),
    Lead(first_name="Nameless", last_name="", email="nameless@example.com"),  # Bigin refuses it
]


@dataclass(frozen=True)
class IntegrationRun:
    imported: ImportResults
    stage: str
    deals_in_stage: list[Deal]
    activity: ContactActivity


async def main(bigin: BiginClient) -> IntegrationRun:
    """Import the leads, list the deals of the first stage, and show the first lead's activity."""
    integration = BiginIntegration(bigin)
    imported = await integration.import_leads(LEADS)
    john_id = imported.successful[0].contact_id
    # Some activity to look at: a follow-up task, a meeting and a note on John.
    await bigin.tasks.create(
        {"Subject": "Send welcome pack", "Related_To": {"module": "Contacts", "id": john_id}}
    )
    await bigin.events.create(
        {
            "Event_Title": "Kick-off call",
            "Start_DateTime": meeting_time(3, 10),
            "End_DateTime": meeting_time(3, 11),
            "Related_To": {"module": "Contacts", "id": john_id},  # sent as What_Id + $se_module
        }
    )
    await bigin.notes.add("Contacts", john_id, title="Imported", content="Imported from the lead list.")
    stage = (await integration.pipeline()).stages[0].display_value or ""
    return IntegrationRun(
        imported,
        stage,
        await integration.get_deals_by_stage(stage),
        await integration.get_contact_activity(john_id),
    )


def describe(run: IntegrationRun) -> str:
    lines = [f"Success: {len(run.imported.successful)}, Failed: {len(run.imported.failed)}"]
    lines += [f"  {item.action} {item.email} -> {item.contact_id}" for item in run.imported.successful]
    lines += [f"  failed {item.email}: {item.error}" for item in run.imported.failed]
    lines.append(
        f"Deals in {run.stage}: " + (", ".join(str(d.Deal_Name) for d in run.deals_in_stage) or "none")
    )
    activity = run.activity
    counts = f"{len(activity.tasks)} task(s), {len(activity.events)} event(s), {len(activity.notes)} note(s)"
    lines.append(f"Activity: {counts}")
    return "\n".join(lines)


if __name__ == "__main__":
    run_example(main, describe)
