"""Reading a request the way Zoho does: the module in the path, the JSON body, the ``data`` array.

Request-level refusals (the whole call fails, nothing is written) come from here: an unknown
module (``/Companies`` is one: the API name is ``Accounts``), a body that is not JSON, a missing
or empty ``data`` array, more than 100 records, more than 100 ids.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from bigin_emulator.ops.wire import ApiError
from bigin_emulator.state.metadata import ModuleSpec, get_module

__all__ = [
    "DECODED_BODY_KEY",
    "MAX_WRITE_RECORDS",
    "access_token",
    "id_list",
    "module_spec",
    "read_json",
    "write_items",
    "write_status",
]

MAX_WRITE_RECORDS = 100
# Where the server's middleware leaves a write body it decoded to count credits, so that
# ``read_json`` does not decode the same bytes a second time.
DECODED_BODY_KEY = "bigin_emulator.decoded_body"
AUTH_SCHEME = "zoho-oauthtoken"


def access_token(headers: Any) -> str:
    """The token of an ``Authorization: Zoho-oauthtoken <token>`` header ("" without one)."""
    scheme, _, token = str(headers.get("authorization", "")).strip().partition(" ")
    return token.strip() if scheme.lower() == AUTH_SCHEME else ""


def module_spec(name: str) -> ModuleSpec:
    spec = get_module(name)
    if spec is None:
        raise ApiError(400, "INVALID_MODULE", details={"resource_path_index": 0})
    return spec


async def read_json(request: Request) -> Any:
    decoded = request.scope.get(DECODED_BODY_KEY)
    if decoded is not None:
        return decoded  # the middleware decoded this very body to count its credits
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "INVALID_DATA", "the request body is empty", {"param": "body"})
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "INVALID_DATA", "the request body is not valid JSON", {"param": "body"}) from None


def write_items(body: Any, key: str = "data") -> list[Any]:
    """The records of a write body; Zoho refuses the whole call when the array itself is wrong."""
    if not isinstance(body, dict) or key not in body:
        raise ApiError(400, "REQUIRED_PARAM_MISSING", f"the {key} array is missing", {"param": key})
    items = body[key]
    if not isinstance(items, list):
        raise ApiError(
            400, "INVALID_DATA", f"{key} must be an array", {"param": key, "expected_data_type": "jsonarray"}
        )
    if not items:
        raise ApiError(400, "INVALID_DATA", f"the {key} array is empty", {"param": key})
    if len(items) > MAX_WRITE_RECORDS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"at most {MAX_WRITE_RECORDS} records can be written in one call, got {len(items)}",
            {"param": key, "limit": MAX_WRITE_RECORDS},
        )
    return items


def id_list(raw: str | None, param: str = "ids", limit: int = MAX_WRITE_RECORDS) -> list[str]:
    """A comma-separated id parameter, de-duplicated in order, at most ``limit`` (100) ids."""
    if raw is None or not raw.strip():
        raise ApiError(400, "REQUIRED_PARAM_MISSING", details={"param": param})
    ids = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if len(ids) > limit:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"at most {limit} ids per call",
            {"param": param, "limit": limit},
        )
    return ids


def write_status(entries: Sequence[dict[str, Any]], all_ok: int) -> int:
    """HTTP status of a write: ``all_ok`` when every entry succeeded, 400 when none did, else 207.

    Zoho documents 201 for inserts, 200 for updates/upserts/deletes and 202 for "multiple
    records"; which status a partial failure gets is not recorded, so the emulator answers the
    multi-status 207 and clients must read each entry (docs/zoho-api-facts.md, Writing records).
    """
    failed = sum(1 for e in entries if e.get("status") != "success")
    if failed == 0:
        return all_ok
    if failed == len(entries):
        return 400
    return 207
