"""``GET /users`` (``type=``, paged, ``info`` without tokens or sort keys), ``/users/{id}`` and ``/org``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.paging import parse_page_params
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.org_data import USERS, org_body, user_body, users_of_type

__all__ = ["org_routes"]


def org_routes(ctx: EmulatorContext) -> list[Route]:
    def created() -> str:
        return ctx.format_time(ctx.started_at)

    async def users(request: Request) -> Response:
        user_type = request.query_params.get("type") or "AllUsers"
        chosen = users_of_type(user_type)
        if chosen is None:
            raise ApiError(400, "INVALID_DATA", f"unknown user type {user_type!r}", {"param": "type"})
        params = parse_page_params(request.query_params, ctx, "users", allow_token=False, sort_fields=None)
        start = (params.page - 1) * params.per_page
        page = chosen[start : start + params.per_page]
        if not page:
            return no_content()
        info = {
            "per_page": params.per_page,
            "count": len(page),
            "page": params.page,
            "more_records": start + params.per_page < len(chosen),
        }
        return json_response({"users": [user_body(u, created()) for u in page], "info": info})

    async def one_user(request: Request) -> Response:
        user = next((u for u in USERS if u.id == request.path_params["user_id"]), None)
        return json_response({"users": [user_body(user, created())]}) if user else no_content()

    async def org(request: Request) -> Response:
        return json_response({"org": [org_body(ctx.format_time(ctx.started_at + 14 * 86_400))]})

    return [
        Route("/bigin/v2/users", users, methods=["GET"]),
        Route("/bigin/v2/users/{user_id:record_id}", one_user, methods=["GET"]),
        Route("/bigin/v2/org", org, methods=["GET"]),
    ]
