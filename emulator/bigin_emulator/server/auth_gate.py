"""The API's door: every ``/bigin/`` request needs ``Authorization: Zoho-oauthtoken <token>``.

Checked before routing, as Zoho does, with Zoho's answers: no header is 401
``AUTHENTICATION_FAILURE``; a ``Bearer`` (or any other) scheme is 400 ``INVALID_REQUEST`` (a client
bug, not a token problem, so it is not a 401 that would make a client refresh and retry); an
unknown, revoked or expired token is 401 ``INVALID_TOKEN``. ``/oauth/`` paths pass untouched.

With the ``check_scopes`` switch, a valid token must also carry a scope that paths of
``SCOPED_PATHS`` need (Bulk Read and Bulk Write jobs, the file host's upload): otherwise 401
``OAUTH_SCOPE_MISMATCH``, as Zoho answers a token consented for less.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bigin_emulator.ops.wire import ApiError
from bigin_emulator.routes.http_input import AUTH_SCHEME
from bigin_emulator.routes.responses import error_response
from bigin_emulator.state.oauth import TokenAuthority

__all__ = ["SCOPED_PATHS", "AuthGate"]

#: Path prefixes and the scopes any one of which lets a token in (checked under ``check_scopes``).
SCOPED_PATHS: tuple[tuple[str, frozenset[str]], ...] = (
    ("/bigin/bulk/v2/read", frozenset({"ZohoBigin.bulk.READ", "ZohoBigin.bulk.ALL"})),
    ("/bigin/bulk/v2/write", frozenset({"ZohoBigin.bulk.CREATE", "ZohoBigin.bulk.ALL"})),
    ("/bigin/v2/upload", frozenset({"ZohoFiles.files.ALL"})),
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AuthGate:
    """ASGI middleware checking the access token before any ``/bigin/`` route runs (see above)."""

    def __init__(self, app: ASGIApp, authority: TokenAuthority, *, check_scopes: bool = False) -> None:
        self.app = app
        self.authority = authority
        self.check_scopes = check_scopes

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
        token = token.strip()
        state = self.authority.check(token)
        if state == "valid":
            return self._scope_refusal(str(scope.get("path", "")), token) if self.check_scopes else None
        message = "the access token has expired" if state == "expired" else "invalid oauth token"
        return ApiError(401, "INVALID_TOKEN", message)

    def _scope_refusal(self, path: str, token: str) -> ApiError | None:
        needed = next((scopes for prefix, scopes in SCOPED_PATHS if path.startswith(prefix)), None)
        if needed is None or needed & self.authority.scopes_of(token):
            return None
        return ApiError(
            401,
            "OAUTH_SCOPE_MISMATCH",
            "invalid oauth scope to access this URL",
            {"scope": " or ".join(sorted(needed))},
        )
