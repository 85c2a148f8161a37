"""``RedisLimits`` gate: one concurrency limit for every instance, first come first served across
them, slots of a dead holder (or waiter) coming back by themselves, and given back on cancel."""

from __future__ import annotations

import anyio

from bigin_async.integrations.redis import _scripts
from bigin_async.integrations.redis.limits import RedisLimits
from tests.redis.test_limits import BOUND, FAMILY, ask, instances, leased, until

LEASES, QUEUE = FAMILY.key("gate", "leases"), FAMILY.key("gate", "queue")
GATE_KEYS = [FAMILY.key("gate", part) for part in ("leases", "queue", "beats", "ticket")]


async def queued(limits: RedisLimits) -> int:
    count: int = await limits.backend.call("ZCARD", QUEUE)
    return count


async def leases(limits: RedisLimits) -> int:
    count: int = await limits.backend.call("ZCARD", LEASES)
    return count


async def test_three_instances_never_hold_more_than_the_limit_and_every_task_is_served(
    redis_url: str,
) -> None:
    holding = peak = 0
    served: dict[tuple[int, int], int] = {}
    # What each acquisition waited behind: how many others were served between its ask and its turn.
    granted = 0
    worst_rank = 0

    async def task(limits: RedisLimits, who: tuple[int, int]) -> None:
        nonlocal holding, peak, granted, worst_rank
        for _ in range(4):
            asked = granted
            async with leased(limits):
                worst_rank = max(worst_rank, granted - asked)
                granted += 1
                holding += 1
                peak = max(peak, holding)
                await anyio.sleep(0.005)  # the exchange, while the others queue
                holding -= 1
            served[who] = served.get(who, 0) + 1

    async with instances(redis_url, 3, max_concurrency=3, poll_interval=0.005) as everyone:
        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                for number, limits in enumerate(everyone):
                    for task_number in range(5):
                        group.start_soon(task, limits, (number, task_number))
        assert [limits.gate.in_flight for limits in everyone] == [0, 0, 0]
        assert all(limits.gate.peak <= 3 for limits in everyone)
        assert await leases(everyone[0]) == 0 and await queued(everyone[0]) == 0
    assert peak == 3
    assert served == {(n, t): 4 for n in range(3) for t in range(5)}
    # Nobody starves: at worst a task waits for each of the 14 others about once per round.
    assert worst_rank <= 2 * 14


async def test_waiters_of_several_instances_are_served_in_the_order_they_came(redis_url: str) -> None:
    async with instances(redis_url, 4, max_concurrency=1, poll_interval=0.005) as everyone:
        holder, *waiting = everyone
        order: list[int] = []

        async def wait_turn(number: int, limits: RedisLimits) -> None:
            async with leased(limits):
                order.append(number)

        held = leased(holder)
        with anyio.fail_after(BOUND):
            await held.__aenter__()
            async with anyio.create_task_group() as group:
                # Queued one after the other: 3, 1, 2 (each seen in Redis's queue before the next).
                for count, number in enumerate((3, 1, 2), start=1):
                    group.start_soon(wait_turn, number, waiting[number - 1])
                    await until(lambda c=count: _queued_is(holder, c), f"{count} queued")  # type: ignore[misc]
                await held.__aexit__(None, None, None)
    assert order == [3, 1, 2]


async def _queued_is(limits: RedisLimits, count: int) -> bool:
    return await queued(limits) == count


async def test_a_dead_holders_lease_expires_and_the_capacity_comes_back(redis_url: str) -> None:
    async with instances(redis_url, 2, max_concurrency=1, lease_seconds=0.4, poll_interval=0.01) as (
        dead,
        alive,
    ):
        # The holder takes the slot (a lease of 0.4 s) and never lets it go (its process is gone:
        # no release, no renewal).
        reply = await dead.backend.run(_scripts.ACQUIRE, GATE_KEYS, ["dead", 1, 400, 300, ""])
        assert int(reply[0]) == 1
        await dead.backend.aclose()
        assert await leases(alive) == 1
        with anyio.fail_after(BOUND):  # bounded: the lease runs out after 0.4 s
            async with leased(alive):
                assert await leases(alive) == 1
        assert await leases(alive) == 0


async def test_a_dead_waiter_leaves_the_queue_and_the_next_one_is_served(redis_url: str) -> None:
    async with instances(redis_url, 2, max_concurrency=1, poll_interval=0.01) as (one, two):
        async with leased(one):
            # A waiter of a process that died queues first, then stops polling for good.
            reply = await one.backend.run(_scripts.ACQUIRE, GATE_KEYS, ["ghost", 1, 30000, 300, ""])
            assert int(reply[0]) == 0 and await queued(one) == 1
        with anyio.fail_after(BOUND):  # served once the ghost's heartbeat ran out
            async with leased(two):
                assert await queued(two) == 0


async def test_a_waiter_cancelled_in_the_queue_leaves_it(redis_url: str) -> None:
    async with instances(redis_url, 2, max_concurrency=1, poll_interval=0.01) as (one, two):
        with anyio.fail_after(BOUND):
            async with leased(one):
                async with anyio.create_task_group() as group:
                    group.start_soon(_enter, two)
                    await until(lambda: _queued_is(one, 1), "the waiter queued")
                    group.cancel_scope.cancel()
                assert await queued(one) == 0 and await leases(one) == 1
                assert two.gate.in_flight == 0
            # The slot comes back at once for the next waiter, of either instance.
            async with leased(two):
                assert two.gate.in_flight == 1
        assert two.gate.in_flight == 0 and await leases(two) == 0


async def _enter(limits: RedisLimits) -> None:
    async with limits.slot() as slot:
        await limits.pace(slot, ask())
        raise AssertionError("never granted while the other holds the only slot")  # pragma: no cover


async def test_a_holder_cancelled_gives_its_slot_back(redis_url: str) -> None:
    async with instances(redis_url, 1, max_concurrency=1) as (limits,):
        with anyio.move_on_after(0.05):
            async with leased(limits):
                await anyio.sleep_forever()
        assert await leases(limits) == 0 and limits.gate.in_flight == 0


async def test_same_process_waiters_wait_locally_beyond_the_limit(redis_url: str) -> None:
    async with instances(redis_url, 1, max_concurrency=2, poll_interval=0.01) as (limits,):
        release = anyio.Event()
        entered = 0

        async def hold() -> None:
            nonlocal entered
            async with leased(limits):
                entered += 1
                await release.wait()

        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                for _ in range(5):
                    group.start_soon(hold)
                await until(lambda: entered == 2, "two in")
                # Only as many as the limit ask Redis; the rest wait in this process, in order.
                assert await queued(limits) == 0 and await leases(limits) == 2
                release.set()
        assert entered == 5 and limits.gate.peak == 2
