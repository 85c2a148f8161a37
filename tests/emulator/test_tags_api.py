"""Tags as first-class objects over plain HTTP: update, delete, merge, records count, 500-record actions."""

from __future__ import annotations

from typing import Any

import httpx

from bigin_emulator import BiginEmulator
from tests.helpers.emulator_api import get_record, insert

TAGS = "/bigin/v2/settings/tags"
CONTACTS = {"module": "Contacts"}


async def _create(api: httpx.AsyncClient, *names: str, module: str = "Contacts") -> list[str]:
    response = await api.post(TAGS, params={"module": module}, json={"tags": [{"name": n} for n in names]})
    assert response.status_code == 200, response.text
    return [entry["details"]["id"] for entry in response.json()["tags"]]


async def _tag_names(api: httpx.AsyncClient, record_id: str) -> list[str]:
    return [t["name"] for t in (await get_record(api, "Contacts", record_id))["Tag"]]


async def _listed(api: httpx.AsyncClient, module: str = "Contacts") -> dict[str, dict[str, Any]]:
    body = (await api.get(TAGS, params={"module": module})).json()
    return {tag["name"]: tag for tag in body["tags"]}


async def test_create_answers_zoho_s_stamps_and_checks_each_tag(api: httpx.AsyncClient) -> None:
    response = await api.post(
        TAGS,
        params=CONTACTS,
        json={
            "tags": [
                {"name": "Hot", "color_code": "#57B1FD"},
                {"name": " "},
                {"name": "x", "color_code": "red"},
            ]
        },
    )
    assert response.status_code == 207
    ok, unnamed, bad_color = response.json()["tags"]
    assert ok["message"] == "tags created successfully"
    assert set(ok["details"]) == {"created_time", "modified_time", "modified_by", "id", "created_by"}
    assert unnamed["code"] == "MANDATORY_NOT_FOUND" and unnamed["details"] == {"api_name": "name"}
    assert bad_color["code"] == "INVALID_DATA" and bad_color["details"] == {"api_name": "color_code"}
    assert set(await _listed(api)) == {"Hot"}
    assert (await api.post(TAGS, params=CONTACTS, json={"tags": [{}]})).status_code == 400
    not_objects = await api.post(TAGS, params=CONTACTS, json={"tags": ["Hot", 7]})
    assert not_objects.status_code == 400
    assert [e["code"] for e in not_objects.json()["tags"]] == ["INVALID_DATA", "INVALID_DATA"]
    duplicate = await api.post(TAGS, params=CONTACTS, json={"tags": [{"name": "HOT"}]})
    assert duplicate.json()["tags"][0]["code"] == "DUPLICATE_DATA"


async def test_update_renames_and_recolours_and_records_show_it(api: httpx.AsyncClient) -> None:
    hot, cold = await _create(api, "Hot", "Cold")
    (contact,) = await insert(api, "Contacts", {"Last_Name": "A", "Tag": [{"name": "Hot"}, {"name": "Cold"}]})
    modified = (await get_record(api, "Contacts", contact))["Modified_Time"]
    response = await api.put(
        TAGS, params=CONTACTS, json={"tags": [{"id": hot, "name": "Warm", "color_code": "#FF0000"}]}
    )
    assert response.status_code == 200
    [entry] = response.json()["tags"]
    assert entry["code"] == "SUCCESS" and entry["message"] == "tags updated successfully"
    assert entry["details"]["id"] == hot
    record = await get_record(api, "Contacts", contact)
    assert {"name": "Warm", "id": hot, "color_code": "#FF0000"} in record["Tag"]
    assert record["Modified_Time"] == modified  # the tag changed, not the record
    listed = await _listed(api)
    assert listed["Warm"]["color_code"] == "#FF0000" and "Hot" not in listed
    one = await api.put(f"{TAGS}/{cold}", params=CONTACTS, json={"tags": [{"name": "Frozen"}]})
    assert one.status_code == 200 and one.json()["tags"][0]["details"]["id"] == cold
    assert await _tag_names(api, contact) == ["Warm", "Frozen"]
    same_name_other_case = await api.put(
        f"{TAGS}/{cold}", params=CONTACTS, json={"tags": [{"name": "FROZEN"}]}
    )
    assert same_name_other_case.status_code == 200
    colour_only = await api.put(f"{TAGS}/{cold}", params=CONTACTS, json={"tags": [{"color_code": "#000"}]})
    assert colour_only.status_code == 200 and (await _listed(api))["FROZEN"]["color_code"] == "#000"


async def test_update_refusals_are_per_tag(api: httpx.AsyncClient) -> None:
    hot, cold = await _create(api, "Hot", "Cold")
    [deal_tag] = await _create(api, "Big", module="Pipelines")
    response = await api.put(
        TAGS,
        params=CONTACTS,
        json={
            "tags": [
                {"id": hot, "name": "cold"},
                {"name": "No id"},
                {"id": "5545000000009999999", "name": "Ghost"},
                {"id": deal_tag, "name": "Other module"},
                {"id": cold},
                "not an object",
                {"id": cold, "name": "Chilly"},
            ]
        },
    )
    assert response.status_code == 207
    codes = [(e["code"], e["details"].get("api_name")) for e in response.json()["tags"]]
    assert codes == [
        ("DUPLICATE_DATA", "name"),
        ("MANDATORY_NOT_FOUND", "id"),
        ("INVALID_DATA", "id"),
        ("INVALID_DATA", "id"),
        ("MANDATORY_NOT_FOUND", "name"),
        ("INVALID_DATA", None),
        ("SUCCESS", None),
    ]
    mismatch = await api.put(f"{TAGS}/{hot}", params=CONTACTS, json={"tags": [{"id": cold, "name": "Z"}]})
    assert mismatch.status_code == 400 and mismatch.json()["tags"][0]["code"] == "INVALID_DATA"
    two = await api.put(f"{TAGS}/{hot}", params=CONTACTS, json={"tags": [{"name": "A"}, {"name": "B"}]})
    assert two.status_code == 400 and two.json()["code"] == "INVALID_DATA"
    no_module = await api.put(TAGS, json={"tags": [{"id": hot, "name": "Q"}]})
    assert no_module.json()["code"] == "REQUIRED_PARAM_MISSING"
    notes = await api.put(TAGS, params={"module": "Notes"}, json={"tags": [{"id": hot, "name": "Q"}]})
    assert notes.json()["code"] == "INVALID_MODULE"


async def test_delete_takes_the_tag_off_every_record(api: httpx.AsyncClient) -> None:
    hot, _ = await _create(api, "Hot", "Cold")
    a, b = await insert(
        api, "Contacts", {"Last_Name": "A", "Tag": ["Hot", "Cold"]}, {"Last_Name": "B", "Tag": ["Hot"]}
    )
    response = await api.delete(f"{TAGS}/{hot}")
    assert response.status_code == 200
    assert response.json() == {
        "tags": [
            {
                "code": "SUCCESS",
                "details": {"id": hot},
                "message": "tags deleted successfully",
                "status": "success",
            }
        ]
    }
    assert await _tag_names(api, a) == ["Cold"] and await _tag_names(api, b) == []
    assert set(await _listed(api)) == {"Cold"}
    again = await api.delete(f"{TAGS}/{hot}")
    assert again.status_code == 400
    assert again.json()["code"] == "INVALID_DATA" and again.json()["details"]["id"] == hot
    assert (await api.get(f"{TAGS}/{hot}")).json()["code"] == "INVALID_REQUEST_METHOD"


async def test_merge_moves_the_conflict_tag_s_records_to_the_url_s_tag_and_drops_the_conflict_tag(
    api: httpx.AsyncClient,
) -> None:
    old, new, _ = await _create(api, "Old", "New", "Other")
    a, b, c = await insert(
        api,
        "Contacts",
        {"Last_Name": "A", "Tag": ["Old"]},
        {"Last_Name": "B", "Tag": ["Old", "New"]},
        {"Last_Name": "C", "Tag": ["Other"]},
    )
    response = await api.post(f"{TAGS}/{new}/actions/merge", json={"tags": [{"conflict_id": old}]})
    assert response.status_code == 200
    [entry] = response.json()["tags"]
    assert entry["code"] == "SUCCESS" and entry["message"] == "tags merged successfully"
    assert entry["details"]["id"] == new
    assert await _tag_names(api, a) == ["New"]
    assert await _tag_names(api, b) == ["New"]  # carried both: carries the one that stays once
    assert await _tag_names(api, c) == ["Other"]
    assert set(await _listed(api)) == {"New", "Other"}
    count = await api.get(f"{TAGS}/{new}/actions/records_count", params=CONTACTS)
    assert count.json() == {"count": "2"}
    gone = await api.post(f"{TAGS}/{new}/actions/merge", json={"tags": [{"conflict_id": old}]})
    assert gone.status_code == 400 and gone.json()["code"] == "INVALID_DATA"
    url_gone = await api.post(f"{TAGS}/{old}/actions/merge", json={"tags": [{"conflict_id": new}]})
    assert url_gone.status_code == 400 and url_gone.json()["details"]["id"] == old


async def test_merge_refusals(api: httpx.AsyncClient) -> None:
    hot, cold = await _create(api, "Hot", "Cold")
    [deal_tag] = await _create(api, "Big", module="Pipelines")
    url = f"{TAGS}/{hot}/actions/merge"

    async def code(body: Any) -> tuple[int, str]:
        response = await api.post(url, json=body)
        return response.status_code, response.json()["code"]

    assert await code({"tags": [{}]}) == (400, "MANDATORY_NOT_FOUND")
    assert await code({"tags": [{"conflict_id": hot}]}) == (400, "INVALID_DATA")
    assert await code({"tags": [{"conflict_id": deal_tag}]}) == (400, "INVALID_DATA")
    assert await code({"tags": [{"conflict_id": "5545000000009999999"}]}) == (400, "INVALID_DATA")
    assert await code({"tags": [{"conflict_id": cold}, {"conflict_id": cold}]}) == (400, "INVALID_DATA")
    assert await code({"nothing": []}) == (400, "REQUIRED_PARAM_MISSING")
    assert set(await _listed(api)) == {"Hot", "Cold"}


async def test_records_count(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    hot, cold = await _create(api, "Hot", "Cold")
    emulator.insert_records("Contacts", [{"Last_Name": f"C{i}", "Tag": ["Hot"]} for i in range(3)])
    url = f"{TAGS}/{hot}/actions/records_count"
    response = await api.get(url, params=CONTACTS)
    assert response.status_code == 200 and response.json() == {"count": "3"}
    assert (await api.get(f"{TAGS}/{cold}/actions/records_count", params=CONTACTS)).json() == {"count": "0"}
    no_module = await api.get(url)
    assert no_module.status_code == 400 and no_module.json()["code"] == "REQUIRED_PARAM_MISSING"
    other_module = await api.get(url, params={"module": "Pipelines"})
    assert other_module.status_code == 400 and other_module.json()["code"] == "INVALID_DATA"
    assert (await api.get(url, params={"module": "Widgets"})).json()["code"] == "INVALID_MODULE"
    unknown = await api.get(f"{TAGS}/5545000000009999999/actions/records_count", params=CONTACTS)
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_DATA"


async def test_add_tags_takes_500_records_a_call_and_refuses_501(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    entries = emulator.insert_records("Contacts", [{"Last_Name": f"C{i}"} for i in range(501)])
    ids = [e["details"]["id"] for e in entries]
    response = await api.post(
        "/bigin/v2/Contacts/actions/add_tags", json={"tags": [{"name": "Bulk"}], "ids": ids[:500]}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert len(data) == 500 and [e["details"]["id"] for e in data] == ids[:500]
    assert all(e["details"]["tags"] == ["Bulk"] for e in data)
    [bulk] = await _listed(api)
    count = await api.get(f"{TAGS}/{(await _listed(api))[bulk]['id']}/actions/records_count", params=CONTACTS)
    assert count.json() == {"count": "500"}
    refused = await api.post(
        "/bigin/v2/Contacts/actions/remove_tags", params={"ids": ",".join(ids), "tag_names": "Bulk"}
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "LIMIT_EXCEEDED"
    assert refused.json()["details"] == {"param": "ids", "limit": 500}
    removed = await api.post(
        "/bigin/v2/Contacts/actions/remove_tags", params={"ids": ",".join(ids[1:]), "tag_names": "Bulk"}
    )
    assert removed.status_code == 200 and len(removed.json()["data"]) == 500
    assert await _tag_names(api, ids[0]) == ["Bulk"] and await _tag_names(api, ids[1]) == []


async def test_tag_actions_answer_per_record_and_on_one_record(api: httpx.AsyncClient) -> None:
    (a,) = await insert(api, "Contacts", {"Last_Name": "A"})
    mixed = await api.post(
        "/bigin/v2/Contacts/actions/add_tags", params={"ids": f"{a},5545000000009999999", "tag_names": "VIP"}
    )
    assert mixed.status_code == 207
    assert [e["code"] for e in mixed.json()["data"]] == ["SUCCESS", "INVALID_DATA"]
    one = await api.post(f"/bigin/v2/Contacts/{a}/actions/add_tags", params={"tag_names": "Gold"})
    assert one.status_code == 200
    [entry] = one.json()["data"]
    assert entry["code"] == "SUCCESS" and entry["message"] == "tags updated successfully"
    assert entry["details"] == {"id": a, "tags": ["VIP", "Gold"]}
    off = await api.post(f"/bigin/v2/Contacts/{a}/actions/remove_tags", params={"tag_names": "VIP"})
    assert off.json()["data"][0]["details"]["tags"] == ["Gold"]
    eleven = ",".join(f"t{i}" for i in range(11))
    too_many = await api.post(f"/bigin/v2/Contacts/{a}/actions/add_tags", params={"tag_names": eleven})
    assert too_many.status_code == 400 and too_many.json()["code"] == "LIMIT_EXCEEDED"
    no_names = await api.post(f"/bigin/v2/Contacts/{a}/actions/add_tags")
    assert no_names.json()["code"] == "REQUIRED_PARAM_MISSING"
    notes = await api.post("/bigin/v2/Notes/actions/add_tags", params={"ids": a, "tag_names": "x"})
    assert notes.json()["code"] == "INVALID_MODULE"


async def test_tags_and_their_changes_survive_a_state_round_trip(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    (hot,) = await _create(api, "Hot")
    await api.put(f"{TAGS}/{hot}", params=CONTACTS, json={"tags": [{"name": "Warm"}]})
    restored = BiginEmulator()
    restored.import_state(emulator.export_state())
    found = restored.ctx.tags.find("Contacts", "warm")
    assert found is not None and found.id == hot and found.modified_time is not None
