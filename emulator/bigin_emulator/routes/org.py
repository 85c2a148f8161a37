"""``/users`` (list by ``type``, get, add, update, delete) and ``/org``.

Listing is paged by number (``info`` without tokens or sort keys). Writes carry
``{"users": [...]}`` (Bigin's page also shows the key ``user_info``: accepted) and answer
``{"users": [{"code", "details": {"id"}, "message", "status"}]}``: 201 "User added", 200
"User updated" and "User deleted". One user a POST (Zoho's rule): more is a 400
``LIMIT_EXCEEDED``. ``last_name`` and ``email`` are required (``MANDATORY_NOT_FOUND``), an email
another user has is ``DUPLICATE_DATA``; Bigin's page also requires ``first_name``, ``role`` and
``profile``: the emulator defaults them (empty, "Level 1", "Standard") but checks any it is given.
A failed user is its own entry in ``users`` with status 400, as failed record writes are. An
unknown id is 204 on GET and an ``INVALID_DATA`` entry on PUT and DELETE; the admin every token
belongs to cannot be deleted or deactivated.

A deleted user is kept: listed only under ``type=DeletedUsers``, gone from every other listing
and from ``GET /users/{id}`` (204). Deleting them again answers as for an unknown id (the 400
``INVALID_DATA`` entry "the id given seems to be invalid", details ``{"id"}``), as Bigin answers
a deleted record's id. Zoho documents neither this nor ``ID_ALREADY_DELETED`` for users; of the
two, this is the answer a client retrying a delete whose answer was lost must read with care (it
cannot tell the user it deleted from an id that never was one).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.numbered_pages import numbered_page
from bigin_emulator.ops.paging import parse_page_params
from bigin_emulator.ops.record_input import RecordRejected
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.http_input import read_json
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.org_data import (
    ADMIN_PROFILE,
    PROFILES,
    ROLES,
    User,
    current_user,
    org_body,
    user_body,
)

__all__ = ["USER_TEXT_FIELDS", "org_routes"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# User fields a write may set as plain text (or null), shown back as written.
USER_TEXT_FIELDS = frozenset(
    {
        "phone", "mobile", "fax", "website", "street", "city", "state", "zip", "country", "alias",
        "dob", "signature", "language", "locale", "country_locale", "time_zone", "time_format",
        "date_format", "name_format", "sort_order_preference", "decimal_separator", "number_separator",
    }
)  # fmt: skip
_STATUSES = {"active": True, "disabled": False, "inactive": False}


def _user_items(body: Any) -> list[Any]:
    items = body.get("users", body.get("user_info")) if isinstance(body, dict) else None
    if items is None:
        raise ApiError(400, "REQUIRED_PARAM_MISSING", "the users array is missing", {"param": "users"})
    if not isinstance(items, list) or not items:
        raise ApiError(400, "INVALID_DATA", "users must be a non-empty array", {"param": "users"})
    return items


def _result(user_id: str, message: str) -> dict[str, Any]:
    return {"code": "SUCCESS", "details": {"id": user_id}, "message": message, "status": "success"}


def _text(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordRejected("INVALID_DATA", {"api_name": name, "expected_data_type": "text"})
    return value.strip()


def _lookup_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def user_changes(ctx: EmulatorContext, raw: Any, existing: User | None) -> dict[str, Any]:
    """The ``User`` fields a written user sets, checked; ``RecordRejected`` says why not."""
    if not isinstance(raw, dict):
        raise RecordRejected("INVALID_DATA", {"expected_data_type": "jsonobject"})
    if existing is not None and raw.get("id", existing.id) != existing.id:
        raise RecordRejected("INVALID_DATA", {"api_name": "id"}, "the id differs from the one in the URL")
    changes: dict[str, Any] = {}
    extra = dict(existing.extra) if existing is not None else {}
    for name in ("first_name", "last_name"):
        if name in raw:
            changes[name] = _text(raw, name) or ""
    if "email" in raw:
        email = _text(raw, "email") or ""
        if not _EMAIL.match(email):
            raise RecordRejected("INVALID_DATA", {"api_name": "email", "expected_data_type": "email"})
        clash = ctx.users.with_email(email, other_than=existing.id if existing else None)
        if clash is not None:
            raise RecordRejected("DUPLICATE_DATA", {"api_name": "email", "id": clash.id})
        changes["email"] = email
    if existing is None:
        for name in ("last_name", "email"):
            if not changes.get(name):
                raise RecordRejected("MANDATORY_NOT_FOUND", {"api_name": name})
    if "role" in raw:
        role_id = _lookup_id(raw["role"])
        if role_id not in ROLES:
            raise RecordRejected("INVALID_DATA", {"api_name": "role"}, "the role given seems to be invalid")
        changes["role_id"] = role_id
    if "profile" in raw:
        profile_id = _lookup_id(raw["profile"])
        if profile_id not in PROFILES:
            raise RecordRejected(
                "INVALID_DATA", {"api_name": "profile"}, "the profile given seems to be invalid"
            )
        changes["admin"] = profile_id == ADMIN_PROFILE
    if "status" in raw:
        if raw["status"] not in _STATUSES:
            raise RecordRejected("INVALID_DATA", {"api_name": "status"})
        changes["active"] = _STATUSES[raw["status"]]
    for name in raw:
        if name in USER_TEXT_FIELDS:
            extra[name] = _text(raw, name)
        elif name not in {"id", "first_name", "last_name", "email", "role", "profile", "status"}:
            raise RecordRejected("INVALID_DATA", {"api_name": name}, f"{name} cannot be written")
    if extra or (existing is not None and existing.extra):
        changes["extra"] = extra
    demoted = changes.get("active") is False or changes.get("admin") is False
    if existing is not None and existing.id == current_user().id and demoted:
        raise RecordRejected(
            "INVALID_DATA", {"id": existing.id}, "the current user must stay an active admin"
        )
    return changes


def _answer(entry: dict[str, Any], ok_status: int) -> Response:
    return json_response({"users": [entry]}, ok_status if entry["status"] == "success" else 400)


def org_routes(ctx: EmulatorContext) -> list[Route]:
    def created() -> str:
        return ctx.format_time(ctx.started_at)

    async def users(request: Request) -> Response:
        user_type = request.query_params.get("type") or "AllUsers"
        chosen = ctx.users.of_type(user_type)
        if chosen is None:
            raise ApiError(400, "INVALID_DATA", f"unknown user type {user_type!r}", {"param": "type"})
        params = parse_page_params(request.query_params, ctx, "users", allow_token=False, sort_fields=None)
        page, info = numbered_page(chosen, params)
        if not page:
            return no_content()
        return json_response({"users": [user_body(u, created()) for u in page], "info": info})

    async def one_user(request: Request) -> Response:
        user = ctx.users.get(request.path_params["user_id"])
        return json_response({"users": [user_body(user, created())]}) if user else no_content()

    async def add_user(request: Request) -> Response:
        items = _user_items(await read_json(request))
        if len(items) > 1:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                "only one user can be added per request",
                {"param": "users", "limit": 1},
            )
        try:
            changes = user_changes(ctx, items[0], None)
        except RecordRejected as rejected:
            return _answer(rejected.entry, 201)
        first, last, email = changes.pop("first_name", ""), changes.pop("last_name"), changes.pop("email")
        user = ctx.users.add(first, last, email, bool(changes.pop("admin", False)), **changes)
        return _answer(_result(user.id, "User added"), 201)

    async def update_user(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        items = _user_items(await read_json(request))
        if len(items) > 1:
            raise ApiError(
                400, "LIMIT_EXCEEDED", "updating one user by id takes exactly one user", {"param": "users"}
            )
        existing = ctx.users.get(user_id)
        try:
            if existing is None:
                raise RecordRejected("INVALID_DATA", {"id": user_id}, "the id given seems to be invalid")
            ctx.users.update(user_id, **user_changes(ctx, items[0], existing))
        except RecordRejected as rejected:
            return _answer(rejected.entry, 200)
        return _answer(_result(user_id, "User updated"), 200)

    async def delete_user(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        if ctx.users.get(user_id) is None:
            entry = RecordRejected("INVALID_DATA", {"id": user_id}, "the id given seems to be invalid").entry
        elif user_id == current_user().id:
            entry = RecordRejected(
                "INVALID_DATA", {"id": user_id}, "the current user cannot be deleted"
            ).entry
        else:
            ctx.users.delete(user_id)
            entry = _result(user_id, "User deleted")
        return _answer(entry, 200)

    async def org(request: Request) -> Response:
        return json_response({"org": [org_body(ctx.format_time(ctx.started_at + 14 * 86_400))]})

    one = "/bigin/v2/users/{user_id:record_id}"
    return [
        Route("/bigin/v2/users", users, methods=["GET"]),
        Route("/bigin/v2/users", add_user, methods=["POST"]),
        Route(one, one_user, methods=["GET"]),
        Route(one, update_user, methods=["PUT"]),
        Route(one, delete_user, methods=["DELETE"]),
        Route("/bigin/v2/org", org, methods=["GET"]),
    ]
