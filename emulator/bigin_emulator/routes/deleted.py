"""``GET /{Module}/deleted?type=all|recycle|permanent``: the module's deleted records, paged.

Paged by number (``page``, ``per_page`` up to 200, no page tokens), the most recently deleted
first, 204 when there are none; an unknown ``type`` is a 400 ``INVALID_DATA``. What the list holds
is kept by ``state.deleted.RecycleBin``: every delete puts a record in the recycle bin, and
``BiginEmulator.purge_recycle_bin()`` or the bin's retention moves it to the permanent list.
"""

from __future__ import annotations

from typing import Literal, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.numbered_pages import numbered_page
from bigin_emulator.ops.paging import parse_page_params
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.http_input import module_spec
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext

__all__ = ["DELETED_TYPES", "deleted_routes"]

DELETED_TYPES = ("all", "recycle", "permanent")


def deleted_routes(ctx: EmulatorContext) -> list[Route]:
    async def deleted(request: Request) -> Response:
        spec = module_spec(request.path_params["module"])
        kind = request.query_params.get("type") or "all"
        if kind not in DELETED_TYPES:
            raise ApiError(
                400, "INVALID_DATA", f"type must be one of {', '.join(DELETED_TYPES)}", {"param": "type"}
            )
        scope = f"{spec.api_name}/deleted"
        params = parse_page_params(request.query_params, ctx, scope, allow_token=False, sort_fields=None)
        entries = ctx.recycle_bin.entries(spec.api_name, cast(Literal["all", "recycle", "permanent"], kind))
        page, info = numbered_page(entries, params)
        if not page:
            return no_content()
        return json_response({"data": [entry.body() for entry in page], "info": info})

    return [Route("/bigin/v2/{module:module}/deleted", deleted, methods=["GET"])]
