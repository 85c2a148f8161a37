"""The ``BiginEmulator`` facade: state round trips, seeding, lazy imports, the SDK client, a real socket."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from bigin_emulator import BiginEmulator
from tests.helpers.clock import FakeClock
from tests.helpers.emulator_api import get_record, insert


async def test_export_and_import_round_trip(
    api: httpx.AsyncClient, emulator: BiginEmulator, clock: FakeClock
) -> None:
    [account] = await insert(api, "Accounts", {"Account_Name": "A", "Custom_c": {"x": [1]}})
    [contact] = await insert(
        api, "Contacts", {"Last_Name": "C", "Account_Name": {"id": account}, "Tag": ["VIP"]}
    )
    [product] = await insert(api, "Products", {"Product_Name": "P"})
    await api.put(f"/bigin/v2/Contacts/{contact}/Products/{product}", json={"data": [{}]})
    created = await api.post(
        "/bigin/v2/settings/pipelines",
        json={"pipelines": [{"display_value": "Second", "maps": [{"display_value": "S1"}]}]},
    )
    pipeline = created.json()["pipelines"][0]["details"]["id"]
    [gone] = await insert(api, "Contacts", {"Last_Name": "Gone"})
    await api.delete(f"/bigin/v2/Contacts/{gone}")
    state = json.loads(json.dumps(emulator.export_state()))

    restored = BiginEmulator(clock=clock)
    restored.import_state(state)
    token = api.headers["Authorization"].split(" ", 1)[1]
    async with restored.http_client(token=token) as other:  # tokens survive too
        assert await get_record(other, "Contacts", contact) == await get_record(api, "Contacts", contact)
        assert (await get_record(other, "Accounts", account))["Custom_c"] == {"x": [1]}
        linked = await other.get(f"/bigin/v2/Contacts/{contact}/Products", params={"fields": "Product_Name"})
        assert [r["id"] for r in linked.json()["data"]] == [product]
        assert (await other.delete(f"/bigin/v2/Contacts/{gone}")).json()["data"][0]["code"] == "INVALID_DATA"
        pipelines = (await other.get("/bigin/v2/settings/pipelines")).json()["pipelines"]
        assert pipeline in {p["id"] for p in pipelines}
        [new] = await insert(other, "Contacts", {"Last_Name": "After"})
        assert new > gone  # ids keep growing after a restore
        tags = (await other.get("/bigin/v2/settings/tags", params={"module": "Contacts"})).json()["tags"]
        assert [t["name"] for t in tags] == ["VIP"]
    with pytest.raises(ValueError):
        restored.import_state({"version": 99})


async def test_seed_data(emulator: BiginEmulator) -> None:
    created = emulator.seed_data(contacts=30, companies=5, deals=12)
    assert {k: len(v) for k, v in created.items()} == {"Accounts": 5, "Contacts": 30, "Pipelines": 12}
    contacts = emulator.store.table("Contacts")
    assert all(isinstance(r["Account_Name"], dict) for r in contacts)
    deals = emulator.store.table("Pipelines")
    default_id = emulator.ctx.pipelines.default().id
    assert all(r["Layout"]["id"] == default_id for r in deals)
    again = BiginEmulator(seed_records=7)
    assert len(again.store.table("Contacts")) == 7


def test_importing_the_package_loads_neither_uvicorn_nor_starlette() -> None:
    code = (
        "import sys, bigin_emulator, bigin_emulator.ops.criteria;"
        "assert 'uvicorn' not in sys.modules and 'starlette' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_building_an_emulator_does_not_load_uvicorn() -> None:
    code = (
        "import sys; from bigin_emulator import BiginEmulator; BiginEmulator(); "
        "assert 'uvicorn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_sdk_client_in_process(emulator: BiginEmulator) -> None:
    async with emulator.client() as client:
        await client.request("POST", "/Contacts", json={"data": [{"Last_Name": "Via SDK"}]})
        body = await client.request("GET", "/Contacts", params={"fields": "Last_Name"})
        assert [r["Last_Name"] for r in body["data"]] == ["Via SDK"]
        assert await client.request("GET", "/Contacts/5545000000009999999") is None
    assert emulator.counters.refreshes == 1


async def test_serve_over_loopback(emulator: BiginEmulator, anyio_backend: str) -> None:
    if anyio_backend != "asyncio":
        pytest.skip("uvicorn runs on asyncio only; trio users use the in-process transport")
    async with emulator.serve(port=0) as url:
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=url) as raw:
            token = (
                await raw.post(
                    "/oauth/v2/token",
                    data={
                        "grant_type": "refresh_token",
                        "client_id": emulator.client_id,
                        "client_secret": emulator.client_secret,
                        "refresh_token": emulator.refresh_token,
                    },
                )
            ).json()
            assert token["api_domain"] == url
            response = await raw.get(
                "/bigin/v2/org", headers={"Authorization": f"Zoho-oauthtoken {token['access_token']}"}
            )
            assert (
                response.status_code == 200
                and response.headers["content-type"] == "application/json;charset=UTF-8"
            )


async def test_write_listeners_hear_every_write_call(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    heard: list[tuple[str, str, list[object], list[str]]] = []
    emulator.ctx.write_listeners.append(
        lambda module, operation, items, entries: heard.append(
            (module, operation, list(items), [e["status"] for e in entries])
        )
    )
    [contact] = await insert(api, "Contacts", {"Last_Name": "A"})
    await api.put(f"/bigin/v2/Contacts/{contact}", json={"data": [{"Phone": "1"}]})
    await api.post("/bigin/v2/Contacts/upsert", json={"data": [{"Last_Name": "B", "Email": "b@example.com"}]})
    await api.post("/bigin/v2/Contacts/actions/add_tags", params={"ids": contact, "tag_names": "T"})
    await api.delete(f"/bigin/v2/Contacts/{contact}")
    emulator.insert_records("Accounts", [{"Account_Name": "Direct"}])
    assert [(m, op, statuses) for m, op, _, statuses in heard] == [
        ("Contacts", "insert", ["success"]),
        ("Contacts", "update", ["success"]),
        ("Contacts", "upsert", ["success"]),
        ("Contacts", "update", ["success"]),
        ("Contacts", "delete", ["success"]),
        ("Accounts", "insert", ["success"]),
    ]
    assert heard[4][2] == [contact]
