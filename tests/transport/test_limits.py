"""The limiter's promises, checked with a fake clock over 10^4 calls (no real waiting)."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigin_async.errors import BudgetExhaustedError
from bigin_async.limits import Cooldown, DailyBudget, RateLimiter, gcra_interval


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep_until(self, deadline: float) -> None:
        self.now = max(self.now, deadline)


def worst_window(times: list[float], window: float = 60.0) -> int:
    """The largest number of arrivals in any half-open window [t, t + window)."""
    best = 0
    start = 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("per_minute", [10, 20, 30, 100, 600])
async def test_worst_rolling_window_and_sustained_rate_over_10k_calls(per_minute: int) -> None:
    clock = FakeClock()
    limiter = RateLimiter.per_minute(per_minute, clock=clock, sleep_until=clock.sleep_until)
    sends = [await limiter.acquire() for _ in range(10_000)]
    assert sends == sorted(sends)
    assert worst_window(sends) <= per_minute
    # Even if each call lands at the server up to 2 s late (the latency allowance), no window breaks.
    jittered = sorted(t + (1.999 if i % 2 else 0.0) for i, t in enumerate(sends))
    assert worst_window(jittered) <= per_minute
    sustained_per_minute = (len(sends) - 1) / (sends[-1] - sends[0]) * 60.0
    assert sustained_per_minute >= 0.95 * per_minute


@settings(max_examples=60, deadline=None)
@given(
    per_minute=st.integers(min_value=1, max_value=300),
    burst=st.integers(min_value=1, max_value=10),
    gaps=st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=50, max_size=400),
)
def test_no_window_ever_exceeds_n_for_any_arrival_pattern(per_minute: int, burst: int, gaps: list[float]) -> None:
    burst = min(burst, per_minute)
    clock = FakeClock()
    limiter = RateLimiter(gcra_interval(per_minute, burst=burst), burst=burst, clock=clock)
    sends = []
    for gap in gaps:
        clock.now += gap
        start = limiter.reserve()
        sends.append(start)
    assert worst_window(sorted(sends)) <= per_minute


def test_naive_bucket_would_have_allowed_double() -> None:
    """Why GCRA: the naive interval 60/N still keeps one window at N, but a burst of N does not."""
    assert gcra_interval(600) == pytest.approx(62 / 600)
    with pytest.raises(ValueError):
        gcra_interval(0)


async def test_reservations_are_fifo() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock, sleep_until=clock.sleep_until)
    order = deque([limiter.reserve() for _ in range(5)])
    assert list(order) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_daily_budget_rolls_over_after_24_hours() -> None:
    clock = FakeClock()
    budget = DailyBudget(5, min_remaining=1, clock=clock)
    for _ in range(4):
        budget.spend(1)
    with pytest.raises(BudgetExhaustedError) as info:
        budget.spend(1)
    assert info.value.resets_in == pytest.approx(86_400.0)
    clock.now = 86_400.5
    budget.spend(1)
    assert budget.remaining() == 4


def test_daily_budget_takes_the_stricter_of_limit_and_server() -> None:
    clock = FakeClock()
    budget = DailyBudget(1000, min_remaining=0, clock=clock)
    budget.sync({"x-ratelimit-remaining": "3"}, reset_in=1000.0)
    budget.spend(2)
    assert budget.remaining() == 1
    clock.now = 1001.0  # the server's window reset: its number no longer applies
    assert budget.remaining() == 998


async def test_cooldown_extends_and_ends() -> None:
    clock = FakeClock()
    cooldown = Cooldown(clock=clock)
    cooldown.open_for(5)
    cooldown.open_for(2)  # a shorter wait never shortens an open cooldown
    assert cooldown.remaining == 5
    clock.now = 5.0
    assert cooldown.remaining == 0
    await cooldown.wait()  # returns at once when over


def test_daily_budget_ignores_a_per_minute_header_set() -> None:
    clock = FakeClock()
    budget = DailyBudget(None, min_remaining=1, clock=clock)
    budget.sync({"x-ratelimit-remaining": "2"}, reset_in=40.0)  # a per-minute window's count
    assert budget.remaining() is None
    for _ in range(50):
        budget.spend(10)  # nothing refused: the day is not what that header described
        budget.settle(10)
    budget.sync({"x-ratelimit-remaining": "20"}, reset_in=80_000.0)
    assert budget.remaining() == 20


def test_budget_keeps_charging_calls_in_flight_across_a_sync() -> None:
    clock = FakeClock()
    budget = DailyBudget(None, min_remaining=1, clock=clock)
    budget.spend(1)  # call A sent
    budget.spend(1)  # call B sent
    budget.settle(1)  # A answered, with the server's count that does not include B yet
    budget.sync({"x-ratelimit-remaining": "3"}, reset_in=80_000.0)
    assert budget.remaining() == 2  # B is still charged
