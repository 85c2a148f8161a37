"""A failed access token refresh as plain JSON for the other processes, and back as the error.

One process's refresh fails (the accounts server down, a 500, "Access Denied", a refused refresh
token) while other processes sharing its token store wait for the store's lock. The failure goes
into the store as a small JSON object, without secrets; each waiting process raises it, as the same
error class, instead of sending a refresh of its own (:class:`~bigin_async.auth.RefreshFailures`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bigin_async._redact import redact_text
from bigin_async.auth._token import is_time
from bigin_async.errors import (
    APIError,
    AuthenticationError,
    BiginConnectionError,
    BiginTimeoutError,
    RateLimitError,
    RefreshBlockedError,
    ServerError,
)

__all__ = ["SHARED", "as_time", "failure_record", "failure_since", "shared_error"]

# The errors a refresh raises to its callers that the processes waiting for it raise too: Zoho's
# answers (a refusal, its block, a 5xx or 429 after the flight's tries) and the network failing.
SHARED: tuple[type[Exception], ...] = (
    RefreshBlockedError,
    AuthenticationError,
    RateLimitError,
    ServerError,
    BiginTimeoutError,
    BiginConnectionError,
)
_BY_NAME = {cls.__name__: cls for cls in SHARED}


def as_time(value: object) -> float | None:
    """``value`` as epoch seconds if it is a finite number (not a bool), else None."""
    return float(value) if isinstance(value, (int, float)) and is_time(value) else None


def failure_since(entry: object, since: float) -> Mapping[str, Any] | None:
    """``entry`` if it is a kept failure (a JSON object with a ``class`` and a numeric ``when``) at
    or after ``since``; anything else (a hand-edited file, another program's key) is no failure."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("class"), str):
        return None
    when = as_time(entry.get("when"))
    if when is None or when < since:
        return None
    return entry


def failure_record(error: Exception, when: float) -> dict[str, Any]:
    """``error`` as JSON: its class (the nearest of :data:`SHARED`), message (redacted again: a
    server may have echoed a secret), Zoho's code, the HTTP status, and ``when`` (epoch seconds)."""
    cls = next((c for c in type(error).__mro__ if c in SHARED), BiginConnectionError)
    message = error.message if isinstance(error, APIError) else str(error)
    record: dict[str, Any] = {"class": cls.__name__, "message": redact_text(message), "when": when}
    if isinstance(error, APIError):
        record["code"] = error.code
        record["status"] = error.status_code
    if isinstance(error, RefreshBlockedError):
        record["retry_at"] = error.retry_at
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        record["retry_after"] = error.retry_after
    return record


def shared_error(failure: Mapping[str, Any], *, url: str, now: float) -> Exception:
    """The error another process kept, raised here as the same class, saying whose it was. A record
    this version does not know (another class, a missing retry time) is a connection error."""
    text = failure.get("message")
    message = (
        "another process's access token refresh failed moments ago, so this one sent none: "
        + redact_text(text if isinstance(text, str) else "")
    )
    raw_code = failure.get("code")
    code = raw_code if isinstance(raw_code, str) else None
    raw_status = failure.get("status")
    status = raw_status if isinstance(raw_status, int) and not isinstance(raw_status, bool) else 0
    cls = _BY_NAME.get(str(failure.get("class")), BiginConnectionError)
    until = as_time(failure.get("retry_at"))
    if cls is RefreshBlockedError and until is not None:
        return RefreshBlockedError(
            message, retry_at=until, retry_after=max(0.0, until - now), status_code=status, code=code,
            method="POST", url=url,
        )  # fmt: skip
    if cls is RateLimitError:
        return RateLimitError(
            message, retry_after=as_time(failure.get("retry_after")), status_code=status, code=code,
            method="POST", url=url,
        )  # fmt: skip
    if cls is AuthenticationError:
        return AuthenticationError(message, status_code=status, code=code, method="POST", url=url)
    if cls is ServerError:
        return ServerError(message, status_code=status, code=code, method="POST", url=url)
    if cls is BiginTimeoutError:
        return BiginTimeoutError(message, method="POST", url=url)
    return BiginConnectionError(message, method="POST", url=url)
