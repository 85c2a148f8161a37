"""Tags: ``GET|POST /settings/tags?module=`` and ``POST /{Module}/actions/add_tags|remove_tags``.

The actions take ``ids`` and ``tag_names`` as query parameters (comma-separated) or a body
``{"tags": [{"name"}], "ids": [...]}``; each record gets an entry whose details list its tag
names after the change, as Zoho's ``tags updated successfully`` answer does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.wire import ApiError, record_error
from bigin_emulator.ops.writes import RecordWriter
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.http_input import (
    MAX_WRITE_RECORDS,
    id_list,
    module_spec,
    read_json,
    write_items,
    write_status,
)
from bigin_emulator.routes.responses import json_response
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import ModuleSpec, get_module
from bigin_emulator.state.org_data import USERS
from bigin_emulator.state.tags import Tag, tag_names

__all__ = ["tag_routes"]

MAX_TAGS_PER_CALL = 10


def _tag_body(tag: Tag) -> dict[str, Any]:
    admin = USERS[0].short_lookup()
    return {
        "id": tag.id,
        "name": tag.name,
        "color_code": tag.color_code,
        "created_time": tag.created_time,
        "modified_time": tag.created_time,
        "created_by": admin,
        "modified_by": admin,
    }


def _tag_module(request: Request) -> ModuleSpec:
    name = request.query_params.get("module")
    if not name:
        raise ApiError(400, "REQUIRED_PARAM_MISSING", details={"param": "module"})
    spec = get_module(name)
    if spec is None or spec.field("Tag") is None:
        raise ApiError(400, "INVALID_MODULE", details={"param": "module"})
    return spec


async def _action_input(request: Request) -> tuple[list[str], list[str], bool]:
    """(record ids, tag names, over_write) from the query string or the JSON body."""
    query = request.query_params
    body: Any = await read_json(request) if (await request.body()).strip() else {}
    body = body if isinstance(body, dict) else {}
    raw_ids = query.get("ids")
    if raw_ids is None and isinstance(body.get("ids"), list):
        raw_ids = ",".join(str(i) for i in body["ids"])
    ids = id_list(raw_ids)
    names = (
        tag_names(query.get("tag_names", "").split(","))
        if query.get("tag_names")
        else tag_names(body.get("tags"))
    )
    if not names:
        raise ApiError(400, "REQUIRED_PARAM_MISSING", "tag names are missing", {"param": "tag_names"})
    if len(names) > MAX_TAGS_PER_CALL:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"at most {MAX_TAGS_PER_CALL} tags per call",
            {"param": "tag_names", "limit": MAX_TAGS_PER_CALL},
        )
    over_write = str(query.get("over_write", body.get("over_write", "false"))).lower() == "true"
    return ids, names, over_write


def tag_routes(ctx: EmulatorContext) -> list[Route]:
    writer = RecordWriter(ctx)
    registry = ctx.tags

    async def list_tags(request: Request) -> Response:
        spec = _tag_module(request)
        tags = [_tag_body(t) for t in registry.all(spec.api_name)]
        return json_response({"tags": tags, "info": {"count": len(tags), "allowed_count": 100}})

    async def create_tags(request: Request) -> Response:
        spec = _tag_module(request)
        items = write_items(await read_json(request), "tags")
        results = []
        for item in items:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or not name.strip():
                results.append(record_error("MANDATORY_NOT_FOUND", {"api_name": "name"}))
                continue
            existing = registry.find(spec.api_name, name)
            if existing is not None:
                results.append(record_error("DUPLICATE_DATA", {"api_name": "name", "id": existing.id}))
                continue
            color = item.get("color_code") if isinstance(item.get("color_code"), str) else None
            body = _tag_body(registry.ensure(spec.api_name, name.strip(), color))
            details = {
                k: body[k] for k in ("created_time", "modified_time", "modified_by", "id", "created_by")
            }
            results.append(
                {
                    "code": "SUCCESS",
                    "details": details,
                    "message": "tags created successfully",
                    "status": "success",
                }
            )
        return json_response({"tags": results})

    def retag(
        spec: ModuleSpec, record_id: str, names: list[str], *, add: bool, over_write: bool
    ) -> dict[str, Any]:
        table = ctx.store.table(spec.api_name)
        record = table.get(record_id)
        if record is None:
            return record_error("INVALID_DATA", {"id": record_id}, "the id given seems to be invalid")
        current = [] if (add and over_write) else [t["name"] for t in record.get("Tag") or []]
        if add:
            wanted = current + [n for n in names if n.casefold() not in {c.casefold() for c in current}]
        else:
            removing = {n.casefold() for n in names}
            wanted = [c for c in current if c.casefold() not in removing]
        outcome = writer.update(spec, [{"Tag": wanted}], "by_id", path_id=record_id)[0]
        ctx.announce(spec.api_name, "update", [{"Tag": wanted}], [outcome])
        if outcome["status"] != "success":
            return outcome
        updated = table.records[record_id]
        return {
            "code": "SUCCESS",
            "details": {"id": record_id, "tags": [t["name"] for t in updated.get("Tag") or []]},
            "message": "tags updated successfully",
            "status": "success",
        }

    async def add_tags(request: Request) -> Response:
        return await tag_action(request, add=True)

    async def remove_tags(request: Request) -> Response:
        return await tag_action(request, add=False)

    async def tag_action(request: Request, *, add: bool) -> Response:
        spec = module_spec(request.path_params["module"])
        if spec.field("Tag") is None:
            raise ApiError(
                400, "INVALID_MODULE", f"{spec.api_name} records cannot be tagged", {"resource_path_index": 0}
            )
        ids, names, over_write = await _action_input(request)
        if len(ids) > MAX_WRITE_RECORDS:
            raise ApiError(400, "LIMIT_EXCEEDED", details={"param": "ids", "limit": MAX_WRITE_RECORDS})
        entries = [retag(spec, rid, names, add=add, over_write=over_write) for rid in ids]
        return json_response({"data": entries}, write_status(entries, 200))

    return [
        Route("/bigin/v2/settings/tags", list_tags, methods=["GET"]),
        Route("/bigin/v2/settings/tags", create_tags, methods=["POST"]),
        Route("/bigin/v2/{module:module}/actions/add_tags", add_tags, methods=["POST"]),
        Route("/bigin/v2/{module:module}/actions/remove_tags", remove_tags, methods=["POST"]),
    ]
