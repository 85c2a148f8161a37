"""The multi-step examples: sales workflow, deal stages, validation, deduplication, integration."""

from __future__ import annotations

from typing import Any

import pytest

from bigin_async import BiginClient, ValidationError
from bigin_emulator import BiginEmulator
from tests.helpers.examples import load_example


def stored(emulator: BiginEmulator, module: str, record_id: str) -> dict[str, Any]:
    record = emulator.store.table(module).get(record_id)
    assert record is not None, f"{module} {record_id} was not written"
    return record


async def test_sales_workflow_links_each_record_to_the_previous(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    run = await load_example("sales_workflow").main(bigin)
    assert run.success
    assert stored(emulator, "Accounts", run.company_id)["Account_Name"] == "New Tech Corp"
    contact = stored(emulator, "Contacts", run.contact_id)
    assert (contact["Email"], contact["Account_Name"]["id"]) == ("sarah@newtech.com", run.company_id)
    deal = stored(emulator, "Pipelines", run.deal_id)
    assert (deal["Stage"], deal["Amount"]) == ("Qualification", 50000)
    assert (deal["Contact_Name"]["id"], deal["Account_Name"]["id"]) == (run.contact_id, run.company_id)
    task = stored(emulator, "Tasks", run.task_id)
    assert (task["Subject"], task["What_Id"]["id"], task["$se_module"]) == (
        "Prepare proposal",
        run.deal_id,
        "Pipelines",
    )
    event = stored(emulator, "Events", run.event_id)
    assert (
        event["Participants"] == [{"type": "contact", "participant": run.contact_id}]
        and event["What_Id"]["id"] == run.deal_id
    )


async def test_sales_workflow_run_twice_reuses_company_and_contact(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("sales_workflow")
    first = await example.main(bigin)
    second = await example.main(bigin)
    assert (second.company_id, second.contact_id) == (first.company_id, first.contact_id)
    assert second.deal_id != first.deal_id
    assert (len(emulator.store.table("Accounts")), len(emulator.store.table("Contacts"))) == (1, 1)


async def test_update_deal_stage_moves_through_the_pipeline_and_refuses_a_foreign_stage(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    moves = await load_example("update_deal_stage").main(bigin)
    assert moves.stages_seen == ["Qualification", "Proposal", "Negotiation", "Closed Won"]
    assert stored(emulator, "Pipelines", moves.deal_id)["Stage"] == "Closed Won"
    assert "'Won'" in moves.refused and "valid stages: Qualification" in moves.refused


def test_validate_contact_lists_every_problem() -> None:
    example = load_example("validation_and_errors")
    example.validate_contact({"Last_Name": "Ok", "Email": "a@b.co", "Phone": "(555) 010-2000"})
    assert issubclass(example.ContactValidationError, ValidationError)  # one except catches both
    with pytest.raises(example.ContactValidationError) as caught:
        example.validate_contact({"Last_Name": " ", "Email": "a@b", "Phone": "555 x1"})
    assert caught.value.problems == [
        "Last_Name is required",
        "Email format is invalid",
        "Phone format is invalid",
    ]


async def test_validation_and_errors_reports_each_failure_with_its_code(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    results = await load_example("validation_and_errors").main(bigin)
    codes = {case: (r.error.code if r.error else "SUCCESS") for case, r in results.items()}
    assert codes == {
        "valid contact": "SUCCESS",
        "no last name": "VALIDATION_FAILED",
        "bad email and phone": "VALIDATION_FAILED",
        "no last name, sent anyway": "MANDATORY_NOT_FOUND",
        "same email again": "DUPLICATE_DATA",
        "missing record": "RECORD_NOT_FOUND",
    }
    jane_id = results["valid contact"].record_id
    assert results["no last name, sent anyway"].error.details == {"api_name": "Last_Name"}
    assert results["same email again"].error.details["id"] == jane_id
    assert results["bad email and phone"].error.details == {
        "problems": ["Email format is invalid", "Phone format is invalid"]
    }
    # Only the valid contact was written.
    assert [r["id"] for r in emulator.store.table("Contacts")] == [jane_id]


async def test_deduplication_updates_rather_than_duplicates(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    outcomes = await load_example("deduplication").main(bigin)
    assert [o.action for o in outcomes] == ["created", "updated", "updated", "created"]
    assert outcomes[0].id == outcomes[1].id == outcomes[2].id != outcomes[3].id
    [john_id] = emulator.store.table("Contacts").find_equal("Email", "john.doe@example.com")
    john = stored(emulator, "Contacts", john_id)
    assert (john["Phone"], john["Title"]) == ("555-0199", "CEO")
    assert len(emulator.store.table("Contacts")) == 2


async def test_deduplication_ignores_a_contact_whose_email_only_contains_the_address(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("deduplication")
    emulator.insert_records("Contacts", [{"Last_Name": "Lookalike", "Email": "xjohn.doe@example.com"}])
    assert await example.find_contact_by_email(bigin, "john.doe@example.com") is None
    outcome = await example.create_or_update_contact(
        bigin, {"Last_Name": "Doe", "Email": "john.doe@example.com"}
    )
    assert outcome.action == "created"


async def test_integration_imports_leads_and_reads_deals_and_activity(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    run = await load_example("integration").main(bigin)
    assert [(i.email, i.action) for i in run.imported.successful] == [
        ("john@example.com", "created"),
        ("jane@example.com", "created"),
    ]
    [failed] = run.imported.failed
    assert failed.email == "nameless@example.com" and "MANDATORY_NOT_FOUND" in failed.error
    john_id = run.imported.successful[0].contact_id
    john = stored(emulator, "Contacts", john_id)
    [acme] = [c for c in emulator.store.table("Accounts") if c["Account_Name"] == "Acme Corp"]
    assert john["Account_Name"]["id"] == acme["id"]
    assert run.stage == "Qualification"
    [deal] = run.deals_in_stage
    assert (deal.Deal_Name, deal.Amount, deal.Stage) == ("Opportunity - John Doe", 25000, "Qualification")
    assert deal.Contact_Name is not None and deal.Contact_Name.id == john_id
    activity = run.activity
    assert [t.get("Subject") for t in activity.tasks] == ["Send welcome pack"]
    assert [e.get("Event_Title") for e in activity.events] == ["Kick-off call"]
    assert [n.get("Note_Title") for n in activity.notes] == ["Imported"]


async def test_integration_import_twice_updates_contacts_and_reuses_the_company(
    bigin: BiginClient, emulator: BiginEmulator
) -> None:
    example = load_example("integration")
    integration = example.BiginIntegration(bigin)
    first = await integration.import_leads(example.LEADS)
    second = await integration.import_leads(example.LEADS)
    assert [i.action for i in second.successful] == ["updated", "updated"]
    assert [i.contact_id for i in second.successful] == [i.contact_id for i in first.successful]
    assert len(emulator.store.table("Contacts")) == 2
    assert len(emulator.store.table("Accounts")) == 1
    assert len(emulator.store.table("Pipelines")) == 2  # the example creates a deal per import
