"""``POST /users``, ``PUT|DELETE /users/{id}`` beside the GETs, over plain HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bigin_emulator import BiginEmulator
from bigin_emulator.state.org_data import ADMIN_PROFILE, CEO_ROLE, current_user
from tests.helpers.emulator_api import get_record, insert
from tests.helpers.fixtures import load_fixture

USERS = "/bigin/v2/users"
PATRICIA = {"first_name": "Patricia", "last_name": "Boyle", "email": "patricia.boyle@example.com"}


async def _add(api: httpx.AsyncClient, **fields: Any) -> str:
    response = await api.post(USERS, json={"users": [{**PATRICIA, **fields}]})
    assert response.status_code == 201, response.text
    user_id: str = response.json()["users"][0]["details"]["id"]
    return user_id


async def _user(api: httpx.AsyncClient, user_id: str) -> dict[str, Any]:
    response = await api.get(f"{USERS}/{user_id}")
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["users"][0]
    return user


async def test_add_a_user_and_read_it_back(api: httpx.AsyncClient) -> None:
    response = await api.post(USERS, json={"users": [PATRICIA]})
    assert response.status_code == 201
    [entry] = response.json()["users"]
    assert entry["code"] == "SUCCESS" and entry["message"] == "User added" and entry["status"] == "success"
    user = await _user(api, entry["details"]["id"])
    assert set(user) == set(load_fixture("list_users.json")["users"][0])
    assert user["full_name"] == "Patricia Boyle" and user["email"] == PATRICIA["email"]
    assert user["status"] == "active" and user["profile"]["name"] == "Standard"
    assert user["role"]["name"] == "Level 1"
    assert user["created_time"] == "2026-01-01T00:00:00+00:00"
    listed = (await api.get(USERS, params={"type": "AllUsers"})).json()["users"]
    assert [u["id"] for u in listed][-1] == user["id"] and len(listed) == 4
    second = (await api.get(USERS, params={"per_page": "3", "page": "2"})).json()
    assert [u["id"] for u in second["users"]] == [user["id"]]
    assert second["info"] == {"per_page": 3, "count": 1, "page": 2, "more_records": False}
    assert (await api.get(USERS, params={"per_page": "3", "page": "3"})).status_code == 204
    assert (await api.get(USERS, params={"type": "DeletedUsers"})).status_code == 204


async def test_the_body_key_user_info_of_bigin_s_page_is_accepted(api: httpx.AsyncClient) -> None:
    response = await api.post(USERS, json={"user_info": [{"last_name": "Solo", "email": "solo@example.com"}]})
    assert response.status_code == 201
    assert (await _user(api, response.json()["users"][0]["details"]["id"]))["full_name"] == "Solo"


async def test_required_fields_and_duplicate_emails(api: httpx.AsyncClient) -> None:
    async def entry(user: Any) -> tuple[int, str, dict[str, Any]]:
        response = await api.post(USERS, json={"users": [user]})
        body = response.json()["users"][0]
        return response.status_code, body["code"], body["details"]

    assert await entry({"email": "x@example.com"}) == (400, "MANDATORY_NOT_FOUND", {"api_name": "last_name"})
    assert await entry({"last_name": "X"}) == (400, "MANDATORY_NOT_FOUND", {"api_name": "email"})
    assert await entry({"last_name": "X", "email": "not-an-email"}) == (
        400,
        "INVALID_DATA",
        {"api_name": "email", "expected_data_type": "email"},
    )
    admin = current_user()
    assert await entry({"last_name": "X", "email": admin.email.upper()}) == (
        400,
        "DUPLICATE_DATA",
        {"api_name": "email", "id": admin.id},
    )
    assert (await entry({"last_name": "X", "email": "r@example.com", "role": "1"}))[1] == "INVALID_DATA"
    assert (await entry({"last_name": "X", "email": "p@example.com", "profile": {"id": "1"}}))[
        1
    ] == "INVALID_DATA"
    assert (await entry({"last_name": "X", "email": "s@example.com", "status": "asleep"}))[
        1
    ] == "INVALID_DATA"
    assert (await entry({"last_name": 7, "email": "n@example.com"}))[1] == "INVALID_DATA"
    assert await entry({"last_name": "X", "email": "w@example.com", "zuid": "1"}) == (
        400,
        "INVALID_DATA",
        {"api_name": "zuid"},
    )
    assert (await entry("not an object"))[1] == "INVALID_DATA"
    assert len((await api.get(USERS)).json()["users"]) == 3  # nothing was added


async def test_request_level_refusals(api: httpx.AsyncClient) -> None:
    two = await api.post(USERS, json={"users": [PATRICIA, {**PATRICIA, "email": "other@example.com"}]})
    assert two.status_code == 400 and two.json()["code"] == "LIMIT_EXCEEDED"
    missing = await api.post(USERS, json={"data": [PATRICIA]})
    assert missing.status_code == 400 and missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    empty = await api.post(USERS, json={"users": []})
    assert empty.status_code == 400 and empty.json()["code"] == "INVALID_DATA"
    not_json = await api.post(USERS, content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["code"] == "INVALID_DATA"
    user_id = await _add(api)
    two_updates = await api.put(f"{USERS}/{user_id}", json={"users": [{}, {}]})
    assert two_updates.status_code == 400 and two_updates.json()["code"] == "LIMIT_EXCEEDED"
    assert (await api.patch(f"{USERS}/{user_id}", json={})).json()["code"] == "INVALID_REQUEST_METHOD"


async def test_update_a_user(api: httpx.AsyncClient) -> None:
    user_id = await _add(api)
    response = await api.put(
        f"{USERS}/{user_id}",
        json={"users": [{"id": user_id, "first_name": "Pat", "phone": "555-0100", "role": CEO_ROLE,
                         "profile": {"id": ADMIN_PROFILE}}]},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json() == {
        "users": [
            {"code": "SUCCESS", "details": {"id": user_id}, "message": "User updated", "status": "success"}
        ]
    }
    user = await _user(api, user_id)
    assert user["full_name"] == "Pat Boyle" and user["phone"] == "555-0100"
    assert user["role"] == {"name": "CEO", "id": CEO_ROLE} and user["profile"]["name"] == "Administrator"
    admins = (await api.get(USERS, params={"type": "AdminUsers"})).json()["users"]
    assert user_id in {u["id"] for u in admins}
    await api.put(f"{USERS}/{user_id}", json={"users": [{"status": "disabled", "city": None}]})
    user = await _user(api, user_id)
    assert user["status"] == "disabled" and user["phone"] == "555-0100" and user["city"] is None
    deactivated = (await api.get(USERS, params={"type": "DeactiveUsers"})).json()["users"]
    assert user_id in {u["id"] for u in deactivated}


async def test_update_refusals_are_entries(api: httpx.AsyncClient) -> None:
    user_id = await _add(api)
    admin = current_user()

    async def entry(target: str, user: dict[str, Any]) -> tuple[int, str]:
        response = await api.put(f"{USERS}/{target}", json={"users": [user]})
        return response.status_code, response.json()["users"][0]["code"]

    assert await entry(user_id, {"email": admin.email}) == (400, "DUPLICATE_DATA")
    assert await entry(user_id, {"id": admin.id, "first_name": "Other"}) == (400, "INVALID_DATA")
    assert await entry(user_id, {"email": PATRICIA["email"]}) == (200, "SUCCESS")  # its own email
    assert await entry("5545000000009999999", {"first_name": "Nobody"}) == (400, "INVALID_DATA")
    assert await entry(admin.id, {"status": "disabled"}) == (400, "INVALID_DATA")
    assert await entry(admin.id, {"profile": "5545000000000000031"}) == (400, "INVALID_DATA")
    assert await entry(admin.id, {"phone": "555-0199"}) == (200, "SUCCESS")
    assert (await _user(api, admin.id))["phone"] == "555-0199"


async def test_delete_a_user(api: httpx.AsyncClient) -> None:
    user_id = await _add(api)
    response = await api.delete(f"{USERS}/{user_id}")
    assert response.status_code == 200
    assert response.json()["users"] == [
        {"code": "SUCCESS", "details": {"id": user_id}, "message": "User deleted", "status": "success"}
    ]
    assert (await api.get(f"{USERS}/{user_id}")).status_code == 204
    assert user_id not in {u["id"] for u in (await api.get(USERS)).json()["users"]}
    deleted = (await api.get(USERS, params={"type": "DeletedUsers"})).json()["users"]
    assert [u["id"] for u in deleted] == [user_id]
    again = await api.delete(f"{USERS}/{user_id}")
    assert again.status_code == 400 and again.json()["users"][0]["code"] == "INVALID_DATA"
    admin = await api.delete(f"{USERS}/{current_user().id}")
    assert admin.status_code == 400 and admin.json()["users"][0]["code"] == "INVALID_DATA"
    assert (await api.post(USERS, json={"users": [PATRICIA]})).status_code == 201  # the email is free again


async def test_an_added_user_can_own_records_and_a_deleted_one_cannot(api: httpx.AsyncClient) -> None:
    user_id = await _add(api)
    (contact,) = await insert(api, "Contacts", {"Last_Name": "Owned", "Owner": {"id": user_id}})
    assert (await get_record(api, "Contacts", contact))["Owner"]["name"] == "Patricia Boyle"
    await api.delete(f"{USERS}/{user_id}")
    refused = await api.post(
        "/bigin/v2/Contacts", json={"data": [{"Last_Name": "X", "Owner": {"id": user_id}}]}
    )
    assert refused.status_code == 400
    assert refused.json()["data"][0]["details"]["api_name"] == "Owner"


async def test_users_survive_a_state_round_trip(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    kept = await _add(api, phone="555-0100")
    gone = await _add(api, email="gone@example.com")
    await api.delete(f"{USERS}/{gone}")
    restored = BiginEmulator()
    restored.import_state(json.loads(json.dumps(emulator.export_state())))  # as the CLI saves it
    user = restored.ctx.users.get(kept)
    assert user is not None and user.extra == {"phone": "555-0100"}
    assert list(restored.ctx.users.deleted) == [gone]
    older = {k: v for k, v in emulator.export_state().items() if k != "users"}
    fresh = BiginEmulator()
    fresh.import_state(older)
    assert [u.id for u in fresh.ctx.users.users.values()] == [
        u.id for u in restored.ctx.users.users.values()
    ][:3]
