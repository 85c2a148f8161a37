"""Adversarial review of the request pipeline (issue #9): pacing records, cooldown, deadline, tokens."""

from __future__ import annotations

from collections import deque
from typing import Any

import anyio
import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigin_async import BiginTimeoutError, BudgetExhaustedError
from bigin_async._limits import RateLimiter, pace
from tests.helpers.transport import API, TOKEN_URL, make_client, mock_token, token_body
from tests.transport.test_limits import SimClock, worst_window


def _limiter(bigin: Any) -> RateLimiter:
    limiter: RateLimiter | None = bigin._transport._shared.minute_limiter
    assert limiter is not None
    return limiter


def _sends(limiter: RateLimiter) -> deque[float]:
    """The limiter's record of real send times (kept by every limiter with a limit)."""
    assert limiter._sent is not None
    return limiter._sent


# -- the limiters' record of real sends holds only sends that happened -----------------------------
async def test_a_call_bounced_by_a_cooldown_after_pacing_records_no_send() -> None:
    """A 429 that opens the cooldown while a call paces sends it back to wait: the send time it
    recorded never happened, and phantom sends in the record slow every later call."""
    with respx.mock() as router:
        mock_token(router)
        api = router.get(f"{API}/org").respond(json={"org": []})
        async with make_client(requests_per_minute=600) as bigin:
            limiter = _limiter(bigin)
            shared = bigin._transport._shared
            real_sleep_until = limiter._sleep_until
            opened: list[bool] = []

            async def sleep_then_429(deadline: float) -> None:
                if not opened:  # as if another call got a 429 with Retry-After while this one paced
                    opened.append(True)
                    shared.cooldown.open_for(0.3)
                await real_sleep_until(deadline)

            limiter._sleep_until = sleep_then_429
            with anyio.fail_after(10):
                await bigin.request("GET", "/org")
                await bigin.request("GET", "/org")
        assert opened
        assert api.call_count == 2
        assert len(_sends(limiter)) == api.call_count


async def test_a_call_the_daily_budget_refuses_records_no_send() -> None:
    """A call refused before sending (too few credits left) must not take a place among the
    last N sends: it never reached Zoho."""
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        api = router.post(f"{API}/Contacts").respond(201, json={"data": []})
        async with make_client(requests_per_minute=600, daily_limit=5, min_calls_remaining=1) as bigin:
            limiter = _limiter(bigin)
            with pytest.raises(BudgetExhaustedError):
                await bigin.request(
                    "POST", "/Contacts", json={"data": [{"Last_Name": str(i)} for i in range(50)]}
                )
        assert api.call_count == 0
        assert len(_sends(limiter)) == 0


# -- every limiter, the intercall delay among them, bounds the real send times ------------------
async def _simulate_all(
    calls: int, tasks: int, stalls: dict[int, float], bulk_every: int, cancels: frozenset[int] = frozenset()
) -> dict[str, list[float]]:
    """Callers pace through the three limiters; driver step ``k`` stalls ``stalls[k]`` s, and at
    the steps in ``cancels`` the longest-waiting caller is cancelled (its deadline) before it goes."""
    clock = SimClock()
    bulk = RateLimiter.per_minute(10, clock=clock, sleep_until=clock.sleep_until)
    minute = RateLimiter.per_minute(60, clock=clock, sleep_until=clock.sleep_until)
    intercall = RateLimiter.between_calls(0.5, clock=clock, sleep_until=clock.sleep_until)
    sends: dict[str, list[float]] = {"bulk": [], "all": []}
    left = calls

    waiting: list[anyio.CancelScope] = []
    cancelled = 0

    async def caller() -> None:
        nonlocal left, cancelled
        while left > 0:
            left -= 1
            is_bulk = left % bulk_every == 0
            with anyio.CancelScope() as scope:
                waiting.append(scope)
                await pace([bulk, minute, intercall] if is_bulk else [minute, intercall])
                waiting.remove(scope)
                sends["all"].append(clock())
                if is_bulk:
                    sends["bulk"].append(clock())
            if scope.cancelled_caught:
                cancelled += 1

    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(caller)
        for step in range(40 * calls):  # bounded: each step wakes at least one sleeper
            await anyio.wait_all_tasks_blocked()
            if step in cancels and waiting:
                waiting.pop(0).cancel()
                continue
            if not clock.sleepers:
                break
            clock.advance(stalls.get(step, 0.0))
    assert len(sends["all"]) + cancelled == calls
    return sends


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tasks=st.integers(min_value=1, max_value=20),
    stalls=st.dictionaries(
        st.integers(min_value=0, max_value=300), st.floats(min_value=0.0, max_value=30.0), max_size=8
    ),
    bulk_every=st.integers(min_value=1, max_value=5),
    cancels=st.frozensets(st.integers(min_value=0, max_value=300), max_size=20),
)
def test_no_window_of_real_sends_breaks_the_bulk_minute_or_intercall_promise(
    anyio_backend: str, tasks: int, stalls: dict[int, float], bulk_every: int, cancels: frozenset[int]
) -> None:
    """Stalls and callers cancelled while they wait (their bookings handed back) never let a
    rolling window of real sends hold more than the bulk (10) or minute (60) cap, nor two real
    sends come closer than the intercall delay."""
    sends = anyio.run(_simulate_all, 150, tasks, stalls, bulk_every, cancels, backend=anyio_backend)
    every = sorted(sends["all"])
    assert worst_window(every) <= 60
    assert worst_window(sorted(sends["bulk"])) <= 10
    gaps = [b - a for a, b in zip(every, every[1:], strict=False)]
    assert min(gaps) >= 0.5 - 1e-9  # intercall_delay between real sends, even after a stall


async def test_an_event_loop_stall_does_not_send_intercall_spaced_calls_together() -> None:
    sends = await _simulate_all(40, 10, {5: 10.0}, bulk_every=1000)
    every = sorted(sends["all"])
    assert min(b - a for a, b in zip(every, every[1:], strict=False)) >= 0.5 - 1e-9


# -- a deadline that ends a call waiting for a refresh leaves the refresh to finish -----------------
async def test_a_deadline_while_waiting_for_a_refresh_does_not_abort_or_repeat_it() -> None:
    release = anyio.Event()
    minted = []

    async def slow_token(request: httpx.Request) -> httpx.Response:
        minted.append(request)
        await release.wait()
        return httpx.Response(200, json=token_body("the-one"))

    with respx.mock() as router:
        router.post(TOKEN_URL).mock(side_effect=slow_token)
        api = router.get(f"{API}/org").respond(json={"org": []})
        async with make_client(deadline=0.2) as bigin:
            with anyio.fail_after(10):
                with pytest.raises(BiginTimeoutError):
                    await bigin.request("GET", "/org")  # the deadline passes while the refresh is out
                assert minted
                release.set()
                await bigin.with_options(deadline=None).request("GET", "/org")
        assert len(minted) == 1
        assert api.calls.last.request.headers["Authorization"] == "Zoho-oauthtoken the-one"


# -- a send time booked by a call that cannot use it is not lost to the others -------------------
async def test_a_call_whose_next_send_time_is_past_its_deadline_books_nothing() -> None:
    """Express edition pace (here 2 a minute) with a 1 s deadline: the second call cannot go
    before its deadline. It used to book the slot anyway, sleep until cut, and leave it booked, so
    each timed-out call pushed every later call a further interval back, until none could go."""
    with respx.mock() as router:
        mock_token(router)
        api = router.get(f"{API}/org").respond(json={"org": []})
        async with make_client(requests_per_minute=2, deadline=1.0) as bigin:
            limiter = _limiter(bigin)
            with anyio.fail_after(20):
                await bigin.request("GET", "/org")
                for _ in range(3):
                    with pytest.raises(BiginTimeoutError, match="rate limit"):
                        await bigin.request("GET", "/org")
        assert api.call_count == 1
        # The next free time is unchanged.
        assert limiter._tat <= _sends(limiter)[-1] + limiter.interval + 1e-6


async def test_a_booking_given_up_by_a_cancelled_caller_goes_back_to_the_next() -> None:
    clock = SimClock()
    limiter = RateLimiter.per_minute(10, clock=clock, sleep_until=clock.sleep_until)
    assert await pace([limiter])
    first_free = limiter.earliest()
    async with anyio.create_task_group() as tg:
        tg.start_soon(pace, [limiter])
        await anyio.wait_all_tasks_blocked()
        assert limiter.earliest() > first_free  # booked by the waiting caller
        tg.cancel_scope.cancel()  # ...which is cancelled (its deadline, its task group) before it goes
    assert limiter.earliest() == first_free
    assert len(_sends(limiter)) == 1


# -- the shared 429 cooldown and the deadline ---------------------------------------------------
async def test_a_call_whose_deadline_ends_inside_the_shared_cooldown_raises_at_once() -> None:
    """Another call's 429 asked every call to wait an hour: a call with a 50-minute deadline
    cannot go before it, so it says so at once instead of sitting out its deadline."""
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        api = router.get(f"{API}/org").respond(json={"org": []})
        async with make_client(deadline=3000.0) as bigin:
            bigin._transport._shared.cooldown.open_for(3600.0)
            with anyio.fail_after(20):  # a safety net: waiting out the deadline would take 50 minutes
                with pytest.raises(BiginTimeoutError, match="429"):
                    await bigin.request("GET", "/org")
        assert api.call_count == 0


async def test_a_cooldown_reopened_again_and_again_ends_the_call_at_its_deadline() -> None:
    """429s on other calls keep reopening the cooldown: the waiting call never goes, and its
    deadline (not an endless wait) ends it."""
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        api = router.get(f"{API}/org").respond(json={"org": []})
        async with make_client(deadline=0.5) as bigin:
            cooldown = bigin._transport._shared.cooldown
            done = anyio.Event()

            async def keep_reopening() -> None:
                while not done.is_set():
                    cooldown.open_for(0.1)
                    await anyio.sleep(0.05)  # the other calls' 429s, twice as often as it would end

            async with anyio.create_task_group() as tg:
                tg.start_soon(keep_reopening)
                with anyio.fail_after(20), pytest.raises(BiginTimeoutError):
                    await bigin.request("GET", "/org")
                done.set()
        assert api.call_count == 0


# -- calls cancelled anywhere in an attempt leak nothing -----------------------------------------
@pytest.mark.parametrize("seed", range(3))
async def test_calls_cancelled_at_any_point_leave_no_slot_credit_or_phantom_send(seed: int) -> None:
    """Forty calls, each cut by its caller after a random moment: while queueing at the gate,
    pacing, waiting for the token, or on the wire. The gate, the credits in flight and the
    limiter's record of real sends must all end as if only the sent calls had happened."""
    import random

    rng = random.Random(seed)
    reached = 0

    async def slow_server(request: httpx.Request) -> httpx.Response:
        nonlocal reached
        reached += 1
        await anyio.sleep(rng.uniform(0.0, 0.02))  # the server's own pace
        return httpx.Response(200, json={"org": []})

    with respx.mock() as router:
        router.post(TOKEN_URL).respond(json=token_body())
        router.get(f"{API}/org").mock(side_effect=slow_server)
        async with make_client(requests_per_minute=6000, max_concurrency=3, daily_limit=100_000) as bigin:
            limiter = _limiter(bigin)
            shared = bigin._transport._shared

            async def one(cut: float) -> None:
                with anyio.move_on_after(cut):
                    await bigin.request("GET", "/org")

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    for _ in range(40):
                        tg.start_soon(one, rng.uniform(0.0, 0.1))
            assert shared.gate.in_flight == 0
            assert shared.budget._in_flight == 0
            assert len(_sends(limiter)) <= reached  # no send recorded that never reached the server...
            assert len(_sends(limiter)) >= reached  # ...and every one that did is recorded
            assert shared.budget.remaining() == 100_000 - len(_sends(limiter))
