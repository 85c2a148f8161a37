"""Insert, update, upsert and delete on the wire: result shapes, partial failure, Zoho's write rules."""

from __future__ import annotations

import httpx
import pytest

from bigin_emulator import BiginEmulator
from tests.helpers.emulator_api import get_record, insert
from tests.helpers.fixtures import load_fixture


def keys(entry: dict[str, object]) -> set[str]:
    return set(entry)


# -- insert ---------------------------------------------------------------------------------------


async def test_insert_answers_201_with_the_recorded_shape(api: httpx.AsyncClient) -> None:
    body = load_fixture("create_account_request.json")
    response = await api.post("/bigin/v2/Accounts", json=body)
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    entry = response.json()["data"][0]
    recorded = load_fixture("create_account_201.json")["data"][0]
    assert list(entry) == list(recorded)
    assert list(entry["details"]) == list(recorded["details"])
    assert set(entry["details"]["Created_By"]) == {"name", "id"}
    assert (entry["code"], entry["message"], entry["status"]) == ("SUCCESS", "record added", "success")
    record_id = entry["details"]["id"]
    assert record_id.isdigit() and len(record_id) == 19


async def test_ids_are_unique_and_increasing_and_times_are_iso_with_offset(api: httpx.AsyncClient) -> None:
    ids = await insert(api, "Contacts", *({"Last_Name": f"N{i}"} for i in range(5)))
    assert ids == sorted(ids) and len(set(ids)) == 5
    record = await get_record(api, "Contacts", ids[0])
    assert record["Created_Time"] == "2026-01-01T00:00:00+00:00"
    assert set(record["Owner"]) == {"name", "id", "email"}


async def test_partial_failure_keeps_input_order(api: httpx.AsyncClient) -> None:
    await insert(api, "Contacts", {"Last_Name": "Existing", "Email": "taken@example.com"})
    response = await api.post(
        "/bigin/v2/Contacts",
        json={
            "data": [
                {"Last_Name": "Ok1"},
                {"First_Name": "no last name"},
                {"Last_Name": "Dup", "Email": "TAKEN@example.com"},
                {"Last_Name": "Bad", "Email": "not-an-email"},
                {"Last_Name": "Ok2"},
            ]
        },
    )
    assert response.status_code == 207
    codes = [e["code"] for e in response.json()["data"]]
    assert codes == ["SUCCESS", "MANDATORY_NOT_FOUND", "DUPLICATE_DATA", "INVALID_DATA", "SUCCESS"]
    assert [e["status"] for e in response.json()["data"]] == ["success", "error", "error", "error", "success"]


async def test_all_failed_batch_is_400_with_entries(api: httpx.AsyncClient) -> None:
    response = await api.post("/bigin/v2/Contacts", json={"data": [{"First_Name": "x"}]})
    assert response.status_code == 400
    entry = response.json()["data"][0]
    assert entry == {
        "code": "MANDATORY_NOT_FOUND",
        "details": {"api_name": "Last_Name"},
        "message": "required field not found",
        "status": "error",
    }


@pytest.mark.parametrize(
    ("module", "record", "missing"),
    [
        ("Contacts", {"First_Name": "x"}, "Last_Name"),
        ("Accounts", {"Phone": "1"}, "Account_Name"),
        ("Products", {"Product_Code": "P"}, "Product_Name"),
        ("Pipelines", {"Stage": "Proposal"}, "Deal_Name"),
        ("Pipelines", {"Deal_Name": "D"}, "Stage"),
        ("Tasks", {"Status": "Not Started"}, "Subject"),
        (
            "Events",
            {"Start_DateTime": "2026-01-02T10:00:00+00:00", "End_DateTime": "2026-01-02T11:00:00+00:00"},
            "Event_Title",
        ),
        ("Events", {"Event_Title": "E", "End_DateTime": "2026-01-02T11:00:00+00:00"}, "Start_DateTime"),
        ("Events", {"Event_Title": "E", "Start_DateTime": "2026-01-02T11:00:00+00:00"}, "End_DateTime"),
        ("Notes", {"Note_Title": "t"}, "Note_Content"),
        ("Contacts", {"Last_Name": "   "}, "Last_Name"),
    ],
)
async def test_mandatory_fields(
    api: httpx.AsyncClient, module: str, record: dict[str, str], missing: str
) -> None:
    response = await api.post(f"/bigin/v2/{module}", json={"data": [record]})
    entry = response.json()["data"][0]
    assert (entry["code"], entry["details"]) == ("MANDATORY_NOT_FOUND", {"api_name": missing})


async def test_duplicate_names_the_existing_record(api: httpx.AsyncClient) -> None:
    [first] = await insert(api, "Contacts", {"Last_Name": "A", "Email": "a@example.com"})
    response = await api.post(
        "/bigin/v2/Contacts", json={"data": [{"Last_Name": "B", "Email": "a@example.com"}]}
    )
    entry = response.json()["data"][0]
    assert entry["code"] == "DUPLICATE_DATA"
    assert entry["details"] == {"api_name": "Email", "id": first}


async def test_duplicate_within_one_batch(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/bigin/v2/Accounts", json={"data": [{"Account_Name": "Zylker"}, {"Account_Name": "zylker"}]}
    )
    first, second = response.json()["data"]
    assert first["code"] == "SUCCESS"
    assert second["code"] == "DUPLICATE_DATA" and second["details"]["id"] == first["details"]["id"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"data": [{"Last_Name": str(i)} for i in range(101)]}, "LIMIT_EXCEEDED"),
        ({"data": []}, "INVALID_DATA"),
        ({"records": [{"Last_Name": "x"}]}, "REQUIRED_PARAM_MISSING"),
        ({"data": {"Last_Name": "x"}}, "INVALID_DATA"),
    ],
)
async def test_request_level_refusals(
    api: httpx.AsyncClient, emulator: BiginEmulator, body: object, code: str
) -> None:
    response = await api.post("/bigin/v2/Contacts", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["status"] == "error"
    assert set(response.json()) == {"code", "details", "message", "status"}
    assert len(emulator.store.table("Contacts")) == 0


async def test_exactly_100_records_are_accepted(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/bigin/v2/Contacts", json={"data": [{"Last_Name": str(i)} for i in range(100)]}
    )
    assert response.status_code == 201 and len(response.json()["data"]) == 100


async def test_body_that_is_not_json(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/bigin/v2/Contacts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["code"] == "INVALID_DATA"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("Email", "nope", "email"),
        ("Email_Opt_Out", "yes", "boolean"),
        ("Account_Name", 12, "lookup"),
        ("Date_of_Birth_c", "kept", None),
    ],
)
async def test_field_types(api: httpx.AsyncClient, field: str, value: object, expected: str | None) -> None:
    response = await api.post("/bigin/v2/Contacts", json={"data": [{"Last_Name": "T", field: value}]})
    entry = response.json()["data"][0]
    if expected is None:
        assert entry["code"] == "SUCCESS"
    else:
        assert entry["code"] == "INVALID_DATA"
        assert entry["details"]["api_name"] == field


async def test_dates_datetimes_and_numbers(api: httpx.AsyncClient) -> None:
    bad_date = await api.post(
        "/bigin/v2/Pipelines",
        json={"data": [{"Deal_Name": "D", "Stage": "Proposal", "Closing_Date": "2026-02-30"}]},
    )
    assert bad_date.json()["data"][0]["details"]["api_name"] == "Closing_Date"
    naive = await api.post(
        "/bigin/v2/Events",
        json={
            "data": [
                {
                    "Event_Title": "E",
                    "Start_DateTime": "2026-01-02T10:00:00",
                    "End_DateTime": "2026-01-02T11:00:00Z",
                }
            ]
        },
    )
    assert naive.json()["data"][0]["details"] == {
        "api_name": "Start_DateTime",
        "expected_data_type": "datetime",
    }
    [event] = await insert(
        api,
        "Events",
        {
            "Event_Title": "E",
            "Start_DateTime": "2026-01-02T14:00:00Z",
            "End_DateTime": "2026-01-02T17:30:00+02:00",
        },
    )
    record = await get_record(api, "Events", event)
    assert (record["Start_DateTime"], record["End_DateTime"]) == (
        "2026-01-02T14:00:00+00:00",
        "2026-01-02T15:30:00+00:00",
    )
    amount = await api.post(
        "/bigin/v2/Pipelines", json={"data": [{"Deal_Name": "D", "Stage": "Proposal", "Amount": "5"}]}
    )
    assert amount.json()["data"][0]["details"] == {"api_name": "Amount", "expected_data_type": "double"}


async def test_text_longer_than_the_field_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post("/bigin/v2/Contacts", json={"data": [{"Last_Name": "x" * 81}]})
    assert response.json()["data"][0]["details"] == {"api_name": "Last_Name", "maximum_length": 80}


async def test_unknown_and_custom_fields_round_trip(api: httpx.AsyncClient) -> None:
    custom = {"Nested_c": {"a": [1, 2, {"b": None}]}, "Score__c": 4.5, "Job_Title": "CEO"}
    [contact] = await insert(api, "Contacts", {"Last_Name": "C", **custom})
    record = await get_record(api, "Contacts", contact)
    assert {k: record[k] for k in custom} == custom
    listed = await api.get("/bigin/v2/Contacts", params={"fields": "Score__c,Job_Title"})
    assert listed.json()["data"][0] == {"Score__c": 4.5, "Job_Title": "CEO", "id": contact}


# -- lookups and the field aliases accepted on write ---------------------------------------------


async def test_lookups_resolve_names_and_refuse_missing_ids(api: httpx.AsyncClient) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "Zylker Corp"})
    [contact] = await insert(api, "Contacts", {"Last_Name": "L", "Account_Name": {"id": account}})
    assert (await get_record(api, "Contacts", contact))["Account_Name"] == {
        "name": "Zylker Corp",
        "id": account,
    }
    missing = await api.post(
        "/bigin/v2/Contacts",
        json={"data": [{"Last_Name": "L", "Account_Name": {"id": "5545000000009999999"}}]},
    )
    entry = missing.json()["data"][0]
    assert entry["code"] == "INVALID_DATA" and entry["details"]["api_name"] == "Account_Name"


async def test_lookup_names_follow_renames(api: httpx.AsyncClient) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "Old"})
    [contact] = await insert(api, "Contacts", {"Last_Name": "L", "Account_Name": {"id": account}})
    await api.put(f"/bigin/v2/Accounts/{account}", json={"data": [{"Account_Name": "New"}]})
    assert (await get_record(api, "Contacts", contact))["Account_Name"]["name"] == "New"


async def test_plain_string_company_uses_or_creates_the_company(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    [existing] = await insert(api, "Accounts", {"Account_Name": "Acme"})
    first, second, third = await insert(
        api,
        "Contacts",
        {"Last_Name": "A", "Account_Name": "acme"},
        {"Last_Name": "B", "Company_Name": "Brand New Co"},
        {"Last_Name": "C", "Account_Name": {"name": "ACME"}},
    )
    assert (await get_record(api, "Contacts", first))["Account_Name"]["id"] == existing
    assert (await get_record(api, "Contacts", third))["Account_Name"]["id"] == existing
    created = (await get_record(api, "Contacts", second))["Account_Name"]
    assert created["name"] == "Brand New Co"
    assert emulator.store.table("Accounts").get(created["id"]) is not None


async def test_field_aliases_are_accepted_and_echoed(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    [company] = await insert(api, "Accounts", {"Account_Name": "TechCorp"})
    [contact] = await insert(
        api, "Contacts", {"Last_Name": "Johnson", "First_Name": "Sarah", "Company_Name": {"id": company}}
    )
    contact_record = await get_record(api, "Contacts", contact)
    assert (
        contact_record["Account_Name"]
        == contact_record["Company_Name"]
        == {"name": "TechCorp", "id": company}
    )
    assert contact_record["Full_Name"] == "Sarah Johnson"
    pipeline = emulator.ctx.pipelines.default().id
    [deal] = await insert(
        api,
        "Pipelines",
        {
            "Deal_Name": "Website",
            "Stage": "proposal",
            "Pipeline": {"id": pipeline},
            "Expected_Close_Date": "2025-02-28",
            "Contact_Name": {"id": contact},
            "Company_Name": {"id": company},
            "Tag": ["Website", "Design"],
        },
    )
    deal_record = await get_record(api, "Pipelines", deal)
    assert deal_record["Layout"] == deal_record["Pipeline"] == {"name": "Sales Pipeline", "id": pipeline}
    assert deal_record["Sub_Pipeline"] == "Sales Pipeline Standard"
    assert deal_record["Closing_Date"] == deal_record["Expected_Close_Date"] == "2025-02-28"
    assert deal_record["Stage"] == "Proposal" and deal_record["Probability"] == 50
    assert deal_record["Account_Name"]["id"] == company and deal_record["Contact_Name"]["id"] == contact
    assert [t["name"] for t in deal_record["Tag"]] == ["Website", "Design"]
    assert all(set(t) == {"name", "id", "color_code"} for t in deal_record["Tag"])
    [task] = await insert(
        api, "Tasks", {"Subject": "Follow up", "Related_To": {"module": "Pipelines", "id": deal}}
    )
    task_record = await get_record(api, "Tasks", task)
    assert task_record["What_Id"] == {"name": "Website", "id": deal}
    assert task_record["$se_module"] == "Pipelines"
    assert task_record["Related_To"] == {"name": "Website", "id": deal, "module": "Pipelines"}
    [note] = await insert(
        api, "Notes", {"Note_Content": "hi", "Parent_Id": {"module": "Contacts", "id": contact}}
    )
    note_record = await get_record(api, "Notes", note)
    assert (
        note_record["Parent_Id"] == {"name": "Sarah Johnson", "id": contact}
        and note_record["$se_module"] == "Contacts"
    )


async def test_related_to_with_the_wrong_module_is_refused(api: httpx.AsyncClient) -> None:
    [contact] = await insert(api, "Contacts", {"Last_Name": "L"})
    response = await api.post(
        "/bigin/v2/Tasks",
        json={"data": [{"Subject": "s", "Related_To": {"module": "Accounts", "id": contact}}]},
    )
    assert response.json()["data"][0]["details"]["api_name"] == "What_Id"


async def test_deal_stage_must_belong_to_its_pipeline(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/bigin/v2/Pipelines", json={"data": [{"Deal_Name": "D", "Stage": "Imaginary"}]}
    )
    entry = response.json()["data"][0]
    assert (entry["code"], entry["details"]) == ("INVALID_DATA", {"api_name": "Stage"})
    unknown_pipeline = await api.post(
        "/bigin/v2/Pipelines",
        json={"data": [{"Deal_Name": "D", "Stage": "Proposal", "Layout": {"id": "5545000000009999999"}}]},
    )
    assert unknown_pipeline.json()["data"][0]["details"]["api_name"] == "Layout"


async def test_owner_must_be_an_active_user(api: httpx.AsyncClient) -> None:
    users = (await api.get("/bigin/v2/users", params={"type": "AllUsers"})).json()["users"]
    active = next(u for u in users if u["status"] == "active" and u["profile"]["name"] == "Standard")
    inactive = next(u for u in users if u["status"] != "active")
    [ok] = await insert(api, "Contacts", {"Last_Name": "O", "Owner": {"id": active["id"]}})
    assert (await get_record(api, "Contacts", ok))["Owner"] == {
        "name": active["full_name"],
        "id": active["id"],
        "email": active["email"],
    }
    refused = await api.post(
        "/bigin/v2/Contacts", json={"data": [{"Last_Name": "O", "Owner": {"id": inactive["id"]}}]}
    )
    assert refused.json()["data"][0]["details"]["api_name"] == "Owner"


# -- update ---------------------------------------------------------------------------------------


async def test_update_by_id_has_the_recorded_shape(api: httpx.AsyncClient, clock: object) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "Before"})
    body = load_fixture("update_account_request.json")
    body["data"][0]["id"] = account
    clock.advance(90)  # type: ignore[attr-defined]
    response = await api.put(f"/bigin/v2/Accounts/{account}", json=body)
    assert response.status_code == 200
    entry = response.json()["data"][0]
    recorded = load_fixture("update_account.json")["data"][0]
    assert list(entry) == list(recorded) and set(entry["details"]) == set(recorded["details"])
    assert entry["message"] == "record updated"
    assert entry["details"]["Modified_Time"] == "2026-01-01T00:01:30+00:00"
    assert entry["details"]["Created_Time"] == "2026-01-01T00:00:00+00:00"
    record = await get_record(api, "Accounts", account)
    assert record["Account_Name"] == body["data"][0]["Account_Name"] and record["Phone"] == "555-0199"


async def test_bulk_update_details_hold_only_modified_time_and_id(api: httpx.AsyncClient) -> None:
    a, b = await insert(api, "Contacts", {"Last_Name": "A"}, {"Last_Name": "B"})
    response = await api.put(
        "/bigin/v2/Contacts",
        json={
            "data": [
                {"id": a, "Phone": "1"},
                {"Phone": "no id"},
                {"id": "5545000000009999999", "Phone": "2"},
                {"id": b, "Phone": "3"},
            ]
        },
    )
    assert response.status_code == 207
    entries = response.json()["data"]
    recorded = load_fixture("maton_update_contacts_bulk.json")["data"][0]
    assert set(entries[0]["details"]) == set(recorded["details"]) == {"Modified_Time", "id"}
    assert [e["code"] for e in entries] == ["SUCCESS", "MANDATORY_NOT_FOUND", "INVALID_DATA", "SUCCESS"]
    assert entries[1]["details"] == {"api_name": "id"}
    assert (await get_record(api, "Contacts", b))["Phone"] == "3"


async def test_update_keeps_unique_fields_unique(api: httpx.AsyncClient) -> None:
    a, b = await insert(
        api,
        "Contacts",
        {"Last_Name": "A", "Email": "a@example.com"},
        {"Last_Name": "B", "Email": "b@example.com"},
    )
    clash = await api.put(f"/bigin/v2/Contacts/{b}", json={"data": [{"Email": "A@example.com"}]})
    assert clash.status_code == 400 and clash.json()["data"][0]["details"] == {"api_name": "Email", "id": a}
    same = await api.put(f"/bigin/v2/Contacts/{a}", json={"data": [{"Email": "a@example.com", "Phone": "9"}]})
    assert same.json()["data"][0]["code"] == "SUCCESS"
    blanked = await api.put(f"/bigin/v2/Contacts/{a}", json={"data": [{"Last_Name": None}]})
    assert blanked.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


# -- upsert ---------------------------------------------------------------------------------------


async def test_upsert_updates_on_the_default_unique_field(api: httpx.AsyncClient) -> None:
    [contact] = await insert(api, "Contacts", {"Last_Name": "Old", "Email": "dup@example.com"})
    body = load_fixture("upsert_contact_request.json")
    body["data"] = [
        {"Last_Name": "New", "Email": "DUP@example.com"},
        {"Last_Name": "Other", "Email": "fresh@example.com"},
    ]
    response = await api.post("/bigin/v2/Contacts/upsert", json=body)
    assert response.status_code == 200
    updated, inserted = response.json()["data"]
    recorded = load_fixture("upsert_contact_updated.json")["data"][0]
    assert list(updated) == list(recorded) and set(updated["details"]) == set(recorded["details"])
    assert (updated["action"], updated["duplicate_field"], updated["details"]["id"]) == (
        "update",
        "Email",
        contact,
    )
    assert (inserted["action"], inserted["duplicate_field"], inserted["message"]) == (
        "insert",
        None,
        "record added",
    )
    assert (await get_record(api, "Contacts", contact))["Last_Name"] == "New"


async def test_upsert_accounts_and_lookups_like_the_recordings(api: httpx.AsyncClient) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "Zylker Corp"})
    body = load_fixture("upsert_account_request.json")
    body["data"][0]["Account_Name"] = "Zylker Corp"
    response = await api.post("/bigin/v2/Accounts/upsert", json=body)
    entry = response.json()["data"][0]
    assert (entry["action"], entry["duplicate_field"], entry["details"]["id"]) == (
        "update",
        "Account_Name",
        account,
    )
    lookup_body = load_fixture("upsert_contact_with_lookup_request.json")
    for record in lookup_body["data"]:
        record["Account_Name"] = {"id": account}
    first = await api.post("/bigin/v2/Contacts/upsert", json=lookup_body)
    again = await api.post("/bigin/v2/Contacts/upsert", json=lookup_body)
    assert first.json()["data"][0]["action"] == "insert"
    assert again.json()["data"][0]["action"] == "update"
    assert again.json()["data"][0]["details"]["id"] == first.json()["data"][0]["details"]["id"]


async def test_upsert_with_chosen_fields_and_within_a_batch(api: httpx.AsyncClient) -> None:
    body = {
        "data": [{"Last_Name": "Same", "Phone": "1"}, {"Last_Name": "same", "Phone": "2"}],
        "duplicate_check_fields": ["Last_Name"],
    }
    first, second = (await api.post("/bigin/v2/Contacts/upsert", json=body)).json()["data"]
    assert (first["action"], second["action"], second["duplicate_field"]) == ("insert", "update", "Last_Name")
    assert first["details"]["id"] == second["details"]["id"]
    unknown = await api.post("/bigin/v2/Contacts/upsert", json={**body, "duplicate_check_fields": ["Nope"]})
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_DATA"


async def test_upsert_insert_still_refuses_duplicates_and_modules_without_unique_insert(
    api: httpx.AsyncClient,
) -> None:
    await insert(api, "Contacts", {"Last_Name": "A", "Email": "a@example.com"})
    response = await api.post(
        "/bigin/v2/Contacts/upsert",
        json={
            "data": [{"Last_Name": "Z", "Email": "a@example.com"}],
            "duplicate_check_fields": ["Last_Name"],
        },
    )
    assert response.json()["data"][0]["code"] == "DUPLICATE_DATA"
    tasks = await api.post("/bigin/v2/Tasks/upsert", json={"data": [{"Subject": "s"}, {"Subject": "s"}]})
    assert [e["action"] for e in tasks.json()["data"]] == ["insert", "insert"]


# -- delete ---------------------------------------------------------------------------------------


async def test_delete_by_id_and_by_ids(api: httpx.AsyncClient) -> None:
    a, b, c = await insert(api, "Contacts", {"Last_Name": "A"}, {"Last_Name": "B"}, {"Last_Name": "C"})
    one = await api.delete(f"/bigin/v2/Contacts/{a}")
    assert one.status_code == 200
    assert one.json() == {
        "data": [{"code": "SUCCESS", "details": {"id": a}, "message": "record deleted", "status": "success"}]
    }
    recorded = load_fixture("delete_account.json")["data"][0]
    assert list(one.json()["data"][0]) == list(recorded)
    many = await api.delete("/bigin/v2/Contacts", params={"ids": f"{b},{a},{c}"})
    assert many.status_code == 207
    assert [e["code"] for e in many.json()["data"]] == ["SUCCESS", "INVALID_DATA", "SUCCESS"]
    assert many.json()["data"][1]["details"] == {"id": a}
    again = await api.delete(f"/bigin/v2/Contacts/{b}")
    assert again.status_code == 400 and again.json()["data"][0]["code"] == "INVALID_DATA"
    assert (await api.get(f"/bigin/v2/Contacts/{b}")).status_code == 204
    missing = await api.delete("/bigin/v2/Contacts")
    assert missing.status_code == 400 and missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    too_many = await api.delete(
        "/bigin/v2/Contacts", params={"ids": ",".join(str(10**18 + i) for i in range(101))}
    )
    assert too_many.json()["code"] == "LIMIT_EXCEEDED"


async def test_deleting_a_company_deletes_its_contacts_and_their_notes(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    account, other = await insert(api, "Accounts", {"Account_Name": "Gone"}, {"Account_Name": "Stays"})
    c1, c2, c3 = await insert(
        api,
        "Contacts",
        {"Last_Name": "1", "Account_Name": {"id": account}},
        {"Last_Name": "2", "Account_Name": {"id": account}},
        {"Last_Name": "3", "Account_Name": {"id": other}},
    )
    [note] = await insert(api, "Notes", {"Note_Content": "n", "Parent_Id": {"module": "Contacts", "id": c1}})
    [deal] = await insert(
        api,
        "Pipelines",
        {"Deal_Name": "D", "Stage": "Proposal", "Account_Name": {"id": account}, "Contact_Name": {"id": c2}},
    )
    [task] = await insert(api, "Tasks", {"Subject": "t", "What_Id": {"id": c1}, "$se_module": "Contacts"})
    response = await api.delete(f"/bigin/v2/Accounts/{account}")
    assert response.json()["data"] == [
        {"code": "SUCCESS", "details": {"id": account}, "message": "record deleted", "status": "success"}
    ]
    contacts = emulator.store.table("Contacts")
    assert contacts.get(c1) is None and contacts.get(c2) is None and contacts.get(c3) is not None
    assert emulator.store.table("Notes").get(note) is None
    deal_record = await get_record(api, "Pipelines", deal)
    assert deal_record["Account_Name"] is None and deal_record["Contact_Name"] is None
    task_record = await get_record(api, "Tasks", task)
    assert task_record["What_Id"] is None and task_record["$se_module"] is None
    assert (await api.delete(f"/bigin/v2/Contacts/{c1}")).json()["data"][0]["code"] == "INVALID_DATA"


async def test_maton_shapes(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/bigin/v2/Contacts",
        json={
            "data": [{"Last_Name": "Contact", "First_Name": "Test", "Email": "t@example.com", "Phone": "1"}]
        },
    )
    recorded = load_fixture("maton_create_contact.json")["data"][0]
    entry = response.json()["data"][0]
    assert set(recorded["details"]) <= set(entry["details"])
    assert set(entry) == set(recorded)
    deleted = await api.delete("/bigin/v2/Contacts", params={"ids": entry["details"]["id"]})
    assert set(deleted.json()["data"][0]) == set(load_fixture("maton_delete_contacts_by_ids.json")["data"][0])


async def test_a_full_record_read_back_can_be_written_back(api: httpx.AsyncClient) -> None:
    """What a client reads (system keys, lookups, aliases, tags) must be accepted as an update."""
    [account] = await insert(api, "Accounts", {"Account_Name": "A", "Tag": ["T"]})
    [contact] = await insert(
        api, "Contacts", {"Last_Name": "C", "Company_Name": {"id": account}, "Tag": ["VIP"]}
    )
    [deal] = await insert(
        api,
        "Pipelines",
        {
            "Deal_Name": "D",
            "Stage": "Proposal",
            "Contact_Name": {"id": contact},
            "Expected_Close_Date": "2026-03-01",
        },
    )
    [product] = await insert(api, "Products", {"Product_Name": "P", "Unit_Price": 3.5})
    [task] = await insert(
        api,
        "Tasks",
        {"Subject": "S", "Related_To": {"module": "Pipelines", "id": deal}, "Due_Date": "2026-02-01"},
    )
    [event] = await insert(
        api,
        "Events",
        {
            "Event_Title": "E",
            "Start_DateTime": "2026-01-02T10:00:00Z",
            "End_DateTime": "2026-01-02T11:00:00Z",
        },
    )
    [call] = await insert(
        api,
        "Calls",
        {"Subject": "C", "Call_Type": "Outbound", "Call_Start_Time": "2026-01-02T10:00:00+00:00"},
    )
    [note] = await insert(
        api, "Notes", {"Note_Content": "N", "Parent_Id": {"module": "Accounts", "id": account}}
    )
    for module, record_id in [
        ("Accounts", account), ("Contacts", contact), ("Pipelines", deal), ("Products", product),
        ("Tasks", task), ("Events", event), ("Calls", call), ("Notes", note),
    ]:  # fmt: skip
        before = await get_record(api, module, record_id)
        response = await api.put(f"/bigin/v2/{module}/{record_id}", json={"data": [before]})
        assert response.status_code == 200, (module, response.text)
        after = await get_record(api, module, record_id)
        changed = {k for k in before if before[k] != after.get(k)}
        assert changed <= {"Modified_Time", "Last_Activity_Time"}, (module, changed)
