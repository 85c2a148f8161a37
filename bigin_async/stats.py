"""``BiginClient.stats()``: what the client has done and waited for, as one immutable snapshot.

The figures a dashboard wants from an SDK that queues, paces and retries on the user's behalf:
how many calls and attempts, why it retried, how often Zoho answered 429, how many token
refreshes (Zoho allows 10 in 10 minutes), the day's credits, and how long calls waited at each
of the three places they can wait: the ``max_concurrency`` gate, the per-minute limits, and the
pause a 429 asks of every call. Counted by this process for this client and its views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ClientStats", "WaitStats"]


@dataclass(frozen=True, slots=True)
class WaitStats:
    """Seconds spent in one kind of wait: ``count`` and ``total`` over every wait since the client
    was created; ``p50``, ``p99`` and ``max`` over the latest :attr:`SAMPLES` of them (0.0 when
    there were none). A wait that took no time counts too: most calls never queue."""

    SAMPLES = 4096

    count: int
    total: float
    p50: float
    p99: float
    max: float


@dataclass(frozen=True, slots=True)
class ClientStats:
    """One snapshot of a client's figures (``bigin.stats()``; a later call gives a new one).

    - ``calls``: calls begun (one per SDK method call that sends; retries are not calls);
      ``in_progress`` of them not ended; ``failed``: ended with an error;
    - ``attempts``: requests sent over the wire, retries included; ``retries``, and
      ``retries_by_reason`` (``{"HTTP 503": 2, "ReadTimeout": 1}``);
    - ``rate_limited``: Zoho's 429 answers; ``refreshes``: access tokens this client refreshed;
    - ``credits_spent`` (since the client was created), ``credits_spent_24h``, ``credits_left``
      (of the ``daily_limit`` or of Zoho's own count; None when neither is known);
    - ``gate_limit`` (``max_concurrency``), ``gate_in_flight`` now and ``gate_peak``;
      ``gate_queue``: calls waiting for a place now, ``gate_queue_peak`` the most at once;
    - ``gate_wait``, ``limiter_wait``, ``cooldown_wait``: per attempt, the seconds spent waiting
      at the gate, for the per-minute limits' send time and out a 429's pause;
      ``call_duration``: per call, from start to end, every wait and retry included;
    - ``hook_errors``: exceptions raised by ``event_hooks`` (logged once per hook).
    """

    calls: int
    in_progress: int
    failed: int
    attempts: int
    retries: int
    retries_by_reason: Mapping[str, int]
    rate_limited: int
    refreshes: int
    credits_spent: int
    credits_spent_24h: int
    credits_left: int | None
    gate_limit: int
    gate_in_flight: int
    gate_peak: int
    gate_queue: int
    gate_queue_peak: int
    gate_wait: WaitStats
    limiter_wait: WaitStats
    cooldown_wait: WaitStats
    call_duration: WaitStats
    hook_errors: int
