"""Single-record writes: what is re-sent after a lost answer, and what a read-back record sends.

Issue #9 items 5 (an upsert with no value in its duplicate-check field is an insert: never
re-sent), 7 (a value Bigin cannot store is refused before sending) and 23 (a record read from
Bigin sends only the fields assigned after reading).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bigin_async.bulk.keys import carries_upsert_key
from bigin_async.errors import AmbiguousWriteError, ValidationError
from bigin_async.models import Contact, Product, Record
from bigin_emulator import BiginEmulator
from tests.helpers.resources import Scripted, answer, scripted_client, wired_client

UPSERTED = {
    "data": [
        {"code": "SUCCESS", "status": "success", "action": "insert", "details": {"id": "5545000000000000001"}}
    ]
}
LOST_ANSWERS: list[Any] = [
    answer(500, {"code": "INTERNAL_ERROR", "status": "error", "message": "oops"}),
    httpx.ReadTimeout("the answer never came"),
    httpx.RemoteProtocolError("connection dropped mid-answer"),
]


# -- item 5: an upsert without its key is an insert ----------------------------------------------
KEYLESS: list[tuple[str, dict[str, Any], list[str] | None]] = [
    ("contacts", {"Last_Name": "Lovelace"}, None),  # Contacts match on Email by default
    ("contacts", {"Last_Name": "Lovelace", "Email": None}, None),
    ("contacts", {"Last_Name": "Lovelace", "Email": ""}, None),
    ("contacts", {"Last_Name": "Lovelace", "Email": "   "}, None),
    ("contacts", {"Last_Name": "Lovelace", "Email": "ada@example.com"}, ["Phone"]),  # the given field rules
    ("companies", {"Website": "https://example.com"}, None),
    ("deals", {"Deal_Name": "Engine", "Stage": "Qualification"}, None),  # no default unique field known
]


@pytest.mark.parametrize("lost", LOST_ANSWERS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(("module", "record", "check"), KEYLESS, ids=[f"{m}-{r}-{c}" for m, r, c in KEYLESS])
async def test_an_upsert_without_a_value_in_its_duplicate_check_fields_is_never_resent(
    module: str, record: dict[str, Any], check: list[str] | None, lost: Any
) -> None:
    script = Scripted(lost, answer(200, UPSERTED))
    async with scripted_client(script) as client:
        with pytest.raises(AmbiguousWriteError) as error:
            await getattr(client, module).upsert(record, check)
    assert len(script.requests) == 1  # a second send would insert a second record
    assert error.value.records and error.value.method == "POST"


UPSERT_KEYED: list[tuple[str, dict[str, Any], list[str] | None]] = [
    ("contacts", {"Last_Name": "Lovelace", "Email": "ada@example.com"}, None),
    ("contacts", {"Last_Name": "Lovelace", "Phone": "555"}, ["Phone"]),
    ("contacts", {"Last_Name": "Lovelace", "Phone": "555"}, ["Email", "Phone"]),  # any one field holds
    ("companies", {"Company_Name": "Analytical Engines"}, None),  # field alias for Account_Name
    ("products", {"Product_Name": "Difference Engine"}, None),
]


@pytest.mark.parametrize(
    ("module", "record", "check"), UPSERT_KEYED, ids=[f"{m}-{c}" for m, _, c in UPSERT_KEYED]
)
async def test_an_upsert_that_carries_its_key_is_still_retried(
    module: str, record: dict[str, Any], check: list[str] | None
) -> None:
    script = Scripted(httpx.ReadTimeout("lost"), answer(200, UPSERTED))
    async with scripted_client(script) as client:
        result = await getattr(client, module).upsert(record, check)
    assert result.ok and len(script.requests) == 2
    assert script.bodies()[0] == script.bodies()[1]


async def test_duplicate_check_fields_given_as_field_aliases_go_out_under_bigins_names() -> None:
    script = Scripted(httpx.ReadTimeout("lost"), answer(200, UPSERTED))
    async with scripted_client(script) as client:
        assert (await client.companies.upsert({"Company_Name": "Analytical Engines"}, ["Company_Name"])).ok
    assert [body["duplicate_check_fields"] for body in script.bodies()] == [
        ["Account_Name"],
        ["Account_Name"],
    ]
    assert script.bodies()[0]["data"] == [{"Account_Name": "Analytical Engines"}]


def test_the_upsert_key_check_reads_the_wire_form_and_the_modules_default() -> None:
    assert carries_upsert_key({"Email": "a@b.c"}, "Contacts", None)
    assert not carries_upsert_key({"Email": "a@b.c"}, "Contacts", ["Phone"])
    assert carries_upsert_key({"Account_Name": "X"}, "Accounts", None)
    assert not carries_upsert_key({"Account_Name": {"id": "1"}}, "Contacts", None)  # Contacts match on Email
    assert not carries_upsert_key({"Email": []}, "Contacts", None)
    assert not carries_upsert_key({"Custom_c": "x"}, "Custom_Module", None)
    assert carries_upsert_key({"Custom_c": "x"}, "Custom_Module", ["Custom_c"])
    assert carries_upsert_key({"Count_c": 0}, "Custom_Module", ["Count_c"])  # 0 is a value


# -- item 7: values Bigin cannot store are refused before sending ------------------------------
BAD_VALUES: list[Any] = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("bad", BAD_VALUES, ids=repr)
async def test_a_value_bigin_cannot_store_is_a_validation_error_and_nothing_is_sent(bad: float) -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        with pytest.raises(ValidationError):
            await client.products.create({"Product_Name": "Engine", "Unit_Price": bad})
        with pytest.raises(ValidationError):
            await client.products.create(Product(Product_Name="Engine", Unit_Price=bad))
        with pytest.raises(ValidationError):
            await client.products.update("5545000000000000001", {"Unit_Price": bad})
        with pytest.raises(ValidationError):
            await client.products.upsert({"Product_Name": "Engine", "Unit_Price": bad})
    assert wire.sent == []


# -- item 23: a read-back record sends what was assigned after reading --------------------------
async def test_updating_with_a_read_back_record_sends_only_the_field_changed_since() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        created = await client.contacts.create(
            {"First_Name": "Ada", "Last_Name": "Lovelace", "Email": "ada@example.com", "Tag": ["VIP"]}
        )
        assert created.id is not None
        mine = await client.contacts.get(
            created.id,
            fields=[
                "First_Name",
                "Last_Name",
                "Full_Name",
                "Email",
                "Tag",
                "$approval_state",
                "Owner",
                "Modified_Time",
            ],
        )
        # Someone else changes the Email after we read the record.
        await client.contacts.update(created.id, {"Email": "countess@example.com"})
        mine.Last_Name = "King"
        wire.clear()
        result = await client.contacts.update(created.id, mine)
        assert result.ok
        assert [s.body for s in wire.to("PUT", f"/Contacts/{created.id}")] == [
            {"data": [{"Last_Name": "King"}]}
        ]
        now = await client.contacts.get(created.id, fields=["Last_Name", "Email"])
    assert now.Last_Name == "King" and now.Email == "countess@example.com"  # their edit survived


async def test_a_read_back_record_with_nothing_assigned_is_an_empty_update() -> None:
    emulator = BiginEmulator(seed_records=1)
    async with wired_client(emulator) as (client, wire):
        [record] = await client.contacts.list().to_list(limit=1)
        assert record.id is not None
        wire.clear()
        with pytest.raises(ValidationError):
            await client.contacts.update(record.id, record)
    assert wire.sent == []


async def test_extras_assigned_after_reading_are_sent_and_extras_read_are_not() -> None:
    emulator = BiginEmulator(seed_records=2)
    async with wired_client(emulator) as (client, wire):
        records = await client.contacts.list(fields=["Last_Name", "$approval_state", "Description"]).to_list(
            limit=2
        )
        first = records[0]
        assert first.get("$approval_state") is not None  # read, kept, and not to be sent back
        first.Description = "assigned"
        first.Custom_c = 7  # an extra assigned as an attribute
        first.set("$se_module", "Contacts")
        assert first.to_wire() == {
            "id": first.id,
            "Description": "assigned",
            "Custom_c": 7,
            "$se_module": "Contacts",
        }
        assert records[1].to_wire() == {"id": records[1].id}


async def test_bulk_update_of_read_back_records_sends_their_id_and_changes_only() -> None:
    emulator = BiginEmulator(seed_records=3)
    async with wired_client(emulator) as (client, wire):
        records = await client.contacts.list(fields=["Last_Name", "Email", "Full_Name"]).to_list(limit=3)
        for record in records:
            record.Last_Name = f"Changed {record.id}"
        wire.clear()
        result = await client.contacts.bulk_update(records)
    assert len(result.succeeded) == 3
    [put] = wire.to("PUT", "/Contacts")
    assert put.body["data"] == [{"id": r.id, "Last_Name": f"Changed {r.id}"} for r in records]


def test_a_record_built_by_the_caller_sends_what_they_gave_including_none() -> None:
    contact = Contact(Last_Name="Lovelace", Email=None)
    assert contact.to_wire() == {"Last_Name": "Lovelace", "Email": None}
    assert Record.model_validate({"Custom_c": 1}).to_wire() == {"Custom_c": 1}
