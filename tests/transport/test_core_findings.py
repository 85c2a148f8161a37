"""Regression tests for the bugs a review of the core found (each failed before its fix).

The tests use httpx.MockTransport (no sockets), a fake clock, or trio's virtual clock:
nothing here sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from trio.testing import MockClock

from bigin_async import BiginClient
from bigin_async._limits import Cooldown, DailyBudget
from bigin_async.bulk import BulkAbortedError
from bigin_async.errors import BiginError, BudgetExhaustedError, ServerError
from tests.helpers.transport import make_client, token_body

Handler = Callable[[httpx.Request], httpx.Response]


def _zoho(api: Handler) -> httpx.MockTransport:
    """Zoho's two hosts in one transport: the token endpoint always answers, ``api`` the rest."""

    def route(request: httpx.Request) -> httpx.Response:
        if "/oauth/" in request.url.path:
            return httpx.Response(200, json=token_body())
        return api(request)

    return httpx.MockTransport(route)


def _forbidden(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        403, json={"code": "NO_PERMISSION", "status": "error", "message": "no", "details": {}}
    )


def _max_in_window(times: list[float], window: float = 60.0) -> int:
    """The most arrivals any rolling window of ``window`` seconds holds (as the server counts)."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


# 1 ------------------------------------------------------------------------------------------
async def test_token_never_sent_to_a_foreign_or_plain_http_host() -> None:
    seen: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with make_client(transport=_zoho(api)) as bigin:
        for url in ("http://attacker.example/steal", "https://attacker.example/steal"):
            try:
                await bigin.request("GET", url)
            except BiginError:
                pass
    leaked = [str(r.url) for r in seen if r.url.host != "www.zohoapis.com" and "authorization" in r.headers]
    assert leaked == []


# 2 ------------------------------------------------------------------------------------------
async def test_deadline_bounds_a_server_advised_429_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    real_wait = Cooldown.wait

    async def refusing_wait(self: Cooldown) -> None:
        if self.remaining > 0:
            waits.append(self.remaining)
            raise RuntimeError(f"would pause {self.remaining:.0f}s though the deadline is 5s")
        await real_wait(self)

    monkeypatch.setattr(Cooldown, "wait", refusing_wait)

    def api(request: httpx.Request) -> httpx.Response:
        body = {"code": "TOO_MANY_REQUESTS", "status": "error", "message": "slow down"}
        return httpx.Response(429, headers={"Retry-After": "120"}, json=body)

    async with make_client(transport=_zoho(api), deadline=5.0) as bigin:
        with pytest.raises(BiginError):
            await bigin.request("GET", "/Contacts/1")
    assert waits == []


# 3 ------------------------------------------------------------------------------------------
def test_budget_sync_forgets_credits_of_calls_still_in_flight() -> None:
    budget = DailyBudget(None, min_remaining=1, clock=lambda: 0.0)
    budget.sync({"x-ratelimit-remaining": "3"}, reset_in=80_000)
    budget.spend(1)  # call A sent
    budget.spend(1)  # call B sent: 1 credit will remain
    # A's answer: when the server answered A it had not counted B yet.
    budget.sync({"x-ratelimit-remaining": "2"}, reset_in=80_000)
    # B will still be counted, so a third call would leave 0 < min_calls_remaining.
    with pytest.raises(BudgetExhaustedError):
        budget.spend(1)


# 4 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": MockClock(autojump_threshold=0)}), id="trio-virtual-clock")],
)
async def test_bulk_limiter_wait_after_the_minute_reservation_overfills_a_minute(anyio_backend: Any) -> None:
    arrivals: list[float] = []

    def api(request: httpx.Request) -> httpx.Response:
        arrivals.append(anyio.current_time())
        return httpx.Response(
            200, json={"data": [{"code": "SUCCESS", "status": "success", "details": {"id": "1"}}]}
        )

    async def bulk_call(bigin: BiginClient) -> None:
        await bigin.transport.send("POST", "/Contacts/upsert", json={"data": [{"Email": "a@b.c"}]}, bulk=True)

    async with BiginClient(
        access_token="1000.x",
        requests_per_minute=10,
        bulk_operations_per_minute=2,
        transport=httpx.MockTransport(api),
    ) as bigin:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(bulk_call, bigin)
                await anyio.lowlevel.checkpoint()  # the bulk calls queue first
            for _ in range(30):
                tg.start_soon(bigin.request, "GET", "/org")
    assert len(arrivals) == 35
    assert _max_in_window(arrivals) <= 10  # requests_per_minute, as the server counts them


# 5 ------------------------------------------------------------------------------------------
def _undecodable(request: httpx.Request) -> httpx.Response:
    # The server applied the insert; the (gzip) body was cut off on the way back.
    return httpx.Response(201, headers={"Content-Encoding": "gzip"}, content=b"\x1f\x8b cut off")


async def test_undecodable_answer_is_a_typed_error_not_a_raw_httpx_one() -> None:
    async with make_client(transport=_zoho(_undecodable)) as bigin:
        with pytest.raises(BiginError):
            await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "x"}]})


async def test_bulk_create_survives_an_undecodable_answer_and_reports_every_record() -> None:
    async with make_client(transport=_zoho(_undecodable)) as bigin:
        result = await bigin.contacts.bulk_create([{"Last_Name": f"x{i}"} for i in range(150)])
    assert result.total == 150
    assert result.counts["unknown"] == 150  # applied or not: reported, never re-sent


# 6 ------------------------------------------------------------------------------------------
async def test_bulk_writer_abort_raises_bulk_aborted_error_not_an_exception_group() -> None:
    async with make_client(transport=_zoho(_forbidden)) as bigin:
        with pytest.raises(BulkAbortedError):
            async with bigin.contacts.bulk_writer() as writer:
                for i in range(150):
                    await writer.add({"Last_Name": f"x{i}"})


# 7 ------------------------------------------------------------------------------------------
async def test_bulk_abort_does_not_swallow_a_record_it_read_from_the_input() -> None:
    consumed: list[int] = []

    def records() -> Iterator[dict[str, str]]:
        for i in range(1000):
            consumed.append(i)
            yield {"Last_Name": f"x{i}"}

    async with make_client(transport=_zoho(_forbidden)) as bigin:
        with pytest.raises(BulkAbortedError) as caught:
            await bigin.contacts.bulk_create(records())
    # A record taken from a one-shot input and not reported is lost to the caller.
    assert caught.value.result.total == len(consumed)


# 8 ------------------------------------------------------------------------------------------
async def test_request_level_403_on_a_one_record_batch_is_not_journaled_as_the_records_fate(
    tmp_path: Path,
) -> None:
    journal = str(tmp_path / "import.journal")
    allowed = False
    posts: list[int] = []

    def api(request: httpx.Request) -> httpx.Response:
        if not allowed:
            return _forbidden(request)
        posts.append(1)
        entry = {
            "code": "SUCCESS",
            "status": "success",
            "message": "record added",
            "details": {"id": "7000000000000000001"},
        }
        return httpx.Response(201, json={"data": [entry]})

    async with make_client(transport=_zoho(api)) as bigin:
        try:
            await bigin.contacts.bulk_create([{"Last_Name": "a"}], journal=journal)
        except BulkAbortedError:
            pass
        allowed = True  # the admin grants the permission; the same run is resumed
        result = await bigin.contacts.bulk_create([{"Last_Name": "a"}], journal=journal)
    assert posts == [1]
    assert [o.status for o in result] == ["success"]


# 9 ------------------------------------------------------------------------------------------
async def test_bulk_delete_retried_after_a_lost_answer_reports_deleted_records_as_deleted() -> None:
    ids = [str(7000000000000000000 + i) for i in range(3)]
    alive = set(ids)
    attempts: list[int] = []

    def api(request: httpx.Request) -> httpx.Response:
        entries = []
        for record_id in request.url.params["ids"].split(","):
            if record_id in alive:
                alive.discard(record_id)
                entries.append(
                    {
                        "code": "SUCCESS",
                        "details": {"id": record_id},
                        "message": "record deleted",
                        "status": "success",
                    }
                )
            else:
                entries.append(
                    {
                        "code": "INVALID_DATA",
                        "details": {"id": record_id},
                        "message": "the id given seems to be invalid",
                        "status": "error",
                    }
                )
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ReadTimeout(
                "the answer was lost after the server applied the delete", request=request
            )
        ok = all(entry["status"] == "success" for entry in entries)
        return httpx.Response(200 if ok else 400, json={"data": entries})

    async with make_client(transport=_zoho(api)) as bigin:
        result = await bigin.contacts.bulk_delete(ids)
    assert alive == set()
    assert len(attempts) == 2
    assert [o.status for o in result] == ["success"] * 3


# 10 -----------------------------------------------------------------------------------------
async def test_persistent_401_does_not_mint_a_token_per_call() -> None:
    minted: list[int] = []

    def route(request: httpx.Request) -> httpx.Response:
        if "/oauth/" in request.url.path:
            minted.append(1)
            return httpx.Response(200, json=token_body(f"1000.t{len(minted)}"))
        return httpx.Response(
            401, json={"code": "INVALID_TOKEN", "status": "error", "message": "invalid oauth token"}
        )

    async with make_client(transport=httpx.MockTransport(route)) as bigin:
        for _ in range(20):
            with pytest.raises(BiginError):
                await bigin.request("GET", "/org")
    assert len(minted) <= 10


# 11 -----------------------------------------------------------------------------------------
async def test_5xx_retry_after_longer_than_max_retry_after_raises_instead_of_retrying() -> None:
    calls: list[int] = []

    def api(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            body = {"code": "SERVICE_UNAVAILABLE", "status": "error", "message": "maintenance"}
            return httpx.Response(503, headers={"Retry-After": "600"}, json=body)
        return httpx.Response(200, json={"org": []})

    async with make_client(transport=_zoho(api), max_retry_after=10) as bigin:
        with pytest.raises(ServerError):
            await bigin.request("GET", "/org")
    assert calls == [1]
