"""``RedisCoordination``: its arguments checked, and what each ``on_redis_down`` does when Redis fails.

The Redis side here is a stand-in (this process's limits and a memory store that raise
``RedisUnavailable`` on demand), so each failure is placed exactly where the test wants it: at the
gate, at the pace, at the finish, at the token's lock. The tests against a real Redis (down, killed,
restarted, a server that never answers) are in ``test_coordination_redis.py``.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest
import redis
import redis.asyncio

from bigin_async import BiginClient, ConfigurationError, CoordinationError, MemoryTokenStore, Settings
from bigin_async._coordination import Answer, Ask, Coordination, Limits, LocalLimits
from bigin_async._limits import RateLimiter
from bigin_async.auth import RefreshFailures, RefreshHistory, Token, TokenManager, TokenStore
from bigin_async.integrations.redis._backend import RedisUnavailable
from bigin_async.integrations.redis.coordination import (
    CoordinatedLimits,
    CoordinatedTokenStore,
    RedisCoordination,
)
from bigin_emulator.emulator import BiginEmulator
from tests.helpers.accounts_server import AccountsServer

URL = "redis://:hunter2@127.0.0.1:6379/0"


class Outage:
    """Which Redis operations fail now (all of them while ``down``)."""

    def __init__(self) -> None:
        self.down = False
        self.failing: set[str] = set()

    def check(self, operation: str) -> None:
        if self.down or operation in self.failing:
            raise RedisUnavailable(f"Redis at redis://127.0.0.1:6379/0 failed on {operation}: refused")


class FakeShared(LocalLimits):
    """Stands for RedisLimits: this process's limits that fail as ``outage`` says, with a log."""

    def __init__(self, settings: Settings, outage: Outage) -> None:
        super().__init__(settings)
        self.outage = outage
        self.log: list[str] = []
        self.marker = RateLimiter.per_minute(10)
        self.closed = 0

    @property
    def read_downloads(self) -> RateLimiter:
        return self.marker

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[object]:
        self.outage.check("gate")
        async with self.gate:
            self.log.append("slot")
            yield "redis-slot"
        self.outage.check("release")

    def slot(self) -> Any:
        return self._slot()

    async def pace(self, slot: object, ask: Ask) -> bool:
        assert slot == "redis-slot"
        self.outage.check("pace")
        self.log.append("pace")
        return await super().pace(slot, ask)

    async def finish(self, slot: object, ask: Ask, answer: Answer) -> None:
        assert slot == "redis-slot"
        self.outage.check("finish")
        self.log.append("finish")
        await super().finish(slot, ask, answer)

    async def open_cooldown(self, seconds: float) -> None:
        self.outage.check("cooldown")
        self.log.append("cooldown")
        await super().open_cooldown(seconds)

    async def aclose(self) -> None:
        self.closed += 1
        self.outage.check("close")


class FakeStore(MemoryTokenStore):
    """Stands for RedisTokenStore: a memory store that fails as ``outage`` says."""

    def __init__(self, outage: Outage) -> None:
        super().__init__()
        self.outage = outage
        self.refreshes: list[float] = []
        self.failure: Mapping[str, Any] | None = None
        self.locked = 0

    async def load(self, key: str) -> Token | None:
        self.outage.check("load")
        return await super().load(key)

    async def save(self, key: str, token: Token) -> None:
        self.outage.check("save")
        await super().save(key, token)

    async def clear(self, key: str) -> None:
        self.outage.check("clear")
        await super().clear(key)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        self.outage.check("lock")
        self.locked += 1
        yield
        self.outage.check("unlock")

    async def update_refreshes(self, key: str, change: Callable[[list[float]], list[float]]) -> list[float]:
        self.outage.check("refreshes")
        self.refreshes = change(self.refreshes)
        return self.refreshes

    async def record_failure(self, key: str, failure: Mapping[str, Any], ttl: float) -> None:
        self.outage.check("record")
        self.failure = failure

    async def recent_failure(self, key: str, since: float) -> Mapping[str, Any] | None:
        self.outage.check("recent")
        return self.failure


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    """A coordination whose Redis side is the fakes above, and the fakes it made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, **options: Any) -> None:
        self.outage = Outage()
        self.made: list[FakeShared] = []
        self.stores: list[FakeStore] = []
        self.coordination = RedisCoordination(URL, **options)
        self.clock = Clock()
        self.coordination._health.clock = self.clock
        self.backend_closed = 0

        def limits(_: RedisCoordination, settings: Settings) -> Limits:
            made = FakeShared(settings, self.outage)
            self.made.append(made)
            return made

        def store(_: RedisCoordination) -> FakeStore:
            made = FakeStore(self.outage)
            self.stores.append(made)
            return made

        async def close() -> None:
            self.backend_closed += 1

        monkeypatch.setattr(RedisCoordination, "_redis_limits", limits)
        monkeypatch.setattr(RedisCoordination, "_redis_token_store", store)
        monkeypatch.setattr(self.coordination.backend, "aclose", close)


def settings(**overrides: Any) -> Settings:
    from bigin_async import resolve_region

    region = resolve_region("us")
    options: dict[str, Any] = {"api_domain": region.api_domain, "accounts_url": region.accounts_url}
    options.update(overrides)
    return Settings(region, **options)


def ask(**overrides: Any) -> Ask:
    options: dict[str, Any] = {
        "cost": 1,
        "bulk": False,
        "paced_by": None,
        "deadline_at": None,
        "timeout": 5.0,
    }
    options.update(overrides)
    return Ask(**options)


# -- arguments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"namespace": "a b"}, "namespace"),
        ({"namespace": "{x}"}, "namespace"),
        ({"namespace": ""}, "namespace"),
        ({"org": "org:1"}, "org"),
        ({"org": 12}, "org"),
        ({"on_redis_down": "maybe"}, "on_redis_down"),
        ({"on_redis_down": "LOCAL"}, "on_redis_down"),
        ({"expected_processes": 0}, "expected_processes"),
        ({"expected_processes": 2.0}, "expected_processes"),
        ({"expected_processes": True}, "expected_processes"),
        ({"lease_seconds": 0}, "lease_seconds"),
        ({"lease_seconds": -1.0}, "lease_seconds"),
        ({"lease_seconds": 0.05}, "lease_seconds must be at least 0.1"),
        ({"minute": math.inf}, "minute"),
        ({"minute": math.nan}, "minute"),
        ({"socket_timeout": "2"}, "socket_timeout"),
        ({"retry_redis_after": True}, "retry_redis_after"),
        ({"cluster": "yes"}, "cluster"),
    ],
)
def test_every_argument_is_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisCoordination("redis://127.0.0.1:6379/0", **options)


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "", "redis:/x"])
def test_a_url_must_be_redis_rediss_or_unix(url: str) -> None:
    with pytest.raises(ConfigurationError, match="redis://, rediss:// or unix://"):
        RedisCoordination(url)


def test_a_bad_url_is_shown_without_its_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisCoordination("http://:hunter2@127.0.0.1:6379")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://h:6380/1", "unix:///tmp/redis.sock"])
def test_the_three_schemes_are_taken(url: str) -> None:
    assert RedisCoordination(url).url == url


def test_a_client_must_be_redis_pys_and_decode_replies() -> None:
    with pytest.raises(ConfigurationError, match="redis-py client"):
        RedisCoordination(object())
    with pytest.raises(ConfigurationError, match="decode_responses=True"):
        RedisCoordination(redis.Redis())
    with pytest.raises(ConfigurationError, match="RedisCluster"):
        RedisCoordination(redis.Redis(decode_responses=True), cluster=True)
    made = RedisCoordination(redis.asyncio.Redis(host="127.0.0.1", port=6390, decode_responses=True))
    assert made.url == "redis://127.0.0.1:6390/0"


def test_repr_and_describe_never_show_the_password() -> None:
    for url in (URL, "redis://user:hunter2@127.0.0.1:6379/0", "rediss://:hunter2@h:1/0"):
        coordination = RedisCoordination(url, namespace="app", org="org-1")
        shown = repr(coordination) + coordination.describe()
        assert "hunter2" not in shown
        assert "app" in shown and "org-1" in shown
    assert RedisCoordination(URL).describe() == "redis://:***@127.0.0.1:6379/0 (namespace bigin, org default)"


def test_it_is_a_coordination_and_its_limits_and_store_fit_the_protocols(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig(monkeypatch, on_redis_down="local")
    assert isinstance(rig.coordination, Coordination)
    assert isinstance(rig.coordination.limits(settings()), Limits)
    store = rig.coordination.token_store()
    assert isinstance(store, TokenStore) and isinstance(store, RefreshHistory)
    assert isinstance(store, RefreshFailures)
    assert "127.0.0.1" in repr(store) and "hunter2" not in repr(store)


def test_the_local_share_divides_each_org_wide_figure_by_the_processes() -> None:
    coordination = RedisCoordination(URL, expected_processes=3)
    given = settings(
        max_concurrency=10,
        requests_per_minute=100,
        bulk_operations_per_minute=2,
        daily_limit=5000,
        timeout=7.0,
    )
    share = coordination.local_settings(given)
    assert (share.max_concurrency, share.requests_per_minute) == (3, 33)
    assert (share.bulk_operations_per_minute, share.daily_limit) == (1, 1666)  # at least 1
    assert share.timeout == 7.0
    unset = coordination.local_settings(settings(max_concurrency=2))
    assert (unset.max_concurrency, unset.requests_per_minute, unset.daily_limit) == (1, None, None)


def test_the_keys_are_the_orgs_in_the_clients_data_centre() -> None:
    coordination = RedisCoordination(URL, namespace="app", org="42")
    assert coordination.family(settings()).key("gate") == "{app:42:us}:gate"
    pinned = settings(api_domain="http://127.0.0.1:8123", api_domain_overridden=True)
    assert coordination.family(pinned).key("gate") == "{app:42:127.0.0.1:8123}:gate"


# -- on_redis_down="fail" --------------------------------------------------------------------------


async def test_fail_mode_raises_a_coordination_error_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, emulator: BiginEmulator
) -> None:
    rig = Rig(monkeypatch)
    async with emulator.client(coordination=rig.coordination) as bigin:
        await bigin.request("GET", "/org")
        sent = emulator.counters.requests_total
        rig.outage.down = True
        with pytest.raises(CoordinationError) as caught:
            await bigin.request("GET", "/org")
        assert emulator.counters.requests_total == sent
    error = caught.value
    assert error.operation == "gate"
    assert error.url == "redis://:***@127.0.0.1:6379/0"
    assert "hunter2" not in str(error) and "on_redis_down='local'" in str(error)


@pytest.mark.parametrize("where", ["pace", "cooldown"])
async def test_fail_mode_raises_from_the_pace_and_the_cooldown_too(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    rig = Rig(monkeypatch)
    limits = rig.coordination.limits(settings())
    rig.outage.failing = {where}
    with pytest.raises(CoordinationError) as caught:
        if where == "pace":
            async with limits.slot() as slot:
                await limits.pace(slot, ask())
        else:
            await limits.open_cooldown(1.0)
    assert caught.value.operation == where
    assert limits.cooldown.remaining > 0 or where == "pace"  # this process pauses whatever Redis says


async def test_a_failed_finish_or_release_never_raises(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    rig = Rig(monkeypatch)
    limits = rig.coordination.limits(settings())
    rig.outage.failing = {"finish", "release"}
    with caplog.at_level(logging.WARNING, logger="bigin_async"):
        async with limits.slot() as slot:
            assert await limits.pace(slot, ask())
            await limits.finish(slot, ask(), Answer(uncounted=False, headers=None))
    assert [r for r in caplog.records if "calls fail until it answers" in r.getMessage()]
    assert limits.gate.in_flight == 0


async def test_fail_mode_refuses_the_refresh_rather_than_refreshing_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig(monkeypatch)
    store = rig.coordination.token_store()
    rig.outage.down = True
    async with AccountsServer.running() as accounts:
        import httpx

        tokens = TokenManager(
            token_url=accounts.url,
            client_id=_secret("id"),
            client_secret=_secret("secret"),
            refresh_token=_secret("refresh"),
            store=store,
        )
        async with httpx.AsyncClient() as http:
            tokens.http = http
            with pytest.raises(CoordinationError) as caught:
                await tokens.get_token()
            assert accounts.received == 0  # no refresh of this process's own while Redis is down
            assert caught.value.operation == "token lock"
            rig.outage.down = False
            token = await tokens.get_token()
            assert accounts.received == 1
    assert await rig.stores[0].load(tokens.store_key) == token


async def test_fail_mode_token_reads_raise_which_the_manager_survives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig(monkeypatch)
    store = rig.coordination.token_store()
    rig.outage.down = True
    token = Token(_secret("t"), 2e9)
    for operation in (store.load("k"), store.save("k", token), store.clear("k")):
        with pytest.raises(CoordinationError, match="token"):
            await operation
    with pytest.raises(CoordinationError):
        await store.update_refreshes("k", lambda kept: kept)  # type: ignore[attr-defined]


# -- on_redis_down="local" -------------------------------------------------------------------------


async def test_local_mode_goes_on_with_this_processes_share_and_comes_back(
    monkeypatch: pytest.MonkeyPatch, emulator: BiginEmulator, caplog: Any
) -> None:
    rig = Rig(monkeypatch, on_redis_down="local", expected_processes=2, retry_redis_after=5.0)
    with caplog.at_level(logging.WARNING, logger="bigin_async"):
        async with emulator.client(coordination=rig.coordination, max_concurrency=6) as bigin:
            limits = bigin.transport.limits
            assert isinstance(limits, CoordinatedLimits)
            shared = rig.made[0]
            await bigin.request("GET", "/org")
            assert shared.log == ["slot", "pace", "finish"]
            assert limits.gate.limit == 6
            rig.outage.down = True
            for _ in range(3):
                await bigin.request("GET", "/org")
            assert shared.log == ["slot", "pace", "finish"]  # not tried again before retry_redis_after
            assert limits.gate.limit == 3  # this process's share while Redis is down
            assert limits.local is not None and limits.local.budget.spent_total == 3
            assert bigin.credits.spent_total == 4  # both sides
            rig.clock.now += 5.0
            await bigin.request("GET", "/org")  # one probe: still down, still local
            rig.outage.down = False
            await bigin.request("GET", "/org")  # within retry_redis_after of the probe: local
            assert limits.local.budget.spent_total == 5
            rig.clock.now += 5.0
            await bigin.request("GET", "/org")
            assert shared.log[-3:] == ["slot", "pace", "finish"] and len(shared.log) == 6
            assert limits.gate.limit == 6 and limits.gate.in_flight == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "using this process's share" in w]) == 1  # once per outage
    assert "(1/2)" in warnings[0] and "hunter2" not in "".join(warnings)
    assert len([w for w in warnings if "answers again" in w]) == 1


async def test_a_slot_taken_on_redis_whose_pace_fails_is_left_and_the_retry_is_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig(monkeypatch, on_redis_down="local")
    limits = rig.coordination.limits(settings())
    shared = rig.made[0]
    async with limits.slot() as slot:
        rig.outage.failing = {"pace", "release"}
        assert not await limits.pace(slot, ask())  # leave the gate, try again
        assert limits.gate.in_flight == 1
    assert limits.gate.in_flight == 0
    async with limits.slot() as slot:
        assert await limits.pace(slot, ask())
        await limits.finish(slot, ask(), Answer(uncounted=False, headers=None))
    assert shared.log == ["slot"]
    assert limits.local is not None and limits.local.budget.spent_total == 1


async def test_a_slot_finishes_on_the_side_it_was_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig(monkeypatch, on_redis_down="local")
    limits = rig.coordination.limits(settings())
    shared, local = rig.made[0], limits.local
    assert local is not None
    first, second = ask(), ask()
    async with limits.slot() as on_redis:
        assert await limits.pace(on_redis, first)
        rig.outage.failing = {"gate"}
        async with limits.slot() as on_local:  # Redis fails now: this one is local
            assert await limits.pace(on_local, second)
            assert limits.gate.in_flight == 2 and limits.gate.peak == 2
            rig.outage.failing = set()
            await limits.finish(on_local, second, Answer(uncounted=True, headers=None))
        await limits.finish(on_redis, first, Answer(uncounted=False, headers=None))
    assert shared.log == ["slot", "pace", "finish"]
    assert local.budget.spent_total == 0  # the local one was refunded, on the local side
    assert shared.budget.spent_total == 1


async def test_a_failed_finish_sends_later_calls_local(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig(monkeypatch, on_redis_down="local")
    limits = rig.coordination.limits(settings())
    rig.outage.failing = {"finish"}
    async with limits.slot() as slot:
        assert await limits.pace(slot, ask())
        await limits.finish(slot, ask(), Answer(uncounted=False, headers=None))
    assert limits.health.down


async def test_the_cooldown_is_one_object_whatever_the_side(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig(monkeypatch, on_redis_down="local")
    limits = rig.coordination.limits(settings())
    assert limits.local is not None and limits.local.cooldown is limits.redis.cooldown is limits.cooldown
    await limits.open_cooldown(0.0)  # Redis up: shared with every process
    assert rig.made[0].log == ["cooldown"]
    rig.outage.down = True
    await limits.open_cooldown(30.0)  # Redis down: this process still pauses
    assert limits.cooldown.remaining > 0
    async with limits.slot() as slot:  # the local side sees the same 429's pause
        assert not await limits.pace(slot, ask())
    await limits.open_cooldown(1.0)  # while down and before the retry: not tried on Redis
    assert rig.made[0].log == ["cooldown"]


async def test_a_bulk_read_download_is_paced_by_this_processes_share_when_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig(monkeypatch, on_redis_down="local", expected_processes=4)
    limits = rig.coordination.limits(settings())
    rig.outage.down = True
    download = ask(paced_by=limits.read_downloads)
    async with limits.slot() as slot:
        assert await limits.pace(slot, download)
    assert download.paced_by is limits.read_downloads  # given back to the caller as it was
    share = limits._local_downloads
    assert share is not None and share is not limits.read_downloads
    assert share.interval == RateLimiter.per_minute(2).interval  # 10 a minute, a quarter each


async def test_budget_figures_come_from_the_side_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig(monkeypatch, on_redis_down="local", expected_processes=2)
    limits = rig.coordination.limits(settings(daily_limit=100))
    budget = limits.budget
    assert budget.limit == 100
    async with limits.slot() as slot:
        assert await limits.pace(slot, ask(cost=3))
    assert (budget.remaining(), budget.spent()) == (97, 3)
    rig.outage.down = True
    async with limits.slot() as slot:
        assert await limits.pace(slot, ask(cost=2))
    assert (budget.remaining(), budget.spent()) == (48, 2)  # this process's share: 50 a day
    report = budget.report()
    assert (report.spent_total, report.remaining, report.limit) == (5, 48, 50)


async def test_local_mode_token_store_falls_back_to_memory(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    rig = Rig(monkeypatch, on_redis_down="local")
    store = rig.coordination.token_store()
    assert isinstance(store, CoordinatedTokenStore)
    token = Token(_secret("t"), 2e9)
    await store.save("k", token)
    assert await rig.stores[0].load("k") == token
    rig.outage.down = True
    with caplog.at_level(logging.WARNING, logger="bigin_async"):
        assert await store.load("k") is None  # memory: Redis's copy is out of reach
        await store.save("k", token)
        assert await store.load("k") == token
        async with store.lock("k"):
            pass
        assert await store.update_refreshes("k", lambda kept: [*kept, 1.0]) == [1.0]
        assert await store.update_refreshes("k", lambda kept: [*kept, 2.0]) == [1.0, 2.0]
        await store.record_failure("k", {"class": "ServerError", "when": 1.0}, 10.0)
        assert await store.recent_failure("k", 0.0) is None
        await store.clear("k")
        assert await store.load("k") is None
    assert len([r for r in caplog.records if "token kept in memory" in r.getMessage()]) == 1
    rig.outage.down = False
    assert await store.load("k") is None  # before retry_redis_after: still memory
    rig.clock.now += 10.0
    assert await store.load("k") == token  # Redis again
    async with store.lock("k"):
        pass
    assert rig.stores[0].locked == 1
    await store.record_failure("k", {"class": "ServerError", "when": 1.0}, 10.0)
    assert await store.recent_failure("k", 0.0) == {"class": "ServerError", "when": 1.0}


async def test_a_lock_given_back_to_a_failed_redis_does_not_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig(monkeypatch)
    store = rig.coordination.token_store()
    rig.outage.failing = {"unlock"}
    async with store.lock("k"):
        pass
    with pytest.raises(ZeroDivisionError):  # the body's own error goes through untouched
        async with store.lock("k"):
            raise ZeroDivisionError


# -- closing ---------------------------------------------------------------------------------------


async def test_the_connections_close_with_the_last_client(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig(monkeypatch)
    first = rig.coordination.limits(settings())
    second = rig.coordination.limits(settings())
    await first.aclose()
    await first.aclose()  # twice: counted once
    assert rig.backend_closed == 0
    rig.outage.failing = {"close"}
    await second.aclose()
    assert rig.backend_closed == 1
    assert [made.closed for made in rig.made] == [1, 1]
    third = rig.coordination.limits(settings())  # a later client opens them again
    await third.aclose()
    assert rig.backend_closed == 2


async def test_clients_of_one_coordination_close_its_connections_once_all_are_closed(
    monkeypatch: pytest.MonkeyPatch, emulator: BiginEmulator
) -> None:
    rig = Rig(monkeypatch)
    async with emulator.client(coordination=rig.coordination) as one:
        async with emulator.client(coordination=rig.coordination) as two:
            await one.request("GET", "/org")
            await two.request("GET", "/org")
            assert "redis://:***@127.0.0.1:6379/0" in repr(one) and "hunter2" not in repr(two)
        assert rig.backend_closed == 0
    assert rig.backend_closed == 1


def test_a_client_takes_the_coordinations_store_unless_given_one(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig(monkeypatch)
    from tests.helpers.transport import SECRETS

    bigin = BiginClient(**SECRETS, coordination=rig.coordination)
    assert isinstance(bigin.transport.tokens.store, CoordinatedTokenStore)
    mine = MemoryTokenStore()
    assert (
        BiginClient(**SECRETS, coordination=rig.coordination, token_store=mine).transport.tokens.store is mine
    )


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


# -- BiginClient.from_env --------------------------------------------------------------------------

ENV = {
    "BIGIN_CLIENT_ID": "id",
    "BIGIN_CLIENT_SECRET": "secret",
    "BIGIN_REFRESH_TOKEN": "refresh",
    "BIGIN_REDIS_URL": URL,
}


def test_from_env_builds_a_client_sharing_its_limits_through_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    Rig(monkeypatch)
    env = {
        **ENV,
        "BIGIN_REDIS_NAMESPACE": "app",
        "BIGIN_REDIS_ORG": "org-7",
        "BIGIN_REDIS_ON_DOWN": " Local ",
        "BIGIN_REDIS_PROCESSES": "3",
        "BIGIN_MAX_CONCURRENCY": "9",
    }
    bigin = BiginClient.from_env(env)
    coordination = bigin._coordination
    assert isinstance(coordination, RedisCoordination)
    assert (coordination.namespace, coordination.org) == ("app", "org-7")
    assert (coordination.on_redis_down, coordination.expected_processes) == ("local", 3)
    limits = bigin.transport.limits
    assert isinstance(limits, CoordinatedLimits) and limits.local is not None
    assert limits.local.gate.limit == 3
    assert isinstance(bigin.transport.tokens.store, CoordinatedTokenStore)
    assert "redis://:***@127.0.0.1:6379/0 (namespace app, org org-7)" in repr(bigin)
    assert "hunter2" not in repr(bigin)
    plain = BiginClient.from_env(ENV)
    assert isinstance(plain._coordination, RedisCoordination)
    assert (plain._coordination.on_redis_down, plain._coordination.namespace) == ("fail", "bigin")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BIGIN_REDIS_ON_DOWN", "maybe", "on_redis_down"),
        ("BIGIN_REDIS_PROCESSES", "0", "expected_processes"),
        ("BIGIN_REDIS_PROCESSES", "two", "BIGIN_REDIS_PROCESSES"),
        ("BIGIN_REDIS_NAMESPACE", "a b", "namespace"),
        ("BIGIN_REDIS_ORG", "{x}", "org"),
        ("BIGIN_REDIS_URL", "http://:hunter2@127.0.0.1:6379", "redis://"),
    ],
)
def test_from_env_refuses_bad_redis_values(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        BiginClient.from_env({**ENV, variable: value})
    assert "hunter2" not in str(caught.value)


def test_a_coordination_passed_to_from_env_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig(monkeypatch)
    bigin = BiginClient.from_env({**ENV, "BIGIN_REDIS_URL": "http://not-used"}, coordination=rig.coordination)
    assert bigin._coordination is rig.coordination
