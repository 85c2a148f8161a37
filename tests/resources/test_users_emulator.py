"""``client.users`` create, get, update, delete against the emulator: a round trip, and refusals.

The emulator keeps its users in its state like Zoho: an added user is listed, read by id and
changed; a deleted one is listed under ``DeletedUsers``. Input the SDK refuses never reaches it.
"""

from __future__ import annotations

import pytest

from bigin_async.errors import DuplicateRecordError, InvalidRequestError, NotFoundError, ValidationError
from bigin_async.models import User
from bigin_emulator import BiginEmulator
from tests.helpers.resources import wired_client


async def test_a_user_added_is_read_changed_and_deleted() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        admin = (await client.users.list(type="AdminUsers").to_list(limit=10))[0]
        assert admin.role is not None and admin.profile is not None
        added = await client.users.create(
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.com",
                "role": admin.role,
                "profile": admin.profile.id,
            }
        )
        assert added.ok and added.id is not None and added.action == "insert"
        user = await client.users.get(added.id)
        read = (user.first_name, user.last_name, user.email)
        listed = {u.id for u in await client.users.list().to_list(limit=100)}
        user.last_name = "King"
        changed = await client.users.update(added.id, user)
        again = await client.users.get(added.id)
        deleted = await client.users.delete(added.id)
        gone = {u.id for u in await client.users.list(type="DeletedUsers").to_list(limit=100)}
    assert type(user) is User and read == ("Ada", "Lovelace", "ada@example.com")
    assert user.role is not None and user.role.id == admin.role.id
    assert added.id in listed
    assert changed.ok and changed.id == added.id and again.last_name == "King"
    assert deleted.ok and deleted.id == added.id and added.id in gone
    assert wire.to("POST", "/users")[0].body == {
        "users": [
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.com",
                "role": admin.role.id,
                "profile": admin.profile.id,
            }
        ]
    }
    assert wire.to("PUT", f"/users/{added.id}")[0].body == {"users": [{"last_name": "King"}]}


async def test_the_emulators_refusals_are_typed_errors() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, _):
        with pytest.raises(DuplicateRecordError):
            await client.users.create({"last_name": "Again", "email": "admin@example.com"})
        with pytest.raises(InvalidRequestError) as role:
            await client.users.create(
                {"last_name": "N", "email": "n@example.com", "role": "5545000000000000999"}
            )
        with pytest.raises(InvalidRequestError):
            await client.users.update("5545000000000000999", {"first_name": "Nobody"})
        with pytest.raises(NotFoundError):
            await client.users.get("5545000000000000999")
    assert role.value.code == "INVALID_DATA"


async def test_input_refused_by_the_sdk_never_reaches_the_emulator() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        for bad in (
            {"last_name": "Lovelace"},
            {"last_name": "Lovelace", "email": "not-an-address"},
            {"last_name": "", "email": "ada@example.com"},
            {"last_name": "Lovelace", "email": "ada@example.com", "role": "CEO"},
        ):
            with pytest.raises(ValidationError):
                await client.users.create(bad)
        with pytest.raises(ValidationError):
            await client.users.update("5545000000000000123", {})
        with pytest.raises(ValidationError):
            await client.users.delete("../org")
    assert wire.sent == []
