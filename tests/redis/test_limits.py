"""``RedisLimits``: the per-minute pace, the 429 cooldown and the deadline, shared by several
instances on one Redis, each with its own backend (as separate processes would have).

Send times are read from Redis's own clock (``TIME``) right after each pace, so the windows are
judged on the clock the scripts keep them on. The helpers here serve the other ``test_limits_*``
modules too.
"""

from __future__ import annotations

import contextlib
import math
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio
import pytest

from bigin_async import resolve_region
from bigin_async._config import Settings
from bigin_async._coordination import Answer, Ask, Limits, PastDeadline
from bigin_async._limits import RateLimiter
from bigin_async.integrations.redis import _scripts
from bigin_async.integrations.redis._backend import RedisBackend, RedisUnavailable
from bigin_async.integrations.redis._keys import KeyFamily
from bigin_async.integrations.redis.limits import RedisLimits
from tests.helpers.cancelled_after import CancelledAfter
from tests.redis_servers import RedisServer

FAMILY = KeyFamily("bigin", "test", "us")
BOUND = 30.0  # seconds a test may take before it is a hang, far above what any of them needs


def settings(**changes: Any) -> Settings:
    region = resolve_region("us")
    return Settings(region, region.api_domain, region.accounts_url, **changes)


@contextlib.asynccontextmanager
async def instances(
    url: str,
    count: int = 1,
    *,
    cluster: bool = False,
    clocks: Sequence[Callable[[], float] | None] = (),
    **options: Any,
) -> AsyncIterator[list[RedisLimits]]:
    """``count`` RedisLimits on one family, each with a backend of its own; closed after."""
    made_settings = settings(**{k: options.pop(k) for k in list(options) if hasattr(Settings, k)})
    made = []
    for number in range(count):
        clock = clocks[number] if number < len(clocks) else None
        backend = RedisBackend.from_url(url, cluster=cluster)
        made.append(RedisLimits(backend, FAMILY, made_settings, clock=clock, **options))
    try:
        yield made
    finally:
        for limits in made:
            with anyio.CancelScope(shield=True):
                await limits.backend.aclose()


def ask(
    cost: int = 1,
    *,
    bulk: bool = False,
    paced_by: RateLimiter | None = None,
    deadline_at: float | None = None,
    timeout: float = 5.0,
) -> Ask:
    return Ask(cost=cost, bulk=bulk, paced_by=paced_by, deadline_at=deadline_at, timeout=timeout)


OK = Answer(uncounted=False, headers=None)


async def redis_now(backend: RedisBackend) -> float:
    """Redis's clock, in seconds."""
    seconds, micros = await backend.call("TIME")
    return int(seconds) + int(micros) / 1e6


async def call(limits: RedisLimits, the_ask: Ask | None = None) -> float | None:
    """One attempt as the transport makes it; its send time on Redis's clock (None: not sent)."""
    the_ask = the_ask if the_ask is not None else ask()
    async with limits.slot() as slot:
        if not await limits.pace(slot, the_ask):
            return None
        await limits.finish(slot, the_ask, OK)
    sent_at: float = getattr(the_ask.charged, "sent_at")  # noqa: B009 - the receipt is opaque
    return sent_at


@contextlib.asynccontextmanager
async def leased(limits: RedisLimits, the_ask: Ask | None = None) -> AsyncIterator[object]:
    """A slot of the shared gate held in Redis: entered, then paced (its first pace takes the
    lease); released when the block ends."""
    async with limits.slot() as slot:
        assert await limits.pace(slot, the_ask if the_ask is not None else ask())
        yield slot


def busiest(times: Sequence[float], window: float) -> int:
    """The most send times any window of ``window`` seconds holds."""
    ordered = sorted(times)
    return max((sum(1 for t in ordered if start <= t < start + window) for start in ordered), default=0)


async def until(check: Callable[[], Any], what: str, *, tries: int = 2000) -> None:
    """Poll ``check`` (sync or async) a bounded number of times, yielding between looks."""
    for _ in range(tries):
        result = check()
        if hasattr(result, "__await__"):
            result = await result
        if result:
            return
        await anyio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


async def tat(limits: RedisLimits, name: str = "minute") -> str | None:
    value: str | None = await limits.backend.call("GET", FAMILY.key("rate", name, "tat"))
    return value


# -- the limits are the Limits ----------------------------------------------------------------


async def test_redis_limits_are_limits(redis_url: str) -> None:
    async with instances(redis_url) as (limits,):
        assert isinstance(limits, Limits)
        assert limits.gate.limit == 10 and limits.budget.limit is None
        assert "RedisLimits(" in repr(limits) and FAMILY.tag in repr(limits)
        await limits.aclose()


@pytest.mark.parametrize(
    "options",
    [{"minute": 0}, {"minute": math.inf}, {"lease_seconds": -1}, {"poll_interval": 0}, {"poll_interval": 20}],
)
def test_nonsense_figures_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RedisLimits(RedisBackend.from_url("redis://127.0.0.1:1/0"), FAMILY, settings(), **options)


# -- the per-minute limiter ----------------------------------------------------------------------


async def shared_run(everyone: list[RedisLimits], sends: int, tasks: int = 3) -> list[float]:
    """``tasks`` tasks on each instance make calls until ``sends`` went; their Redis send times."""
    times: list[float] = []

    async def worker(limits: RedisLimits) -> None:
        while len(times) < sends:
            sent = await call(limits)
            if sent is not None and len(times) < sends:
                times.append(sent)

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            for limits in everyone:
                for _ in range(tasks):
                    group.start_soon(worker, limits)
    return times


async def test_the_per_minute_cap_holds_across_instances_at_nearly_its_rate(redis_url: str) -> None:
    minute, per_minute = 1.0, 5
    async with instances(redis_url, 3, minute=minute, requests_per_minute=per_minute) as everyone:
        times = await shared_run(everyone, 3 * per_minute)
    # The server counts arrivals up to J late (latency_allowance scaled to the minute): any N + 1
    # sends span a minute plus J, so no window of a minute, arrivals J late, holds more than N.
    allowance = 2.0 * minute / 60
    assert busiest(times, minute + allowance - 1e-3) <= per_minute
    # And the pace is N per (minute + J), not slower: the sends span about (M - 1) intervals.
    interval = (minute + allowance) / per_minute
    span = max(times) - min(times)
    assert span >= (len(times) - 1 - per_minute) * interval * 0.99  # never faster than the rule
    assert span <= (len(times) - 1) * interval / 0.8  # the achieved rate is at least 80% of it


async def test_a_skewed_process_clock_changes_nothing_shared(redis_url: str) -> None:
    def ahead() -> float:
        return anyio.current_time() + 5.0

    minute, per_minute = 0.6, 3
    async with instances(
        redis_url, 2, clocks=[None, ahead], minute=minute, requests_per_minute=per_minute
    ) as everyone:
        skewed = everyone[1]
        # Deadlines are read on the instance's own clock: one 5 s ahead still waits its turn.
        sends: list[float] = []
        for _ in range(3):
            for limits in everyone:
                sent = await call(limits, ask(deadline_at=limits._clock() + BOUND))
                assert sent is not None
                sends.append(sent)
        assert skewed.cooldown.remaining == 0
    assert busiest(sends, minute + 2 * minute / 60 - 1e-3) <= per_minute
    assert max(sends) - min(sends) >= (len(sends) - 1 - per_minute) * (minute + 2 * minute / 60) / per_minute


async def test_the_per_minute_cap_holds_on_a_redis_cluster(redis_cluster_url: str) -> None:
    minute, per_minute = 0.8, 4
    async with instances(
        redis_cluster_url, 2, cluster=True, minute=minute, requests_per_minute=per_minute, max_concurrency=2
    ) as everyone:
        times = await shared_run(everyone, 2 * per_minute, tasks=2)
        assert everyone[0].gate.peak <= 2
    assert busiest(times, minute + 2 * minute / 60 - 1e-3) <= per_minute


async def test_bulk_writes_take_the_bulk_limiter_and_downloads_the_shared_downloads_one(
    redis_url: str,
) -> None:
    async with instances(
        redis_url, 2, requests_per_minute=100, bulk_operations_per_minute=2, intercall_delay=0.001
    ) as (one, two):
        assert await call(one, ask(bulk=True)) is not None
        assert await tat(one, "bulk") is not None and await tat(one, "downloads") is None
        # The other instance's marker (its own object) means the same shared limiter.
        assert await call(two, ask(paced_by=two.read_downloads)) is not None
        assert await tat(two, "downloads") is not None and await tat(two, "intercall") is not None
        # Another limiter of the call's own is paced here, before the shared ones.
        own = RateLimiter.per_minute(1)
        assert await call(one, ask(paced_by=own)) is not None
        assert own.window_opens() > -math.inf  # its send was recorded
        # Its wait counts against the deadline too: refused at once, its booking untouched.
        before = own._tat
        with pytest.raises(PastDeadline):
            await call(one, ask(paced_by=own, deadline_at=anyio.current_time() + 1.0))
        assert own._tat == before


async def test_a_wait_past_the_deadline_books_nothing(redis_url: str) -> None:
    async with instances(redis_url, 2, minute=1.0, requests_per_minute=1) as (one, two):
        assert await call(one) is not None
        booked = await tat(one)
        with pytest.raises(PastDeadline) as raised:
            await call(two, ask(deadline_at=two._clock() + 0.2))
        assert raised.value.wait > 0.5 and "shared rate limit" in raised.value.what
        assert await tat(two) == booked  # nothing booked: the next caller is not pushed back
        # A deadline already past is refused too, without a send.
        with pytest.raises(PastDeadline):
            await call(two, ask(deadline_at=two._clock() - 1.0))
        assert await tat(two) == booked


async def test_a_caller_cancelled_while_it_waits_gives_its_send_time_back(redis_url: str) -> None:
    async with instances(redis_url, 2, minute=1.0, requests_per_minute=1) as (one, two):
        assert await call(one) is not None
        first = await tat(one)
        pacing = anyio.Event()

        async def waiter() -> None:
            async with two.slot() as slot:
                pacing.set()
                await two.pace(slot, ask())
                raise AssertionError("the wait should have been cancelled")  # pragma: no cover

        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                group.start_soon(waiter)
                await pacing.wait()
                await until(lambda: _changed(two, first), "the waiter booked")
                group.cancel_scope.cancel()
        assert await tat(one) == first  # given back: the next caller waits one interval, not two
        assert await one.backend.call("ZCARD", FAMILY.key("gate", "leases")) == 0  # its slot too


async def test_a_caller_cancelled_as_its_booking_comes_back_gives_the_send_time_back(
    redis_url: str,
) -> None:
    """The pace script booked a later send time, and the caller was cancelled before its reply
    came back (a deadline, a task group): the booked time must still be handed back, or every
    later caller of every process waits one interval longer for a send that never happens."""
    async with instances(redis_url, 2, minute=1.0, requests_per_minute=1) as (one, two):
        assert await call(one) is not None
        first = await tat(one)
        with anyio.fail_after(BOUND):
            with anyio.CancelScope() as scope:
                two.backend = CancelledAfter(two.backend, _scripts.ACQUIRE_PACE, scope)  # type: ignore[assignment]
                async with two.slot() as slot:
                    await two.pace(slot, ask())
                    raise AssertionError("the wait should have been cancelled")  # pragma: no cover
        assert scope.cancelled_caught
        assert await tat(one) == first  # given back, though its reply was lost to the cancel
        assert await one.backend.call("ZCARD", FAMILY.key("gate", "leases")) == 0


async def _changed(limits: RedisLimits, value: str | None) -> bool:
    return await tat(limits) != value


async def test_the_lease_is_renewed_while_a_call_waits_longer_than_it(redis_url: str) -> None:
    async with instances(
        redis_url, 1, minute=1.0, requests_per_minute=1, lease_seconds=0.45, poll_interval=0.01
    ) as (limits,):
        assert await call(limits) is not None
        # The next send is about a second away: more than twice the lease, renewed in thirds.
        assert await call(limits) is not None


async def test_a_slot_lost_while_waiting_makes_pace_say_no_and_gives_the_time_back(redis_url: str) -> None:
    async with instances(
        redis_url, 1, minute=2.0, requests_per_minute=1, lease_seconds=0.3, poll_interval=0.01
    ) as (limits,):
        assert await call(limits) is not None
        first = await tat(limits)
        result: list[bool] = []

        async def waiter() -> None:
            async with limits.slot() as slot:
                result.append(await limits.pace(slot, ask()))

        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                group.start_soon(waiter)
                await until(lambda: _changed(limits, first), "the waiter booked")
                # Its lease vanishes (as when it ran out while the process stalled).
                await limits.backend.call("DEL", FAMILY.key("gate", "leases"))
        assert result == [False]
        assert await tat(limits) == first


async def test_a_lease_gone_at_the_pace_says_no_and_books_nothing(redis_url: str) -> None:
    async with instances(redis_url, 1, minute=1.0, requests_per_minute=1) as (limits,):
        async with limits.slot() as slot:
            assert await limits.pace(slot, ask())  # the first pace takes the lease
            assert limits.gate.in_flight == 1
            booked = await tat(limits)
            await limits.backend.call("DEL", FAMILY.key("gate", "leases"))
            assert await limits.pace(slot, ask()) is False
            assert limits.gate.in_flight == 0
            # A slot whose lease is gone never takes another: the caller leaves the gate.
            assert await limits.pace(slot, ask()) is False
            assert await limits.backend.call("ZCARD", FAMILY.key("gate", "leases")) == 0
        assert await tat(limits) == booked
        assert limits.gate.in_flight == 0


async def lease_left(limits: RedisLimits, slot: object) -> float:
    """Seconds the slot's lease has left, on Redis's clock."""
    lease_id = getattr(slot, "id")  # noqa: B009 - the slot is opaque to the Limits protocol
    score = float(await limits.backend.call("ZSCORE", FAMILY.key("gate", "leases"), lease_id))
    return score / 1000 - await redis_now(limits.backend)


async def test_a_long_timeout_keeps_the_lease_past_lease_seconds(redis_url: str) -> None:
    async with instances(redis_url, 1, lease_seconds=1.0, poll_interval=0.01) as (limits,):
        async with limits.slot() as slot:
            # Entering the slot asks nothing of Redis: its first pace takes the lease, for as long as
            # the exchange may last.
            assert await limits.backend.call("EXISTS", FAMILY.key("gate", "leases")) == 0
            the_ask = ask(timeout=20.0)
            assert await limits.pace(slot, the_ask)
            assert await lease_left(limits, slot) > 24.0  # its timeout + 5 s: it outlives the exchange
            await limits.finish(slot, the_ask, OK)
        assert await limits.backend.call("EXISTS", FAMILY.key("gate", "leases")) == 0


# -- the 429 cooldown ------------------------------------------------------------------------------


async def test_a_cooldown_opened_by_one_instance_stops_the_others(redis_url: str) -> None:
    async with instances(redis_url, 2) as (one, two):
        await one.open_cooldown(5.0)
        assert one.cooldown.remaining > 4.0
        assert two.cooldown.remaining == 0
        assert await call(two) is None  # pace says no: the other process's 429 holds for it too
        assert 4.0 < two.cooldown.remaining <= 5.0
        # Only ever extended: a shorter one later does not shorten it.
        await two.open_cooldown(0.5)
        assert two.cooldown.remaining > 4.0
        ttl = await one.backend.call("PTTL", FAMILY.key("cooldown"))
        assert 4000 < ttl <= 5000


async def test_a_cooldown_met_while_waiting_gives_the_booked_time_back(redis_url: str) -> None:
    async with instances(redis_url, 2, minute=1.0, requests_per_minute=1) as (one, two):
        assert await call(one) is not None
        first = await tat(one)
        result: list[float | None] = []

        async def waiter() -> None:
            result.append(await call(two))

        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                group.start_soon(waiter)
                await until(lambda: _changed(one, first), "the waiter booked")
                await one.open_cooldown(10.0)
        assert result == [None] and two.cooldown.remaining > 5
        assert await tat(one) == first


# -- Redis down ------------------------------------------------------------------------------------


async def test_a_killed_redis_raises_redis_unavailable_promptly_and_finish_stays_quiet(
    fresh_redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with instances(fresh_redis_server.url, 1, requests_per_minute=100) as (limits,):
        assert await call(limits) is not None
        with anyio.fail_after(BOUND):
            async with limits.slot() as slot:
                the_ask = ask()
                assert await limits.pace(slot, the_ask)
                fresh_redis_server.kill()
                await limits.finish(slot, the_ask, OK)  # logs, never raises
                await limits.finish(slot, the_ask, OK)  # and logs once
            with pytest.raises(RedisUnavailable):
                async with limits.slot() as slot:
                    await limits.pace(slot, ask())
            with pytest.raises(RedisUnavailable):
                await limits.open_cooldown(1.0)
    warnings = [r for r in caplog.records if "shared limits" in r.getMessage()]
    assert len(warnings) == 1 and "finish" in warnings[0].getMessage()


async def test_pace_takes_only_the_slot_it_gave(redis_url: str) -> None:
    async with instances(redis_url) as (limits,):
        with pytest.raises(TypeError, match="slot"):
            await limits.pace(object(), ask())


async def test_a_calls_own_limiter_is_given_back_when_the_shared_pace_refuses(redis_url: str) -> None:
    async with instances(redis_url, 1, minute=1.0, requests_per_minute=1) as (limits,):
        assert await call(limits) is not None
        own = RateLimiter.between_calls(0.001)
        before = own._tat
        with pytest.raises(PastDeadline):
            await call(limits, ask(paced_by=own, deadline_at=limits._clock() + 0.3))
        assert own._tat == before  # its booking went back with the shared refusal


async def test_finish_for_a_cancelled_caller_still_releases_and_settles(redis_url: str) -> None:
    async with instances(redis_url) as (limits,):
        the_ask = ask(3)
        with anyio.CancelScope() as scope:
            async with limits.slot() as slot:
                assert await limits.pace(slot, the_ask)
                scope.cancel()
                try:
                    await anyio.sleep_forever()
                finally:
                    await limits.finish(slot, the_ask, Answer(uncounted=True, headers=None))
        assert await limits.backend.call("EXISTS", FAMILY.key("gate", "leases")) == 0
        assert await limits.backend.call("ZCARD", FAMILY.key("credits", "flight")) == 0
        assert limits.budget.spent() == 0  # and refunded, although its caller was cancelled


async def test_finish_is_bounded_when_redis_never_answers(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        backend = RedisBackend.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=60.0)
        limits = RedisLimits(backend, FAMILY, settings())
        with anyio.fail_after(BOUND):
            started = anyio.current_time()
            await limits.finish(object(), ask(), OK)
            assert anyio.current_time() - started < BOUND
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(1):
                await backend.aclose()
    assert any("did not answer within 2 s" in record.getMessage() for record in caplog.records)


async def test_a_queued_waiter_raises_redis_unavailable_when_redis_dies(
    fresh_redis_server: RedisServer,
) -> None:
    async with instances(fresh_redis_server.url, 2, max_concurrency=1, poll_interval=0.01) as (one, two):
        failed: list[BaseException] = []

        async def waiter() -> None:
            try:
                async with two.slot() as slot:
                    await two.pace(slot, ask())
                    raise AssertionError("never granted")  # pragma: no cover
            except RedisUnavailable as exc:
                failed.append(exc)

        with anyio.fail_after(BOUND):
            held = leased(one)
            await held.__aenter__()
            async with anyio.create_task_group() as group:
                group.start_soon(waiter)
                await until(lambda: _queued(one), "the waiter queued")
                fresh_redis_server.kill()
            await held.__aexit__(None, None, None)  # quiet: its release is logged, not raised
        assert len(failed) == 1 and two.gate.in_flight == 0 and one.gate.in_flight == 0


async def _queued(limits: RedisLimits) -> bool:
    return bool(await limits.backend.call("ZCARD", FAMILY.key("gate", "queue")))


async def test_an_endless_timeout_holds_the_slot_an_hour_at_most(redis_url: str) -> None:
    async with instances(redis_url) as (limits,):
        async with limits.slot() as slot:
            the_ask = ask(timeout=math.inf)
            assert await limits.pace(slot, the_ask)
            assert 3500 < await lease_left(limits, slot) <= 3600
            await limits.finish(slot, the_ask, OK)
