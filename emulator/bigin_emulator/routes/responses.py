"""The Starlette responses of every route: Zoho's JSON bodies, its error answers and its 204s.

One place builds them so that every answer has the same encoding and the content type Zoho sends
(``application/json;charset=UTF-8``), whichever route or middleware produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from bigin_emulator.ops.wire import JSON_CONTENT_TYPE, ApiError, encode_json

__all__ = ["error_response", "json_response", "no_content"]


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(content=encode_json(body), status_code=status, headers=dict(headers or {}))
    response.headers["content-type"] = JSON_CONTENT_TYPE
    return response


def error_response(error: ApiError) -> Response:
    """Zoho's top-level error answer for a call that failed as a whole."""
    return json_response(error.body(), error.status)


def no_content() -> Response:
    """Zoho's answer for an empty list, an empty search and an unknown id: 204, no body at all."""
    return Response(status_code=204)
