"""A waiter that lost its place in the shared gate's queue when Redis restarted is not starved.

A waiter that stops being seen (its heartbeat ran out) keeps its ticket when it asks again, so a
slow poll does not cost it its turn. But a Redis that restarted counts tickets from 1 again: a
ticket from before would rank that waiter behind every caller until the count passed it.
"""

from __future__ import annotations

from typing import Any

from bigin_async._config import build_settings
from bigin_async.integrations.redis import RedisLimits, _scripts
from bigin_async.integrations.redis._backend import RedisBackend
from bigin_async.integrations.redis._keys import KeyFamily
from tests.redis_servers import RedisServer


async def acquire(backend: RedisBackend, limits: RedisLimits, waiter: str, ticket: str = "") -> list[Any]:
    keys = limits._gate_keys[:3] + [limits.family.key("gate", "ticket")]
    reply: list[Any] = await backend.run(_scripts.ACQUIRE, keys, [waiter, 1, 60_000, 60_000, ticket])
    return reply


async def test_a_ticket_from_before_a_restart_is_replaced_not_ranked_behind_every_later_caller(
    redis_server: RedisServer,
) -> None:
    backend = RedisBackend.from_url(redis_server.url)
    family = KeyFamily("restart", "default", "us")
    limits = RedisLimits(backend, family, build_settings(max_concurrency=1))
    try:
        redis_server.flushall()
        counter = family.key("gate", "ticket")
        await backend.call("SET", counter, 1000)
        assert (await acquire(backend, limits, "holder"))[0] == 1  # the one slot, held all along
        queued = await acquire(backend, limits, "w")
        assert queued[:2] == [0, "1001"]
        redis_server.flushall()  # Redis restarted: the queue and the count are gone
        await backend.call("ZADD", limits._gate_keys[0], 2**50, "holder")  # the holder renews
        for number in range(3):
            await acquire(backend, limits, f"new{number}")
        again = await acquire(backend, limits, "w", ticket=str(queued[1]))
        later = await acquire(backend, limits, "later")
        assert again[0] == 0 and later[0] == 0
        assert int(again[2]) < int(later[2]), (again, later)  # ahead of whoever came after it
    finally:
        await backend.aclose()
