"""Record endpoints: list, get by id, insert, update, upsert and delete for every record module.

A list takes ``cvid`` (a custom view: only the records it shows) and, for deals, ``pipeline_id``
(only that team pipeline's deals); see ``ops.list_filters``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.list_filters import filtered_view, list_filter
from bigin_emulator.ops.paging import list_info, paginate, parse_page_params
from bigin_emulator.ops.projection import Projector, parse_fields
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.ops.writes import RecordWriter
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.http_input import id_list, module_spec, read_json, write_items, write_status
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import ModuleSpec
from bigin_emulator.state.sorting import record_key

__all__ = ["record_routes", "sortable_fields"]

BASE = "/bigin/v2"


def sortable_fields(ctx: EmulatorContext, spec: ModuleSpec) -> frozenset[str]:
    custom = ctx.store.table(spec.api_name).custom_fields
    return frozenset({"id", *spec.by_name, *custom})


def record_routes(ctx: EmulatorContext) -> list[Route]:
    writer = RecordWriter(ctx)
    store = ctx.store

    async def list_records(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        fields = parse_fields(request.query_params.get("fields"), required=True)
        scope, keep = list_filter(ctx, spec, request.query_params)
        params = parse_page_params(
            request.query_params, ctx, scope, allow_token=True, sort_fields=sortable_fields(ctx, spec)
        )
        table = store.table(spec.api_name)
        view = table.sorted_view(params.sort_by)
        if keep is not None:
            view = filtered_view(view, table.records, keep)
        page = paginate(
            view,
            params,
            ctx,
            scope,
            lambda rid: record_key(params.sort_by, table.records[rid]),
            allow_token=True,
        )
        if not page.ids:
            return no_content()
        projector = Projector(spec, store, fields)
        data = [projector.render(table.records[rid]) for rid in page.ids]
        return json_response({"data": data, "info": list_info(page, params)})

    async def get_record(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        record = store.table(spec.api_name).get(request.path_params["record_id"])
        if record is None:
            return no_content()
        fields = parse_fields(request.query_params.get("fields"), required=False)
        return json_response({"data": [Projector(spec, store, fields).render(record)]})

    async def insert(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        items = write_items(await read_json(request))
        entries = writer.insert(spec, items)
        ctx.announce(spec.api_name, "insert", items, entries)
        return json_response({"data": entries}, write_status(entries, 201))

    async def update_bulk(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        items = write_items(await read_json(request))
        entries = writer.update(spec, items, "bulk")
        ctx.announce(spec.api_name, "update", items, entries)
        return json_response({"data": entries}, write_status(entries, 200))

    async def update_one(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        items = write_items(await read_json(request))
        if len(items) > 1:
            raise ApiError(
                400, "INVALID_DATA", "updating one record by id takes exactly one record", {"param": "data"}
            )
        entries = writer.update(spec, items, "by_id", path_id=request.path_params["record_id"])
        ctx.announce(spec.api_name, "update", items, entries)
        return json_response({"data": entries}, write_status(entries, 200))

    async def upsert(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        body = await read_json(request)
        items = write_items(body)
        check_fields = body.get("duplicate_check_fields") or []
        if not isinstance(check_fields, list) or not all(isinstance(f, str) for f in check_fields):
            raise ApiError(
                400,
                "INVALID_DATA",
                "duplicate_check_fields must be a list of field names",
                {"param": "duplicate_check_fields"},
            )
        unknown = [f for f in check_fields if spec.field(f) is None]
        if unknown:
            raise ApiError(
                400, "INVALID_DATA", f"unknown duplicate check field {unknown[0]!r}", {"api_name": unknown[0]}
            )
        entries = writer.upsert(spec, items, check_fields)
        ctx.announce(spec.api_name, "upsert", items, entries)
        return json_response({"data": entries}, write_status(entries, 200))

    async def delete_many(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        ids = id_list(request.query_params.get("ids"))
        entries = writer.delete(spec, ids)
        ctx.announce(spec.api_name, "delete", ids, entries)
        return json_response({"data": entries}, write_status(entries, 200))

    async def delete_one(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        ids = [request.path_params["record_id"]]
        entries = writer.delete(spec, ids)
        ctx.announce(spec.api_name, "delete", ids, entries)
        return json_response({"data": entries}, write_status(entries, 200))

    return [
        Route(BASE + "/{module:module}/upsert", upsert, methods=["POST"]),
        Route(BASE + "/{module:module}", list_records, methods=["GET"]),
        Route(BASE + "/{module:module}", insert, methods=["POST"]),
        Route(BASE + "/{module:module}", update_bulk, methods=["PUT"]),
        Route(BASE + "/{module:module}", delete_many, methods=["DELETE"]),
        Route(BASE + "/{module:module}/{record_id:record_id}", get_record, methods=["GET"]),
        Route(BASE + "/{module:module}/{record_id:record_id}", update_one, methods=["PUT"]),
        Route(BASE + "/{module:module}/{record_id:record_id}", delete_one, methods=["DELETE"]),
    ]
