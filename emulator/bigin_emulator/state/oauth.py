"""Zoho Accounts' token rules, without HTTP: grants, expiry, revocation and the refresh block.

What a client must survive, reproduced here: access tokens that expire after ``token_ttl``; a
refresh token that mints at most ``refresh_limit`` access tokens in ``refresh_window`` seconds and
is then refused with Zoho's "Access Denied ... too many requests" until the window has room again;
errors answered as HTTP 200 with an ``{"error": ...}`` body; the lifetime stated the way the
configured ``token_expiry`` style says (Zoho has sent ``expires_in`` seconds, ``expires_in_sec``,
and ``expires_in`` in milliseconds next to ``expires_in_sec``). Every grant carries the scope its
refresh token was consented for (``OAuthConfig.scope``), so routes can refuse a token without
theirs. Time comes from the injected clock, so tests expire tokens by moving the clock instead of
sleeping.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bigin_emulator.realism import TokenExpiryStyle

__all__ = ["OAuthConfig", "OAuthError", "TokenAuthority", "TokenCheck"]

TokenCheck = Literal["valid", "expired", "unknown"]

DEFAULT_SCOPE = (
    "ZohoBigin.modules.ALL ZohoBigin.settings.ALL ZohoBigin.users.ALL ZohoBigin.org.ALL "
    "ZohoBigin.coql.READ ZohoBigin.notifications.ALL ZohoSearch.securesearch.READ "
    "ZohoBigin.bulk.ALL ZohoFiles.files.ALL"
)


class OAuthError(Exception):
    """A refused grant; ``body`` is what Zoho Accounts answers, ``status`` its HTTP status."""

    def __init__(self, error: str, description: str | None = None, status: int = 200) -> None:
        super().__init__(error)
        self.status = status
        self.body: dict[str, str] = {"error": error}
        if description:
            self.body["error_description"] = description


@dataclass
class OAuthConfig:
    """The org's one OAuth client and its rules: credentials, token lifetime, the refresh block."""

    client_id: str = "emulator-client-id"
    client_secret: str = "emulator-client-secret"
    refresh_token: str = "emulator-refresh-token"
    token_ttl: float = 3600.0
    refresh_limit: int = 10
    refresh_window: float = 600.0
    code_ttl: float = 120.0
    scope: str = DEFAULT_SCOPE
    token_expiry: TokenExpiryStyle = "expires_in"


@dataclass
class _RefreshGrant:
    client_id: str
    scope: str
    recent: deque[float] = field(default_factory=deque)


@dataclass
class _AccessGrant:
    refresh_token: str | None
    expires_at: float


class TokenAuthority:
    """Issues and checks tokens for one emulated org."""

    def __init__(self, config: OAuthConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._refresh: dict[str, _RefreshGrant] = {
            config.refresh_token: _RefreshGrant(config.client_id, config.scope)
        }
        self._access: dict[str, _AccessGrant] = {}
        self._codes: dict[str, tuple[str, str | None, float]] = {}
        self._prune_at = 1024

    # -- grants -------------------------------------------------------------------------------

    def refresh(
        self, client_id: str | None, client_secret: str | None, refresh_token: str | None
    ) -> dict[str, Any]:
        """``grant_type=refresh_token``: a new access token, or ``OAuthError``."""
        self._check_client(client_id, client_secret)
        grant = self._refresh.get(refresh_token or "")
        if grant is None or grant.client_id != client_id:
            raise OAuthError("invalid_code")
        now = self.clock()
        while grant.recent and now - grant.recent[0] >= self.config.refresh_window:
            grant.recent.popleft()
        if len(grant.recent) >= self.config.refresh_limit:
            raise OAuthError(
                "Access Denied",
                "You have made too many requests continuously. Please try again after some time.",
                status=400,
            )
        grant.recent.append(now)
        return self._token_body(self._mint(refresh_token), grant.scope)

    def exchange_code(
        self, client_id: str | None, client_secret: str | None, code: str | None, redirect_uri: str | None
    ) -> dict[str, Any]:
        """``grant_type=authorization_code``: access and refresh tokens for a code issued here."""
        self._check_client(client_id, client_secret)
        issued = self._codes.pop(code or "", None)
        if issued is None or issued[0] != client_id or self.clock() > issued[2]:
            raise OAuthError("invalid_code")
        if issued[1] is not None and issued[1] != redirect_uri:
            raise OAuthError("invalid_redirect_uri")
        refresh_token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self._refresh[refresh_token] = _RefreshGrant(self.config.client_id, self.config.scope)
        body = self._token_body(self._mint(refresh_token), self.config.scope)
        body["refresh_token"] = refresh_token
        return body

    def issue_code(self, client_id: str | None = None, redirect_uri: str | None = None) -> str:
        """A one-time authorization code, as the consent page would hand to ``redirect_uri``."""
        code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self._codes[code] = (
            client_id or self.config.client_id,
            redirect_uri,
            self.clock() + self.config.code_ttl,
        )
        return code

    def issue_token(self) -> str:
        """A valid access token without a refresh (not counted as one): for tests and tools."""
        return self._mint(self.config.refresh_token)

    def revoke(self, token: str) -> bool:
        """Revoke a refresh token (and every access token it minted) or one access token."""
        if self._refresh.pop(token, None) is not None:
            self._access = {k: v for k, v in self._access.items() if v.refresh_token != token}
            return True
        return self._access.pop(token, None) is not None

    def revoke_access_tokens(self) -> int:
        """Revoke every access token issued so far (their refresh tokens stay valid): the next
        call with one gets ``INVALID_TOKEN``, as after Zoho ends a session early. Returns how many."""
        revoked = len(self._access)
        self._access.clear()
        return revoked

    # -- checks -------------------------------------------------------------------------------

    def scopes_of(self, access_token: str) -> frozenset[str]:
        """The scopes a valid access token was granted (those of the refresh token that minted it)."""
        grant = self._access.get(access_token)
        refresh = self._refresh.get(grant.refresh_token or "") if grant is not None else None
        return frozenset(refresh.scope.split()) if refresh is not None else frozenset()

    def check(self, access_token: str) -> TokenCheck:
        grant = self._access.get(access_token)
        if grant is None:
            return "unknown"
        if self.clock() >= grant.expires_at:
            return "expired"
        return "valid"

    # -- internals ----------------------------------------------------------------------------

    def _check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if client_id != self.config.client_id or client_secret != self.config.client_secret:
            raise OAuthError("invalid_client")

    def _mint(self, refresh_token: str | None) -> str:
        token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self._access[token] = _AccessGrant(refresh_token, self.clock() + self.config.token_ttl)
        self._forget_expired()
        return token

    def _forget_expired(self) -> None:
        """Drop long-expired tokens so a long benchmark does not grow the table without bound."""
        if len(self._access) < self._prune_at:
            return
        horizon = self.clock() - self.config.token_ttl
        self._access = {k: v for k, v in self._access.items() if v.expires_at > horizon}
        self._prune_at = max(1024, 2 * len(self._access))

    def _token_body(self, access_token: str, scope: str) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": access_token, "scope": scope, "token_type": "Bearer"}
        seconds = int(self.config.token_ttl)
        style = self.config.token_expiry
        if style != "expires_in":
            body["expires_in_sec"] = seconds
        if style != "expires_in_sec":
            body["expires_in"] = seconds * 1000 if style == "legacy_ms" else seconds
        return body

    # -- state --------------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        return {
            "refresh_tokens": {
                t: {"client_id": g.client_id, "scope": g.scope, "recent": list(g.recent)}
                for t, g in self._refresh.items()
            },
            "access_tokens": {
                t: {"refresh_token": g.refresh_token, "expires_at": g.expires_at}
                for t, g in self._access.items()
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        self._refresh = {
            t: _RefreshGrant(g["client_id"], g["scope"], deque(g["recent"]))
            for t, g in data["refresh_tokens"].items()
        }
        self._access = {
            t: _AccessGrant(g["refresh_token"], g["expires_at"]) for t, g in data["access_tokens"].items()
        }
