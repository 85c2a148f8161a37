"""The API's door: every ``/bigin/`` request needs ``Authorization: Zoho-oauthtoken <token>``.

Checked before routing, as Zoho does, with Zoho's answers: no header is 401
``AUTHENTICATION_FAILURE``; a ``Bearer`` (or any other) scheme is 400 ``INVALID_REQUEST`` (a client
bug, not a token problem, so it is not a 401 that would make a client refresh and retry); an
unknown, revoked or expired token is 401 ``INVALID_TOKEN``. ``/oauth/`` paths pass untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes.http_input import AUTH_SCHEME
from bigin_emulator.routes.responses import error_response
from bigin_emulator.state.oauth import TokenAuthority

__all__ = ["AuthGate"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AuthGate:
    """ASGI middleware checking the access token before any ``/bigin/`` route runs (see above)."""

    def __init__(self, app: ASGIApp, authority: TokenAuthority) -> None:
        self.app = app
        self.authority = authority

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/bigin/"):
            refusal = self.refusal(scope)
            if refusal is not None:
                await error_response(refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> ApiError | None:
        header = next((v for k, v in scope.get("headers", []) if k.lower() == b"authorization"), None)
        if header is None or not header.strip():
            return ApiError(401, "AUTHENTICATION_FAILURE")
        scheme, _, token = header.decode("latin-1").strip().partition(" ")
        if scheme.lower() != AUTH_SCHEME:
            return ApiError(
                400,
                "INVALID_REQUEST",
                "the Authorization header must read 'Zoho-oauthtoken <access token>'",
                {"header": "Authorization"},
            )
        state = self.authority.check(token.strip())
        if state == "valid":
            return None
        message = "the access token has expired" if state == "expired" else "invalid oauth token"
        return ApiError(401, "INVALID_TOKEN", message)
