"""``RedisLimits`` books a send after the sends already booked ahead of it, as ``RateLimiter`` does
in one process: the time a booking is given is the time it will send, so a call whose deadline
falls before it is refused at once (not when that time comes), and callers go in the order they
booked (FIFO), however slow the answers.

Each per-minute limiter keeps its bookings not yet made in a sorted set (``planned``: the caller's
lease id, scored by its booked time). A new booking waits until the N-th latest of the sends made
(the ``sent`` list) and the bookings planned may have arrived a minute before it. The real send is
still checked against the ``sent`` list alone, so the cap holds whatever the bookings say, and
processes of a release that keeps no bookings share the family with these.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from bigin_async._coordination import PastDeadline
from bigin_async.integrations.redis.limits import RedisLimits
from tests.redis.test_limits import BOUND, FAMILY, OK, ask, instances, redis_now, tat, until
from tests.redis.test_limits_answered import most_arrivals, next_wait, one_call

PLANNED = FAMILY.key("rate", "minute", "planned")


async def planned(limits: RedisLimits, key: str = PLANNED) -> list[tuple[str, float]]:
    """The bookings not yet made: (lease id, booked time in Redis's ms)."""
    members = await limits.backend.call("ZRANGE", key, 0, -1)
    pairs = [(member, await limits.backend.call("ZSCORE", key, member)) for member in members]
    return [(m.decode() if isinstance(m, bytes) else m, float(s)) for m, s in pairs]


@asynccontextmanager
async def booked_ahead(limits: RedisLimits) -> AsyncIterator[anyio.CancelScope]:
    """A caller of ``limits`` that has booked its send and sleeps until it; cancelled on leaving."""
    before = await tat(limits)
    async with anyio.create_task_group() as group:

        async def caller() -> None:
            async with limits.slot() as slot:
                await limits.pace(slot, ask())
                raise AssertionError("the booked caller should have been cancelled")  # pragma: no cover

        group.start_soon(caller)
        await until(lambda: _booked(limits, before), "the caller booked its send")
        yield group.cancel_scope
        group.cancel_scope.cancel()


async def _booked(limits: RedisLimits, before: str | None) -> bool:
    return await tat(limits) != before


async def test_a_booking_comes_after_the_sends_booked_ahead_of_it(redis_url: str) -> None:
    # Two a minute, J = 2 s. A sent (no answer heard: it may arrive J late); B booked half a
    # minute on and waits. C's own turn would come a minute after A by the bookings' spacing, but
    # by then B has sent too: A may have arrived as late as 62 s before, so C really goes then.
    # The wait C is told (and its deadline is checked against) is that one.
    async with instances(redis_url, 3, requests_per_minute=2) as (a, b, c):
        sent_at, _ = await one_call(a, OK)
        with anyio.fail_after(BOUND):
            async with booked_ahead(b):
                asked_at = await redis_now(c.backend)
                wait = await next_wait(c)
                assert asked_at + wait == pytest.approx(sent_at + 62.0, abs=0.05), wait
                ((_, booked_ms),) = await planned(b)
                assert booked_ms / 1000.0 == pytest.approx(sent_at + 30.0, abs=0.05)
        # B gave its time up: its booking is gone with it, and C's turn is B's again.
        assert await planned(a) == []
        asked_at = await redis_now(c.backend)
        assert asked_at + await next_wait(c) == pytest.approx(sent_at + 30.0, abs=0.05)


async def test_a_send_made_or_refused_leaves_no_booking_behind(redis_url: str) -> None:
    async with instances(redis_url, 2, minute=1.0, requests_per_minute=2) as (a, b):
        await one_call(a, OK)
        await one_call(b, OK)  # booked half a minute on, slept, sent: made, no longer planned
        assert await planned(a) == []
        assert len(await a.backend.call("LRANGE", FAMILY.key("rate", "minute", "sent"), 0, -1)) == 2
        with pytest.raises(PastDeadline):  # refused by its deadline before booking anything
            async with b.slot() as slot:
                await b.pace(slot, ask(deadline_at=b._clock() - 1.0))
        assert await planned(a) == []


async def test_bookings_of_a_process_gone_count_only_while_they_could_matter(redis_url: str) -> None:
    # Bookings whose callers will never send them: one booked more than a minute plus J ago can no
    # longer share a minute with a new send; one whose caller no longer holds its slot's lease (a
    # process that died, or lost Redis, while it waited) will not be sent. Both are dropped. One
    # made lately by a caller that still holds its lease holds a new booking back.
    async with instances(redis_url, 1, requests_per_minute=1) as (limits,):
        now_ms = (await redis_now(limits.backend)) * 1000.0
        await limits.backend.call(
            "ZADD",
            PLANNED,
            f"{now_ms - 62_500:.3f}",
            "long-ago",
            f"{now_ms - 5_000:.3f}",
            "lease-gone",
            f"{now_ms - 10_000:.3f}",
            "waiting",
        )
        leases = FAMILY.key("gate", "leases")
        await limits.backend.call("ZADD", leases, f"{now_ms + 20_000:.0f}", "waiting")
        await limits.backend.call("ZADD", leases, f"{now_ms - 1:.0f}", "lease-gone")  # ran out
        wait = await next_wait(limits)
        assert 49.0 < wait <= 52.0, wait  # the waiting one counts: 10 s ago + 62 s
        assert [member for member, _ in await planned(limits)] == ["waiting"]
        await limits.backend.call("ZREM", leases, "waiting")  # its process gave up its slot
        async with limits.slot() as slot:  # nothing holds the next send back: it goes at once
            assert await limits.pace(slot, ask(deadline_at=limits._clock() + 1.0))
        assert await planned(limits) == []


async def test_every_per_minute_limiter_a_call_books_keeps_its_bookings(redis_url: str) -> None:
    # A bulk write books the bulk limiter and the per-minute one: both keep its booking while it
    # waits, and both let it go when it gives its time up.
    async with instances(redis_url, 1, minute=1.0, requests_per_minute=600, bulk_operations_per_minute=1) as (
        limits,
    ):
        bulk_planned = FAMILY.key("rate", "bulk", "planned")
        the_ask = ask(bulk=True)
        async with limits.slot() as slot:
            assert await limits.pace(slot, the_ask)
            await limits.finish(slot, the_ask, OK)
        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:

                async def bulk_caller() -> None:
                    async with limits.slot() as slot:
                        await limits.pace(slot, ask(bulk=True))

                group.start_soon(bulk_caller)
                await until(lambda: _count(limits, bulk_planned, 1), "the bulk write booked")
                group.cancel_scope.cancel()
        assert await planned(limits, bulk_planned) == []
        assert await planned(limits) == []


async def _count(limits: RedisLimits, key: str, expected: int) -> bool:
    return len(await planned(limits, key)) == expected


async def test_callers_send_in_the_order_they_booked_and_when_they_were_told(redis_url: str) -> None:
    # Two a 1 s minute, J = 0.3 s, no answer heard: six callers of two instances book one after
    # the other. Each is told its send time at its first look (its deadline is checked against
    # it) and that time already counts the sends booked before it, so none waits again for
    # another's send once its time comes, and none overtakes one that booked before it.
    minute, per_minute, allowance = 1.0, 2, 0.3
    async with instances(
        redis_url, 2, minute=minute, requests_per_minute=per_minute, latency_allowance=allowance * 60.0
    ) as (one, two):
        told: dict[int, float] = {}
        sent: dict[int, float] = {}
        order: list[int] = []

        async def caller(number: int, limits: RedisLimits, booked: anyio.Event) -> None:
            the_ask = ask()
            reply = limits._reply

            async def first_reply(*args: Any) -> Any:
                answer = await reply(*args)
                if answer[0] == "wait" and len(answer) > 3:  # (limiter, tat before, tat after)
                    interval_ms = minute * 1000.0 / per_minute
                    told.setdefault(number, (float(answer[5]) - interval_ms) / 1000.0)
                    booked.set()
                return answer

            async with limits.slot() as slot:
                limits._reply = first_reply  # type: ignore[method-assign,assignment]
                try:
                    assert await limits.pace(slot, the_ask)
                finally:
                    limits._reply = reply  # type: ignore[method-assign]
                booked.set()
                order.append(number)
                await limits.finish(slot, the_ask, OK)
            sent[number] = getattr(the_ask.charged, "sent_at")  # noqa: B009 - the receipt is opaque

        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                for number in range(6):
                    booked = anyio.Event()
                    group.start_soon(caller, number, (one, two)[number % 2], booked)
                    await booked.wait()  # booked (or sent at once) before the next one asks
        assert await planned(one) == []
    assert order == list(range(6))
    # The time each was booked (and told, and its deadline checked against) already counts the
    # sends booked before it: the one two before it, at its booked time or its send, may arrive J
    # late, and the minute after that is the soonest it can go. Before the bookings were kept, the
    # third was booked 1 s after the first send, and made to wait 0.3 s more when that time came.
    for number in range(per_minute, 6):
        ahead = told.get(number - per_minute, sent[number - per_minute])
        assert told[number] >= ahead + minute + allowance - 0.002, (number, told[number] - ahead)
    spans = [(at, at + allowance) for at in sent.values()]
    assert most_arrivals(spans, minute) <= per_minute


async def test_a_call_paced_by_two_limiters_is_planned_on_each_for_when_it_really_sends(
    redis_url: str,
) -> None:
    # Bulk writes: 1 a (1 s) minute; all calls: 2; J = 1/30 s. The minute is full when B1 asks:
    # its bulk booking is at once, its per-minute one when the minute opens, and it sends then.
    # Planned on the bulk limiter at its bulk booking, it let B2 be told a time half a minute
    # before it could go: B2 went only a minute after B1's arrival could be, once B1 had sent.
    async with instances(redis_url, 3, minute=1.0, requests_per_minute=2, bulk_operations_per_minute=1) as (
        a,
        b,
        c,
    ):
        await one_call(a, OK)
        await one_call(a, OK)  # the minute is full until a minute plus J after the first
        bulk_tat = await tat(b, "bulk")
        first, second = ask(bulk=True), ask(bulk=True)
        waits: dict[str, list[Any]] = {}

        def spied(limits: RedisLimits, name: str) -> None:
            reply = limits._reply

            async def first_wait(*args: Any) -> Any:
                answer = await reply(*args)
                if answer[0] == "wait":
                    waits.setdefault(name, [str(x) for x in answer])
                return answer

            limits._reply = first_wait  # type: ignore[method-assign,assignment]

        spied(b, "B1")
        spied(c, "B2")

        async def bulk(limits: RedisLimits, the_ask: Any) -> None:
            async with limits.slot() as slot:
                assert await limits.pace(slot, the_ask)
                await limits.finish(slot, the_ask, OK)

        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                group.start_soon(bulk, b, first)
                await until(lambda: _tat_moved(b, "bulk", bulk_tat), "B1 booked its bulk write")
                group.start_soon(bulk, c, second)
        assert await planned(a, FAMILY.key("rate", "bulk", "planned")) == []
    # B1's first reply booked both limiters and had it sleep until the minute's booking (the
    # second): B1 sends then. B2's first reply booked the bulk limiter: a minute plus J after that.
    # (Each booked time is the tat it left, less the interval: 1 s for bulk, 0.5 s per minute.)
    b1, b2 = waits["B1"], waits["B2"]
    assert b1[2] == "2" and b1[6] == "2" and b2[3] == "1"
    b1_goes = (float(b1[8]) - 500.0) / 1000.0
    b2_told = (float(b2[5]) - 1000.0) / 1000.0
    j = float(a._allowance_ms) / 1000.0
    assert b2_told >= b1_goes + 1.0 + j - 0.002, (b2_told - b1_goes, 1.0 + j)
    b1_sent: float = getattr(first.charged, "sent_at")  # noqa: B009 - the receipt is opaque
    assert b1_sent >= b1_goes - 0.002  # it went when it was told, no sooner


async def _tat_moved(limits: RedisLimits, name: str, before: str | None) -> bool:
    return await tat(limits, name) != before
