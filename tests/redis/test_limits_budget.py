"""``RedisLimits`` daily credits: one count for every instance, with ``DailyBudget``'s rules (the
limit, ``min_calls_remaining``, credits back for a call Zoho never counted, Zoho's own count
adopted when its headers describe the day, calls in flight charged after a sync)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bigin_async import BiginClient
from bigin_async._coordination import Answer
from bigin_async.errors import BudgetExhaustedError
from bigin_async.hooks import BudgetLow
from bigin_async.integrations.redis import RedisCoordination
from bigin_async.integrations.redis.coordination import CoordinatedLimits
from bigin_async.integrations.redis.limits import RedisLimits
from tests.redis.test_limits import FAMILY, OK, ask, call, instances, tat
from tests.redis_servers import RedisServer, free_port

DAILY = {"x-ratelimit-limit": "5000", "x-ratelimit-reset": "3600"}


async def finish_with(limits: RedisLimits, answer: Answer, cost: int = 1) -> None:
    the_ask = ask(cost)
    async with limits.slot() as slot:
        assert await limits.pace(slot, the_ask)
        await limits.finish(slot, the_ask, answer)


async def test_the_limit_is_shared_and_a_refusal_sends_nothing(redis_url: str) -> None:
    async with instances(redis_url, 2, daily_limit=5, min_calls_remaining=1, requests_per_minute=600) as (
        one,
        two,
    ):
        for limits in (one, two, one, two):
            assert await call(limits) is not None
        assert one.budget.report().spent_24h == 3  # as of its own last call
        assert two.budget.report().spent_24h == 4 and two.budget.remaining() == 1
        assert two.budget.spent_total == 2 and two.budget.spent() == 4
        booked = await tat(one)
        with pytest.raises(BudgetExhaustedError) as refused:
            await call(one)
        assert refused.value.remaining == 1
        assert refused.value.resets_in is not None and 86_000 < refused.value.resets_in <= 86_400
        assert "every process" in str(refused.value) and "min_calls_remaining" in str(refused.value)
        assert await tat(one) == booked  # the send time it booked went back
        assert one.budget.remaining() == 1
        assert one.gate.in_flight == 0


async def test_min_calls_remaining_keeps_credits_and_costs_count(redis_url: str) -> None:
    async with instances(redis_url, 1, daily_limit=10, min_calls_remaining=4) as (limits,):
        await finish_with(limits, OK, cost=5)
        with pytest.raises(BudgetExhaustedError):
            await finish_with(limits, OK, cost=2)  # 5 - 2 = 3 < 4
        await finish_with(limits, OK, cost=1)
        assert limits.budget.report().remaining == 4


async def test_an_uncounted_call_gets_its_credits_back(redis_url: str) -> None:
    async with instances(redis_url, 2, daily_limit=100) as (one, two):
        await finish_with(one, Answer(uncounted=True, headers=None), cost=3)
        assert one.budget.report().spent_24h == 0 and one.budget.spent_total == 0
        await finish_with(two, OK, cost=2)
        assert two.budget.report().spent_24h == 2 and two.budget.remaining() == 98


async def test_zohos_count_is_adopted_for_every_instance_and_short_windows_are_not(redis_url: str) -> None:
    async with instances(redis_url, 2, daily_limit=1000) as (one, two):
        await finish_with(one, Answer(uncounted=False, headers={**DAILY, "x-ratelimit-remaining": "40"}))
        assert one.budget.remaining() == 40
        await finish_with(two, OK)
        assert two.budget.remaining() == 39  # the server's figure minus what was spent since
        # A per-minute set (a proxy's: limit under any daily allowance, or a reset within minutes).
        await finish_with(two, Answer(False, {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "2"}))
        await finish_with(two, Answer(False, {"x-ratelimit-remaining": "2", "x-ratelimit-reset": "30"}))
        assert two.budget.remaining() == 37
        # Garbage is ignored, never raised.
        await finish_with(two, Answer(False, {"x-ratelimit-remaining": "inf"}))
        assert two.budget.remaining() == 36


async def test_a_sync_keeps_charging_calls_still_in_flight(redis_url: str) -> None:
    async with instances(redis_url, 2) as (one, two):
        in_flight = ask(7)
        async with one.slot() as slot:
            assert await one.pace(slot, in_flight)
            # Meanwhile another instance's answer carries Zoho's count, which may not include it.
            await finish_with(two, Answer(False, {**DAILY, "x-ratelimit-remaining": "100"}))
            assert two.budget.remaining() == 93
            await one.finish(slot, in_flight, OK)
        assert one.budget.remaining() == 93


async def test_the_credits_in_flight_of_a_dead_process_stop_counting_as_such(redis_url: str) -> None:
    async with instances(redis_url, 1) as (limits,):
        # A process that died mid-call left its entry; its holder's lease time has passed.
        await limits.backend.call("ZADD", FAMILY.key("credits", "flight"), 1, "dead|50")
        await limits.backend.call("HSET", FAMILY.key("credits", "state"), "inflight", 50)
        await finish_with(limits, Answer(False, {**DAILY, "x-ratelimit-remaining": "100"}))
        assert limits.budget.remaining() == 100  # not 50: nothing of the dead call is still coming
        state = await limits.backend.call("HGET", FAMILY.key("credits", "state"), "inflight")
        assert int(state) == 0


async def test_zohos_count_ends_at_its_reset(redis_url: str) -> None:
    async with instances(redis_url, 1, daily_limit=1000) as (limits,):
        await finish_with(limits, Answer(False, {**DAILY, "x-ratelimit-remaining": "40"}))
        assert limits.budget.remaining() == 40
        # Its reset has come (as if an hour passed): the budget is back to its own count.
        await limits.backend.call("HSET", FAMILY.key("credits", "state"), "sreset", "1")
        await finish_with(limits, OK)
        assert limits.budget.remaining() == 998
        with pytest.raises(BudgetExhaustedError) as refused:
            await finish_with(limits, OK, cost=998)
        assert refused.value.resets_in is not None and refused.value.resets_in > 86_000


async def test_every_budget_key_expires_in_about_a_day(redis_url: str) -> None:
    async with instances(redis_url, 1, daily_limit=1000) as (limits,):
        await finish_with(limits, Answer(False, {**DAILY, "x-ratelimit-remaining": "40"}))
        names = await limits.backend.call("KEYS", FAMILY.tag.replace("{", "\\{").replace("}", "\\}") + "*")
        assert names
        for name in names:
            ttl = await limits.backend.call("PTTL", name)
            assert 0 < ttl <= 90_000_000, name


async def test_the_days_allowance_is_learned_from_zohos_daily_window_only(redis_url: str) -> None:
    async with instances(redis_url, 1) as (limits,):
        assert limits.budget.allowance is None
        await finish_with(limits, Answer(False, {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "2"}))
        await finish_with(
            limits, Answer(False, {**DAILY, "x-ratelimit-reset": "30", "x-ratelimit-remaining": "9"})
        )
        assert limits.budget.allowance is None
        await finish_with(limits, Answer(False, {**DAILY, "x-ratelimit-remaining": "40"}))
        assert limits.budget.allowance == 5000
    async with instances(redis_url, 1, daily_limit=300) as (limits,):
        await finish_with(limits, Answer(False, {**DAILY, "x-ratelimit-remaining": "40"}))
        assert limits.budget.allowance == 300  # the configured limit comes first


async def test_budget_low_reads_zohos_allowance_through_shared_limits(redis_url: str) -> None:
    low: list[BudgetLow] = []
    remaining = iter([600, 520, 450, 440])

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {**DAILY, "x-ratelimit-remaining": str(next(remaining))}
        return httpx.Response(200, json={"data": [{"id": "1"}]}, headers=headers)

    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(handler),
        coordination=RedisCoordination(redis_url),
        event_hooks={"budget_low": [low.append]},
    ) as bigin:
        for _ in range(4):
            await bigin.request("GET", "/Contacts/1")
        assert bigin.transport.limits.budget.allowance == 5000
    assert [(e.remaining, e.threshold, e.limit) for e in low] == [(450, 500, None)]


def _answering(
    headers: list[dict[str, str]], after: dict[int, Callable[[], object]] | None = None
) -> httpx.MockTransport:
    """Answers with these headers in turn; ``after[n]()`` runs once answer ``n`` (from 0) is made."""
    answered = iter(range(len(headers)))

    def handler(request: httpx.Request) -> httpx.Response:
        n = next(answered)
        if after and n in after:
            after[n]()
        return httpx.Response(200, json={"data": [{"id": "1"}]}, headers=headers[n])

    return httpx.MockTransport(handler)


async def test_budget_low_while_redis_is_down_measures_against_the_whole_daily_limit() -> None:
    """Review: with Redis down the local side's budget holds this process's share (30 // 3), and
    BudgetLow's threshold became a tenth of that share while the event said ``limit=30``."""
    low: list[BudgetLow] = []
    coordination = RedisCoordination(
        f"redis://127.0.0.1:{free_port()}/0", on_redis_down="local", expected_processes=3
    )
    async with BiginClient(
        access_token="t",
        transport=_answering([{}] * 9),
        daily_limit=30,
        min_calls_remaining=0,
        coordination=coordination,
        event_hooks={"budget_low": [low.append]},
    ) as bigin:
        for _ in range(9):
            await bigin.request("GET", "/Contacts/1")
    assert [(e.remaining, e.threshold, e.limit) for e in low] == [(3, 3, 30)]


async def test_zohos_allowance_seen_through_redis_still_counts_once_redis_is_down(
    fresh_redis_server: RedisServer,
) -> None:
    """Review: each side kept its own copy of X-RateLimit-Limit, so after a failover answers that
    carry only X-RateLimit-Remaining no longer gave BudgetLow."""
    low: list[BudgetLow] = []
    day = {**DAILY, "x-ratelimit-remaining": "600"}
    transport = _answering(
        [day, {**day, "x-ratelimit-remaining": "520"}]
        + [{"x-ratelimit-reset": "3600", "x-ratelimit-remaining": left} for left in ("450", "440")],
        after={1: fresh_redis_server.kill},
    )
    async with BiginClient(
        access_token="t",
        transport=transport,
        coordination=RedisCoordination(fresh_redis_server.url, on_redis_down="local"),
        event_hooks={"budget_low": [low.append]},
    ) as bigin:
        for _ in range(4):
            await bigin.request("GET", "/Contacts/1")
        limits = bigin.transport.limits
        assert isinstance(limits, CoordinatedLimits) and limits.in_use is limits.local  # it failed over
    assert [(e.remaining, e.threshold, e.limit) for e in low] == [(450, 500, None)]
