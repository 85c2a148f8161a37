"""Pages of a listing: ``page``/``per_page`` for the first 2,000 records, ``page_token`` past them.

A page token is opaque to clients but simple inside: base64 of the listing it belongs to, the sort,
the key of the last record served, the next page number and when it was issued. Because it holds
the last *key* rather than an offset, the next page is found by bisection in the cached sorted
view (O(log n) per page) and records inserted or deleted meanwhile neither repeat nor vanish.
Tokens expire ``page_token_ttl`` seconds after issue, as Zoho's do (``page_token_expiry``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bigin_emulator.ops.wire import ApiError
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.sorting import RecordKey, SortedView, restore_key

__all__ = ["MAX_PER_PAGE", "PAGE_LIMIT", "Cursor", "Page", "PageParams", "paginate", "parse_page_params"]

MAX_PER_PAGE = 200
PAGE_LIMIT = 2000


@dataclass(frozen=True)
class Cursor:
    """Where a token says the next page starts."""

    scope: str
    sort_by: str
    descending: bool
    last_key: RecordKey
    page: int
    issued_at: float


@dataclass(frozen=True)
class PageParams:
    """A list call's paging and sort parameters, checked against Zoho's bounds."""

    per_page: int
    page: int
    sort_by: str
    descending: bool
    cursor: Cursor | None


@dataclass(frozen=True)
class Page:
    """One page of ids and what its ``info`` tells: more records, the page number, the next token."""

    ids: list[str]
    more: bool
    number: int
    next_token: str | None
    token_expiry: str | None


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "INVALID_DATA", f"{name} must be a number", {"param": name}) from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, "INVALID_DATA", f"{name} must be {limit}", {"param": name})
    return value


def parse_page_params(
    query: Mapping[str, str],
    ctx: EmulatorContext,
    scope: str,
    *,
    allow_token: bool,
    sort_fields: frozenset[str] | None,
) -> PageParams:
    """Read ``page``, ``per_page``, ``page_token``, ``sort_by`` and ``sort_order``.

    ``sort_fields`` None means the endpoint does not sort (related lists: always id desc).
    """
    per_page = _int_param(query, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
    token = query.get("page_token")
    if token and allow_token:
        if query.get("page"):
            raise ApiError(
                400, "INVALID_REQUEST", "page and page_token cannot be sent together", {"param": "page_token"}
            )
        cursor = decode_token(token, ctx, scope)
        return PageParams(per_page, cursor.page, cursor.sort_by, cursor.descending, cursor)
    page = _int_param(query, "page", 1, 1, None)
    sort_by, descending = "id", True
    if sort_fields is not None:
        sort_by = query.get("sort_by") or "id"
        if sort_by not in sort_fields:
            raise ApiError(
                400, "INVALID_DATA", f"sort_by {sort_by!r} is not a sortable field", {"param": "sort_by"}
            )
        order = (query.get("sort_order") or "desc").lower()
        if order not in ("asc", "desc"):
            raise ApiError(400, "INVALID_DATA", "sort_order must be asc or desc", {"param": "sort_order"})
        descending = order == "desc"
    return PageParams(per_page, page, sort_by, descending, None)


def paginate(
    view: SortedView,
    params: PageParams,
    ctx: EmulatorContext,
    scope: str,
    key_of: Callable[[str], RecordKey],
    *,
    allow_token: bool,
) -> Page:
    """Slice one page out of ``view``; ``key_of(id)`` gives a record's sort key for the next token."""
    if params.cursor is not None:
        ids, more = view.page_after(params.cursor.last_key, params.per_page, params.descending)
    else:
        offset = (params.page - 1) * params.per_page
        if offset >= PAGE_LIMIT:
            raise ApiError(
                400,
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                f"page and per_page reach only the first {PAGE_LIMIT} records; "
                "use page_token to read further",
                {"limit": PAGE_LIMIT},
            )
        size = min(params.per_page, PAGE_LIMIT - offset)
        ids, more = view.page_at(offset, size, params.descending)
    token = expiry = None
    if more and ids and allow_token:
        issued = ctx.now()
        cursor = Cursor(scope, params.sort_by, params.descending, key_of(ids[-1]), params.page + 1, issued)
        token = encode_token(cursor)
        expiry = ctx.format_time(issued + ctx.config.page_token_ttl)
    return Page(ids, more, params.page, token, expiry)


def encode_token(cursor: Cursor) -> str:
    payload = [
        cursor.scope,
        cursor.sort_by,
        cursor.descending,
        cursor.last_key,
        cursor.page,
        cursor.issued_at,
    ]
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str, ctx: EmulatorContext, scope: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        scope_in, sort_by, descending, last_key, page, issued_at = json.loads(raw)
        cursor = Cursor(
            str(scope_in), str(sort_by), bool(descending), restore_key(last_key), int(page), float(issued_at)
        )
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ApiError(400, "INVALID_DATA", "the page_token is invalid", {"param": "page_token"}) from None
    if cursor.scope != scope:
        raise ApiError(
            400, "INVALID_DATA", "the page_token belongs to another listing", {"param": "page_token"}
        )
    if ctx.now() >= cursor.issued_at + ctx.config.page_token_ttl:
        raise ApiError(
            400,
            "INVALID_DATA",
            "the page_token has expired",
            {"param": "page_token", "reason": "TOKEN_EXPIRED"},
        )
    return cursor


def list_info(page: Page, params: PageParams) -> dict[str, Any]:
    """``info`` of ``GET /{Module}``: page-token keys and sort keys (``list_accounts.json``)."""
    return {
        "per_page": params.per_page,
        "next_page_token": page.next_token,
        "count": len(page.ids),
        "sort_by": params.sort_by,
        "page": page.number,
        "previous_page_token": None,
        "page_token_expiry": page.token_expiry,
        "sort_order": "desc" if params.descending else "asc",
        "more_records": page.more,
    }


def related_info(page: Page, params: PageParams) -> dict[str, Any]:
    """``info`` of a related list: page-token keys, no sort keys (``account_related_contacts.json``)."""
    return {
        "per_page": params.per_page,
        "next_page_token": page.next_token,
        "count": len(page.ids),
        "page": page.number,
        "previous_page_token": None,
        "page_token_expiry": page.token_expiry,
        "more_records": page.more,
    }


def search_info(page: Page, params: PageParams) -> dict[str, Any]:
    """``info`` of a search: sort keys, no page-token keys (``search_products_more_records.json``)."""
    return {
        "per_page": params.per_page,
        "count": len(page.ids),
        "sort_by": params.sort_by,
        "page": page.number,
        "sort_order": "desc" if params.descending else "asc",
        "more_records": page.more,
    }
