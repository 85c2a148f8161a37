"""Module clients against the emulator: get, list, create, update, upsert, delete, on every module."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import httpx
import pytest

from bigin_async.client import BiginClient
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    DuplicateRecordError,
    InvalidRequestError,
    NotFoundError,
    RecordError,
)
from bigin_async.models import Call, Company, Contact, Deal, Event, Note, Product, Record, Task, WriteResult
from bigin_async.resources.base import ModuleClient
from bigin_emulator import BiginEmulator
from bigin_emulator.ops.custom_views import module_views
from tests.helpers.resources import wired_client

# (client attribute, wire name, record class, a minimal valid record)
MODULES: list[tuple[str, str, type[Record], dict[str, Any]]] = [
    ("contacts", "Contacts", Contact, {"Last_Name": "Lovelace", "Email": "ada@example.com"}),
    ("companies", "Accounts", Company, {"Account_Name": "Analytical Engines Ltd"}),
    ("deals", "Pipelines", Deal, {"Deal_Name": "Engine", "Stage": "Qualification"}),
    ("tasks", "Tasks", Task, {"Subject": "Call back"}),
    (
        "events",
        "Events",
        Event,
        {
            "Event_Title": "Demo",
            "Start_DateTime": "2026-03-01T10:00:00+00:00",
            "End_DateTime": "2026-03-01T11:00:00+00:00",
        },
    ),
    ("products", "Products", Product, {"Product_Name": "Difference Engine", "Unit_Price": 99.5}),
    ("calls", "Calls", Call, {"Subject": "Intro call", "Call_Type": "Outbound"}),
]


@pytest.mark.parametrize(("attribute", "wire_name", "model", "record"), MODULES, ids=[m[0] for m in MODULES])
async def test_each_module_writes_and_reads_its_typed_records_on_its_own_api_name(
    attribute: str, wire_name: str, model: type[Record], record: dict[str, Any]
) -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        module: ModuleClient[Any] = getattr(client, attribute)
        assert module.module_api_name == wire_name
        assert getattr(client, attribute) is module  # cached: one client per BiginClient

        created = await module.create(record)
        assert isinstance(created, WriteResult) and created.ok and created.action == "insert"
        assert created.id is not None and created.id.isdigit()

        fetched = await module.get(created.id)
        assert type(fetched) is model and fetched.id == created.id

        first_field = next(iter(record))
        listed = await module.list().to_list(limit=10)
        assert [r.id for r in listed] == [created.id]
        assert all(type(r) is model for r in listed)

        updated = await module.update(created.id, {"Description": "changed"})
        assert updated.ok and updated.action == "update" and updated.id == created.id
        assert (await module.get(created.id, fields=[first_field, "Description"])).get(
            "Description"
        ) == "changed"

        deleted = await module.delete(created.id)
        assert deleted.ok and deleted.action == "delete" and deleted.id == created.id
        with pytest.raises(NotFoundError) as missing:
            await module.get(created.id)
        assert missing.value.code == "RECORD_NOT_FOUND"

    paths = {s.path.split("/")[1] for s in wire.sent}
    assert paths == {wire_name}  # never the module-name aliases "Companies" or "Deals"
    assert wire.routes() == [
        f"POST /{wire_name}",
        f"GET /{wire_name}/{created.id}",
        f"GET /{wire_name}",
        f"PUT /{wire_name}/{created.id}",
        f"GET /{wire_name}/{created.id}",
        f"DELETE /{wire_name}/{created.id}",
        f"GET /{wire_name}/{created.id}",
    ]


async def test_notes_module_reads_back_a_typed_note() -> None:
    emulator = BiginEmulator(seed_records=1)
    contact_id = next(iter(emulator.store.table("Contacts").records))
    async with wired_client(emulator) as (client, _):
        result = await client.notes.create(
            {
                "Note_Content": "hello",
                "Parent_Id": {"module": "Contacts", "id": contact_id},
                "$se_module": "Contacts",
            }
        )
        note = await client.notes.get(result.id)  # type: ignore[arg-type]
    assert type(note) is Note and note.Note_Content == "hello"


async def test_companies_go_to_accounts_on_the_wire_also_through_module_by_alias() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        assert client.module("Companies") is client.companies
        assert client.module("Deals") is client.deals
        assert client.module("Accounts") is client.companies
        result = await client.module("Companies").create({"Account_Name": "Wire Ltd"})
        await client.companies.list().to_list(limit=1)
        await client.companies.search(word="Wire").to_list(limit=1)
    assert [s.route for s in wire.sent] == ["POST /Accounts", "GET /Accounts", "GET /Accounts/search"]
    assert emulator.store.table("Accounts").get(result.id)["Account_Name"] == "Wire Ltd"  # type: ignore[arg-type, index]
    assert not any("Companies" in route for route in emulator.counters.requests_by_route)


async def test_the_company_name_alias_becomes_account_name_for_companies() -> None:
    """``Company_Name`` is a field alias accepted on write; Bigin's Accounts need ``Account_Name``."""
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        result = await client.companies.create({"Company_Name": "New Tech Corp", "Industry": "Technology"})
        both = await client.companies.create({"Company_Name": "Alias", "Account_Name": "Kept As Given"})
        typed = await client.companies.create(Company(Company_Name="Typed Corp"))
    assert wire.sent[0].body["data"] == [{"Account_Name": "New Tech Corp", "Industry": "Technology"}]
    assert wire.sent[1].body["data"] == [{"Company_Name": "Alias", "Account_Name": "Kept As Given"}]
    table = emulator.store.table("Accounts")
    assert table.get(result.id)["Account_Name"] == "New Tech Corp"  # type: ignore[arg-type, index]
    assert table.get(both.id)["Account_Name"] == "Kept As Given"  # type: ignore[arg-type, index]
    assert table.get(typed.id)["Account_Name"] == "Typed Corp"  # type: ignore[arg-type, index]


async def test_a_missing_id_is_a_204_and_raises_not_found_everywhere_it_can() -> None:
    emulator = BiginEmulator(seed_records=2)
    async with wired_client(emulator) as (client, _):
        for module in (client.contacts, client.companies, client.deals, client.tasks, client.notes):
            with pytest.raises(NotFoundError) as error:
                await module.get("4242424242")
            assert error.value.code == "RECORD_NOT_FOUND" and error.value.status_code == 204
        empty = await client.companies.list()  # an empty list is a 204 too
        assert empty.data == [] and empty.info is None
        assert await client.companies.list().to_list(limit=5) == []
        assert await client.contacts.search(email="nobody@example.com").to_list(limit=5) == []
    assert emulator.counters.responses_by_status[204] == 8


async def test_records_may_be_dicts_or_typed_models_and_only_set_fields_are_sent() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        typed = Contact(Last_Name="Hopper", Email="grace@example.com", Mailing_City="Arlington")
        from_model = await client.contacts.create(typed)
        from_dict = await client.contacts.create({"Last_Name": "Turing", "Email": "alan@example.com"})
        read = await client.contacts.get(from_model.id)  # type: ignore[arg-type]
        read.Title = "Rear Admiral"
        await client.contacts.update(read.id, Contact(Title="Rear Admiral"))  # type: ignore[arg-type]
    assert wire.sent[0].body["data"] == [
        {"Last_Name": "Hopper", "Email": "grace@example.com", "Mailing_City": "Arlington"}
    ]
    assert wire.sent[1].body["data"] == [{"Last_Name": "Turing", "Email": "alan@example.com"}]
    assert wire.sent[-1].body["data"] == [{"Title": "Rear Admiral"}]
    assert emulator.store.table("Contacts").get(from_model.id)["Title"] == "Rear Admiral"  # type: ignore[arg-type, index]
    assert from_dict.ok


async def test_dates_and_datetimes_are_sent_in_bigins_formats() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        await client.tasks.create({"Subject": "Due", "Due_Date": date(2026, 2, 6)})
        start = datetime(2026, 2, 6, 8, 28, 53, 123456, tzinfo=timezone.utc)
        await client.events.create(Event(Event_Title="Meet", Start_DateTime=start, End_DateTime=start))
    assert wire.sent[0].body["data"][0]["Due_Date"] == "2026-02-06"
    assert wire.sent[1].body["data"][0]["Start_DateTime"] == "2026-02-06T08:28:53+00:00"


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (None, []),
        ([], []),
        (["workflow"], ["workflow"]),
        (["workflow", "blueprint"], ["workflow", "blueprint"]),
    ],
)
async def test_trigger_is_sent_only_when_given(trigger: list[str] | None, expected: list[str]) -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        default = await client.contacts.create({"Last_Name": "Default"})
        await client.contacts.create({"Last_Name": "Given"}, trigger=trigger)
        await client.contacts.update(default.id, {"Title": "x"}, trigger=trigger)  # type: ignore[arg-type]
        await client.contacts.upsert({"Last_Name": "U", "Email": "u@example.com"}, trigger=trigger)
    assert "trigger" not in wire.sent[0].body  # Zoho's default: no key at all
    assert [s.body["trigger"] for s in wire.sent[1:]] == [expected] * 3


async def test_upsert_inserts_then_updates_on_the_duplicate_check_field() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        first = await client.contacts.upsert({"Last_Name": "Curie", "Email": "marie@example.com"}, ["Email"])
        second = await client.contacts.upsert(
            {"Last_Name": "Curie-Sklodowska", "Email": "marie@example.com"}, ["Email"]
        )
        default_field = await client.contacts.upsert({"Last_Name": "Curie", "Email": "marie@example.com"})
    assert first.action == "insert" and second.action == "update" and default_field.action == "update"
    assert first.id == second.id == default_field.id
    assert second.duplicate_field == "Email"
    assert wire.sent[0].path == "/Contacts/upsert" and wire.sent[0].body["duplicate_check_fields"] == [
        "Email"
    ]
    assert "duplicate_check_fields" not in wire.sent[2].body
    assert len(emulator.store.table("Contacts")) == 1


async def test_a_failed_record_raises_a_typed_error_with_the_servers_code() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, _):
        kept = await client.contacts.create({"Last_Name": "Unique", "Email": "same@example.com"})
        with pytest.raises(DuplicateRecordError) as duplicate:
            await client.contacts.create({"Last_Name": "Again", "Email": "same@example.com"})
        with pytest.raises(InvalidRequestError) as mandatory:
            await client.contacts.create({"First_Name": "No last name"})
        await client.contacts.delete(kept.id)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError) as twice:  # as get does (issue 14), Zoho's code kept
            await client.contacts.delete(kept.id)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError) as gone:
            await client.contacts.update(kept.id, {"Title": "x"})  # type: ignore[arg-type]
    assert duplicate.value.code == "DUPLICATE_DATA" and duplicate.value.existing_id == kept.id
    assert (
        mandatory.value.code == "MANDATORY_NOT_FOUND" and mandatory.value.details["api_name"] == "Last_Name"
    )
    assert twice.value.code == "INVALID_DATA"  # delete is not idempotent in Bigin
    assert gone.value.code == "INVALID_DATA"


async def test_custom_and_system_fields_survive_a_round_trip() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        created = await client.contacts.create(
            {"Last_Name": "Custom", "Loyalty_Tier_c": "Gold", "Visits__s": 12, "Nested_c": {"a": [1, 2]}}
        )
        assert created.id is not None
        record = await client.contacts.get(
            created.id, fields=["Last_Name", "Loyalty_Tier_c", "Visits__s", "Nested_c"]
        )
        assert record.get("Loyalty_Tier_c") == "Gold" and record.get("Visits__s") == 12
        assert record.get("Nested_c") == {"a": [1, 2]}
        full = await client.contacts.get(created.id)
        assert full.get("$approval_state") is not None  # $-prefixed system keys are kept
        # read-modify-write: the custom fields go back out under their exact names
        assert record.id is not None
        await client.contacts.update(record.id, Contact(Loyalty_Tier_c="Platinum"))
        listed = await client.contacts.list(fields=["Last_Name", "Loyalty_Tier_c"]).to_list(limit=5)
    assert wire.sent[-2].body["data"] == [{"Loyalty_Tier_c": "Platinum"}]
    assert listed[0].get("Loyalty_Tier_c") == "Platinum"
    assert listed[0].model_extra == {"Loyalty_Tier_c": "Platinum"}


async def test_module_by_name_serves_custom_modules_with_plain_records() -> None:
    emulator = BiginEmulator(seed_records=3)
    async with wired_client(emulator) as (client, wire):
        custom = client.module("Contacts")
        assert custom is client.contacts
        assert client.module("Some_Custom_Module") is client.module("Some_Custom_Module")
        assert client.module("Some_Custom_Module").model is Record
        assert client.module("Some_Custom_Module").module_api_name == "Some_Custom_Module"
        contacts = await custom.list(fields=["Last_Name"]).to_list(limit=3)
    assert len(contacts) == 3
    assert wire.sent[0].params["fields"] == "Last_Name"


def answering(status: int, body: Any) -> httpx.MockTransport:
    """A server that answers every API call with ``status`` and ``body``."""
    return httpx.MockTransport(lambda request: httpx.Response(status, content=json.dumps(body).encode()))


@pytest.mark.parametrize("status", [200, 201, 202, 207])
async def test_a_record_error_inside_a_success_status_still_raises_with_its_code(status: int) -> None:
    entry = {
        "code": "DUPLICATE_DATA",
        "details": {"api_name": "Email", "id": "111"},
        "message": "duplicate data",
        "status": "error",
    }
    async with BiginClient(
        access_token="t", api_domain="http://127.0.0.1", transport=answering(status, {"data": [entry]})
    ) as client:
        with pytest.raises(DuplicateRecordError) as duplicate:
            await client.contacts.create({"Last_Name": "x"})
    assert duplicate.value.code == "DUPLICATE_DATA" and duplicate.value.existing_id == "111"
    assert duplicate.value.status_code == status


async def test_an_unknown_record_error_code_is_kept_on_a_record_error() -> None:
    entry = {"code": "SOMETHING_NEW", "details": {"x": 1}, "message": "new failure", "status": "error"}
    async with BiginClient(
        access_token="t", api_domain="http://127.0.0.1", transport=answering(202, {"data": [entry]})
    ) as client:
        with pytest.raises(RecordError) as error:
            await client.contacts.update("123", {"Last_Name": "x"})
    assert error.value.code == "SOMETHING_NEW" and error.value.details == {"x": 1}


async def test_a_write_answered_without_a_result_is_a_typed_error() -> None:
    async with BiginClient(
        access_token="t", api_domain="http://127.0.0.1", transport=answering(201, {"data": []})
    ) as client:
        with pytest.raises(AmbiguousWriteError):  # the insert may have happened: never re-sent
            await client.contacts.create({"Last_Name": "x"})
        with pytest.raises(APIError) as error:  # an update is safe to re-send, then typed
            await client.with_options(retry_backoff_seconds=0, max_retries=1).contacts.update(
                "1", {"Last_Name": "x"}
            )
    assert error.value.code == "MALFORMED_RESPONSE"


async def test_list_options_go_on_the_wire() -> None:
    emulator = BiginEmulator(seed_records=4)
    cvid = module_views("Contacts")[1].id  # "My Contacts": the emulator refuses an unknown view
    async with wired_client(emulator) as (client, wire):
        await client.contacts.list(cvid=cvid, sort_by="Last_Name", sort_order="desc").to_list(limit=2)
    assert wire.sent[0].params == {
        "cvid": cvid,
        "sort_by": "Last_Name",
        "sort_order": "desc",
        "fields": ",".join(client.contacts.default_fields),
        "per_page": "200",
        "page": "1",
    }
