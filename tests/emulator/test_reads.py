"""Reading records: get by id, ``fields``, 204s, ``info`` keys, sorting, pages and page tokens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bigin_emulator import BiginEmulator
from tests.helpers.clock import FakeClock
from tests.helpers.emulator_api import insert
from tests.helpers.fixtures import load_fixture

LIST = "/bigin/v2/Contacts"


def seed_contacts(emulator: BiginEmulator, count: int) -> list[str]:
    """Insert straight into the store (no HTTP): fast enough for thousands of records."""
    entries = []
    for start in range(0, count, 500):
        batch = [
            {"Last_Name": f"L{i:05d}", "Email": f"c{i}@example.com"}
            for i in range(start, min(count, start + 500))
        ]
        entries += emulator.insert_records("Contacts", batch)
    assert all(e["status"] == "success" for e in entries)
    return [e["details"]["id"] for e in entries]


async def test_get_by_id_is_an_array_of_one_without_info(api: httpx.AsyncClient) -> None:
    [contact] = await insert(
        api, "Contacts", {"Last_Name": "Contact", "First_Name": "Test", "Email": "support@bigin.com"}
    )
    fields = "id,First_Name,Last_Name,Email,Department,Tag,Account_Name,Owner"
    response = await api.get(f"{LIST}/{contact}", params={"fields": fields})
    body = response.json()
    recorded = load_fixture("get_contact.json")
    assert set(body) == set(recorded) == {"data"}
    record = body["data"][0]
    assert "Department" not in record  # requested, not a used field: dropped silently like the recording
    assert "Department" not in recorded["data"][0]
    assert record["Account_Name"] is None and record["Tag"] == [] and record["id"] == contact
    full = (await api.get(f"{LIST}/{contact}")).json()["data"][0]
    assert full["Department"] is None and full["$approval_state"] == "approved"


async def test_full_record_carries_the_recorded_key_set(api: httpx.AsyncClient) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "Zylker Corp"})
    [contact] = await insert(api, "Contacts", {"Last_Name": "Contact", "Account_Name": {"id": account}})
    recorded_contact = load_fixture("search_contacts_by_email.json")["data"][0]
    recorded_account = load_fixture("search_accounts.json")["data"][0]
    contact_keys = set((await api.get(f"{LIST}/{contact}")).json()["data"][0])
    account_keys = set((await api.get(f"/bigin/v2/Accounts/{account}")).json()["data"][0])
    assert set(recorded_contact) <= contact_keys, set(recorded_contact) - contact_keys
    assert set(recorded_account) <= account_keys, set(recorded_account) - account_keys
    [product] = await insert(api, "Products", {"Product_Name": "P", "Unit_Price": 19.99})
    recorded_product = load_fixture("search_products_more_records.json")["data"][0]
    product_record = (await api.get(f"/bigin/v2/Products/{product}")).json()["data"][0]
    assert set(recorded_product) <= set(product_record), set(recorded_product) - set(product_record)
    assert product_record["$taxable"] is False and product_record["Unit_Price"] == 19.99


async def test_fields_rules(api: httpx.AsyncClient) -> None:
    [contact] = await insert(api, "Contacts", {"Last_Name": "L", "Email": "e@example.com"})
    response = await api.get(LIST, params={"fields": "Email,Phone,$approval_state,$followed,Nope,Email"})
    assert response.json()["data"] == [
        {"Email": "e@example.com", "Phone": None, "$approval_state": "approved", "id": contact}
    ]
    missing = await api.get(LIST)
    assert missing.status_code == 400
    assert missing.json() == {
        "code": "REQUIRED_PARAM_MISSING",
        "details": {"param": "fields"},
        "message": "One of the expected parameter is missing",
        "status": "error",
    }
    too_many = await api.get(LIST, params={"fields": ",".join(f"F{i}" for i in range(51))})
    assert too_many.status_code == 400 and too_many.json()["details"]["limit"] == 50
    fifty = await api.get(LIST, params={"fields": ",".join(f"F{i}" for i in range(49)) + ",Email"})
    assert fifty.status_code == 200


async def test_empty_list_and_unknown_id_are_204_without_body(api: httpx.AsyncClient) -> None:
    empty = await api.get(LIST, params={"fields": "Last_Name"})
    assert empty.status_code == 204 and empty.content == b""
    unknown = await api.get(f"{LIST}/5545000000009999999")
    assert unknown.status_code == 204 and unknown.content == b""


async def test_list_info_has_the_recorded_keys(api: httpx.AsyncClient) -> None:
    await insert(api, "Accounts", {"Account_Name": "A"})
    body = (await api.get("/bigin/v2/Accounts", params={"fields": "Account_Name", "per_page": "2"})).json()
    recorded = load_fixture("list_accounts.json")["info"]
    assert list(body["info"]) == list(recorded)
    assert body["info"] == {**recorded, "count": 1}


@pytest.mark.parametrize(
    ("name", "value"), [("per_page", "0"), ("per_page", "201"), ("per_page", "x"), ("page", "0")]
)
async def test_bad_paging_parameters(api: httpx.AsyncClient, name: str, value: str) -> None:
    response = await api.get(LIST, params={"fields": "Last_Name", name: value})
    assert response.status_code == 400 and response.json()["details"]["param"] == name


async def test_sorting(api: httpx.AsyncClient, clock: FakeClock) -> None:
    ids = []
    for name in ("beta", "Alpha", "gamma"):
        ids += await insert(api, "Contacts", {"Last_Name": name})
        clock.advance(10)

    async def order(**params: str) -> list[str]:
        response = await api.get(LIST, params={"fields": "Last_Name", **params})
        return [r["Last_Name"] for r in response.json()["data"]]

    assert await order() == ["gamma", "Alpha", "beta"]  # default id desc
    assert await order(sort_by="Last_Name", sort_order="asc") == ["Alpha", "beta", "gamma"]
    assert await order(sort_by="Last_Name") == ["gamma", "beta", "Alpha"]
    assert await order(sort_by="Created_Time", sort_order="asc") == ["beta", "Alpha", "gamma"]
    info = (
        await api.get(LIST, params={"fields": "Last_Name", "sort_by": "Last_Name", "sort_order": "asc"})
    ).json()["info"]
    assert (info["sort_by"], info["sort_order"]) == ("Last_Name", "asc")
    bad = await api.get(LIST, params={"fields": "Last_Name", "sort_by": "Nope"})
    assert bad.status_code == 400 and bad.json()["details"] == {"param": "sort_by"}
    bad_order = await api.get(LIST, params={"fields": "Last_Name", "sort_order": "sideways"})
    assert bad_order.status_code == 400


async def test_pages_reach_2000_records_then_page_tokens_take_over(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    ids = seed_contacts(emulator, 2500)
    newest_first = ids[::-1]
    seen: list[str] = []
    for page in range(1, 11):
        body = (await api.get(LIST, params={"fields": "Last_Name", "page": str(page)})).json()
        seen += [r["id"] for r in body["data"]]
        assert body["info"]["more_records"] is True and body["info"]["page"] == page
        assert body["info"]["next_page_token"] is not None
    assert seen == newest_first[:2000]
    refused = await api.get(LIST, params={"fields": "Last_Name", "page": "11"})
    assert refused.status_code == 400 and refused.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    token = body["info"]["next_page_token"]
    expiry = body["info"]["page_token_expiry"]
    assert expiry == "2026-01-02T00:00:00+00:00"
    more = (await api.get(LIST, params={"fields": "Last_Name", "page_token": token})).json()
    assert [r["id"] for r in more["data"]] == newest_first[2000:2200]
    assert more["info"]["page"] == 11
    while more["info"]["more_records"]:
        seen += [r["id"] for r in more["data"]]
        more = (
            await api.get(LIST, params={"fields": "Last_Name", "page_token": more["info"]["next_page_token"]})
        ).json()
    seen += [r["id"] for r in more["data"]]
    assert seen == newest_first
    assert more["info"]["next_page_token"] is None and more["info"]["page_token_expiry"] is None


async def test_page_straddling_the_wall_is_cut_at_2000(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    ids = seed_contacts(emulator, 2100)
    body = (await api.get(LIST, params={"fields": "Last_Name", "page": "14", "per_page": "150"})).json()
    assert [r["id"] for r in body["data"]] == ids[::-1][1950:2000]
    assert body["info"]["more_records"] is True
    rest = (
        await api.get(LIST, params={"fields": "Last_Name", "page_token": body["info"]["next_page_token"]})
    ).json()
    assert [r["id"] for r in rest["data"]] == ids[::-1][2000:2100]


async def test_page_tokens_survive_writes_without_repeats_or_gaps(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    ids = seed_contacts(emulator, 30)
    first = (
        await api.get(
            LIST,
            params={"fields": "Last_Name", "per_page": "10", "sort_by": "Last_Name", "sort_order": "asc"},
        )
    ).json()
    token = first["info"]["next_page_token"]
    await api.delete(f"{LIST}/{ids[10]}")  # the first record of the next page
    await insert(api, "Contacts", {"Last_Name": "L00000a"})  # sorts inside the first page
    second = (
        await api.get(LIST, params={"fields": "Last_Name", "per_page": "10", "page_token": token})
    ).json()
    names = [r["Last_Name"] for r in second["data"]]
    assert names == [f"L{i:05d}" for i in range(11, 21)]
    assert second["info"]["sort_by"] == "Last_Name" and second["info"]["sort_order"] == "asc"


async def test_page_token_expiry_and_misuse(
    api: httpx.AsyncClient, emulator: BiginEmulator, clock: FakeClock
) -> None:
    seed_contacts(emulator, 5)
    body = (await api.get(LIST, params={"fields": "Last_Name", "per_page": "2"})).json()
    token = body["info"]["next_page_token"]
    both = await api.get(LIST, params={"fields": "Last_Name", "page": "2", "page_token": token})
    assert both.status_code == 400 and both.json()["code"] == "INVALID_REQUEST"
    other_module = await api.get("/bigin/v2/Accounts", params={"fields": "Account_Name", "page_token": token})
    assert other_module.status_code == 400 and other_module.json()["details"]["param"] == "page_token"
    garbage = await api.get(LIST, params={"fields": "Last_Name", "page_token": "%%%not-a-token"})
    assert garbage.status_code == 400 and garbage.json()["code"] == "INVALID_DATA"
    clock.advance(86_399)
    api.headers["Authorization"] = f"Zoho-oauthtoken {emulator.issue_token()}"  # the old one expired
    assert (await api.get(LIST, params={"fields": "Last_Name", "page_token": token})).status_code == 200
    clock.advance(1)
    expired = await api.get(LIST, params={"fields": "Last_Name", "page_token": token})
    assert expired.status_code == 400
    assert expired.json()["code"] == "INVALID_DATA" and expired.json()["details"]["reason"] == "TOKEN_EXPIRED"


async def test_page_token_ttl_is_configurable(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, page_token_ttl=60)
    seed_contacts(emulator, 3)
    headers = {"Authorization": f"Zoho-oauthtoken {emulator.issue_token()}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url="http://x", headers=headers
    ) as api:
        body = (await api.get(LIST, params={"fields": "Last_Name", "per_page": "1"})).json()
        assert body["info"]["page_token_expiry"] == "2026-01-01T00:01:00+00:00"
        clock.advance(61)
        expired = await api.get(
            LIST, params={"fields": "Last_Name", "page_token": body["info"]["next_page_token"]}
        )
        assert expired.status_code == 400


async def test_sorted_view_is_cached_until_a_write(emulator: BiginEmulator) -> None:
    seed_contacts(emulator, 10)
    table = emulator.store.table("Contacts")
    view: Any = table.sorted_view("Last_Name")
    assert table.sorted_view("Last_Name") is view
    emulator.insert_records("Contacts", [{"Last_Name": "x"}])
    assert table.sorted_view("Last_Name") is not view
    assert table.sorted_view("id").ids == list(table.records)


ACCOUNT_FIELDS = (
    "id,Account_Name,Phone,Website,Description,Billing_Street,Billing_City,Billing_State,Billing_Code,"
    "Billing_Country,Owner,Created_By,Modified_By,Created_Time,Modified_Time,Tag"
)
SYNC_FIELDS = (
    "id,Account_Name,Description,Website,Phone,Billing_Street,Billing_City,Billing_State,Billing_Code,Billing_Country,"
    "Created_Time,Modified_Time,Last_Activity_Time,Record_Image,Owner,Created_By,Modified_By,Tag,"
    "$currency_symbol,$editable,$followed,$sharing_permission,$approval_state"
)
GET_ACCOUNT_FIELDS = (
    "Owner,Account_Name,Phone,Website,Billing_Street,Billing_City,Billing_State,Billing_Code,Billing_Country,"
    "Description,Created_By,Modified_By,Created_Time,Modified_Time,Last_Activity_Time"
)
GET_CONTACT_FIELDS = (
    "id,First_Name,Last_Name,Email,Phone,Mobile,Title,Department,Mailing_Street,Mailing_City,Mailing_State,"
    "Mailing_Zip,Mailing_Country,Description,Tag,Account_Name,Owner,Created_Time,Modified_Time"
)
CONTACT_360_FIELDS = (
    "Owner,First_Name,Last_Name,Full_Name,Email,Title,Phone,Home_Phone,Mobile,Account_Name,Mailing_Street,"
    "Mailing_City,Mailing_State,Mailing_Zip,Mailing_Country,Description,Email_Opt_Out,Created_By,Modified_By,"
    "Created_Time,Modified_Time,Last_Activity_Time"
)


@pytest.mark.parametrize(
    ("fixture", "module", "fields", "by_id"),
    [
        ("list_accounts.json", "Accounts", ACCOUNT_FIELDS, False),
        ("sync_list_accounts_with_system_fields.json", "Accounts", SYNC_FIELDS, False),
        ("get_account.json", "Accounts", GET_ACCOUNT_FIELDS, True),
        ("get_contact.json", "Contacts", GET_CONTACT_FIELDS, True),
        ("get_contact_with_fields.json", "Contacts", CONTACT_360_FIELDS, True),
    ],
)
async def test_recorded_field_requests_give_the_recorded_keys(
    api: httpx.AsyncClient, fixture: str, module: str, fields: str, by_id: bool
) -> None:
    """Replays each recorded ``fields=`` request (INDEX.md) and compares the keys exactly."""
    [account] = await insert(api, "Accounts", {"Account_Name": "Zylker Corp"})
    [contact] = await insert(api, "Contacts", {"Last_Name": "Contact", "Account_Name": {"id": account}})
    record_id = account if module == "Accounts" else contact
    if by_id:
        response = await api.get(f"/bigin/v2/{module}/{record_id}", params={"fields": fields})
    else:
        response = await api.get(f"/bigin/v2/{module}", params={"fields": fields})
    recorded = load_fixture(fixture)
    assert set(response.json()) == set(recorded)
    assert set(response.json()["data"][0]) == set(recorded["data"][0])
