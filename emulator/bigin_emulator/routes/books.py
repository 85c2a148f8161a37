"""Zoho Books v3 contacts at ``/books/v3/contacts``, on the emulator's own OAuth tokens.

One token serves Bigin and Books, as one refresh token consented for both products' scopes does
on Zoho. Books answers in its own dialect: ``{"code": 0, "message": ..., "contact"|"contacts"}``
on success; ``{"code": <non-zero>, "message"}`` on failure (57 with HTTP 401 for a refused token,
1002 for an unknown contact, 3062 for a duplicate name). With the ``check_scopes`` switch a valid
token without a ``ZohoBooks.`` scope gets the same 57 with HTTP 401, as Books answers a token
consented for Bigin only. ``organization_id`` is required on every call. Bodies are JSON, or
the older form field ``JSONString`` that Zoho's own scripted integrations send.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.routes.http_input import access_token
from bigin_emulator.routes.responses import json_response
from bigin_emulator.state.books import BooksOrg, BooksRefusal
from bigin_emulator.state.context import EmulatorContext

__all__ = ["books_routes"]

BASE = "/books/v3"
_BOOKS_SCOPE_PREFIX = "ZohoBooks."


def _refused(refusal: BooksRefusal) -> Response:
    return json_response(refusal.body(), refusal.status)


def _check_access(ctx: EmulatorContext, books: BooksOrg, request: Request) -> None:
    token = access_token(request.headers)
    if (
        not token
        or ctx.oauth.check(token) != "valid"
        or (
            ctx.config.realism.check_scopes
            and not any(scope.startswith(_BOOKS_SCOPE_PREFIX) for scope in ctx.oauth.scopes_of(token))
        )
    ):
        raise BooksRefusal(401, 57, "You are not authorized to perform this operation")
    organization_id = request.query_params.get("organization_id")
    if not organization_id:
        raise BooksRefusal(400, 2, "Invalid value passed for organization_id")
    if organization_id != books.organization_id:
        raise BooksRefusal(
            400, 6041, f"This user is not associated with the CompanyID/CompanyName:{organization_id}."
        )


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    text = raw.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
        text = dict(parse_qsl(text)).get("JSONString", "")
    if not text.strip():
        text = request.query_params.get("JSONString", "")
    try:
        body = json.loads(text)
    except ValueError:
        raise BooksRefusal(400, 4, "Invalid value passed for JSONString") from None
    if not isinstance(body, dict):
        raise BooksRefusal(400, 4, "Invalid value passed for JSONString")
    return body


def _page_numbers(request: Request) -> tuple[int, int]:
    try:
        page = int(request.query_params.get("page", "1"))
        per_page = int(request.query_params.get("per_page", "200"))
    except ValueError:
        raise BooksRefusal(400, 2, "Invalid value passed for page") from None
    if page < 1 or not 1 <= per_page <= 200:
        raise BooksRefusal(400, 2, "Invalid value passed for per_page")
    return page, per_page


def books_routes(ctx: EmulatorContext, books: BooksOrg) -> list[Route]:
    async def list_contacts(request: Request) -> Response:
        try:
            _check_access(ctx, books, request)
            page, per_page = _page_numbers(request)
            query = request.query_params
            found = books.search(
                email=query.get("email"),
                search_text=query.get("search_text"),
                contact_name=query.get("contact_name"),
            )
        except BooksRefusal as refusal:
            return _refused(refusal)
        chunk = found[(page - 1) * per_page : page * per_page]
        context = {
            "page": page,
            "per_page": per_page,
            "has_more_page": page * per_page < len(found),
            "report_name": "Contacts",
            "applied_filter": "Status.All",
            "custom_fields": [],
            "sort_column": "contact_name",
            "sort_order": "A",
        }
        contacts = [books.summary(c) for c in chunk]
        return json_response({"code": 0, "message": "success", "contacts": contacts, "page_context": context})

    async def create_contact(request: Request) -> Response:
        try:
            _check_access(ctx, books, request)
            contact = books.create(await _body(request))
        except BooksRefusal as refusal:
            return _refused(refusal)
        body = {"code": 0, "message": "The contact has been added.", "contact": contact}
        return json_response(body, 201, {"location": f"/api/v3/contacts/{contact['contact_id']}"})

    async def get_contact(request: Request) -> Response:
        try:
            _check_access(ctx, books, request)
            contact = books.get(request.path_params["contact_id"])
        except BooksRefusal as refusal:
            return _refused(refusal)
        return json_response({"code": 0, "message": "success", "contact": contact})

    async def update_contact(request: Request) -> Response:
        try:
            _check_access(ctx, books, request)
            contact = books.update(request.path_params["contact_id"], await _body(request))
        except BooksRefusal as refusal:
            return _refused(refusal)
        return json_response(
            {"code": 0, "message": "Contact information has been saved.", "contact": contact}
        )

    return [
        Route(BASE + "/contacts", list_contacts, methods=["GET"]),
        Route(BASE + "/contacts", create_contact, methods=["POST"]),
        Route(BASE + "/contacts/{contact_id}", get_contact, methods=["GET"]),
        Route(BASE + "/contacts/{contact_id}", update_contact, methods=["PUT"]),
    ]
