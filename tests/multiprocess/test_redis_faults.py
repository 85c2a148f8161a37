"""Processes and Redis failing under the shared limits: a process killed holding slots, Redis
restarted mid-run, Redis unreachable from the start.

What is promised (``RedisCoordination``'s documentation): a SIGKILLed process's slots come back
when their leases run out; with ``on_redis_down="fail"`` a call that cannot reach Redis raises
``CoordinationError`` naming the URL, before anything is sent; with ``"local"`` each process goes on
with its share of the limits and goes back to Redis when it answers. Never a hang: every worker
ends (the harness's hang guard would fail the test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from bigin_emulator.server.faults import ServerLimits
from tests.multiprocess.harness import hang_guard, run_workers, serve_emulator, start_workers
from tests.multiprocess.worker import CoordinationSpec
from tests.redis_servers import RedisServer, free_port

pytestmark = pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn serves the emulator


async def test_a_process_killed_while_holding_every_slot_costs_no_capacity_after_the_lease_time(
    tmp_path: Path, redis_url: str
) -> None:
    coordination = CoordinationSpec(redis_url, lease_seconds=2.0)
    client = {"max_concurrency": 10}
    async with serve_emulator(limits=ServerLimits(max_concurrency=10, latency=0.05)) as served:
        holder = served.worker("holder", mode="hold", tasks=10, client=client, coordination=coordination)
        async with start_workers([holder], tmp_path / "holder") as workers:
            await workers[0].go()
            async with hang_guard(workers):
                held = await workers[0].expect("held")
            workers[0].process.kill()
            await workers[0].process.wait()
        after = [
            served.worker(
                f"after{n}", backend=backend, tasks=10, calls=3, client=client, coordination=coordination
            )
            for n, backend in enumerate(("asyncio", "trio"))
        ]
        results = await run_workers(after, tmp_path / "after")
    counters = served.emulator.counters
    print(f"after the kill: server peak {counters.peak_concurrency}, peaks {[r['peak'] for r in results]}")
    assert held["slots"] == 10
    assert [(r["calls"], r["errors"]) for r in results] == [(30, {}), (30, {})]
    assert counters.peak_concurrency == 10  # all ten slots are back
    assert counters.rate_limited == 0


def _summary(results: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{r['tag']} ({r['backend']}): {r['calls']} ok, errors {r['errors']}, last ok #{r['last_ok']}, "
        f"last error #{r['last_error']}"
        for r in results
    )


@pytest.mark.parametrize("on_redis_down", ["fail", "local"])
async def test_redis_restarted_mid_run_fails_calls_or_falls_back_as_told_and_the_processes_come_back(
    tmp_path: Path, fresh_redis_server: RedisServer, on_redis_down: str
) -> None:
    coordination = CoordinationSpec(
        fresh_redis_server.url,
        on_redis_down=on_redis_down,
        expected_processes=2,
        socket_timeout=1.0,
        retry_redis_after=0.5,
    )
    tasks, calls = 4, 30
    async with serve_emulator(limits=ServerLimits(latency=0.02)) as served:
        specs = [
            served.worker(f"r{n}", backend=backend, tasks=tasks, calls=calls, client={"max_concurrency": 4},
                          coordination=coordination, until_ok=True)
            for n, backend in enumerate(("asyncio", "trio"))
        ]  # fmt: skip
        async with start_workers(specs, tmp_path) as workers:
            mid_run = served.doorway.after_arrivals(40)
            for worker in workers:
                await worker.go()
            async with hang_guard(workers):
                await mid_run.wait()
                await anyio.to_thread.run_sync(fresh_redis_server.restart)  # the emulator keeps serving
                results = [await worker.result() for worker in workers]
    print(f"restart ({on_redis_down}): {_summary(results)}")
    for result in results:
        assert result["calls"] == tasks * calls, (result["tag"], result["messages"])  # it came back
        if on_redis_down == "fail":
            assert set(result["errors"]) <= {"CoordinationError"}, result["messages"]
        else:
            assert result["errors"] == {}, result["messages"]
        assert result["last_ok"] > result["last_error"]  # its last calls went through: Redis is used again


async def test_redis_unreachable_from_the_start_fails_every_call_at_once_and_sends_nothing(
    tmp_path: Path,
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    coordination = CoordinationSpec(url, socket_timeout=1.0)
    async with serve_emulator() as served:
        specs = [served.worker(f"u{n}", backend=b, tasks=3, calls=2, coordination=coordination)
                 for n, b in enumerate(("asyncio", "trio"))]  # fmt: skip
        results = await run_workers(specs, tmp_path)
    print(f"unreachable (fail): {_summary(results)}; {results[0]['messages'][:1]}")
    assert [(r["calls"], r["errors"]) for r in results] == [(0, {"CoordinationError": 6})] * 2
    assert all(url in message for r in results for message in r["messages"])
    assert [r["token_requests"] for r in results] == [0, 0]  # no refresh while Redis cannot share it
    assert served.emulator.counters.requests_total == 0 and served.doorway.token_requests == 0


async def test_redis_unreachable_from_the_start_in_local_mode_each_process_keeps_its_share(
    tmp_path: Path,
) -> None:
    coordination = CoordinationSpec(
        f"redis://127.0.0.1:{free_port()}/0", on_redis_down="local", expected_processes=2, socket_timeout=1.0
    )
    async with serve_emulator(limits=ServerLimits(max_concurrency=10, latency=0.05)) as served:
        specs = [
            served.worker(f"l{n}", backend=b, tasks=10, calls=3, client={"max_concurrency": 10},
                          coordination=coordination)
            for n, b in enumerate(("asyncio", "trio"))
        ]  # fmt: skip
        results = await run_workers(specs, tmp_path)
    counters = served.emulator.counters
    print(f"unreachable (local): {_summary(results)}; server peak {counters.peak_concurrency}")
    assert [(r["calls"], r["errors"]) for r in results] == [(30, {}), (30, {})]
    assert all(r["peak"] <= 5 for r in results)  # half of the 10 slots each
    assert counters.peak_concurrency <= 10
    assert counters.rate_limited == 0
