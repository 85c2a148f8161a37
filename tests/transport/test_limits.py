"""The limiter's promises, checked with a fake clock over 10^4 calls (no real waiting)."""

from __future__ import annotations

from collections import deque

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigin_async._limits import Cooldown, DailyBudget, DailyCount, RateLimiter, daily_count, gcra_interval
from bigin_async.errors import BudgetExhaustedError
from tests.helpers.clock import SleepingClock as FakeClock


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
def test_no_window_ever_exceeds_n_for_any_arrival_pattern(
    per_minute: int, burst: int, gaps: list[float]
) -> None:
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


def allowance(budget: DailyBudget) -> int | None:
    """``budget.allowance`` read afresh (mypy would keep an earlier ``is None`` narrowing)."""
    return budget.allowance


def test_the_days_allowance_is_learned_from_the_daily_window_only() -> None:
    budget = DailyBudget(None, min_remaining=1, clock=FakeClock())
    assert allowance(budget) is None
    budget.sync({"x-ratelimit-limit": "60", "x-ratelimit-remaining": "3"})  # a proxy's minute
    budget.sync({"x-ratelimit-limit": "50000", "x-ratelimit-remaining": "9"}, reset_in=30.0)  # short
    budget.sync({"x-ratelimit-limit": "1e9", "x-ratelimit-remaining": "9"})  # not a plain count
    assert allowance(budget) is None
    budget.sync({"x-ratelimit-limit": "25000", "x-ratelimit-remaining": "700"})
    assert (allowance(budget), budget.remaining()) == (25000, 700)
    budget.sync({"x-ratelimit-remaining": "650"})  # a set without the limit keeps the one seen
    assert allowance(budget) == 25000
    assert allowance(DailyBudget(3000, clock=FakeClock())) == 3000  # the configured limit comes first
    configured = DailyBudget(3000, clock=FakeClock())
    configured.sync({"x-ratelimit-limit": "25000", "x-ratelimit-remaining": "700"})
    assert allowance(configured) == 3000


def test_daily_count_reads_the_three_figures_once() -> None:
    headers = {"x-ratelimit-limit": "25000", "x-ratelimit-remaining": "700"}
    assert daily_count(headers, reset_in=3600.0) == DailyCount(700, 3600.0, 25000)
    assert daily_count({"x-ratelimit-remaining": "7"}) == DailyCount(7, None, None)
    assert daily_count({"x-ratelimit-limit": "25000"}) is None


def test_budget_keeps_charging_calls_in_flight_across_a_sync() -> None:
    clock = FakeClock()
    budget = DailyBudget(None, min_remaining=1, clock=clock)
    budget.spend(1)  # call A sent
    budget.spend(1)  # call B sent
    budget.settle(1)  # A answered, with the server's count that does not include B yet
    budget.sync({"x-ratelimit-remaining": "3"}, reset_in=80_000.0)
    assert budget.remaining() == 2  # B is still charged


# -- #9.16: a synced figure is never trusted forever --------------------------------------------
def test_a_synced_figure_without_a_reset_expires_within_the_day() -> None:
    """One proxy's ``X-RateLimit-Remaining: 0`` without a reset must not lock the client out for good."""
    clock = FakeClock()
    budget = DailyBudget(None, min_remaining=1, clock=clock)
    budget.sync({"x-ratelimit-remaining": "0"})
    with pytest.raises(BudgetExhaustedError) as info:
        budget.spend(1)
    assert info.value.resets_in is not None and info.value.resets_in <= DailyBudget.WINDOW
    clock.now = DailyBudget.WINDOW + 1.0
    budget.spend(1)
    assert budget.remaining() is None


@pytest.mark.parametrize("reset_in", [10 * 86_400.0, 1e300, float("inf")])
def test_a_synced_figure_with_a_far_reset_is_trusted_one_day_at_most(reset_in: float) -> None:
    clock = FakeClock()
    budget = DailyBudget(None, min_remaining=1, clock=clock)
    budget.sync({"x-ratelimit-remaining": "0"}, reset_in=reset_in)
    with pytest.raises(BudgetExhaustedError):
        budget.spend(1)
    clock.now = DailyBudget.WINDOW + 1.0
    budget.spend(1)


def test_a_later_sync_replaces_the_figure_and_its_expiry() -> None:
    clock = FakeClock()
    budget = DailyBudget(None, min_remaining=1, clock=clock)
    budget.sync({"x-ratelimit-remaining": "5"})
    clock.now = 80_000.0
    budget.sync({"x-ratelimit-remaining": "50"})
    clock.now = DailyBudget.WINDOW + 10.0  # past the first figure's day, within the second's
    assert budget.remaining() == 50


@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "1e400", "-1", "abc", "", " ", "1_000", "0x1f"])
def test_an_unreadable_remaining_header_is_ignored(raw: str) -> None:
    """#9.7: ``inf`` used to raise OverflowError after the call was answered; ``-1`` refused every call."""
    clock = FakeClock()
    budget = DailyBudget(None, min_remaining=1, clock=clock)
    budget.sync({"x-ratelimit-remaining": raw})
    budget.sync({"x-ratelimit-remaining": raw}, reset_in=float("nan"))
    assert budget.remaining() is None
    budget.spend(1)


@settings(max_examples=200, deadline=None)
@given(raw=st.text(max_size=30), reset=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_sync_never_raises_whatever_the_headers_say(raw: str, reset: float | None) -> None:
    budget = DailyBudget(None, min_remaining=1, clock=FakeClock())
    budget.sync({"x-ratelimit-remaining": raw}, reset_in=reset)
    remaining = budget.remaining()
    assert remaining is None or remaining >= 0


# -- #9.20: the limiter bounds the real send times, whatever the event loop does -------------------
class SimClock:
    """Fake time driven by the test: sleepers wake only when the driver moves the clock past them.

    A *stall* moves the clock further than the earliest sleeper asked for, as a blocking call in
    the event loop would: everyone whose time passed meanwhile wakes at once.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.sleepers: list[tuple[float, anyio.Event]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self.now:
            return
        event = anyio.Event()
        self.sleepers.append((deadline, event))
        await event.wait()

    def advance(self, stall: float) -> None:
        self.now = max(self.now, min(t for t, _ in self.sleepers)) + stall
        due = [(t, e) for t, e in self.sleepers if t <= self.now]
        self.sleepers = [(t, e) for t, e in self.sleepers if t > self.now]
        for _, event in due:
            event.set()


async def _simulate(per_minute: int, calls: int, tasks: int, stalls: dict[int, float]) -> list[float]:
    """``tasks`` callers share ``calls`` acquisitions; step ``k`` of the driver stalls ``stalls[k]`` s."""
    clock = SimClock()
    limiter = RateLimiter.per_minute(per_minute, clock=clock, sleep_until=clock.sleep_until)
    sends: list[float] = []
    left = calls

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await limiter.acquire()
            sends.append(clock())  # the real send time: when the caller actually goes

    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(caller)
        for step in range(20 * calls):  # bounded: each step wakes at least one sleeper
            await anyio.wait_all_tasks_blocked()
            if not clock.sleepers:
                break
            clock.advance(stalls.get(step, 0.0))
    assert len(sends) == calls
    return sends


async def test_an_event_loop_stall_does_not_let_reserved_slots_fire_together() -> None:
    """An 8 s blocking call used to let 66 sends into one rolling minute for N = 60."""
    sends = await _simulate(60, 240, tasks=20, stalls={70: 8.0, 150: 8.0})
    assert worst_window(sorted(sends)) <= 60


@pytest.mark.parametrize("per_minute", [10, 20, 60, 600])
async def test_without_stalls_the_real_sends_keep_95_percent_of_n(per_minute: int) -> None:
    sends = sorted(await _simulate(per_minute, 3 * per_minute, tasks=15, stalls={}))
    assert worst_window(sends) <= per_minute
    assert (len(sends) - 1) / (sends[-1] - sends[0]) * 60.0 >= 0.95 * per_minute


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    per_minute=st.sampled_from([10, 20, 60, 600]),
    tasks=st.integers(min_value=1, max_value=25),
    stalls=st.dictionaries(
        st.integers(min_value=0, max_value=400), st.floats(min_value=0.0, max_value=30.0), max_size=8
    ),
    jitter=st.booleans(),
)
def test_no_rolling_window_of_real_sends_holds_more_than_n(
    anyio_backend: str, per_minute: int, tasks: int, stalls: dict[int, float], jitter: bool
) -> None:
    calls = min(2 * per_minute + 30, 400)
    sends = sorted(anyio.run(_simulate, per_minute, calls, tasks, stalls, backend=anyio_backend))
    assert worst_window(sends) <= per_minute
    if jitter:  # each send may land up to the latency allowance (2 s) late at the server
        late = sorted(t + (1.999 if i % 3 == 0 else 0.0) for i, t in enumerate(sends))
        assert worst_window(late) <= per_minute


def test_a_proxy_s_per_minute_set_without_a_reset_is_ignored() -> None:
    """Limit 60, Remaining 0, no reset: a proxy's minute, not the day: adopting it refused calls for a day."""
    clock = FakeClock()
    budget = DailyBudget(None, min_remaining=1, clock=clock)
    budget.sync({"x-ratelimit-limit": "60", "x-ratelimit-remaining": "0"})
    assert budget.remaining() is None
    budget.spend(1)
    budget.settle(1)
    budget.sync({"x-ratelimit-limit": "25000", "x-ratelimit-remaining": "7"})  # a daily-sized set is kept
    assert budget.remaining() == 7
