"""``client.users`` get/create/update/delete against a scripted Bigin: wire shapes, checks, faults.

What goes over the wire (``{"users": [one]}`` both ways, role and profile as ids), what is refused
before anything is sent, how Zoho's refusals under ``users`` become typed errors, and what a lost
answer does to each write (an add is never sent twice; a delete retried finds the user gone).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bigin_async.errors import (
    AmbiguousWriteError,
    DuplicateRecordError,
    InvalidRequestError,
    NotFoundError,
    ValidationError,
)
from bigin_async.models import Lookup, User, parse_page
from tests.helpers.resources import Scripted, answer, scripted_client

USER_ID = "5545000000000000123"
ROLE_ID = "5545000000000000040"
PROFILE_ID = "5545000000000000031"


def added(user_id: str = USER_ID) -> dict[str, Any]:
    return {
        "users": [
            {"code": "SUCCESS", "details": {"id": user_id}, "message": "User added", "status": "success"}
        ]
    }


def done(message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"users": [{"code": "SUCCESS", "details": details or {}, "message": message, "status": "success"}]}


def refused(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"users": [{"code": code, "details": details or {}, "message": message, "status": "error"}]}


PRIMARY = refused("INVALID_REQUEST", "Primary contact")
GONE = refused("ID_ALREADY_DELETED", "User is already deleted")


def sent_json(script: Scripted) -> list[Any]:
    return [json.loads(r.content) if r.content else None for r in script.requests]


async def test_create_sends_one_user_under_users_with_role_and_profile_as_ids() -> None:
    script = Scripted(answer(201, added()))
    new = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "role": {"id": ROLE_ID, "name": "Manager"},
        "profile": Lookup(id=PROFILE_ID, name="Standard"),
    }
    async with scripted_client(script) as client:
        result = await client.users.create(new)
    assert result.ok and result.id == USER_ID and result.action == "insert"
    (request,) = script.requests
    assert (request.method, request.url.path) == ("POST", "/bigin/v2/users")
    assert sent_json(script) == [
        {
            "users": [
                {
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "email": "ada@example.com",
                    "role": ROLE_ID,
                    "profile": PROFILE_ID,
                }
            ]
        }
    ]


async def test_create_takes_a_user_model_and_int_ids() -> None:
    script = Scripted(answer(201, added()))
    async with scripted_client(script) as client:
        await client.users.create(
            User(last_name="Hopper", email="grace@example.com", role={"id": int(ROLE_ID)})
        )
    assert sent_json(script) == [
        {"users": [{"last_name": "Hopper", "email": "grace@example.com", "role": ROLE_ID}]}
    ]


BAD_NEW_USERS: list[tuple[Any, str]] = [
    ({"email": "ada@example.com"}, "last_name"),
    ({"last_name": "Lovelace"}, "email"),
    ({}, "last_name and email"),
    ({"last_name": "   ", "email": "ada@example.com"}, "last_name must be"),
    ({"last_name": 7, "email": "ada@example.com"}, "last_name must be"),
    ({"last_name": "L", "email": "ada.example.com"}, "email must be"),
    ({"last_name": "L", "email": "ada@example"}, "email must be"),
    ({"last_name": "L", "email": "ada@@example.com"}, "email must be"),
    ({"last_name": "L", "email": "ada @example.com"}, "email must be"),
    ({"last_name": "L", "email": "ada@example.com\n"}, "email must be"),
    ({"last_name": "L", "email": " ada@example.com"}, "email must be"),
    ({"last_name": "L", "email": "ada@example..com"}, "email must be"),
    ({"last_name": "L", "email": ["ada@example.com"]}, "email must be"),
    ({"last_name": "L", "email": "a@example.com", "role": "Manager"}, "role"),
    ({"last_name": "L", "email": "a@example.com", "role": "../settings"}, "role"),
    ({"last_name": "L", "email": "a@example.com", "profile": {"name": "Standard"}}, "profile"),
    ({"last_name": "L", "email": "a@example.com", "profile": True}, "profile"),
    ({"last_name": "L", "email": "a@example.com", "id": USER_ID}, "no id yet"),
    ({"last_name": "L", "email": "a@example.com", "zuid": "900"}, "Zoho sets itself"),
    ({"last_name": "L", "email": "a@example.com", "Modified_Time": "x"}, "Zoho sets itself"),
    ({"last_name": "L", "email": "a@example.com", "bad key": 1}, "not a field API name"),
    ({"last_name": "L", "email": "a@example.com", "x": float("nan")}, "NaN"),
    ("ada@example.com", "a User or a dict"),
    (None, "a User or a dict"),
]


@pytest.mark.parametrize(("user", "says"), BAD_NEW_USERS, ids=[repr(u)[:50] for u, _ in BAD_NEW_USERS])
async def test_a_bad_new_user_is_refused_before_anything_is_sent(user: Any, says: str) -> None:
    script = Scripted(answer(201, added()))
    async with scripted_client(script) as client:
        with pytest.raises(ValidationError, match=says):
            await client.users.create(user)
    assert script.requests == []


@pytest.mark.parametrize(
    "lost",
    [
        answer(500, {"code": "INTERNAL_ERROR", "status": "error", "message": "oops"}),
        httpx.ReadTimeout("the answer never came"),
        answer(201, raw=b'{"users": [{"code": "SUC'),
        answer(201, raw=b""),
    ],
    ids=["5xx", "timeout", "cut-short", "empty"],
)
async def test_an_add_whose_answer_is_lost_is_never_sent_again(lost: Any) -> None:
    script = Scripted(lost, answer(201, added()))
    async with scripted_client(script) as client:
        with pytest.raises(AmbiguousWriteError) as error:
            await client.users.create({"last_name": "Lovelace", "email": "ada@example.com"})
    assert len(script.requests) == 1  # a second POST would invite the user twice
    assert error.value.method == "POST"


async def test_a_refusal_under_users_keeps_zohos_code_and_type() -> None:
    duplicate = refused("DUPLICATE_DATA", "User already exists", {"email": "ada@example.com", "id": USER_ID})
    seats = refused("LICENSE_LIMIT_EXCEEDED", "no seat")
    script = Scripted(answer(400, duplicate), answer(400, seats), answer(400, raw=b"<html>oops</html>"))
    async with scripted_client(script) as client:
        with pytest.raises(DuplicateRecordError) as duplicated:
            await client.users.create({"last_name": "Lovelace", "email": "ada@example.com"})
        with pytest.raises(InvalidRequestError) as no_seat:
            await client.users.create({"last_name": "Lovelace", "email": "ada@example.com"})
        with pytest.raises(InvalidRequestError) as page:
            await client.users.create({"last_name": "Lovelace", "email": "ada@example.com"})
    assert duplicated.value.code == "DUPLICATE_DATA" and duplicated.value.details["id"] == USER_ID
    assert duplicated.value.status_code == 400
    assert no_seat.value.code == "LICENSE_LIMIT_EXCEEDED" and no_seat.value.message == "no seat"
    assert page.value.code is None and "HTML" in page.value.message


async def test_a_2xx_whose_entry_failed_raises_its_typed_error() -> None:
    script = Scripted(answer(200, refused("INVALID_DATA", "bad", {"api_name": "email"})))
    async with scripted_client(script) as client:
        with pytest.raises(InvalidRequestError) as error:
            await client.users.update(USER_ID, {"first_name": "Ada"})
    assert error.value.code == "INVALID_DATA" and error.value.details == {"api_name": "email"}


async def test_update_sends_only_the_changes_to_the_users_path() -> None:
    script = Scripted(answer(200, done("User updated", {"id": USER_ID})), answer(200, done("User updated")))
    async with scripted_client(script) as client:
        first = await client.users.update(USER_ID, {"role": ROLE_ID, "country_locale": "en_US"})
        second = await client.users.update(USER_ID, {"id": USER_ID, "email": "new@example.com"})
    assert first.ok and first.id == USER_ID and first.action == "update"
    assert second.ok and second.id == USER_ID  # details had no id: the path's
    assert [(r.method, r.url.path) for r in script.requests] == [("PUT", f"/bigin/v2/users/{USER_ID}")] * 2
    assert sent_json(script) == [
        {"users": [{"role": ROLE_ID, "country_locale": "en_US"}]},
        {"users": [{"email": "new@example.com"}]},
    ]


async def test_update_of_a_user_read_from_bigin_sends_what_was_assigned() -> None:
    body = json.dumps(
        {"users": [{"id": USER_ID, "last_name": "Lovelace", "email": "ada@example.com", "zuid": "900"}]}
    )
    (user,) = parse_page(User, body, "users").data
    user.first_name = "Ada"
    script = Scripted(answer(200, done("User updated", {"id": USER_ID})))
    async with scripted_client(script) as client:
        await client.users.update(USER_ID, user)
    assert sent_json(script) == [{"users": [{"first_name": "Ada"}]}]


BAD_CHANGES: list[tuple[Any, Any, str]] = [
    (USER_ID, {}, "no changes"),
    (USER_ID, {"id": USER_ID}, "no changes"),
    (USER_ID, {"id": "5545000000000000999", "first_name": "A"}, "not '5545000000000000123'"),
    (USER_ID, {"email": "nope"}, "email must be"),
    (USER_ID, {"email": None}, "email must be"),
    (USER_ID, {"last_name": ""}, "last_name must be"),
    (USER_ID, {"last_name": None}, "last_name must be"),
    (USER_ID, {"role": "CEO"}, "role"),
    (USER_ID, {"full_name": "Ada L"}, "Zoho sets itself"),
    (USER_ID, ["first_name"], "a User or a dict"),
    ("../settings", {"first_name": "A"}, "user id"),
    ("", {"first_name": "A"}, "user id"),
    (None, {"first_name": "A"}, "user id"),
]


@pytest.mark.parametrize(
    ("user_id", "changes", "says"), BAD_CHANGES, ids=[repr(c)[:40] for _, c, _ in BAD_CHANGES]
)
async def test_bad_changes_are_refused_before_anything_is_sent(user_id: Any, changes: Any, says: str) -> None:
    script = Scripted(answer(200, done("User updated")))
    async with scripted_client(script) as client:
        with pytest.raises(ValidationError, match=says):
            await client.users.update(user_id, changes)
    assert script.requests == []


async def test_an_update_whose_answer_was_lost_is_sent_again() -> None:
    script = Scripted(httpx.ReadTimeout("lost"), answer(200, done("User updated", {"id": USER_ID})))
    async with scripted_client(script) as client:
        result = await client.users.update(USER_ID, {"first_name": "Ada"})
    assert result.ok and len(script.requests) == 2  # a PUT of the same fields changes nothing twice


async def test_get_reads_one_user_and_an_empty_answer_is_not_found() -> None:
    one = {"users": [{"id": USER_ID, "email": "ada@example.com", "role": {"name": "CEO", "id": ROLE_ID}}]}
    script = Scripted(answer(200, one), answer(204))
    async with scripted_client(script) as client:
        user = await client.users.get(USER_ID)
        with pytest.raises(NotFoundError):
            await client.users.get("5545000000000000999")
        with pytest.raises(ValidationError):
            await client.users.get("me")
    assert type(user) is User and user.id == USER_ID and user.role is not None and user.role.id == ROLE_ID
    assert [r.url.path for r in script.requests] == [
        f"/bigin/v2/users/{USER_ID}",
        "/bigin/v2/users/5545000000000000999",
    ]


async def test_delete_and_its_refusals() -> None:
    script = Scripted(answer(200, done("User deleted")), answer(204), answer(400, PRIMARY), answer(400, GONE))
    async with scripted_client(script) as client:
        deleted = await client.users.delete(USER_ID)
        empty = await client.users.delete(USER_ID)
        with pytest.raises(InvalidRequestError, match="Primary contact"):
            await client.users.delete(USER_ID)
        with pytest.raises(InvalidRequestError) as already:  # not retried: Zoho's answer stands
            await client.users.delete(USER_ID)
    assert deleted.ok and deleted.id == USER_ID and deleted.action == "delete"
    assert empty.ok and empty.id == USER_ID
    assert already.value.code == "ID_ALREADY_DELETED"
    assert [r.method for r in script.requests] == ["DELETE"] * 4


async def test_a_delete_retried_after_a_lost_answer_that_finds_the_user_gone_succeeded() -> None:
    script = Scripted(httpx.ReadTimeout("lost"), answer(400, GONE))
    async with scripted_client(script) as client:
        result = await client.users.delete(USER_ID)
    assert result.ok and result.id == USER_ID and result.code == "ID_ALREADY_DELETED"
    assert len(script.requests) == 2


async def test_a_delete_retried_after_a_lost_answer_still_raises_other_refusals() -> None:
    script = Scripted(httpx.ReadTimeout("lost"), answer(400, PRIMARY))
    async with scripted_client(script) as client:
        with pytest.raises(InvalidRequestError, match="Primary contact"):
            await client.users.delete(USER_ID)


async def test_a_write_answer_of_another_shape_is_malformed_not_a_result() -> None:
    script = Scripted(answer(200, {"users": []}), answer(200, {"users": [1]}), answer(200, [1, 2]))
    async with scripted_client(script, max_retries=0) as client:
        for _ in range(3):
            with pytest.raises(Exception) as error:
                await client.users.update(USER_ID, {"first_name": "Ada"})
            assert getattr(error.value, "code", None) == "MALFORMED_RESPONSE"


async def test_a_write_answer_under_data_is_read_too() -> None:
    script = Scripted(
        answer(200, {"data": [{"code": "SUCCESS", "details": {"id": USER_ID}, "status": "success"}]})
    )
    async with scripted_client(script) as client:
        result = await client.users.update(USER_ID, {"first_name": "Ada"})
    assert result.ok and result.id == USER_ID


INVALID_ID = refused("INVALID_DATA", "the id given seems to be invalid", {"id": USER_ID})


async def test_a_delete_retried_after_a_lost_answer_told_the_id_is_invalid_maybe_deleted_it() -> None:
    """Zoho answers alike for the user the lost attempt deleted and an id that never was one."""
    script = Scripted(httpx.ReadTimeout("lost"), answer(400, INVALID_ID))
    async with scripted_client(script) as client:
        result = await client.users.delete(USER_ID)
    assert result.ok and result.id == USER_ID and result.code == "MAYBE_ALREADY_DELETED"
    assert result.action == "delete" and result.details["maybe_never_existed"] is True


async def test_an_invalid_id_refused_without_a_lost_answer_or_about_another_id_still_raises() -> None:
    other = refused("INVALID_DATA", "the id given seems to be invalid", {"id": "5545000000000000999"})
    script = Scripted(answer(400, INVALID_ID), httpx.ReadTimeout("lost"), answer(400, other))
    async with scripted_client(script) as client:
        with pytest.raises(InvalidRequestError, match="seems to be invalid"):
            await client.users.delete(USER_ID)
        with pytest.raises(InvalidRequestError, match="seems to be invalid"):
            await client.users.delete(USER_ID)
    assert len(script.requests) == 3


async def test_an_added_user_accepted_without_an_id_is_ambiguous_not_sent_again() -> None:
    script = Scripted(answer(201, done("User added")))
    async with scripted_client(script) as client:
        with pytest.raises(AmbiguousWriteError):
            await client.users.create({"last_name": "Byron", "email": "ada@example.com"})
    assert len(script.requests) == 1
