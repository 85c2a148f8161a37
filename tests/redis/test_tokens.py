"""``RedisTokenStore`` on a real redis-server: the token, the refresh lock, the count, a failure.

The store on its own here: what it keeps and for how long, what it reads as no token, the lock's
exclusion, its expiry when a holder dies, its compare-and-delete release, and Redis failing under
it. The token managers of several "processes" sharing it are in ``test_tokens_shared.py``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from pydantic import SecretStr

from bigin_async import ConfigurationError, CoordinationError, RefreshFailures
from bigin_async.auth import RefreshHistory, Token, TokenStore
from bigin_async.integrations.redis._backend import Arg, RedisBackend, RedisUnavailable
from bigin_async.integrations.redis._keys import KeyFamily
from bigin_async.integrations.redis.tokens import RedisTokenStore
from tests.redis_servers import RedisServer

FAMILY = KeyFamily("bigin", "default", "accounts")
KEY = "bigin:0123456789abcdef"
ACCESS = "1000.redis-access-SECRET"


class Watching(RedisBackend):
    """A backend that says when its lock was refused (``SET NX`` answered nil): its caller waits."""

    def __init__(self, url: str, *, cluster: bool = False) -> None:
        super().__init__(url=url, cluster=cluster)
        self.refused = anyio.Event()
        self.commands: list[tuple[Arg, ...]] = []

    async def call(self, *command: Arg) -> Any:
        self.commands.append(command)
        reply = await super().call(*command)
        if command[0] == "SET" and "NX" in command and not reply:
            self.refused.set()
        return reply


@contextlib.asynccontextmanager
async def stores(
    url: str, count: int = 1, *, cluster: bool = False, **options: Any
) -> AsyncIterator[list[RedisTokenStore]]:
    """``count`` stores, each with a backend (connections) of its own, as separate processes have."""
    backends = [Watching(url, cluster=cluster) for _ in range(count)]
    try:
        yield [RedisTokenStore(backend, FAMILY, **options) for backend in backends]
    finally:
        for backend in backends:
            await backend.aclose()


def token(expires_at: float | None) -> Token:
    return Token(
        SecretStr(ACCESS), expires_at=expires_at, api_domain="https://www.zohoapis.com", lifetime=3600.0
    )


async def pttl(store: RedisTokenStore, *part: str) -> int:
    ttl: int = await store.backend.call("PTTL", FAMILY.key("token", KEY, *part))
    return ttl


# -- the token -----------------------------------------------------------------------------------
async def test_a_saved_token_is_read_back_and_kept_until_it_expires_and_a_minute(redis_url: str) -> None:
    import time

    async with stores(redis_url) as [store]:
        assert isinstance(store, TokenStore)
        assert isinstance(store, RefreshHistory) and isinstance(store, RefreshFailures)
        assert await store.load(KEY) is None
        saved = token(time.time() + 3600)
        await store.save(KEY, saved)
        assert await store.load(KEY) == saved
        assert 3_600_000 < await pttl(store) <= 3_660_000
        await store.save(KEY, token(None))  # no expiry: a day, never for good
        assert 86_000_000 < await pttl(store) <= 86_400_000
        await store.save(KEY, token(time.time() - 500))  # expired already: the margin only
        assert 0 < await pttl(store) <= 60_000
        await store.save(KEY, token(time.time() + 10 * 86_400))  # a skewed clock: a day at most
        assert await pttl(store) <= 86_400_000
        await store.clear(KEY)
        assert await store.load(KEY) is None
        await store.clear(KEY)  # clearing nothing is fine


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '"text"',
        "{}",
        json.dumps({"access_token": "", "expires_at": 1}),
        json.dumps({"access_token": "1000.x", "expires_at": "soon"}),
        json.dumps({"access_token": "1000.x", "api_domain": "file:///etc/passwd"}),
    ],
)
async def test_a_value_this_sdk_did_not_write_reads_as_no_token_and_says_so_once(
    redis_url: str, raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with stores(redis_url) as [store]:
        await store.backend.call("SET", FAMILY.key("token", KEY), raw)
        with caplog.at_level(logging.WARNING, logger="bigin_async"):
            assert await store.load(KEY) is None
            assert await store.load(KEY) is None
        warnings = [r.getMessage() for r in caplog.records if "not one this SDK wrote" in r.getMessage()]
        assert len(warnings) == 1
        await store.save(KEY, token(None))  # the next save replaces it
        assert await store.load(KEY) == token(None)


# -- the refresh lock ----------------------------------------------------------------------------
async def test_the_lock_is_one_holders_at_a_time_across_stores(redis_url: str) -> None:
    async with stores(redis_url, 2) as [first, second]:
        order: list[str] = []
        second_has_it = anyio.Event()

        async def take_second() -> None:
            async with second.lock(KEY):
                order.append("second")
                second_has_it.set()

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tasks:
                async with first.lock(KEY):
                    tasks.start_soon(take_second)
                    await second.backend.refused.wait()  # type: ignore[attr-defined]  # it waits
                    order.append("first")
                # first released on leaving its block; the second then takes the lock
                await second_has_it.wait()
        assert order == ["first", "second"]
        assert await pttl(first, "lock") == -2  # released: the key is gone


async def test_a_dead_holders_lock_expires_and_its_late_release_leaves_the_next_holders(
    redis_url: str,
) -> None:
    """A holder that stops (killed, frozen) never releases: the lock expires after lock_seconds and
    another takes it, with no sleep in the test. When the first comes back and releases, the
    compare-and-delete leaves the second holder's lock in place."""
    async with stores(redis_url, 2, lock_seconds=0.3) as [dead, alive]:
        held = dead.lock(KEY)
        await held.__aenter__()  # and never again, until it comes back below
        with anyio.fail_after(20):
            async with alive.lock(KEY):
                assert alive.backend.refused.is_set()  # type: ignore[attr-defined]  # it did wait
                await held.__aexit__(None, None, None)  # the dead holder's late release
                assert 0 < await pttl(alive, "lock") <= 300  # still the live holder's
        assert await pttl(alive, "lock") == -2


async def test_the_holder_extends_its_lock_before_each_try_and_only_its_own(redis_url: str) -> None:
    """``update_refreshes`` runs before each try of a refresh: the holder's lock lives another
    ``lock_seconds`` from there (a slow refresh keeps it). A lock taken over by another holder
    (this one's expired meanwhile) is not extended, nor is one a store does not hold."""
    async with stores(redis_url, 2, lock_seconds=100.0) as [holder, other]:
        name = FAMILY.key("token", KEY, "lock")
        async with holder.lock(KEY):
            await holder.backend.call("PEXPIRE", name, 5000)  # time passes: 5 s of the lock left
            await holder.update_refreshes(KEY, lambda kept: kept)
            assert await pttl(holder, "lock") > 90_000
            await holder.backend.call("PEXPIRE", name, 5000)
            await other.update_refreshes(KEY, lambda kept: kept)  # not its lock: untouched
            assert await pttl(holder, "lock") <= 5000
            await holder.backend.call("SET", name, "another-holder", "PX", 5000)  # it expired, retaken
            with pytest.raises(CoordinationError, match="was lost before this try"):  # so no try is sent
                await holder.update_refreshes(KEY, lambda kept: kept)
            assert await pttl(holder, "lock") <= 5000
        assert await holder.backend.call("GET", name) == "another-holder"  # its release left it too
        await holder.update_refreshes(KEY, lambda kept: kept)  # no longer held: nothing to extend
        assert await pttl(holder, "lock") <= 5000


async def test_a_holder_cancelled_by_its_bound_still_releases_the_lock(redis_url: str) -> None:
    async with stores(redis_url, 1) as [store]:
        with anyio.CancelScope() as scope:
            async with store.lock(KEY):
                scope.cancel()
                await anyio.sleep_forever()
        assert scope.cancelled_caught
        assert await pttl(store, "lock") == -2


class LosingTheReply(Watching):
    """A backend whose ``SET NX`` takes the lock in Redis, then its caller is cancelled before it
    hears so (the flight's bound passing at that moment)."""

    scope: anyio.CancelScope | None = None

    async def call(self, *command: Arg) -> Any:
        reply = await super().call(*command)
        if command[0] == "SET" and "NX" in command and reply and self.scope is not None:
            self.scope.cancel()
            await anyio.lowlevel.checkpoint()
        return reply


async def test_a_lock_taken_as_its_taker_was_cancelled_is_freed_not_left_for_lock_seconds(
    redis_url: str,
) -> None:
    backend = LosingTheReply(redis_url)
    store = RedisTokenStore(backend, FAMILY)
    try:
        with anyio.CancelScope() as scope:
            backend.scope = scope
            async with store.lock(KEY):
                raise AssertionError("cancelled before it heard it had the lock")
        assert scope.cancelled_caught
        assert await pttl(store, "lock") == -2
    finally:
        await backend.aclose()


async def test_a_lock_wait_is_cancellable(redis_url: str) -> None:
    async with stores(redis_url, 2) as [first, second]:
        async with first.lock(KEY):
            with anyio.fail_after(20):
                with anyio.CancelScope() as scope:
                    async with anyio.create_task_group() as tasks:

                        async def wait_for_lock() -> None:
                            async with second.lock(KEY):
                                raise AssertionError("the lock is the first store's")

                        tasks.start_soon(wait_for_lock)
                        await second.backend.refused.wait()  # type: ignore[attr-defined]
                        scope.cancel()
            assert 0 < await pttl(first, "lock")  # the first still holds it


async def test_redis_killed_while_a_store_waits_for_the_lock_raises_redis_unavailable(
    fresh_redis_server: RedisServer,
) -> None:
    async with stores(fresh_redis_server.url, 2) as [first, second]:
        held = first.lock(KEY)
        await held.__aenter__()
        raised: list[RedisUnavailable] = []
        with anyio.fail_after(20):  # a safety bound: it ends at the next try of the lock
            async with anyio.create_task_group() as tasks:

                async def wait_for_lock() -> None:
                    with pytest.raises(RedisUnavailable) as failed:
                        async with second.lock(KEY):
                            raise AssertionError("the lock is the first store's")
                    raised.append(failed.value)

                tasks.start_soon(wait_for_lock)
                await second.backend.refused.wait()  # type: ignore[attr-defined]
                fresh_redis_server.kill()
        [error] = raised
        assert f"127.0.0.1:{fresh_redis_server.port}" in str(error)
        with anyio.fail_after(20):
            await held.__aexit__(None, None, None)  # a release Redis does not answer: a warning


# -- the count of refreshes and a failed refresh -------------------------------------------------
async def test_the_refresh_count_is_kept_for_ten_minutes_and_garbage_in_it_dropped(redis_url: str) -> None:
    async with stores(redis_url) as [store]:
        assert await store.update_refreshes(KEY, lambda kept: [*kept, 5.0]) == [5.0]
        assert 600_000 < await pttl(store, "refreshes") <= 660_000
        assert await store.update_refreshes(KEY, lambda kept: kept) == [5.0]
        name = FAMILY.key("token", KEY, "refreshes")
        await store.backend.call("SET", name, json.dumps(["yesterday", None, 7, True, {"a": 1}]))
        assert await store.update_refreshes(KEY, lambda kept: kept) == [7.0]
        await store.backend.call("SET", name, "not json")
        assert await store.update_refreshes(KEY, lambda kept: kept) == []
        assert await pttl(store, "refreshes") == -2  # nothing to count: no key
        assert await store.update_refreshes(KEY, lambda kept: kept) == []


async def test_a_kept_failure_is_found_since_its_time_and_leaves_after_its_ttl(redis_url: str) -> None:
    async with stores(redis_url) as [store]:
        failure = {"class": "ServerError", "message": "HTTP 500", "code": None, "status": 500, "when": 100.0}
        await store.record_failure(KEY, failure, ttl=5.0)
        assert 0 < await pttl(store, "failure") <= 5000
        assert await store.recent_failure(KEY, since=100.0) == failure
        assert await store.recent_failure(KEY, since=100.5) is None
        await store.record_failure(KEY, {**failure, "when": 200.0}, ttl=5.0)  # a later one replaces it
        assert (await store.recent_failure(KEY, since=150.0) or {})["when"] == 200.0
        await store.backend.call("SET", FAMILY.key("token", KEY, "failure"), '{"when": "now"}')
        assert await store.recent_failure(KEY, since=0.0) is None
        await store.clear(KEY)  # a clear keeps the failure and the count: they are not the token's


# -- nothing secret shows ------------------------------------------------------------------------
async def test_no_repr_log_or_error_shows_the_token_or_the_redis_password(
    fresh_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis refusing the write (out of memory) raises RedisUnavailable naming the command, not the
    token it carried; reprs show no password."""
    backend = RedisBackend.from_url(fresh_redis_server.url.replace("redis://", "redis://:hunter2@"))
    assert "hunter2" not in repr(RedisTokenStore(backend, FAMILY))
    async with stores(fresh_redis_server.url) as [store]:
        await store.backend.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
        await store.backend.call("CONFIG", "SET", "maxmemory", "1")
        with caplog.at_level(logging.DEBUG), pytest.raises(RedisUnavailable) as raised:
            await store.save(KEY, token(None))
        await store.backend.call("CONFIG", "SET", "maxmemory", "0")
    shown = [str(raised.value), repr(raised.value), str(raised.value.cause), repr(store), caplog.text]
    assert all(ACCESS not in text for text in shown)
    assert "OutOfMemoryError" in str(raised.value)


def test_the_lock_and_poll_times_are_checked() -> None:
    backend = RedisBackend.from_url("redis://127.0.0.1:1/0")
    for options in ({"lock_seconds": 0}, {"poll_interval": -1.0}, {"lock_seconds": float("nan")}):
        with pytest.raises(ConfigurationError):
            RedisTokenStore(backend, FAMILY, **options)
