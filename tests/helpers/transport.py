"""Shared builders for the transport tests (respx mocks the Zoho hosts)."""

from __future__ import annotations

from typing import Any, TypedDict

import respx

from bigin_async import BiginClient

API = "https://www.zohoapis.com/bigin/v2"
TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"


class Secrets(TypedDict):
    """The three OAuth values a client is built with, typed so ``BiginClient(**SECRETS)`` is checked."""

    client_id: str
    client_secret: str
    refresh_token: str


SECRETS: Secrets = {
    "client_id": "1000.CLIENTID",
    "client_secret": "s3cr3t-client",
    "refresh_token": "1000.refresh-SECRET",
}
SECRET_STRINGS = (SECRETS["client_id"], SECRETS["client_secret"], SECRETS["refresh_token"])


def token_body(token: str = "1000.access-SECRET", expires_in: int = 3600) -> dict[str, Any]:
    return {
        "access_token": token,
        "expires_in": expires_in,
        "api_domain": "https://www.zohoapis.com",
        "token_type": "Bearer",
    }


def make_client(**overrides: Any) -> BiginClient:
    kwargs: dict[str, Any] = {**SECRETS, "retry_backoff_seconds": 0.0}
    kwargs.update(overrides)
    return BiginClient(**kwargs)


def mock_token(router: respx.MockRouter, token: str = "1000.access-SECRET") -> respx.Route:
    return router.post(TOKEN_URL).respond(json=token_body(token))
