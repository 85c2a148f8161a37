"""``GET /{Module}/search`` with exactly one of ``criteria``, ``email``, ``phone`` or ``word``.

Search pages by ``page`` only and never offers a page token (``search_products_more_records.json``
has ``more_records: true`` and no token keys), so it reaches the first 2,000 matches at most;
``more_records`` still says when more exist, so a client can tell it hit the wall. Unlike Zoho,
the emulator's index does not lag writes, and ``equals`` is an exact, case-insensitive match
(see ``criteria_parser``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import convertors  # noqa: F401  (registers the path convertors used below)
from .context import EmulatorContext
from .criteria_parser import Condition, CriteriaError, CriteriaNode, Group, matches, parse_criteria
from .http_input import module_spec
from .metadata import ModuleSpec
from .paging import PAGE_LIMIT, Page, PageParams, parse_page_params, search_info
from .projection import Projector, parse_fields
from .routes_records import sortable_fields
from .sorting import record_key
from .store import Record, Table
from .wire import ApiError, json_response, no_content

__all__ = ["search_routes"]

BASE = "/bigin/v2"
_MODES = ("criteria", "email", "phone", "word")
_NON_DIGITS = re.compile(r"\D")

Predicate = Callable[[Record], bool]


def _resolve_aliases(node: CriteriaNode, spec: ModuleSpec, table: Table) -> CriteriaNode:
    """Check every criteria field exists and map the reference's aliases (``Related_To.id``)."""
    if isinstance(node, Group):
        return Group(node.operator, tuple(_resolve_aliases(child, spec, table) for child in node.children))
    head, dot, tail = node.field.partition(".")
    head = spec.aliases.get(head, head)
    if head != "id" and head not in spec.by_name and head not in table.custom_fields:
        raise ApiError(
            400, "INVALID_QUERY", f"the field {head!r} is not available for search", {"api_name": head}
        )
    return Condition(head + dot + tail, node.operator, node.values, node.value)


def _predicate(spec: ModuleSpec, table: Table, mode: str, value: str) -> Predicate:
    if mode == "criteria":
        try:
            node = _resolve_aliases(parse_criteria(value), spec, table)
        except CriteriaError as error:
            raise ApiError(
                400, "INVALID_QUERY", f"invalid criteria: {error}", {"param": "criteria"}
            ) from None
        return lambda record: matches(node, record)
    if mode == "email":
        wanted = value.strip().casefold()
        names = [f.api_name for f in spec.fields if f.data_type == "email"]
        return lambda record: any(
            isinstance(record.get(n), str) and record[n].casefold() == wanted for n in names
        )
    if mode == "phone":
        digits = _NON_DIGITS.sub("", value)
        if not digits:
            raise ApiError(400, "INVALID_DATA", "phone must contain digits", {"param": "phone"})
        names = [f.api_name for f in spec.fields if f.data_type == "phone"]
        return lambda record: any(
            isinstance(record.get(n), str) and _NON_DIGITS.sub("", record[n]) == digits for n in names
        )
    word = value.strip().casefold()
    if len(word) < 2:
        raise ApiError(400, "INVALID_DATA", "word must have at least 2 characters", {"param": "word"})
    return lambda record: any(word in text.casefold() for text in _texts(record))


def _texts(record: Record) -> Iterable[str]:
    for key, value in record.items():
        if key == "id" or key.startswith("$"):
            continue
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict) and isinstance(value.get("name"), str):
            yield value["name"]
        elif isinstance(value, list):
            yield from (t["name"] for t in value if isinstance(t, dict) and isinstance(t.get("name"), str))


def _search_page(table: Table, predicate: Predicate, params: PageParams) -> Page:
    offset = (params.page - 1) * params.per_page
    if offset >= PAGE_LIMIT:
        raise ApiError(
            400,
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
            f"search reaches only the first {PAGE_LIMIT} records; narrow the criteria or use COQL",
            {"limit": PAGE_LIMIT},
        )
    size = min(params.per_page, PAGE_LIMIT - offset)
    wanted = offset + size + 1  # one more than the page, to know whether more records exist
    if params.sort_by == "id":
        source: Iterable[Record] = table.newest_first() if params.descending else iter(table)
        found: list[str] = []
        for record in source:
            if predicate(record):
                found.append(record["id"])
                if len(found) >= wanted:
                    break
    else:
        hits = [r for r in table if predicate(r)]
        hits.sort(key=lambda r: record_key(params.sort_by, r), reverse=params.descending)
        found = [r["id"] for r in hits[:wanted]]
    return Page(found[offset : offset + size], len(found) > offset + size, params.page, None, None)


def search_routes(ctx: EmulatorContext) -> list[Route]:
    store = ctx.store

    async def search(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        query = request.query_params
        given = [mode for mode in _MODES if query.get(mode)]
        if not given:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "one of criteria, email, phone or word is required",
                {"param": "criteria"},
            )
        if len(given) > 1:
            raise ApiError(
                400,
                "INVALID_REQUEST",
                "send only one of criteria, email, phone and word",
                {"param": given[1]},
            )
        fields = parse_fields(query.get("fields"), required=False)
        params = parse_page_params(
            query, ctx, spec.api_name, allow_token=False, sort_fields=sortable_fields(ctx, spec)
        )
        table = store.table(spec.api_name)
        page = _search_page(table, _predicate(spec, table, given[0], str(query.get(given[0]))), params)
        if not page.ids:
            return no_content()
        projector = Projector(spec, store, fields)
        data: list[dict[str, Any]] = [projector.render(table.records[rid]) for rid in page.ids]
        return json_response({"data": data, "info": search_info(page, params)})

    return [Route(BASE + "/{module:module}/search", search, methods=["GET"])]
