"""Each fault kind, seen through EmulatorTransport exactly as a client would see it over a socket."""

from __future__ import annotations

import json

import httpx
import pytest

from bigin_emulator.server.counters import ServerCounters
from bigin_emulator.server.faults import FaultPlan, ServerLimits
from bigin_emulator.server.middleware import EmulatorMiddleware
from tests.helpers.emulator_server import FakeClock, RecordingApp, in_process_client, records

SHORT_READ_TIMEOUT = httpx.Timeout(10.0, read=0.05)


def _always(fault: str, **extra: object) -> FaultPlan:
    return FaultPlan(**{fault: 1.0}, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fault", "status", "code"), [("error_500", 500, "INTERNAL_ERROR"), ("error_503", 503, "INTERNAL_ERROR")]
)
async def test_server_errors_do_not_reach_the_app(fault: str, status: int, code: str) -> None:
    app = RecordingApp()
    counters = ServerCounters()
    async with in_process_client(EmulatorMiddleware(app, faults=_always(fault), counters=counters)) as client:
        response = await client.post("/bigin/v2/Contacts", json=records(1))
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["status"] == "error"
    assert app.writes == []
    assert counters.faults_injected == {fault: 1}


async def test_429_burst_carries_retry_after() -> None:
    counters = ServerCounters()
    async with in_process_client(
        EmulatorMiddleware(RecordingApp(), faults=_always("error_429"), counters=counters)
    ) as client:
        response = await client.get("/bigin/v2/Contacts")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "TOO_MANY_REQUESTS"
    assert counters.rate_limited == 1
    assert counters.rejected_by_limit == {}


async def test_drop_before_loses_the_request_and_raises_a_transport_error() -> None:
    app = RecordingApp()
    counters = ServerCounters()
    async with in_process_client(
        EmulatorMiddleware(app, faults=_always("drop_before"), counters=counters)
    ) as client:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await client.post("/bigin/v2/Contacts", json=records(2))
    assert caught.value.request.url.path == "/bigin/v2/Contacts"
    assert app.writes == []
    assert counters.responses_by_status == {}  # nothing was answered
    assert counters.in_flight == 0


async def test_drop_after_applies_the_write_but_loses_the_answer() -> None:
    app = RecordingApp()
    async with in_process_client(EmulatorMiddleware(app, faults=_always("drop_after"))) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/bigin/v2/Contacts", json=records(2))
    assert app.writes == [records(2)]


async def test_slow_answer_trips_the_read_timeout_after_the_write() -> None:
    app = RecordingApp()
    middleware = EmulatorMiddleware(app, faults=_always("slow", slow_seconds=3600.0))
    async with in_process_client(middleware, timeout=SHORT_READ_TIMEOUT) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/bigin/v2/Contacts", json=records(1))
    assert app.writes == [records(1)]
    assert middleware.counters.in_flight == 0  # the cancelled request was fully unwound


async def test_slow_answer_shorter_than_the_timeout_arrives() -> None:
    middleware = EmulatorMiddleware(RecordingApp(), faults=_always("slow", slow_seconds=0.0))
    async with in_process_client(middleware) as client:
        response = await client.get("/bigin/v2/Contacts")
    assert response.status_code == 200 and response.json()["data"][0]["status"] == "success"


async def test_malformed_json_is_a_success_status_with_a_broken_body() -> None:
    app = RecordingApp()
    async with in_process_client(EmulatorMiddleware(app, faults=_always("malformed_json"))) as client:
        response = await client.post("/bigin/v2/Contacts", json=records(1))
    assert response.status_code == 201
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert app.writes == [records(1)]


async def test_faults_respect_methods_and_leave_oauth_alone() -> None:
    app = RecordingApp()
    plan = FaultPlan(error_500=1.0, methods=frozenset({"POST"}))
    async with in_process_client(EmulatorMiddleware(app, faults=plan)) as client:
        read = await client.get("/bigin/v2/Contacts")
        token = await client.post("/oauth/v2/token")
        write = await client.post("/bigin/v2/Contacts", json=records(1))
    assert (read.status_code, token.status_code, write.status_code) == (200, 201, 500)


async def test_rate_limit_headers_survive_a_fault() -> None:
    clock = FakeClock()
    middleware = EmulatorMiddleware(
        RecordingApp(),
        limits=ServerLimits(per_minute=10),
        faults=_always("error_503"),
        clock=clock,
        wall_clock=clock.wall,
    )
    async with in_process_client(middleware) as client:
        response = await client.get("/bigin/v2/Contacts")
    assert response.status_code == 503
    assert response.headers["x-ratelimit-remaining"] == "9"


async def _outcomes(plan: FaultPlan, count: int) -> list[str]:
    outcomes: list[str] = []
    middleware = EmulatorMiddleware(RecordingApp(), faults=plan)
    async with in_process_client(middleware, timeout=SHORT_READ_TIMEOUT) as client:
        for _ in range(count):
            try:
                response = await client.get("/bigin/v2/Contacts")
                response.json()
                outcomes.append(str(response.status_code))
            except (httpx.TransportError, json.JSONDecodeError) as exc:
                outcomes.append(type(exc).__name__)
    return outcomes


async def test_same_seed_gives_the_same_fault_sequence() -> None:
    plan = FaultPlan(
        seed=42, error_500=0.15, error_429=0.1, drop_before=0.1, drop_after=0.1, malformed_json=0.1
    )
    first = await _outcomes(plan, 40)
    assert await _outcomes(plan, 40) == first
    assert len(set(first)) >= 4  # the plan really mixed several outcomes
    assert await _outcomes(FaultPlan(seed=43, error_500=0.15, error_429=0.1, drop_before=0.1), 40) != first
