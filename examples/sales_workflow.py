"""A complete sales workflow (company, contact, deal, task, meeting), with bigin-async.

Done by hand, this is five POSTs in a row (company, contact, deal, task, meeting), each taking the id the
previous one returned, inside a try/catch that logs and rethrows. Here each step is one SDK call
that returns a ``WriteResult`` or raises a typed error (``InvalidRequestError``,
``DuplicateRecordError``, ...) carrying Zoho's code, message and details: no status codes to
check by hand. A company or contact that already exists (a second run) is reused.

    python examples/sales_workflow.py
"""

from __future__ import annotations

from dataclasses import dataclass

from _common import (
    create_unless_exists,
    days_ahead,
    default_pipeline,
    meeting_time,
    record_id,
    run_example,
    stage_or_first,
)

from bigin_async import BiginClient


@dataclass(frozen=True)
class Workflow:
    success: bool
    company_id: str
    contact_id: str
    deal_id: str
    task_id: str
    event_id: str


async def main(bigin: BiginClient) -> Workflow:
    """Company, contact, deal, task and meeting for New Tech Corp, each linked to the previous."""
    # 1. Create Company (Bigin's Accounts module; its name field is Account_Name).
    company = await create_unless_exists(
        bigin.companies,
        {"Account_Name": "New Tech Corp", "Phone": "555-2000", "Industry": "Technology"},
    )

    # 2. Create Contact, linked to the company by id.
    contact = await create_unless_exists(
        bigin.contacts,
        {
            "First_Name": "Sarah",
            "Last_Name": "Johnson",
            "Email": "sarah@newtech.com",
            "Phone": "555-2001",
            "Company_Name": {"id": company.id},  # alias of Account_Name
            "Title": "CTO",  # "Job_Title" is accepted too
        },
    )

    # 3. Create Deal. Bigin files every deal in a team pipeline, so the default one is named
    # (``Pipeline`` is an alias of Bigin's Layout + Sub_Pipeline).
    pipeline = await default_pipeline(bigin)
    deal = await bigin.deals.create(
        {
            "Deal_Name": "Enterprise Software License",
            "Amount": 50000,
            "Stage": stage_or_first(pipeline, "Qualification"),
            "Pipeline": {"id": pipeline.id},
            "Expected_Close_Date": days_ahead(90),  # alias of Closing_Date
            "Contact_Name": {"id": contact.id},
            "Company_Name": {"id": company.id},  # alias of Account_Name
        }
    )
    deal_id = record_id(deal)

    # 4. Create Task on the deal.
    task = await bigin.tasks.create(
        {
            "Subject": "Prepare proposal",
            "Due_Date": days_ahead(10),
            "Priority": "High",
            "Status": "Not Started",
            "Related_To": {"module": "Pipelines", "id": deal_id},  # sent as What_Id + $se_module
        }
    )

    # 5. Schedule Meeting with the contact, about the deal.
    event = await bigin.events.create(
        {
            "Event_Title": "Demo Meeting",
            "Start_DateTime": meeting_time(7, 14),
            "End_DateTime": meeting_time(7, 15),
            "Participants": [{"id": contact.id}],
            "Related_To": {"module": "Pipelines", "id": deal_id},
        }
    )
    return Workflow(True, company.id, contact.id, deal_id, record_id(task), record_id(event))


def describe(workflow: Workflow) -> str:
    return "\n".join(
        [
            f"Company created: {workflow.company_id}",
            f"Contact created: {workflow.contact_id}",
            f"Deal created: {workflow.deal_id}",
            f"Task created: {workflow.task_id}",
            f"Meeting scheduled: {workflow.event_id}",
        ]
    )


if __name__ == "__main__":
    run_example(main, describe)
