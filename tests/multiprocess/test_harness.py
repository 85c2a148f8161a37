"""The harness itself: its window and rate arithmetic, a worker's round trip, the Doorway's faults."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bigin_emulator.server.counters import ServerCounters
from tests.multiprocess.harness import (
    combined_rate,
    hang_guard,
    run_workers,
    serve_emulator,
    start_workers,
    worst_window,
)
from tests.multiprocess.worker import WorkerSpec

asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn serves the emulator


@given(
    st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), max_size=40), st.sampled_from([1.0, 4.0])
)
def test_worst_window_is_the_servers_own_figure(offsets: list[float], minute: float) -> None:
    counters = ServerCounters(minute=minute)
    for t in sorted(offsets):
        counters.request_started("GET /x", t)
    assert worst_window(offsets, minute) == counters.max_requests_in_rolling_minute


def test_combined_rate_is_one_for_a_call_every_minute_over_cap() -> None:
    assert combined_rate([i * 0.5 for i in range(21)], minute=5.0, cap=10) == pytest.approx(1.0)
    assert combined_rate([0.0, 1.0], minute=4.0, cap=8) == pytest.approx(0.5)
    assert combined_rate([3.0], minute=4.0, cap=8) == 0.0


def test_a_spec_goes_to_json_and_back() -> None:
    from tests.multiprocess.worker import CoordinationSpec

    spec = WorkerSpec(
        "http://127.0.0.1:1", "i", "s", "r", coordination=CoordinationSpec("redis://x", minute=4.0)
    )
    assert WorkerSpec.from_json(spec.to_json()) == spec
    assert WorkerSpec.from_json(WorkerSpec("u", "i", "s", "r").to_json()).coordination is None


@asyncio_only
async def test_workers_on_both_backends_call_the_served_emulator_and_report(tmp_path: Path) -> None:
    async with serve_emulator() as served:
        specs = [
            served.worker("a", backend="asyncio", tasks=3, calls=4),
            served.worker("b", backend="trio", tasks=2, calls=5),
        ]
        results = await run_workers(specs, tmp_path)
    counters = served.emulator.counters
    assert [(r["tag"], r["backend"], r["calls"], r["errors"]) for r in results] == [
        ("a", "asyncio", 12, {}),
        ("b", "trio", 10, {}),
    ]
    assert [r["token_requests"] for r in results] == [1, 1]  # each its own token: nothing is shared
    assert counters.refreshes == 2 and served.doorway.token_requests == 2
    assert counters.requests_by_route == {"GET /bigin/v2/org": 22}
    assert len(served.doorway.arrivals) == 22
    assert all(r["responses_429"] == 0 for r in results)


@asyncio_only
async def test_an_import_worker_creates_its_records_and_a_failing_token_endpoint_fails_its_calls(
    tmp_path: Path,
) -> None:
    async with serve_emulator() as served:
        imported = await run_workers([served.worker("i", mode="import", tasks=2, records=25)], tmp_path / "i")
        served.doorway.token_failure = 400
        failed = await run_workers([served.worker("f", tasks=1, calls=2)], tmp_path / "f")
    assert imported[0]["calls"] == 50 and imported[0]["errors"] == {}
    assert len(served.emulator.store.table("Contacts")) == 50
    assert served.emulator.counters.requests_by_route["POST /bigin/v2/Contacts"] == 6  # 10 a call
    assert failed[0]["calls"] == 0 and sum(failed[0]["errors"].values()) == 2
    assert failed[0]["token_requests"] >= 1


@asyncio_only
async def test_workers_that_hang_fail_the_run_with_their_stacks(tmp_path: Path) -> None:
    async with serve_emulator() as served:
        served.doorway.token_hold = hold = anyio.Event()  # the token does not come
        specs = [
            served.worker(f"stuck-{backend}", backend=backend, announce_waiting=True)
            for backend in ("asyncio", "trio")
        ]
        async with start_workers(specs, tmp_path) as workers:
            for worker in workers:
                await worker.go()
            for worker in workers:
                await worker.expect("waiting")
            with pytest.raises(AssertionError) as failed:
                async with hang_guard(workers, seconds=0.5):
                    for worker in workers:
                        await worker.result()
        hold.set()
    report = str(failed.value)
    asyncio_part, _, trio_part = report.partition("--- stuck-trio ---")
    assert "workers still running after 0.5 s: ['stuck-asyncio', 'stuck-trio']" in report
    assert "get_token" in asyncio_part  # the asyncio worker's task stacks
    assert "trio task" in trio_part and "get_token" in trio_part
