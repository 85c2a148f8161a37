"""Zoho Books' errors: a non-zero ``code`` in the body (``{"code": 1002, "message": ...}``).

Books answers ``{"code": 0, ...}`` on success and a numeric code otherwise, usually with a 4xx
status but sometimes with 200, so the body decides. Each error is also the matching Bigin error
class (``BooksNotFoundError`` is a ``NotFoundError``), so one ``except`` handles both products;
``books_code`` keeps Books' own number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bigin_async.errors import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
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


class BooksError(APIError):
    """Zoho Books refused the call; ``books_code`` is its numeric code."""

    @property
    def books_code(self) -> int | None:
        try:
            return int(self.code) if self.code is not None else None
        except ValueError:
            return None


class BooksAuthenticationError(BooksError, AuthenticationError):
    """The token was refused (code 57, HTTP 401); the client refreshes once before raising this."""


class BooksPermissionError(BooksError, PermissionDeniedError):
    """The token lacks a Books scope (``ZohoBooks.contacts.ALL`` or ``ZohoBooks.fullaccess.ALL``)."""


class BooksNotFoundError(BooksError, NotFoundError):
    """No such contact (code 1002) or URL."""


class BooksValidationError(BooksError, InvalidRequestError):
    """The request or its data was refused (a missing contact_name, a bad value, ...)."""


class BooksDuplicateError(BooksValidationError):
    """A contact with that ``contact_name`` exists already (code 3062): Books names are unique."""


class BooksOrganizationError(BooksValidationError):
    """``organization_id`` is missing or names an organization the token cannot reach."""


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
