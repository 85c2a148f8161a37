"""Related lists: ``GET /{Module}/{id}/{Related}`` and link/unlink through ``PUT``/``DELETE``.

Listing follows ``account_related_contacts.json``: ``fields`` required, newest first, ``info`` with
page-token keys and no sort keys. Linking follows ``link_product_to_contact.json``: a body of
``{"data": [{}]}`` is accepted, the answer is 200 with ``details {id}`` and "relation added", or
"relation updated" when the pair was already linked; unlinking answers "relation removed".

Many at once: ``PUT /{Module}/{id}/{Related}`` with ``{"data": [{"id"}, ...]}`` and ``DELETE
...?ids=a,b``, at most 100 ids a call (Zoho's limit; 101 is a 400 ``LIMIT_EXCEEDED``), one
entry per id in input order. Zoho's pages name no answer for unlinking a pair that is not
linked; the emulator gives that id an ``INVALID_DATA`` entry of its own ("the records are not
related", the per-record code Zoho documents for a bad related id) and goes on with the others,
so a partial unlink is a 207 and a client must read each entry.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.list_filters import pipeline_filter
from bigin_emulator.ops.paging import paginate, parse_page_params, related_info
from bigin_emulator.ops.projection import Projector, parse_fields
from bigin_emulator.ops.related import RELATED_LISTS, is_linkable, related_ids
from bigin_emulator.ops.wire import ApiError, record_error
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.http_input import id_list, module_spec, read_json, write_items, write_status
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import get_module
from bigin_emulator.state.sorting import SortedView

__all__ = ["related_routes"]

BASE = "/bigin/v2"


def _related_module(module: str, related: str) -> str:
    if related not in RELATED_LISTS.get(module, ()) or get_module(related) is None:
        raise ApiError(
            400, "INVALID_DATA", "the relation name given seems to be invalid", {"resource_path_index": 2}
        )
    return related


def related_routes(ctx: EmulatorContext) -> list[Route]:
    store = ctx.store

    async def list_related(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        record_id = request.path_params["record_id"]
        related = _related_module(spec.api_name, request.path_params["related"])
        fields = parse_fields(request.query_params.get("fields"), required=True)
        scope = f"{spec.api_name}/{record_id}/{related}"
        params = parse_page_params(request.query_params, ctx, scope, allow_token=True, sort_fields=None)
        if store.table(spec.api_name).get(record_id) is None:
            return no_content()
        ids = related_ids(store, spec.api_name, record_id, related)
        table = store.table(related)
        by_pipeline = pipeline_filter(related, request.query_params)
        if by_pipeline is not None:
            ids = [rid for rid in ids if by_pipeline(table.records[rid])]
        page = paginate(SortedView(ids, ids), params, ctx, scope, lambda rid: rid, allow_token=True)
        if not page.ids:
            return no_content()
        projector = Projector(table.spec, store, fields)
        data = [projector.render(table.records[rid]) for rid in page.ids]
        return json_response({"data": data, "info": related_info(page, params)})

    def link_entry(
        module: str, record_id: str, related: str, related_id: str, *, link: bool
    ) -> dict[str, Any]:
        if store.table(related).get(related_id) is None:
            return record_error(
                "INVALID_DATA", {"id": related_id}, "the related id given seems to be invalid"
            )
        if link:
            added = store.links.link(module, record_id, related, related_id)
            message = "relation added" if added else "relation updated"
        elif store.links.unlink(module, record_id, related, related_id):
            message = "relation removed"
        else:
            return record_error("INVALID_DATA", {"id": related_id}, "the records are not related")
        return {"code": "SUCCESS", "details": {"id": related_id}, "message": message, "status": "success"}

    def linkable(request: Request) -> tuple[str, str, str]:
        spec = module_spec(request.path_params["module"])
        related = _related_module(spec.api_name, request.path_params["related"])
        if not is_linkable(spec.api_name, related):
            raise ApiError(
                400,
                "INVALID_DATA",
                f"{related} cannot be linked to {spec.api_name} records",
                {"resource_path_index": 2},
            )
        record_id = request.path_params["record_id"]
        if store.table(spec.api_name).get(record_id) is None:
            raise ApiError(
                400,
                "INVALID_DATA",
                "the id given seems to be invalid",
                {"id": record_id, "resource_path_index": 1},
            )
        return spec.api_name, record_id, related

    async def link_one(request: Request) -> Response:
        module, record_id, related = linkable(request)
        body = await read_json(request) if (await request.body()).strip() else {"data": [{}]}
        write_items(body)
        entry = link_entry(module, record_id, related, request.path_params["related_id"], link=True)
        return json_response({"data": [entry]}, write_status([entry], 200))

    async def link_many(request: Request) -> Response:
        module, record_id, related = linkable(request)
        items = write_items(await read_json(request))
        entries = []
        for item in items:
            related_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(related_id, str):
                entries.append(record_error("MANDATORY_NOT_FOUND", {"api_name": "id"}))
            else:
                entries.append(link_entry(module, record_id, related, related_id, link=True))
        return json_response({"data": entries}, write_status(entries, 200))

    async def unlink_one(request: Request) -> Response:
        module, record_id, related = linkable(request)
        entry = link_entry(module, record_id, related, request.path_params["related_id"], link=False)
        return json_response({"data": [entry]}, write_status([entry], 200))

    async def unlink_many(request: Request) -> Response:
        module, record_id, related = linkable(request)
        ids = id_list(request.query_params.get("ids"))
        entries = [link_entry(module, record_id, related, rid, link=False) for rid in ids]
        return json_response({"data": entries}, write_status(entries, 200))

    one = BASE + "/{module:module}/{record_id:record_id}/{related}"
    return [
        Route(one, list_related, methods=["GET"]),
        Route(one, link_many, methods=["PUT"]),
        Route(one, unlink_many, methods=["DELETE"]),
        Route(one + "/{related_id:record_id}", link_one, methods=["PUT"]),
        Route(one + "/{related_id:record_id}", unlink_one, methods=["DELETE"]),
    ]
