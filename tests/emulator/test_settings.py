"""Metadata, team pipelines (kept consistent with the Pipelines layouts), users, org and tags."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers.emulator_api import get_record, insert
from tests.helpers.fixtures import load_fixture

PIPELINES = "/bigin/v2/settings/pipelines"


async def test_modules_have_the_recorded_keys(api: httpx.AsyncClient) -> None:
    body = (await api.get("/bigin/v2/settings/modules")).json()
    recorded = load_fixture("list_modules.json")
    assert set(body) == set(recorded) == {"modules"}
    recorded_by_name = {m["api_name"]: m for m in recorded["modules"]}
    ours = {m["api_name"]: m for m in body["modules"]}
    assert set(recorded_by_name) == set(ours)
    for name, module in ours.items():
        assert set(module) == set(recorded_by_name[name]), name
        assert module["singular_label"] == recorded_by_name[name]["singular_label"]
    assert ours["Associated_Products"]["parent_module"]["api_name"] == "Pipelines"
    assert ours["Contacts"]["parent_module"] == {} and ours["Social"]["api_supported"] is False
    one = (await api.get("/bigin/v2/settings/modules/Accounts")).json()["modules"]
    assert [m["plural_label"] for m in one] == ["Companies"]


async def test_fields_have_the_recorded_keys(api: httpx.AsyncClient) -> None:
    body = (await api.get("/bigin/v2/settings/fields", params={"module": "Contacts"})).json()
    recorded = load_fixture("settings_fields_contacts.json")
    assert set(body) == {"fields"}
    recorded_by_name = {f["api_name"]: f for f in recorded["fields"]}
    ours = {f["api_name"]: f for f in body["fields"]}
    assert set(recorded_by_name) <= set(ours), set(recorded_by_name) - set(ours)
    for name, recorded_field in recorded_by_name.items():
        field = ours[name]
        assert set(field) == set(recorded_field), (name, set(field) ^ set(recorded_field))
        for key in ("data_type", "json_type", "system_mandatory", "unique"):
            assert field[key] == recorded_field[key], (name, key)
    assert ours["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    assert set(ours["Unsubscribed_Mode"]["pick_list_values"][0]) == set(
        recorded_by_name["Unsubscribed_Mode"]["pick_list_values"][0]
    )
    for module in ("Accounts", "Pipelines", "Tasks", "Events", "Notes", "Products", "Calls"):
        response = await api.get("/bigin/v2/settings/fields", params={"module": module})
        mandatory = {f["api_name"] for f in response.json()["fields"] if f["system_mandatory"]}
        assert mandatory, module
    missing = await api.get("/bigin/v2/settings/fields")
    assert missing.status_code == 400 and missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    unknown = await api.get("/bigin/v2/settings/fields", params={"module": "Companies"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_MODULE"


def layout_stages(layout: dict[str, Any]) -> dict[str, Any]:
    fields = {f["api_name"]: f for section in layout["sections"] for f in section["fields"]}
    return {
        "sub": [v["actual_value"] for v in fields["Sub_Pipeline"]["pick_list_values"]],
        "stages": [
            (v["display_value"], v["actual_value"], v["sequence_number"], v["id"], v["probability"])
            for v in fields["Stage"]["pick_list_values"]
        ],
    }


async def test_default_pipeline_and_its_layout(api: httpx.AsyncClient) -> None:
    pipelines = (await api.get(PIPELINES)).json()["pipelines"]
    assert len(pipelines) == 1
    default = pipelines[0]
    assert set(default) == {"id", "display_value", "default", "maps"}
    assert (default["display_value"], default["default"]) == ("Sales Pipeline", True)
    expected = [
        ("Qualification", 10),
        ("Needs Analysis", 25),
        ("Proposal", 50),
        ("Negotiation", 75),
        ("Closed Won", 100),
        ("Closed Lost", 0),
    ]
    assert [(m["display_value"], m["probability"]) for m in default["maps"]] == expected
    assert [m["sequence_number"] for m in default["maps"]] == [1, 2, 3, 4, 5, 6]
    layouts = (await api.get("/bigin/v2/settings/layouts", params={"module": "Pipelines"})).json()["layouts"]
    assert [lay["id"] for lay in layouts] == [default["id"]]
    seen = layout_stages(layouts[0])
    assert seen["sub"] == ["Sales Pipeline Standard"]
    assert seen["stages"] == [
        (m["display_value"], m["display_value"], m["sequence_number"], m["id"], m["probability"])
        for m in default["maps"]
    ]
    single = (await api.get(f"{PIPELINES}/{default['id']}")).json()
    assert single == {"pipelines": [default]}


async def test_creating_a_pipeline_creates_a_layout_and_validates_deals(api: httpx.AsyncClient) -> None:
    created = await api.post(
        PIPELINES,
        json={
            "pipelines": [
                {
                    "display_value": "Partners",
                    "maps": [
                        {"display_value": "Intro", "probability": 20},
                        {"display_value": "Signed", "probability": 100},
                    ],
                }
            ]
        },
    )
    assert created.status_code == 201
    entry = created.json()["pipelines"][0]
    assert (entry["code"], entry["status"]) == ("SUCCESS", "success")
    partner_id = entry["details"]["id"]
    layouts = (await api.get("/bigin/v2/settings/layouts", params={"module": "Pipelines"})).json()["layouts"]
    partner_layout = next(lay for lay in layouts if lay["id"] == partner_id)
    assert partner_layout["name"] == "Partners"
    assert [s[0] for s in layout_stages(partner_layout)["stages"]] == ["Intro", "Signed"]
    ok = await api.post(
        "/bigin/v2/Pipelines",
        json={"data": [{"Deal_Name": "P", "Stage": "Intro", "Pipeline": {"id": partner_id}}]},
    )
    assert ok.status_code == 201
    deal = await get_record(api, "Pipelines", ok.json()["data"][0]["details"]["id"])
    assert deal["Probability"] == 20 and deal["Sub_Pipeline"] == "Partners Standard"
    assert deal["$layout_id"] == {"display_label": "Partners", "name": "Partners", "id": partner_id}
    wrong = await api.post(
        "/bigin/v2/Pipelines",
        json={"data": [{"Deal_Name": "P", "Stage": "Proposal", "Layout": {"id": partner_id}}]},
    )
    assert wrong.json()["data"][0]["details"] == {"api_name": "Stage"}
    by_sub = await api.post(
        "/bigin/v2/Pipelines",
        json={"data": [{"Deal_Name": "Q", "Stage": "Signed", "Sub_Pipeline": "Partners Standard"}]},
    )
    assert by_sub.status_code == 201
    in_use = await api.delete(f"{PIPELINES}/{partner_id}")
    assert in_use.status_code == 400
    fields = (await api.get("/bigin/v2/settings/fields", params={"module": "Pipelines"})).json()["fields"]
    stage_values = next(f for f in fields if f["api_name"] == "Stage")["pick_list_values"]
    assert {"Intro", "Proposal"} <= {v["actual_value"] for v in stage_values}


async def test_update_and_delete_pipelines(api: httpx.AsyncClient) -> None:
    created = await api.post(
        PIPELINES, json={"pipelines": [{"display_value": "Temp", "maps": [{"display_value": "A"}]}]}
    )
    temp = created.json()["pipelines"][0]["details"]["id"]
    updated = await api.put(
        f"{PIPELINES}/{temp}",
        json={
            "pipelines": [
                {
                    "display_value": "Renamed",
                    "maps": [
                        {"display_value": "A", "probability": 5},
                        {"display_value": "B", "probability": 90},
                    ],
                    "default": True,
                }
            ]
        },
    )
    assert updated.json()["pipelines"][0]["message"] == "pipeline updated"
    listed = {p["id"]: p for p in (await api.get(PIPELINES)).json()["pipelines"]}
    assert listed[temp]["display_value"] == "Renamed" and listed[temp]["default"] is True
    assert sum(p["default"] for p in listed.values()) == 1
    assert [(m["display_value"], m["probability"]) for m in listed[temp]["maps"]] == [("A", 5), ("B", 90)]
    layouts = (await api.get("/bigin/v2/settings/layouts", params={"module": "Pipelines"})).json()["layouts"]
    assert next(lay for lay in layouts if lay["id"] == temp)["name"] == "Renamed"
    refused = await api.delete(f"{PIPELINES}/{temp}")
    assert refused.status_code == 400  # the default pipeline
    old_default = next(pid for pid in listed if pid != temp)
    await api.put(f"{PIPELINES}/{old_default}", json={"pipelines": [{"default": True}]})
    deleted = await api.delete(f"{PIPELINES}/{temp}")
    assert deleted.json()["pipelines"][0]["message"] == "pipeline deleted"
    assert (await api.get(f"{PIPELINES}/{temp}")).status_code == 204


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"pipelines": [{"maps": [{"display_value": "A"}]}]}, "MANDATORY_NOT_FOUND"),
        (
            {"pipelines": [{"display_value": "Sales Pipeline", "maps": [{"display_value": "A"}]}]},
            "DUPLICATE_DATA",
        ),
        ({"pipelines": [{"display_value": "X", "maps": []}]}, "MANDATORY_NOT_FOUND"),
        (
            {"pipelines": [{"display_value": "X", "maps": [{"display_value": "A", "probability": 101}]}]},
            "INVALID_DATA",
        ),
        (
            {"pipelines": [{"display_value": "X", "maps": [{"display_value": "A"}, {"display_value": "a"}]}]},
            "DUPLICATE_DATA",
        ),
    ],
)
async def test_pipeline_validation(api: httpx.AsyncClient, body: dict[str, Any], code: str) -> None:
    response = await api.post(PIPELINES, json=body)
    assert response.status_code == 400 and response.json()["code"] == code
    assert len((await api.get(PIPELINES)).json()["pipelines"]) == 1


async def test_standard_layouts_and_related_lists(api: httpx.AsyncClient) -> None:
    layouts = (await api.get("/bigin/v2/settings/layouts", params={"module": "Contacts"})).json()["layouts"]
    assert [lay["name"] for lay in layouts] == ["Standard"]
    [contact] = await insert(api, "Contacts", {"Last_Name": "L"})
    assert (await get_record(api, "Contacts", contact))["$layout_id"]["id"] == layouts[0]["id"]
    related = (await api.get("/bigin/v2/settings/related_lists", params={"module": "Contacts"})).json()[
        "related_lists"
    ]
    assert {"Notes", "Products", "Pipelines", "Tasks"} <= {r["api_name"] for r in related}


async def test_users_have_the_recorded_keys(api: httpx.AsyncClient) -> None:
    body = (await api.get("/bigin/v2/users", params={"type": "AllUsers"})).json()
    recorded = load_fixture("list_users.json")
    assert list(body["info"]) == list(recorded["info"])
    assert set(body["users"][0]) == set(recorded["users"][0])
    assert len(body["users"]) == 3
    current = (await api.get("/bigin/v2/users", params={"type": "CurrentUser"})).json()["users"]
    assert len(current) == 1 and current[0]["profile"]["name"] == "Administrator"
    active = (await api.get("/bigin/v2/users", params={"type": "ActiveUsers"})).json()["users"]
    assert all(u["status"] == "active" for u in active) and len(active) == 2
    one = (await api.get(f"/bigin/v2/users/{current[0]['id']}")).json()["users"]
    assert one[0]["id"] == current[0]["id"]
    bad = await api.get("/bigin/v2/users", params={"type": "Martians"})
    assert bad.status_code == 400
    paged = (await api.get("/bigin/v2/users", params={"per_page": "2", "page": "2"})).json()
    assert paged["info"] == {"per_page": 2, "count": 1, "page": 2, "more_records": False}


async def test_org_has_the_recorded_keys(api: httpx.AsyncClient) -> None:
    body = (await api.get("/bigin/v2/org")).json()
    recorded = load_fixture("get_org.json")
    assert set(body) == {"org"} and len(body["org"]) == 1
    assert set(body["org"][0]) == set(recorded["org"][0])
    assert set(body["org"][0]["license_details"]) == set(recorded["org"][0]["license_details"])
    assert isinstance(body["org"][0]["zgid"], str)


async def test_tags_settings_and_actions(api: httpx.AsyncClient) -> None:
    created = await api.post(
        "/bigin/v2/settings/tags",
        params={"module": "Contacts"},
        json={"tags": [{"name": "Hot", "color_code": "#F00"}, {"name": "hot"}]},
    )
    assert [e["code"] for e in created.json()["tags"]] == ["SUCCESS", "DUPLICATE_DATA"]
    a, b = await insert(api, "Contacts", {"Last_Name": "A", "Tag": [{"name": "Cold"}]}, {"Last_Name": "B"})
    added = await api.post(
        "/bigin/v2/Contacts/actions/add_tags", params={"ids": f"{a},{b}", "tag_names": "Hot,VIP"}
    )
    assert added.status_code == 200
    assert [e["details"]["tags"] for e in added.json()["data"]] == [["Cold", "Hot", "VIP"], ["Hot", "VIP"]]
    assert added.json()["data"][0]["message"] == "tags updated successfully"
    record = await get_record(api, "Contacts", a)
    hot = next(t for t in record["Tag"] if t["name"] == "Hot")
    assert hot["color_code"] == "#F00"
    removed = await api.post(
        "/bigin/v2/Contacts/actions/remove_tags",
        json={"ids": [a], "tags": [{"name": "cold"}, {"name": "VIP"}]},
    )
    assert removed.json()["data"][0]["details"]["tags"] == ["Hot"]
    overwritten = await api.post(
        "/bigin/v2/Contacts/actions/add_tags", params={"ids": b, "tag_names": "Only", "over_write": "true"}
    )
    assert overwritten.json()["data"][0]["details"]["tags"] == ["Only"]
    listed = (await api.get("/bigin/v2/settings/tags", params={"module": "Contacts"})).json()
    assert {t["name"] for t in listed["tags"]} == {"Hot", "Cold", "VIP", "Only"}
    assert listed["info"]["count"] == 4
    unknown_id = await api.post(
        "/bigin/v2/Contacts/actions/add_tags", params={"ids": "5545000000009999999", "tag_names": "x"}
    )
    assert unknown_id.status_code == 400 and unknown_id.json()["data"][0]["code"] == "INVALID_DATA"
    no_names = await api.post("/bigin/v2/Contacts/actions/add_tags", params={"ids": a})
    assert no_names.status_code == 400 and no_names.json()["code"] == "REQUIRED_PARAM_MISSING"
    notes = await api.get("/bigin/v2/settings/tags", params={"module": "Notes"})
    assert notes.status_code == 400
