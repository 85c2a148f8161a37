"""Credits as Zoho counts them, on the emulator's side: always counted; the daily limit charges the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bigin_emulator import BiginEmulator, ServerLimits
from bigin_emulator.server import middleware
from bigin_emulator.server.middleware import credit_cost
from tests.helpers.bulk_uploads import authorised, create_write, csv_zip, upload, uploaded, write_job
from tests.helpers.clock import FakeClock


@pytest.fixture
async def http(emulator: BiginEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with authorised(emulator) as client:
        yield client


def test_job_creation_costs_500_and_50_and_every_other_bulk_call_1() -> None:
    assert credit_cost("POST", b"", None, "/bigin/bulk/v2/write") == 500
    assert credit_cost("POST", b"", b'{"data": []}', "/bigin/bulk/v2/read/") == 50
    assert credit_cost("GET", b"", None, "/bigin/bulk/v2/write/123") == 1
    assert credit_cost("GET", b"", None, "/bigin/bulk/v2/read/123/result") == 1
    assert credit_cost("POST", b"", None, "/bigin/bulk/v2/other") == 1
    assert (
        credit_cost("POST", b"", b'{"data": [' + b",".join([b"{}"] * 25) + b"]}", "/bigin/v2/Contacts") == 3
    )


async def test_credits_are_counted_with_no_daily_limit(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    assert emulator.middleware.limits.daily_credits is None
    await http.get("/bigin/v2/Contacts", params={"fields": "Last_Name"})  # 1
    await http.get("/bigin/v2/Contacts", params={"fields": "Last_Name", "cvid": "1"})  # 3
    await http.post("/bigin/v2/Contacts", json={"data": [{"Last_Name": f"N{i}"} for i in range(25)]})  # 3
    job_id = await write_job(http, [["Last_Name"], ["Ng"]])  # upload 1 + job 500
    await http.get(f"/bigin/bulk/v2/write/{job_id}")  # 1
    await http.get(f"/bigin/bulk/v2/write/{job_id}/result")  # 1
    read = await http.post("/bigin/bulk/v2/read", json={"query": {"module": "Contacts"}})  # 50
    assert read.status_code == 201, read.text
    counters = emulator.counters
    assert counters.credits == 1 + 3 + 3 + 1 + 500 + 1 + 1 + 50
    assert counters.credits_by_route == {
        "GET /bigin/v2/Contacts": 4,
        "POST /bigin/v2/Contacts": 3,
        "content POST /bigin/v2/upload": 1,
        "POST /bigin/bulk/v2/write": 500,
        "GET /bigin/bulk/v2/write/{id}": 1,
        "GET /bigin/bulk/v2/write/{id}/result": 1,
        "POST /bigin/bulk/v2/read": 50,
    }
    assert emulator.middleware.credits_used() == counters.credits
    assert counters.snapshot()["credits"] == counters.credits
    counters.reset()
    assert counters.credits == 0 and counters.credits_by_route == {} and counters.file_host_by_route == {}


async def test_credits_leave_the_rolling_day(clock: FakeClock) -> None:
    now = [0.0]
    emulator = BiginEmulator(clock=clock)
    emulator.middleware.clock = lambda: now[0]
    async with authorised(emulator) as http:
        await write_job(http, [["Last_Name"], ["Ng"]])
        now[0] = 86_400.0
        await http.get("/bigin/v2/org")
    assert emulator.middleware.credits_used() == 1 and emulator.counters.credits == 502


async def test_the_daily_limit_charges_jobs_what_zoho_does(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, limits=ServerLimits(daily_credits=560))
    async with authorised(emulator) as http:
        await write_job(http, [["Last_Name"], ["Ng"]])  # 501
        assert (
            await http.post("/bigin/bulk/v2/read", json={"query": {"module": "Contacts"}})
        ).status_code == 201
        file_id = await uploaded(http, [["Last_Name"], ["Ito"]])  # 552
        refused = await create_write(http, file_id)
        assert refused.status_code == 429 and refused.json()["code"] == "LIMIT_EXCEEDED"
        assert emulator.files.unused(file_id) is not None and len(emulator.jobs.jobs) == 2
        for _ in range(8):
            assert (await http.get("/bigin/v2/org")).status_code == 200
        assert (await upload(http, csv_zip([["Last_Name"], ["X"]]))).status_code == 429  # uploads count too
    assert emulator.counters.credits == 560 and emulator.counters.rejected_by_limit == {"daily_credits": 2}


async def test_bodies_are_read_only_where_the_cost_depends_on_them(
    emulator: BiginEmulator, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[bytes | None] = []
    original = middleware._decoded_body

    def spy(body: bytes | None) -> Any:
        decoded.append(body)
        return original(body)

    monkeypatch.setattr(middleware, "_decoded_body", spy)
    await write_job(http, [["Last_Name"], ["Ng"]])  # an upload and a job: fixed costs, bodies unread
    await http.post("/bigin/bulk/v2/read", json={"query": {"module": "Contacts"}})
    await http.post(
        "/bigin/v2/Contacts/1/Attachments", files={"file": ("a.txt", b"hello", "text/plain")}
    )  # multipart: not JSON
    assert decoded == []
    answer = await http.post("/bigin/v2/Contacts", json={"data": [{"Last_Name": "A"}, {"Last_Name": "B"}]})
    assert answer.status_code == 201 and len(decoded) == 1  # decoded once, and the route used it
    assert emulator.counters.credits_by_route["POST /bigin/v2/Contacts"] == 1


async def test_an_injected_429_is_a_refusal_and_costs_no_credit() -> None:
    # Zoho charges nothing for a request it refuses with a 429 (the SDK gives those credits
    # back): the emulator's own limits did not charge, but a fault plan's 429 did, so a client's
    # stats() and the emulator's count parted by one credit per injected 429.
    from bigin_emulator import FaultPlan

    emulator = BiginEmulator(faults=FaultPlan(error_429=1.0), limits=ServerLimits(daily_credits=50))
    async with authorised(emulator) as http:
        answers = [(await http.get("/bigin/v2/Contacts")).status_code for _ in range(3)]
    assert answers == [429, 429, 429]
    assert emulator.counters.credits == 0
    assert emulator.middleware.credits_used() == 0
