"""Zoho Books' errors: a non-zero ``code`` in the body (``{"code": 1002, "message": ...}``).

Books answers ``{"code": 0, ...}`` on success and a numeric code otherwise, usually with a 4xx
status but sometimes with 200, so the body decides. Each error is also the matching Bigin error
class (``BooksNotFoundError`` is a ``NotFoundError``), so one ``except`` handles both products;
``books_code`` keeps Books' own number. The classes live in :mod:`bigin_async.errors` with every
other error of the SDK; they are re-exported here, where they have always been importable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bigin_async.errors import (
    BooksAuthenticationError,
    BooksDuplicateError,
    BooksError,
    BooksNotFoundError,
    BooksOrganizationError,
    BooksPermissionError,
    BooksValidationError,
)

__all__ = [
    "BooksAuthenticationError",
    "BooksDuplicateError",
    "BooksError",
    "BooksNotFoundError",
    "BooksOrganizationError",
    "BooksPermissionError",
    "BooksValidationError",
    "books_error",
]


_BY_CODE: dict[int, type[BooksError]] = {
    14: BooksAuthenticationError,
    57: BooksAuthenticationError,
    1002: BooksNotFoundError,
    3062: BooksDuplicateError,
    6041: BooksOrganizationError,
}

_BY_STATUS: dict[int, type[BooksError]] = {
    401: BooksAuthenticationError,
    403: BooksPermissionError,
    404: BooksNotFoundError,
}


def books_error(
    status: int, body: Mapping[str, Any] | None, *, method: str = "", url: str = "", fallback: str = ""
) -> BooksError:
    """The typed error for a Books answer with a non-zero code (or no usable body)."""
    raw_code = body.get("code") if body is not None else None
    message = str(body.get("message") or "") if body is not None else ""
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    cls = _BY_CODE.get(code) if code is not None else None
    if cls is None and "organization_id" in message:
        cls = BooksOrganizationError
    if cls is None:
        cls = _BY_STATUS.get(
            status, BooksValidationError if 400 <= status < 500 or status < 300 else BooksError
        )
    return cls(
        message or fallback or f"Zoho Books answered HTTP {status}",
        status_code=status,
        code=str(raw_code) if raw_code is not None else None,
        method=method,
        url=url,
    )
