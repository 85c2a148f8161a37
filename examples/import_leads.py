"""Import leads (contact, company and deal per lead), in three bulk upserts.

Done one lead at a time (``integration.py``'s ``import_leads``), each lead takes its own calls:
search the contact by Email and update or create it; search the company by name and create it if
missing; create a deal "Opportunity - First Last" when the lead has an amount; collect
``successful`` and ``failed``. That is up to five calls per
lead, and a re-run creates every deal again.

Here the same create-or-update runs as three bulk upserts, whatever the number of leads:

1. companies: the distinct company names, upserted on ``Account_Name``;
2. contacts: one per lead, upserted on ``Email``, linked to their company by id (a plain company
   name on a contact would make Bigin create another company);
3. deals: one per lead with an amount, upserted on ``Deal_Name`` in the default pipeline's first
   stage, linked to the contact and the company. The deal name carries the email, so two leads
   both called John Doe get a deal each, and a re-run updates the deal instead of doubling it.

A lead succeeds when its contact, its company (if it names one) and its deal (if it has an
amount) were all written; otherwise it is reported failed with every reason. (Companies go
first, so a lead whose contact is refused can leave its company behind; a lead-by-lead import,
contact first, would not create it.)

    python examples/import_leads.py
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from _common import days_ahead, default_pipeline, run_example

from bigin_async import BiginClient, BulkResult

# A few leads, then more of the same shape (camelCase, as an external system sends them).
LEADS: list[dict[str, Any]] = [
    {
        "firstName": "John",
        "lastName": "Doe",
        "email": "john@example.com",
        "phone": "555-0123",
        "companyName": "Acme Corp",
        "dealAmount": 25000,
        "expectedCloseDate": days_ahead(60).isoformat(),
    },
    {
        "firstName": "Jane",
        "lastName": "Smith",
        "email": "jane@example.com",
        "companyName": "Acme Corp",
        "jobTitle": "CTO",
    },
    {"firstName": "Carlos", "lastName": "Ruiz", "email": "carlos@example.net", "dealAmount": 4200},
    {"firstName": "Nameless", "email": "nameless@example.com", "companyName": "Ghost LLC", "dealAmount": 10},
]


def more_leads(count: int) -> Iterator[dict[str, Any]]:
    """``count`` generated leads: ten per company, every third with a deal."""
    for number in range(1, count + 1):
        lead: dict[str, Any] = {
            "firstName": "Lead",
            "lastName": f"Number {number}",
            "email": f"lead{number}@example.org",
            "phone": f"555-{number:04d}",
            "companyName": f"Company {number // 10}",
        }
        if number % 3 == 0:
            lead["dealAmount"] = 1000 + number
            lead["expectedCloseDate"] = days_ahead(30 + number % 60).isoformat()
        yield lead


def contact_record(lead: Mapping[str, Any], company_id: str | None) -> dict[str, Any]:
    record = {
        "First_Name": lead.get("firstName"),
        "Last_Name": lead.get("lastName"),  # Bigin requires it: a lead without one fails alone
        "Email": lead.get("email"),
        "Phone": lead.get("phone"),
        "Mobile": lead.get("mobile"),
        "Title": lead.get("jobTitle"),  # Bigin's job title field
    }
    if company_id is not None:
        record["Account_Name"] = {"id": company_id}  # the company, as a lookup
    return {name: value for name, value in record.items() if value is not None}


def deal_name(lead: Mapping[str, Any]) -> str:
    return f"Opportunity - {lead.get('firstName', '')} {lead.get('lastName', '')} <{lead['email']}>".replace(
        "  ", " "
    )


@dataclass
class LeadImport:
    successful: list[dict[str, str]] = field(default_factory=list)  # email, contactId, action
    failed: list[dict[str, str]] = field(default_factory=list)  # email, error
    companies: BulkResult | None = None
    contacts: BulkResult | None = None
    deals: BulkResult | None = None


async def import_leads(bigin: BiginClient, leads: Sequence[Mapping[str, Any]]) -> LeadImport:
    """Create or update each lead's company, contact and deal: three bulk upserts in all."""
    result = LeadImport()
    names = list(dict.fromkeys(lead["companyName"] for lead in leads if lead.get("companyName")))
    result.companies = await bigin.companies.bulk_upsert(
        ({"Account_Name": name} for name in names), ["Account_Name"]
    )
    company_ids = {names[o.index]: o.id for o in result.companies if o.ok and o.id}
    company_errors = {names[o.index]: f"company: {o.code} {o.message}" for o in result.companies if not o.ok}

    result.contacts = await bigin.contacts.bulk_upsert(
        (contact_record(lead, company_ids.get(lead.get("companyName", ""))) for lead in leads), ["Email"]
    )
    contacts = result.contacts.outcomes

    pipeline = await default_pipeline(bigin)
    stage = pipeline.stages[0].display_value if pipeline.stages else None
    with_deal = [i for i, lead in enumerate(leads) if lead.get("dealAmount") and contacts[i].ok]

    def deal_record(i: int) -> dict[str, Any]:
        lead = leads[i]
        record: dict[str, Any] = {
            "Deal_Name": deal_name(lead),
            "Amount": lead["dealAmount"],
            "Stage": stage,
            "Layout": {"id": pipeline.id},  # the team pipeline (alias: Pipeline)
            "Contact_Name": {"id": contacts[i].id},
        }
        if lead.get("expectedCloseDate"):
            record["Closing_Date"] = lead["expectedCloseDate"]  # alias: Expected_Close_Date
        company_id = company_ids.get(lead.get("companyName", ""))
        if company_id is not None:
            record["Account_Name"] = {"id": company_id}
        return record

    result.deals = await bigin.deals.bulk_upsert((deal_record(i) for i in with_deal), ["Deal_Name"])
    deal_errors = {with_deal[o.index]: f"deal: {o.code} {o.message}" for o in result.deals if not o.ok}

    for i, lead in enumerate(leads):
        errors = [company_errors[lead["companyName"]]] if lead.get("companyName") in company_errors else []
        if not contacts[i].ok:
            errors.append(f"contact: {contacts[i].code} {contacts[i].message}")
        elif lead.get("dealAmount") and i in deal_errors:
            errors.append(deal_errors[i])
        if errors:
            result.failed.append({"email": str(lead.get("email")), "error": "; ".join(errors)})
        else:
            result.successful.append(
                {
                    "email": str(lead["email"]),
                    "contactId": str(contacts[i].id),
                    "action": str(contacts[i].action),
                }
            )
    return result


async def main(bigin: BiginClient, extra: int = 300) -> LeadImport:
    return await import_leads(bigin, [*LEADS, *more_leads(extra)])


def describe(result: LeadImport) -> str:
    lines = [f"Failed: {item['email']} - {item['error']}" for item in result.failed]
    for name in ("companies", "contacts", "deals"):
        bulk: BulkResult | None = getattr(result, name)
        if bulk is not None:
            actions, failed = bulk.actions, bulk.counts["error"]
            lines.append(f"{name}: {actions['insert']} created, {actions['update']} updated, {failed} failed")
    lines.append(f"Success: {len(result.successful)}, Failed: {len(result.failed)}")
    return "\n".join(lines)


if __name__ == "__main__":
    run_example(main, describe)
