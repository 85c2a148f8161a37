"""``POST /bigin/v2/coql`` with ``{"select_query": "..."}``: up to 200 rows a call, 10,000 in all.

Answers ``{"data": [...], "info": {"count", "more_records"}}`` or 204 when nothing matches.
Rows carry the selected fields plus ``id``; a dotted field (``Account_Name.Phone``) reads the
field of the looked-up record and comes back under its dotted name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.comparisons import candidates
from bigin_emulator.ops.coql import BoolOp, CoqlError, Expr, Query, matches_where, parse_coql
from bigin_emulator.ops.projection import Projector
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes.http_input import read_json
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import ModuleSpec, get_module
from bigin_emulator.state.sorting import value_key
from bigin_emulator.state.store import Record, Store, Table

__all__ = ["coql_routes"]


def _check_fields(query: Query, spec: ModuleSpec, table: Table) -> None:
    for name in query.fields_used():
        head, dot, _ = name.partition(".")
        head = spec.aliases.get(head, head)
        known = head == "id" or head in spec.by_name or head in table.custom_fields
        if not known or (
            dot and (spec.by_name.get(head) is None or spec.by_name[head].lookup_module is None)
        ):
            raise ApiError(400, "INVALID_QUERY", f"the column {name!r} is invalid", {"column_name": name})


def _row(store: Store, projector: Projector, record: Record, fields: tuple[str, ...]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in fields:
        if name == "id":
            continue
        head, dot, tail = name.partition(".")
        if not dot:
            row[name] = projector.value(record, name)
            continue
        lookup = projector.value(record, head)
        if not isinstance(lookup, dict):
            row[name] = None
        elif tail == "id":
            row[name] = lookup.get("id")
        else:
            found = store.locate(str(lookup.get("id")))
            row[name] = found[1].get(tail) if found is not None else None
    row["id"] = record["id"]
    return row


def coql_routes(ctx: EmulatorContext) -> list[Route]:
    store = ctx.store

    async def coql(request: Request) -> Response:
        body = await read_json(request)
        text = body.get("select_query") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise ApiError(
                400, "REQUIRED_PARAM_MISSING", "select_query is missing", {"param": "select_query"}
            )
        try:
            query = parse_coql(text)
        except CoqlError as error:
            raise ApiError(400, error.code, str(error), error.details) from None
        spec = get_module(query.module)
        if spec is None:
            raise ApiError(
                400, "INVALID_QUERY", f"the module {query.module!r} is invalid", {"module": query.module}
            )
        table = store.table(spec.api_name)
        _check_fields(query, spec, table)
        projector = Projector(spec, store, [f.partition(".")[0] for f in query.fields])
        order = [(spec.aliases.get(f, f), desc) for f, desc in query.order_by]
        where = _canonical(query.where, spec) if query.where is not None else None
        values_of = _field_reader(store)
        rows: list[Record] = [r for r in table if where is None or matches_where(where, r, values_of)]
        for field, descending in reversed(order):
            rows.sort(key=_sort_key(field), reverse=descending)
        window = rows[query.offset : query.offset + query.limit]
        if not window:
            return no_content()
        data = [_row(store, projector, r, query.fields) for r in window]
        more = len(rows) > query.offset + query.limit
        return json_response({"data": data, "info": {"count": len(data), "more_records": more}})

    return [Route("/bigin/v2/coql", coql, methods=["POST"])]


def _field_reader(store: Store) -> Callable[[Record, str], list[Any]]:
    """Field values for WHERE: ``Lookup.Field`` reads the looked-up record, like in SELECT."""

    def values_of(record: Record, field: str) -> list[Any]:
        head, dot, tail = field.partition(".")
        lookup = record.get(head)
        if not dot or tail in ("id", "name") or not isinstance(lookup, dict):
            return candidates(record, field)
        found = store.locate(str(lookup.get("id")))
        return [found[1].get(tail) if found is not None else None]

    return values_of


def _sort_key(field: str) -> Callable[[Record], Any]:
    return lambda record: value_key(record.get(field))


def _canonical(expr: Expr, spec: ModuleSpec) -> Expr:
    """The WHERE with field aliases (``Related_To.id``) renamed to Zoho's."""
    if isinstance(expr, BoolOp):
        return BoolOp(expr.operator, _canonical(expr.left, spec), _canonical(expr.right, spec))
    head, dot, tail = expr.field.partition(".")
    return replace(expr, field=spec.aliases.get(head, head) + dot + tail)
