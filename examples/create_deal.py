"""Create a deal (Bigin's Pipelines module), with bigin-async.

Bigin's call is ``POST /bigin/v2/Pipelines`` (Bigin's API name for deals) with a deal that points at
a pipeline, a contact and a company by id. Here the ids come from the org: the default team pipeline
from ``bigin.pipelines.list()``, and John Doe and Acme Corporation found or created with one upsert
each.

    python examples/create_deal.py
"""

from __future__ import annotations

from dataclasses import dataclass

from _common import (
    JOHN_DOE,
    days_ahead,
    default_pipeline,
    ensure_company,
    ensure_contact,
    record_id,
    run_example,
    stage_or_first,
)

from bigin_async import BiginClient


@dataclass(frozen=True)
class CreatedDeal:
    deal_id: str
    pipeline_id: str
    contact_id: str
    company_id: str
    stage: str


async def main(bigin: BiginClient) -> CreatedDeal:
    """Create "Website Redesign Project" in the Proposal stage of the default pipeline."""
    pipeline = await default_pipeline(bigin)
    assert pipeline.id is not None
    contact_id = await ensure_contact(bigin, JOHN_DOE)
    company_id = await ensure_company(bigin, {"Account_Name": "Acme Corporation"})
    stage = stage_or_first(pipeline, "Proposal")  # a stage name of *this* pipeline
    result = await bigin.deals.create(
        {
            "Deal_Name": "Website Redesign Project",
            "Amount": 25000,
            "Stage": stage,
            "Pipeline": {"id": pipeline.id},  # alias of Layout {"id"} (+ Sub_Pipeline, the pipeline's name)
            "Expected_Close_Date": days_ahead(45),  # alias of Closing_Date; sent as yyyy-MM-dd
            "Contact_Name": {"id": contact_id},
            "Company_Name": {"id": company_id},  # alias of Account_Name
            "Description": "Complete website redesign with modern UI/UX",
            "Probability": 50,
            "Tag": ["Website", "Design"],
        }
    )
    return CreatedDeal(record_id(result), pipeline.id, contact_id, company_id, stage)


def describe(deal: CreatedDeal) -> str:
    return (
        f"Deal created: {deal.deal_id} (stage {deal.stage}, contact {deal.contact_id}, "
        f"company {deal.company_id})"
    )


if __name__ == "__main__":
    run_example(main, describe)
