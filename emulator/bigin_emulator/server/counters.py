"""What the emulated server saw, so tests and benchmarks can assert on the server's side of the wire.

A client that believes it respected the limits proves nothing; these counters are the server's
own view: how many requests arrived per route, how many were in flight at once, how many 429s
went out, and the largest number of arrivals inside any rolling minute (the figure a Zoho-like
per-minute quota is enforced on).

Everything here is plain synchronous bookkeeping with no ``await`` inside an update, so it is
consistent when many requests run on one event loop.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

__all__ = ["RollingWindow", "ServerCounters", "route_key"]

MINUTE = 60.0

_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|$)")


def route_key(method: str, path: str) -> str:
    """Name a route as ``"GET /bigin/v2/Contacts/{id}"``.

    Record ids are all-digit path segments; folding them into ``{id}`` keeps one counter per
    route instead of one per record.
    """
    return f"{method.upper()} {_NUMERIC_SEGMENT.sub('/{id}', path)}"


class RollingWindow:
    """Amounts added at points in time, summed over the trailing ``span`` seconds.

    An entry added at ``t`` counts at ``now`` while ``now - t < span``. Each entry is appended and
    dropped once, so the cost is amortised O(1) per call and memory is bounded by the entries
    inside one span. That needs the entries in time order, so a time earlier than one already
    seen (a wall clock stepped back) is treated as that latest time.
    """

    def __init__(self, span: float) -> None:
        if span <= 0:
            raise ValueError("span must be positive")
        self.span = span
        self._entries: deque[tuple[float, int]] = deque()
        self._total = 0
        self._latest = float("-inf")

    def total(self, now: float) -> int:
        """The sum of amounts still inside the window at ``now``."""
        self._expire(now)
        return self._total

    def add(self, now: float, amount: int = 1) -> int:
        """Record ``amount`` at ``now`` and return the new total inside the window."""
        now = self._latest = max(now, self._latest)
        self._expire(now)
        self._entries.append((now, amount))
        self._total += amount
        return self._total

    def seconds_until_room(self, now: float, amount: int, limit: int) -> float:
        """How long until ``amount`` more fits under ``limit`` (0 when it fits now).

        Walks from the oldest entry, since those expire first; a request that can never fit
        (``amount > limit``) gets the full span, the longest anything in the window can last.
        """
        total = self.total(now)
        if total + amount <= limit:
            return 0.0
        if amount > limit:
            return self.span
        for added_at, entry_amount in self._entries:
            total -= entry_amount
            if total + amount <= limit:
                return max(0.0, added_at + self.span - now)
        return self.span  # pragma: no cover - the loop always empties the window first

    def oldest_expiry(self, now: float) -> float | None:
        """When the oldest entry leaves the window, or None if the window is empty."""
        self._expire(now)
        return self._entries[0][0] + self.span if self._entries else None

    def clear(self) -> None:
        self._entries.clear()
        self._total = 0
        self._latest = float("-inf")

    def _expire(self, now: float) -> None:
        entries = self._entries
        while entries and now - entries[0][0] >= self.span:
            self._total -= entries.popleft()[1]


class ServerCounters:
    """Counts kept by the emulator's middleware (and by the OAuth route for ``refreshes``).

    ``requests_by_route`` counts the API's requests, ``file_host_by_route`` the file host's
    (``requests_total`` both). ``credits`` is what the traffic cost as Zoho counts it (see
    ``middleware.credit_cost``), summed since the last reset, with ``credits_by_route`` per route
    (file host routes prefixed ``"content "``); the rolling 24 h figure is
    ``EmulatorMiddleware.credits_used()``.

    ``max_requests_in_rolling_minute`` is exact: every arrival is compared against the arrivals of
    the ``minute`` seconds before it, so it is the largest number of arrivals inside any window of
    that length (the window with the most arrivals can always be slid until its right edge sits
    on an arrival). ``minute`` is 60 s unless the server's limits shorten it
    (``ServerLimits.minute``): the middleware makes its counters use the length of its limits'
    minute, so the figure describes the window a per-minute cap is enforced on.

    ``in_flight`` counts a request from its arrival until the server hands over the last byte of
    its answer (or gives up on it): a client that has read a whole answer is never still counted.
    """

    requests_by_route: dict[str, int]
    file_host_by_route: dict[str, int]
    credits_by_route: dict[str, int]
    credits: int
    responses_by_status: dict[int, int]
    faults_injected: dict[str, int]
    rejected_by_limit: dict[str, int]
    requests_total: int
    in_flight: int
    peak_concurrency: int
    rate_limited: int
    refreshes: int
    max_requests_in_rolling_minute: int

    def __init__(self, minute: float = MINUTE) -> None:
        self.in_flight = 0
        self._arrivals = RollingWindow(minute)
        self.reset()

    @property
    def minute(self) -> float:
        """The length in seconds of the rolling window ``max_requests_in_rolling_minute`` counts."""
        return self._arrivals.span

    def use_minute(self, minute: float) -> None:
        """Count rolling windows of ``minute`` seconds from now on (arrivals seen so far are forgotten).

        Called by the middleware with its limits' ``minute``; the busiest window already measured
        stays as it is, a new length starts with an empty window.
        """
        if minute != self._arrivals.span:
            self._arrivals = RollingWindow(minute)

    def reset(self) -> None:
        """Start counting afresh; requests still in flight stay counted as in flight."""
        self.requests_by_route = {}
        self.file_host_by_route = {}
        self.credits_by_route = {}
        self.credits = 0
        self.responses_by_status = {}
        self.faults_injected = {}
        self.rejected_by_limit = {}
        self.requests_total = 0
        self.peak_concurrency = self.in_flight
        self.rate_limited = 0
        self.refreshes = 0
        self.max_requests_in_rolling_minute = 0
        self._arrivals.clear()

    def request_started(self, route: str, now: float, *, file_host: bool = False) -> None:
        """An HTTP request arrived at ``now`` (seconds on the middleware's clock)."""
        self.requests_total += 1
        by_route = self.file_host_by_route if file_host else self.requests_by_route
        by_route[route] = by_route.get(route, 0) + 1
        self.in_flight += 1
        if self.in_flight > self.peak_concurrency:
            self.peak_concurrency = self.in_flight
        in_last_minute = self._arrivals.add(now)
        if in_last_minute > self.max_requests_in_rolling_minute:
            self.max_requests_in_rolling_minute = in_last_minute

    def request_finished(self) -> None:
        """A request counted by ``request_started`` has been answered, rejected or dropped."""
        self.in_flight -= 1

    def credits_spent(self, route: str, credits: int) -> None:
        """An admitted request cost ``credits``."""
        self.credits += credits
        self.credits_by_route[route] = self.credits_by_route.get(route, 0) + credits

    def response_sent(self, status: int) -> None:
        self.responses_by_status[status] = self.responses_by_status.get(status, 0) + 1
        if status == 429:
            self.rate_limited += 1

    def limit_rejected(self, limit: str) -> None:
        """A configured limit ("concurrency", "per_minute", "daily_credits") refused a request."""
        self.rejected_by_limit[limit] = self.rejected_by_limit.get(limit, 0) + 1

    def fault_injected(self, kind: str) -> None:
        self.faults_injected[kind] = self.faults_injected.get(kind, 0) + 1

    def refresh(self) -> None:
        """A token refresh succeeded (called by the OAuth route)."""
        self.refreshes += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable copy (status codes become string keys, as JSON requires)."""
        return {
            "requests_total": self.requests_total,
            "requests_by_route": dict(self.requests_by_route),
            "file_host_by_route": dict(self.file_host_by_route),
            "credits": self.credits,
            "credits_by_route": dict(self.credits_by_route),
            "responses_by_status": {str(k): v for k, v in sorted(self.responses_by_status.items())},
            "in_flight": self.in_flight,
            "peak_concurrency": self.peak_concurrency,
            "rate_limited": self.rate_limited,
            "rejected_by_limit": dict(self.rejected_by_limit),
            "refreshes": self.refreshes,
            "max_requests_in_rolling_minute": self.max_requests_in_rolling_minute,
            "faults_injected": dict(self.faults_injected),
        }
