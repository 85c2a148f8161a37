"""The Redis seam under attack: secrets in URLs, malformed URLs, calls cancelled at random points,
Redis that hangs while a call's deadline is short, several clients on one coordination.

Each test here is about a promise of issue 12 (a secret never shown; bad input refused before
anything is sent; no slot, lease or credit leaked by a cancelled call; never a hang) as a user
would meet it, through ``BiginClient`` against the emulator and real Redis servers, on asyncio and
on trio.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest
import redis

from bigin_async import BiginClient, ConfigurationError, CoordinationError, MemoryTokenStore
from bigin_async.integrations.redis import RedisCoordination, _scripts
from bigin_async.integrations.redis.coordination import CoordinatedLimits
from bigin_async.integrations.redis.limits import RedisLimits
from bigin_emulator.emulator import BiginEmulator
from tests.helpers.cancelled_after import CancelledAfter
from tests.redis_servers import RedisServer, free_port

# Only turns a hang into a failure: every test is over within seconds.
HANG_GUARD = 30.0
SECRET = "hunter2-s3cret"


def client(emulator: BiginEmulator, coordination: RedisCoordination, **options: Any) -> BiginClient:
    return emulator.client(coordination=coordination, token_store=MemoryTokenStore(), **options)


def limits_of(bigin: BiginClient) -> CoordinatedLimits:
    limits = bigin.transport.limits
    assert isinstance(limits, CoordinatedLimits)
    return limits


def chain(error: BaseException | None) -> Iterator[BaseException]:
    """The error, its causes and contexts, and any ``cause`` attribute (RedisUnavailable's)."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "cause", None)]


def shown(error: BaseException) -> str:
    """Everything an exception chain shows: messages, reprs, args, ``url`` attributes."""
    return " ".join(f"{e} {e!r} {e.args!r} {getattr(e, 'url', '')}" for e in chain(error))


@contextlib.contextmanager
def silent_redis() -> Iterator[str]:
    """A loopback port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


# -- secrets ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        f"redis://127.0.0.1:{{port}}/0?password={SECRET}",  # redis-py takes the password from the query
        f"redis://127.0.0.1:{{port}}/0?socket_timeout=1&password={SECRET}",
        f"redis://user:{SECRET}@127.0.0.1:{{port}}/0",
    ],
)
async def test_a_password_anywhere_in_the_url_is_never_shown(
    emulator: BiginEmulator, url: str, caplog: Any
) -> None:
    url = url.format(port=free_port())
    coordination = RedisCoordination(url)
    assert SECRET not in repr(coordination) + coordination.describe() + coordination.url
    with caplog.at_level(logging.DEBUG), anyio.fail_after(HANG_GUARD):
        async with client(emulator, coordination) as bigin:
            assert SECRET not in repr(bigin) + repr(bigin.transport.limits)
            with pytest.raises(CoordinationError) as caught:
                await bigin.request("GET", "/org")
    assert SECRET not in shown(caught.value)
    assert SECRET not in caplog.text


async def test_a_wrong_password_is_never_shown(
    emulator: BiginEmulator, fresh_redis_server: RedisServer, caplog: Any
) -> None:
    server = fresh_redis_server
    with server.client() as admin:
        admin.config_set("requirepass", "the-right-one")
    url = server.url.replace("redis://", f"redis://:{SECRET}@")
    with caplog.at_level(logging.DEBUG), anyio.fail_after(HANG_GUARD):
        async with client(emulator, RedisCoordination(url)) as bigin:
            with pytest.raises(CoordinationError) as caught:
                await bigin.request("GET", "/org")
    assert SECRET not in shown(caught.value)
    assert SECRET not in caplog.text
    assert emulator.counters.requests_total == 0


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{SECRET}@127.0.0.1:notaport/0",
        "redis://127.0.0.1:6379/0?socket_timeout=soon",
        "redis://127.0.0.1:6379/0?db=first",
        f"redis://:{SECRET}@[::1/0",
    ],
)
def test_a_malformed_url_is_refused_when_the_coordination_is_made(url: str) -> None:
    """Not at the first call (a ValueError from deep in redis-py), and never showing the password."""
    with pytest.raises(ConfigurationError) as caught:
        RedisCoordination(url)
    assert SECRET not in shown(caught.value)


# -- cancellation ----------------------------------------------------------------------------------
def redis_left(limits: CoordinatedLimits, server: RedisServer) -> dict[str, int]:
    """What the family holds in Redis that a finished call must not leave: leases, queued waiters,
    credits in flight."""
    shared = limits.redis
    assert isinstance(shared, RedisLimits)
    key = shared.family.key
    with server.client() as r:
        return {
            "leases": r.zcard(key("gate", "leases")),
            "queue": r.zcard(key("gate", "queue")),
            "in flight": r.zcard(key("credits", "flight")),
        }


async def cancelled_at_random(bigin: BiginClient, calls: int, seed: int) -> int:
    """``calls`` calls at once, each cancelled after a random moment; how many got through."""
    rng = random.Random(seed)
    done = 0

    async def one(after: float) -> None:
        nonlocal done
        with anyio.move_on_after(after):
            await bigin.request("GET", "/org")
            done += 1

    async with anyio.create_task_group() as tg:
        for _ in range(calls):
            tg.start_soon(one, rng.uniform(0.0, 0.08))
    return done


def held_locally(limits: CoordinatedLimits) -> dict[str, int]:
    shared = limits.redis
    assert isinstance(shared, RedisLimits)
    held = {
        "view": limits.gate.in_flight,
        "shared gate": shared.gate.in_flight,
        "shared semaphore": shared.gate.limit - shared.gate.local.value,
    }
    if limits.local is not None:
        held["local gate"] = limits.local.gate.in_flight
    return held


@pytest.mark.parametrize("mode", ["fail", "local"])
async def test_calls_cancelled_at_random_points_leave_nothing_held(
    emulator: BiginEmulator, fresh_redis_server: RedisServer, mode: Any
) -> None:
    server = fresh_redis_server
    coordination = RedisCoordination(server.url, on_redis_down=mode, namespace="cancel")
    with anyio.fail_after(HANG_GUARD):
        async with client(
            emulator, coordination, max_concurrency=3, requests_per_minute=1200, daily_limit=10_000
        ) as bigin:
            limits = limits_of(bigin)
            for seed in range(3):
                await cancelled_at_random(bigin, 30, seed)
                assert held_locally(limits) == dict.fromkeys(held_locally(limits), 0)
                left = redis_left(limits, server)
                # (credits in flight: see the test of a PACE reply lost to a cancel, below)
                assert (left["leases"], left["queue"]) == (0, 0)
            # The whole gate is still there: three calls at once all go.
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(bigin.request, "GET", "/org")
            assert limits.gate.peak <= 3


async def test_calls_cancelled_at_random_on_the_local_side_leave_nothing_held(
    emulator: BiginEmulator,
) -> None:
    coordination = RedisCoordination(
        f"redis://127.0.0.1:{free_port()}/0", on_redis_down="local", retry_redis_after=3600.0
    )
    with anyio.fail_after(HANG_GUARD):
        async with client(emulator, coordination, max_concurrency=3, requests_per_minute=1200) as bigin:
            limits = limits_of(bigin)
            await bigin.request("GET", "/org")  # finds Redis down: local from now on
            assert limits.health.down
            for seed in range(3):
                await cancelled_at_random(bigin, 30, seed)
                assert held_locally(limits) == dict.fromkeys(held_locally(limits), 0)
            assert limits.local is not None
            assert limits.local.budget.spent() == bigin.credits.spent_total


# -- a Redis that hangs ----------------------------------------------------------------------------
@pytest.mark.xfail(
    strict=True,
    reason="open: a gate round trip cut by the call's deadline is not a Redis failure, so the "
    "coordination never goes local (and each call waits out the shielded 2 s release too)",
)
async def test_local_mode_falls_back_when_redis_hangs_past_each_calls_deadline(
    emulator: BiginEmulator,
) -> None:
    """A Redis that accepts connections and never answers, calls whose deadline is shorter than
    ``socket_timeout``: "local" mode must still get the calls through on the local limits, not
    have every call end at its deadline waiting for Redis."""
    with silent_redis() as url, anyio.fail_after(HANG_GUARD):
        coordination = RedisCoordination(url, on_redis_down="local", socket_timeout=2.0)
        async with client(emulator, coordination, deadline=0.5) as bigin:
            outcomes = []
            for _ in range(3):
                try:
                    await bigin.request("GET", "/org")
                except Exception as error:  # noqa: BLE001 - recorded for the assertion below
                    outcomes.append(type(error).__name__)
                else:
                    outcomes.append("sent")
            assert "sent" in outcomes, outcomes


# -- several clients, one coordination -------------------------------------------------------------
async def test_a_client_closing_leaves_the_others_on_the_same_coordination_working(
    emulator: BiginEmulator, redis_url: str
) -> None:
    coordination = RedisCoordination(redis_url, namespace="shared-pool")
    with anyio.fail_after(HANG_GUARD):
        first = client(emulator, coordination)
        second = client(emulator, coordination)
        async with first, second:
            await first.request("GET", "/org")
            await second.request("GET", "/org")
            await first.aclose()
            await first.aclose()  # twice: still one user less, not two
            await second.request("GET", "/org")
            view = second.with_options(timeout=5.0)
            await view.request("GET", "/org")
        # All closed: a new client on the same coordination starts again.
        async with client(emulator, coordination) as third:
            await third.request("GET", "/org")
            assert not limits_of(third).health.down


async def test_a_hundred_tasks_at_once_on_a_wide_gate(emulator: BiginEmulator, redis_url: str) -> None:
    """Under trio every Redis round trip takes a worker thread of the backend's own limiter."""
    coordination = RedisCoordination(redis_url, namespace="wide")
    with anyio.fail_after(HANG_GUARD):
        async with client(emulator, coordination, max_concurrency=100, daily_limit=100_000) as bigin:
            async with anyio.create_task_group() as tg:
                for _ in range(100):
                    tg.start_soon(bigin.request, "GET", "/org")
            assert bigin.credits.spent_total == 100
            assert limits_of(bigin).gate.in_flight == 0


# -- switching sides -------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_redis_killed_under_calls_in_flight_then_back_loses_and_doubles_no_call(
    emulator: BiginEmulator, fresh_redis_server: RedisServer
) -> None:
    """ "local" mode: calls queued at the shared gate, pacing or in flight when Redis dies all end
    (on whichever side), each sent once; back on Redis, nothing of theirs is left there."""
    server = fresh_redis_server
    coordination = RedisCoordination(server.url, on_redis_down="local", namespace="switch")
    clock = coordination._health.clock = Clock()
    with anyio.fail_after(HANG_GUARD):
        async with client(
            emulator, coordination, max_concurrency=4, requests_per_minute=6000, daily_limit=10_000
        ) as bigin:
            limits = limits_of(bigin)
            await bigin.request("GET", "/org")  # the token, before counting
            before = emulator.counters.requests_total
            done = 0

            async def one() -> None:
                nonlocal done
                await bigin.request("GET", "/org")
                done += 1
                if done == 10:
                    server.kill()

            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(one)
            assert done == 40 and limits.health.down
            assert emulator.counters.requests_total - before == 40
            assert held_locally(limits) == dict.fromkeys(held_locally(limits), 0)
            server.restart()
            clock.now += 3600.0
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(bigin.request, "GET", "/org")
            assert not limits.health.down
            assert held_locally(limits) == dict.fromkeys(held_locally(limits), 0)
            assert redis_left(limits, server) == {"leases": 0, "queue": 0, "in flight": 0}
            assert bigin.credits.spent_total == 49


async def test_a_pace_reply_lost_to_a_cancel_leaves_no_credit_in_flight(
    emulator: BiginEmulator, fresh_redis_server: RedisServer
) -> None:
    server = fresh_redis_server
    coordination = RedisCoordination(server.url, namespace="lost")
    with anyio.fail_after(HANG_GUARD):
        async with client(emulator, coordination, daily_limit=1000) as bigin:
            limits = limits_of(bigin)
            await bigin.request("GET", "/org")
            shared = limits.redis
            assert isinstance(shared, RedisLimits)
            sent = emulator.counters.requests_total
            with anyio.CancelScope() as scope:
                # A call's first pace takes its slot and books its send in one script.
                shared.backend = CancelledAfter(shared.backend, _scripts.ACQUIRE_PACE, scope)  # type: ignore[assignment]
                await bigin.request("GET", "/org")
            assert scope.cancelled_caught and emulator.counters.requests_total == sent  # never sent
            assert redis_left(limits, server) == {"leases": 0, "queue": 0, "in flight": 0}
            with server.client() as r:  # the send committed unseen was taken back: one call counted
                state = r.hgetall(shared.family.key("credits", "state"))
            assert (int(state["spent"]), int(state["inflight"])) == (1, 0), state


class HeldClient(redis.Redis):
    """A synchronous redis-py client (run in worker threads on both event loops) whose next
    ``ACQUIRE`` waits, in its thread, until the test lets it go: a round trip still under way in
    Redis's direction when its caller is cancelled."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.armed = False
        self.entered = threading.Event()
        self.go = threading.Event()
        self.ran = threading.Event()
        self.left = threading.Event()

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        if sha == _scripts.LEAVE.sha:
            self.left.set()
        if sha == _scripts.ACQUIRE.sha and self.armed:
            self.armed = False
            self.entered.set()
            self.go.wait(10)
            try:
                return super().evalsha(sha, numkeys, *keys_and_args)
            finally:
                self.ran.set()
        return super().evalsha(sha, numkeys, *keys_and_args)


async def test_a_slot_granted_after_its_caller_was_cancelled_is_not_left_held(
    emulator: BiginEmulator, fresh_redis_server: RedisServer
) -> None:
    server = fresh_redis_server
    own = HeldClient(host=server.host, port=server.port, decode_responses=True, socket_timeout=5)
    coordination = RedisCoordination(own, namespace="abandoned")
    with anyio.fail_after(HANG_GUARD):
        async with client(emulator, coordination, max_concurrency=1) as bigin:
            limits = limits_of(bigin)
            await bigin.request("GET", "/org")
            own.armed = True
            scope = anyio.CancelScope()

            async def the_call() -> None:
                with scope:
                    await bigin.request("GET", "/org")

            async with anyio.create_task_group() as tg:
                tg.start_soon(the_call)
                await anyio.to_thread.run_sync(own.entered.wait, 10)
                scope.cancel()
                await anyio.to_thread.run_sync(own.left.wait, 0.5)  # the release, sent meanwhile?
                own.go.set()
            await anyio.to_thread.run_sync(own.ran.wait, 10)
            assert redis_left(limits, server)["leases"] == 0
    own.close()


@pytest.mark.parametrize("mode", ["fail", "local"])
async def test_a_call_finishing_on_a_dead_redis_does_not_say_redis_is_back(
    emulator: BiginEmulator, fresh_redis_server: RedisServer, mode: Any, caplog: Any
) -> None:
    """Redis dies while a call is in flight on its gate, and another call finds it down: the first
    one's end (which Redis cannot record) must not count as Redis answering again."""
    server = fresh_redis_server
    coordination = RedisCoordination(server.url, on_redis_down=mode, namespace="dead-finish")
    with caplog.at_level(logging.WARNING, logger="bigin_async"), anyio.fail_after(HANG_GUARD):
        async with client(emulator, coordination, max_concurrency=2) as bigin:
            limits = limits_of(bigin)
            await bigin.request("GET", "/org")
            first = True

            async def hold_the_first(request: Any) -> None:
                nonlocal first
                if first:
                    first = False
                    server.kill()
                    tg.start_soon(second)
                    while not limits.health.down:  # the second call found Redis gone
                        await anyio.sleep(0.01)

            async def second() -> None:
                with contextlib.suppress(CoordinationError):
                    await bigin.request("GET", "/org")

            bigin.transport.http.event_hooks["request"].append(hold_the_first)
            async with anyio.create_task_group() as tg:
                tg.start_soon(bigin.request, "GET", "/org")
            assert limits.health.down  # Redis is still dead
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "answers again" in m], messages
