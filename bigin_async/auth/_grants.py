"""The one-off OAuth helpers: the consent-screen URL, the authorization-code exchange, revoking."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from bigin_async._config import Region, check_base_url, resolve_region
from bigin_async.auth._endpoint import (
    connection_error,
    oauth_error,
    redirected,
    sendable,
    token_from_body,
    token_request,
)
from bigin_async.auth._token import SCOPES
from bigin_async.errors import (
    BiginConnectionError,
    ConfigurationError,
)

__all__ = ["TokenGrant", "authorization_url", "exchange_code", "revoke"]


def _accounts(region: str | Region, accounts_url: str | None) -> str:
    if accounts_url:
        return check_base_url("accounts_url", accounts_url)
    return resolve_region(region).accounts_url


def authorization_url(
    client_id: str,
    redirect_uri: str,
    *,
    scopes: Sequence[str] = SCOPES,
    region: str | Region = "us",
    accounts_url: str | None = None,
    access_type: str = "offline",
    prompt: str | None = "consent",
    state: str | None = None,
) -> str:
    """The consent-screen URL; ``access_type=offline`` so the code yields a refresh token."""
    if not scopes:
        raise ConfigurationError("at least one scope is needed")
    params = {
        "scope": ",".join(scopes),
        "client_id": client_id,
        "response_type": "code",
        "access_type": access_type,
        "redirect_uri": redirect_uri,
    }
    if prompt:
        params["prompt"] = prompt
    if state:
        params["state"] = state
    return f"{_accounts(region, accounts_url)}/oauth/v2/auth?{urlencode(params)}"


@dataclass(frozen=True)
class TokenGrant:
    """What an authorization-code exchange returns: keep ``refresh_token`` somewhere safe."""

    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_in: float
    api_domain: str | None
    scope: str | None = None


@contextlib.asynccontextmanager
async def _http(client: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
    else:
        async with httpx.AsyncClient() as owned:
            yield owned


async def exchange_code(
    code: str,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str | None = None,
    region: str | Region = "us",
    accounts_url: str | None = None,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 30.0,
) -> TokenGrant:
    """Authorization-code grant; also turns a Self Client code into a refresh token.

    A redirect is refused, not followed (the client secret and the code would go with it); a
    token in the answer that could not be sent back (a stray character) is refused too.
    """
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "code": code,
    }
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    url = f"{_accounts(region, accounts_url)}/oauth/v2/token"
    async with _http(http_client) as http:
        body = await token_request(http, url, form, timeout)
    token = token_from_body(body, 0.0, url=url)
    refresh = sendable(body, "refresh_token", url) if body.get("refresh_token") else None
    return TokenGrant(
        access_token=token.access_token,
        refresh_token=SecretStr(refresh) if refresh else None,
        expires_in=float(token.expires_at or 3600.0),
        api_domain=token.api_domain,
        scope=body.get("scope"),
    )


async def revoke(
    token: str,
    *,
    region: str | Region = "us",
    accounts_url: str | None = None,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = 30.0,
) -> None:
    """Revoke a refresh token (and the access tokens it minted).

    Zoho takes the token in the query (``POST .../oauth/v2/token/revoke?token=...``), as its
    documentation gives it: the SDK's own logs, errors and events show ``token=[REDACTED]``, but a
    tracing instrumentation of httpx that records whole URLs (``http.url``) would record the
    token as it is: leave Zoho's accounts host out of such an instrumentation, or drop the query
    in its request hook.

    Only a 2xx answer is a revoked token. A redirect (another data centre's accounts server, a
    captive portal) raises :class:`~bigin_async.AuthenticationError` saying where it pointed: the
    token may still work. It is not followed, even by an ``http_client`` that follows redirects,
    since the token would go with it.
    """
    url = f"{_accounts(region, accounts_url)}/oauth/v2/token/revoke"
    failure: BiginConnectionError | None = None
    async with _http(http_client) as http:
        try:
            response = await http.post(url, params={"token": token}, timeout=timeout, follow_redirects=False)
        except httpx.RequestError as exc:
            failure = connection_error(exc, url, secrets=(token,), what="token revoke")
    if failure is not None:
        raise failure  # outside the except block: httpx's exception, token and all, is not its context
    status = response.status_code
    if 300 <= status < 400:
        raise redirected(response, url, "the token may not be revoked, it may still work")
    try:
        body = response.json()
    except (ValueError, RecursionError):  # garbage or a body nested past the parser
        body = {}
    if not 200 <= status < 300 or (isinstance(body, dict) and "error" in body):
        raise oauth_error(body if isinstance(body, dict) else {}, status, url, secrets=(token,))
