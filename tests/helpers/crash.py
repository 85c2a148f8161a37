"""Simulated process deaths for journal tests: the server applies a call, then the client "dies".

``CrashAt`` wraps the emulator's ASGI app: the ``n``-th write call (POST/PUT/DELETE on records)
runs to the end in the emulator (so the store holds its records), then, instead of answering,
cancels the bulk run's cancel scope, as a SIGKILL would end the process with that call in flight.
Nothing after that point runs in the "dead" process except its ``finally`` blocks, which is what
the journal's close would see on a real crash too (the journal fsyncs each line as it writes).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import anyio
from anyio.abc import Process

from bigin_async.bulk import BulkResult, Journal
from bigin_async.client import BiginClient
from bigin_emulator import BiginEmulator
from bigin_emulator.server.transport import EmulatorTransport

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})


class CrashAt:
    """Passes requests to ``app``; the ``n``-th write is applied, then the run is cancelled unanswered."""

    def __init__(self, app: ASGI, n: int | None) -> None:
        self.app = app
        self.n = n
        self.writes = 0
        self.crashed = False
        self.scope: anyio.CancelScope | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS or "/oauth/" in str(scope["path"]):
            await self.app(scope, receive, send)
            return
        self.writes += 1
        if self.n is None or self.writes != self.n or self.crashed:
            await self.app(scope, receive, send)
            return

        async def swallow(message: Any) -> None:
            pass  # the answer never reaches the dead process

        await self.app(scope, receive, swallow)
        self.crashed = True
        assert self.scope is not None
        self.scope.cancel()
        await anyio.sleep_forever()


async def run_once(
    emulator: BiginEmulator,
    work: Callable[[BiginClient], Awaitable[BulkResult]],
    *,
    crash_at: int | None = None,
    **client_options: Any,
) -> tuple[BulkResult | None, CrashAt]:
    """Run ``work`` against ``emulator``; with ``crash_at``, "die" at that write call (result None)."""
    trap = CrashAt(emulator.app, crash_at)
    result: BulkResult | None = None
    async with emulator.client(transport=EmulatorTransport(trap), **client_options) as bigin:
        with anyio.CancelScope() as scope:
            trap.scope = scope
            result = await work(bigin)
    return (None if trap.crashed else result), trap


def tear_tail(path: Path, keep: int) -> bytes:
    """Cut the journal's last line after ``keep`` bytes, as a crash mid-write leaves it; returns the cut."""
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    keep = max(0, min(keep, len(data) - start - 2))
    path.write_bytes(data[: start + keep])
    return data[start + keep :]


class Died(Exception):
    """The process "died" in the middle of a journal write."""


@contextlib.contextmanager
def dies_writing_journal_line(n: int, keep: int) -> Iterator[list[bool]]:
    """The ``n``-th journal write (counted over every journal) is cut after ``keep`` bytes and the
    process dies there: that write raises :class:`Died`, and every later write does nothing and
    raises too (a dead process writes nothing more). Yields a one-item list, True once it died."""
    died = [False]
    calls = [0]
    real = Journal._write_now

    def write(self: Journal, lines: Sequence[dict[str, Any]]) -> None:
        if died[0]:
            raise Died("dead processes write nothing")
        calls[0] += 1
        if calls[0] != n:
            real(self, lines)
            return
        handle = self._open()
        data = b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)
        handle.write(data[: max(0, min(keep, len(data) - 1))])
        handle.flush()
        os.fsync(handle.fileno())
        died[0] = True
        raise Died("died mid-write")

    with mock.patch.object(Journal, "_write_now", write):
        yield died


class ArrivalTrap:
    """An ASGI wrapper for real-process deaths: passes every request on and sets ``reached`` when
    the ``n``-th request that ``counts`` arrives, so the test can SIGKILL the client right then."""

    def __init__(self, app: ASGI, n: int, counts: Callable[[Scope], bool]) -> None:
        self.app = app
        self.n = n
        self.counts = counts
        self.arrived = 0
        self.reached = anyio.Event()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.counts(scope):
            self.arrived += 1
            if self.arrived == self.n:
                self.reached.set()
        await self.app(scope, receive, send)


async def kill_when_reached(process: Process, trap: ArrivalTrap, *, limit: float) -> None:
    """SIGKILL ``process`` as soon as ``trap`` is reached (nothing to kill if it ended first), and
    reap it; ``limit`` is a safety net only, the trap fires long before."""
    with anyio.fail_after(limit):
        async with anyio.create_task_group() as tasks:

            async def exited_early() -> None:
                await process.wait()
                trap.reached.set()

            tasks.start_soon(exited_early)
            await trap.reached.wait()
            if process.returncode is None:
                process.kill()
        await process.wait()
