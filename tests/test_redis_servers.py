"""The Redis test servers (tests/redis_servers.py) are real servers that behave as the tests rely on.

redis-py's asyncio client runs on asyncio only (``asyncio_only``); the same checks run under trio with
the sync client in worker threads, as the SDK's Redis backend does there.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from tests import redis_servers
from tests.redis_servers import RedisClusterServers, RedisServer, RedisStartError, asyncio_only

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent

# Both keys in KEYS, as the SDK's scripts take them; returns what it wrote and read.
SCRIPT = (
    "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]);"
    " return redis.call('MGET', KEYS[1], KEYS[2])"
)


@asyncio_only
async def test_the_server_answers_redis_py_s_asyncio_client(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert await client.ping() is True
        await client.set("greeting", "hello")
        assert await client.get("greeting") == "hello"
    finally:
        await client.aclose()


async def test_the_server_answers_the_sync_client_in_worker_threads(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        assert await anyio.to_thread.run_sync(client.ping) is True
        await anyio.to_thread.run_sync(client.set, "greeting", "hello")
        assert await anyio.to_thread.run_sync(client.get, "greeting") == "hello"


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_starts_with_an_empty_server(redis_url: str, turn: str) -> None:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        assert client.dbsize() == 0  # the other turn's key is gone
        client.set(f"left-by-the-{turn}-turn", 1)


def test_restart_keeps_the_port_and_loses_the_data(fresh_redis_server: RedisServer) -> None:
    port, url, pid = fresh_redis_server.port, fresh_redis_server.url, fresh_redis_server.pid
    with fresh_redis_server.client() as client:
        client.set("kept?", "no")
    fresh_redis_server.restart()
    assert (fresh_redis_server.port, fresh_redis_server.url) == (port, url)
    assert fresh_redis_server.pid not in (None, pid)
    with fresh_redis_server.client() as client:
        assert client.get("kept?") is None
        assert client.dbsize() == 0


def test_kill_makes_connections_fail_until_a_restart(fresh_redis_server: RedisServer) -> None:
    with fresh_redis_server.client() as client:
        client.set("kept?", "no")
        fresh_redis_server.kill()
        assert not fresh_redis_server.alive and fresh_redis_server.pid is None
        with pytest.raises(redis.ConnectionError):
            client.ping()
    with fresh_redis_server.client() as client, pytest.raises(redis.ConnectionError):
        client.ping()
    fresh_redis_server.restart()
    with fresh_redis_server.client() as client:
        assert client.ping() is True
        assert client.get("kept?") is None


def test_a_port_another_server_listens_on_is_refused_not_shared(fresh_redis_server: RedisServer) -> None:
    with fresh_redis_server.client() as client:
        client.set("owner", "the first server")
    intruder = RedisServer(port=fresh_redis_server.port)
    try:
        with pytest.raises(RedisStartError, match=str(fresh_redis_server.port)):
            intruder.start()
        assert not intruder.alive
    finally:
        intruder.stop()
    with fresh_redis_server.client() as client:
        assert client.get("owner") == "the first server"


def test_a_picked_port_found_taken_is_left_for_another_free_one(
    fresh_redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = redis_servers.free_port
    ports = iter([fresh_redis_server.port])
    monkeypatch.setattr(redis_servers, "free_port", lambda **kwargs: next(ports, None) or real(**kwargs))
    with RedisServer() as server:
        assert server.port != fresh_redis_server.port
        assert server.alive and fresh_redis_server.alive
        with server.client() as client:
            assert client.info("server")["process_id"] == server.pid


def test_the_cluster_has_three_masters_sharing_every_slot(redis_cluster: RedisClusterServers) -> None:
    assert len(redis_cluster.urls) == 3
    assert redis_cluster.startup_nodes == [("127.0.0.1", server.port) for server in redis_cluster.servers]
    with redis_cluster.servers[0].client() as client:
        ranges = client.execute_command("CLUSTER SLOTS")
    owners = {(int(entry[2][1])) for entry in ranges}
    assert owners == {port for _, port in redis_cluster.startup_nodes}
    assert sum(int(entry[1]) - int(entry[0]) + 1 for entry in ranges) == 16384


def test_a_node_refuses_a_script_whose_keys_are_in_two_slots(redis_cluster_url: str) -> None:
    with redis.Redis.from_url(redis_cluster_url, decode_responses=True) as node:
        assert node.cluster("keyslot", "{x}:a") != node.cluster("keyslot", "{y}:b")
        with pytest.raises(redis.exceptions.ClusterCrossSlotError):  # the node's CROSSSLOT reply
            node.eval(SCRIPT, 2, "{x}:a", "{y}:b", "1", "2")


@asyncio_only
async def test_one_hash_tag_is_one_slot_and_its_script_runs_on_the_cluster(redis_cluster_url: str) -> None:
    client = redis.asyncio.cluster.RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    try:
        assert client.keyslot("{x}:a") == client.keyslot("{x}:b") == client.keyslot("x")
        assert await client.eval(SCRIPT, 2, "{x}:a", "{x}:b", "1", "2") == ["1", "2"]
        assert await client.get("{x}:b") == "2"
    finally:
        await client.aclose()


async def test_the_sync_cluster_client_runs_the_script_in_worker_threads(
    redis_cluster: RedisClusterServers, redis_cluster_url: str
) -> None:
    with redis_cluster.client() as client:
        written = await anyio.to_thread.run_sync(client.eval, SCRIPT, 2, "{x}:a", "{x}:b", "1", "2")
        assert written == ["1", "2"]
        assert await anyio.to_thread.run_sync(client.get, "{x}:a") == "1"


def test_keys_of_many_tags_spread_over_the_nodes_and_flushall_empties_each(
    redis_cluster: RedisClusterServers, redis_cluster_url: str
) -> None:
    with redis_cluster.client() as client:
        for tag in range(30):
            client.set(f"{{{tag}}}:key", tag)
    held = [_keys(server) for server in redis_cluster.servers]
    assert sum(held) == 30 and all(held)  # every master holds some: a cluster, not one server
    redis_cluster.flushall()
    assert [_keys(server) for server in redis_cluster.servers] == [0, 0, 0]


def _keys(server: RedisServer) -> int:
    with server.client() as client:
        return int(client.dbsize())


@pytest.fixture
def no_redis_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(redis_servers.REQUIRE_REDIS, raising=False)
    yield


@pytest.mark.usefixtures("no_redis_on_path")
def test_without_redis_server_the_fixtures_skip_saying_why() -> None:
    with pytest.raises(pytest.skip.Exception, match="redis-server and redis-cli not found on PATH"):
        redis_servers.require_redis("redis-cli")


@pytest.mark.usefixtures("no_redis_on_path")
def test_without_redis_server_the_fixtures_fail_when_ci_requires_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(redis_servers.REQUIRE_REDIS, "1")
    with pytest.raises(pytest.fail.Exception, match="BIGIN_REQUIRE_REDIS=1 says they may not be skipped"):
        redis_servers.require_redis()


def test_a_run_gets_a_killed_server_back_and_stops_every_server_even_after_failures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_servers.require_redis()
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pids = pytester.path / "pids"
    pytester.makepyfile(
        f"""
        import redis
        from tests.redis_servers import RedisServer

        def test_1_kills_the_session_server(redis_server):
            redis_server.kill()

        def test_2_gets_it_back_empty(redis_url):
            with redis.Redis.from_url(redis_url) as client:
                assert client.ping() and client.dbsize() == 0

        def test_3_fails_with_servers_running(redis_server):
            forgotten = RedisServer().start()  # never stopped by the test
            with open({str(pids)!r}, "w") as out:
                out.write(f"{{redis_server.pid}} {{forgotten.pid}}")
            assert False, "this test fails on purpose"
        """
    )
    result = pytester.runpytest_subprocess("-p", "tests.redis_servers", "-p", "no:cacheprovider")
    started = [int(pid) for pid in pids.read_text().split()]
    running = [pid for pid in started if _running(pid)]
    for pid in running:
        os.kill(pid, signal.SIGKILL)  # leave no server behind, even when this test fails
    result.assert_outcomes(passed=2, failed=1)
    assert len(started) == 2 and running == []


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
