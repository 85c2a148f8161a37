"""The org's per-minute cap and concurrency cap held by 4 OS processes together.

Each process's client alone keeps the cap. Without coordination 4 of them send 4 times what
the org may (the negative control: the emulator refuses with 429s); with ``RedisCoordination``
the emulator's worst rolling window stays within the cap while the processes together still use
at least 90% of it, and 4 processes with 10 tasks each never have more than 10 requests at the
emulator at once, which is then never short of work (its peak is 10) and sends no 429.

The minute is shortened (``MINUTE`` seconds, on the emulator and in the coordination) so that
a run covers a few windows in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bigin_emulator.server.faults import ServerLimits
from tests.multiprocess.harness import run_workers, serve_emulator, worst_window
from tests.multiprocess.scenarios import (
    CAP,
    MINUTE,
    PROCESSES,
    assert_paced_within_the_cap,
    paced_import,
)
from tests.multiprocess.worker import CoordinationSpec

pytestmark = pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn serves the emulator


async def test_four_uncoordinated_processes_each_keeping_the_cap_alone_get_429s(tmp_path: Path) -> None:
    # Each client paces itself to the cap over the short minute (its own limiter counts 60 s
    # minutes: the cap scaled to them); alone it would never be refused.
    per_process = round(CAP * 60 / MINUTE)
    async with serve_emulator(limits=ServerLimits(per_minute=CAP, minute=MINUTE)) as served:
        specs = [
            served.worker(f"p{n}", backend="trio" if n == 0 else "asyncio", tasks=4, calls=3,
                          client={"requests_per_minute": per_process, "max_retries": 8})
            for n in range(PROCESSES)
        ]  # fmt: skip
        results = await run_workers(specs, tmp_path)
    counters = served.emulator.counters
    accepted = len(served.doorway.arrivals) - counters.rate_limited
    print(
        f"uncoordinated: {len(served.doorway.arrivals)} arrivals, {counters.rate_limited} refused (429), "
        f"worst window {counters.max_requests_in_rolling_minute} arrivals vs cap {CAP}; "
        f"elapsed {[round(r['elapsed'], 2) for r in results]}, errors {[r['errors'] for r in results]}"
    )
    assert counters.rate_limited > 0
    assert counters.rejected_by_limit == {"per_minute": counters.rate_limited}
    assert sum(r["responses_429"] for r in results) == counters.rate_limited  # the clients saw each one
    assert counters.max_requests_in_rolling_minute > CAP  # arrivals: the refused ones count too
    assert worst_window(served.doorway.arrivals, MINUTE) == counters.max_requests_in_rolling_minute
    assert accepted >= CAP  # the server let a full window through before refusing


async def test_four_processes_sharing_the_cap_through_redis_stay_within_it_and_use_nine_tenths_of_it(
    tmp_path: Path, redis_url: str
) -> None:
    run = await paced_import(tmp_path, CoordinationSpec(redis_url))
    assert_paced_within_the_cap(run)


async def test_two_processes_whose_clocks_are_five_seconds_apart_still_keep_the_window(
    tmp_path: Path, redis_url: str
) -> None:
    run = await paced_import(
        tmp_path, CoordinationSpec(redis_url), backends=("asyncio",) * 2, skews=(0.0, 5.0)
    )
    assert_paced_within_the_cap(run)


async def test_four_processes_of_ten_tasks_share_ten_slots_the_server_is_never_short_of_work_or_over(
    tmp_path: Path, redis_url: str
) -> None:
    limits = ServerLimits(max_concurrency=10, latency=0.05)
    async with serve_emulator(limits=limits) as served:
        specs = [
            served.worker(f"c{n}", backend="trio" if n == 0 else "asyncio", tasks=10, calls=4,
                          client={"max_concurrency": 10}, coordination=CoordinationSpec(redis_url))
            for n in range(PROCESSES)
        ]  # fmt: skip
        results = await run_workers(specs, tmp_path)
    counters = served.emulator.counters
    print(
        f"concurrency: server peak {counters.peak_concurrency}, 429s {counters.rate_limited}, "
        f"peaks per process {[r['peak'] for r in results]}, "
        f"elapsed {[round(r['elapsed'], 2) for r in results]}"
    )
    assert [(r["calls"], r["errors"]) for r in results] == [(40, {})] * PROCESSES
    assert counters.rate_limited == 0
    assert counters.rejected_by_limit == {}
    assert counters.peak_concurrency == 10
    assert all(r["peak"] <= 10 for r in results)
