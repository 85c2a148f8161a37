"""The emulator's fast write paths answer exactly as the general ones: edges of each shortcut."""

from __future__ import annotations

import httpx

from bigin_emulator import BiginEmulator
from bigin_emulator.server.faults import ServerLimits
from tests.helpers.clock import FakeClock
from tests.helpers.emulator_api import get_record, insert


async def test_text_values_at_and_past_their_limit_and_of_other_types(api: httpx.AsyncClient) -> None:
    """Plain strings take a shortcut; everything else must still be checked and coerced."""
    response = await api.post(
        "/bigin/v2/Contacts",
        json={
            "data": [
                {"Last_Name": "A", "Mobile": "1" * 30},
                {"Last_Name": "B", "Mobile": "1" * 31},
                {"Last_Name": "C", "Title": 12345},
                {"Last_Name": "D", "Title": True},
                {"Last_Name": "E", "Title": None},
                {"Last_Name": "F", "Title": ["CEO"]},
            ]
        },
    )
    entries = response.json()["data"]
    assert [e["status"] for e in entries] == ["success", "error", "success", "error", "success", "error"]
    assert entries[1]["details"] == {"api_name": "Mobile", "maximum_length": 30}
    assert entries[3]["details"] == {"api_name": "Title", "expected_data_type": "text"}
    assert entries[5]["details"] == {"api_name": "Title", "expected_data_type": "text"}
    assert (await get_record(api, "Contacts", entries[0]["details"]["id"]))["Mobile"] == "1" * 30
    assert (await get_record(api, "Contacts", entries[2]["details"]["id"]))["Title"] == "12345"
    assert (await get_record(api, "Contacts", entries[4]["details"]["id"]))["Title"] is None


async def test_a_picklist_takes_strings_only(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/bigin/v2/Tasks",
        json={"data": [{"Subject": "S", "Status": "Completed"}, {"Subject": "T", "Status": 5}]},
    )
    first, second = response.json()["data"]
    assert first["status"] == "success"
    assert second["details"] == {"api_name": "Status", "expected_data_type": "picklist"}


async def test_stamps_follow_the_clock_from_one_write_to_the_next(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    [first] = await insert(api, "Contacts", {"Last_Name": "A"})
    clock.advance(1.5)
    [second] = await insert(api, "Contacts", {"Last_Name": "B"})
    assert (await get_record(api, "Contacts", first))["Created_Time"] == "2026-01-01T00:00:00+00:00"
    assert (await get_record(api, "Contacts", second))["Created_Time"] == "2026-01-01T00:00:01+00:00"
    clock.advance(0.4)  # still within second 1
    await api.put(f"/bigin/v2/Contacts/{first}", json={"data": [{"Title": "CEO"}]})
    assert (await get_record(api, "Contacts", first))["Modified_Time"] == "2026-01-01T00:00:01+00:00"
    clock.advance(0.2)
    await api.put(f"/bigin/v2/Contacts/{first}", json={"data": [{"Title": "CTO"}]})
    assert (await get_record(api, "Contacts", first))["Modified_Time"] == "2026-01-01T00:00:02+00:00"


async def test_custom_fields_are_noted_once_in_first_seen_order(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    await insert(
        api, "Contacts", {"Last_Name": "A", "Zeta__c": 1}, {"Last_Name": "B", "Alpha__c": 2, "Zeta__c": 3}
    )
    await insert(api, "Contacts", {"Last_Name": "C"})
    assert list(emulator.store.table("Contacts").custom_fields) == ["Zeta__c", "Alpha__c"]


async def test_upsert_finds_a_check_field_sent_under_its_alias(api: httpx.AsyncClient) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "Zylker"})
    [contact] = await insert(api, "Contacts", {"Last_Name": "Old", "Account_Name": {"id": account}})
    response = await api.post(
        "/bigin/v2/Contacts/upsert",
        json={
            "data": [{"Last_Name": "New", "Company_Name": {"id": account}}],
            "duplicate_check_fields": ["Account_Name"],
        },
    )
    [entry] = response.json()["data"]
    assert (entry["action"], entry["duplicate_field"], entry["details"]["id"]) == (
        "update",
        "Account_Name",
        contact,
    )
    assert (await get_record(api, "Contacts", contact))["Last_Name"] == "New"


async def test_writes_under_a_daily_credit_budget_read_the_body_once_and_answer_as_without(
    clock: FakeClock,
) -> None:
    """The middleware decodes a write's body to count credits; the route must answer the same."""
    emulator = BiginEmulator(clock=clock, limits=ServerLimits(daily_credits=100))
    async with emulator.http_client(token=emulator.issue_token()) as client:
        created = await client.post(
            "/bigin/v2/Contacts", json={"data": [{"Last_Name": f"N{i}"} for i in range(25)]}
        )
        not_json = await client.post("/bigin/v2/Contacts", content=b"{not json")
        empty = await client.post("/bigin/v2/Contacts", content=b"  ")
        null = await client.post("/bigin/v2/Contacts", content=b"null")
    assert created.status_code == 201 and len(emulator.store.table("Contacts")) == 25
    assert (not_json.status_code, not_json.json()["message"]) == (400, "the request body is not valid JSON")
    assert (empty.status_code, empty.json()["message"]) == (400, "the request body is empty")
    assert (null.status_code, null.json()["code"]) == (400, "REQUIRED_PARAM_MISSING")
    assert emulator.middleware.credits_used() == 3 + 1 + 1 + 1


async def test_full_name_joins_the_non_empty_names(api: httpx.AsyncClient) -> None:
    ids = await insert(
        api,
        "Contacts",
        {"Last_Name": "Doe"},
        {"First_Name": "", "Last_Name": "Doe"},
        {"First_Name": "Jane", "Last_Name": "Doe"},
        {"First_Name": 7, "Last_Name": "Doe"},
    )
    names = [(await get_record(api, "Contacts", record_id))["Full_Name"] for record_id in ids]
    assert names == ["Doe", "Doe", "Jane Doe", "7 Doe"]
    await api.put(f"/bigin/v2/Contacts/{ids[2]}", json={"data": [{"First_Name": None}]})
    assert (await get_record(api, "Contacts", ids[2]))["Full_Name"] == "Doe"
