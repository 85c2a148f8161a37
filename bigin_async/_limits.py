"""Pacing primitives: concurrency gate, per-minute limiter, daily credit budget, 429 cooldown.

All built on anyio so they work under asyncio and trio alike. Each is shared by a client and
all of its ``with_options`` views: limits belong to the org, not to one code path.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import NamedTuple

import anyio

from bigin_async.errors import BudgetExhaustedError

__all__ = [
    "ConcurrencyGate",
    "Cooldown",
    "CreditsReport",
    "DailyBudget",
    "RateLimiter",
    "daily_count",
    "gcra_interval",
    "pace",
]

Clock = Callable[[], float]
SleepUntil = Callable[[float], Awaitable[None]]


class ConcurrencyGate:
    """At most ``limit`` calls in flight; waiters are served first come, first served.

    anyio's semaphore hands a released slot straight to the longest waiter, so a burst of
    callers cannot starve an early one. ``in_flight``/``peak`` exist for tests and metrics.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # fast_acquire: a free slot is taken without a scheduling round trip (FIFO is kept for waiters).
        self._semaphore = anyio.Semaphore(limit, fast_acquire=True)
        self.in_flight = 0
        self.peak = 0

    async def __aenter__(self) -> ConcurrencyGate:
        await self._semaphore.acquire()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.in_flight -= 1
        self._semaphore.release()


def gcra_interval(
    per_window: int, *, window: float = 60.0, latency_allowance: float = 2.0, burst: int = 1
) -> float:
    """Emission interval so that no rolling window, as the server counts arrivals, holds more than N.

    A request reserved for time t arrives at the server somewhere in [t, t + J]. With burst B and
    interval T, any window of length W holds at most ``B + floor((W + J) / T) - 1`` reservations
    whose arrivals can fall inside it; T = (W + J) / (N - B + 1) makes that at most N.
    """
    if per_window < 1:
        raise ValueError("per_window must be >= 1")
    if not 1 <= burst <= per_window:
        raise ValueError("burst must be between 1 and per_window")
    return (window + latency_allowance) / (per_window - burst + 1)


class RateLimiter:
    """GCRA in reservation form: each caller gets its own send time, in FIFO order, no polling.

    The state is one number, the theoretical arrival time (TAT). A reservation is granted at
    ``max(now, TAT - tau)`` where ``tau = (burst - 1) * interval``, and pushes TAT one interval
    on. Callers then sleep until their own time, outside the lock, so one slow sleeper never
    delays the bookkeeping of the others.
    """

    def __init__(
        self,
        interval: float,
        *,
        burst: int = 1,
        clock: Clock | None = None,
        sleep_until: SleepUntil | None = None,
        window: float | None = None,
        limit: int | None = None,
        latency_allowance: float = 0.0,
    ) -> None:
        if interval < 0 or math.isnan(interval):
            raise ValueError("interval must be >= 0")
        if (window is None) != (limit is None) or (limit is not None and limit < 1):
            raise ValueError("window and limit go together, and limit must be >= 1")
        if not 0.0 <= latency_allowance < (window or math.inf):
            raise ValueError("latency_allowance must be >= 0 and below the window")
        self.interval = interval
        self._tau = (burst - 1) * interval
        self._tat = -math.inf
        self._clock: Clock = clock or anyio.current_time
        self._sleep_until: SleepUntil = sleep_until or anyio.sleep_until
        # The real send times of the last ``limit`` callers. Reservations alone keep the
        # *reserved* times apart; after an event-loop stall, callers whose times passed meanwhile
        # all wake at once, and only the real times can say whether one more would crowd a window.
        self._window = window if window is not None else 0.0
        self._sent: deque[float] | None = deque(maxlen=limit) if limit is not None else None
        self._limit = limit or 0
        # With a latency allowance J (a per-minute limiter): for each send of the last window, the
        # latest its arrival at the server can be, ascending: send + J until it is answered, then
        # the answer's time (it arrived before it was answered). No rolling window of
        # ``window - J`` seconds holds more than ``limit`` arrivals if each send waits until at
        # most ``limit - 1`` of these bounds are later than a window before it (see window_opens).
        self._allowance = latency_allowance
        self._span = self._window - latency_allowance
        self._bounds: list[float] | None = [] if latency_allowance > 0 and limit is not None else None
        # The same bounds and, for each send booked and not yet made, its booked time + J: what a
        # new booking is placed after, so that bookings keep their order (FIFO) and the time one
        # is given is the time it will send (the deadline check relies on it), however slow the
        # answers. The real sends are then checked against ``_bounds`` alone.
        self._planned: list[float] | None = [] if self._bounds is not None else None

    @classmethod
    def per_minute(
        cls,
        calls: int,
        *,
        latency_allowance: float = 2.0,
        burst: int = 1,
        clock: Clock | None = None,
        sleep_until: SleepUntil | None = None,
    ) -> RateLimiter:
        # The bookings are spaced for the minute itself; the record of real sends keeps the
        # arrivals apart: a send waits until at most ``calls - 1`` of the last ones may arrive within
        # the minute before it, each one counted as arriving up to ``latency_allowance`` late until
        # its answer says when it had arrived at the latest. Unanswered, ``calls + 1`` sends span a
        # minute plus the allowance (as a GCRA spaced by it would keep them); answered in 50 ms, a
        # minute and 50 ms, so a sustained run reaches ~99.9% of the cap rather than 60/62 of it.
        interval = gcra_interval(calls, window=60.0, latency_allowance=0.0, burst=burst)
        return cls(
            interval,
            burst=burst,
            clock=clock,
            sleep_until=sleep_until,
            window=60.0 + latency_allowance,
            limit=calls,
            latency_allowance=latency_allowance,
        )

    @classmethod
    def between_calls(
        cls, delay: float, *, clock: Clock | None = None, sleep_until: SleepUntil | None = None
    ) -> RateLimiter:
        """At least ``delay`` seconds between two real sends (the ``intercall_delay`` setting).

        Booked times alone keep only the *booked* sends apart: a call that waited on another
        limiter, or woke late from an event-loop stall, would go together with the next one.
        The record of the last real send keeps the real ones apart too.
        """
        return cls(delay, clock=clock, sleep_until=sleep_until, window=delay, limit=1)

    def window_opens(self) -> float:
        """When one more real send keeps every window within the limit (``-inf``: already)."""
        bounds = self._bounds
        if bounds is not None:
            return self._opens(bounds)
        sent = self._sent
        if sent is None or len(sent) < (sent.maxlen or 0):
            return -math.inf
        return sent[0] + self._window

    def _opens(self, bounds: list[float]) -> float:
        """When at most ``limit - 1`` of ``bounds`` (latest arrivals, ascending) fall within ``span``
        before a send: the arrivals that may share a window with one at t are those whose bound is
        after t - span."""
        horizon = self._clock() - self._span
        if bounds and bounds[0] <= horizon:  # can never share a window with a later send
            del bounds[: bisect.bisect_right(bounds, horizon)]
        if len(bounds) < self._limit:
            return -math.inf
        return bounds[-self._limit] + self._span

    def earliest(self) -> float:
        """The soonest send time this limiter would grant now (nothing is booked)."""
        soonest = max(self._clock(), self._tat - self._tau, self.window_opens())
        planned = self._planned
        return soonest if planned is None else max(soonest, self._opens(planned))

    def reserve(self) -> float:
        """Book the next send time (synchronous: callable from any task without awaiting); a
        booking is given back with :meth:`unbook` or made with :meth:`record` (``booked=``)."""
        start = self.earliest()
        self.commit(start)
        if self._planned is not None:
            _insort(self._planned, start + self._allowance)
        return start

    def unbook(self, start: float) -> None:
        """The send booked at ``start`` will not be made (its caller gave its time up)."""
        if self._planned is not None:
            _remove(self._planned, start + self._allowance)

    def replan(self, start: float, later: float) -> None:
        """The send booked at ``start`` will go at ``later`` (another limiter holds it back till
        then): later bookings are placed after the time it really goes."""
        planned = self._planned
        if planned is not None and later > start:
            _remove(planned, start + self._allowance)  # gone already when it could no longer matter
            _insort(planned, later + self._allowance)

    def record(self, sent_at: float, *, booked: float | None = None) -> float:
        """Note a real send at ``sent_at`` (the caller's clock when it went), the one booked at
        ``booked`` if :meth:`reserve` gave it; returns the latest its arrival can be, for
        :meth:`answered`."""
        if self._sent is not None:
            self._sent.append(sent_at)
        bound = sent_at + self._allowance
        if self._bounds is not None and self._planned is not None:
            _insort(self._bounds, bound)
            if booked is not None:
                _remove(self._planned, booked + self._allowance)
            _insort(self._planned, bound)
        return bound

    def answered(self, bound: float, at: float) -> None:
        """The send whose :meth:`record` gave ``bound`` was answered at ``at``: it had arrived by
        then, so its arrival is no later than that (a window after it may open sooner)."""
        if self._bounds is None or self._planned is None or at >= bound:
            return
        lowered = max(at, bound - self._allowance)
        for bounds in (self._bounds, self._planned):
            if _remove(bounds, bound):
                _insort(bounds, lowered)

    def commit(self, start: float) -> None:
        """Book a send at ``start`` (not earlier than :meth:`earliest`)."""
        self._tat = max(self._tat, start) + self.interval

    def give_back(self, before: float, after: float) -> None:
        """Undo a booking that moved the TAT from ``before`` to ``after``, if it is still the last."""
        if self._tat == after:
            self._tat = before

    async def acquire(self) -> float:
        """Wait until this caller may send; returns the time it went (its real send time).

        Booking is synchronous, so callers are served in the order they ask (FIFO) without a lock.
        """
        await pace([self])
        return self._clock()


async def pace(
    limiters: Sequence[RateLimiter],
    *,
    ready: Callable[[], bool] | None = None,
    on_record: Callable[[RateLimiter, float], None] | None = None,
) -> bool:
    """Wait until one send keeps every limiter's promise, and record it on each.

    Each limiter in turn books its next send time and the caller sleeps until it; put the
    scarcest first (the bulk-operations limiter before the per-minute one), so a call waiting
    half a minute for a bulk slot books its per-minute slot only once that wait is over, instead
    of holding a per-minute slot the other calls could have used meanwhile.

    A booked time is not the real send time: a later limiter's wait, or an event-loop stall that
    wakes every caller whose time passed at once, sends later than booked, and several late
    callers would go together and crowd a rolling window. So, last, the real time is checked
    against each limiter's own record of its last sends and the caller waits again while one
    more send would put too many in one window. That check and the record of the send are
    synchronous (no await between them), so two callers woken together cannot both take the
    last place. ``on_record`` gets each limiter and the bound :meth:`RateLimiter.record` gave, for
    :meth:`RateLimiter.answered` once the answer comes.

    ``ready`` is asked at that same synchronous moment whether the call really goes now (the
    transport's last look at the 429 cooldown and the daily credits): when it says no (returns
    False, or raises) nothing is recorded, because a send that never happened must not hold a
    place among the last N sends and slow the calls after it. Returns whether the send goes.

    A caller that gives its booked time up (not ready, or cancelled by its deadline while it
    waits) hands it back when nobody booked after it: otherwise every timed-out call would push
    all later ones one interval further back, and with deadlines shorter than the interval
    (Express: 10 a minute) no call would ever go again. A time booked before someone else's
    stays booked (theirs is already spaced from it): that errs on the slow side only.
    """
    # limiter, its TAT before and after booking, the time booked
    booked: list[tuple[RateLimiter, float, float, float]] = []
    sent = False
    try:
        if limiters:
            clock, sleep_until = limiters[0]._clock, limiters[0]._sleep_until
            for limiter in limiters:
                before = limiter._tat
                start = limiter.reserve()
                booked.append((limiter, before, limiter._tat, start))
                if start > clock():
                    _replan(booked, start)
                    await sleep_until(start)
            while (start := max(limiter.window_opens() for limiter in limiters)) > clock():
                _replan(booked, start)
                await sleep_until(start)
        if ready is not None and not ready():
            return False
        if limiters:
            now = clock()
            for limiter, _, _, start in booked:
                bound = limiter.record(now, booked=start)
                if on_record is not None:
                    on_record(limiter, bound)
        sent = True
        return True
    finally:
        if not sent:
            for limiter, before, after, start in reversed(booked):
                limiter.give_back(before, after)
                limiter.unbook(start)


def _replan(booked: list[tuple[RateLimiter, float, float, float]], start: float) -> None:
    """A caller of :func:`pace` sleeps until ``start``: each of its bookings is planned for then
    (a send booked on one limiter at once and held back by the next goes when that one lets it)."""
    for at, (limiter, before, after, planned) in enumerate(booked):
        if planned < start:
            limiter.replan(planned, start)
            booked[at] = (limiter, before, after, start)


def _insort(values: list[float], value: float) -> None:
    if not values or value >= values[-1]:
        values.append(value)  # the common case: times only grow
    else:
        bisect.insort(values, value)


def _remove(values: list[float], value: float) -> bool:
    """Take one ``value`` out of the sorted ``values``; False when it is not there (expired)."""
    where = bisect.bisect_left(values, value)
    if where < len(values) and values[where] == value:
        del values[where]
        return True
    return False


class Cooldown:
    """A shared pause after a 429 with a server-advised wait: nobody sends until it ends.

    Without it, ten in-flight tasks each learn of the limit separately and each hammer the
    server once more; with it, one 429 quiets the whole client.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or anyio.current_time
        self._until = -math.inf
        self.last_opened_for = 0.0

    @property
    def remaining(self) -> float:
        until = self._until
        if until == -math.inf:
            return 0.0  # no 429 pending (the common case): no clock read on every call's path
        left = until - self._clock()
        if left > 0:
            return left
        self._until = -math.inf  # over: later looks take the fast path again
        return 0.0

    def open_for(self, seconds: float) -> None:
        self.last_opened_for = seconds
        self._until = max(self._until, self._clock() + max(0.0, seconds))

    async def wait(self) -> None:
        # The cooldown may be extended while we sleep: loop until it is really over.
        while self.remaining > 0:
            await anyio.sleep_until(self._until)


@dataclass(frozen=True)
class CreditsReport:
    """What :attr:`BiginClient.credits <bigin_async.BiginClient.credits>` reports (exported as
    ``bigin_async.CreditsReport``): Zoho's API credits as this client counted them.

    ``spent_24h`` is what this client (and its views) spent in Zoho's rolling 24 hours,
    ``spent_total`` what it spent since it was created; ``limit`` is the ``daily_limit``
    setting (None: none set) and ``remaining`` the stricter of that limit and the server's
    ``X-RateLimit-Remaining``, minus what was spent since (None: neither is known). Other apps of
    the org spend from the same credits: only the server's figure sees them.
    """

    spent_24h: int
    spent_total: int
    remaining: int | None
    limit: int | None


class DailyBudget:
    """Credits spent in a rolling 24 h, refusing a call that would go below ``min_remaining``.

    Two sources of truth, and the stricter wins: the configured ``limit`` minus what this client
    spent in the last 24 h, and the server's ``X-RateLimit-Remaining`` (when it sends one) minus
    what was spent since. Without either, no cap applies; what was spent is counted either way
    (:meth:`spent`, :attr:`spent_total`).

    Spends within ``BUCKET`` seconds of each other share one entry of the 24 h record, so a day
    of calls holds at most 1,440 entries; an entry leaves the window a day after its *last*
    spend, so credits come back at most a minute late, never early.
    """

    WINDOW = 86_400.0
    BUCKET = 60.0

    def __init__(self, limit: int | None, *, min_remaining: int = 1, clock: Clock | None = None) -> None:
        self.limit = limit
        self.min_remaining = min_remaining
        self._clock: Clock = clock or anyio.current_time
        # [first spend, last spend, credits] per bucket, oldest first
        self._spent: deque[list[float]] = deque()
        self._spent_24h = 0
        self._spent_ever = 0
        self._server_remaining: int | None = None
        self._spent_since_sync = 0
        self._server_reset: float | None = None
        self._in_flight = 0  # credits of calls sent and not yet answered
        self._server_allowance: int | None = None  # Zoho's X-RateLimit-Limit of the day, last seen

    def _expire(self, now: float) -> None:
        horizon = now - self.WINDOW
        spent = self._spent
        while spent and spent[0][1] <= horizon:
            self._spent_24h -= int(spent.popleft()[2])

    def spent(self) -> int:
        """Credits this client spent in the last 24 hours (counted with or without a limit)."""
        self._expire(self._clock())
        return self._spent_24h

    @property
    def spent_total(self) -> int:
        """Credits this client spent since it was created."""
        return self._spent_ever

    def report(self) -> CreditsReport:
        remaining = self.remaining()  # expires the old entries first
        return CreditsReport(self._spent_24h, self._spent_ever, remaining, self.limit)

    def remaining(self) -> int | None:
        return self._remaining_at(self._clock())

    def _remaining_at(self, now: float) -> int | None:
        self._expire(now)
        candidates: list[int] = []
        if self.limit is not None:
            candidates.append(self.limit - self._spent_24h)
        if self._server_remaining is not None:
            if self._server_reset is not None and now >= self._server_reset:
                self._server_remaining = None
            else:
                candidates.append(self._server_remaining - self._spent_since_sync)
        return min(candidates) if candidates else None

    def spend(self, credits: int) -> list[float]:
        """Take ``credits`` or raise :class:`BudgetExhaustedError` without sending anything.

        Returns the entry of the 24 h record they were counted in (for :meth:`refund`).
        """
        now = self._clock()
        remaining = self._remaining_at(now)
        if remaining is not None and remaining - credits < self.min_remaining:
            raise BudgetExhaustedError(
                f"daily API credit budget exhausted: {remaining} credits left, this call needs {credits} "
                f"and at least {self.min_remaining} must remain (min_calls_remaining); "
                "the call was not sent",
                remaining=remaining,
                resets_in=self._resets_in(),
            )
        spent = self._spent
        if spent and now - spent[-1][0] < self.BUCKET:
            last = spent[-1]
            last[1] = now
            last[2] += credits
        else:
            last = [now, now, credits]
            spent.append(last)
        self._spent_24h += credits
        self._spent_ever += credits
        self._spent_since_sync += credits
        self._in_flight += credits
        return last

    def refund(self, credits: int, entry: list[float]) -> None:
        """Give back what an attempt the server never counted took (a 429, a connection never
        made): Zoho charges the calls it admits, so a retried call costs its credits once.

        ``entry`` is what :meth:`spend` returned for that attempt: the credits leave the entry
        they were counted in (if it already left the window, the 24 h count is not touched).
        """
        taken = min(credits, int(entry[2]))
        entry[2] -= taken
        if any(item is entry for item in self._spent):  # else it expired, and left the count then
            self._spent_24h = max(0, self._spent_24h - taken)
        self._spent_ever = max(0, self._spent_ever - credits)
        self._spent_since_sync = max(0, self._spent_since_sync - credits)

    def settle(self, credits: int) -> None:
        """A call's answer arrived (or it failed): its credits are no longer in flight."""
        self._in_flight = max(0, self._in_flight - credits)

    def _resets_in(self) -> float | None:
        now = self._clock()
        if self._server_reset is not None:
            return max(0.0, self._server_reset - now)
        if self._spent:
            return max(0.0, self._spent[0][1] + self.WINDOW - now)
        return None

    # A header set that resets sooner than this describes a short (per-minute) window, not the
    # daily credits: adopting its small "remaining" would refuse calls the day still allows.
    SHORT_WINDOW = 300.0
    # Likewise a set whose X-RateLimit-Limit is below any Zoho daily allowance (5,000 credits on
    # the Free edition) counts calls in a short window, whether or not it says when that resets.
    DAILY_FLOOR = 1000

    @property
    def allowance(self) -> int | None:
        """The day's credits in all: ``limit`` when one is set, else Zoho's ``X-RateLimit-Limit``
        of the daily window as last seen (:meth:`sync`); None while neither is known."""
        return allowance_of(self.limit, self._server_allowance)

    def sync(self, headers: Mapping[str, str], *, reset_in: float | None = None) -> None:
        """Adopt the server's count from ``X-RateLimit-Remaining`` when it describes the daily window.

        The figure may come from a proxy on the way, not from Zoho, so it is trusted for a day at
        most: until its reset when one was sent, and for a figure without a reset (or with one
        further off) one 24 h window, after which the budget is back to its own count. A set
        that describes a short window (a reset within minutes, or a limit below any daily
        allowance) is ignored. A value that is not a plain count (``inf``, ``nan``, ``-1``,
        garbage) is ignored, never raised.
        """
        count = daily_count(headers, reset_in=reset_in)
        if count is None:
            return
        value, reset_in, allowance = count
        if allowance is not None:
            self._server_allowance = allowance
        self._server_remaining = value
        # Calls still in flight may not be in the server's count yet: keep charging them.
        self._spent_since_sync = self._in_flight
        self._server_reset = self._clock() + min(
            reset_in if reset_in is not None else self.WINDOW, self.WINDOW
        )


_COUNT = re.compile(r"[0-9]{1,18}(\.[0-9]*)?")


def allowance_of(limit: int | None, *seen: int | None) -> int | None:
    """The day's credits in all: the configured ``daily_limit`` when one is set (the user's word
    outranks the server's), else the first of Zoho's ``X-RateLimit-Limit`` figures seen (the side
    in use before the other one); None while none of them is known. One rule for every budget."""
    if limit is not None:
        return limit
    return next((figure for figure in seen if figure is not None), None)


class DailyCount(NamedTuple):
    """Zoho's figures for the daily window, read from one answer's headers."""

    remaining: int  # X-RateLimit-Remaining
    reset_in: float | None  # seconds until the count resets (X-RateLimit-Reset); None: not said
    allowance: int | None  # X-RateLimit-Limit, the day's credits in all; None: not sent


def daily_count(headers: Mapping[str, str], *, reset_in: float | None = None) -> DailyCount | None:
    """The server's remaining daily credits from ``X-RateLimit-Remaining``, the reset it gave and
    the day's allowance (``X-RateLimit-Limit``).

    None when the headers do not describe the daily window: no count, a value that is not a plain
    count (``inf``, ``nan``, ``-1``, garbage), a reset within minutes, or a limit below any Zoho
    daily allowance (a proxy's per-minute set). An unreadable reset or limit reads as none. One
    rule for every budget that syncs from Zoho's headers, this process's or one shared through
    Redis.
    """
    raw = headers.get("x-ratelimit-remaining")
    value = _header_count(raw) if raw is not None else None
    if value is None:
        return None
    if reset_in is not None and not (math.isfinite(reset_in) and reset_in >= 0):
        reset_in = None  # an unreadable reset: as if none was sent
    if reset_in is not None and reset_in < DailyBudget.SHORT_WINDOW:
        return None
    raw_limit = headers.get("x-ratelimit-limit")
    limit = _header_count(raw_limit) if raw_limit is not None else None
    if limit is not None and limit < DailyBudget.DAILY_FLOOR:
        return None  # a proxy's per-minute set (it often sends no reset): not the day's credits
    return DailyCount(value, reset_in, limit)


def _header_count(raw: str) -> int | None:
    """A count from a header, or None for anything but plain ASCII digits (``1e400``, ``-1``, ``١٢``)."""
    text = raw.strip()
    return int(float(text)) if _COUNT.fullmatch(text) else None
