"""A shortened rolling minute (``ServerLimits(minute=)``), and in-flight as a client sees it.

Process-level tests of shared limits need many per-minute windows in a few seconds: the emulator's
minute can be shortened, and then its cap and its own count of the busiest window both use that
length. Its in-flight count must end when the client can have read the whole answer, or a client
that leaves its gate on the answer and sends again is counted (and refused) as one too many.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from bigin_emulator.cli import limits_from, parse_args
from bigin_emulator.emulator import BiginEmulator
from bigin_emulator.server.counters import ServerCounters
from bigin_emulator.server.faults import FaultPlan, ServerLimits
from bigin_emulator.server.middleware import EmulatorMiddleware, Message
from tests.helpers.emulator_server import FakeClock, RecordingApp, in_process_client


def _on_a_fake_clock(limits: ServerLimits) -> tuple[FakeClock, ServerCounters, EmulatorMiddleware]:
    """A middleware with ``limits`` whose clocks only move when the test says."""
    clock, counters = FakeClock(), ServerCounters()
    middleware = EmulatorMiddleware(
        RecordingApp(), limits=limits, counters=counters, clock=clock, wall_clock=clock.wall
    )
    return clock, counters, middleware


@pytest.mark.parametrize("minute", [0, -5.0, math.inf, math.nan, True, "5"])
def test_the_minute_must_be_a_positive_finite_number_of_seconds(minute: Any) -> None:
    with pytest.raises(ValueError, match="ServerLimits.minute"):
        ServerLimits(minute=minute)


def test_the_default_minute_is_sixty_seconds_on_the_limits_the_window_and_the_counters() -> None:
    emulator = BiginEmulator()
    assert ServerLimits().minute == 60.0
    assert emulator.middleware.limits.minute == 60.0
    assert emulator.counters.minute == 60.0
    assert ServerCounters().minute == 60.0


def test_an_emulator_with_a_short_minute_makes_its_counters_count_that_minute() -> None:
    emulator = BiginEmulator(limits=ServerLimits(per_minute=5, minute=4.0))
    assert emulator.counters.minute == 4.0
    assert emulator.counters is emulator.middleware.counters


async def test_a_shortened_minute_refuses_the_extra_arrival_inside_it_and_admits_one_after_it() -> None:
    clock, counters, middleware = _on_a_fake_clock(ServerLimits(per_minute=3, minute=5.0))
    async with in_process_client(middleware) as client:
        first = await client.get("/bigin/v2/Contacts")
        clock.advance(1)
        await client.get("/bigin/v2/Contacts")
        await client.get("/bigin/v2/Contacts")
        clock.advance(3.5)  # 4.5 s after the first: still inside its 5 s minute
        refused = await client.get("/bigin/v2/Contacts")
        clock.advance(0.5)  # exactly 5 s after the first: its slot is free again
        accepted = await client.get("/bigin/v2/Contacts")
        refused_again = await client.get("/bigin/v2/Contacts")
    assert first.headers["x-ratelimit-reset"] == str(1_700_000_000 + 5)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"  # 0.5 s, rounded up to Retry-After's whole seconds
    assert refused.headers["x-ratelimit-reset"] == str(1_700_000_000 + 5)
    assert accepted.status_code == 200
    assert refused_again.status_code == 429  # the two at 1 s are still inside
    assert counters.rejected_by_limit == {"per_minute": 2}


async def test_the_counters_busiest_window_follows_the_shortened_minute() -> None:
    clock, counters, middleware = _on_a_fake_clock(ServerLimits(minute=5.0))
    async with in_process_client(middleware) as client:
        for step in (0.0, 1.0, 1.0, 3.0, 1.0):  # arrivals at 0, 1, 2, 5, 6
            clock.advance(step)
            await client.get("/bigin/v2/Contacts")
    # in 60 s windows all five would count; in 5 s windows at most three arrivals share one
    assert counters.minute == 5.0
    assert counters.max_requests_in_rolling_minute == 3


def test_counters_switched_to_another_minute_start_an_empty_window_and_keep_their_maximum() -> None:
    counters = ServerCounters(minute=10.0)
    for now in (0.0, 1.0, 2.0):
        counters.request_started("GET /x", now)
    counters.use_minute(10.0)  # the same length: nothing changes
    counters.request_started("GET /x", 3.0)
    assert counters.max_requests_in_rolling_minute == 4
    counters.use_minute(2.0)
    counters.request_started("GET /x", 4.0)
    counters.request_started("GET /x", 5.0)
    assert counters.minute == 2.0
    assert counters.max_requests_in_rolling_minute == 4


def test_minute_seconds_on_the_command_line_shortens_the_limits_minute() -> None:
    assert limits_from(parse_args(["--per-minute", "20", "--minute-seconds", "5"])) == ServerLimits(
        per_minute=20, minute=5.0
    )
    assert limits_from(parse_args(["serve", "--minute-seconds", "0.5"])).minute == 0.5
    assert limits_from(parse_args([])).minute == 60.0


@pytest.mark.parametrize("seconds", ["0", "-1", "inf", "nan", "five"])
def test_a_minute_that_is_not_a_positive_finite_number_is_refused_by_the_command_line(seconds: str) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--minute-seconds", seconds])


def _request(path: str = "/bigin/v2/Contacts") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


def _body(body: bytes = b"", *, arriving: Callable[[], object] | None = None) -> Any:
    """``receive`` of a request: its ``body`` once (``arriving`` called as it comes in), then
    nothing (the client stays)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await anyio.sleep_forever()
        sent = True
        if arriving is not None:
            arriving()
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class _Client:
    """One client at the ASGI edge: it sends again as soon as it holds a whole answer.

    Its ``send`` is the wire: the moment the server hands over the last body message, the
    client has the answer, leaves its own gate and sends its next request, before the server's
    code after that hand-over has run.
    """

    def __init__(self, middleware: EmulatorMiddleware, again: int) -> None:
        self.middleware = middleware
        self.again = again
        self.statuses: list[int] = []
        self.in_flight_when_answered: list[int] = []

    async def request(self) -> None:
        status: list[int] = []

        async def wire(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            elif not message.get("more_body", False):
                self.statuses.append(status[0])
                self.in_flight_when_answered.append(self.middleware.counters.in_flight)
                if self.again > 0:
                    self.again -= 1
                    await self.request()

        await self.middleware(_request(), _body(), wire)


async def test_a_request_is_not_in_flight_once_its_client_holds_the_whole_answer() -> None:
    counters = ServerCounters()
    middleware = EmulatorMiddleware(RecordingApp(), limits=ServerLimits(max_concurrency=1), counters=counters)
    client = _Client(middleware, again=3)
    await client.request()
    assert client.statuses == [200, 200, 200, 200]  # never refused as a second concurrent request
    assert client.in_flight_when_answered == [0, 0, 0, 0]
    assert counters.peak_concurrency == 1
    assert counters.in_flight == 0
    assert counters.rejected_by_limit == {}


@pytest.mark.parametrize(
    "faults",
    [FaultPlan(drip=1.0, drip_chunks=3, drip_interval=0.0), FaultPlan(error_503=1.0), FaultPlan(slow=1.0)],
    ids=["drip", "error_503", "slow"],
)
async def test_an_answer_spoiled_by_a_fault_also_ends_in_flight_at_its_last_byte(faults: FaultPlan) -> None:
    faults = dataclasses.replace(faults, slow_seconds=0.0)
    counters = ServerCounters()
    middleware = EmulatorMiddleware(
        RecordingApp(), limits=ServerLimits(max_concurrency=1), faults=faults, counters=counters
    )
    client = _Client(middleware, again=1)
    await client.request()
    assert len(client.statuses) == 2 and 429 not in client.statuses
    assert client.in_flight_when_answered == [0, 0]
    assert counters.in_flight == 0


async def test_a_refusal_and_a_dropped_connection_end_in_flight_once() -> None:
    counters = ServerCounters()
    app = RecordingApp()
    release = app.hold(1)
    middleware = EmulatorMiddleware(
        app, limits=ServerLimits(max_concurrency=1), faults=FaultPlan(drop_after=1.0), counters=counters
    )
    async with in_process_client(middleware) as client, anyio.create_task_group() as tasks:

        async def dropped() -> None:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get("/bigin/v2/Contacts")

        tasks.start_soon(dropped)
        await app.all_held.wait()
        refused = await client.get("/bigin/v2/Contacts")
        assert counters.in_flight == 1  # the held request; the refusal has ended
        release.set()
    assert refused.status_code == 429
    assert counters.in_flight == 0
    assert counters.peak_concurrency == 2  # arrivals are counted, refused ones included


async def test_the_per_minute_cap_counts_a_request_at_its_arrival_not_when_its_body_is_read() -> None:
    # A write arrives at 0 s but its body takes 1 s; the next call arrives at 5.5 s, more than a
    # (5 s) minute after the write arrived: the server's own count says the window holds one
    # arrival, so the cap must not refuse it either.
    clock, counters, middleware = _on_a_fake_clock(ServerLimits(per_minute=1, minute=5.0))
    slow_body = _body(b'{"data": [{"Last_Name": "Ng"}]}', arriving=lambda: clock.advance(1.0))
    statuses: list[int] = []

    async def wire(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))

    write = {**_request(), "method": "POST", "headers": [(b"content-type", b"application/json")]}
    await middleware(write, slow_body, wire)
    clock.advance(4.5)  # 5.5 s after the write arrived, 4.5 s after its body was read
    await middleware(_request(), _body(), wire)
    assert statuses == [201, 200]
    assert counters.max_requests_in_rolling_minute == 1
