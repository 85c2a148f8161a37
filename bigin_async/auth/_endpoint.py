"""Zoho's token endpoint (``POST {accounts}/oauth/v2/token``): its answers read, its errors typed.

Errors come back as HTTP 200 bodies too (``{"error": "invalid_code"}``), so the body decides; every
message is scrubbed of the form's own secrets, which the accounts server may echo back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from bigin_async._config import check_base_url
from bigin_async._redact import REDACTED, SENSITIVE_KEYS, get_logger, redact_text
from bigin_async.auth._token import Token
from bigin_async.errors import (
    AuthenticationError,
    BiginConnectionError,
    BiginTimeoutError,
    RateLimitError,
    RefreshBlockedError,
    ServerError,
    parse_retry_after,
)

logger = get_logger("auth")

__all__ = [
    "PERMANENT_ERRORS",
    "ZOHO_TOKEN_LIFE",
    "ZOHO_WINDOW",
    "connection_error",
    "form_secrets",
    "in_words",
    "oauth_error",
    "read_answer",
    "refresh_blocked",
    "token_from_body",
    "token_request",
]


# Zoho's limit on minting: 10 access tokens per refresh token in 10 minutes.
ZOHO_WINDOW = 600.0
# How long Zoho's access tokens live.
ZOHO_TOKEN_LIFE = 3600.0


# Answers that asking again will not change: the refresh token is revoked, invalid or of another
# data centre, or the client id/secret are wrong. Only the user can fix them.
PERMANENT_ERRORS = frozenset(
    {"invalid_code", "invalid_client", "invalid_client_secret", "invalid_grant", "unauthorized_client"}
)

_ERROR_HINTS = {
    "invalid_client": (
        "the client_id/client_secret were refused: check them, and check the region: a client "
        "registered in one data centre is unknown to the others' accounts server"
    ),
    "invalid_code": (
        "the refresh token (or authorization code) is invalid, expired or revoked, or belongs to "
        "another data centre"
    ),
    "invalid_redirect_uri": "the redirect_uri does not match the one registered with the client",
    "access denied": (
        "Zoho blocked refreshes for this refresh token (more than 10 in 10 minutes); wait and share "
        "one token store between processes"
    ),
}


def _scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` without tokens: the usual patterns, and the form's own values wherever they show
    (the accounts server may echo the form back, in any syntax, in ``error_description``)."""
    text = redact_text(text)
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def in_words(seconds: float) -> str:
    minutes, secs = divmod(max(0, math.ceil(seconds)), 60)
    if minutes and secs:
        return f"{minutes} min {secs} s"
    return f"{minutes} min" if minutes else f"{secs} s"


def refresh_blocked(
    reason: str, *, now: float, until: float, code: str, status: int = 0, **kwargs: Any
) -> RefreshBlockedError:
    wait = max(0.0, until - now)
    when = time.strftime("%H:%M:%S UTC", time.gmtime(until))
    return RefreshBlockedError(
        f"{reason}; refresh may be tried again in {in_words(wait)} (at {when})",
        retry_at=until,
        retry_after=wait,
        status_code=status,
        code=code,
        **kwargs,
    )


def oauth_error(
    body: Mapping[str, Any], status: int, url: str, *, secrets: Iterable[str] = (),
    retry_after: float | None = None, now: float | None = None,
) -> AuthenticationError:  # fmt: skip
    secrets = tuple(secrets)
    code = _scrub(str(body.get("error") or "oauth_error"), secrets)
    description = _scrub(str(body.get("error_description") or ""), secrets)
    hint = _ERROR_HINTS.get(code.lower(), "")
    message = f"OAuth token request failed: {code}"
    if description:
        message += f" ({description})"
    if hint:
        message += f"; likely cause: {hint}"
    details = {"error": code, "error_description": description} if description else {"error": code}
    if code.lower() == "access denied" or "too many requests" in description.lower():
        now = time.time() if now is None else now
        wait = retry_after if retry_after is not None else ZOHO_WINDOW
        return refresh_blocked(
            message,
            now=now,
            until=now + wait,
            code=code,
            status=status,
            details=details,
            method="POST",
            url=url,
        )
    return AuthenticationError(
        message, status_code=status, code=code, details=details, method="POST", url=url
    )


def connection_error(exc: httpx.RequestError, url: str) -> BiginConnectionError:
    cls = BiginTimeoutError if isinstance(exc, httpx.TimeoutException) else BiginConnectionError
    return cls(f"OAuth token request failed: {type(exc).__name__}", method="POST", url=url)


def read_answer(
    response: httpx.Response, url: str, secrets: Iterable[str], now: float | None = None
) -> dict[str, Any]:
    """The token endpoint's body, or the typed error it stands for.

    Errors come back as HTTP 200 bodies too, so the body decides, except that a 5xx or 429 is the
    server failing (worth another try), whatever its body says.
    """
    if response.status_code >= 500 or response.status_code == 429:
        cls = RateLimitError if response.status_code == 429 else ServerError
        raise cls(
            f"the OAuth server failed (HTTP {response.status_code})",
            status_code=response.status_code,
            method="POST",
            url=url,
        )
    try:
        body = response.json()
    except (ValueError, RecursionError):  # garbage or a body nested past the parser
        body = None
    if not isinstance(body, dict):
        raise AuthenticationError(
            f"OAuth server answered HTTP {response.status_code} without a JSON body",
            status_code=response.status_code,
            method="POST",
            url=url,
        )
    if (
        "error" in body
        or ("access_token" not in body and "refresh_token" not in body)
        or response.status_code >= 400
    ):
        advised = parse_retry_after(response.headers)
        raise oauth_error(body, response.status_code, url, secrets=secrets, retry_after=advised, now=now)
    return body


def form_secrets(form: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(value for key, value in form.items() if key in SENSITIVE_KEYS)


async def token_request(
    http: httpx.AsyncClient, url: str, form: Mapping[str, str], timeout: float
) -> dict[str, Any]:
    """POST a form to the token endpoint once (no retries: for the one-off helpers)."""
    try:
        response = await http.post(url, data=dict(form), timeout=timeout)
    except httpx.RequestError as exc:
        raise connection_error(exc, url) from exc
    return read_answer(response, url, form_secrets(form))


def token_from_body(body: Mapping[str, Any], now: float) -> Token:
    ttl = body.get("expires_in_sec", body.get("expires_in"))
    try:
        ttl_seconds = float(ttl) if ttl is not None else ZOHO_TOKEN_LIFE
    except (TypeError, ValueError):
        ttl_seconds = math.nan
    if not math.isfinite(ttl_seconds) or ttl_seconds <= 0:
        # Not a lifetime (negative, zero, NaN): taken at its word, every call would refresh and
        # Zoho would block the refresh token within minutes. Zoho's tokens live an hour.
        logger.warning(
            "the token endpoint gave no usable expires_in; assuming Zoho's %.0f s",
            ZOHO_TOKEN_LIFE,
            extra={"bigin_event": "token_expiry_assumed"},
        )
        ttl_seconds = ZOHO_TOKEN_LIFE
    if ttl_seconds > 86_400 * 2:  # some responses give milliseconds
        ttl_seconds /= 1000.0
    domain = body.get("api_domain")
    return Token(
        access_token=SecretStr(str(body["access_token"])),
        expires_at=now + ttl_seconds,
        api_domain=check_base_url("api_domain (from the token response)", str(domain)) if domain else None,
        lifetime=ttl_seconds,
    )
