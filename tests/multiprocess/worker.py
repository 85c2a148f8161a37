"""One OS process of a multi-process test: a BiginClient against a served emulator, run to a bounded end.

Run as ``python -m tests.multiprocess.worker '<json spec>'`` (from the repository's root). The spec
(:class:`WorkerSpec`'s fields, as JSON) says where the emulator is, how the client is built (its
limits, and a ``coordination`` spec for ``RedisCoordination``), and what to do: ``tasks`` tasks
each making ``calls`` calls (``GET /org``), or each importing ``records`` contacts with
``bulk_create``, or ``hold``: take ``tasks`` concurrency slots and keep them until killed.

The worker talks to its parent in JSON lines on stdout:

- ``{"event": "ready"}`` once the client is built; then it waits for ``go`` on stdin, so that
  every process starts at once;
- ``{"event": "waiting"}`` when asked (``announce_waiting``): every task has asked for the access
  token and is blocked, waiting for a refresh (its own process's or another's);
- ``{"event": "held"}`` in hold mode;
- last ``{"event": "result", ...}`` (:func:`result_line`): calls that succeeded, errors by class,
  429s it received, token requests it sent, when its API requests left (the host's wall clock,
  skew or not), its gate's peak, how long the run took.

Its log goes to stderr.

``clock_skew`` moves this process's wall clock and monotonic clock by that many seconds, as on a
host whose clock is off (see :func:`_skew_clocks`).
"""

from __future__ import annotations

import dataclasses
import faulthandler
import importlib
import json
import logging
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from bigin_async._coordination import Ask
from bigin_async.auth._token import Token
from bigin_async.client import BiginClient

__all__ = ["CoordinationSpec", "WorkerSpec", "main", "result_line"]

TOKEN_PATH = "/oauth/v2/token"
_host_time = time.time  # the host's wall clock, as it was before any clock_skew
MAX_TRIES = 20  # until_ok: tries a task may make for each call it must get through


@dataclass
class CoordinationSpec:
    """The ``RedisCoordination`` a worker's client is given (its keyword arguments)."""

    url: str
    namespace: str = "bigin"
    minute: float = 60.0
    cluster: bool = False
    on_redis_down: str = "fail"
    expected_processes: int = 1
    lease_seconds: float = 30.0
    socket_timeout: float = 2.0
    retry_redis_after: float = 5.0


@dataclass
class WorkerSpec:
    """What one worker process does (sent to it as JSON)."""

    url: str
    client_id: str
    client_secret: str
    refresh_token: str
    tag: str = "worker"
    backend: str = "asyncio"
    mode: str = "calls"  # "calls", "import" or "hold"
    tasks: int = 1
    calls: int = 1
    records: int = 0
    batch_size: int = 10
    client: dict[str, Any] = field(default_factory=dict)
    coordination: CoordinationSpec | None = None
    clock_skew: float = 0.0
    seed_stale_token: bool = False  # save a token inside its refresh margin before "ready"
    until_ok: bool = False  # calls mode: go on until ``calls`` calls succeeded (see _calls)
    pause_after_error: float = 0.05
    announce_waiting: bool = False

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        data = json.loads(text)
        coordination = data.pop("coordination", None)
        return cls(**data, coordination=CoordinationSpec(**coordination) if coordination else None)


class CountingTransport(httpx.AsyncBaseTransport):
    """The wire as this worker sees it: the 429s it received and the token requests it sent."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.responses_429 = 0
        self.token_requests = 0
        self.sends: list[float] = []  # the host's wall clock as each API request left

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            self.token_requests += 1
        elif request.url.path.startswith("/bigin/"):
            self.sends.append(_host_time())
        response = await self.inner.handle_async_request(request)
        if response.status_code == 429:
            self.responses_429 += 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Outcomes:
    """What the calls came to, in the order they ended across all of the worker's tasks."""

    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    ended: int = 0
    last_ok: int = -1
    last_error: int = -1

    def succeeded(self, count: int = 1) -> None:
        self.ok += count
        self.last_ok = self.ended
        self.ended += 1

    def failed(self, error: BaseException) -> None:
        self.errors[type(error).__name__] += 1
        message = f"{type(error).__name__}: {error}"
        if len(self.messages) < 5 or message not in self.messages[-3:]:  # the first ones and changes
            self.messages.append(message)
            del self.messages[5:-5]
        self.last_error = self.ended
        self.ended += 1


def _skew_clocks(seconds: float) -> None:
    """This process's clocks ``seconds`` off, as on a host whose clock is set wrong.

    The wall clock (``time.time``: token expiries, refresh times) and the monotonic clock
    (``time.monotonic``: asyncio's event loop, so ``anyio.current_time()`` and every clock the
    limits time their sleeps and deadlines with) both move; trio's clock starts at a random
    offset of its own in every process anyway.
    """
    if seconds:
        wall, monotonic = time.time, time.monotonic
        time.time = lambda: wall() + seconds
        time.monotonic = lambda: monotonic() + seconds


def _coordination(spec: CoordinationSpec) -> Any:
    # Imported here: a worker without coordination must not need redis-py.
    redis_integration: Any = importlib.import_module("bigin_async.integrations.redis")
    options = dataclasses.asdict(spec)
    return redis_integration.RedisCoordination(options.pop("url"), **options)


def build_client(spec: WorkerSpec, transport: httpx.AsyncBaseTransport) -> BiginClient:
    """The client a worker runs: refresh-token mode against the emulator, pinned to its URL."""
    options: dict[str, Any] = {
        "api_domain": spec.url,
        "accounts_url": spec.url,
        "client_id": spec.client_id,
        "client_secret": spec.client_secret,
        "refresh_token": spec.refresh_token,
        "transport": transport,
        **spec.client,
    }
    if spec.coordination is not None:
        options["coordination"] = _coordination(spec.coordination)
    return BiginClient(**options)


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


async def _seed_stale_token(bigin: BiginClient) -> None:
    """A token in the store that is still valid but inside the refresh margin: every client refreshes."""
    tokens = bigin.transport.tokens
    stale = Token(SecretStr("stale-access-token"), time.time() + 20.0, lifetime=3600.0)
    if tokens.store is not None:
        await tokens.store.save(tokens.store_key, stale)


async def _calls(bigin: BiginClient, spec: WorkerSpec, outcomes: Outcomes) -> None:
    """``calls`` calls; with ``until_ok``, until ``calls`` succeeded (at most ``MAX_TRIES`` times as
    many tries), pausing ``pause_after_error`` after a failure as an application would."""
    done = tries = 0
    while done < spec.calls and tries < spec.calls * (MAX_TRIES if spec.until_ok else 1):
        tries += 1
        try:
            await bigin.org.get()
        except Exception as error:  # noqa: BLE001 - every failure is counted and reported
            outcomes.failed(error)
            if spec.until_ok:
                await anyio.sleep(spec.pause_after_error)
        else:
            outcomes.succeeded()
            done += 1
        if not spec.until_ok:
            done = tries


async def _import(bigin: BiginClient, spec: WorkerSpec, task: int, outcomes: Outcomes) -> None:
    records = [{"Last_Name": f"{spec.tag}-{task}-{n}"} for n in range(spec.records)]
    try:
        result = await bigin.contacts.bulk_create(records, batch_size=spec.batch_size)
    except Exception as error:  # noqa: BLE001
        outcomes.failed(error)
        return
    outcomes.succeeded(result.counts["success"])
    for outcome in result:
        if not outcome.ok:
            outcomes.failed(RecordNotCreated(f"{outcome.status} {outcome.code}: {outcome.message}"))


class RecordNotCreated(Exception):
    """A record of an import that did not end ``success`` (its status, code and message)."""


async def _hold(bigin: BiginClient, spec: WorkerSpec) -> None:
    """Take ``tasks`` of the gate's slots and keep them (and their leases) until killed."""
    limits = bigin.transport.limits
    async with anyio.create_task_group() as holders:
        taken = 0
        all_taken = anyio.Event()

        async def hold_one() -> None:
            nonlocal taken
            async with limits.slot() as slot:
                # The shared gate's lease is taken by the attempt's first pace (not by entering).
                paced = Ask(cost=1, bulk=False, paced_by=None, deadline_at=None, timeout=0.0)
                assert await limits.pace(slot, paced)
                taken += 1
                if taken == spec.tasks:
                    all_taken.set()
                await anyio.sleep_forever()

        for _ in range(spec.tasks):
            holders.start_soon(hold_one)
        await all_taken.wait()
        emit("held", slots=taken)
        await anyio.sleep_forever()


def _all_asked_for_the_token(bigin: BiginClient, tasks: int) -> anyio.Event:
    """An event set once ``tasks`` calls have asked the token manager for the token."""
    tokens = bigin.transport.tokens
    asked = tokens.get_token
    count = 0
    everyone = anyio.Event()

    async def get_token() -> Token:
        nonlocal count
        count += 1
        if count == tasks:
            everyone.set()
        return await asked()

    tokens.get_token = get_token  # type: ignore[method-assign]
    return everyone


async def _wait_for_go() -> None:
    line = await anyio.to_thread.run_sync(sys.stdin.readline)
    if line.strip() != "go":
        raise SystemExit(f"expected 'go' on stdin, got {line!r}")


async def run(spec: WorkerSpec) -> dict[str, Any]:
    """Build the client, say ready, wait for go, do the work; the result's fields."""
    transport = CountingTransport()
    outcomes = Outcomes()
    async with build_client(spec, transport) as bigin:
        if spec.seed_stale_token:
            await _seed_stale_token(bigin)
        emit("ready")
        await _wait_for_go()
        asked = _all_asked_for_the_token(bigin, spec.tasks) if spec.announce_waiting else None
        started = time.perf_counter()
        if spec.mode == "hold":
            await _hold(bigin, spec)
        async with anyio.create_task_group() as tasks:
            for number in range(spec.tasks):
                if spec.mode == "import":
                    tasks.start_soon(_import, bigin, spec, number, outcomes)
                else:
                    tasks.start_soon(_calls, bigin, spec, outcomes)
            if asked is not None:
                # every task waits for the token: in this process's refresh, or another's
                await asked.wait()
                await anyio.wait_all_tasks_blocked()
                emit("waiting")
        elapsed = time.perf_counter() - started
        peak = bigin.transport.gate.peak
        refreshes = bigin.transport.tokens.refresh_count
    return result_line(spec, outcomes, transport, elapsed, peak, refreshes)


def result_line(
    spec: WorkerSpec,
    outcomes: Outcomes,
    transport: CountingTransport,
    elapsed: float,
    peak: int,
    refreshes: int,
) -> dict[str, Any]:
    return {
        "tag": spec.tag,
        "backend": spec.backend,
        "calls": outcomes.ok,
        "errors": dict(outcomes.errors),
        "messages": outcomes.messages,
        "ended": outcomes.ended,
        "last_ok": outcomes.last_ok,
        "last_error": outcomes.last_error,
        "responses_429": transport.responses_429,
        "token_requests": transport.token_requests,
        "sends": transport.sends,
        "refreshes": refreshes,
        "peak": peak,
        "elapsed": elapsed,
    }


def _awaiting(coro: Any) -> str:
    """Where a suspended coroutine waits: its chain of awaits, outermost first."""
    frames = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return " -> ".join(frames)


def _dump_stacks(signum: int, frame: object) -> None:
    """SIGUSR1 (the harness's hang guard sends it): every thread's stack and where every task
    waits, to stderr."""
    faulthandler.dump_traceback(all_threads=True)
    try:
        import asyncio

        for task in asyncio.all_tasks(asyncio.get_running_loop()):
            sys.stderr.write(f"asyncio task {task.get_name()}: {_awaiting(task.get_coro())}\n")
    except RuntimeError:  # not asyncio: trio's tasks
        import trio

        pending = [trio.lowlevel.current_root_task()]
        while pending:
            trio_task = pending.pop()
            if trio_task is None:
                continue
            sys.stderr.write(f"trio task {trio_task.name}: {_awaiting(trio_task.coro)}\n")
            pending.extend(child for nursery in trio_task.child_nurseries for child in nursery.child_tasks)
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = WorkerSpec.from_json(args[0])
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format=f"[{spec.tag}] %(name)s: %(message)s"
    )
    _skew_clocks(spec.clock_skew)
    signal.signal(signal.SIGUSR1, _dump_stacks)
    result = anyio.run(run, spec, backend=spec.backend)
    emit("result", **result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
