"""Zoho's error bodies and its JSON encoding: what an operation answers, before any HTTP.

Operations and routes raise ``ApiError`` for a request-level failure; the app's handler turns it
into Zoho's top-level body ``{"code", "details", "message", "status": "error"}``. Per-record
failures are entries inside ``data`` instead, built with ``record_error``. Bodies are encoded once
with ``ensure_ascii=False`` (Zoho sends UTF-8, emoji and all). The Starlette responses carrying
them live in ``routes.responses``, so the operations stay plain Python.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "JSON_CONTENT_TYPE",
    "ApiError",
    "encode_json",
    "record_error",
]

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"

# Zoho's own wording for the codes the emulator raises; a caller may always pass its own message.
_DEFAULT_MESSAGES: dict[str, str] = {
    "AUTHENTICATION_FAILURE": "Authentication failed",
    "INVALID_TOKEN": "invalid oauth token",
    "INVALID_REQUEST": "invalid request",
    "INVALID_MODULE": "the module name given seems to be invalid",
    "INVALID_URL_PATTERN": "Please check if the URL trying to access is a correct one",
    "INVALID_REQUEST_METHOD": "The http request method type is not a valid one",
    "REQUIRED_PARAM_MISSING": "One of the expected parameter is missing",
    "MANDATORY_NOT_FOUND": "required field not found",
    "INVALID_DATA": "invalid data",
    "DUPLICATE_DATA": "duplicate data",
    "LIMIT_EXCEEDED": "the limit has been exceeded",
    "INVALID_QUERY": "invalid query formed",
    "SYNTAX_ERROR": "error in the query syntax",
    "DISCRETE_PAGINATION_LIMIT_EXCEEDED": "cannot fetch more than 2000 records using page; use page_token",
}


class ApiError(Exception):
    """A request-level error: the whole call failed, answered with one top-level error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message or _DEFAULT_MESSAGES.get(code, code.lower().replace("_", " "))
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(f"{status} {code}: {self.message}")

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


def record_error(code: str, details: Mapping[str, Any], message: str | None = None) -> dict[str, Any]:
    """One failed entry of a write result, in the same key order as the success entries."""
    return {
        "code": code,
        "details": dict(details),
        "message": message or _DEFAULT_MESSAGES.get(code, code.lower().replace("_", " ")),
        "status": "error",
    }


# Bodies are trees of fresh dicts and lists, never cyclic: skipping the encoder's cycle check
# (a lookup per container) makes a 100-record write result about a third cheaper to encode.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def encode_json(body: Any) -> bytes:
    """``body`` as the UTF-8 JSON bytes Zoho sends (compact, non-ASCII kept as is)."""
    return _ENCODER.encode(body).encode("utf-8")
