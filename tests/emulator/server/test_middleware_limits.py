"""Counting, concurrency cap, per-minute window, daily credits and latency, all in-process."""

from __future__ import annotations

import random

import anyio
import httpx

from bigin_emulator.server.counters import ServerCounters
from bigin_emulator.server.faults import ServerLimits
from bigin_emulator.server.middleware import EmulatorMiddleware, credit_cost
from tests.helpers.emulator_server import FakeClock, RecordingApp, in_process_client, records


async def test_counts_requests_per_route_and_skips_oauth() -> None:
    counters = ServerCounters()
    app = RecordingApp()
    async with in_process_client(EmulatorMiddleware(app, counters=counters)) as client:
        await client.get("/bigin/v2/Contacts/7618134000000632028")
        await client.get("/bigin/v2/Contacts/7618134000000632029")
        await client.post("/bigin/v2/Contacts", json=records(1))
        await client.post("/oauth/v2/token", data={"grant_type": "refresh_token"})
    assert counters.requests_by_route == {"GET /bigin/v2/Contacts/{id}": 2, "POST /bigin/v2/Contacts": 1}
    assert counters.requests_total == 3
    assert counters.responses_by_status == {200: 2, 201: 1}
    assert app.calls == 4  # the OAuth call still reached the app, just uncounted
    assert counters.in_flight == 0


async def test_peak_concurrency_with_requests_held_open() -> None:
    counters = ServerCounters()
    app = RecordingApp()
    release = app.hold(6)
    async with in_process_client(EmulatorMiddleware(app, counters=counters)) as client:
        async with anyio.create_task_group() as tasks:
            for _ in range(6):
                tasks.start_soon(client.get, "/bigin/v2/Contacts")
            await app.all_held.wait()
            assert counters.in_flight == 6
            release.set()
    assert counters.peak_concurrency == 6
    assert counters.in_flight == 0


async def test_concurrency_cap_answers_429_immediately() -> None:
    counters = ServerCounters()
    app = RecordingApp()
    release = app.hold(2)
    middleware = EmulatorMiddleware(app, limits=ServerLimits(max_concurrency=2), counters=counters)
    async with in_process_client(middleware) as client:
        async with anyio.create_task_group() as tasks:
            for _ in range(2):
                tasks.start_soon(client.get, "/bigin/v2/Contacts")
            await app.all_held.wait()
            refused = await client.get("/bigin/v2/Contacts")
            release.set()
        accepted_after = await client.get("/bigin/v2/Contacts")
    assert refused.status_code == 429
    assert refused.json() == {
        "code": "TOO_MANY_REQUESTS",
        "details": {},
        "message": "too many concurrent requests: at most 2 are processed at once",
        "status": "error",
    }
    assert accepted_after.status_code == 200
    assert counters.rate_limited == 1
    assert counters.rejected_by_limit == {"concurrency": 1}
    assert app.calls == 3


async def test_per_minute_window_with_fake_clock() -> None:
    clock = FakeClock()
    counters = ServerCounters()
    middleware = EmulatorMiddleware(
        RecordingApp(),
        limits=ServerLimits(per_minute=3),
        counters=counters,
        clock=clock,
        wall_clock=clock.wall,
    )
    async with in_process_client(middleware) as client:
        first = await client.get("/bigin/v2/Contacts")
        clock.advance(20)
        await client.get("/bigin/v2/Contacts")
        await client.get("/bigin/v2/Contacts")
        clock.advance(10)  # 30 s after the first call
        refused = await client.get("/bigin/v2/Contacts")
        clock.advance(30)  # exactly 60 s after the first: its slot is free again
        accepted = await client.get("/bigin/v2/Contacts")
    assert first.headers["x-ratelimit-limit"] == "3"
    assert first.headers["x-ratelimit-remaining"] == "2"
    assert first.headers["x-ratelimit-reset"] == str(1_700_000_000 + 60)
    assert refused.status_code == 429
    assert refused.json()["code"] == "TOO_MANY_REQUESTS"
    assert refused.headers["retry-after"] == "30"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-reset"] == str(1_700_000_000 + 60)  # 30 s after the refusal
    assert accepted.status_code == 200
    assert counters.rejected_by_limit == {"per_minute": 1}
    assert counters.max_requests_in_rolling_minute == 4  # arrivals, refused one included


def test_credit_cost_follows_zoho() -> None:
    assert credit_cost("GET", b"", None) == 1
    assert credit_cost("GET", b"cvid=123&page=2", None) == 3
    assert credit_cost("POST", b"", b'{"data": [{}]}') == 1
    assert credit_cost("POST", b"", b'{"data": [' + b",".join([b"{}"] * 25) + b"]}") == 3
    assert credit_cost("PUT", b"", b'{"data": [' + b",".join([b"{}"] * 100) + b"]}") == 10
    assert credit_cost("DELETE", b"ids=1,2,3,4,5,6,7,8,9,10,11", None) == 2
    assert credit_cost("POST", b"", b"not json") == 1


async def test_daily_credits_headers_and_exhaustion() -> None:
    clock = FakeClock()
    counters = ServerCounters()
    app = RecordingApp()
    middleware = EmulatorMiddleware(
        app, limits=ServerLimits(daily_credits=5), counters=counters, clock=clock, wall_clock=clock.wall
    )
    async with in_process_client(middleware) as client:
        write = await client.post("/bigin/v2/Contacts", json=records(25))
        clock.advance(3600)
        read = await client.get("/bigin/v2/Contacts")
        too_big = await client.post("/bigin/v2/Contacts", json=records(11))  # 2 credits, 1 left
        last = await client.get("/bigin/v2/Contacts")
        clock.advance(86_400 - 3600)  # the 25-record write's 3 credits return
        after_a_day = await client.post("/bigin/v2/Contacts", json=records(11))
    assert write.status_code == 201 and len(app.writes[0]["data"]) == 25  # the body reached the app intact
    assert write.headers["x-ratelimit-limit"] == "5"
    assert write.headers["x-ratelimit-remaining"] == "2"
    assert write.headers["x-ratelimit-reset"] == str(1_700_000_000 + 86_400)
    assert read.headers["x-ratelimit-remaining"] == "1"
    assert too_big.status_code == 429
    assert too_big.json()["code"] == "LIMIT_EXCEEDED"
    assert too_big.headers["x-ratelimit-remaining"] == "1"
    assert too_big.headers["retry-after"] == str(86_400 - 3600)
    assert last.status_code == 200 and last.headers["x-ratelimit-remaining"] == "0"
    assert after_a_day.status_code == 201 and after_a_day.headers["x-ratelimit-remaining"] == "1"
    assert counters.rejected_by_limit == {"daily_credits": 1}
    assert middleware.credits_used() == 4
    assert len(app.writes) == 2


async def test_no_rate_limit_headers_without_a_quota() -> None:
    middleware = EmulatorMiddleware(RecordingApp(), limits=ServerLimits(max_concurrency=5))
    async with in_process_client(middleware) as client:
        response = await client.get("/bigin/v2/Contacts")
    assert "x-ratelimit-limit" not in response.headers


async def test_latency_is_sampled_per_accepted_request() -> None:
    sampled: list[random.Random] = []

    def sampler(rng: random.Random) -> float:
        sampled.append(rng)
        return 0.0

    middleware = EmulatorMiddleware(RecordingApp(), limits=ServerLimits(latency=sampler))
    async with in_process_client(middleware) as client:
        for _ in range(3):
            await client.get("/bigin/v2/Contacts")
        await client.post("/oauth/v2/token")
    assert len(sampled) == 3
    assert all(isinstance(rng, random.Random) for rng in sampled)


async def test_non_http_scopes_pass_through() -> None:
    app = RecordingApp()
    middleware = EmulatorMiddleware(app)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return next(messages)

    async def send(message: object) -> None:
        sent.append(message["type"])  # type: ignore[index]

    await middleware({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert middleware.counters.requests_total == 0


async def test_transport_errors_are_httpx_errors() -> None:
    # a sanity check on the helper client: non-emulated paths still work and close cleanly
    async with in_process_client(EmulatorMiddleware(RecordingApp())) as client:
        response = await client.get("/other")
    assert isinstance(response, httpx.Response) and response.status_code == 200
