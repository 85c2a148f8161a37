"""Token managers of several "processes" sharing one access token through Redis.

Each "process" is a token manager with a Redis store and connections of its own (nothing shared in
memory), against one loopback accounts server: 4 x 10 callers with an expired token cause one
refresh; with the accounts server failing, one attempt per episode; "Access Denied" seen by one
stops the others; a lock holder that died holds the others up for ``lock_seconds`` only; Redis
killed while they wait costs a warning and this process's own refresh, never a hang. The same
on a 3-node Redis Cluster.
"""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest
from pydantic import SecretStr

from bigin_async.auth import RefreshBlockedError, Token
from bigin_async.errors import ServerError
from tests.auth.test_refresh_failures import Refusing, bound_episode, episode_across, kinds, process
from tests.helpers.accounts_server import AccountsServer
from tests.redis.test_tokens import stores
from tests.redis_servers import RedisServer


def tokens_of(results: list[list[Token | BaseException]]) -> set[str]:
    return {
        r.access_token.get_secret_value() for outcomes in results for r in outcomes if isinstance(r, Token)
    }


async def test_four_processes_of_ten_callers_with_an_expired_token_cause_one_refresh(redis_url: str) -> None:
    async with AccountsServer.running() as server, stores(redis_url, 4) as shared:
        results = await episode_across(server, shared, mode="ok", tasks_each=10)
    assert server.received == 1
    assert [len(r) for r in results] == [10] * 4
    assert kinds(results) == {"Token"} and tokens_of(results) == {"1000.minted-1"}


async def test_the_same_on_a_redis_cluster(redis_cluster_url: str) -> None:
    async with AccountsServer.running() as server, stores(redis_cluster_url, 4, cluster=True) as shared:
        assert all(store.backend.cluster for store in shared)
        results = await episode_across(server, shared, mode="ok", tasks_each=10)
        assert server.received == 1 and tokens_of(results) == {"1000.minted-1"}
        await shared[0].clear(process(server, shared[0]).store_key)  # the token is gone (revoked)
        async with AccountsServer.running() as failing:
            failed = await episode_across(failing, shared, mode="500", tasks_each=10, refresh_attempts=1)
    assert failing.received == 1  # the failing episode's one attempt
    assert kinds(failed) == {"ServerError"}


async def test_forty_tasks_at_once_on_a_new_cluster_connection_all_read_the_token(
    redis_cluster_url: str,
) -> None:
    """A process's first Redis commands come from many tasks at once (every call needs the token):
    on a cluster client that has not learnt the slots yet none of them fails."""
    async with stores(redis_cluster_url, 2, cluster=True) as [writer, reader]:
        await writer.save("k", Token(SecretStr("1000.cluster-access"), expires_at=None))
        seen: list[Token | None] = []

        async def read() -> None:
            for _ in range(5):
                seen.append(await reader.load("k"))

        async with anyio.create_task_group() as tasks:
            for _ in range(40):
                tasks.start_soon(read)
    assert len(seen) == 200 and {t.access_token.get_secret_value() for t in seen if t} == {
        "1000.cluster-access"
    }
    assert None not in seen


async def test_two_processes_send_one_refresh_while_the_endpoint_fails(redis_url: str) -> None:
    async with AccountsServer.running() as server, stores(redis_url, 2) as shared:
        results = await episode_across(server, shared, mode="500", refresh_attempts=1)
    assert server.received == 1
    theirs = results[1][0]
    assert isinstance(theirs, ServerError) and "another process" in str(theirs)


async def test_four_processes_of_ten_callers_share_one_flights_tries_while_the_endpoint_fails(
    redis_url: str,
) -> None:
    """A 500 is tried three times by the first process's flight; the other three processes, all
    waiting for the lock meanwhile, send nothing and raise its error: one attempt per episode."""
    async with AccountsServer.running() as server, stores(redis_url, 4) as shared:
        results = await episode_across(server, shared, mode="500", tasks_each=10)
    assert server.received == 3
    assert kinds(results) == {"ServerError"} and [len(r) for r in results] == [10] * 4


async def test_an_unreachable_accounts_server_costs_one_processes_tries(redis_url: str) -> None:
    """Connection refused (nothing reaches Zoho: tried three times) is the first process's
    failure; the other processes, waiting for the lock meanwhile, raise it and try nothing."""
    async with AccountsServer.running() as server, stores(redis_url, 3) as shared:
        refusing = Refusing(server)
        results = await episode_across(server, shared, mode="ok", tasks_each=3, transport=refusing)
    assert refusing.attempts == 3 and server.received == 0
    assert kinds(results) == {"BiginConnectionError"}
    assert all("another process" in str(r) for outcomes in results[1:] for r in outcomes)


async def test_a_hung_accounts_server_costs_one_processes_bound_not_one_each(redis_url: str) -> None:
    async with AccountsServer.running() as server, stores(redis_url, 3) as shared:
        results = await bound_episode(server, shared)
    assert server.received == 1
    assert kinds(results) == {"BiginTimeoutError"}
    assert all("another process" in str(r) for outcomes in results[1:] for r in outcomes)


# -- "Access Denied" -------------------------------------------------------------------------------
async def test_access_denied_seen_by_one_process_stops_the_others_sending(redis_url: str) -> None:
    """One process gets "Access Denied"; a process that needs a token later, its token stale too,
    refuses without asking (the refresh count in Redis is full until Zoho's block ends)."""
    async with AccountsServer.running() as server, stores(redis_url, 2) as [one, other]:
        server.mode = "access_denied"
        async with httpx.AsyncClient() as http:
            first, second = process(server, one), process(server, other)
            first.http = second.http = http
            with pytest.raises(RefreshBlockedError) as denied:
                await first.get_token()
            with pytest.raises(RefreshBlockedError) as refused:
                await second.get_token()
    assert server.received == 1
    assert refused.value.retry_at == pytest.approx(denied.value.retry_at, abs=1.0)


async def test_access_denied_while_the_others_wait_is_raised_by_all_of_them(redis_url: str) -> None:
    async with AccountsServer.running() as server, stores(redis_url, 4) as shared:
        results = await episode_across(server, shared, mode="access_denied", tasks_each=5)
    assert server.received == 1
    assert kinds(results) == {"RefreshBlockedError"}
    codes = {getattr(r, "code", None) for outcomes in results for r in outcomes}
    assert codes <= {"Access Denied", "REFRESH_LIMIT"}


# -- the lock's holder dies; Redis dies ----------------------------------------------------------
async def test_a_lock_holder_that_died_holds_the_others_up_for_lock_seconds_only(redis_url: str) -> None:
    async with AccountsServer.running() as server, stores(redis_url, 2, lock_seconds=0.5) as [dead, alive]:
        tokens = process(server, alive)
        held = dead.lock(tokens.store_key)
        await held.__aenter__()  # the holder is SIGKILLed now: it never releases
        async with httpx.AsyncClient() as http:
            tokens.http = http
            with anyio.fail_after(20):  # a safety bound: the lock expires after 0.5 s
                token = await tokens.get_token()
        assert alive.backend.refused.is_set()  # type: ignore[attr-defined]  # it did wait
        await held.__aexit__(None, None, None)
    assert token.access_token.get_secret_value() == "1000.minted-1" and server.received == 1


async def test_redis_killed_while_a_process_waits_for_the_lock_costs_a_warning_not_a_hang(
    fresh_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The lock is another process's; Redis dies while this one waits for it. The next try of the
    lock fails (RedisUnavailable): the manager says so once and refreshes on its own, its token in
    memory. (A RedisCoordination with ``on_redis_down="fail"`` refuses instead.)"""
    async with AccountsServer.running() as server, stores(fresh_redis_server.url, 2) as [other, mine]:
        tokens = process(server, mine)
        held = other.lock(tokens.store_key)
        await held.__aenter__()
        got: list[Token] = []
        async with httpx.AsyncClient() as http:
            tokens.http = http
            with caplog.at_level(logging.WARNING, logger="bigin_async"), anyio.fail_after(20):
                async with anyio.create_task_group() as tasks:

                    async def call() -> None:
                        got.append(await tokens.get_token())

                    tasks.start_soon(call)
                    await mine.backend.refused.wait()  # type: ignore[attr-defined]  # it waits
                    fresh_redis_server.kill()
            await held.__aexit__(None, None, None)
    assert [t.access_token.get_secret_value() for t in got] == ["1000.minted-1"]
    assert server.received == 1
    warnings = [r.getMessage() for r in caplog.records if "token store could not" in r.getMessage()]
    assert len(warnings) == 1 and "RedisUnavailable" in warnings[0]
    assert "1000.minted-1" not in caplog.text
