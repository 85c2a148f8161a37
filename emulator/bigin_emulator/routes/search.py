"""``GET /{Module}/search`` with exactly one of ``criteria``, ``email``, ``phone`` or ``word``.

Search pages by ``page`` only and never offers a page token (``search_products_more_records.json``
has ``more_records: true`` and no token keys), so it reaches the first 2,000 matches at most;
``more_records`` still says when more exist, so a client can tell it hit the wall. By default the
emulator's index does not lag writes and ``equals`` is an exact, case-insensitive match (see
``criteria_parser``); the ``search_lag`` and ``loose_equals`` switches make it behave as Zoho's
does (``search_index``, ``comparisons.loosely_equals``). With ``check_scopes``, a token without
``ZohoSearch.securesearch.READ`` is refused with 401 ``OAUTH_SCOPE_MISMATCH``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.criteria import Condition, CriteriaError, CriteriaNode, Group, matches, parse_criteria
from bigin_emulator.ops.paging import PAGE_LIMIT, Page, PageParams, parse_page_params, search_info
from bigin_emulator.ops.projection import Projector, parse_fields
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.http_input import access_token, module_spec
from bigin_emulator.routes.records import sortable_fields
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import ModuleSpec
from bigin_emulator.state.search_index import LaggingIndex
from bigin_emulator.state.sorting import record_key
from bigin_emulator.state.store import Record, Table

__all__ = ["search_routes"]

BASE = "/bigin/v2"
_MODES = ("criteria", "email", "phone", "word")
_NON_DIGITS = re.compile(r"\D")
SEARCH_SCOPE = "ZohoSearch.securesearch.READ"

Predicate = Callable[[Record], bool]


def _resolve_aliases(node: CriteriaNode, spec: ModuleSpec, table: Table) -> CriteriaNode:
    """Check every criteria field exists and map field aliases (``Related_To.id`` for ``What_Id.id``)."""
    if isinstance(node, Group):
        return Group(node.operator, tuple(_resolve_aliases(child, spec, table) for child in node.children))
    head, dot, tail = node.field.partition(".")
    head = spec.aliases.get(head, head)
    if head != "id" and head not in spec.by_name and head not in table.custom_fields:
        raise ApiError(
            400, "INVALID_QUERY", f"the field {head!r} is not available for search", {"api_name": head}
        )
    return Condition(head + dot + tail, node.operator, node.values, node.value)


def _predicate(spec: ModuleSpec, table: Table, mode: str, value: str, *, loose: bool = False) -> Predicate:
    if mode == "criteria":
        try:
            node = _resolve_aliases(parse_criteria(value), spec, table)
        except CriteriaError as error:
            raise ApiError(
                400, "INVALID_QUERY", f"invalid criteria: {error}", {"param": "criteria"}
            ) from None
        return lambda record: matches(node, record, loose_equals=loose)
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


def _indexed(table: Table, index: LaggingIndex | None, *, newest_first: bool = False) -> Iterable[Record]:
    """The records as the search index has them: all of them, or those the lag lets it see."""
    source = table.newest_first() if newest_first else iter(table)
    if index is None:
        return source
    return (seen for seen in map(index.visible, source) if seen is not None)


def _search_page(
    table: Table, predicate: Predicate, params: PageParams, index: LaggingIndex | None = None
) -> tuple[Page, list[Record]]:
    """The page of matches and the version of each that the index holds."""
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
        found: list[Record] = []
        for record in _indexed(table, index, newest_first=params.descending):
            if predicate(record):
                found.append(record)
                if len(found) >= wanted:
                    break
    else:
        hits = [r for r in _indexed(table, index) if predicate(r)]
        hits.sort(key=lambda r: record_key(params.sort_by, r), reverse=params.descending)
        found = hits[:wanted]
    shown = found[offset : offset + size]
    page = Page([r["id"] for r in shown], len(found) > offset + size, params.page, None, None)
    return page, shown


def search_routes(ctx: EmulatorContext) -> list[Route]:
    store = ctx.store
    realism = ctx.config.realism

    async def search(request: Request) -> Response:
        if realism.check_scopes and SEARCH_SCOPE not in ctx.oauth.scopes_of(access_token(request.headers)):
            raise ApiError(
                401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", {"scope": SEARCH_SCOPE}
            )
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
        predicate = _predicate(spec, table, given[0], str(query.get(given[0])), loose=realism.loose_equals)
        page, shown = _search_page(table, predicate, params, ctx.search_index)
        if not page.ids:
            return no_content()
        projector = Projector(spec, store, fields)
        data: list[dict[str, Any]] = [projector.render(record) for record in shown]
        return json_response({"data": data, "info": search_info(page, params)})

    return [Route(BASE + "/{module:module}/search", search, methods=["GET"])]
