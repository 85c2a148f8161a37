"""Zoho OAuth 2.0: the token manager, token stores, and the one-off helpers.

Zoho lets one refresh token mint at most 10 access tokens in 10 minutes and then blocks it. So
the manager caches the token, refreshes about a minute before expiry, lets exactly one refresh
run at a time (twenty tasks with an expired token cause one refresh, not twenty), and, through
the store's lock, lets processes that share a token file refresh once between them.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

import anyio
import anyio.to_thread
import httpx
from pydantic import SecretStr

from bigin_async._redact import logger
from bigin_async.config import Region, check_base_url, resolve_region
from bigin_async.errors import AuthenticationError, BiginConnectionError, ConfigurationError

__all__ = [
    "SCOPES",
    "FileTokenStore",
    "MemoryTokenStore",
    "Scope",
    "Token",
    "TokenManager",
    "TokenStore",
    "authorization_url",
    "exchange_code",
    "revoke",
]


class Scope:
    """Scope names for the consent screen; compose with :func:`authorization_url`."""

    MODULES_ALL = "ZohoBigin.modules.ALL"
    MODULES_READ = "ZohoBigin.modules.READ"
    SETTINGS_ALL = "ZohoBigin.settings.ALL"
    USERS_ALL = "ZohoBigin.users.ALL"
    ORG_ALL = "ZohoBigin.org.ALL"
    COQL_READ = "ZohoBigin.coql.READ"
    NOTIFICATIONS_ALL = "ZohoBigin.notifications.ALL"
    SEARCH_READ = "ZohoSearch.securesearch.READ"
    BOOKS_FULL = "ZohoBooks.fullaccess.ALL"
    BOOKS_CONTACTS_ALL = "ZohoBooks.contacts.ALL"

    @staticmethod
    def module(module: str, operation: str = "ALL") -> str:
        """``ZohoBigin.modules.contacts.READ`` style scope for one module and operation."""
        return f"ZohoBigin.modules.{module.lower()}.{operation.upper()}"


# What a typical SDK user needs: every module, settings, users, org, search and COQL.
SCOPES: tuple[str, ...] = (
    Scope.MODULES_ALL,
    Scope.SETTINGS_ALL,
    Scope.USERS_ALL,
    Scope.ORG_ALL,
    Scope.COQL_READ,
    Scope.NOTIFICATIONS_ALL,
    Scope.SEARCH_READ,
)


@dataclass(frozen=True)
class Token:
    """An access token and when it stops working (epoch seconds, wall clock: shared across processes)."""

    access_token: SecretStr
    expires_at: float | None
    api_domain: str | None = None

    def is_fresh(self, now: float, margin: float) -> bool:
        return self.expires_at is None or now < self.expires_at - margin

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token.get_secret_value(),
            "expires_at": self.expires_at,
            "api_domain": self.api_domain,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Token:
        expires = data.get("expires_at")
        return cls(
            access_token=SecretStr(str(data["access_token"])),
            expires_at=float(expires) if expires is not None else None,
            api_domain=data.get("api_domain"),
        )


@runtime_checkable
class TokenStore(Protocol):
    """Where access tokens live between calls (and processes). ``lock`` serialises refreshes."""

    async def load(self, key: str) -> Token | None: ...

    async def save(self, key: str, token: Token) -> None: ...

    async def clear(self, key: str) -> None: ...

    def lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]: ...


class MemoryTokenStore:
    """The default: tokens live as long as the process, refreshes serialised within it."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}

    async def load(self, key: str) -> Token | None:
        return self._tokens.get(key)

    async def save(self, key: str, token: Token) -> None:
        self._tokens[key] = token

    async def clear(self, key: str) -> None:
        self._tokens.pop(key, None)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        # The manager's own anyio.Lock already serialises refreshes within a process.
        yield


class FileTokenStore:
    """Tokens in a JSON file (mode 0600), refreshes serialised across processes by ``flock``.

    Several workers sharing one refresh token point at the same file: the first to find the
    token stale takes the lock and refreshes; the others wait, re-read, and find it fresh.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def _read_all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:
            logger.warning("token file %s is not valid JSON; ignoring it", self.path)
            return {}
        return data if isinstance(data, dict) else {}

    def _write_all(self, data: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    async def load(self, key: str) -> Token | None:
        data = await anyio.to_thread.run_sync(self._read_all)
        entry = data.get(key)
        return Token.from_json(entry) if isinstance(entry, Mapping) else None

    async def save(self, key: str, token: Token) -> None:
        def update() -> None:
            data = self._read_all()
            data[key] = token.to_json()
            self._write_all(data)

        await anyio.to_thread.run_sync(update)

    async def clear(self, key: str) -> None:
        def update() -> None:
            data = self._read_all()
            if data.pop(key, None) is not None:
                self._write_all(data)

        await anyio.to_thread.run_sync(update)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        import fcntl

        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await anyio.to_thread.run_sync(fcntl.flock, fd, fcntl.LOCK_EX, abandon_on_cancel=False)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


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


def _oauth_error(body: Mapping[str, Any], status: int, url: str) -> AuthenticationError:
    code = str(body.get("error") or "oauth_error")
    description = str(body.get("error_description") or "")
    hint = _ERROR_HINTS.get(code.lower(), "")
    message = f"OAuth token request failed: {code}"
    if description:
        message += f" ({description})"
    if hint:
        message += f"; likely cause: {hint}"
    return AuthenticationError(message, status_code=status, code=code, method="POST", url=url)


async def _token_request(http: httpx.AsyncClient, url: str, form: Mapping[str, str], timeout: float) -> dict[str, Any]:
    """POST a form to the token endpoint; errors come back as HTTP 200 bodies too, so read the body."""
    try:
        response = await http.post(url, data=dict(form), timeout=timeout)
    except httpx.TimeoutException as exc:
        raise BiginConnectionError(f"OAuth token request timed out: {type(exc).__name__}", method="POST", url=url) from exc
    except httpx.TransportError as exc:
        raise BiginConnectionError(f"OAuth token request failed: {type(exc).__name__}", method="POST", url=url) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise AuthenticationError(
            f"OAuth server answered HTTP {response.status_code} without a JSON body",
            status_code=response.status_code,
            method="POST",
            url=url,
        )
    if "error" in body or "access_token" not in body and "refresh_token" not in body:
        raise _oauth_error(body, response.status_code, url)
    if response.status_code >= 400:
        raise _oauth_error(body, response.status_code, url)
    return body


def _token_from_body(body: Mapping[str, Any], now: float) -> Token:
    ttl = body.get("expires_in_sec", body.get("expires_in"))
    try:
        ttl_seconds = float(ttl) if ttl is not None else 3600.0
    except (TypeError, ValueError):
        ttl_seconds = 3600.0
    if ttl_seconds > 86_400 * 2:  # some responses give milliseconds
        ttl_seconds /= 1000.0
    domain = body.get("api_domain")
    return Token(
        access_token=SecretStr(str(body["access_token"])),
        expires_at=now + ttl_seconds,
        api_domain=check_base_url("api_domain (from the token response)", str(domain)) if domain else None,
    )


class TokenManager:
    """Hands out a valid access token; refreshes early, once at a time, and shares via the store."""

    # Zoho: a refresh token mints at most 10 access tokens in 10 minutes, then it is blocked.
    MAX_REFRESHES = 10
    REFRESH_WINDOW = 600.0
    MAX_REJECTION_REFRESHES = 3

    def __init__(
        self,
        *,
        token_url: str,
        client_id: SecretStr | None = None,
        client_secret: SecretStr | None = None,
        refresh_token: SecretStr | None = None,
        access_token: SecretStr | None = None,
        expires_in: float | None = None,
        store: TokenStore | None = None,
        refresh_margin: float = 60.0,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.store: TokenStore = store or MemoryTokenStore()
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self._clock = clock
        self._lock = anyio.Lock()
        self._token: Token | None = None
        self.refresh_count = 0
        self._refreshes: deque[float] = deque()
        self._rejections: deque[float] = deque()
        if access_token is not None:
            now = clock()
            self._token = Token(access_token, now + expires_in if expires_in is not None else None)
        # One key per refresh token, without putting the secret itself in the store.
        import hashlib

        seed = refresh_token.get_secret_value() if refresh_token else (client_id.get_secret_value() if client_id else "")
        self.store_key = "bigin:" + hashlib.sha256(seed.encode()).hexdigest()[:16]
        self.http: httpx.AsyncClient | None = None

    @property
    def can_refresh(self) -> bool:
        return bool(self._client_id and self._client_secret and self._refresh_token)

    @property
    def current(self) -> Token | None:
        return self._token

    def __repr__(self) -> str:
        return f"TokenManager(token_url={self.token_url!r}, can_refresh={self.can_refresh})"

    async def get_token(self) -> Token:
        """A token valid for at least ``refresh_margin`` more seconds (refreshing if needed)."""
        token = self._token
        if token is not None and token.is_fresh(self._clock(), self.refresh_margin):
            return token
        async with self._lock:
            token = self._token
            if token is not None and token.is_fresh(self._clock(), self.refresh_margin):
                return token  # another task refreshed while we waited
            return await self._refresh_shared(stale=token)

    def may_refresh_after_rejection(self, rejected: Token) -> bool:
        """Whether a 401 for ``rejected`` is worth a refresh.

        A token another task already replaced: yes (the retry uses the new one). Otherwise at most
        ``MAX_REJECTION_REFRESHES`` in ``REFRESH_WINDOW``: a server that keeps refusing fresh tokens
        (a pinned api_domain in another data centre, a missing scope) would otherwise make every
        call mint one, and Zoho blocks the refresh token after 10 in 10 minutes.
        """
        if not self.can_refresh:
            return False
        if self._token is not rejected and self._token is not None:
            return True
        _forget_before(self._rejections, self._clock() - self.REFRESH_WINDOW)
        return len(self._rejections) < self.MAX_REJECTION_REFRESHES

    async def invalidate(self, rejected: Token) -> None:
        """The server refused ``rejected``: forget it, unless a newer token already replaced it."""
        async with self._lock:
            if self._token is rejected or self._token is None:
                self._rejections.append(self._clock())
                self._token = Token(rejected.access_token, expires_at=0.0, api_domain=rejected.api_domain)

    async def _refresh_shared(self, stale: Token | None) -> Token:
        if not self.can_refresh:
            if stale is not None and stale.expires_at is not None and stale.expires_at > self._clock():
                return stale  # bare access-token mode: use it to the last second
            raise AuthenticationError(
                "the access token has expired (or was rejected) and no client_id/client_secret/"
                "refresh_token are configured to get a new one",
                status_code=401,
                code="INVALID_TOKEN",
            )
        async with self.store.lock(self.store_key):
            stored = await self.store.load(self.store_key)
            if stored is not None and stored.is_fresh(self._clock(), self.refresh_margin) and (
                stale is None or stored.access_token.get_secret_value() != stale.access_token.get_secret_value()
            ):
                self._token = stored  # another process refreshed for us
                return stored
            token = await self._refresh()
            await self.store.save(self.store_key, token)
        self._token = token
        return token

    async def _refresh(self) -> Token:
        assert self._client_id and self._client_secret and self._refresh_token
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id.get_secret_value(),
            "client_secret": self._client_secret.get_secret_value(),
            "refresh_token": self._refresh_token.get_secret_value(),
        }
        if self.http is None:
            raise ConfigurationError("the token manager has no HTTP client (the BiginClient was closed?)")
        now = self._clock()
        _forget_before(self._refreshes, now - self.REFRESH_WINDOW)
        if len(self._refreshes) >= self.MAX_REFRESHES:
            raise AuthenticationError(
                f"refusing to refresh the access token: {self.MAX_REFRESHES} refreshes in the last "
                f"{self.REFRESH_WINDOW / 60:.0f} minutes already, and Zoho blocks a refresh token past that. "
                "Share one client (or one FileTokenStore) instead of creating clients per request.",
                status_code=0,
                code="REFRESH_LIMIT",
            )
        self._refreshes.append(now)
        body = await _token_request(self.http, self.token_url, form, self.timeout)
        self.refresh_count += 1
        logger.info("refreshed the access token (%d refreshes by this client)", self.refresh_count)
        return _token_from_body(body, self._clock())


def _forget_before(times: deque[float], horizon: float) -> None:
    while times and times[0] <= horizon:
        times.popleft()


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
    """Authorization-code grant; also turns a Self Client code into a refresh token."""
    form = {"grant_type": "authorization_code", "client_id": client_id, "client_secret": client_secret, "code": code}
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    url = f"{_accounts(region, accounts_url)}/oauth/v2/token"
    async with _http(http_client) as http:
        body = await _token_request(http, url, form, timeout)
    token = _token_from_body(body, 0.0)
    refresh = body.get("refresh_token")
    return TokenGrant(
        access_token=token.access_token,
        refresh_token=SecretStr(str(refresh)) if refresh else None,
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
    """Revoke a refresh token (and the access tokens it minted)."""
    url = f"{_accounts(region, accounts_url)}/oauth/v2/token/revoke"
    async with _http(http_client) as http:
        try:
            response = await http.post(url, params={"token": token}, timeout=timeout)
        except httpx.TransportError as exc:
            raise BiginConnectionError(f"token revoke failed: {type(exc).__name__}", method="POST", url=url) from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
        raise _oauth_error(body if isinstance(body, dict) else {}, response.status_code, url)
