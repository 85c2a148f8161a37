"""Custom views (``/settings/custom_views``, ``cvid`` on a list) and ``pipeline_id`` on ``GET /Pipelines``."""

from __future__ import annotations

from typing import Any

import httpx

from bigin_emulator import BiginEmulator
from bigin_emulator.ops.custom_views import RECENT_DAYS, module_views
from tests.helpers.clock import FakeClock
from tests.helpers.emulator_api import insert

VIEWS = "/bigin/v2/settings/custom_views"


async def _views(api: httpx.AsyncClient, module: str) -> dict[str, dict[str, Any]]:
    response = await api.get(VIEWS, params={"module": module})
    assert response.status_code == 200, response.text
    return {view["display_value"]: view for view in response.json()["custom_views"]}


async def _ids(api: httpx.AsyncClient, module: str, **params: str) -> list[str]:
    response = await api.get(f"/bigin/v2/{module}", params={"fields": "id", **params})
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


async def test_each_module_lists_its_system_views_in_zoho_s_shape(api: httpx.AsyncClient) -> None:
    response = await api.get(VIEWS, params={"module": "Contacts"})
    body = response.json()
    names = [v["display_value"] for v in body["custom_views"]]
    assert names == ["All Contacts", "My Contacts", "Recently Created Contacts"]
    every = body["custom_views"][0]
    assert set(every) == {
        "display_value", "created_time", "offline", "default", "modified_time", "system_name",
        "system_defined", "name", "modified_by", "id", "category", "last_accessed_time", "favorite",
        "created_by",
    }  # fmt: skip
    assert every["default"] is True and every["system_defined"] is True and every["system_name"] == "ALLVIEWS"
    assert body["info"]["default"] == every["id"] and body["info"]["count"] == 3
    assert set(body["info"]) == {"per_page", "default", "count", "page", "translation", "more_records"}
    companies = await _views(api, "Accounts")
    assert set(companies) == {"All Companies", "My Companies", "Recently Created Companies"}
    ids = {v["id"] for m in ("Contacts", "Accounts", "Pipelines") for v in (await _views(api, m)).values()}
    assert len(ids) == 9  # ids are unique across modules


async def test_one_view_with_its_criteria(api: httpx.AsyncClient) -> None:
    mine = (await _views(api, "Contacts"))["My Contacts"]
    response = await api.get(f"{VIEWS}/{mine['id']}", params={"module": "Contacts"})
    [view] = response.json()["custom_views"]
    assert view["id"] == mine["id"]
    assert view["criteria"]["field"]["api_name"] == "Owner"
    assert view["criteria"]["value"] == "${CURRENTUSER}"
    assert (await api.get(f"{VIEWS}/{mine['id']}", params={"module": "Accounts"})).status_code == 204


async def test_view_refusals(api: httpx.AsyncClient) -> None:
    no_module = await api.get(VIEWS)
    assert no_module.status_code == 400 and no_module.json()["code"] == "REQUIRED_PARAM_MISSING"
    assert (await api.get(VIEWS, params={"module": "Widgets"})).json()["code"] == "INVALID_MODULE"
    assert (await api.get(VIEWS, params={"module": "Notes"})).json()["code"] == "INVALID_MODULE"


async def test_cvid_keeps_what_the_view_shows(
    api: httpx.AsyncClient, emulator: BiginEmulator, clock: FakeClock
) -> None:
    views = await _views(api, "Contacts")
    users = (await api.get("/bigin/v2/users", params={"type": "ActiveUsers"})).json()["users"]
    other = next(u for u in users if u["profile"]["name"] == "Standard")
    (old,) = await insert(api, "Contacts", {"Last_Name": "Old"})
    clock.advance(RECENT_DAYS * 86_400 + 1)
    api.headers["Authorization"] = f"Zoho-oauthtoken {emulator.issue_token()}"
    new_mine, new_theirs = await insert(
        api, "Contacts", {"Last_Name": "Mine"}, {"Last_Name": "Theirs", "Owner": {"id": other["id"]}}
    )
    assert await _ids(api, "Contacts", cvid=views["All Contacts"]["id"]) == [new_theirs, new_mine, old]
    assert await _ids(api, "Contacts", cvid=views["My Contacts"]["id"]) == [new_mine, old]
    assert await _ids(api, "Contacts", cvid=views["Recently Created Contacts"]["id"]) == [
        new_theirs,
        new_mine,
    ]
    sorted_mine = await _ids(
        api, "Contacts", cvid=views["My Contacts"]["id"], sort_by="Last_Name", sort_order="asc"
    )
    assert sorted_mine == [new_mine, old]


async def test_cvid_costs_3_credits_and_an_unknown_one_is_refused(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    views = await _views(api, "Contacts")
    before = emulator.counters.credits
    await _ids(api, "Contacts", cvid=views["My Contacts"]["id"])
    assert emulator.counters.credits - before == 3
    unknown = await api.get("/bigin/v2/Contacts", params={"fields": "id", "cvid": "5545000000000000001"})
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "INVALID_DATA" and unknown.json()["details"] == {"param": "cvid"}
    elsewhere = (await _views(api, "Accounts"))["All Companies"]["id"]
    other_module = await api.get("/bigin/v2/Contacts", params={"fields": "id", "cvid": elsewhere})
    assert other_module.status_code == 400


async def test_page_tokens_of_a_view_are_the_view_s(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    views = await _views(api, "Contacts")
    emulator.insert_records("Contacts", [{"Last_Name": f"C{i}"} for i in range(5)])
    mine = views["My Contacts"]["id"]
    first = (
        await api.get("/bigin/v2/Contacts", params={"fields": "id", "cvid": mine, "per_page": "2"})
    ).json()
    token = first["info"]["next_page_token"]
    assert token and first["info"]["more_records"] is True
    seen = [r["id"] for r in first["data"]]
    while token:
        page = (
            await api.get("/bigin/v2/Contacts", params={"fields": "id", "cvid": mine, "page_token": token})
        ).json()
        seen += [r["id"] for r in page["data"]]
        token = page["info"]["next_page_token"]
    assert len(seen) == 5 and len(set(seen)) == 5
    unfiltered = await api.get(
        "/bigin/v2/Contacts", params={"fields": "id", "page_token": first["info"]["next_page_token"]}
    )
    assert unfiltered.status_code == 400  # a token of the view is not a token of the whole list


async def test_pipeline_id_keeps_a_team_pipeline_s_deals(
    api: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    created = await api.post(
        "/bigin/v2/settings/pipelines",
        json={
            "pipelines": [
                {"display_value": "Renewals", "maps": [{"display_value": "Due", "probability": 40}]}
            ]
        },
    )
    assert created.status_code in (200, 201), created.text
    renewals = emulator.ctx.pipelines.by_name("Renewals")
    assert renewals is not None
    default = emulator.ctx.pipelines.default().id
    (sale,) = await insert(api, "Pipelines", {"Deal_Name": "Sale", "Stage": "Proposal"})
    (renewal,) = await insert(
        api, "Pipelines", {"Deal_Name": "Renewal", "Stage": "Due", "Layout": {"id": renewals.id}}
    )
    assert await _ids(api, "Pipelines", pipeline_id=default) == [sale]
    assert await _ids(api, "Pipelines", pipeline_id=renewals.id) == [renewal]
    assert await _ids(api, "Pipelines") == [renewal, sale]
    assert await _ids(api, "Pipelines", pipeline_id="5545000000000000001") == []  # no such pipeline: none
    mine = (await _views(api, "Pipelines"))["My Pipelines"]["id"]
    assert await _ids(api, "Pipelines", pipeline_id=renewals.id, cvid=mine) == [renewal]
    (contact,) = await insert(api, "Contacts", {"Last_Name": "C"})
    assert await _ids(api, "Contacts", pipeline_id=renewals.id) == [contact]  # only deals are filtered


def test_recently_created_reads_zoho_s_times_and_skips_what_it_cannot_read() -> None:
    [_, _, recent] = module_views("Contacts")
    now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    assert recent.keeps({"Created_Time": "2025-12-31T20:00:00-05:00"}, now)  # the same instant, elsewhere
    assert recent.keeps({"Created_Time": "2025-12-25T00:00:00"}, now)  # no offset: read as UTC
    assert not recent.keeps({"Created_Time": "2025-12-24T23:59:59Z"}, now)
    assert not recent.keeps({"Created_Time": "yesterday"}, now)
    assert not recent.keeps({}, now)
    assert module_views("Notes") == ()
