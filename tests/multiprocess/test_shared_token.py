"""One access token for 4 OS processes through Redis: one refresh for all, one failed attempt per outage.

Zoho blocks a refresh token refreshed more than 10 times in 10 minutes, whichever process sends
the refreshes: N processes each refreshing on their own would get there N times faster. With
``RedisCoordination`` the token and the refresh lock are shared: the emulator's OAuth endpoint
sees one refresh for 4 processes x 10 tasks, and when that endpoint fails, the processes that
waited for the failed refresh take its failure instead of each sending their own.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from tests.multiprocess.harness import hang_guard, serve_emulator, start_workers
from tests.multiprocess.scenarios import PROCESSES, assert_one_refresh, stale_token_run
from tests.multiprocess.worker import CoordinationSpec

pytestmark = pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn serves the emulator


async def test_four_processes_of_ten_tasks_with_a_stale_token_refresh_it_once(
    tmp_path: Path, redis_url: str
) -> None:
    run = await stale_token_run(tmp_path, CoordinationSpec(redis_url))
    assert_one_refresh(run)


async def test_a_failing_token_endpoint_gets_one_attempt_per_outage_from_all_processes(
    tmp_path: Path, redis_url: str
) -> None:
    # Two tasks a process: all 8 hold one of the 10 shared slots, so all wait for the token at once.
    async with serve_emulator() as served:
        served.doorway.token_failure = 503
        served.doorway.token_hold = hold = anyio.Event()
        specs = [
            served.worker(f"f{n}", backend="trio" if n == 0 else "asyncio", tasks=2, calls=1,
                          coordination=CoordinationSpec(redis_url), announce_waiting=True)
            for n in range(PROCESSES)
        ]  # fmt: skip
        async with start_workers(specs, tmp_path) as workers:
            for worker in workers:
                await worker.go()
            async with hang_guard(workers):
                for worker in workers:
                    await worker.expect("waiting")
                hold.set()  # every process waits for the refresh: now the endpoint answers, failing
                results = [await worker.result() for worker in workers]
    senders = [r["tag"] for r in results if r["token_requests"] > 0]
    print(f"failing endpoint: {served.doorway.token_requests} token request(s), sent by {senders}; "
          f"errors {[r['errors'] for r in results]}")  # fmt: skip
    assert len(senders) == 1, results
    assert served.doorway.token_requests == sum(r["token_requests"] for r in results)
    assert served.emulator.counters.refreshes == 0
    assert all(r["calls"] == 0 for r in results)
    errors = {name for r in results for name in r["errors"]}
    assert len(errors) == 1, errors  # the same failure everywhere: the other processes took the sender's
    assert sum(sum(r["errors"].values()) for r in results) == 2 * PROCESSES
