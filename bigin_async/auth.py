"""Zoho OAuth 2.0: the token manager, token stores, and the one-off helpers.

Zoho lets one refresh token mint at most 10 access tokens in 10 minutes and then blocks it. So
the manager caches the token, refreshes about a minute before expiry, lets exactly one refresh
run at a time (twenty tasks with an expired token cause one refresh, not twenty, and share its
failure as they would its success), and, through the store's lock, lets processes that share a
token file refresh once between them. See :class:`TokenManager` for how failures are counted.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import httpx
from pydantic import SecretStr

from bigin_async._config import Region, check_base_url, resolve_region
from bigin_async._redact import REDACTED, SENSITIVE_KEYS, logger, redact_text, register_secret
from bigin_async._retry import Outcome, backoff_delay, classify_exception
from bigin_async.errors import (
    AuthenticationError,
    BiginConnectionError,
    BiginTimeoutError,
    ConfigurationError,
    RateLimitError,
    RefreshBlockedError,
    ServerError,
    parse_retry_after,
)

__all__ = [
    "SCOPES",
    "FileTokenStore",
    "MemoryTokenStore",
    "RefreshBlockedError",
    "RefreshHistory",
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
    #: How long the token was to live when Zoho minted it (seconds), if known.
    lifetime: float | None = None

    def __post_init__(self) -> None:
        # A server may echo the token with no label around it: scrub it by value everywhere.
        register_secret(self.access_token.get_secret_value())

    def is_fresh(self, now: float, margin: float) -> bool:
        """Usable without a refresh: more than ``margin`` seconds left, or, for a token whose whole
        life is shorter than twice the margin, still in the first half of its life.

        A token that lives 30 s (a short-lived token from a proxy or the emulator) is inside the
        60 s margin from birth: refreshed before every call, Zoho would block the refresh token
        after ten calls. Its first 15 s are used instead. A token without a known lifetime (an
        older token file, a bare access token) keeps the margin alone.
        """
        if self.expires_at is None:
            return True
        if self.lifetime is not None:
            margin = min(margin, self.lifetime / 2)
        return now < self.expires_at - margin

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "access_token": self.access_token.get_secret_value(),
            "expires_at": self.expires_at,
            "api_domain": self.api_domain,
        }
        if self.lifetime is not None:
            data["lifetime"] = self.lifetime  # absent in older files: from_json reads both
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Token:
        """The token saved by :meth:`to_json`; anything else (a hand-edited or foreign file) raises
        ``ValueError``/``KeyError``/``TypeError`` rather than becoming a token that is sent to Zoho,
        or an ``api_domain`` the token would travel to."""
        access = data["access_token"]
        if not isinstance(access, str) or not access:
            raise ValueError("access_token must be a non-empty string")
        expires = data.get("expires_at")
        if expires is not None and (isinstance(expires, bool) or not isinstance(expires, (int, float))):
            raise ValueError("expires_at must be a number of epoch seconds")
        domain = data.get("api_domain")
        if domain is not None and not isinstance(domain, str):
            raise ValueError("api_domain must be a URL")
        kept: Any = data.get("lifetime")  # a file written before lifetimes were kept has none
        return cls(
            access_token=SecretStr(access),
            expires_at=float(expires) if expires is not None else None,
            api_domain=check_base_url("api_domain (from the token store)", domain) if domain else None,
            lifetime=float(kept) if _is_time(kept) and float(kept) > 0 else None,
        )


@runtime_checkable
class TokenStore(Protocol):
    """Where access tokens live between calls (and processes). ``lock`` serialises refreshes."""

    async def load(self, key: str) -> Token | None: ...

    async def save(self, key: str, token: Token) -> None: ...

    async def clear(self, key: str) -> None: ...

    def lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]: ...


@runtime_checkable
class RefreshHistory(Protocol):
    """A store that also keeps when refreshes were sent (epoch seconds), for every process that
    shares it: Zoho counts the refreshes of a refresh token, whichever process sent them, so the
    10-in-10 limit can only be kept by counting them in one place. Called under :meth:`TokenStore.lock`."""

    async def update_refreshes(self, key: str, change: Callable[[list[float]], list[float]]) -> list[float]:
        """Replace the kept times by ``change(kept)`` and return the new list."""
        ...


# Windows has no fcntl: the lock file is locked with msvcrt there.
_WINDOWS = os.name == "nt"
# How often a lock held by another process is tried again. Polling, rather than a blocking call
# in a worker thread, keeps the wait cancellable: the refresh's own bound ends it.
_LOCK_POLL = 0.05


def _try_lock(fd: int) -> bool:
    """Lock the lock file for this process without waiting; False if another process holds it."""
    try:
        if _WINDOWS:
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        held = (errno.EACCES, errno.EDEADLK) if _WINDOWS else (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES)
        if exc.errno in held:  # another process holds it
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    if _WINDOWS:
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined,unused-ignore]
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


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
        # The manager runs one refresh at a time within a process already.
        yield


class FileTokenStore:
    """Tokens in a JSON file (mode 0600), refreshes serialised across processes by a lock file
    (``flock``; ``msvcrt.locking`` on Windows).

    Several workers sharing one refresh token point at the same file: the first to find the
    token stale takes the lock and refreshes; the others wait, re-read, and find it fresh.
    The file also keeps when each refresh was sent, so the processes share one count of Zoho's
    10 refreshes in 10 minutes (:class:`RefreshHistory`).
    A file that is not what this class writes (truncated, hand-edited, another program's) is
    read as empty and rewritten at the next save. A file that cannot be read or written raises
    ``OSError``: the token manager then keeps the token in memory and says so once.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._warned = False
        self._io: tuple[object, anyio.CapacityLimiter] | None = None

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    async def _in_thread(self, work: Callable[[], Any]) -> Any:
        """Run file I/O in a worker thread of this store's own limiter, not anyio's default one: an
        app (FastAPI's sync endpoints) may hold every default worker while waiting for the very
        SDK calls whose refresh needs this file. One limiter per event loop (they are tied to it)."""
        loop = anyio.lowlevel.current_token().native_token
        if self._io is None or self._io[0] is not loop:
            self._io = (loop, anyio.CapacityLimiter(4))
        return await anyio.to_thread.run_sync(work, limiter=self._io[1])

    def _read_all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError:  # not JSON, not UTF-8, empty
            data = None
        if isinstance(data, dict):
            return data
        if not self._warned:
            self._warned = True
            logger.warning(
                "token file %s is not a JSON object of tokens; treating it as empty and rewriting it",
                self.path,
            )
        return {}

    def _write_all(self, data: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    async def load(self, key: str) -> Token | None:
        data: dict[str, Any] = await self._in_thread(self._read_all)
        entry = data.get(key)
        if not isinstance(entry, Mapping):
            return None
        try:
            return Token.from_json(entry)
        except (KeyError, TypeError, ValueError):
            return None  # a malformed entry is no token: the next save replaces it

    async def save(self, key: str, token: Token) -> None:
        def update() -> None:
            data = self._read_all()
            data[key] = token.to_json()
            self._write_all(data)

        await self._in_thread(update)

    async def clear(self, key: str) -> None:
        def update() -> None:
            data = self._read_all()
            if data.pop(key, None) is not None:
                self._write_all(data)

        await self._in_thread(update)

    async def update_refreshes(self, key: str, change: Callable[[list[float]], list[float]]) -> list[float]:
        """The refresh times kept next to the token (``<key>#refreshes``); entries that are not
        numbers (a hand-edited file) are dropped. A clear keeps them: Zoho's count stays too."""

        def update() -> list[float]:
            data = self._read_all()
            kept = data.get(key + "#refreshes")
            times = [float(t) for t in kept if _is_time(t)] if isinstance(kept, list) else []
            new = change(times)
            if new != times or kept != times:
                data[key + "#refreshes"] = new
                self._write_all(data)
            return new

        times: list[float] = await self._in_thread(update)
        return times

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while not _try_lock(fd):
                await anyio.sleep(_LOCK_POLL)
            try:
                yield
            finally:
                _unlock(fd)
        finally:
            os.close(fd)


def _is_time(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# Zoho's limit on minting: 10 access tokens per refresh token in 10 minutes.
_ZOHO_WINDOW = 600.0
# How long Zoho's access tokens live.
_ZOHO_TOKEN_LIFE = 3600.0

# Answers that asking again will not change: the refresh token is revoked, invalid or of another
# data centre, or the client id/secret are wrong. Only the user can fix them.
_PERMANENT = frozenset(
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


def _in_words(seconds: float) -> str:
    minutes, secs = divmod(max(0, math.ceil(seconds)), 60)
    if minutes and secs:
        return f"{minutes} min {secs} s"
    return f"{minutes} min" if minutes else f"{secs} s"


def _blocked(
    reason: str, *, now: float, until: float, code: str, status: int = 0, **kwargs: Any
) -> RefreshBlockedError:
    wait = max(0.0, until - now)
    when = time.strftime("%H:%M:%S UTC", time.gmtime(until))
    return RefreshBlockedError(
        f"{reason}; refresh may be tried again in {_in_words(wait)} (at {when})",
        retry_at=until,
        retry_after=wait,
        status_code=status,
        code=code,
        **kwargs,
    )


def _oauth_error(
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
        wait = retry_after if retry_after is not None else _ZOHO_WINDOW
        return _blocked(
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


def _connection_error(exc: httpx.RequestError, url: str) -> BiginConnectionError:
    cls = BiginTimeoutError if isinstance(exc, httpx.TimeoutException) else BiginConnectionError
    return cls(f"OAuth token request failed: {type(exc).__name__}", method="POST", url=url)


def _read_answer(
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
        raise _oauth_error(body, response.status_code, url, secrets=secrets, retry_after=advised, now=now)
    return body


def _form_secrets(form: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(value for key, value in form.items() if key in SENSITIVE_KEYS)


async def _token_request(
    http: httpx.AsyncClient, url: str, form: Mapping[str, str], timeout: float
) -> dict[str, Any]:
    """POST a form to the token endpoint once (no retries: for the one-off helpers)."""
    try:
        response = await http.post(url, data=dict(form), timeout=timeout)
    except httpx.RequestError as exc:
        raise _connection_error(exc, url) from exc
    return _read_answer(response, url, _form_secrets(form))


def _token_from_body(body: Mapping[str, Any], now: float) -> Token:
    ttl = body.get("expires_in_sec", body.get("expires_in"))
    try:
        ttl_seconds = float(ttl) if ttl is not None else _ZOHO_TOKEN_LIFE
    except (TypeError, ValueError):
        ttl_seconds = math.nan
    if not math.isfinite(ttl_seconds) or ttl_seconds <= 0:
        # Not a lifetime (negative, zero, NaN): taken at its word, every call would refresh and
        # Zoho would block the refresh token within minutes. Zoho's tokens live an hour.
        logger.warning(
            "the token endpoint gave no usable expires_in; assuming Zoho's %.0f s", _ZOHO_TOKEN_LIFE
        )
        ttl_seconds = _ZOHO_TOKEN_LIFE
    if ttl_seconds > 86_400 * 2:  # some responses give milliseconds
        ttl_seconds /= 1000.0
    domain = body.get("api_domain")
    return Token(
        access_token=SecretStr(str(body["access_token"])),
        expires_at=now + ttl_seconds,
        api_domain=check_base_url("api_domain (from the token response)", str(domain)) if domain else None,
        lifetime=ttl_seconds,
    )


def _again(error: BaseException) -> BaseException:
    """A twin of ``error`` (same class, text and attributes) for one more waiter to raise: one
    instance raised in fifty tasks would collect all their tracebacks."""
    twin = error.__class__.__new__(error.__class__, *error.args)
    twin.__dict__.update(error.__dict__)
    twin.__cause__ = error.__cause__
    return twin


class _Flight:
    """One refresh and everyone waiting for it: its outcome, token or error, is all of theirs."""

    __slots__ = ("done", "error", "loop", "scope", "stale", "token")

    def __init__(self, stale: Token | None) -> None:
        self.stale = stale
        # The event loop it flies in: a flight of another loop (one that ended, say, before the
        # flight's thread got to start it) is never waited for, it may never end.
        self.loop: object = anyio.lowlevel.current_token().native_token
        self.done = anyio.Event()
        self.token: Token | None = None
        self.error: Exception | None = None
        self.scope: anyio.CancelScope | None = None  # the flight's bound, cancelled by close()


class TokenManager:
    """Hands out a valid access token; refreshes early, once at a time, and shares via the store.

    How it treats Zoho's accounts server, which lets a refresh token mint 10 access tokens in
    10 minutes and then blocks it:

    * One refresh at a time (a "flight"); every caller that needs a token meanwhile waits for
      it and gets its outcome, the token or the same error. Failures are shared, not retried
      by each waiter in turn.
    * The flight runs in a task of its own, in no caller's cancel scope, bounded by
      ``refresh_deadline``: a caller whose deadline passes, or who is cancelled, stops waiting at
      once, and the refresh goes on for the others.
    * Only requests that may have reached Zoho count towards the 10: a connect error (refused,
      DNS, connect timeout) never did, and is retried with jittered backoff inside the flight, as
      is a 5xx or 429 (``refresh_attempts`` tries in all). A read timeout or dropped connection
      after sending may have minted a token: it counts (the safe side of the limit) and is not
      retried, and it ages out of the 10-minute window like any refresh: never a lockout for good.
    * "Access Denied" blocks refreshes until Zoho's window ends (its ``Retry-After``, else 10
      minutes); meanwhile calls raise :class:`RefreshBlockedError` at once, saying when.
    * A refused refresh token or client (``invalid_code``, ``invalid_client``) is not asked about
      again for ``permanent_failure_ttl`` seconds: calls fail fast with the same error until then.
    * A store that fails (unwritable path, unreadable file) costs a warning, once; the token is
      then kept in this process's memory.
    * Zoho counts a refresh token's refreshes whichever process sends them: a store that keeps
      them (:class:`RefreshHistory`, as :class:`FileTokenStore` does in the token file) gives every
      process sharing it one count, and one "Access Denied" stops them all until Zoho's block ends.
    * The wall clock (shared by processes) may be set back: no wait grows past what Zoho asked
      for, or one 10-minute window.
    """

    # Zoho: a refresh token mints at most 10 access tokens in 10 minutes, then it is blocked.
    MAX_REFRESHES = 10
    REFRESH_WINDOW = _ZOHO_WINDOW
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
        refresh_attempts: int = 3,
        retry_backoff: float = 0.5,
        refresh_deadline: float | None = None,
        permanent_failure_ttl: float = 60.0,
    ) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        for secret in (client_secret, refresh_token):
            if secret is not None:  # an echo without a label ("bad secret ...") is scrubbed too
                register_secret(secret.get_secret_value())
        self.store: TokenStore = store or MemoryTokenStore()
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        #: Tries per flight for connect errors, 5xx and 429 (a try that reached Zoho counts).
        self.refresh_attempts = max(1, refresh_attempts)
        #: Base of the full-jitter backoff between those tries, in seconds.
        self.retry_backoff = retry_backoff
        #: Bound on one whole flight (tries, backoff, the store's lock); default twice ``timeout``.
        self.refresh_deadline = refresh_deadline
        #: How long an ``invalid_code``/``invalid_client`` answer is repeated without asking Zoho.
        self.permanent_failure_ttl = permanent_failure_ttl
        self._clock = clock
        self._rng = random.Random()
        self._token: Token | None = None
        self._flight: _Flight | None = None
        self.refresh_count = 0
        self._refreshes: deque[float] = deque()
        self._rejections: deque[float] = deque()
        self._blocked_until: float | None = None
        self._blocked_for = _ZOHO_WINDOW
        self._refused: tuple[float, AuthenticationError] | None = None
        self._store_warned = False
        self._closed = False
        if access_token is not None:
            now = clock()
            self._token = Token(access_token, now + expires_in if expires_in is not None else None)
        # One key per refresh token, without putting the secret itself in the store.
        import hashlib

        seed = (
            refresh_token.get_secret_value()
            if refresh_token
            else (client_id.get_secret_value() if client_id else "")
        )
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

    def close(self) -> None:
        """No more refreshes (the client is closing): one under way ends now, and its waiters and
        every later call get :class:`ConfigurationError` instead of waiting for the refresh's bound."""
        self._closed = True
        flight = self._flight
        if flight is not None and flight.scope is not None:
            flight.scope.cancel()

    async def get_token(self) -> Token:
        """A token valid for at least ``refresh_margin`` more seconds (refreshing if needed).

        Cancelling the caller (its deadline) ends its wait at once; a refresh already under way
        is not cancelled with it, it completes for the other callers.
        """
        while True:
            token = self._token
            if token is not None and token.is_fresh(self._clock(), self.refresh_margin):
                return token
            if not self.can_refresh:
                return self._bare(token)
            flight = self._flight
            if flight is not None and flight.loop is not anyio.lowlevel.current_token().native_token:
                flight = None  # a flight of another event loop: this loop cannot wait for it
            if flight is None:
                refusal = self._refusal()
                if refusal is not None:
                    stored = await self._load_stored(token)  # another process may hold a fresh one
                    if stored is None:
                        raise refusal
                    self._token = stored
                    return stored
                flight = self._flight = _Flight(token)
                self._launch(flight)
            await flight.done.wait()  # the caller's own cancellation ends this wait, not the flight
            if flight.error is not None:
                raise _again(flight.error)
            if flight.token is not None:
                return flight.token
            # A flight that ended with neither (the event loop shutting down): look again.

    def may_refresh_after_rejection(self, rejected: Token) -> bool:
        """Whether a 401 for ``rejected`` is worth a refresh.

        A token another task already replaced: yes (the retry uses the new one). Otherwise at most
        ``MAX_REJECTION_REFRESHES`` in ``REFRESH_WINDOW``: a server that keeps refusing fresh tokens
        (a pinned api_domain in another data centre, a missing scope) would otherwise make every
        call mint one, and Zoho blocks the refresh token after 10 in 10 minutes. Bigin's
        ``INVALID_TOKEN`` and Books' code 57 share this one cap.
        """
        if not self.can_refresh:
            return False
        if self._token is not rejected and self._token is not None:
            return True
        _forget_before(self._rejections, self._clock(), self.REFRESH_WINDOW)
        return len(self._rejections) < self.MAX_REJECTION_REFRESHES

    async def invalidate(self, rejected: Token) -> None:
        """The server refused ``rejected``: forget it, unless a newer token already replaced it."""
        if self._token is rejected or self._token is None:
            self._rejections.append(self._clock())
            self._token = Token(rejected.access_token, expires_at=0.0, api_domain=rejected.api_domain)

    async def retry_after_rejection(self, access_token: str) -> bool:
        """Whether to send a call again after a server refused the token sent as ``access_token``.

        For callers that only know the header they sent (Books' code 57): a token already replaced
        is retried with the new one; the current one is invalidated within the same cap as
        :meth:`may_refresh_after_rejection`.
        """
        current = self._token
        if current is None or current.access_token.get_secret_value() != access_token:
            return self.can_refresh and current is not None
        if not self.may_refresh_after_rejection(current):
            return False
        await self.invalidate(current)
        return True

    # -- the flight ----------------------------------------------------------------------------
    def _launch(self, flight: _Flight) -> None:
        """Start ``flight`` as a task of its own, outside every caller's cancel scope.

        anyio starts tasks only inside a task group, and a task group would tie the refresh to the
        caller that opened it: its cancellation would abort the refresh for everyone, or (shielded)
        hold that caller until the refresh ends. A thread can start a task in the event loop
        (``from_thread.run`` with the loop's token: a task of the loop on asyncio, a system task on
        trio) that belongs to no caller; the thread only waits for it. So every caller, the first
        one too, merely waits for the flight, and stops waiting as soon as it is cancelled.
        """
        loop = anyio.lowlevel.current_token()
        host = threading.Thread(
            target=self._host, args=(loop, flight), name="bigin-token-refresh", daemon=True
        )
        try:
            host.start()
        except Exception as exc:  # no thread to be had: fail this flight, not the next one
            flight.error = exc
            self._land(flight)

    def _host(self, loop: anyio.lowlevel.EventLoopToken, flight: _Flight) -> None:
        """The thread's whole life: run the flight in the loop and wait for it to end."""
        try:
            anyio.from_thread.run(self._fly, flight, token=loop)
        except Exception:  # the loop closed before (or while) the flight ran: nobody is waiting
            with contextlib.suppress(Exception):
                anyio.from_thread.run_sync(self._land, flight, token=loop)

    async def _fly(self, flight: _Flight) -> None:
        bound = self.refresh_deadline if self.refresh_deadline is not None else max(1.0, 2 * self.timeout)
        try:
            with anyio.move_on_after(bound) as scope:
                flight.scope = scope
                if self._closed:  # closed before this task got to run
                    scope.cancel()
                flight.token = await self._refresh_shared(flight.stale)
            if scope.cancelled_caught and self._closed:
                flight.error = self._closed_error()
            elif scope.cancelled_caught:
                flight.error = BiginTimeoutError(
                    f"the access token refresh did not finish within {bound:g}s",
                    method="POST",
                    url=self.token_url,
                )
        except anyio.get_cancelled_exc_class():
            # The event loop is shutting down: this task is nobody's child, so ending quietly here
            # (the waiters, if any, are being cancelled too) is all that is left to do.
            pass
        except Exception as exc:
            flight.error = exc
        finally:
            self._land(flight)

    def _land(self, flight: _Flight) -> None:
        if self._flight is flight:
            self._flight = None
        flight.done.set()

    def _bare(self, stale: Token | None) -> Token:
        if stale is not None and stale.expires_at is not None and stale.expires_at > self._clock():
            return stale  # bare access-token mode: use it to the last second
        raise AuthenticationError(
            "the access token has expired (or was rejected) and no client_id/client_secret/"
            "refresh_token are configured to get a new one",
            status_code=401,
            code="INVALID_TOKEN",
        )

    def _refusal(self) -> AuthenticationError | None:
        """Why no refresh may be sent now, or None: Zoho's block, a recent permanent refusal, or
        the local count of refreshes in the window."""
        now = self._clock()
        if self._blocked_until is not None:
            # A wall clock set back (NTP) must not stretch Zoho's wait: never more than it asked.
            self._blocked_until = min(self._blocked_until, now + self._blocked_for)
        if self._refused is not None:
            self._refused = (min(self._refused[0], now + self.permanent_failure_ttl), self._refused[1])
        if self._blocked_until is not None and now < self._blocked_until:
            return _blocked(
                "Zoho blocked refreshes for this refresh token (Access Denied: more than 10 in 10 minutes)",
                now=now, until=self._blocked_until, code="Access Denied", url=self.token_url,
            )  # fmt: skip
        if self._refused is not None and now < self._refused[0]:
            until, error = self._refused
            return AuthenticationError(
                f"{error.message}; not asked again for {_in_words(until - now)}: fix the credentials "
                "(a new refresh token or client secret needs a new client)",
                status_code=error.status_code, code=error.code, details=error.details, method="POST",
                url=self.token_url,
            )  # fmt: skip
        _forget_before(self._refreshes, now, self.REFRESH_WINDOW)
        if len(self._refreshes) >= self.MAX_REFRESHES:
            return _blocked(
                f"refusing to refresh the access token, as {self.MAX_REFRESHES} refreshes in the last "
                f"{self.REFRESH_WINDOW / 60:.0f} minutes already, and Zoho blocks a refresh token past that. "
                "Share one client (or one FileTokenStore) instead of creating clients per request",
                now=now, until=self._refreshes[0] + self.REFRESH_WINDOW, code="REFRESH_LIMIT",
                url=self.token_url,
            )  # fmt: skip
        return None

    async def _refresh_shared(self, stale: Token | None) -> Token:
        async with self._store_lock():
            stored = await self._load_stored(stale)
            if stored is not None:
                self._token = stored  # another process refreshed for us
                return stored
            token = await self._refresh()
            self._token = token  # before saving: a store that fails must not cost the token
            await self._save(token)
        return token

    async def _refresh(self) -> Token:
        assert self._client_id and self._client_secret and self._refresh_token
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id.get_secret_value(),
            "client_secret": self._client_secret.get_secret_value(),
            "refresh_token": self._refresh_token.get_secret_value(),
        }
        secrets = _form_secrets(form)
        url = self.token_url
        for attempt in range(self.refresh_attempts):
            if self.http is None or self.http.is_closed or self._closed:
                raise self._closed_error()
            await self._share_refreshes()  # other processes' refreshes count too
            refusal = self._refusal()
            if refusal is not None:
                raise refusal
            # Booked before sending: if the flight's bound cuts the request short, it may have
            # reached Zoho, and it stays counted.
            booked = self._clock()
            self._refreshes.append(booked)
            await self._share_refreshes(add=(booked,))
            error: Exception
            try:
                response = await self.http.post(url, data=form, timeout=self.timeout)
            except httpx.RequestError as exc:
                error = _connection_error(exc, url)
                error.__cause__ = exc
                if classify_exception(exc) is not Outcome.NOT_SENT:
                    raise error from exc  # may have reached Zoho (and minted): counted, not re-sent
                with contextlib.suppress(ValueError):  # it never reached Zoho: it does not count
                    self._refreshes.remove(booked)
                await self._share_refreshes(drop=booked)
            else:
                try:
                    body = _read_answer(response, url, secrets, self._clock())
                except (ServerError, RateLimitError) as exc:
                    error = exc
                except AuthenticationError as exc:
                    self._remember(exc)
                    if isinstance(exc, RefreshBlockedError):
                        # Zoho's window is full: say so to the processes sharing the store, as
                        # the refreshes that fill it, each leaving the window when Zoho's block ends.
                        full = exc.retry_at - self.REFRESH_WINDOW
                        await self._share_refreshes(add=[full - i * 1e-6 for i in range(self.MAX_REFRESHES)])
                    raise
                else:
                    token = _token_from_body(body, self._clock())
                    self.refresh_count += 1
                    self._refused = None
                    logger.info(
                        "refreshed the access token (%d refreshes by this client)", self.refresh_count
                    )
                    return token
            if attempt + 1 >= self.refresh_attempts:
                raise error
            delay = backoff_delay(
                attempt, self.retry_backoff, cap=max(self.retry_backoff, 8.0), uniform=self._rng.uniform
            )
            logger.warning(
                "access token refresh failed (%s); try %d of %d in %.2fs",
                error,
                attempt + 2,
                self.refresh_attempts,
                delay,
            )
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _closed_error(self) -> ConfigurationError:
        return ConfigurationError("no access token refresh: the token manager's client was closed")

    def _remember(self, error: AuthenticationError) -> None:
        """Keep a refusal that asking again would not change, so calls fail fast meanwhile."""
        if isinstance(error, RefreshBlockedError):
            self._blocked_until = max(self._blocked_until or 0.0, error.retry_at)
            self._blocked_for = max(error.retry_after, 1.0)
            logger.warning("%s", error.message)
        elif (error.code or "").lower() in _PERMANENT:
            self._refused = (self._clock() + self.permanent_failure_ttl, error)
            logger.warning("%s", error.message)

    async def _share_refreshes(self, *, add: Sequence[float] = (), drop: float | None = None) -> None:
        """Merge this process's refresh times with the ones the store keeps for every process that
        shares it (a :class:`RefreshHistory`; called under the store's lock), adding or dropping some.
        A store without a history, or one that fails, leaves the count to this process."""
        store = self.store
        if not isinstance(store, RefreshHistory):
            return
        now = self._clock()

        def change(kept: list[float]) -> list[float]:
            times = {min(t, now) for t in kept if t > now - self.REFRESH_WINDOW}  # min: clock set back
            times.update(min(t, now) for t in add)
            if drop is not None:
                times.discard(drop)
            return sorted(times)

        try:
            shared = await store.update_refreshes(self.store_key, change)
        except Exception as exc:
            self._store_failed("keep the refresh count", exc)
            return
        merged = set(self._refreshes).union(shared)
        if drop is not None:
            merged.discard(drop)
        self._refreshes = deque(sorted(merged))

    # -- the store, which may fail ---------------------------------------------------------------
    def _store_failed(self, what: str, exc: Exception) -> None:
        if not self._store_warned:
            self._store_warned = True
            logger.warning(
                "the token store could not %s (%s: %s); keeping the access token in this process's memory",
                what, type(exc).__name__, redact_text(str(exc)),
            )  # fmt: skip

    @contextlib.asynccontextmanager
    async def _store_lock(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(self.store.lock(self.store_key))
            except Exception as exc:
                self._store_failed("lock", exc)
            yield

    async def _load_stored(self, stale: Token | None) -> Token | None:
        """A fresh token from the store other than ``stale`` (one another process refreshed)."""
        try:
            stored = await self.store.load(self.store_key)
        except Exception as exc:
            self._store_failed("be read", exc)
            return None
        if stored is None or not stored.is_fresh(self._clock(), self.refresh_margin):
            return None
        if (
            stale is not None
            and stored.access_token.get_secret_value() == stale.access_token.get_secret_value()
        ):
            return None
        return stored

    async def _save(self, token: Token) -> None:
        try:
            await self.store.save(self.store_key, token)
        except Exception as exc:
            self._store_failed("save", exc)


def _forget_before(times: deque[float], now: float, window: float) -> None:
    """Drop the times that left the window ending ``now``. A time after ``now`` means the wall
    clock was set back: it counts as now, so it still ages out within one window."""
    if times and times[-1] > now:
        clamped = [min(t, now) for t in times]
        times.clear()
        times.extend(clamped)
    while times and times[0] <= now - window:
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
            raise BiginConnectionError(
                f"token revoke failed: {type(exc).__name__}", method="POST", url=url
            ) from exc
    try:
        body = response.json()
    except (ValueError, RecursionError):  # garbage or a body nested past the parser
        body = {}
    if response.status_code >= 400 or (isinstance(body, dict) and "error" in body):
        raise _oauth_error(
            body if isinstance(body, dict) else {}, response.status_code, url, secrets=(token,)
        )
