"""``/settings/pipelines``, as the SDK's ``bigin.pipelines`` calls it: list, get, create, update, delete.

Answers ``{"pipelines": [{id, display_value, default, maps: [stages]}]}``. Zoho has no such
endpoint (team pipelines are layouts and cannot be created through its API); the emulator serves
it so ``bigin.pipelines`` runs against it, backed by the same registry as the Pipelines layouts.
Write results use Zoho's per-entry shape under the ``pipelines`` key. A pipeline that still holds deals,
or the default pipeline, cannot be deleted.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.http_input import read_json, write_items
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.pipelines import TeamPipeline

__all__ = ["pipeline_routes"]

BASE = "/bigin/v2/settings/pipelines"


def _check_maps(maps: Any) -> list[dict[str, Any]]:
    if not isinstance(maps, list) or not maps:
        raise ApiError(
            400, "MANDATORY_NOT_FOUND", "a pipeline needs at least one stage", {"api_name": "maps"}
        )
    names: set[str] = set()
    for item in maps:
        name = item.get("display_value") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ApiError(
                400, "MANDATORY_NOT_FOUND", "each stage needs a display_value", {"api_name": "display_value"}
            )
        if name.casefold() in names:
            raise ApiError(
                400, "DUPLICATE_DATA", f"stage {name!r} appears twice", {"api_name": "display_value"}
            )
        names.add(name.casefold())
        probability = item.get("probability", 0)
        if not isinstance(probability, int) or isinstance(probability, bool) or not 0 <= probability <= 100:
            raise ApiError(
                400,
                "INVALID_DATA",
                "probability must be a whole number from 0 to 100",
                {"api_name": "probability"},
            )
    return maps


def _result(pipeline_id: str, message: str) -> dict[str, Any]:
    return {"code": "SUCCESS", "details": {"id": pipeline_id}, "message": message, "status": "success"}


def pipeline_routes(ctx: EmulatorContext) -> list[Route]:
    registry = ctx.pipelines

    def find(request: Request) -> TeamPipeline:
        pipeline = registry.get(request.path_params["pipeline_id"])
        if pipeline is None:
            raise ApiError(
                400,
                "INVALID_DATA",
                "the pipeline id given seems to be invalid",
                {"id": request.path_params["pipeline_id"]},
            )
        return pipeline

    def check_name(name: Any, own: TeamPipeline | None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ApiError(
                400, "MANDATORY_NOT_FOUND", "display_value is required", {"api_name": "display_value"}
            )
        other = registry.by_name(name)
        if other is not None and other is not own:
            raise ApiError(
                400,
                "DUPLICATE_DATA",
                f"a pipeline named {name!r} exists",
                {"api_name": "display_value", "id": other.id},
            )
        return name.strip()

    async def list_pipelines(request: Request) -> Response:
        return json_response({"pipelines": [p.as_settings() for p in registry.pipelines.values()]})

    async def get_pipeline(request: Request) -> Response:
        pipeline = registry.get(request.path_params["pipeline_id"])
        return json_response({"pipelines": [pipeline.as_settings()]}) if pipeline else no_content()

    async def create(request: Request) -> Response:
        items = write_items(await read_json(request), "pipelines")
        validated: list[tuple[str, list[dict[str, Any]], bool]] = []
        for item in items:
            if not isinstance(item, dict):
                raise ApiError(
                    400, "INVALID_DATA", "each pipeline must be a JSON object", {"param": "pipelines"}
                )
            name = check_name(item.get("display_value"), None)
            if any(name.casefold() == other.casefold() for other, _, _ in validated):
                raise ApiError(
                    400, "DUPLICATE_DATA", f"pipeline {name!r} appears twice", {"api_name": "display_value"}
                )
            validated.append((name, _check_maps(item.get("maps")), bool(item.get("default", False))))
        results = [_result(registry.create(*args).id, "pipeline created") for args in validated]
        return json_response({"pipelines": results}, 201)

    async def update(request: Request) -> Response:
        pipeline = find(request)
        items = write_items(await read_json(request), "pipelines")
        changes = items[0] if isinstance(items[0], dict) else {}
        if "display_value" in changes:
            check_name(changes["display_value"], pipeline)
        if "maps" in changes:
            _check_maps(changes["maps"])
        registry.update(pipeline, changes)
        return json_response({"pipelines": [_result(pipeline.id, "pipeline updated")]})

    async def delete(request: Request) -> Response:
        pipeline = find(request)
        if pipeline.default:
            raise ApiError(400, "INVALID_DATA", "the default pipeline cannot be deleted", {"id": pipeline.id})
        deals = ctx.store.table("Pipelines").find_equal("Layout", pipeline.id)
        if deals:
            raise ApiError(
                400, "INVALID_DATA", f"the pipeline still holds {len(deals)} deal(s)", {"id": pipeline.id}
            )
        registry.delete(pipeline.id)
        return json_response({"pipelines": [_result(pipeline.id, "pipeline deleted")]})

    one = BASE + "/{pipeline_id:record_id}"
    return [
        Route(BASE, list_pipelines, methods=["GET"]),
        Route(BASE, create, methods=["POST"]),
        Route(one, get_pipeline, methods=["GET"]),
        Route(one, update, methods=["PUT"]),
        Route(one, delete, methods=["DELETE"]),
    ]
