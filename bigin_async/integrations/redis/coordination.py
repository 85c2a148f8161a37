"""``RedisCoordination``: every process of an org keeps one gate, one pace, one credit count and
one access token in Redis, and knows what to do when Redis is down.

Zoho counts an org's calls, concurrent calls, credits and token refreshes whichever process sends
them. Pointing every process at one Redis (``BiginClient(coordination=RedisCoordination(url))``)
makes them share those limits. When Redis cannot be reached, ``on_redis_down`` decides:

- ``"fail"`` (the default): the call raises :class:`~bigin_async.errors.CoordinationError` before
  anything is sent, and no access token is refreshed, so no process can overrun the org's limits
  (or get its refresh token blocked: Zoho allows 10 refreshes in 10 minutes) while Redis is away;
- ``"local"``: each process carries on with its share of the limits (each figure divided by
  ``expected_processes``), says so once in the log, and tries Redis again every
  ``retry_redis_after`` seconds, going back to the shared limits as soon as Redis answers.

Every Redis operation is bounded by ``socket_timeout`` and by the call's own deadline: a Redis
that is down, or that accepts connections and never answers, never hangs a call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Literal

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from bigin_async._config import Settings
from bigin_async._coordination import READ_DOWNLOADS_PER_MINUTE, Answer, Ask, Limits, LocalLimits
from bigin_async._limits import Cooldown, CreditsReport, RateLimiter, allowance_of
from bigin_async._redact import get_logger
from bigin_async.auth import MemoryTokenStore, Token, TokenStore
from bigin_async.errors import ConfigurationError, CoordinationError
from bigin_async.integrations.redis._backend import RedisBackend, RedisUnavailable
from bigin_async.integrations.redis._keys import KeyFamily, datacenter_of
from bigin_async.integrations.redis._urls import safe_url, url_problem
from bigin_async.integrations.redis.limits import RedisLimits
from bigin_async.integrations.redis.tokens import RedisTokenStore

logger = get_logger("redis")

__all__ = ["CoordinatedLimits", "CoordinatedTokenStore", "OnRedisDown", "RedisCoordination"]

OnRedisDown = Literal["fail", "local"]

_SCHEMES = ("redis", "rediss", "unix")
_CLIENTS = (redis.Redis, redis.asyncio.Redis, redis.cluster.RedisCluster, redis.asyncio.cluster.RedisCluster)
_CLUSTERS = (redis.cluster.RedisCluster, redis.asyncio.cluster.RedisCluster)
# The token's keys are per refresh token (the manager's store key), so one family serves every
# data centre: the limits' families are per data centre, as Zoho's limits are.
_TOKEN_FAMILY = "accounts"
# A slot's lease is renewed while its call waits, polling Redis every 20 ms: three polls a lease.
_MIN_LEASE = 0.1


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigurationError(f"{name} must be a positive, finite number of seconds, got {value!r}")
    return float(value)


def _why(error: RedisUnavailable) -> str:
    """What went wrong, without the URL again: redis-py's own error when there is one."""
    cause = error.cause
    return f"{type(cause).__name__}: {cause}" if cause is not None else str(error)


def _share(value: int | None, processes: int) -> int | None:
    """One process's share of an org-wide figure (at least 1; None stays: that limit is off)."""
    return None if value is None else max(1, value // processes)


class _Health:
    """Whether this coordination's Redis answers, as its last operations found it.

    One per coordination, shared by its limits and its token store, so one outage is noticed (and
    logged) once. In ``"local"`` mode, while Redis is down, one operation every ``retry_after``
    seconds tries Redis again (the probe); the rest use the local limits meanwhile.
    """

    def __init__(self, url: str, mode: OnRedisDown, retry_after: float, processes: int) -> None:
        self.url = url
        self.mode = mode
        self.retry_after = retry_after
        self.processes = processes
        self.clock: Callable[[], float] = time.monotonic  # not the event loop's: shared across loops
        self.down_at: float | None = None
        self._probe_at = 0.0

    @property
    def down(self) -> bool:
        return self.down_at is not None

    def use_redis(self) -> bool:
        """Whether the next operation goes to Redis (always, in ``"fail"`` mode)."""
        if self.mode == "fail" or self.down_at is None:
            return True
        now = self.clock()
        if now < self._probe_at:
            return False
        self._probe_at = now + self.retry_after  # this one probes; the others stay local meanwhile
        return True

    def failed(self, operation: str, error: RedisUnavailable) -> None:
        """Redis failed ``operation``: raise :class:`CoordinationError` in ``"fail"`` mode, else
        note the outage (a warning the first time) and go local until the next probe."""
        if self.mode == "fail":
            self.noted(operation, error)
            raise CoordinationError(
                f"Redis at {self.url} failed ({operation}: {_why(error)}); nothing was sent. Start Redis "
                "(or make it reachable), or pass on_redis_down='local' to use this process's share of the "
                "limits meanwhile",
                url=self.url,
                operation=operation,
            ) from error
        self.noted(operation, error)
        self._probe_at = self.clock() + self.retry_after

    def noted(self, operation: str, error: RedisUnavailable) -> None:
        """Redis failed an operation that raises nothing (giving back a slot or a lock): say it once."""
        if self.down_at is not None:
            return
        self.down_at = self.clock()
        if self.mode == "fail":
            logger.warning(
                "Redis at %s failed (%s: %s); calls fail until it answers",
                self.url,
                operation,
                _why(error),
                extra={"bigin_event": "redis_down"},
            )
        else:
            logger.warning(
                "Redis at %s failed (%s: %s); using this process's share of the org's limits (1/%d) and a "
                "token kept in memory, trying Redis again every %gs",
                self.url, operation, _why(error), self.processes, self.retry_after,
                extra={"bigin_event": "redis_down"},
            )  # fmt: skip

    def answered(self) -> None:
        """Redis answered: an outage is over."""
        if self.down_at is None:
            return
        logger.warning(
            "Redis at %s answers again after %.1fs: back to the org's shared limits and token",
            self.url, self.clock() - self.down_at,
            extra={"bigin_event": "redis_recovered"},
        )  # fmt: skip
        self.down_at = None
        self._probe_at = 0.0


class _Guarded:
    """A Redis-side context manager (a gate slot, a token lock) whose exit never raises for Redis:
    what it gives back (a lease, a lock) expires in Redis on its own, and raising there would hide
    the call's own outcome."""

    __slots__ = ("_health", "_inner", "_operation")

    def __init__(
        self, inner: contextlib.AbstractAsyncContextManager[Any], operation: str, health: _Health
    ) -> None:
        self._inner = inner
        self._operation = operation
        self._health = health

    async def __aenter__(self) -> Any:
        return await self._inner.__aenter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> bool:
        try:
            return bool(await self._inner.__aexit__(kind, error, tb))
        except RedisUnavailable as failure:
            self._health.noted(self._operation, failure)
            return False


@dataclasses.dataclass(slots=True, frozen=True)
class _Slot:
    """A slot of the gate and the side it was taken on: it is paced and finished on that side."""

    inner: object
    shared: bool  # True: Redis's gate; False: this process's own (Redis was down)


class _GateView:
    """The gate as this process sees it, whichever side its calls took their slots on: the calls
    in this process's own gate (Redis down) and those the shared gate counts (a call there holds
    its slot from the first pace, which takes its lease in Redis)."""

    def __init__(self, owner: CoordinatedLimits) -> None:
        self._owner = owner
        self.in_flight_now = 0  # on the local side
        self.peak_seen = 0

    def observe(self) -> None:
        """Note the figure now: after a slot taken on the local side, after a pace on Redis's."""
        self.peak_seen = max(self.peak_seen, self.in_flight)

    @property
    def limit(self) -> int:
        return self._owner.in_use.gate.limit

    @property
    def in_flight(self) -> int:
        return self.in_flight_now + self._owner.redis.gate.in_flight

    @property
    def peak(self) -> int:
        return self.peak_seen


class _BudgetView:
    """The day's credits from the side in use (Redis's shared count, or this process's own while
    Redis is down); ``spent_total`` is what this client spent on both."""

    def __init__(self, owner: CoordinatedLimits, limit: int | None) -> None:
        self._owner = owner
        self.limit = limit

    @property
    def allowance(self) -> int | None:
        """The whole ``daily_limit`` (not the share the local side holds while Redis is down), else
        Zoho's ``X-RateLimit-Limit`` as the side in use saw it last, else as the other side did."""
        owner = self._owner
        in_use = owner.in_use
        other = owner.local if in_use is owner.redis else owner.redis
        return allowance_of(self.limit, in_use.budget.allowance, other.budget.allowance if other else None)

    def report(self) -> CreditsReport:
        return dataclasses.replace(self._owner.in_use.budget.report(), spent_total=self.spent_total)

    def remaining(self) -> int | None:
        return self._owner.in_use.budget.remaining()

    def spent(self) -> int:
        return self._owner.in_use.budget.spent()

    @property
    def spent_total(self) -> int:
        owner = self._owner
        total: int = owner.redis.budget.spent_total
        if owner.local is not None:
            total += owner.local.budget.spent_total
        return total


class CoordinatedLimits:
    """The :class:`~bigin_async._coordination.Limits` of a client of a :class:`RedisCoordination`:
    Redis's shared limits, and what ``on_redis_down`` says when Redis fails.

    ``local`` is the fallback (``"local"`` mode; None in ``"fail"`` mode). A slot taken on one side
    is paced and finished on that side. The 429 cooldown is one object for both sides, so a pause
    Zoho asked for is sat out whichever side the next call takes.
    """

    def __init__(
        self,
        redis_limits: Limits,
        local: LocalLimits | None,
        health: _Health,
        settings: Settings,
        *,
        on_close: Callable[[], Awaitable[None]],
    ) -> None:
        self.redis = redis_limits
        self.local = local
        self.health = health
        self._on_close = on_close
        self._closed = False
        self._gate = _GateView(self)
        self._budget = _BudgetView(self, settings.daily_limit)
        self._latency_allowance = settings.latency_allowance
        self._local_downloads: RateLimiter | None = None
        if local is not None:
            local.cooldown = redis_limits.cooldown  # one cooldown: a 429 pauses both sides

    @property
    def in_use(self) -> Limits:
        """The side new calls take: this process's own while Redis is down (``"local"``), else Redis's."""
        return self.local if self.local is not None and self.health.down else self.redis

    @property
    def gate(self) -> _GateView:
        return self._gate

    @property
    def budget(self) -> _BudgetView:
        return self._budget

    @property
    def cooldown(self) -> Cooldown:
        return self.redis.cooldown

    @property
    def read_downloads(self) -> RateLimiter:
        return self.redis.read_downloads

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[object]:
        async with contextlib.AsyncExitStack() as stack:
            taken = await self._take(stack)
            gate = self._gate
            local = 0 if taken.shared else 1  # the shared gate counts its own
            gate.in_flight_now += local
            gate.observe()
            try:
                yield taken
            finally:
                gate.in_flight_now -= local

    async def _take(self, stack: contextlib.AsyncExitStack) -> _Slot:
        local = self.local
        if local is None or self.health.use_redis():
            try:
                inner = await stack.enter_async_context(_Guarded(self.redis.slot(), "gate", self.health))
            except RedisUnavailable as error:
                self.health.failed("gate", error)  # raises in "fail" mode
            else:
                self.health.answered()
                return _Slot(inner, shared=True)
        assert local is not None
        return _Slot(await stack.enter_async_context(local.slot()), shared=False)

    async def pace(self, slot: object, ask: Ask) -> bool:
        assert isinstance(slot, _Slot), "a slot of these limits' own slot()"
        if not slot.shared:
            return await self._pace_locally(slot.inner, ask)
        try:
            paced = await self.redis.pace(slot.inner, ask)
        except RedisUnavailable as error:
            self.health.failed("pace", error)  # raises in "fail" mode
            return False  # "local": leave this slot; the next try takes one of the local limits
        finally:
            self._gate.observe()  # the shared gate's first pace takes the slot's lease
        self.health.answered()
        return paced

    async def _pace_locally(self, inner: object, ask: Ask) -> bool:
        assert self.local is not None
        marker = self.read_downloads
        if ask.paced_by is not marker:
            return await self.local.pace(inner, ask)
        # A Bulk Read download: this process's share of Zoho's 10 a minute, not the shared limiter.
        if self._local_downloads is None:
            share = _share(READ_DOWNLOADS_PER_MINUTE, self.health.processes) or 1
            self._local_downloads = RateLimiter.per_minute(share, latency_allowance=self._latency_allowance)
        ask.paced_by = self._local_downloads
        try:
            return await self.local.pace(inner, ask)
        finally:
            ask.paced_by = marker

    async def finish(self, slot: object, ask: Ask, answer: Answer) -> None:
        assert isinstance(slot, _Slot), "a slot of these limits' own slot()"
        if not slot.shared:
            assert self.local is not None
            await self.local.finish(slot.inner, ask, answer)
            return
        try:
            await self.redis.finish(slot.inner, ask, answer)
        except RedisUnavailable as error:  # never raises: the call's own outcome stands
            self.health.noted("finish", error)
        # No news either way: the shared finish logs a failure of its own rather than raise, so
        # its ending says nothing of Redis answering (an outage noted meanwhile stands).

    async def open_cooldown(self, seconds: float) -> None:
        self.cooldown.open_for(seconds)  # this process pauses at once, whatever Redis says
        if self.local is not None and not self.health.use_redis():
            return
        try:
            await self.redis.open_cooldown(seconds)
        except RedisUnavailable as error:
            self.health.failed("cooldown", error)  # raises in "fail" mode
        else:
            self.health.answered()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.redis.aclose()
        except RedisUnavailable as error:
            self.health.noted("close", error)
        finally:
            await self._on_close()


class CoordinatedTokenStore:
    """The token store of a :class:`RedisCoordination`: the token, its lock and its refresh count
    in Redis, and what ``on_redis_down`` says when Redis fails.

    ``"fail"``: a failed Redis raises :class:`CoordinationError`; from :meth:`lock` that refuses the
    refresh (the token manager lets it through), so processes never each refresh on their own
    while Redis is away. ``"local"``: this process keeps its token in memory meanwhile.
    """

    def __init__(self, redis_store: RedisTokenStore, health: _Health) -> None:
        self.redis = redis_store
        self.health = health
        self.memory = MemoryTokenStore() if health.mode == "local" else None
        self._refreshes: dict[str, list[float]] = {}

    def __repr__(self) -> str:
        return f"CoordinatedTokenStore({self.health.url!r}, on_redis_down={self.health.mode!r})"

    async def _either(
        self,
        shared: Callable[[], Awaitable[Any]],
        local: Callable[[MemoryTokenStore], Awaitable[Any]] | None = None,
    ) -> Any:
        """``shared()`` on Redis; ``local(memory)`` while Redis is down in ``"local"`` mode."""
        memory = self.memory
        if memory is None or self.health.use_redis():
            try:
                result = await shared()
            except RedisUnavailable as error:
                self.health.failed("token", error)  # raises in "fail" mode
            else:
                self.health.answered()
                return result
        assert memory is not None
        return await local(memory) if local is not None else None

    async def load(self, key: str) -> Token | None:
        token: Token | None = await self._either(lambda: self.redis.load(key), lambda m: m.load(key))
        return token

    async def save(self, key: str, token: Token) -> None:
        await self._either(lambda: self.redis.save(key, token), lambda m: m.save(key, token))

    async def clear(self, key: str) -> None:
        await self._either(lambda: self.redis.clear(key), lambda m: m.clear(key))

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if self.memory is None or self.health.use_redis():
                try:
                    await stack.enter_async_context(_Guarded(self.redis.lock(key), "token lock", self.health))
                except RedisUnavailable as error:
                    self.health.failed("token lock", error)  # "fail": no refresh of this process's own
                else:
                    self.health.answered()
                    yield
                    return
            assert self.memory is not None
            await stack.enter_async_context(self.memory.lock(key))
            yield

    async def update_refreshes(self, key: str, change: Callable[[list[float]], list[float]]) -> list[float]:
        async def locally(_: MemoryTokenStore) -> list[float]:
            kept = self._refreshes[key] = change(self._refreshes.get(key, []))
            return kept

        kept: list[float] = await self._either(lambda: self.redis.update_refreshes(key, change), locally)
        return kept

    async def record_failure(self, key: str, failure: Mapping[str, Any], ttl: float) -> None:
        await self._either(lambda: self.redis.record_failure(key, failure, ttl))

    async def recent_failure(self, key: str, since: float) -> Mapping[str, Any] | None:
        # Within one process the token manager's own flight already shares a failure.
        found: Mapping[str, Any] | None = await self._either(lambda: self.redis.recent_failure(key, since))
        return found


class RedisCoordination:
    """Shares an org's limits and access token between processes through one Redis.

    ``redis_or_url``: a ``redis://``, ``rediss://`` or ``unix://`` URL (``cluster=True`` for a Redis
    Cluster: the URL names any node), or a redis-py client you built (``redis.Redis``,
    ``redis.asyncio.Redis`` (asyncio only) or either ``RedisCluster``, with
    ``decode_responses=True``; it is not closed here, and its own timeouts apply).

    ``namespace`` and ``org`` name the keys: pass the org id as ``org`` to keep two orgs apart on
    one Redis. ``on_redis_down``: ``"fail"`` or ``"local"`` (see the module). ``expected_processes``:
    how many processes share the org, so that in ``"local"`` mode each takes its share of
    ``max_concurrency``, ``requests_per_minute``, ``bulk_operations_per_minute`` and ``daily_limit``.
    ``lease_seconds``: how long a slot of a process that died (SIGKILL) stays taken.
    ``socket_timeout``: the bound of each Redis operation. ``retry_redis_after``: how often a
    process that fell back to local limits tries Redis again. ``minute`` is the length of Zoho's
    rate window, only for tests against an emulator whose minute is shortened
    (``ServerLimits(minute=...)``): leave it at 60 against Zoho.

    One coordination serves several clients (their limits are the same Redis keys when their
    data centre is); it holds one connection pool, closed when the last client using it closes.
    """

    def __init__(
        self,
        redis_or_url: str | Any,
        *,
        namespace: str = "bigin",
        org: str = "default",
        cluster: bool = False,
        on_redis_down: OnRedisDown = "fail",
        expected_processes: int = 1,
        lease_seconds: float = 30.0,
        minute: float = 60.0,
        socket_timeout: float = 2.0,
        retry_redis_after: float = 5.0,
    ) -> None:
        if not isinstance(cluster, bool):
            raise ConfigurationError(f"cluster must be True or False, got {cluster!r}")
        KeyFamily(namespace, org, _TOKEN_FAMILY)  # checks both names
        if on_redis_down not in ("fail", "local"):
            raise ConfigurationError(f"on_redis_down must be 'fail' or 'local', got {on_redis_down!r}")
        if (
            isinstance(expected_processes, bool)
            or not isinstance(expected_processes, int)
            or expected_processes < 1
        ):
            raise ConfigurationError(
                f"expected_processes must be a whole number of at least 1, got {expected_processes!r}"
            )
        self.lease_seconds = _seconds("lease_seconds", lease_seconds)
        if self.lease_seconds < _MIN_LEASE:
            raise ConfigurationError(
                f"lease_seconds must be at least {_MIN_LEASE:g} (a waiting call renews its slot "
                f"three times a lease), got {lease_seconds!r}"
            )
        self.minute = _seconds("minute", minute)
        self.socket_timeout = _seconds("socket_timeout", socket_timeout)
        self.retry_redis_after = _seconds("retry_redis_after", retry_redis_after)
        self.backend = self._backend(redis_or_url, cluster, self.socket_timeout)
        self.namespace = namespace
        self.org = org
        self.on_redis_down: OnRedisDown = on_redis_down
        self.expected_processes = expected_processes
        self.url = self.backend.url
        self._health = _Health(self.url, on_redis_down, self.retry_redis_after, expected_processes)
        self._users = 0

    @staticmethod
    def _backend(redis_or_url: object, cluster: bool, socket_timeout: float) -> RedisBackend:
        if isinstance(redis_or_url, str):
            scheme = redis_or_url.partition("://")[0].lower() if "://" in redis_or_url else ""
            if scheme not in _SCHEMES:
                raise ConfigurationError(
                    "the Redis URL must start with redis://, rediss:// or unix://, "
                    f"got {safe_url(redis_or_url)!r}"
                )
            # Now, not at the first call: a port, db or option redis-py cannot read, or a password
            # pasted unencoded. Described in words of our own: redis-py's quote pieces of it.
            problem = url_problem(redis_or_url)
            if problem is not None:
                raise ConfigurationError(
                    f"the Redis URL {safe_url(redis_or_url)!r} cannot be used: {problem}"
                )
            return RedisBackend.from_url(redis_or_url, cluster=cluster, socket_timeout=socket_timeout)
        if not isinstance(redis_or_url, _CLIENTS):
            raise ConfigurationError(
                "RedisCoordination needs a redis:// URL or a redis-py client (redis.Redis, "
                f"redis.asyncio.Redis, RedisCluster), not {type(redis_or_url).__name__}"
            )
        if cluster and not isinstance(redis_or_url, _CLUSTERS):
            raise ConfigurationError("cluster=True needs a RedisCluster client (or a URL)")
        if not redis_or_url.get_encoder().decode_responses:
            raise ConfigurationError("the redis-py client must be made with decode_responses=True")
        return RedisBackend.from_client(redis_or_url)

    def __repr__(self) -> str:
        return (
            f"RedisCoordination({self.url!r}, namespace={self.namespace!r}, org={self.org!r}, "
            f"on_redis_down={self.on_redis_down!r})"
        )

    def describe(self) -> str:
        """``redis://host:6379/0 (namespace bigin, org default)``: never a password."""
        return f"{self.url} (namespace {self.namespace}, org {self.org})"

    def family(self, settings: Settings) -> KeyFamily:
        """The keys of a client with these settings: its org, in its data centre."""
        return KeyFamily(self.namespace, self.org, datacenter_of(settings))

    def local_settings(self, settings: Settings) -> Settings:
        """This process's share of the org's limits, used while Redis is down (``"local"``)."""
        n = self.expected_processes
        return dataclasses.replace(
            settings,
            max_concurrency=_share(settings.max_concurrency, n) or 1,
            requests_per_minute=_share(settings.requests_per_minute, n),
            bulk_operations_per_minute=_share(settings.bulk_operations_per_minute, n),
            daily_limit=_share(settings.daily_limit, n),
        )

    def limits(self, settings: Settings) -> CoordinatedLimits:
        """The shared limits for a client with these settings (one per client)."""
        shared = self._redis_limits(settings)
        local = LocalLimits(self.local_settings(settings)) if self.on_redis_down == "local" else None
        self._users += 1
        return CoordinatedLimits(shared, local, self._health, settings, on_close=self._release)

    def token_store(self) -> TokenStore:
        """The access token, its refresh lock and its refresh count, kept in Redis for every process."""
        return CoordinatedTokenStore(self._redis_token_store(), self._health)

    def _redis_limits(self, settings: Settings) -> Limits:
        return RedisLimits(
            self.backend,
            self.family(settings),
            settings,
            minute=self.minute,
            lease_seconds=self.lease_seconds,
        )

    def _redis_token_store(self) -> RedisTokenStore:
        return RedisTokenStore(self.backend, KeyFamily(self.namespace, self.org, _TOKEN_FAMILY))

    async def _release(self) -> None:
        """A client's limits closed: the connections go with the last one."""
        self._users -= 1
        if self._users <= 0:
            self._users = 0
            await self.backend.aclose()
