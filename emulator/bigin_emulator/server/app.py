"""The Starlette app of one emulated org: routes, Zoho error bodies, the token check.

Route order matters where paths overlap: fixed paths (``/coql``, ``/org``, ``/users``,
``/settings/...``, ``/{Module}/search``, ``/{Module}/upsert``, ``/{Module}/deleted``,
``/{Module}/actions/...``) come
before the generic ``/{Module}/{id}`` ones, and ids only match digits. Anything unmatched is
Zoho's 404 ``INVALID_URL_PATTERN``; a known path with the wrong method is 405
``INVALID_REQUEST_METHOD``.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes.coql import coql_routes
from bigin_emulator.routes.deleted import deleted_routes
from bigin_emulator.routes.files import file_routes
from bigin_emulator.routes.oauth import oauth_routes
from bigin_emulator.routes.org import org_routes
from bigin_emulator.routes.pipelines import pipeline_routes
from bigin_emulator.routes.records import record_routes
from bigin_emulator.routes.related import related_routes
from bigin_emulator.routes.responses import error_response
from bigin_emulator.routes.search import search_routes
from bigin_emulator.routes.settings import settings_routes
from bigin_emulator.routes.tags import tag_routes
from bigin_emulator.server.auth_gate import AuthGate
from bigin_emulator.server.middleware import drop_connection
from bigin_emulator.state.context import EmulatorContext

__all__ = ["build_app"]


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(ApiError(405, "INVALID_REQUEST_METHOD"))
    if exc.status_code == 404:
        return error_response(ApiError(404, "INVALID_URL_PATTERN"))
    return error_response(ApiError(exc.status_code, "INVALID_REQUEST", str(exc.detail)))


def build_app(ctx: EmulatorContext, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The app; ``extra_routes`` (e.g. ``/actions/watch``) go before the generic module routes."""
    routes: list[BaseRoute] = [
        *extra_routes,
        *oauth_routes(ctx),
        *coql_routes(ctx),
        *org_routes(ctx),
        *pipeline_routes(ctx),
        *settings_routes(ctx),
        *tag_routes(ctx),
        *search_routes(ctx),
        *deleted_routes(ctx),
        *file_routes(ctx, drop_connection),  # before both: /files, /{Module}/{id}/Attachments, /photo
        *record_routes(ctx),
        *related_routes(ctx),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(AuthGate, authority=ctx.oauth, check_scopes=ctx.config.realism.check_scopes)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
