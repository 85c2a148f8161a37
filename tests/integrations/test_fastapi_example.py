"""examples/fastapi_app.py driven in-process: its lifespan, its routes, and a dependency override."""

from __future__ import annotations

import httpx

from bigin_async import BiginClient
from bigin_async.integrations.fastapi import get_bigin
from bigin_emulator import BiginEmulator
from tests.helpers.examples import load_example


async def test_the_default_app_runs_on_a_seeded_emulator_and_closes_its_client() -> None:
    example = load_example("fastapi_app")
    app = example.create_app()
    async with app.router.lifespan_context(app):
        client: BiginClient = app.state.bigin
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app.test"
        ) as http:
            listed = await http.get("/contacts", params={"limit": 3})
            created = await http.post("/contacts", json={"Last_Name": "Doe", "Email": "john.doe@example.com"})
            again = await http.post("/contacts", json={"Last_Name": "Doe", "Email": "john.doe@example.com"})
            bad_email = await http.post("/contacts", json={"Last_Name": "Doe", "Email": "john.doe"})
            read = await http.get(f"/contacts/{created.json()['id']}")
            missing = await http.get("/contacts/1234567890123456789")
            bad_limit = await http.get("/contacts", params={"limit": 0})
    assert listed.status_code == 200 and len(listed.json()) == 3 and listed.json()[0]["id"]
    assert created.status_code == 201
    assert again.status_code == 409 and again.json()["id"] == created.json()["id"]
    assert again.json()["code"] == "DUPLICATE_DATA"
    assert bad_email.status_code == 422  # not a 500: Zoho's field details, as FastAPI's validation gives
    assert bad_email.json()["detail"][0]["loc"] == ["body", "Email"]
    assert bad_email.json()["detail"][0]["ctx"]["expected_data_type"] == "email"
    assert read.json()["Last_Name"] == "Doe"
    assert (missing.status_code, bad_limit.status_code) == (404, 422)
    assert missing.json()["code"] == "RECORD_NOT_FOUND"
    assert client.closed


async def test_the_example_routes_take_an_overridden_client() -> None:
    example = load_example("fastapi_app")
    app = example.create_app(factory=lambda: (_ for _ in ()).throw(AssertionError("lifespan must not run")))
    emulator = BiginEmulator()
    emulator.insert_records("Contacts", [{"Last_Name": "Lovelace", "Email": "ada@example.com"}])
    async with emulator.client() as test_client:
        app.dependency_overrides[get_bigin] = lambda: test_client
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app.test"
        ) as http:
            listed = await http.get("/contacts")
    assert [c["Last_Name"] for c in listed.json()] == ["Lovelace"]
