"""``RedisLimits``' cost in Redis: an uncontended call makes two round trips (its first pace takes
the slot and books the send in one script; its finish releases it), a busy gate still serves its
waiters first come first served across instances, never more than the limit at once, and a key's
time to live is set again only when the key is new or its time runs low."""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import pytest

from bigin_async.integrations.redis._backend import RedisBackend
from bigin_async.integrations.redis.limits import RedisLimits
from tests.redis.test_limits import BOUND, FAMILY, OK, ask, call, instances, leased, until

LEASES, QUEUE = FAMILY.key("gate", "leases"), FAMILY.key("gate", "queue")


def count_round_trips(monkeypatch: pytest.MonkeyPatch, backend: RedisBackend) -> Counter[str]:
    """Every script and command ``backend`` sends from now on, by name (one round trip each)."""
    sent: Counter[str] = Counter()
    run, command = backend.run, backend.call

    async def counted_run(script: Any, keys: Any, args: Any) -> Any:
        sent[script.name] += 1
        return await run(script, keys, args)

    async def counted_call(*words: Any) -> Any:
        sent[str(words[0])] += 1
        return await command(*words)

    monkeypatch.setattr(backend, "run", counted_run)
    monkeypatch.setattr(backend, "call", counted_call)
    return sent


async def test_an_uncontended_call_costs_two_round_trips(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with instances(redis_url, 1, requests_per_minute=600_000, daily_limit=1000) as (limits,):
        sent = count_round_trips(monkeypatch, limits.backend)
        for number in range(3):  # the first call of a family and the ones after it alike
            sent.clear()
            the_ask = ask()
            async with limits.slot() as slot:
                assert sent == {} and limits.gate.in_flight == 0  # entering asks nothing of Redis
                assert await limits.pace(slot, the_ask)
                assert limits.gate.in_flight == 1 and limits.gate.peak == 1
                assert sent == {"gate acquire and pace": 1}
                await limits.finish(slot, the_ask, OK)
                assert limits.gate.in_flight == 0
            assert sent == {"gate acquire and pace": 1, "finish": 1}, number
        assert limits.budget.spent() == 3 and limits.budget.remaining() == 997
    async with instances(redis_url, 1) as (limits,):
        assert await limits.backend.call("ZCARD", LEASES) == 0


async def test_a_busy_gate_serves_waiters_in_order_across_instances_never_past_the_limit(
    redis_url: str,
) -> None:
    async with instances(redis_url, 4, max_concurrency=2, poll_interval=0.005) as everyone:
        holder, *others = everyone
        order: list[int] = []
        holding = peak = 0
        done = {number: anyio.Event() for number in (1, 2, 3)}

        async def wait_turn(number: int, limits: RedisLimits) -> None:
            nonlocal holding, peak
            async with leased(limits):
                holding += 1
                peak = max(peak, holding)
                order.append(number)
                assert await limits.backend.call("ZCARD", LEASES) <= 2
                await done[number].wait()
                holding -= 1

        first, second = leased(holder), leased(holder)
        with anyio.fail_after(BOUND):
            await first.__aenter__()
            await second.__aenter__()
            holding = 2
            async with anyio.create_task_group() as group:
                # Queued one after the other: 3, 1, 2 (each seen in Redis's queue before the next).
                for count, number in enumerate((3, 1, 2), start=1):
                    group.start_soon(wait_turn, number, others[number - 1])
                    await until(lambda c=count: _queued_is(holder, c), f"{count} queued")  # type: ignore[misc]
                assert order == [] and [limits.gate.in_flight for limits in others] == [0, 0, 0]
                holding -= 1
                await first.__aexit__(None, None, None)
                await until(lambda: order == [3], "the first in the queue served")
                holding -= 1
                await second.__aexit__(None, None, None)
                await until(lambda: order == [3, 1], "the second served")
                assert await _queued_is(holder, 1) and others[1].gate.in_flight == 0
                done[3].set()
                await until(lambda: order == [3, 1, 2], "the third served")
                done[1].set()
                done[2].set()
        assert peak == 2
        assert [limits.gate.in_flight for limits in everyone] == [0, 0, 0, 0]
        assert [limits.gate.peak for limits in everyone] == [2, 1, 1, 1]
        assert await holder.backend.call("ZCARD", LEASES) == 0
        assert await holder.backend.call("ZCARD", QUEUE) == 0


async def _queued_is(limits: RedisLimits, count: int) -> bool:
    return bool(await limits.backend.call("ZCARD", QUEUE) == count)


async def _pexpires(backend: RedisBackend) -> int:
    stats: dict[str, dict[str, Any]] = await backend.call("INFO", "commandstats")
    return int(stats.get("cmdstat_pexpire", {}).get("calls", 0))


async def _family_ttls(backend: RedisBackend) -> dict[str, int]:
    keys: list[str] = await backend.call("KEYS", f"{FAMILY.tag}*")
    return {key: int(await backend.call("PTTL", key)) for key in keys}


async def test_a_keys_time_to_live_is_set_again_only_when_it_is_new_or_runs_low(redis_url: str) -> None:
    day = 86_400_000
    async with instances(redis_url, 1, requests_per_minute=100, daily_limit=1000) as (limits,):
        backend = limits.backend
        assert await call(limits) is not None
        ttls = await _family_ttls(backend)
        assert len(ttls) >= 5 and all(ttl > 0 for ttl in ttls.values()), ttls
        await backend.call("CONFIG", "RESETSTAT")
        assert await call(limits) is not None
        # Only the keys the last call emptied (and so Redis deleted) are new: its lease, its
        # credits in flight and its booking (planned while it waited 0.6 s for its send time).
        # Every other key still had most of its time to live.
        assert await _pexpires(backend) == 3
        ttls = await _family_ttls(backend)
        assert all(ttl > 0 for ttl in ttls.values()), ttls
        # A key whose time runs low gets it back at the next write.
        state = FAMILY.key("credits", "state")
        await backend.call("PEXPIRE", state, 5_000)
        assert await call(limits) is not None
        assert int(await backend.call("PTTL", state)) > day
