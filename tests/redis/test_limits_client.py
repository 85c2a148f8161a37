"""``RedisLimits`` under real clients: two ``BiginClient`` (as two processes, each its own Redis
connection) against one emulator share one gate and one count of credits."""

from __future__ import annotations

import anyio

from bigin_async import BiginClient, MemoryTokenStore
from bigin_async._config import Settings
from bigin_async._coordination import Coordination, Limits
from bigin_async.auth import TokenStore
from bigin_async.integrations.redis._backend import RedisBackend
from bigin_async.integrations.redis._keys import KeyFamily, datacenter_of
from bigin_async.integrations.redis.limits import RedisLimits
from bigin_emulator.emulator import BiginEmulator
from tests.redis.test_limits import BOUND


class SharedThroughRedis:
    """The least a coordination needs: RedisLimits on a backend of its own, the token in memory."""

    def __init__(self, url: str) -> None:
        self.backend = RedisBackend.from_url(url)
        self.made: list[RedisLimits] = []

    def limits(self, settings: Settings) -> Limits:
        limits = RedisLimits(self.backend, KeyFamily("bigin", "e2e", datacenter_of(settings)), settings)
        self.made.append(limits)
        return limits

    def token_store(self) -> TokenStore:
        return MemoryTokenStore()

    def describe(self) -> str:
        return self.backend.url


async def test_two_clients_share_one_gate_and_one_count_of_credits(redis_url: str) -> None:
    emulator = BiginEmulator()
    sharing = [SharedThroughRedis(redis_url) for _ in range(2)]
    assert all(isinstance(coordination, Coordination) for coordination in sharing)
    clients: list[BiginClient] = [
        emulator.client(coordination=coordination, max_concurrency=2, daily_limit=500)
        for coordination in sharing
    ]
    answers: list[object] = []

    async def calls(bigin: BiginClient) -> None:
        for _ in range(6):
            answers.append(await bigin.request("GET", "/org"))

    try:
        with anyio.fail_after(BOUND):
            async with clients[0], clients[1], anyio.create_task_group() as group:
                for bigin in clients:
                    for _ in range(3):
                        group.start_soon(calls, bigin)
            # One more call, so each client's figures are as of the end: every credit of both.
            async with emulator.client(coordination=sharing[0], daily_limit=500) as last:
                await last.request("GET", "/org")
                report = last.credits
    finally:
        for coordination in sharing:
            await coordination.backend.aclose()
    assert len(answers) == 36 and all(isinstance(answer, dict) for answer in answers)
    assert emulator.counters.requests_total == 37
    assert emulator.counters.peak_concurrency <= 2  # the two clients' gate is one gate
    assert emulator.counters.rate_limited == 0
    assert report.spent_24h == emulator.counters.credits == 37
    assert report.spent_total == 1 and report.remaining == 500 - 37
    assert sum(limits.budget.spent_total for c in sharing for limits in c.made) == 37
