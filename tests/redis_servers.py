"""Real Redis servers for the tests: one ``redis-server``, or a 3-master Redis Cluster, on loopback.

Each server listens on a free 127.0.0.1 port, keeps nothing on disk (``--save "" --appendonly no``)
and works in a temporary folder of its own. Starting waits for the server to answer PING (a bounded
poll, never a fixed sleep), and checks that the answer came from the process it started: on a
machine where other test runs start servers too, a port taken by someone else is noticed, and
another free port is tried.

As a pytest plugin (``pytest_plugins`` in tests/conftest.py) it gives the fixtures:

- ``redis_server`` (session): one :class:`RedisServer` for the whole run;
- ``redis_url`` (function): that server emptied (FLUSHALL) before the test; yields its URL;
- ``fresh_redis_server`` (function): a server of the test's own, to restart or kill;
- ``redis_cluster`` (session): one :class:`RedisClusterServers` (3 masters, all 16384 slots);
- ``redis_cluster_url`` (function): that cluster emptied before the test; yields one node's URL
  (a cluster client finds the other nodes from it).

Without ``redis-server`` on PATH those fixtures skip the test, saying why; with the environment
variable ``BIGIN_REQUIRE_REDIS=1`` (CI sets it) they fail it instead, so CI never skips them quietly.
Every server still running at the end of the session is stopped, also after failures.

redis-py's asyncio client runs on asyncio only: mark such tests with :data:`asyncio_only` (under
trio, use the sync client in worker threads).
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import Self

__all__ = [
    "REQUIRE_REDIS",
    "RedisClusterServers",
    "RedisServer",
    "RedisStartError",
    "asyncio_only",
    "free_port",
    "poll_until",
    "fresh_redis_server",
    "redis_cluster",
    "redis_cluster_url",
    "redis_server",
    "redis_url",
    "require_redis",
    "stop_all",
]

REQUIRE_REDIS = "BIGIN_REQUIRE_REDIS"
"""The environment variable that turns a missing ``redis-server`` from a skip into a failure."""

asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])
"""Runs an async test on asyncio only (redis-py's asyncio client does not run on trio)."""

START_TIMEOUT = 30.0  # seconds for a server to answer PING (the test machine may be busy)
CLUSTER_TIMEOUT = 60.0  # seconds for a new cluster to say cluster_state:ok on every node
POLL_INTERVAL = 0.02
PORT_ATTEMPTS = 5  # free ports tried when another process takes the one picked

_live: dict[int, RedisServer] = {}  # id -> every server started and not stopped yet


class RedisStartError(RuntimeError):
    """A Redis server (or the cluster) did not come up; the message carries the end of its log."""


def free_port(*, besides: int = 0) -> int:
    """A 127.0.0.1 port nothing listened on a moment ago (and not ``besides``)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port != besides:
            return port


def poll_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Call ``check`` until it returns True; RedisStartError after ``timeout`` seconds.

    ``check`` may raise to give up at once (a server process that exited).
    """
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise RedisStartError(f"{what}: not ready after {timeout:g} s")
        time.sleep(POLL_INTERVAL)


def require_redis(*programs: str) -> None:
    """Skip the test when a Redis program is not on PATH, or fail it under BIGIN_REQUIRE_REDIS=1."""
    missing = [name for name in ("redis-server", *programs) if shutil.which(name) is None]
    if not missing:
        return
    reason = (
        f"{' and '.join(missing)} not found on PATH: the Redis tests need a real server "
        "(Debian: apt-get install redis-server redis-tools)"
    )
    if os.environ.get(REQUIRE_REDIS) == "1":
        pytest.fail(f"{reason}; {REQUIRE_REDIS}=1 says they may not be skipped", pytrace=False)
    pytest.skip(reason)


class _Running(ABC):
    """Started on entering a ``with`` block, stopped on leaving it (also when the block fails)."""

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class RedisServer(_Running):
    """One ``redis-server`` process on 127.0.0.1; ``cluster=True`` starts it as a cluster node.

    ``port`` pins the port (no other is tried when it is taken); by default a free one is picked.
    """

    def __init__(self, *, port: int | None = None, cluster: bool = False) -> None:
        self.host = "127.0.0.1"
        self.cluster = cluster
        self._pinned = port is not None
        self.port = port if port is not None else 0
        self.cluster_port = 0  # the cluster bus (nodes talk to each other there)
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs."""
        return self._process.pid if self.alive and self._process is not None else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log(self) -> str:
        """Everything the server wrote since this object first started it."""
        path = self._dir / "redis.log" if self._dir is not None else None
        return path.read_text(errors="replace") if path is not None and path.exists() else ""

    def start(self) -> Self:
        """Start the server and wait until it answers PING; a no-op while it runs."""
        if self.alive:
            return self
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="bigin-redis-"))
        again = self._pinned or self.port != 0  # pinned, or started before: the same port(s) again
        attempts = 1 if again else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if not again:
                self.port = free_port()
            if self.cluster and not (again and self.cluster_port):
                self.cluster_port = free_port(besides=self.port)
            try:
                self._launch()
                return self
            except RedisStartError:
                self._end(kill=True)
                if attempt == attempts:
                    if not again:  # a later start picks afresh; a restart keeps its port
                        self.port = self.cluster_port = 0
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def restart(self) -> Self:
        """Stop the server and start it again on the same port: it comes back empty (nothing saved)."""
        self._end(kill=False)
        return self.start()

    def kill(self) -> None:
        """SIGKILL the server (no shutdown at all); connections to it fail until :meth:`restart`."""
        self._end(kill=True)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its folder. Safe to call again."""
        self._end(kill=False)
        _live.pop(id(self), None)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def client(self) -> Any:
        """A sync redis-py client of this server, replies decoded (the caller closes it)."""
        import redis

        return redis.Redis(
            host=self.host, port=self.port, decode_responses=True, socket_timeout=5, socket_connect_timeout=5
        )

    def flushall(self) -> None:
        with self.client() as client:
            client.flushall()

    def __repr__(self) -> str:
        return f"RedisServer({self.url}, pid={self.pid})"

    def _arguments(self) -> list[str]:
        assert self._dir is not None
        arguments = ["--port", str(self.port), "--bind", self.host, "--protected-mode", "yes"]
        arguments += ["--save", "", "--appendonly", "no", "--dir", str(self._dir)]
        if self.cluster:
            arguments += ["--cluster-enabled", "yes", "--cluster-port", str(self.cluster_port)]
            arguments += ["--cluster-config-file", str(self._dir / f"nodes-{self.port}.conf")]
        return arguments

    def _launch(self) -> None:
        assert self._dir is not None
        program = shutil.which("redis-server")
        if program is None:
            raise RedisStartError("redis-server is not on PATH")
        with open(self._dir / "redis.log", "ab") as log:
            self._process = subprocess.Popen(
                [program, *self._arguments()], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        _live[id(self)] = self
        poll_until(self._answers, timeout=START_TIMEOUT, what=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        """True once the server answers PING, and the answer is from the process started here."""
        import redis

        assert self._process is not None
        if self._process.poll() is not None:
            tail = "\n".join(self.log.splitlines()[-5:])
            raise RedisStartError(
                f"redis-server on port {self.port} exited ({self._process.returncode}):\n{tail}"
            )
        try:
            with self.client() as client:
                info = client.info("server")
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            return False
        if info.get("process_id") != self._process.pid:
            raise RedisStartError(f"port {self.port} is another server's (pid {info.get('process_id')})")
        return True

    def _end(self, *, kill: bool) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            if kill:
                process.kill()
            else:
                process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class RedisClusterServers(_Running):
    """A Redis Cluster of ``masters`` nodes (no replicas) on loopback, every slot assigned."""

    def __init__(self, masters: int = 3) -> None:
        self.servers = [RedisServer(cluster=True) for _ in range(masters)]

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        """(host, port) of every node: ``RedisCluster(startup_nodes=[ClusterNode(h, p) ...])``."""
        return [(server.host, server.port) for server in self.servers]

    def start(self) -> Self:
        """Start every node, join them into one cluster and wait until each node says it is ok."""
        try:
            for server in self.servers:
                server.start()
            self._create()
            poll_until(self._ok, timeout=CLUSTER_TIMEOUT, what="the Redis Cluster")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def client(self) -> Any:
        """A sync redis-py cluster client knowing every node, replies decoded (the caller closes it)."""
        from redis.cluster import ClusterNode, RedisCluster

        nodes = [ClusterNode(*node) for node in self.startup_nodes]  # type: ignore[no-untyped-call]
        return RedisCluster(startup_nodes=nodes, decode_responses=True, socket_timeout=5)

    def flushall(self) -> None:
        """Empty every node (each master holds only its own slots' keys)."""
        for server in self.servers:
            server.flushall()

    def _create(self) -> None:
        program = shutil.which("redis-cli")
        if program is None:
            raise RedisStartError("redis-cli is not on PATH")
        nodes = [f"{host}:{port}" for host, port in self.startup_nodes]
        command = [program, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=CLUSTER_TIMEOUT, check=False)
        if done.returncode != 0:
            raise RedisStartError(f"redis-cli --cluster create failed:\n{done.stdout}{done.stderr}")

    def _ok(self) -> bool:
        for server in self.servers:
            with server.client() as client:
                info = {name: str(value) for name, value in client.cluster("info").items()}
            expected = {"cluster_state": "ok", "cluster_slots_assigned": "16384"}
            expected["cluster_known_nodes"] = str(len(self.servers))
            if any(info.get(name) != value for name, value in expected.items()):
                return False
        return True


def stop_all() -> None:
    """Stop every server still running (the session's end, and the interpreter's exit)."""
    for server in list(_live.values()):
        server.stop()


atexit.register(stop_all)


def pytest_unconfigure(config: pytest.Config) -> None:
    stop_all()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    require_redis()
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's server, emptied for this test (started again if a test stopped it)."""
    redis_server.start()
    redis_server.flushall()
    return redis_server.url


@pytest.fixture
def fresh_redis_server() -> Iterator[RedisServer]:
    require_redis()
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterServers]:
    require_redis("redis-cli")
    with RedisClusterServers() as cluster:
        yield cluster


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisClusterServers) -> str:
    redis_cluster.flushall()
    return redis_cluster.urls[0]
