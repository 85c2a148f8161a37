"""Link and unlink through related lists: 100 ids a call, 101 refused, one result per id."""

from __future__ import annotations

import httpx

from bigin_emulator import BiginEmulator
from tests.helpers.emulator_api import insert


async def _contact_products(api: httpx.AsyncClient, emulator: BiginEmulator) -> tuple[str, list[str]]:
    """A contact's Products related list and 101 products to link to it."""
    (contact,) = await insert(api, "Contacts", {"Last_Name": "Buyer"})
    entries = emulator.insert_records("Products", [{"Product_Name": f"P{i}"} for i in range(101)])
    return f"/bigin/v2/Contacts/{contact}/Products", [e["details"]["id"] for e in entries]


async def test_link_100_ids_in_one_call_with_a_result_each(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    url, products = await _contact_products(api, emulator)
    linked = await api.put(url, json={"data": [{"id": p} for p in products[:100]]})
    assert linked.status_code == 200
    data = linked.json()["data"]
    assert [e["details"]["id"] for e in data] == products[:100]
    assert {e["message"] for e in data} == {"relation added"}
    refused = await api.put(url, json={"data": [{"id": p} for p in products]})
    assert refused.status_code == 400
    assert refused.json()["code"] == "LIMIT_EXCEEDED" and refused.json()["details"]["limit"] == 100
    listed = await api.get(url, params={"fields": "id", "per_page": "200"})
    assert len(listed.json()["data"]) == 100  # the refused call linked nothing


async def test_unlink_100_ids_in_one_call_and_refuse_101(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    url, products = await _contact_products(api, emulator)
    await api.put(url, json={"data": [{"id": p} for p in products[:100]]})
    refused = await api.delete(url, params={"ids": ",".join(products)})
    assert refused.status_code == 400
    assert refused.json()["code"] == "LIMIT_EXCEEDED" and refused.json()["details"] == {
        "param": "ids",
        "limit": 100,
    }
    removed = await api.delete(url, params={"ids": ",".join(products[:100])})
    assert removed.status_code == 200
    assert [e["details"]["id"] for e in removed.json()["data"]] == products[:100]
    assert {e["message"] for e in removed.json()["data"]} == {"relation removed"}
    assert (await api.get(url, params={"fields": "id"})).status_code == 204


async def test_mixed_results_per_id(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    (deal,) = await insert(api, "Pipelines", {"Deal_Name": "D", "Stage": "Proposal"})
    (
        linked_id,
        not_linked,
    ) = await insert(api, "Contacts", {"Last_Name": "In"}, {"Last_Name": "Out"})
    url = f"/bigin/v2/Pipelines/{deal}/Contacts"
    await api.put(url, json={"data": [{"id": linked_id}]})
    again = await api.put(url, json={"data": [{"id": linked_id}, {"id": "5545000000009999999"}]})
    assert again.status_code == 207
    assert [(e["code"], e["message"]) for e in again.json()["data"]] == [
        ("SUCCESS", "relation updated"),
        ("INVALID_DATA", "the related id given seems to be invalid"),
    ]
    # Zoho's pages name no answer for unlinking a pair that is not linked; the emulator gives that id
    # an INVALID_DATA entry of its own ("the records are not related") and goes on with the others.
    mixed = await api.delete(url, params={"ids": f"{not_linked},{linked_id},5545000000009999999"})
    assert mixed.status_code == 207
    assert [(e["code"], e["details"]["id"]) for e in mixed.json()["data"]] == [
        ("INVALID_DATA", not_linked),
        ("SUCCESS", linked_id),
        ("INVALID_DATA", "5545000000009999999"),
    ]
    assert mixed.json()["data"][0]["message"] == "the records are not related"
    none_linked = await api.delete(url, params={"ids": not_linked})
    assert none_linked.status_code == 400 and none_linked.json()["data"][0]["code"] == "INVALID_DATA"


async def test_link_and_unlink_refusals(api: httpx.AsyncClient) -> None:
    (contact,) = await insert(api, "Contacts", {"Last_Name": "C"})
    url = f"/bigin/v2/Contacts/{contact}/Products"
    no_ids = await api.delete(url)
    assert no_ids.status_code == 400 and no_ids.json()["code"] == "REQUIRED_PARAM_MISSING"
    empty = await api.put(url, json={"data": []})
    assert empty.status_code == 400 and empty.json()["code"] == "INVALID_DATA"
    unknown_parent = await api.put(
        "/bigin/v2/Contacts/5545000000009999999/Products", json={"data": [{"id": "1"}]}
    )
    assert unknown_parent.status_code == 400 and unknown_parent.json()["details"]["resource_path_index"] == 1
    not_linkable = await api.delete(f"/bigin/v2/Contacts/{contact}/Notes", params={"ids": contact})
    assert not_linkable.status_code == 400 and not_linkable.json()["code"] == "INVALID_DATA"
