"""One way to talk to Redis from asyncio and from trio: scripts and commands, failures typed.

redis-py's asyncio client runs on asyncio only. Under trio (or with a synchronous client the user
passed) the same commands go through redis-py's synchronous client in worker threads of this
backend's own limiter, so both event loops share every script and every rule above this module.
A Redis that is down, slow past ``socket_timeout``, loading, read-only (a failover) or answering
errors raises :class:`RedisUnavailable`: the coordination decides whether that fails the call or
falls back to local limits. redis-py's own retries are off: the caller's deadline bounds the wait.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.backoff
import redis.cluster
import redis.connection
import redis.exceptions
import redis.retry
import sniffio

from bigin_async.errors import ConfigurationError
from bigin_async.integrations.redis._urls import register_url_secrets, safe_url

__all__ = ["RedisBackend", "RedisUnavailable", "Script"]

Arg = str | int | float

# How often a command looks whether the commands left running before it have ended (seconds).
_LEFT_RUNNING_POLL = 0.005


class RedisUnavailable(Exception):
    """Redis could not be reached or did not answer as it should; ``cause`` is redis-py's error."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class Script:
    """A Lua script and its SHA1, made once: sent by SHA (``EVALSHA``) and loaded when Redis has
    forgotten it (a restarted Redis, another node of a cluster)."""

    __slots__ = ("name", "sha", "source")

    def __init__(self, source: str, *, name: str = "script") -> None:
        self.source = source
        self.name = name
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def __repr__(self) -> str:
        return f"Script({self.name!r}, sha={self.sha[:8]})"


def _no_retries() -> redis.asyncio.retry.Retry:
    return redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0)


class RedisBackend:
    """Runs scripts and commands on one Redis (or Redis Cluster), on asyncio or trio.

    Made from a URL (:meth:`from_url`: the client is built per event loop, asyncio's or a
    synchronous one in threads for trio) or from a client the user built (:meth:`from_client`).
    ``url`` is what logs and errors show: never the password.
    """

    def __init__(
        self,
        *,
        url: str,
        cluster: bool = False,
        socket_timeout: float = 2.0,
        client: Any = None,
        max_threads: int = 16,
    ) -> None:
        self.url = safe_url(url)
        self._raw_url = url
        if client is None:  # a URL the user wrote: its password may come back in redis-py's errors
            register_url_secrets(url)
        self.cluster = cluster
        self.socket_timeout = socket_timeout
        self._given = client
        self._owned: dict[object, Any] = {}  # clients this backend made, per event loop (or "sync")
        self._threads: tuple[object, anyio.CapacityLimiter] | None = None
        self._max_threads = max_threads
        # Commands of cancelled callers still running in their threads (see _in_thread).
        self._left_running: list[threading.Event] = []

    def __repr__(self) -> str:
        return f"RedisBackend({self.url!r}{', cluster' if self.cluster else ''})"

    @classmethod
    def from_url(cls, url: str, *, cluster: bool = False, socket_timeout: float = 2.0) -> RedisBackend:
        """A backend for ``redis://``, ``rediss://`` or ``unix://`` URLs; ``cluster`` for a Redis
        Cluster (the URL names any one node)."""
        return cls(url=url, cluster=cluster, socket_timeout=socket_timeout)

    @classmethod
    def from_client(cls, client: Any) -> RedisBackend:
        """A backend over a client the user built: ``redis.asyncio.Redis``/``RedisCluster``
        (asyncio only) or ``redis.Redis``/``redis.cluster.RedisCluster`` (asyncio or trio, in threads).
        The client must decode responses (``decode_responses=True``). It is not closed here."""
        cluster = isinstance(client, redis.asyncio.cluster.RedisCluster | redis.cluster.RedisCluster)
        return cls(url=_client_url(client), cluster=cluster, client=client)

    # -- clients ---------------------------------------------------------------------------------
    def _client(self) -> tuple[Any, bool]:
        """The client for this event loop and whether it is asyncio's (else run it in a thread)."""
        given = self._given
        if given is not None:
            is_async = isinstance(given, redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster)
            if is_async and sniffio.current_async_library() != "asyncio":
                # A mistake in the set-up, not an outage: no fallback to local limits hides it.
                raise ConfigurationError(
                    f"the Redis client given for {self.url} is redis-py's asyncio client, which runs on "
                    "asyncio only; under trio pass a URL or a synchronous redis.Redis"
                )
            return given, is_async
        if sniffio.current_async_library() == "asyncio":
            loop = anyio.lowlevel.current_token().native_token
            client = self._owned.get(loop)
            if client is None:
                client = self._owned[loop] = self._make_async()
            return client, True
        client = self._owned.get("sync")
        if client is None:
            client = self._owned["sync"] = self._make_sync()
        return client, False

    def _options(self) -> dict[str, Any]:
        return {
            "decode_responses": True,
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.socket_timeout,
        }

    # redis-py's cluster clients retry 10 times with backoff by default: one operation could take
    # half a minute on a dead cluster. Once more, at once (a node's MOVED answer is followed
    # apart from these), keeps an operation within two socket timeouts.
    CLUSTER_RETRIES = 1

    def _make_async(self) -> Any:
        options = self._options()
        if self.cluster:
            return redis.asyncio.cluster.RedisCluster.from_url(
                self._raw_url,
                retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), self.CLUSTER_RETRIES),
                **options,
            )
        return redis.asyncio.Redis.from_url(self._raw_url, retry=_no_retries(), **options)

    def _make_sync(self) -> Any:
        options = self._options()
        if self.cluster:
            return redis.cluster.RedisCluster.from_url(
                self._raw_url,
                retry=redis.retry.Retry(redis.backoff.NoBackoff(), self.CLUSTER_RETRIES),
                **options,
            )
        return redis.Redis.from_url(
            self._raw_url, retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0), **options
        )

    def _limiter(self) -> anyio.CapacityLimiter:
        loop = anyio.lowlevel.current_token().native_token
        if self._threads is None or self._threads[0] is not loop:
            self._threads = (loop, anyio.CapacityLimiter(self._max_threads))
        return self._threads[1]

    async def _do(self, what: str, work: Callable[[Any], Any]) -> Any:
        """Run ``work(client)``: awaited on asyncio, in a worker thread for a synchronous client."""
        client, is_async = self._client()
        for again in (False, True):
            try:
                if is_async:
                    if isinstance(client, redis.asyncio.cluster.RedisCluster):
                        # redis-py's asyncio cluster routes a command sent before it has learnt the
                        # slots (tasks at once on a new client) by a guess; the MOVED answers make
                        # it learn them again, closing connections other tasks are using: learn
                        # them first (once: a no-op after that).
                        await client.initialize()
                    return await work(client)
                return await self._in_thread(work, client)
            except redis.exceptions.NoScriptError:
                raise
            except (redis.exceptions.RedisError, OSError) as exc:
                # A connection the server closed (a restart) fails its next command, and redis-py
                # drops it: once more, on a new one. A timeout is not tried again (its bound holds).
                if not again and isinstance(exc, redis.exceptions.ConnectionError):
                    continue
                message = f"Redis at {self.url} failed on {what}: {type(exc).__name__}: {exc}"
                raise RedisUnavailable(message, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _in_thread(self, work: Callable[[Any], Any], client: Any) -> Any:
        """``work(client)`` in a worker thread, left to finish there when the caller is cancelled
        (a hung Redis must not hold the caller past its deadline).

        A command left running that way still reaches Redis, later: the gate's ``ACQUIRE`` may
        grant a slot after its caller gave it back. So each command first waits for the ones left
        running before it (within the caller's own bounds, and at most ``socket_timeout``): what
        undoes a command comes after it.
        """
        if self._left_running:
            # At most a socket_timeout: one stuck there (a client of one's own without timeouts)
            # must not stop every later command.
            with anyio.move_on_after(self.socket_timeout):
                while any(not done.is_set() for done in self._left_running):
                    await anyio.sleep(_LEFT_RUNNING_POLL)
            self._left_running = [done for done in self._left_running if not done.is_set()]
        done = threading.Event()
        lock = threading.Lock()
        state = {"started": False, "dropped": False}

        def run() -> Any:
            with lock:
                if state["dropped"]:  # its caller was cancelled before a thread took it: not sent
                    return None
                state["started"] = True
            try:
                return work(client)
            finally:
                done.set()

        try:
            return await anyio.to_thread.run_sync(run, limiter=self._limiter(), abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            with lock:
                if not state["started"]:
                    state["dropped"] = True  # a thread taking it later does nothing
                elif not done.is_set():
                    self._left_running.append(done)
            raise

    # -- operations ------------------------------------------------------------------------------
    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run ``script`` with ``keys`` (every key it touches, one hash slot) and ``args``."""
        try:
            return await self._do(script.name, lambda c: c.evalsha(script.sha, len(keys), *keys, *args))
        except redis.exceptions.NoScriptError:
            pass  # a Redis that restarted (or another cluster node) has not seen it yet: load it
        return await self._do(script.name, lambda c: c.eval(script.source, len(keys), *keys, *args))

    async def call(self, *command: Arg) -> Any:
        """One plain command (``GET``, ``SET``, ``DEL`` ...), its reply decoded."""
        try:
            return await self._do(str(command[0]), lambda c: c.execute_command(*command))
        except redis.exceptions.NoScriptError as exc:  # pragma: no cover - only scripts raise it
            raise RedisUnavailable(f"Redis at {self.url}: {exc}", exc) from exc

    async def ping(self) -> None:
        """Raise :class:`RedisUnavailable` unless Redis answers."""
        await self._do("PING", lambda c: c.ping())

    async def aclose(self) -> None:
        """Close the clients this backend made for the running event loop (a given one stays open)."""
        owned = self._owned
        self._owned = {}
        for client in owned.values():
            close = getattr(client, "aclose", None)
            try:
                if isinstance(client, redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster):
                    if close is not None and sniffio.current_async_library() == "asyncio":
                        await close()
                else:
                    await anyio.to_thread.run_sync(client.close, limiter=self._limiter())
            except (redis.exceptions.RedisError, OSError, RuntimeError):
                pass  # closing a client whose loop or server is gone: nothing left to free


def _client_url(client: Any) -> str:
    """A URL for a client the user built, for logs: its host, port and db, never its password."""
    try:
        kwargs = client.connection_pool.connection_kwargs
        host, port, db = kwargs.get("host", "?"), kwargs.get("port", "?"), kwargs.get("db", 0)
        return f"redis://{host}:{port}/{db}"
    except AttributeError:
        nodes = getattr(client, "startup_nodes", None) or []
        first = nodes[0] if nodes else None
        host = getattr(first, "host", "?")
        port = getattr(first, "port", "?")
        return f"redis://{host}:{port} (cluster)"
