"""Serve one emulator to several OS processes, start worker processes against it, read what it saw.

The emulator runs in the test's own process (uvicorn on a free 127.0.0.1 port, so the test's
event loop is asyncio), behind :class:`Doorway`, an ASGI layer that notes the time of every API
request's arrival (for the worst rolling window and the combined rate, computed here exactly), the
token requests, and can make the OAuth token endpoint fail or hold its answer. Its counters
(``emulator.counters``) are read by the test directly afterwards.

Workers (``tests/multiprocess/worker.py``) are separate Python processes; :func:`run_workers`
starts them, waits until each has built its client, starts them all at once, and returns their
results. A hang guard (``HANG_GUARD`` seconds) kills them and fails the test: a bound, never a
timed assertion.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from bisect import bisect_left
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from bigin_emulator.emulator import BiginEmulator
from bigin_emulator.server.middleware import ASGIApp, Receive, Scope, Send, send_json
from bigin_emulator.server.serving import serve
from tests.multiprocess.worker import TOKEN_PATH, WorkerSpec

__all__ = [
    "HANG_GUARD",
    "Doorway",
    "ServedEmulator",
    "Worker",
    "combined_rate",
    "hang_guard",
    "run_workers",
    "serve_emulator",
    "start_workers",
    "worst_window",
]

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD = 90.0  # seconds a whole group of workers may take before it counts as hung
_LINE_LIMIT = 1 << 20


def worst_window(arrivals: Sequence[float], minute: float) -> int:
    """The most arrivals inside any window of ``minute`` seconds (half-open, as the server counts)."""
    times = sorted(arrivals)
    return max((bisect_left(times, t + minute) - i for i, t in enumerate(times)), default=0)


def combined_rate(arrivals: Sequence[float], minute: float, cap: int) -> float:
    """Arrivals per ``minute`` from the first to the last, as a fraction of ``cap``.

    The first arrival opens the run and each later one took an interval of it, so a limiter
    that sends one call every ``minute / cap`` seconds scores exactly 1.0.
    """
    times = sorted(arrivals)
    if len(times) < 2 or times[-1] <= times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0]) * minute / cap


@dataclass
class Doorway:
    """The ASGI layer in front of the emulator: arrival times, token requests, a failing OAuth."""

    app: ASGIApp
    arrivals: list[float] = field(default_factory=list)
    token_requests: int = 0
    #: When set, the token endpoint answers this status (``{"error": ...}``) instead of the emulator.
    token_failure: int | None = None
    #: When set, token requests wait for this event before they are answered.
    token_hold: anyio.Event | None = None
    _watch: tuple[int, anyio.Event] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = str(scope["path"])
            if path.startswith("/bigin/"):
                self.arrivals.append(time.monotonic())
                if self._watch is not None and len(self.arrivals) >= self._watch[0]:
                    self._watch[1].set()
            elif path == TOKEN_PATH:
                self.token_requests += 1
                if self.token_hold is not None:
                    await self.token_hold.wait()
                if self.token_failure is not None:
                    body = json.dumps({"error": "emulated outage of the token endpoint"}).encode()
                    await send_json(send, self.token_failure, body)
                    return
        await self.app(scope, receive, send)

    def after_arrivals(self, count: int) -> anyio.Event:
        """An event set once ``count`` API requests have arrived in all."""
        event = anyio.Event()
        self._watch = (count, event)
        if len(self.arrivals) >= count:
            event.set()
        return event


@dataclass
class ServedEmulator:
    """An emulator served on a loopback port, and the door its requests come through."""

    emulator: BiginEmulator
    doorway: Doorway
    url: str

    def worker(self, tag: str, **options: Any) -> WorkerSpec:
        """A worker's spec against this emulator (refresh-token mode, the emulator's credentials)."""
        return WorkerSpec(
            url=self.url,
            client_id=self.emulator.client_id,
            client_secret=self.emulator.client_secret,
            refresh_token=self.emulator.refresh_token,
            tag=tag,
            **options,
        )


@asynccontextmanager
async def serve_emulator(**emulator_options: Any) -> AsyncIterator[ServedEmulator]:
    """A ``BiginEmulator(**emulator_options)`` on a free 127.0.0.1 port (asyncio only: uvicorn)."""
    emulator = BiginEmulator(**emulator_options)
    doorway = Doorway(emulator.app)
    async with serve(doorway, port=0) as url:
        yield ServedEmulator(emulator, doorway, url)


class Worker:
    """One worker process: its spec, its JSON lines, its log."""

    def __init__(self, spec: WorkerSpec, process: Process, log: Path) -> None:
        self.spec = spec
        self.process = process
        self.log = log
        assert process.stdout is not None
        self._lines = BufferedByteReceiveStream(process.stdout)

    async def expect(self, event: str) -> dict[str, Any]:
        """The next line, which must be ``event`` (else the test fails with the worker's log)."""
        try:
            line = await self._lines.receive_until(b"\n", _LINE_LIMIT)
        except (anyio.EndOfStream, anyio.IncompleteRead):
            await self.process.wait()
            raise AssertionError(
                f"worker {self.spec.tag} ended (exit {self.process.returncode}) before {event!r}:\n"
                + self.log_text()
            ) from None
        message: dict[str, Any] = json.loads(line)
        if message.get("event") != event:
            raise AssertionError(f"worker {self.spec.tag} said {message}, expected {event!r}")
        return message

    async def go(self) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(b"go\n")

    async def result(self) -> dict[str, Any]:
        """The worker's result line; it must then exit 0."""
        result = await self.expect("result")
        await self.process.wait()
        assert self.process.returncode == 0, f"worker {self.spec.tag} exit {self.process.returncode}"
        return result

    def log_text(self, limit: int = 4000) -> str:
        """The end of what the worker wrote to stderr (its log, and its stacks on SIGUSR1)."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-limit:]


def _environment() -> dict[str, str]:
    """The test's environment without BIGIN_* (a developer's settings must not reach the workers)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("BIGIN_")}


@asynccontextmanager
async def start_workers(specs: Sequence[WorkerSpec], logs: Path) -> AsyncIterator[list[Worker]]:
    """Start one process per spec and wait until each has built its client (``ready``).

    They wait for :meth:`Worker.go`. On leaving, any worker still running is killed.
    """
    logs.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        workers: list[Worker] = []
        for spec in specs:
            log = logs / f"{spec.tag}.log"
            stderr = stack.enter_context(log.open("wb"))
            process = await anyio.open_process(
                [sys.executable, "-m", "tests.multiprocess.worker", spec.to_json()],
                cwd=ROOT,
                env=_environment(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
            stack.push_async_callback(_reap, process)
            workers.append(Worker(spec, process, log))
        async with hang_guard(workers):
            for worker in workers:
                await worker.expect("ready")
        yield workers


async def _reap(process: Process) -> None:
    with anyio.CancelScope(shield=True):
        if process.returncode is None:
            process.kill()
        await process.wait()
        await process.aclose()


async def run_workers(specs: Sequence[WorkerSpec], logs: Path) -> list[dict[str, Any]]:
    """Run the workers together (started at once) to their end; their results, in spec order."""
    async with start_workers(specs, logs) as workers:
        for worker in workers:
            await worker.go()
        async with hang_guard(workers):
            return [await worker.result() for worker in workers]


@asynccontextmanager
async def hang_guard(workers: Sequence[Worker], seconds: float | None = None) -> AsyncIterator[None]:
    """Fail (never hang) when the block takes over ``seconds`` (``HANG_GUARD``), with the stacks of
    the workers still running (they dump them to their logs on SIGUSR1)."""
    bound = HANG_GUARD if seconds is None else seconds
    with anyio.move_on_after(bound) as guard:
        yield
    if not guard.cancelled_caught:
        return
    running = [worker for worker in workers if worker.process.returncode is None]
    for worker in running:
        worker.process.send_signal(signal.SIGUSR1)
    await anyio.sleep(2)  # only on this failure: the stacks need a moment to be written
    hung = "\n".join(f"--- {worker.spec.tag} ---\n{worker.log_text(50_000)}" for worker in running)
    raise AssertionError(f"workers still running after {bound:g} s: {[w.spec.tag for w in running]}\n{hung}")
