"""What is safe to retry, and how long to wait: the retry table of docs/design.md as code.

| outcome                                              | retry?                                  |
|------------------------------------------------------|-----------------------------------------|
| connect error, connect/pool timeout, 429             | yes, any method (the server never saw it)|
| any failure before the request's last byte was sent  | yes, any method (it cannot have acted)  |
| read timeout, dropped connection, 5xx after sending  | only idempotent calls                   |
| a 2xx whose body is not the shape the caller expects | like a 5xx (the write may be applied)   |
| same, for a plain insert (POST)                      | no: the fate of the records is unknown  |
| 401 INVALID_TOKEN                                    | refresh once, then one retry            |
| any other 4xx                                        | no                                      |
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable, Mapping

import httpx

from bigin_async.errors import parse_retry_after

__all__ = [
    "Outcome",
    "backoff_delay",
    "classify_exception",
    "classify_status",
    "header_seconds",
    "is_idempotent",
    "reset_in",
]

# Paths whose POST reads or converges instead of creating: safe to send twice.
_IDEMPOTENT_POST_SUFFIXES = ("/upsert", "/search", "/coql", "/actions/add_tags", "/actions/remove_tags")


def is_idempotent(method: str, path: str, override: bool | None = None) -> bool:
    """Whether sending this request twice leaves the server as sending it once would."""
    if override is not None:
        return override
    method = method.upper()
    if method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"):
        # DELETE is not idempotent in its *answer* (a second delete reports an error), but it
        # is in its effect: the record is gone either way.
        return True
    bare = path.split("?", 1)[0].rstrip("/")
    return bare.endswith(_IDEMPOTENT_POST_SUFFIXES) or bare == "/coql"


class Outcome(enum.Enum):
    """How one attempt ended, as far as retrying is concerned."""

    SUCCESS = "success"
    NOT_SENT = "not_sent"  # connect failure: retry any method
    AMBIGUOUS = "ambiguous"  # may have been applied: retry idempotent only
    RATE_LIMITED = "rate_limited"  # 429: retry any method after the advised wait
    TOKEN_REJECTED = "token_rejected"  # 401 INVALID_TOKEN: refresh once and retry once
    FATAL = "fatal"  # other 4xx: never retry


def classify_exception(exc: Exception, *, request_sent: bool | None = None) -> Outcome:
    """Connect-phase failures never reached the server; anything after sending may have.

    ``request_sent`` is what the connection itself saw, when it can tell: ``False`` means the
    request never left whole (a connection found dead while writing, a timeout before the last
    byte), so the server cannot have acted on it and any method may be retried; ``None`` (no
    evidence) and ``True`` leave the decision to the kind of failure.
    """
    if isinstance(exc, httpx.UnsupportedProtocol):
        return Outcome.FATAL  # a configuration error: retrying cannot help
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return Outcome.NOT_SENT
    if isinstance(exc, httpx.RequestError) and request_sent is False:
        return Outcome.NOT_SENT
    if isinstance(exc, httpx.RequestError):  # read/write timeouts, dropped connections, undecodable bodies
        return Outcome.AMBIGUOUS
    return Outcome.FATAL


def classify_status(status: int, code: str | None) -> Outcome:
    if status < 400:
        return Outcome.SUCCESS
    if status == 429:
        return Outcome.RATE_LIMITED
    if status == 401 and code in (None, "INVALID_TOKEN", "AUTHENTICATION_FAILURE"):
        return Outcome.TOKEN_REJECTED
    if status >= 500:
        return Outcome.AMBIGUOUS
    return Outcome.FATAL


def backoff_delay(
    attempt: int, base: float, *, cap: float = 30.0, uniform: Callable[[float, float], float] = random.uniform
) -> float:
    """Full jitter: ``uniform(0, min(cap, base * 2**attempt))``, so retries never march in lock-step."""
    ceiling = min(cap, base * (2 ** min(attempt, 30)))
    return uniform(0.0, ceiling) if ceiling > 0 else 0.0


def header_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``Retry-After``/``X-RateLimit-Reset``; an unreadable value counts as absent.

    These headers come from Zoho or from any proxy on the way: ``inf``, ``nan`` or garbage must
    never fail a call (an insert already applied would be reported as failed) nor stall it.
    """
    try:
        seconds = parse_retry_after(headers)
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def reset_in(headers: Mapping[str, str]) -> float | None:
    """Seconds until Zoho's count of credits resets (``X-RateLimit-Reset``); None: not said."""
    if "x-ratelimit-reset" not in headers:
        return None
    return header_seconds({"x-ratelimit-reset": headers["x-ratelimit-reset"]})
