"""Bulk Write jobs on the emulator, over plain httpx: the job registry, create, status, result zips."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from bigin_emulator import BiginEmulator
from bigin_emulator.state.jobs import COMPLETED, FAILED, IN_PROGRESS, JobFailed, JobRegistry
from tests.helpers.clock import FakeClock

# -- the job registry (shared by read and write jobs) ------------------------------------------


def _registry(clock: FakeClock, **kwargs: Any) -> tuple[JobRegistry, list[Any]]:
    sent: list[Any] = []
    counter = iter(range(1, 1000))
    registry = JobRegistry(clock, lambda: str(next(counter)), str, sink=sent.append, **kwargs)
    return registry, sent


def test_a_job_moves_through_its_states_by_the_clock_and_works_once() -> None:
    clock = FakeClock()
    registry, sent = _registry(clock, queue_delay=10.0, seconds_per_1000=2.0)
    done: list[int] = []

    def work() -> str:
        done.append(1)
        return "rows"

    job = registry.create("write", "insert", records=5000, work=work, callback={"url": "http://x/cb"})
    assert registry.get(job.id, kind="write") is job and job.state == "ADDED"
    assert registry.get(job.id, kind="read") is None and registry.get("nope") is None
    clock.advance(10.0)
    assert registry.get(job.id) is job and job.state == IN_PROGRESS and not done
    assert registry.advance_all() == pytest.approx(10.0)
    clock.advance(9.9)
    assert registry.get(job.id) is job and job.state == IN_PROGRESS
    clock.advance(0.1)
    for _ in range(3):
        assert registry.get(job.id) is job
    assert job.state == COMPLETED and job.result == "rows" and done == [1]
    assert registry.pending == 0 and registry.advance_all() is None
    assert [d.payload for d in sent] == [{"job_id": job.id, "operation": "insert", "state": COMPLETED}]
    assert sent[0].url == "http://x/cb"


def test_instant_jobs_are_over_at_the_first_look() -> None:
    registry, sent = _registry(FakeClock())
    job = registry.create("read", "read", records=10**6, work=lambda: 1, event={"query": {"module": "X"}})
    assert job.state == "ADDED"  # the creation answer says ADDED
    assert registry.get(job.id) is job and job.state == COMPLETED and not sent  # no callback asked for


def test_a_job_whose_work_fails_ends_failed_and_a_callback_says_so() -> None:
    registry, sent = _registry(FakeClock())

    def broken() -> None:
        raise JobFailed("the file is gone")

    job = registry.create("write", "update", records=1, work=broken, callback={"url": "http://x"})
    assert registry.get(job.id) is job and job.state == FAILED and job.error == "the file is gone"
    assert sent[0].payload["state"] == FAILED


def test_a_bug_in_the_work_fails_the_job_and_is_raised() -> None:
    registry, _ = _registry(FakeClock())
    job = registry.create("write", "insert", records=1, work=lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        registry.get(job.id)
    assert job.state == FAILED and registry.get(job.id) is job


def test_doomed_jobs_and_dropped_callbacks() -> None:
    registry, sent = _registry(FakeClock())
    registry.fail_next(1)
    registry.drop_next_callbacks(1)
    worked: list[int] = []
    first = registry.create(
        "write", "insert", records=1, work=lambda: worked.append(1), callback={"url": "u"}
    )
    second = registry.create(
        "write", "insert", records=1, work=lambda: worked.append(2), callback={"url": "u"}
    )
    registry.advance_all()
    assert (first.state, second.state, worked) == (FAILED, COMPLETED, [2])
    assert registry.callbacks_dropped == 1 and [d.payload["job_id"] for d in sent] == [second.id]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), True, "1"])
def test_durations_are_checked(bad: Any) -> None:
    with pytest.raises(ValueError, match="job_queue_delay"):
        BiginEmulator(job_queue_delay=bad)
    with pytest.raises(ValueError, match="job_seconds_per_1000"):
        BiginEmulator(job_seconds_per_1000=bad)


async def test_wait_advances_the_job_itself() -> None:
    clock = FakeClock()
    registry, _ = _registry(clock, queue_delay=5.0)
    job = registry.create("write", "insert", records=1, work=lambda: "ok")
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(registry.wait, job.id)
        await anyio.lowlevel.checkpoint()
        clock.advance(5.0)
    assert job.state == COMPLETED


async def test_the_runner_ends_jobs_and_sends_callbacks_with_nobody_polling() -> None:
    clock = FakeClock()
    emulator = BiginEmulator(clock=clock, job_queue_delay=30.0)
    arrived = anyio.Event()
    bodies: list[Any] = []

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        arrived.set()

    emulator.register_webhook_app("http://hooks.test/", receiver)
    async with emulator.notifier.running():
        job = emulator.jobs.create(
            "write", "insert", records=3, work=lambda: "ok", callback={"url": "http://hooks.test/bulk"}
        )
        await anyio.lowlevel.checkpoint()
        clock.advance(30.0)
        with anyio.fail_after(10):
            await arrived.wait()
        await emulator.notifier.drain()
    assert job.state == COMPLETED and b'"state":"COMPLETED"' in bodies[0].replace(b" ", b"")
