"""Zoho Accounts at the emulator's own address: ``/oauth/v2/token``, ``/token/revoke``, ``/auth``.

Parameters are read from the form body (parsed here: no multipart dependency) and the query
string alike (some clients
send the refresh grant as query parameters with an empty body). ``api_domain`` in a token answer
is the configured one, else the base URL the request came in on, so a client that trusts it (as it
should, docs/zoho-api-facts.md "Hosts and data centres") keeps talking to the emulator.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bigin_emulator.routes.responses import json_response
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.oauth import OAuthError

__all__ = ["oauth_routes"]


def oauth_routes(ctx: EmulatorContext) -> list[Route]:
    authority = ctx.oauth

    def base_url(request: Request) -> str:
        return ctx.config.api_domain or str(request.base_url).rstrip("/")

    async def params(request: Request) -> dict[str, str]:
        values = dict(request.query_params)
        body = await request.body()
        if body.strip():
            values.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return values

    async def token(request: Request) -> Response:
        given = await params(request)
        grant_type = given.get("grant_type")
        try:
            if grant_type == "refresh_token":
                body = authority.refresh(
                    given.get("client_id"), given.get("client_secret"), given.get("refresh_token")
                )
                ctx.counters.refresh()
            elif grant_type == "authorization_code":
                body = authority.exchange_code(
                    given.get("client_id"),
                    given.get("client_secret"),
                    given.get("code"),
                    given.get("redirect_uri"),
                )
            else:
                raise OAuthError("unsupported_grant_type")
        except OAuthError as error:
            return json_response(error.body, error.status)
        body["api_domain"] = base_url(request)
        return json_response(body)

    async def revoke(request: Request) -> Response:
        given = await params(request)
        authority.revoke(given.get("token", ""))
        return json_response({"status": "success"})

    async def authorize(request: Request) -> Response:
        """The consent page, pre-approved: redirect straight back with a one-time code."""
        query = request.query_params
        redirect_uri = query.get("redirect_uri")
        if not redirect_uri or query.get("client_id") != authority.config.client_id:
            return json_response({"error": "invalid_client"}, 400)
        code = authority.issue_code(query.get("client_id"), redirect_uri)
        answer = {"code": code, "location": "us", "accounts-server": base_url(request)}
        if query.get("state"):
            answer["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(answer)}", status_code=302)

    return [
        Route("/oauth/v2/token", token, methods=["POST"]),
        Route("/oauth/v2/token/revoke", revoke, methods=["POST"]),
        Route("/oauth/v2/auth", authorize, methods=["GET"]),
    ]
