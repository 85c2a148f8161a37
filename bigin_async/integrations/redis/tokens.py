"""The access token shared through Redis: the token, its refresh lock, its refresh count, a failure.

Every process (on any host) that points at one Redis and shares one refresh token keeps one access
token between them: the first to find it stale takes the refresh lock (``SET NX PX`` with a random
value), refreshes and saves; the others wait for the lock, read the new token and send nothing. The
lock expires after ``lock_seconds`` (a process killed while holding it holds the others up that
long at most) and is released by a compare-and-delete script, so a holder whose lock ran out never
frees the next holder's. Zoho's count of 10 refreshes in 10 minutes (:class:`RefreshHistory`) and a
refresh that just failed (:class:`RefreshFailures`) are kept next to the token, so one
"Access Denied" or one unreachable accounts server costs one attempt, not one per process.
Redis failing raises :class:`RedisUnavailable` (the token manager then keeps its token in memory,
or a :class:`RedisCoordination` applies its ``on_redis_down``).
"""

from __future__ import annotations

import contextlib
import json
import random
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio

from bigin_async._redact import get_logger
from bigin_async.auth._endpoint import ZOHO_WINDOW
from bigin_async.auth._shared_failure import failure_since
from bigin_async.auth._token import Token, is_time
from bigin_async.errors import ConfigurationError, CoordinationError
from bigin_async.integrations.redis._backend import RedisBackend, RedisUnavailable, Script
from bigin_async.integrations.redis._keys import KeyFamily

logger = get_logger("redis")

__all__ = ["RedisTokenStore"]

# Frees the lock only for the holder that took it (its random value): a holder whose lock expired
# while it worked must not free the lock another process has taken since.
_RELEASE = Script(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
    name="token lock release",
)

# Extends the lock, again only for its holder: a live refresh that outlasts ``lock_seconds`` (slow
# tries, their backoff) keeps its lock from one try to the next.
_RENEW = Script(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return 0",
    name="token lock renewal",
)

# A token is kept until it expires and this much longer (a process whose clock runs a little behind
# still finds it); never longer than a day (a token without an expiry, or one from a skewed clock).
_TOKEN_MARGIN = 60.0
_LONGEST = 86_400.0
# The refresh count outlives its last entry's 10 minutes by a minute, then goes with its family.
_REFRESHES_TTL = ZOHO_WINDOW + 60.0
# How long releasing the lock may take, even while the flight is being cancelled (its bound).
_RELEASE_BOUND = 2.0


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisTokenStore:
    """A :class:`~bigin_async.auth.TokenStore` (with :class:`~bigin_async.auth.RefreshHistory` and
    :class:`~bigin_async.auth.RefreshFailures`) kept in Redis under ``family``'s keys.

    ``lock_seconds`` is how long the refresh lock lives: the holder extends it before each try of
    the refresh (so it must outlast one try, the token manager's ``timeout``, 30 s by default, and
    its backoff), and it is how long the other processes wait when a holder dies.
    ``poll_interval`` is how often a waiting process tries to take the lock (jittered, so waiting
    processes do not try in step); the wait is cancellable, so the refresh's own bound ends it.
    """

    def __init__(
        self,
        backend: RedisBackend,
        family: KeyFamily,
        *,
        lock_seconds: float = 120.0,
        poll_interval: float = 0.05,
    ) -> None:
        for name, value in (("lock_seconds", lock_seconds), ("poll_interval", poll_interval)):
            if not is_time(value) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
        self.backend = backend
        self.family = family
        self.lock_seconds = float(lock_seconds)
        self.poll_interval = float(poll_interval)
        self._rng = random.Random()
        self._warned = False
        self._held: dict[str, str] = {}  # key -> the value of the lock this store holds for it

    def __repr__(self) -> str:
        return f"RedisTokenStore({self.backend.url!r}, {self.family.tag!r})"

    def _key(self, key: str, *part: str) -> str:
        return self.family.key("token", key, *part)

    async def _get_json(self, name: str) -> tuple[bool, Any]:
        """Whether ``name`` holds a value, and that value as JSON (None when it is not JSON)."""
        raw = await self.backend.call("GET", name)
        if raw is None:
            return False, None
        try:
            return True, json.loads(raw)
        except (TypeError, ValueError):
            return True, None

    # -- the token ------------------------------------------------------------------------------
    async def load(self, key: str) -> Token | None:
        raw = await self.backend.call("GET", self._key(key))
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            if not isinstance(data, Mapping):
                raise ValueError("not a JSON object")
            return Token.from_json(data)
        except (KeyError, TypeError, ValueError):
            if not self._warned:
                self._warned = True
                logger.warning(
                    "the access token kept in Redis at %s is not one this SDK wrote; reading it as none "
                    "(the next refresh replaces it)",
                    self._key(key),
                    extra={"bigin_event": "redis_token_unreadable"},
                )
            return None

    async def save(self, key: str, token: Token) -> None:
        """Keep ``token`` until it expires (and a minute): an abandoned one leaves by itself."""
        if token.expires_at is None:
            ttl = _LONGEST
        else:
            ttl = min(max(token.expires_at - time.time(), 0.0) + _TOKEN_MARGIN, _LONGEST)
        await self.backend.call("SET", self._key(key), json.dumps(token.to_json()), "PX", _ms(ttl))

    async def clear(self, key: str) -> None:
        """Forget the token; the refresh count and a kept failure stay (Zoho's count stays too)."""
        await self.backend.call("DEL", self._key(key))

    # -- the refresh lock -----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        name = self._key(key, "lock")
        mine = secrets.token_hex(16)
        try:
            while not await self.backend.call("SET", name, mine, "NX", "PX", _ms(self.lock_seconds)):
                await anyio.sleep(self.poll_interval * self._rng.uniform(0.5, 1.5))
        except BaseException:
            # Cancelled (the flight's bound), or Redis failing, while a SET was on its way: Redis
            # may have taken the lock for this store all the same. Free it, or nobody holds it for
            # lock_seconds.
            await self._release(name, mine)
            raise
        self._held[key] = mine
        try:
            yield
        finally:
            if self._held.get(key) == mine:
                del self._held[key]
            await self._release(name, mine)

    async def _release(self, name: str, mine: str) -> None:
        """Free the lock if it is still ours, even while cancelled (bounded); a Redis that fails
        here costs the others ``lock_seconds`` at most, and a warning, not the refresh's outcome."""
        with anyio.CancelScope(shield=True) as scope:
            scope.deadline = anyio.current_time() + _RELEASE_BOUND
            try:
                await self.backend.run(_RELEASE, [name], [mine])
            except RedisUnavailable as exc:
                logger.warning(
                    "could not release the token refresh lock in Redis (%s); it expires in %g s",
                    exc,
                    self.lock_seconds,
                    extra={"bigin_event": "redis_lock_unreleased"},
                )

    # -- Zoho's count of refreshes, and a refresh that just failed ------------------------------
    async def update_refreshes(self, key: str, change: Callable[[list[float]], list[float]]) -> list[float]:
        """The refresh times of every process (``<key>:refreshes``), changed under the lock (which
        this extends: the token manager calls it before each try); entries that are not numbers
        are dropped."""
        mine = self._held.get(key)
        if mine is not None:  # called before each try: the lock lives another lock_seconds
            renewed = await self.backend.run(_RENEW, [self._key(key, "lock")], [mine, _ms(self.lock_seconds)])
            if not int(renewed):
                # It ran out (a try slower than lock_seconds) or Redis restarted, and another
                # process may hold it now: a try sent from here could be a second refresh.
                raise CoordinationError(
                    f"the access token refresh lock in Redis at {self.backend.url} was lost before this "
                    "try (it ran out, or Redis restarted); another process may be refreshing, so this "
                    "one sends nothing. The next call waits for the lock again.",
                    url=self.backend.url,
                    operation="token",
                )
        name = self._key(key, "refreshes")
        present, kept = await self._get_json(name)
        times = [float(t) for t in kept if is_time(t)] if isinstance(kept, list) else []
        new = change(times)
        if new != times or (present and kept != times):  # changed, or garbage to replace
            if new:
                await self.backend.call("SET", name, json.dumps(new), "PX", _ms(_REFRESHES_TTL))
            else:
                await self.backend.call("DEL", name)
        return new

    async def record_failure(self, key: str, failure: Mapping[str, Any], ttl: float) -> None:
        await self.backend.call("SET", self._key(key, "failure"), json.dumps(dict(failure)), "PX", _ms(ttl))

    async def recent_failure(self, key: str, since: float) -> Mapping[str, Any] | None:
        _, kept = await self._get_json(self._key(key, "failure"))
        return failure_since(kept, since)
