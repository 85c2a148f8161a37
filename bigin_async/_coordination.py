"""The seam between the request pipeline and the org's limits: this process's own, or shared.

Bigin's limits belong to the organisation, not to a process: the concurrency slots, the calls a
minute, the daily credits and the access token. The transport asks one :class:`Limits` for all of
them at three moments of every attempt (take a slot, pace the send, finish), so a client that
shares them with other processes (:class:`Coordination`, e.g. ``RedisCoordination``) runs the
very same pipeline as one that keeps them to itself (:class:`LocalLimits`, the default).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import anyio

from bigin_async._config import Settings
from bigin_async._limits import ConcurrencyGate, Cooldown, CreditsReport, DailyBudget, RateLimiter, pace
from bigin_async._retry import reset_in
from bigin_async.auth import TokenStore

__all__ = [
    "Answer",
    "Ask",
    "BudgetView",
    "Coordination",
    "GateStats",
    "Limits",
    "LocalLimits",
    "PastDeadline",
    "READ_DOWNLOADS_PER_MINUTE",
]

# Zoho lets an org download at most this many Bulk Read results a minute (the next is a 429).
READ_DOWNLOADS_PER_MINUTE = 10


@dataclass(slots=True)
class Ask:
    """What one attempt asks of the limits.

    ``cost`` is the call's Zoho credits; ``bulk`` marks a multi-record write (it also takes the
    bulk-operations limiter); ``paced_by`` is the call's own limiter, the scarcest, booked first
    (:attr:`Limits.read_downloads` for a Bulk Read download); ``deadline_at`` is when the call must
    be over (``anyio.current_time()``; None: no deadline); ``timeout`` bounds the attempt's exchange.
    ``charged`` is set by :meth:`Limits.pace`: the budget's receipt, which :meth:`Limits.finish` needs
    to give the credits back when Zoho never counted the attempt.
    """

    cost: int
    bulk: bool
    paced_by: RateLimiter | None
    deadline_at: float | None
    timeout: float
    charged: object | None = None
    # Set by LocalLimits.pace: each limiter the attempt's send was recorded on, and the latest its
    # arrival could be, which finish() lowers to the answer's time (see RateLimiter.answered).
    recorded: list[tuple[RateLimiter, float]] | None = None


@dataclass(slots=True)
class Answer:
    """How an attempt's exchange ended, for :meth:`Limits.finish`.

    ``uncounted``: Zoho charged nothing for it (a 429, or it never reached the server), so its
    credits come back. ``headers``: the answer's headers, which may carry Zoho's own count of the
    day's credits (``X-RateLimit-Remaining``); None when no answer came.
    """

    uncounted: bool
    headers: Mapping[str, str] | None


class PastDeadline(Exception):
    """:meth:`Limits.pace` would wait ``wait`` seconds, past the call's deadline (nothing booked).

    Internal: the transport turns it into its deadline error, naming ``what`` made the call wait.
    """

    def __init__(self, wait: float, what: str) -> None:
        super().__init__(wait, what)
        self.wait = wait
        self.what = what


class GateStats(Protocol):
    """The concurrency gate as a process sees it: its limit, its calls in flight, their peak."""

    @property
    def limit(self) -> int: ...

    @property
    def in_flight(self) -> int: ...

    @property
    def peak(self) -> int: ...


class BudgetView(Protocol):
    """The daily credits as a client reports them (``BiginClient.credits``)."""

    limit: int | None

    @property
    def allowance(self) -> int | None:
        """The day's credits in all: ``limit``, else Zoho's ``X-RateLimit-Limit`` last seen."""
        ...

    def report(self) -> CreditsReport: ...

    def remaining(self) -> int | None: ...

    def spent(self) -> int: ...

    @property
    def spent_total(self) -> int: ...


@runtime_checkable
class Limits(Protocol):
    """The org's limits, as every attempt of one client (and its views) takes them.

    An attempt: ``async with limits.slot() as slot`` (the concurrency gate), then
    ``await limits.pace(slot, ask)`` (one send time booked on every limiter, the 429 cooldown
    looked at, the daily credits spent; False: leave the gate and try again), the exchange, then
    ``await limits.finish(slot, ask, answer)`` (credits settled or given back, Zoho's count
    adopted), still inside the slot.
    """

    @property
    def gate(self) -> GateStats:
        """The concurrency gate's figures, as this process sees them."""
        ...

    @property
    def budget(self) -> BudgetView:
        """The daily credits, as this client reports them."""
        ...

    @property
    def cooldown(self) -> Cooldown:
        """This process's 429 cooldown (shared limits mirror the org's into it)."""
        ...

    @property
    def read_downloads(self) -> RateLimiter:
        """The limiter a Bulk Read download passes as ``paced_by`` (Zoho's 10 a minute, org-wide)."""
        ...

    def slot(self) -> contextlib.AbstractAsyncContextManager[object]:
        """One of the org's concurrent slots, for one attempt, FIFO among those who wait."""
        ...

    async def pace(self, slot: object, ask: Ask) -> bool:
        """Wait for this attempt's send time and spend its credits; False: not now (see the class).

        Raises :class:`PastDeadline` when the wait would end past ``ask.deadline_at`` (nothing is
        booked then) and ``BudgetExhaustedError`` when the credits would run too low (nothing is
        sent). A caller cancelled while it waits gives its booked time back where it can.
        """
        ...

    async def finish(self, slot: object, ask: Ask, answer: Answer) -> None:
        """The exchange ended (also when cancelled): settle, refund when uncounted, sync the count."""
        ...

    async def open_cooldown(self, seconds: float) -> None:
        """A 429 asked for a pause of ``seconds``: nobody sharing these limits sends until it ends."""
        ...

    async def aclose(self) -> None:
        """Let go of what the limits hold (connections to a coordinator); the local ones hold none."""
        ...


@runtime_checkable
class Coordination(Protocol):
    """Shares a client's limits and token with other processes (``RedisCoordination`` is one).

    Passed as ``BiginClient(coordination=...)``: the client takes its :class:`Limits` and its token
    store from here instead of keeping them to itself, so every process of the org keeps one gate,
    one pace, one count of credits and one access token between them.
    """

    def limits(self, settings: Settings) -> Limits:
        """The shared limits for a client with these settings."""
        ...

    def token_store(self) -> TokenStore:
        """Where the access token and its refreshes are kept for every process."""
        ...

    def describe(self) -> str:
        """Where the coordinator is, for a repr or a log line: never a password."""
        ...


def _per_minute(rate: int | None, settings: Settings) -> RateLimiter | None:
    """A per-minute limiter for ``rate`` calls (None: that limit is off)."""
    return RateLimiter.per_minute(rate, latency_allowance=settings.latency_allowance) if rate else None


class LocalLimits:
    """This process's own limits (the default): a FIFO gate, per-minute limiters, a daily budget.

    ``settings`` gives the figures (``max_concurrency``, ``requests_per_minute``,
    ``bulk_operations_per_minute``, ``intercall_delay``, ``daily_limit``, ``min_calls_remaining``).
    Nothing here awaits anything but the limiters' own sleeps, and the last look before a send
    (the cooldown, the credits) and its record happen with no await in between.
    """

    def __init__(self, settings: Settings) -> None:
        self.gate = ConcurrencyGate(settings.max_concurrency)
        self.minute_limiter = _per_minute(settings.requests_per_minute, settings)
        self.bulk_limiter = _per_minute(settings.bulk_operations_per_minute, settings)
        self.intercall = (
            RateLimiter.between_calls(settings.intercall_delay) if settings.intercall_delay > 0 else None
        )
        self.budget: DailyBudget = DailyBudget(
            settings.daily_limit, min_remaining=settings.min_calls_remaining
        )
        self.cooldown = Cooldown()
        self._latency_allowance = settings.latency_allowance
        self._read_downloads: RateLimiter | None = None
        # The limiters a call books a send time on, built once: a bulk write also takes the bulk one.
        self.pacers: tuple[RateLimiter, ...] = tuple(p for p in (self.minute_limiter, self.intercall) if p)
        self.bulk_pacers: tuple[RateLimiter, ...] = tuple(p for p in (self.bulk_limiter, *self.pacers) if p)

    @property
    def read_downloads(self) -> RateLimiter:
        """Zoho's 10 Bulk Read downloads a minute, made on first use."""
        if self._read_downloads is None:
            self._read_downloads = RateLimiter.per_minute(
                READ_DOWNLOADS_PER_MINUTE, latency_allowance=self._latency_allowance
            )
        return self._read_downloads

    def slot(self) -> ConcurrencyGate:
        return self.gate

    async def pace(self, slot: object, ask: Ask) -> bool:
        pacers = self.bulk_pacers if ask.bulk else self.pacers
        if ask.paced_by is not None:
            pacers = (ask.paced_by, *pacers)
        if pacers and ask.deadline_at is not None:
            # Each limiter on its own clock (a call's own ``paced_by`` may keep another one).
            wait = max(pacer.earliest() - pacer._clock() for pacer in pacers)
            if anyio.current_time() + wait > ask.deadline_at:
                raise PastDeadline(
                    wait,
                    "the rate limit (requests_per_minute, bulk_operations_per_minute, intercall_delay) "
                    "lets the next call go only after a wait of",
                )

        def ready() -> bool:
            if self.cooldown.remaining > 0:
                return False
            ask.charged = self.budget.spend(ask.cost)
            return True

        recorded: list[tuple[RateLimiter, float]] = []
        ask.recorded = recorded
        return await pace(
            pacers, ready=ready, on_record=lambda limiter, bound: recorded.append((limiter, bound))
        )

    async def finish(self, slot: object, ask: Ask, answer: Answer) -> None:
        recorded, ask.recorded = ask.recorded, None
        if recorded and answer.headers is not None:  # answered: it reached the server by now
            for limiter, bound in recorded:
                limiter.answered(bound, limiter._clock())
        budget = self.budget
        budget.settle(ask.cost)
        if answer.uncounted and isinstance(ask.charged, list):  # Zoho charges what it admits
            budget.refund(ask.cost, ask.charged)
        if answer.headers is not None:
            budget.sync(answer.headers, reset_in=reset_in(answer.headers))

    async def open_cooldown(self, seconds: float) -> None:
        self.cooldown.open_for(seconds)

    async def aclose(self) -> None:
        return None
