"""Metadata endpoints: ``settings/modules``, ``fields``, ``layouts``, ``related_lists``, ``custom_views``.

None of these but ``custom_views`` carries an ``info`` object (recordings item 7).
``settings/fields`` lists the "used" fields only, like the recording, while records carry more
keys. ``settings/custom_views?module=`` lists the module's system views with Zoho's ``info``
(``default`` the default view's id, ``translation`` the category names);
``settings/custom_views/{id}?module=`` one view with its ``criteria`` (204 for an unknown id).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.custom_views import find_view, module_views, view_body
from bigin_emulator.ops.related import RELATED_LISTS
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes.http_input import module_spec
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.ids import static_id
from bigin_emulator.state.metadata import FieldSpec, ModuleSpec, get_module
from bigin_emulator.state.settings_payloads import field_body, layout_bodies, module_bodies

__all__ = ["settings_routes"]

BASE = "/bigin/v2/settings"
_VIEW_CATEGORIES = {
    "public_views": "Public Views",
    "other_users_views": "Other Users' Views",
    "shared_with_me": "Shared With Me",
    "created_by_me": "Created By Me",
}


def _module_param(request: Request) -> ModuleSpec:
    name = request.query_params.get("module")
    if not name:
        raise ApiError(400, "REQUIRED_PARAM_MISSING", details={"param": "module"})
    spec = get_module(name)
    if spec is None:
        raise ApiError(400, "INVALID_MODULE", details={"param": "module"})
    return spec


def settings_routes(ctx: EmulatorContext) -> list[Route]:
    def started() -> str:
        return ctx.format_time(ctx.started_at)

    async def modules(request: Request) -> Response:
        return json_response({"modules": module_bodies(started())})

    async def one_module(request: Request) -> Response:
        wanted = request.path_params["api_name"]
        found = [m for m in module_bodies(started()) if m["api_name"] == wanted]
        if not found:
            raise ApiError(400, "INVALID_MODULE", details={"api_name": wanted})
        return json_response({"modules": found})

    async def fields(request: Request) -> Response:
        spec = _module_param(request)
        pipelines = list(ctx.pipelines.pipelines.values())
        body = [field_body(spec, f, pipelines) for f in spec.fields if not f.api_name.startswith("$")]
        added = ctx.store.table(spec.api_name).custom_fields  # fields the org created, listed after
        body += [
            field_body(spec, FieldSpec(name, "text", name), pipelines, custom_index=i)
            for i, name in enumerate(added)
        ]
        return json_response({"fields": body})

    async def layouts(request: Request) -> Response:
        spec = _module_param(request)
        return json_response(
            {"layouts": layout_bodies(spec, list(ctx.pipelines.pipelines.values()), started())}
        )

    async def one_layout(request: Request) -> Response:
        spec = _module_param(request)
        wanted = request.path_params["layout_id"]
        found = [
            lay
            for lay in layout_bodies(spec, list(ctx.pipelines.pipelines.values()), started())
            if lay["id"] == wanted
        ]
        return json_response({"layouts": found}) if found else no_content()

    async def related_lists(request: Request) -> Response:
        spec = _module_param(request)
        names = RELATED_LISTS.get(spec.api_name, ())
        body = [
            {
                "id": static_id(700_000 + spec.number * 100 + position),
                "sequence_number": str(position + 1),
                "display_label": module_spec(name).plural,
                "api_name": name,
                "module": {"api_name": name, "id": module_spec(name).module_id},
                "name": name,
                "action": None,
                "href": f"{spec.api_name}/{{id}}/{name}",
                "type": "default",
                "connectedmodule": None,
                "linkingmodule": None,
            }
            for position, name in enumerate(names)
        ]
        return json_response({"related_lists": body})

    async def custom_views(request: Request) -> Response:
        spec = _module_param(request)
        views = module_views(spec.api_name)
        if not views:
            raise ApiError(400, "INVALID_MODULE", "the module has no custom views", {"param": "module"})
        info = {
            "per_page": 200,
            "default": next(v.id for v in views if v.default),
            "count": len(views),
            "page": 1,
            "translation": _VIEW_CATEGORIES,
            "more_records": False,
        }
        return json_response({"custom_views": [view_body(v, started()) for v in views], "info": info})

    async def one_custom_view(request: Request) -> Response:
        spec = _module_param(request)
        view = find_view(spec.api_name, request.path_params["view_id"])
        if view is None:
            return no_content()
        return json_response({"custom_views": [view_body(view, started(), detailed=True)]})

    return [
        Route(BASE + "/custom_views", custom_views, methods=["GET"]),
        Route(BASE + "/custom_views/{view_id}", one_custom_view, methods=["GET"]),
        Route(BASE + "/modules", modules, methods=["GET"]),
        Route(BASE + "/modules/{api_name}", one_module, methods=["GET"]),
        Route(BASE + "/fields", fields, methods=["GET"]),
        Route(BASE + "/layouts", layouts, methods=["GET"]),
        Route(BASE + "/layouts/{layout_id}", one_layout, methods=["GET"]),
        Route(BASE + "/related_lists", related_lists, methods=["GET"]),
    ]
