"""Tags: ``/settings/tags`` (list, create, update, delete, merge, records count) and tag actions.

- ``GET /settings/tags?module=`` -> ``{"tags": [...], "info": {"count", "allowed_count"}}``.
- ``POST|PUT /settings/tags?module=`` with ``{"tags": [{"name", "color_code"}]}`` (PUT: each with
  its ``id``), ``PUT /settings/tags/{id}?module=`` with one tag: ``{"tags": [entry, ...]}``, one
  entry per tag, "tags created successfully" / "tags updated successfully"; a failed tag is its
  own error entry (``MANDATORY_NOT_FOUND``, ``DUPLICATE_DATA``, ``INVALID_DATA``).
- ``DELETE /settings/tags/{id}`` -> "tags deleted successfully"; the tag leaves every record.
- ``POST /settings/tags/{id}/actions/merge`` with ``{"tags": [{"conflict_id"}]}``: the tag
  ``conflict_id`` is merged into tag ``id``: the records carrying it carry tag ``id`` instead and
  ``conflict_id`` is gone ("tags merged successfully", details of tag ``id``, which stays). Zoho's
  page calls ``conflict_id`` "the tag which you want to merge"; its CRM SDKs call
  ``tag.merge(conflict_tag)`` and the sample answers name the URL's tag.
- ``GET /settings/tags/{id}/actions/records_count?module=`` -> ``{"count": "N"}`` (a string, as
  Zoho sends it).
- ``POST /{Module}/actions/add_tags|remove_tags`` (and ``/{Module}/{id}/actions/...``) take
  ``ids`` and ``tag_names`` as query parameters (comma-separated) or a body
  ``{"tags": [{"name"}], "ids": [...]}``; up to 500 records and 10 tags a call (more is a 400
  ``LIMIT_EXCEEDED``); each record gets an entry listing its tag names after the change, as
  Zoho's "tags updated successfully" answer does.

A tag id in the path that names no tag is a request-level 400 ``INVALID_DATA`` (Zoho lists
``INVALID_DATA`` for these endpoints). Renaming or recolouring a tag shows on the records that
carry it; their ``Modified_Time`` is left alone (the records themselves did not change).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.record_input import RecordRejected
from bigin_emulator.ops.wire import ApiError, record_error
from bigin_emulator.ops.writes import RecordWriter
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.http_input import id_list, module_spec, read_json, write_items, write_status
from bigin_emulator.routes.responses import json_response
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import ModuleSpec, get_module
from bigin_emulator.state.org_data import current_user
from bigin_emulator.state.tags import Tag, tag_names

__all__ = ["MAX_TAGGED_RECORDS", "MAX_TAGS_PER_CALL", "tag_routes"]

MAX_TAGS_PER_CALL = 10
MAX_TAGGED_RECORDS = 500  # records one add_tags/remove_tags call may change (Zoho's limit)
_COLOR = re.compile(r"^#(?:[0-9A-Fa-f]{3}){1,2}$")
BASE = "/bigin/v2/settings/tags"


def _tag_body(tag: Tag) -> dict[str, Any]:
    admin = current_user().short_lookup()
    return {
        "id": tag.id,
        "name": tag.name,
        "color_code": tag.color_code,
        "created_time": tag.created_time,
        "modified_time": tag.modified_time or tag.created_time,
        "created_by": admin,
        "modified_by": admin,
    }


def _success(tag: Tag, message: str) -> dict[str, Any]:
    body = _tag_body(tag)
    details = {k: body[k] for k in ("created_time", "modified_time", "modified_by", "id", "created_by")}
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}


def _tag_module(request: Request) -> ModuleSpec:
    name = request.query_params.get("module")
    if not name:
        raise ApiError(400, "REQUIRED_PARAM_MISSING", details={"param": "module"})
    spec = get_module(name)
    if spec is None or spec.field("Tag") is None:
        raise ApiError(400, "INVALID_MODULE", details={"param": "module"})
    return spec


def _color(item: dict[str, Any]) -> str | None:
    color = item.get("color_code")
    if color is None:
        return None
    if not isinstance(color, str) or not _COLOR.match(color):
        raise RecordRejected("INVALID_DATA", {"api_name": "color_code"}, "the colour is not #RRGGBB")
    return color


def _name(item: dict[str, Any], *, required: bool) -> str | None:
    name = item.get("name")
    if name is None and not required:
        return None
    if not isinstance(name, str) or not name.strip():
        raise RecordRejected("MANDATORY_NOT_FOUND", {"api_name": "name"})
    return name.strip()


async def _action_input(request: Request, limit: int) -> tuple[list[str], list[str], bool]:
    """(record ids, tag names, over_write) from the query string or the JSON body."""
    query = request.query_params
    body: Any = await read_json(request) if (await request.body()).strip() else {}
    body = body if isinstance(body, dict) else {}
    raw_ids = request.path_params.get("record_id") or query.get("ids")
    if raw_ids is None and isinstance(body.get("ids"), list):
        raw_ids = ",".join(str(i) for i in body["ids"])
    ids = id_list(raw_ids, limit=limit)
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

    def tagged(module: str, tag_id: str) -> list[str]:
        """Ids of the module's records that carry the tag."""
        return [
            rid
            for rid, record in ctx.store.table(module).records.items()
            if any(isinstance(t, dict) and t.get("id") == tag_id for t in record.get("Tag") or ())
        ]

    def retag_records(module: str, tag_id: str, replacement: Tag | None) -> None:
        """Show ``replacement`` instead of the tag on every record carrying it (None: drop it)."""
        table = ctx.store.table(module)
        for rid in tagged(module, tag_id):
            record = table.records[rid]
            tags: dict[str, dict[str, Any]] = {}
            for item in record.get("Tag") or ():
                if item.get("id") == tag_id:
                    if replacement is not None:
                        tags.setdefault(replacement.id, replacement.on_record())
                else:
                    tags.setdefault(item["id"], item)
            table.replace(rid, {**record, "Tag": list(tags.values())})

    def path_tag(request: Request) -> tuple[str, Tag]:
        tag_id = request.path_params["tag_id"]
        found = registry.by_id(tag_id)
        if found is None:
            raise ApiError(
                400, "INVALID_DATA", "the tag id given seems to be invalid", {"id": tag_id, "param": "tag_id"}
            )
        return found

    async def list_tags(request: Request) -> Response:
        spec = _tag_module(request)
        tags = [_tag_body(t) for t in registry.all(spec.api_name)]
        return json_response({"tags": tags, "info": {"count": len(tags), "allowed_count": 100}})

    def create_one(spec: ModuleSpec, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise RecordRejected("INVALID_DATA", {"expected_data_type": "jsonobject"})
        name = str(_name(item, required=True))
        existing = registry.find(spec.api_name, name)
        if existing is not None:
            raise RecordRejected("DUPLICATE_DATA", {"api_name": "name", "id": existing.id})
        return _success(registry.ensure(spec.api_name, name, _color(item)), "tags created successfully")

    def update_one(spec: ModuleSpec, item: Any, path_id: str | None) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise RecordRejected("INVALID_DATA", {"expected_data_type": "jsonobject"})
        tag_id = item.get("id", path_id)
        if tag_id is None:
            raise RecordRejected("MANDATORY_NOT_FOUND", {"api_name": "id"})
        if path_id is not None and tag_id != path_id:
            raise RecordRejected("INVALID_DATA", {"api_name": "id"}, "the id differs from the one in the URL")
        tag = next((t for t in registry.all(spec.api_name) if t.id == tag_id), None)
        if tag is None:
            raise RecordRejected("INVALID_DATA", {"api_name": "id", "id": str(tag_id)}, "invalid tag id")
        name, color = _name(item, required=False), _color(item)
        if name is None and color is None:
            raise RecordRejected("MANDATORY_NOT_FOUND", {"api_name": "name"})
        clash = registry.find(spec.api_name, name) if name is not None else None
        if clash is not None and clash is not tag:
            raise RecordRejected("DUPLICATE_DATA", {"api_name": "name", "id": clash.id})
        registry.change(spec.api_name, tag, name, color)
        retag_records(spec.api_name, tag.id, tag)
        return _success(tag, "tags updated successfully")

    def answer(entries: list[dict[str, Any]], ok_status: int) -> Response:
        return json_response({"tags": entries}, write_status(entries, ok_status))

    def guarded(write: Any, *args: Any) -> dict[str, Any]:
        try:
            entry: dict[str, Any] = write(*args)
        except RecordRejected as rejected:
            return rejected.entry
        return entry

    async def create_tags(request: Request) -> Response:
        spec = _tag_module(request)
        items = write_items(await read_json(request), "tags")
        return answer([guarded(create_one, spec, item) for item in items], 200)

    async def update_tags(request: Request) -> Response:
        spec = _tag_module(request)
        items = write_items(await read_json(request), "tags")
        return answer([guarded(update_one, spec, item, None) for item in items], 200)

    async def update_tag(request: Request) -> Response:
        spec = _tag_module(request)
        items = write_items(await read_json(request), "tags")
        if len(items) > 1:
            raise ApiError(
                400, "INVALID_DATA", "updating one tag by id takes exactly one tag", {"param": "tags"}
            )
        return answer([guarded(update_one, spec, items[0], request.path_params["tag_id"])], 200)

    async def delete_tag(request: Request) -> Response:
        module, tag = path_tag(request)
        retag_records(module, tag.id, None)
        registry.remove(module, tag)
        entry = {"code": "SUCCESS", "details": {"id": tag.id}, "message": "tags deleted successfully"}
        return answer([{**entry, "status": "success"}], 200)

    async def merge_tags(request: Request) -> Response:
        module, tag = path_tag(request)
        items = write_items(await read_json(request), "tags")
        conflict_id = items[0].get("conflict_id") if isinstance(items[0], dict) else None
        if len(items) > 1:
            raise ApiError(400, "INVALID_DATA", "a merge takes one conflict_id", {"param": "tags"})
        if not isinstance(conflict_id, str) or not conflict_id:
            raise ApiError(400, "MANDATORY_NOT_FOUND", details={"api_name": "conflict_id"})
        found = registry.by_id(conflict_id)
        if found is None or found[0] != module or found[1] is tag:
            raise ApiError(
                400,
                "INVALID_DATA",
                "conflict_id must be another tag of the same module",
                {"api_name": "conflict_id", "id": conflict_id},
            )
        merged_away = found[1]
        retag_records(module, merged_away.id, tag)
        registry.remove(module, merged_away)
        registry.touch(tag)
        return answer([_success(tag, "tags merged successfully")], 200)

    async def records_count(request: Request) -> Response:
        spec = _tag_module(request)
        module, tag = path_tag(request)
        if module != spec.api_name:
            raise ApiError(
                400,
                "INVALID_DATA",
                f"the tag is not a tag of {spec.api_name}",
                {"id": tag.id, "param": "module"},
            )
        return json_response({"count": str(len(tagged(module, tag.id)))})

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
        ids, names, over_write = await _action_input(request, MAX_TAGGED_RECORDS)
        entries = [retag(spec, rid, names, add=add, over_write=over_write) for rid in ids]
        return json_response({"data": entries}, write_status(entries, 200))

    one = BASE + "/{tag_id:record_id}"
    record_actions = "/bigin/v2/{module:module}/{record_id:record_id}/actions"
    return [
        Route(BASE, list_tags, methods=["GET"]),
        Route(BASE, create_tags, methods=["POST"]),
        Route(BASE, update_tags, methods=["PUT"]),
        Route(one, update_tag, methods=["PUT"]),
        Route(one, delete_tag, methods=["DELETE"]),
        Route(one + "/actions/merge", merge_tags, methods=["POST"]),
        Route(one + "/actions/records_count", records_count, methods=["GET"]),
        Route("/bigin/v2/{module:module}/actions/add_tags", add_tags, methods=["POST"]),
        Route("/bigin/v2/{module:module}/actions/remove_tags", remove_tags, methods=["POST"]),
        Route(record_actions + "/add_tags", add_tags, methods=["POST"]),
        Route(record_actions + "/remove_tags", remove_tags, methods=["POST"]),
    ]
