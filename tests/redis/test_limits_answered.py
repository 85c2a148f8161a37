"""``RedisLimits`` hears the answers: a send counts as arriving up to the latency allowance J
late only until its answer comes, then as having arrived by then (as ``RateLimiter.answered``
does in one process). So the shared per-minute pace reaches about N per minute plus the answers'
latency, not N per minute plus J (60/62 of the cap), and still no rolling minute of arrivals, as
the server could count them, holds more than N.

The entries are lowered in the very ``sent`` lists that releases before this one read and write,
so processes of both can share one family: an entry a release that never lowers leaves stays a
send J late at the latest, which the rule of either release already counts.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

import anyio
import pytest

from bigin_async._coordination import Answer, PastDeadline
from bigin_async.integrations.redis.limits import RedisLimits
from tests.redis.test_limits import BOUND, FAMILY, OK, ask, instances, redis_now

ANSWERED = Answer(uncounted=False, headers={})  # an HTTP answer came (no rate headers in it)


async def sent_list(limits: RedisLimits, name: str = "minute") -> list[str]:
    entries: list[str] = await limits.backend.call("LRANGE", FAMILY.key("rate", name, "sent"), 0, -1)
    return [entry.decode() if isinstance(entry, bytes) else entry for entry in entries]


async def one_call(limits: RedisLimits, answer: Answer) -> tuple[float, float]:
    """One attempt, answered (or not) at once: its send time and the time its answer was in hand,
    on Redis's clock."""
    the_ask = ask()
    async with limits.slot() as slot:
        assert await limits.pace(slot, the_ask)
        answered_at = await redis_now(limits.backend)
        await limits.finish(slot, the_ask, answer)
    sent_at: float = getattr(the_ask.charged, "sent_at")  # noqa: B009 - the receipt is opaque
    return sent_at, answered_at


async def next_wait(limits: RedisLimits) -> float:
    """How long the next send would wait now: refused at once, by the script, because its deadline
    comes sooner (a second away; the waits asked about are longer). The backend is warmed first, so
    no first connection eats into that second."""
    await redis_now(limits.backend)
    with pytest.raises(PastDeadline) as raised:
        async with limits.slot() as slot:
            await limits.pace(slot, ask(deadline_at=limits._clock() + 1.0))
    assert "shared rate limit" in raised.value.what  # the script's wait, not a cut round trip
    return raised.value.wait


async def test_an_answer_lowers_its_send_so_the_next_minute_opens_a_minute_after_it(redis_url: str) -> None:
    # One call a minute, J = 2 s: unanswered, the next may go a minute plus J after the send;
    # answered at once, a minute after the answer (it had arrived by then).
    async with instances(redis_url, 2, requests_per_minute=1) as (one, two):
        await one_call(one, ANSWERED)
        (entry,) = await sent_list(one)
        wait = await next_wait(two)
        assert 58.0 < wait < 60.5, wait  # not 62 - what the round trips took
        assert len(entry.split(".")[1]) == 4  # lowered: no longer the send time the pace wrote
    async with instances(redis_url, 2, requests_per_minute=1) as (one, two):
        await one.backend.call("DEL", *(FAMILY.key("rate", "minute", part) for part in ("sent", "tat")))
        sent_at, _ = await one_call(one, OK)  # no HTTP answer (a timeout, a reset): it may still arrive
        (entry,) = await sent_list(one)
        assert float(entry) == pytest.approx(sent_at * 1000.0, abs=1e-3)
        wait = await next_wait(two)
        assert 61.0 < wait <= 62.0, wait


async def test_answers_lower_only_their_own_send_and_keep_the_list_in_order(redis_url: str) -> None:
    async with instances(redis_url, 1, requests_per_minute=600) as (limits,):  # J = 2 s
        key = FAMILY.key("rate", "minute", "sent")
        # Sends by a release that never lowers, just before the ones this release makes: 3
        # decimals, ascending, as the pace script pushes them.
        now_ms = (await redis_now(limits.backend)) * 1000.0
        await limits.backend.call("RPUSH", key, f"{now_ms - 2:.3f}", f"{now_ms - 1:.3f}")
        first, second = ask(), ask()
        async with limits.slot() as one, limits.slot() as two:
            assert await limits.pace(one, first)
            assert await limits.pace(two, second)  # both in flight
            before = await sent_list(limits)
            assert len(before) == 4
            await limits.finish(one, first, ANSWERED)
            middle = await sent_list(limits)
            # Only the answered send's entry changed: the older ones, and the one still in
            # flight (it may yet arrive J after it left), are as they were.
            assert [middle[0], middle[1], middle[3]] == [before[0], before[1], before[3]]
            assert middle[2] != before[2] and len(middle[2].split(".")[1]) == 4
            # Lowered to its answer less J, but never below the entry before it: the answer came
            # less than J after those, so it stays at the last of them and the list ascending.
            assert float(middle[2]) == pytest.approx(float(middle[1]), abs=1e-3)
            await limits.finish(two, second, ANSWERED)
            after = await sent_list(limits)
    assert after[:3] == middle[:3] and len(after[3].split(".")[1]) == 4
    values = [float(entry) for entry in after]
    assert values == sorted(values)  # the N-th last is the N-th latest


def most_arrivals(spans: Sequence[tuple[float, float]], window: float) -> int:
    """The most arrivals any rolling ``window`` [x, x + window) can hold, each arrival anywhere in
    its span: those spans that meet the window, for the worst x (a span's end, or a start less
    the window)."""
    starts = [x for begin, end in spans for x in (end, begin - window + 1e-9)]
    return max(sum(1 for begin, end in spans if begin < x + window and end >= x - 1e-9) for x in starts)


def as_an_earlier_release(limits: RedisLimits) -> None:
    """Make ``limits`` pace as the release before answers were heard: bookings spaced (W + J) / N,
    no allowance registered, nothing lowered by its answers."""
    own_j = float(limits._allowance_ms)
    for kind, pacing in list(limits._pacers.items()):
        earlier = tuple(
            dataclasses.replace(
                limiter,
                heard=False,
                window_ms=limiter.window_ms + own_j,
                interval_ms=(limiter.window_ms + own_j) / limiter.limit,
            )
            if limiter.heard
            else limiter
            for limiter in pacing.limiters
        )
        limits._pacers[kind] = limits._pacing(earlier)


@pytest.mark.parametrize("seed", [1, 2])
async def test_hostile_latencies_across_instances_keep_every_minute_of_arrivals_within_the_cap(
    redis_url: str, seed: int
) -> None:
    # Four instances (as four processes would be), one of them of the release before this one.
    # Answers take anywhere up to 1.2 J, some never come (a timeout, a reset), and some callers
    # are cancelled while they pace. A request reaches the server within J of its send and before
    # its answer: an answered send arrived somewhere between its send and the earlier of those.
    minute, per_minute = 1.0, 4
    rng = random.Random(seed)
    spans: list[tuple[float, float]] = []
    sends = 5 * per_minute
    lowered: list[bool] = []

    async with instances(redis_url, 4, minute=minute, requests_per_minute=per_minute) as everyone:
        as_an_earlier_release(everyone[3])
        allowance = float(everyone[0]._allowance_ms) / 1000.0  # J exactly as the scripts take it

        async def attempt(limits: RedisLimits) -> None:
            the_ask = ask()
            async with limits.slot() as slot:
                if rng.random() < 0.1:  # cancelled at some point of its pace: nothing is sent
                    with anyio.move_on_after(rng.random() * 0.3):
                        if await limits.pace(slot, the_ask):
                            await limits.finish(slot, the_ask, OK)
                            went: float = getattr(the_ask.charged, "sent_at")  # noqa: B009
                            spans.append((went, went + allowance))
                    return
                if not await limits.pace(slot, the_ask):
                    return
                await anyio.sleep(rng.choice([0.0, 0.2, 0.5, 0.9, 1.2]) * allowance)  # the server's time
                answered_at = await redis_now(limits.backend)
                answer = ANSWERED if rng.random() < 0.85 else OK
                await limits.finish(slot, the_ask, answer)
                if answer is ANSWERED and limits is not everyone[3]:
                    entries = await sent_list(limits)
                    lowered.append(any(len(entry.split(".")[1]) == 4 for entry in entries))
            sent_at: float = getattr(the_ask.charged, "sent_at")  # noqa: B009 - the receipt is opaque
            latest = sent_at + allowance
            if answer is ANSWERED:
                latest = min(latest, answered_at)
            spans.append((sent_at, latest))

        async def worker(limits: RedisLimits) -> None:
            while len(spans) < sends:
                await attempt(limits)

        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                for limits in everyone:
                    for _ in range(2):
                        group.start_soon(worker, limits)
        # Every booking was made or given back, the cancelled callers' too: none is left to hold
        # a later caller back.
        assert await everyone[0].backend.call("ZCARD", FAMILY.key("rate", "minute", "planned")) == 0
    assert any(lowered)  # the answers were heard: what the cap is checked against here
    assert most_arrivals(spans, minute) <= per_minute


@pytest.mark.parametrize("other_allowance", [0.0, 1.0])
async def test_processes_told_different_allowances_still_keep_the_cap(
    redis_url: str, other_allowance: float
) -> None:
    # A counts sends 20 s a minute late (1 s of this 3 s minute), B less. An answer A hears
    # lowers its send's entry by A's J; read by B with B's smaller J, that entry would say the
    # send had arrived before it could have, and B's next send, with every request arriving at
    # once, would share a minute with it. Both count the largest allowance in use.
    minute = 3.0  # A's J: 1 s of it
    async with (
        instances(redis_url, 1, minute=minute, requests_per_minute=1, latency_allowance=20.0) as (a,),
        instances(redis_url, 1, minute=minute, requests_per_minute=1, latency_allowance=other_allowance) as (
            b,
        ),
    ):
        sent_at, _ = await one_call(a, ANSWERED)
        # The bookings' spacing alone would hold B back here; the record of the real sends must
        # hold the cap by itself (a booking that waited on it, or was given back, leaves it so).
        await b.backend.call("DEL", FAMILY.key("rate", "minute", "tat"))
        asked_at = await redis_now(b.backend)
        wait = await next_wait(b)
        # B's next send may go at (its script's time) + wait, no sooner than asked_at + wait.
        assert asked_at + wait >= sent_at + minute - 0.3, (asked_at + wait - sent_at, wait)


async def test_an_entry_never_outlives_the_allowance_it_was_lowered_by(redis_url: str) -> None:
    # Q (J = 0.5 s of a 1 s minute) calls once, then goes quiet; its J counts until 2 (W + J) = 3 s
    # after. P (J = 0.2 s) sends shortly before that lapses, answered 0.1 s later, and calls again
    # once it has lapsed. Had P's entry been lowered by Q's larger J, nothing would count that J
    # any more when P reads it again, and P's second send would share a minute with its first.
    minute, p_allowance = 1.0, 0.2
    async with (
        instances(redis_url, 1, minute=minute, requests_per_minute=1, latency_allowance=30.0) as (q,),
        instances(redis_url, 1, minute=minute, requests_per_minute=1, latency_allowance=12.0) as (p,),
    ):
        q_sent, _ = await one_call(q, OK)
        await anyio.sleep(q_sent + 2.5 - await redis_now(p.backend))  # P idle until then
        first = ask()
        async with p.slot() as slot:
            assert await p.pace(slot, first)
            await anyio.sleep(p_allowance / 2)  # the server's time, within P's J: the answer lowers it
            answered_at = await redis_now(p.backend)
            await p.finish(slot, first, ANSWERED)
        first_sent: float = getattr(first.charged, "sent_at")  # noqa: B009
        arrival = min(first_sent + p_allowance, answered_at)  # the latest it can have arrived
        await anyio.sleep(q_sent + 3.05 - await redis_now(p.backend))  # Q's J has lapsed by then
        second_sent, _ = await one_call(p, OK)
    assert second_sent - arrival >= minute, second_sent - arrival
