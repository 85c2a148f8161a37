"""The infrastructure under the real routes: faults and limits as a client of BiginEmulator sees them."""

from __future__ import annotations

import httpx
import pytest

from bigin_emulator.emulator import BiginEmulator
from bigin_emulator.server.faults import FaultPlan, ServerLimits

CONTACT = {"data": [{"Last_Name": "Dropped", "Email": "dropped.after@example.com"}], "trigger": []}


async def _matches(emulator: BiginEmulator, token: str, email: str) -> int:
    async with emulator.http_client(token=token) as client:
        found = await client.get("/bigin/v2/Contacts/search", params={"email": email})
    return 0 if found.status_code == 204 else len(found.json()["data"])


@pytest.mark.parametrize(("fault", "stored"), [("drop_before", 0), ("drop_after", 1)])
async def test_a_dropped_insert_is_applied_only_when_dropped_after(fault: str, stored: int) -> None:
    plan = FaultPlan(**{fault: 1.0}, methods=frozenset({"POST"}))  # type: ignore[arg-type]
    emulator = BiginEmulator(faults=plan)
    token = emulator.issue_token()
    async with emulator.http_client(token=token) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/bigin/v2/Contacts", json=CONTACT)
    assert await _matches(emulator, token, "dropped.after@example.com") == stored
    assert emulator.counters.faults_injected == {fault: 1}


async def test_real_routes_carry_rate_limit_headers_and_are_counted() -> None:
    emulator = BiginEmulator(seed_records=3, limits=ServerLimits(daily_credits=100))
    token = emulator.issue_token()
    async with emulator.http_client(token=token) as client:
        listing = await client.get("/bigin/v2/Contacts", params={"fields": "Last_Name"})
        one = await client.get(f"/bigin/v2/Contacts/{listing.json()['data'][0]['id']}")
    assert listing.status_code == 200 and one.status_code == 200
    assert one.headers["x-ratelimit-remaining"] == "98"
    assert emulator.counters.requests_by_route == {
        "GET /bigin/v2/Contacts": 1,
        "GET /bigin/v2/Contacts/{id}": 1,
    }
