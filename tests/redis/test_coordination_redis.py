"""``RedisCoordination`` against real Redis servers: shared by two clients, and when Redis fails.

Redis that is not there (a closed port), that accepts connections and never answers, that is
killed or restarted under a running client (it forgets the scripts): each call fails with
``CoordinationError`` or falls back to local limits, within ``socket_timeout`` or the call's own
deadline, never hanging. Every test runs on asyncio and on trio (redis-py's synchronous client in
worker threads there).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from bigin_async import BiginClient, BiginTimeoutError, CoordinationError, MemoryTokenStore
from bigin_async.integrations.redis import RedisCoordination
from bigin_async.integrations.redis.coordination import CoordinatedLimits
from bigin_emulator.emulator import BiginEmulator
from bigin_emulator.server.faults import ServerLimits
from tests.redis_servers import RedisServer, asyncio_only, free_port

# Every test here is over within seconds; this only turns a hang into a failure.
HANG_GUARD = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def silent_redis() -> Iterator[str]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def client(emulator: BiginEmulator, coordination: RedisCoordination, **options: Any) -> Any:
    return emulator.client(coordination=coordination, token_store=MemoryTokenStore(), **options)


def limits_of(bigin: Any) -> CoordinatedLimits:
    limits = bigin.transport.limits
    assert isinstance(limits, CoordinatedLimits)
    return limits


async def test_calls_go_through_a_live_redis(emulator: BiginEmulator, redis_url: str) -> None:
    coordination = RedisCoordination(redis_url, namespace="t", org="calls")
    async with client(emulator, coordination, max_concurrency=3, daily_limit=100) as bigin:
        for _ in range(3):
            await bigin.request("GET", "/org")
        limits = limits_of(bigin)
        assert not limits.health.down
        assert bigin.credits.spent_total == 3
        assert limits.gate.in_flight == 0 and limits.gate.peak == 1 and limits.gate.limit == 3
    assert emulator.counters.requests_total >= 3


@pytest.mark.parametrize("mode", ["fail", "local"])
async def test_a_redis_that_is_not_there(emulator: BiginEmulator, mode: Any) -> None:
    coordination = RedisCoordination(f"redis://127.0.0.1:{free_port()}/0", on_redis_down=mode)
    with anyio.fail_after(HANG_GUARD):
        async with client(emulator, coordination) as bigin:
            if mode == "fail":
                with pytest.raises(CoordinationError) as caught:
                    await bigin.request("GET", "/org")
                assert caught.value.operation == "pace"  # a call's first pace takes its slot too
                assert emulator.counters.requests_total == 0  # nothing sent, not even a refresh
            else:
                await bigin.request("GET", "/org")
                assert limits_of(bigin).health.down


@pytest.mark.parametrize("mode", ["fail", "local"])
async def test_a_redis_that_never_answers_times_out_per_operation(emulator: BiginEmulator, mode: Any) -> None:
    with silent_redis() as url, anyio.fail_after(HANG_GUARD):
        coordination = RedisCoordination(url, on_redis_down=mode, socket_timeout=0.2)
        async with client(emulator, coordination) as bigin:
            if mode == "fail":
                with pytest.raises(CoordinationError, match="Timeout") as caught:
                    await bigin.request("GET", "/org")
                assert caught.value.operation == "pace"  # a call's first pace takes its slot too
                assert emulator.counters.requests_total == 0
            else:
                await bigin.request("GET", "/org")
                assert limits_of(bigin).health.down


async def test_a_redis_that_never_answers_ends_at_the_calls_deadline(emulator: BiginEmulator) -> None:
    with silent_redis() as url, anyio.fail_after(HANG_GUARD):
        coordination = RedisCoordination(url, socket_timeout=20.0)
        async with client(emulator, coordination, deadline=0.3) as bigin:
            with pytest.raises(BiginTimeoutError):
                await bigin.request("GET", "/org")
    assert emulator.counters.requests_total == 0


async def test_a_restarted_redis_is_used_again_and_a_killed_one_fails_the_call(
    emulator: BiginEmulator, fresh_redis_server: RedisServer
) -> None:
    server = fresh_redis_server
    coordination = RedisCoordination(server.url, socket_timeout=2.0)
    with anyio.fail_after(HANG_GUARD):
        async with client(emulator, coordination, requests_per_minute=1000, daily_limit=1000) as bigin:
            await bigin.request("GET", "/org")
            server.restart()  # empty: the scripts are gone and the connections are dead
            await bigin.request("GET", "/org")
            server.kill()
            with pytest.raises(CoordinationError):
                await bigin.request("GET", "/org")
            server.restart()
            await bigin.request("GET", "/org")
            assert bigin.credits.spent_total == 3


async def test_local_mode_carries_on_through_a_killed_redis_and_comes_back(
    emulator: BiginEmulator, fresh_redis_server: RedisServer, caplog: Any
) -> None:
    server = fresh_redis_server
    coordination = RedisCoordination(
        server.url, on_redis_down="local", expected_processes=2, retry_redis_after=5.0
    )
    clock = coordination._health.clock = Clock()
    with caplog.at_level(logging.WARNING, logger="bigin_async"), anyio.fail_after(HANG_GUARD):
        async with client(emulator, coordination, max_concurrency=4) as bigin:
            limits = limits_of(bigin)
            await bigin.request("GET", "/org")
            server.kill()
            await bigin.request("GET", "/org")
            await bigin.request("GET", "/org")
            assert limits.health.down and limits.gate.limit == 2
            server.restart()
            await bigin.request("GET", "/org")  # before retry_redis_after: still local
            assert limits.health.down
            clock.now += 5.0
            await bigin.request("GET", "/org")
            assert not limits.health.down and limits.gate.limit == 4
            assert bigin.credits.spent_total == 5
    messages = [record.getMessage() for record in caplog.records]
    assert len([m for m in messages if "using this process's share" in m]) == 1
    assert len([m for m in messages if "answers again" in m]) == 1


async def test_two_processes_share_one_per_minute_count(redis_url: str) -> None:
    """Two clients with two coordinations (as two processes would have) keep one pace between them:
    the server, capping 4 a (shortened) minute, never refuses one and never sees more than 4."""
    emulator = BiginEmulator(limits=ServerLimits(per_minute=4, minute=1.0))

    def coordination() -> RedisCoordination:
        return RedisCoordination(redis_url, namespace="e2e", minute=1.0)

    with anyio.fail_after(HANG_GUARD):
        async with (
            client(emulator, coordination(), requests_per_minute=4, max_retries=0) as one,
            client(emulator, coordination(), requests_per_minute=4, max_retries=0) as two,
        ):
            await one.request("GET", "/org")  # both take their token first (not a paced call)
            await two.request("GET", "/org")
            emulator.counters.reset()
            async with anyio.create_task_group() as group:
                for bigin in (one, two):
                    for _ in range(4):
                        group.start_soon(bigin.request, "GET", "/org")
    counters = emulator.counters
    assert counters.requests_by_route and sum(counters.requests_by_route.values()) == 8
    assert counters.rejected_by_limit == {}
    assert counters.max_requests_in_rolling_minute <= 4


async def test_a_redis_cluster(emulator: BiginEmulator, redis_cluster_url: str) -> None:
    coordination = RedisCoordination(redis_cluster_url, cluster=True, org="clustered")
    with anyio.fail_after(HANG_GUARD):
        async with emulator.client(coordination=coordination, requests_per_minute=100) as bigin:
            await bigin.request("GET", "/org")
            await bigin.request("GET", "/org")
            assert not limits_of(bigin).health.down
    assert emulator.counters.refreshes == 1  # the token kept in the cluster too


async def test_two_processes_share_one_access_token(emulator: BiginEmulator, redis_url: str) -> None:
    with anyio.fail_after(HANG_GUARD):
        async with (
            emulator.client(coordination=RedisCoordination(redis_url, org="token")) as one,
            emulator.client(coordination=RedisCoordination(redis_url, org="token")) as two,
        ):
            await one.request("GET", "/org")
            await two.request("GET", "/org")  # finds the first one's token in Redis
            assert one.transport.tokens.refresh_count + two.transport.tokens.refresh_count == 1
    assert emulator.counters.refreshes == 1


@pytest.mark.parametrize("mode", ["fail", "local"])
async def test_a_token_with_redis_not_there(emulator: BiginEmulator, mode: Any) -> None:
    coordination = RedisCoordination(f"redis://127.0.0.1:{free_port()}/0", on_redis_down=mode)
    with anyio.fail_after(HANG_GUARD):
        async with emulator.client(coordination=coordination) as bigin:
            if mode == "fail":
                with pytest.raises(CoordinationError) as caught:
                    await bigin.transport.tokens.get_token()
                assert caught.value.operation == "token lock"
                assert emulator.counters.refreshes == 0  # no refresh of this process's own
            else:
                await bigin.request("GET", "/org")  # the token kept in memory meanwhile
                assert emulator.counters.refreshes == 1


async def test_a_client_per_request_from_env_shares_the_token_and_closes_its_connections(
    emulator: BiginEmulator, redis_url: str
) -> None:
    """A web app that builds a client per request (``BiginClient.from_env`` in a FastAPI handler)
    gets one coordination per client: the token is still refreshed once for all of them, and each
    client's Redis connections go when it closes."""
    env = {
        "BIGIN_CLIENT_ID": emulator.client_id,
        "BIGIN_CLIENT_SECRET": emulator.client_secret,
        "BIGIN_REFRESH_TOKEN": emulator.refresh_token,
        "BIGIN_API_DOMAIN": "http://127.0.0.1",
        "BIGIN_ACCOUNTS_URL": "http://127.0.0.1",
        "BIGIN_REDIS_URL": redis_url,
        "BIGIN_REDIS_ORG": "per-request",
    }
    with anyio.fail_after(HANG_GUARD):
        for _ in range(4):
            async with BiginClient.from_env(env, transport=emulator.transport()) as bigin:
                await bigin.request("GET", "/org")
                coordination = bigin._coordination
                assert isinstance(coordination, RedisCoordination)
                assert coordination.backend._owned  # a connection pool while the client is open
            assert not coordination.backend._owned  # closed with the client
    assert emulator.counters.refreshes == 1


async def test_a_redis_py_client_of_ones_own(
    emulator: BiginEmulator, redis_server: RedisServer, redis_url: str
) -> None:
    """A synchronous ``redis.Redis`` serves both event loops (in threads); it is left open."""
    import redis

    own = redis.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True, socket_timeout=2)
    coordination = RedisCoordination(own, org="own-client")
    with anyio.fail_after(HANG_GUARD):
        async with emulator.client(coordination=coordination) as bigin:
            await bigin.request("GET", "/org")
    assert own.ping()  # not closed by the coordination
    assert own.keys("{bigin:own-client:*")
    own.close()


@asyncio_only
async def test_an_asyncio_redis_py_client_of_ones_own(
    emulator: BiginEmulator, redis_server: RedisServer
) -> None:
    import redis.asyncio

    redis_server.flushall()
    own = redis.asyncio.Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    coordination = RedisCoordination(own, org="own-async")
    with anyio.fail_after(HANG_GUARD):
        async with emulator.client(coordination=coordination) as bigin:
            await bigin.request("GET", "/org")
        assert await own.keys("{bigin:own-async:*")
        await own.aclose()
