"""Zoho's token endpoint (``POST {accounts}/oauth/v2/token``): its answers read, its errors typed.

Errors come back as HTTP 200 bodies too (``{"error": "invalid_code"}``), so the body decides; every
message is scrubbed of the form's own secrets, which the accounts server may echo back. A redirect
is never followed (the form would go with it) and never taken for an answer.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import SecretStr

from bigin_async._config import check_base_url
from bigin_async._redact import (
    SENSITIVE_KEYS,
    get_logger,
    redact_text,
    redact_with,
)
from bigin_async._safe_chain import without_request
from bigin_async.auth._token import Token, stray_character
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
    "redirected",
    "refresh_blocked",
    "sendable",
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
    code = redact_with(str(body.get("error") or "oauth_error"), secrets)
    description = redact_with(str(body.get("error_description") or ""), secrets)
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


def connection_error(
    exc: httpx.RequestError, url: str, *, secrets: Iterable[str] = (), what: str = "OAuth token request"
) -> BiginConnectionError:
    """The SDK's error for a request that failed on the way: what failed in its text, and as its
    cause a copy of httpx's exception without the request (see :func:`without_request`).

    Raise it outside the ``except`` block that caught ``exc``, or ``exc`` (request and all) is
    kept as its ``__context__``.
    """
    secrets = tuple(secrets)
    cause = without_request(exc, secrets)
    cls = BiginTimeoutError if isinstance(exc, httpx.TimeoutException) else BiginConnectionError
    said = f": {cause}" if str(cause) else ""
    error = cls(f"{what} failed: {type(exc).__name__}{said}", method="POST", url=url)
    error.__cause__ = cause
    return error


# A host as a redirect may name it: letters, digits, dots, dashes (an IPv6 address: colons too).
_HOST = re.compile(r"[A-Za-z0-9.:-]{1,253}")


def redirected(response: httpx.Response, url: str, consequence: str) -> AuthenticationError:
    """A 3xx from the accounts server as the error it is: where it pointed (the host alone) and
    what it means for the caller (``consequence``: no token was issued, the token may still work).

    A wrong data centre or a captive portal answers with a redirect. It is not followed, since the
    form (or the token in the URL) would go with it to the host it names, and it is not an answer.
    """
    status = response.status_code
    location = response.headers.get("location", "")
    host = ""
    if location:
        try:
            host = urlsplit(urljoin(url, location)).hostname or ""
        except ValueError:  # a Location that is not a URL (an unbalanced IPv6 bracket...)
            host = ""
    if host and _HOST.fullmatch(host):
        where = f"to {redact_text(host)}"
    else:
        where = "to an unreadable address" if location else "without saying where"
    return AuthenticationError(
        f"the OAuth server redirected the request {where} (HTTP {status}) instead of answering it: "
        f"{consequence}. Redirects are not followed, the secrets would go with them; check the region "
        "(or accounts_url): another data centre's accounts server redirects to its own",
        status_code=status,
        code="redirected",
        method="POST",
        url=url,
    )


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
    if 300 <= response.status_code < 400:  # whatever its body says: only a 2xx is an answer
        raise redirected(response, url, "no token was issued")
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
        or not 200 <= response.status_code < 300
    ):
        advised = parse_retry_after(response.headers)
        raise oauth_error(body, response.status_code, url, secrets=secrets, retry_after=advised, now=now)
    return body


def form_secrets(form: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(value for key, value in form.items() if key in SENSITIVE_KEYS)


async def token_request(
    http: httpx.AsyncClient, url: str, form: Mapping[str, str], timeout: float
) -> dict[str, Any]:
    """POST a form to the token endpoint once (no retries: for the one-off helpers).

    Redirects are not followed, even by a client that follows them: the form would go with it.
    """
    secrets = form_secrets(form)
    try:
        response = await http.post(url, data=dict(form), timeout=timeout, follow_redirects=False)
    except httpx.RequestError as exc:
        failure = connection_error(exc, url, secrets=secrets)
    else:
        return read_answer(response, url, secrets)
    raise failure  # outside the except block: httpx's exception, form and all, is not its context


def sendable(body: Mapping[str, Any], key: str, url: str, status: int = 200) -> str:
    """The token ``body[key]`` as a string that can be sent back (in a header, in a form), or the
    :class:`AuthenticationError` of a malformed answer, which names the character, never the value.

    A token with a character that is not printable ASCII, a space or a line break in it (an odd
    or hostile answer) could not go in the ``Authorization`` header: httpx would fail on it with
    the whole header, token included, in its error, or a CR/LF would split the header in two.
    """
    value = body.get(key)
    if isinstance(value, str) and value:
        stray = stray_character(value)
        if stray is None:
            return value
        position, char = stray
        problem = (
            f"its {key} cannot be sent in a header: {char} at position {position} of {len(value)} "
            "(the value is not shown)"
        )
    else:
        kind = "missing" if value is None else "empty" if value == "" else f"a {type(value).__name__}"
        problem = f"its {key} is not a token ({kind})"
    raise AuthenticationError(
        f"the OAuth server's answer is malformed: {problem}",
        status_code=status,
        code="malformed_token",
        method="POST",
        url=url,
    )


def token_from_body(body: Mapping[str, Any], now: float, *, url: str = "", status: int = 200) -> Token:
    """The access token of the token endpoint's answer (``body``, as :func:`read_answer` gave
    it), or the :class:`AuthenticationError` of a malformed answer (see :func:`sendable`)."""
    access = sendable(body, "access_token", url, status)
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
        access_token=SecretStr(access),
        expires_at=now + ttl_seconds,
        api_domain=check_base_url("api_domain (from the token response)", str(domain)) if domain else None,
        lifetime=ttl_seconds,
    )
