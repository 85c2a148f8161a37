"""Related lists and link/unlink, shaped like the recordings."""

from __future__ import annotations

import httpx

from bigin_emulator import BiginEmulator
from tests.helpers.emulator_api import insert
from tests.helpers.fixtures import load_fixture


async def test_company_contacts_related_list(api: httpx.AsyncClient) -> None:
    account, other = await insert(api, "Accounts", {"Account_Name": "A"}, {"Account_Name": "B"})
    c1, _, c3 = await insert(
        api,
        "Contacts",
        {"Last_Name": "One", "Email": "one@example.com", "Account_Name": {"id": account}},
        {"Last_Name": "Two", "Account_Name": {"id": other}},
        {"Last_Name": "Three", "Account_Name": {"id": account}},
    )
    response = await api.get(
        f"/bigin/v2/Accounts/{account}/Contacts",
        params={"fields": "id,First_Name,Last_Name,Email", "per_page": "200"},
    )
    body = response.json()
    recorded = load_fixture("account_related_contacts.json")
    assert list(body["info"]) == list(recorded["info"])
    assert set(body["data"][0]) == set(recorded["data"][0])
    assert [r["id"] for r in body["data"]] == [c3, c1]  # newest first
    assert body["info"]["count"] == 2 and body["info"]["more_records"] is False


async def test_related_list_rules(api: httpx.AsyncClient) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "A"})
    no_fields = await api.get(f"/bigin/v2/Accounts/{account}/Contacts")
    assert no_fields.status_code == 400 and no_fields.json()["code"] == "REQUIRED_PARAM_MISSING"
    empty = await api.get(f"/bigin/v2/Accounts/{account}/Contacts", params={"fields": "Last_Name"})
    assert empty.status_code == 204 and empty.content == b""
    unknown_parent = await api.get(
        "/bigin/v2/Accounts/5545000000009999999/Contacts", params={"fields": "Last_Name"}
    )
    assert unknown_parent.status_code == 204
    bad_relation = await api.get(f"/bigin/v2/Accounts/{account}/Widgets", params={"fields": "Last_Name"})
    assert bad_relation.status_code == 400 and bad_relation.json()["code"] == "INVALID_DATA"


async def test_related_list_page_tokens(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "Big"})
    entries = emulator.insert_records(
        "Contacts", [{"Last_Name": f"C{i}", "Account_Name": {"id": account}} for i in range(5)]
    )
    ids = [e["details"]["id"] for e in entries][::-1]
    url = f"/bigin/v2/Accounts/{account}/Contacts"
    first = (await api.get(url, params={"fields": "Last_Name", "per_page": "2"})).json()
    assert first["info"]["next_page_token"] and first["info"]["more_records"] is True
    seen = [r["id"] for r in first["data"]]
    token = first["info"]["next_page_token"]
    while token:
        page = (
            await api.get(url, params={"fields": "Last_Name", "per_page": "2", "page_token": token})
        ).json()
        seen += [r["id"] for r in page["data"]]
        token = page["info"]["next_page_token"]
    assert seen == ids
    elsewhere = await api.get(
        "/bigin/v2/Contacts", params={"fields": "Last_Name", "page_token": first["info"]["next_page_token"]}
    )
    assert elsewhere.status_code == 400


async def test_link_products_to_a_contact_like_the_recordings(api: httpx.AsyncClient) -> None:
    [contact] = await insert(api, "Contacts", {"Last_Name": "C"})
    p1, p2 = await insert(
        api, "Products", {"Product_Name": "Nango Test Product", "Unit_Price": 42.5}, {"Product_Name": "Other"}
    )
    url = f"/bigin/v2/Contacts/{contact}/Products"
    linked = await api.put(f"{url}/{p1}", json=load_fixture("link_product_to_contact_request.json"))
    assert linked.status_code == 200
    assert linked.json() == {
        "data": [{"code": "SUCCESS", "details": {"id": p1}, "message": "relation added", "status": "success"}]
    }
    assert linked.json()["data"][0].keys() == load_fixture("link_product_to_contact.json")["data"][0].keys()
    again = await api.put(f"{url}/{p1}", json={"data": [{}]})
    assert (
        again.json()["data"][0]["message"]
        == load_fixture("link_product_already_linked.json")["data"][0]["message"]
    )
    await api.put(f"{url}/{p2}", json={"data": [{}]})
    listed = await api.get(
        url,
        params={
            "fields": "Owner,Product_Name,Product_Code,Product_Active,Product_Category,Unit_Price,"
            "Description,Created_Time,Modified_Time"
        },
    )
    recorded = load_fixture("contact_related_products.json")
    assert list(listed.json()["info"]) == list(recorded["info"])
    assert set(listed.json()["data"][0]) == set(recorded["data"][0])
    assert [r["id"] for r in listed.json()["data"]] == [p2, p1]
    reverse = await api.get(f"/bigin/v2/Products/{p1}/Contacts", params={"fields": "Last_Name"})
    assert [r["id"] for r in reverse.json()["data"]] == [contact]
    removed = await api.delete(f"{url}/{p2}")
    assert (
        removed.json()["data"][0]["message"]
        == load_fixture("unlink_product_from_contact.json")["data"][0]["message"]
    )
    not_linked = await api.delete(f"{url}/{p2}")
    assert not_linked.status_code == 400 and not_linked.json()["data"][0]["code"] == "INVALID_DATA"
    missing = await api.put(f"{url}/5545000000009999999", json={"data": [{}]})
    assert missing.status_code == 400


async def test_bulk_link_and_unlink(api: httpx.AsyncClient) -> None:
    [deal] = await insert(api, "Pipelines", {"Deal_Name": "D", "Stage": "Proposal"})
    c1, c2 = await insert(api, "Contacts", {"Last_Name": "1"}, {"Last_Name": "2"})
    url = f"/bigin/v2/Pipelines/{deal}/Contacts"
    response = await api.put(url, json={"data": [{"id": c1}, {"id": c2}, {}]})
    assert [e["code"] for e in response.json()["data"]] == ["SUCCESS", "SUCCESS", "MANDATORY_NOT_FOUND"]
    listed = await api.get(url, params={"fields": "Last_Name"})
    assert {r["id"] for r in listed.json()["data"]} == {c1, c2}
    removed = await api.delete(url, params={"ids": f"{c1},{c2}"})
    assert [e["message"] for e in removed.json()["data"]] == ["relation removed", "relation removed"]
    assert (await api.get(url, params={"fields": "Last_Name"})).status_code == 204
    refused = await api.put(f"/bigin/v2/Contacts/{c1}/Notes/{c2}", json={"data": [{}]})
    assert refused.status_code == 400


async def test_notes_activities_and_deals_of_a_record(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "A"})
    [contact] = await insert(api, "Contacts", {"Last_Name": "C", "Account_Name": {"id": account}})
    [deal] = await insert(
        api,
        "Pipelines",
        {
            "Deal_Name": "D",
            "Stage": "Proposal",
            "Contact_Name": {"id": contact},
            "Account_Name": {"id": account},
        },
    )
    [note] = await insert(
        api, "Notes", {"Note_Content": "n", "Parent_Id": {"module": "Pipelines", "id": deal}}
    )
    [task] = await insert(api, "Tasks", {"Subject": "t", "Related_To": {"module": "Contacts", "id": contact}})
    [event] = await insert(
        api,
        "Events",
        {
            "Event_Title": "e",
            "Start_DateTime": "2026-01-02T10:00:00Z",
            "End_DateTime": "2026-01-02T11:00:00Z",
            "Related_To": {"module": "Pipelines", "id": deal},
        },
    )

    async def related(path: str) -> list[str]:
        response = await api.get(f"/bigin/v2/{path}", params={"fields": "id"})
        return [] if response.status_code == 204 else [r["id"] for r in response.json()["data"]]

    assert await related(f"Pipelines/{deal}/Notes") == [note]
    assert await related(f"Contacts/{contact}/Tasks") == [task]
    assert await related(f"Pipelines/{deal}/Events") == [event]
    assert await related(f"Contacts/{contact}/Pipelines") == [deal]
    assert await related(f"Accounts/{account}/Pipelines") == [deal]
    assert await related(f"Pipelines/{deal}/Contacts") == [contact]
    pipeline_id = emulator.ctx.pipelines.default().id
    filtered = await api.get(
        f"/bigin/v2/Contacts/{contact}/Pipelines", params={"fields": "id", "pipeline_id": pipeline_id}
    )
    assert filtered.status_code == 200
    other = await api.get(
        f"/bigin/v2/Contacts/{contact}/Pipelines", params={"fields": "id", "pipeline_id": "1"}
    )
    assert other.status_code == 204
