"""The org's limits kept in Redis, so every process of the org shares one gate, pace and budget.

:class:`RedisLimits` is the :class:`~bigin_async._coordination.Limits` a ``RedisCoordination``
gives a client: the same rules as this process's own limits (``LocalLimits``), kept by Lua scripts
(:mod:`._scripts`) that read Redis's clock, so processes on hosts whose clocks disagree still agree.

A call with a free slot and no wait costs two round trips: its first ``pace`` takes the slot and
books its send time and credits in one script (``slot()`` itself only takes this process's local
place), and ``finish`` releases the slot, settles the credits and, when the call was answered,
lowers its send's entries in the per-minute record (it had reached Zoho by then). When the gate is busy, that
first look queues the call, which waits its turn (FIFO across processes) and then paces.
A Redis failure raises ``RedisUnavailable`` for the coordination to decide (fail, or go local),
except in :meth:`RedisLimits.finish` and when a slot is released: those log it once and move on
(a lease left behind expires by itself), bounded in time and shielded from the caller's cancel.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple

import anyio
import anyio.lowlevel

from bigin_async._config import Settings
from bigin_async._coordination import READ_DOWNLOADS_PER_MINUTE, Answer, Ask, PastDeadline
from bigin_async._limits import (
    Cooldown,
    CreditsReport,
    RateLimiter,
    allowance_of,
    daily_count,
    gcra_interval,
    pace,
)
from bigin_async._redact import get_logger
from bigin_async._retry import reset_in
from bigin_async.errors import BudgetExhaustedError
from bigin_async.integrations.redis import _scripts
from bigin_async.integrations.redis._backend import RedisBackend, RedisUnavailable
from bigin_async.integrations.redis._keys import KeyFamily

logger = get_logger("redis")

__all__ = ["RedisLimits", "SharedBudget", "SharedGate"]

_NO_ANSWER = "the shared rate limits' Redis had not answered when the call's deadline came, at"

# How long the end of an exchange (and a slot's release) may wait for Redis, whatever the caller.
SETTLE_BOUND = 2.0

_LATE = (
    "the shared rate limit (requests_per_minute, bulk_operations_per_minute, intercall_delay, kept "
    "in Redis for every process) lets the next call go only after a wait of"
)


# The longest a sent call holds its slot (and its credits count as in flight): an hour.
MAX_HOLD = 3600.0


def _hold_seconds(lease_seconds: float, timeout: float) -> float:
    """How long a sent call keeps its lease: past its exchange's bound (``timeout`` + 5 s), so a
    live holder never loses it mid-exchange; at most :data:`MAX_HOLD` (an endless timeout too)."""
    wanted = max(lease_seconds, timeout + 5.0)
    return min(wanted, MAX_HOLD) if math.isfinite(wanted) else MAX_HOLD


@dataclass(frozen=True, slots=True)
class _Limiter:
    """One shared limiter: its keys and the GCRA figures the scripts take (milliseconds)."""

    tat: str
    sent: str
    planned: str  # the sends booked and not yet made (a per-minute rule's; see _scripts._LIMITER)
    interval_ms: float
    window_ms: float  # a per-minute rule's is W: the scripts add the largest J in use
    limit: int
    heard: bool = False  # a per-minute rule: read with the largest J in use; answers lower entries


class _Pacing(NamedTuple):
    """What a call of one kind books (``RedisLimits._pacing``)."""

    limiters: tuple[_Limiter, ...]
    keys: list[str]
    args: list[str | float]
    heard_by: tuple[str, ...]  # the ``sent`` lists whose entry an answer lowers


@dataclass(slots=True)
class _Receipt:
    """What ``pace`` charged a call: the 24 h bucket its credits went to, its in-flight entry, and
    when it was let go on Redis's clock (epoch seconds, for logs and tests)."""

    bucket: str
    member: str
    cost: int
    entry: str  # the send time as the ``sent`` lists hold it (Redis's, in ms, 3 decimals)
    heard_by: tuple[str, ...] = ()  # the ``sent`` lists whose entry its answer lowers

    @property
    def sent_at(self) -> float:
        """When the call was let go, on Redis's clock (epoch seconds)."""
        return float(self.entry) / 1000.0


class _Slot:
    """One place in the shared gate: its lease id, its place in the queue, whether its lease is
    held, and whether it ever was (a lease lost or given back is not taken again by the same slot:
    the caller leaves the gate and tries again)."""

    __slots__ = ("held", "id", "ticket", "used")

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.ticket = ""
        self.held = False
        self.used = False


class SharedGate:
    """The shared concurrency gate as this process sees it (``GateStats``): the org's ``limit``,
    and this process's calls holding a slot of it in Redis (``in_flight``) and their ``peak``.

    A call holds its Redis slot from its first ``pace`` (which takes it) to ``finish`` or the end of
    its ``slot()`` block, whichever comes first; a task inside ``slot()`` that has not paced yet holds
    only this process's local place and is not counted.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        # At most ``limit`` tasks of this process queue in Redis; the others wait here, in order.
        self._local: anyio.Semaphore | None = None
        self._released: anyio.Event | None = None

    @property
    def local(self) -> anyio.Semaphore:
        if self._local is None:
            self._local = anyio.Semaphore(self.limit, fast_acquire=True)
        return self._local

    def released_event(self) -> anyio.Event:
        """Set when this process releases a slot: its own waiters ask Redis again at once."""
        if self._released is None:
            self._released = anyio.Event()
        return self._released

    def wake(self) -> None:
        event, self._released = self._released, None
        if event is not None:
            event.set()

    def took(self, slot: _Slot) -> None:
        """``slot``'s lease was granted in Redis."""
        slot.held = slot.used = True
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def dropped(self, slot: _Slot) -> None:
        """``slot``'s lease is no longer held (released, or found lost)."""
        if slot.held:
            slot.held = False
            self.in_flight -= 1


class SharedBudget:
    """The daily credits as Redis last counted them for every process (``BudgetView``).

    Reading it costs no round trip: the figures are the ones the last ``pace`` or ``finish`` of
    this process brought back (the count of every process sharing the org). ``spent_total`` is
    this process's own spending since it started.
    """

    def __init__(self, limit: int | None, min_remaining: int) -> None:
        self.limit = limit
        self.min_remaining = min_remaining
        self._spent_24h = 0
        self._remaining: int | None = limit
        self._total = 0
        self._server_allowance: int | None = None  # Zoho's X-RateLimit-Limit of the day, last seen

    @property
    def allowance(self) -> int | None:
        """The day's credits in all: ``limit`` when one is set, else Zoho's ``X-RateLimit-Limit``
        of the daily window as this process last saw it; None while neither is known."""
        return allowance_of(self.limit, self._server_allowance)

    def report(self) -> CreditsReport:
        return CreditsReport(self._spent_24h, self._total, self._remaining, self.limit)

    def remaining(self) -> int | None:
        return self._remaining

    def spent(self) -> int:
        return self._spent_24h

    @property
    def spent_total(self) -> int:
        return self._total

    def _update(self, spent: str, remaining: str) -> None:
        self._spent_24h = int(spent)
        self._remaining = int(remaining) if remaining != "" else None


class _SlotContext:
    """``async with limits.slot() as slot``: a place in the shared gate for one attempt.

    Entering takes only this process's local place (no round trip): the lease in Redis is taken by
    the attempt's first ``pace``, in the same script that books its send. Leaving releases that
    lease when ``finish`` did not.
    """

    __slots__ = ("_limits", "_slot")

    def __init__(self, limits: RedisLimits) -> None:
        self._limits = limits
        self._slot = _Slot()

    async def __aenter__(self) -> object:
        await self._limits.gate.local.acquire()
        return self._slot

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._slot.held:  # not released by finish (pace said no, or the attempt failed before)
                await self._limits._leave(self._slot)
        finally:
            self._limits.gate.local.release()


class RedisLimits:
    """The org's limits shared through Redis by every process with the same key family.

    ``settings`` gives the figures as for ``LocalLimits`` (``max_concurrency``,
    ``requests_per_minute``, ``bulk_operations_per_minute``, ``intercall_delay``, ``daily_limit``,
    ``min_calls_remaining``, ``latency_allowance``). ``minute`` is the length of the server's
    rate window (60 s at Zoho; shorter only against an emulator told so). A slot is a lease of
    ``lease_seconds``, renewed while its call waits and, once sent, held for the call's timeout
    plus 5 s: a process that dies leaves its slots for at most that long. Waiters ask Redis again
    every ``poll_interval`` (jittered) or at once when a slot of their own process is released.
    ``clock`` (default ``anyio.current_time``) is the clock the asks' deadlines are read on; it
    is never compared with another process's: every shared time is Redis's.
    """

    def __init__(
        self,
        backend: RedisBackend,
        family: KeyFamily,
        settings: Settings,
        *,
        minute: float = 60.0,
        lease_seconds: float = 30.0,
        poll_interval: float = 0.02,
        clock: Callable[[], float] | None = None,
    ) -> None:
        for name, value in (("minute", minute), ("lease_seconds", lease_seconds)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if not (isinstance(poll_interval, int | float) and 0 < poll_interval <= lease_seconds / 3):
            raise ValueError(
                f"poll_interval must be above 0 and at most lease_seconds / 3, got {poll_interval!r}"
            )
        self.backend = backend
        self.family = family
        self.settings = settings
        self.minute = float(minute)
        self.lease_seconds = float(lease_seconds)
        self.poll_interval = float(poll_interval)
        self._clock: Callable[[], float] = clock or anyio.current_time
        self.gate = SharedGate(settings.max_concurrency)
        self.budget = SharedBudget(settings.daily_limit, settings.min_calls_remaining)
        self.cooldown = Cooldown()  # this process's sleeps: on the event loop's clock
        # A marker: a Bulk Read download passes it as ``paced_by`` and is paced by the shared
        # "downloads" limiter (Zoho's 10 a minute, org-wide); it never paces anything itself.
        self._read_downloads = RateLimiter.per_minute(
            READ_DOWNLOADS_PER_MINUTE, latency_allowance=settings.latency_allowance
        )
        self._gate_keys = [family.key("gate", part) for part in ("leases", "queue", "beats", "ticket")]
        self._queue_keys = self._gate_keys[1:]  # ACQUIRE_PACE's first keys, before PACE's
        self._cooldown_key = family.key("cooldown")
        self._budget_keys = [family.key("credits", part) for part in ("last", "bucket", "state", "flight")]
        allowance = settings.latency_allowance * self.minute / 60.0
        # This process's J, and how long the scripts count it among the allowances in use after
        # its last per-minute pace or answered finish: past any window an entry it lowered could
        # still fall in.
        self._allowance_ms = f"{allowance * 1000.0:.3f}"
        self._allowance_life_ms = f"{2.0 * (self.minute + allowance) * 1000.0:.0f}"
        self._allowances_key = family.key("rate", "allowances")
        minute_l = self._per_minute("minute", settings.requests_per_minute)
        bulk_l = self._per_minute("bulk", settings.bulk_operations_per_minute)
        delay = settings.intercall_delay
        intercall_l = self._limiter("intercall", delay, delay, 1) if delay > 0 else None
        downloads_l = self._per_minute("downloads", READ_DOWNLOADS_PER_MINUTE)
        assert downloads_l is not None
        plain = tuple(limiter for limiter in (minute_l, intercall_l) if limiter is not None)
        bulk = tuple(limiter for limiter in (bulk_l, *plain) if limiter is not None)
        # The limiters a call books, the scarcest first, and the script arguments that go with them.
        self._pacers = {
            (False, False): self._pacing(plain),
            (True, False): self._pacing(bulk),
            (False, True): self._pacing((downloads_l, *plain)),
            (True, True): self._pacing((downloads_l, *bulk)),
        }
        self._lease_ms = self.lease_seconds * 1000.0
        self._beat_ms = max(2000.0, 20 * self.poll_interval * 1000.0)
        self._warned = False
        self._random = random.Random()

    def __repr__(self) -> str:
        return f"RedisLimits({self.backend.url!r}, {self.family.tag})"

    # -- construction helpers --------------------------------------------------------------------
    def _limiter(
        self, name: str, interval: float, window: float, limit: int, *, heard: bool = False
    ) -> _Limiter:
        key = self.family.key
        return _Limiter(
            key("rate", name, "tat"),
            key("rate", name, "sent"),
            key("rate", name, "planned"),
            interval * 1e3,
            window * 1e3,
            limit,
            heard,
        )

    def _per_minute(self, name: str, rate: int | None) -> _Limiter | None:
        """The per-minute rule on the shared window, as the local limiter keeps it (None: that
        limit is off). Bookings are spaced for the minute itself (GCRA interval ``W / N``); what
        keeps the server's count within N is the list of the last N sends, each counted as
        arriving up to the allowance J after it left until its answer comes (``finish`` lowers
        its entry then), and one more goes once the N-th last may have arrived ``W`` before it.
        Unanswered, any N + 1 sends span ``W + J`` (60/62 of N a minute); answered in 50 ms,
        ``W`` + 50 ms. A booking also counts the bookings not yet sent (``planned``, each as a
        send at the time its caller wakes), so its time is its send time and callers keep their
        order; with more callers waiting than N, the backlog runs at N per ``W + J``. Processes
        told different allowances all read the entries with the largest one in use (the scripts
        keep them) and lower their own answered sends by their own."""
        if not rate:
            return None
        interval = gcra_interval(rate, window=self.minute, latency_allowance=0.0)
        return self._limiter(name, interval, self.minute, rate, heard=True)

    def _pacing(self, limiters: Sequence[_Limiter]) -> _Pacing:
        """What a call of one kind books: its limiters, their script keys and arguments, and the
        ``sent`` lists whose entry an answer lowers (the per-minute ones')."""
        keys = [
            self._allowances_key,
            *(key for limiter in limiters for key in (limiter.tat, limiter.sent, limiter.planned)),
        ]
        args: list[str | float] = [len(limiters), self._allowance_ms, self._allowance_life_ms]
        for limiter in limiters:
            args += [
                f"{limiter.interval_ms:.3f}",
                f"{limiter.window_ms:.3f}",
                limiter.limit,
                "1" if limiter.heard else "0",
            ]
        heard_by = tuple(limiter.sent for limiter in limiters if limiter.heard)
        return _Pacing(tuple(limiters), keys, args, heard_by)

    # -- Limits ----------------------------------------------------------------------------------
    @property
    def read_downloads(self) -> RateLimiter:
        return self._read_downloads

    def slot(self) -> _SlotContext:
        return _SlotContext(self)

    async def _wait_turn(self, slot: _Slot, released: anyio.Event) -> None:
        """Wait in Redis's queue (``slot.ticket`` is this call's place) until a slot is this one's:
        FIFO across processes, polled (jittered), woken at once when a slot of this process is
        released. A waiter cancelled (or failing) leaves the queue."""
        gate = self.gate
        args: list[str | int | float] = [
            slot.id,
            gate.limit,
            f"{self._lease_ms:.0f}",
            f"{self._beat_ms:.0f}",
            slot.ticket,
        ]
        try:
            while True:
                with anyio.move_on_after(self.poll_interval * self._random.uniform(0.5, 1.5)):
                    await released.wait()
                released = gate.released_event()
                reply = await self.backend.run(_scripts.ACQUIRE, self._gate_keys, args)
                if int(reply[0]) == 1:
                    gate.took(slot)
                    return
        except BaseException:
            # Cancelled while queued (or granted in the same moment), or Redis failed: leave the
            # queue (and a lease granted unseen), as far as Redis still answers.
            await self._leave(slot)
            raise

    async def _leave(self, slot: _Slot) -> None:
        """Give the slot back (or stop waiting for it), even when the caller is cancelled."""
        self.gate.dropped(slot)
        try:
            await self._settle_bounded(_scripts.LEAVE, self._gate_keys[:3], [slot.id], "a slot's release")
        finally:
            self.gate.wake()

    async def pace(self, slot: object, ask: Ask) -> bool:
        if not isinstance(slot, _Slot):
            raise TypeError(f"pace() takes the object slot() gave, not {type(slot).__name__}")
        if slot.used and not slot.held:
            return False  # its lease was lost or released: leave the gate and try again
        own = ask.paced_by if ask.paced_by is not None and ask.paced_by is not self._read_downloads else None
        limiters, keys, limiter_args, heard_by = self._pacers[
            (ask.bulk, own is None and ask.paced_by is not None)
        ]
        local: tuple[RateLimiter, float, float] | None = None
        booked: list[tuple[_Limiter, str, str]] = []
        sent = False
        # A pace round trip under way when the caller is cancelled may have committed the send in
        # Redis (credits spent, in flight) with the reply lost: ``finally`` takes that back.
        outstanding = False
        try:
            if own is not None:  # a call's own limiter, not shared: paced here, first (the scarcest)
                if ask.deadline_at is not None:
                    wait = own.earliest() - own._clock()
                    if self._clock() + wait > ask.deadline_at:
                        raise PastDeadline(wait, _LATE)
                before = own._tat
                await pace([own])
                local = (own, before, own._tat)
            member = f"{slot.id}|{ask.cost}"
            hold_ms = _hold_seconds(self.lease_seconds, ask.timeout) * 1000.0
            budget = self.budget
            fixed: list[str | int | float] = [
                slot.id,
                f"{hold_ms:.0f}",
                "",
                ask.cost,
                budget.limit if budget.limit is not None else "",
                budget.min_remaining,
                member,
                0,
            ]
            script_keys = [self._gate_keys[0], self._cooldown_key, *self._budget_keys, *keys]
            while True:
                if ask.deadline_at is not None:
                    fixed[2] = f"{max(0.0, ask.deadline_at - self._clock()) * 1000.0:.3f}"
                fixed[7] = len(booked)
                outstanding = True
                if slot.held:
                    reply = await self._reply(
                        _scripts.PACE, script_keys, [*fixed, *limiter_args], ask.deadline_at
                    )
                else:
                    reply = await self._take_and_pace(
                        slot, script_keys, [*fixed, *limiter_args], ask.deadline_at
                    )
                if reply is None:  # queued, and now its turn came: pace on the slot it holds
                    outstanding = False
                    continue
                kind = reply[0]
                if kind != "ok":
                    outstanding = False
                else:
                    # A caller cancelled while the reply came back sends nothing: ``except`` below
                    # takes the committed send back.
                    await anyio.lowlevel.checkpoint_if_cancelled()
                    outstanding = False
                    ask.charged = _Receipt(str(reply[1]), member, ask.cost, str(reply[5]), heard_by)
                    budget._total += ask.cost
                    budget._update(reply[2], reply[3])
                    sent = True
                    return True
                if kind == "wait":
                    for at in range(3, len(reply), 3):
                        booked.append((limiters[int(reply[at]) - 1], str(reply[at + 1]), str(reply[at + 2])))
                    if not await self._sleep(slot, float(reply[1]) / 1000.0):
                        return False
                elif kind == "cooldown":
                    self.cooldown.open_for(float(reply[1]) / 1000.0)
                    return False
                elif kind == "lost":
                    self.gate.dropped(slot)
                    return False
                elif kind == "late":
                    raise PastDeadline(float(reply[1]) / 1000.0, _LATE)
                else:
                    remaining = int(reply[1])
                    budget._remaining = remaining
                    raise BudgetExhaustedError(
                        f"daily API credit budget exhausted (counted for every process sharing the org "
                        f"through Redis): {remaining} credits left, this call needs {ask.cost} and at "
                        f"least {budget.min_remaining} must remain (min_calls_remaining); "
                        "the call was not sent",
                        remaining=remaining,
                        resets_in=float(reply[2]) / 1000.0 if reply[2] != "" else None,
                    )
        except RedisUnavailable:
            raise  # whether a send was committed is unknown: its flight entry runs out with its hold
        except BaseException:
            if outstanding:  # cancelled mid round trip: a committed send's credits come back
                await self._settle_bounded(
                    _scripts.FINISH,
                    [self._gate_keys[0], *self._budget_keys],
                    ["", f"{slot.id}|{ask.cost}", ask.cost, "?", "", "", ""],
                    "taking back a send its caller never saw",
                )
            raise
        finally:
            if not sent:
                if booked:
                    await self._give_back(slot, booked)
                if local is not None:
                    local[0].give_back(local[1], local[2])

    async def _take_and_pace(
        self, slot: _Slot, keys: list[str], args: list[str | int | float], deadline_at: float | None
    ) -> list[Any] | None:
        """The first look of a call: a free slot taken and its send paced in one round trip (PACE's
        reply), or, when others wait or no slot is free, queued and its turn waited for (None)."""
        gate = self.gate
        released = gate.released_event()
        gate_args: list[str | int | float] = [gate.limit, f"{self._lease_ms:.0f}", f"{self._beat_ms:.0f}"]
        try:
            reply: list[Any] = await self._reply(
                _scripts.ACQUIRE_PACE, [*self._queue_keys, *keys], [*gate_args, *args], deadline_at
            )
        except RedisUnavailable:
            raise  # whether it took a slot is unknown: a lease taken unseen runs out by itself
        except BaseException:
            await self._leave(slot)  # cancelled: the script may have run, its slot goes back
            raise
        if reply[0] != "queued":
            gate.took(slot)
            return reply
        slot.ticket = str(reply[1])
        await self._wait_turn(slot, released)
        return None

    async def _reply(
        self, script: Any, keys: list[str], args: list[str | int | float], deadline_at: float | None
    ) -> Any:
        """Run a pace script and read its reply even when the caller is cancelled meanwhile.

        The script may book a later send time on every limiter: with its reply lost, that time
        could not be handed back, and every later caller of every process would wait one interval
        longer for a send that never happens. So the round trip is shielded: for at most
        ``SETTLE_BOUND`` seconds (or the backend's ``socket_timeout``, if longer), and never past
        the call's deadline. The caller's cancel lands right after; past the bound the outcome is
        unknown and Redis counts as unavailable (or the deadline has come).
        """
        bound = max(SETTLE_BOUND, float(getattr(self.backend, "socket_timeout", SETTLE_BOUND)))
        left = bound if deadline_at is None else min(bound, max(0.0, deadline_at - self._clock()))
        with anyio.CancelScope(shield=True) as scope:
            scope.deadline = anyio.current_time() + left
            return await self.backend.run(script, keys, args)
        if left < bound:
            raise PastDeadline(bound, f"{_NO_ANSWER} {self.backend.url}, waiting for it up to")
        raise RedisUnavailable(
            f"Redis at {self.backend.url} did not answer {script.name} within {bound:g} s", None
        )

    async def _sleep(self, slot: _Slot, seconds: float) -> bool:
        """Sleep ``seconds`` in chunks of a third of the lease, renewing it between; False: lost."""
        chunk = self.lease_seconds / 3.0
        while seconds > chunk:
            await anyio.sleep(chunk)
            seconds -= chunk
            renewed = await self.backend.run(
                _scripts.RENEW, self._gate_keys[:1], [slot.id, f"{self._lease_ms:.0f}"]
            )
            if not int(renewed):
                self.gate.dropped(slot)
                return False
        await anyio.sleep(seconds)
        return True

    async def _give_back(self, slot: _Slot, booked: list[tuple[_Limiter, str, str]]) -> None:
        """Hand booked send times back (each only while it is still the last) and take the
        bookings out of the planned ones: a call that gave up its place must not push every later
        one back."""
        keys = [key for limiter, _, _ in booked for key in (limiter.tat, limiter.planned)]
        args = [slot.id, *(value for _, before, after in booked for value in (before, after))]
        await self._settle_bounded(_scripts.GIVE_BACK, keys, args, "giving back a booked send time")

    async def finish(self, slot: object, ask: Ask, answer: Answer) -> None:
        receipt = ask.charged if isinstance(ask.charged, _Receipt) else None
        release = ""
        if isinstance(slot, _Slot) and slot.held:
            release = slot.id
            self.gate.dropped(slot)
        life = self._allowance_life_ms
        args: list[str | int | float] = [release, "", 0, "", "", "", "", "", self._allowance_ms, life]
        keys = [self._gate_keys[0], *self._budget_keys]
        if receipt is not None:
            args[1], args[2] = receipt.member, receipt.cost
            if answer.headers is not None and receipt.heard_by:  # answered: it had arrived by now
                args[7] = receipt.entry
                keys += [self._allowances_key, *receipt.heard_by]
            if answer.uncounted:  # Zoho charges what it admits: the credits come back
                args[3] = receipt.bucket
                self.budget._total = max(0, self.budget._total - receipt.cost)
        if answer.headers is not None:
            count = daily_count(answer.headers, reset_in=reset_in(answer.headers))
            if count is not None:
                args[4] = count.remaining
                args[5] = f"{count.reset_in:.3f}" if count.reset_in is not None else ""
                if count.allowance is not None:
                    self.budget._server_allowance = count.allowance
        if self.budget.limit is not None:
            args[6] = self.budget.limit
        try:
            reply = await self._settle_bounded(_scripts.FINISH, keys, args, "finish")
        finally:
            if release:
                self.gate.wake()
        if reply is not None:
            self.budget._update(reply[0], reply[1])

    async def _settle_bounded(
        self, script: Any, keys: list[str], args: Sequence[str | int | float], what: str
    ) -> Any:
        """Run a script that must run even for a cancelled caller, for at most ``SETTLE_BOUND``
        seconds; a failure is logged (once until Redis answers again), never raised."""
        with anyio.CancelScope(shield=True) as scope:
            scope.deadline = anyio.current_time() + SETTLE_BOUND
            try:
                reply = await self.backend.run(script, keys, args)
            except RedisUnavailable as exc:
                self._warn(what, str(exc))
                return None
        if scope.cancelled_caught:
            self._warn(what, f"Redis at {self.backend.url} did not answer within {SETTLE_BOUND:g} s")
            return None
        self._warned = False
        return reply

    def _warn(self, what: str, why: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "shared limits: %s could not be recorded in Redis (%s); a slot left behind is freed "
                "when its lease runs out",
                what,
                why,
                extra={"bigin_event": "shared_limits_unrecorded"},
            )

    async def open_cooldown(self, seconds: float) -> None:
        self.cooldown.open_for(seconds)
        ms = max(0.0, seconds) * 1000.0
        remaining = await self.backend.run(_scripts.COOLDOWN, [self._cooldown_key], [f"{ms:.3f}"])
        self.cooldown.open_for(float(remaining) / 1000.0)

    async def aclose(self) -> None:
        return None
