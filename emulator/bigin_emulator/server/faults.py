"""Fault plans and server limits: the knobs that make the emulator misbehave the way Bigin can.

An SDK that promises "not one record lost or doubled" has to be shown the failures that cause
loss and doubling: a 5xx, a 429 burst, a connection dropped before or after the server applied a
write, an answer that arrives after the client gave up, a 200 with a broken body, an answer that
drips in slowly (each piece within a read timeout, the whole far beyond it). ``FaultPlan``
says how often each happens; ``FaultInjector`` decides, reproducibly, which request gets which.
``ServerLimits`` holds the quotas and latency the middleware enforces. ``JobFaults`` breaks the
Bulk Write and Bulk Read path at the points where a job can be lost or doubled; ``FileFaults``
loses the answers of file uploads (attachments, photos, the Files API).
"""

from __future__ import annotations

import enum
import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar

__all__ = [
    "FILE_FAULTS",
    "JOB_FAULTS",
    "Fault",
    "FileFaults",
    "FaultInjector",
    "FaultPlan",
    "JobFaults",
    "LatencySpec",
    "ServerLimits",
]


class Fault(str, enum.Enum):
    """One kind of injected failure; the value is the ``FaultPlan`` field that sets its rate."""

    ERROR_500 = "error_500"
    ERROR_503 = "error_503"
    ERROR_429 = "error_429"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"
    SLOW = "slow"
    MALFORMED_JSON = "malformed_json"
    DRIP = "drip"


_RATE_FIELDS: tuple[str, ...] = tuple(fault.value for fault in Fault)


@dataclass(frozen=True)
class FaultPlan:
    """Fractions of requests (0..1, summing to at most 1) that get each fault.

    Only requests whose method is in ``methods`` (None: every method) and whose path starts with
    ``path_prefix`` are eligible, so the OAuth endpoints stay healthy unless asked otherwise.
    ``slow`` holds the answer for ``slow_seconds`` (after the app ran), long enough for a
    client's read timeout to fire. ``drip`` sends the answer in ``drip_chunks`` pieces with
    ``drip_interval`` seconds between them: over a socket every read arrives in time, so only a
    deadline on the whole call stops a client from waiting ``drip_chunks * drip_interval``.
    """

    seed: int = 0
    error_500: float = 0.0
    error_503: float = 0.0
    error_429: float = 0.0
    drop_before: float = 0.0
    drop_after: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 60.0
    malformed_json: float = 0.0
    drip: float = 0.0
    drip_chunks: int = 16
    drip_interval: float = 0.05
    methods: frozenset[str] | None = None
    path_prefix: str = "/bigin/"

    def __post_init__(self) -> None:
        for name in _RATE_FIELDS:
            rate = getattr(self, name)
            if not (isinstance(rate, int | float) and 0.0 <= rate <= 1.0):
                raise ValueError(f"FaultPlan.{name} must be a fraction between 0 and 1, got {rate!r}")
        if self.total_rate > 1.0 + 1e-9:
            raise ValueError(f"FaultPlan rates sum to {self.total_rate}, more than 1")
        if not (self.slow_seconds >= 0 and math.isfinite(self.slow_seconds)):
            raise ValueError("FaultPlan.slow_seconds must be a finite number of seconds >= 0")
        if not (self.drip_interval >= 0 and math.isfinite(self.drip_interval)):
            raise ValueError("FaultPlan.drip_interval must be a finite number of seconds >= 0")
        if (
            isinstance(self.drip_chunks, bool)
            or not isinstance(self.drip_chunks, int)
            or self.drip_chunks < 2
        ):
            raise ValueError("FaultPlan.drip_chunks must be an int >= 2")
        if self.methods is not None:
            object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))

    @property
    def total_rate(self) -> float:
        """The fraction of eligible requests that get some fault."""
        return sum(self.rate(fault) for fault in Fault)

    def rate(self, fault: Fault) -> float:
        rate: float = getattr(self, fault.value)
        return rate


class FaultInjector:
    """Decides which eligible request gets which fault, the same way on every run.

    ``decide(n)`` is a pure function of ``(seed, n)``: a keyed hash of both, read as a uniform
    number in [0, 1), picks a fault by the plan's cumulative rates. ``next_fault`` numbers the
    eligible requests 0, 1, 2, ... in the order they reach it, so a run is reproducible as long
    as the requests arrive in the same order (a sequential client always does; with concurrent
    clients, the same *sequence* of faults is dealt out, but which request draws which number
    depends on scheduling).
    """

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._eligible_seen = 0
        thresholds: list[tuple[float, Fault]] = []
        cumulative = 0.0
        for fault in Fault:
            rate = plan.rate(fault)
            if rate > 0:
                cumulative += rate
                thresholds.append((cumulative, fault))
        self._thresholds = tuple(thresholds)

    @property
    def eligible_seen(self) -> int:
        """How many eligible requests have drawn a decision so far."""
        return self._eligible_seen

    def applies_to(self, method: str, path: str) -> bool:
        plan = self.plan
        return path.startswith(plan.path_prefix) and (plan.methods is None or method.upper() in plan.methods)

    def decide(self, request_number: int) -> Fault | None:
        """The fault for the ``request_number``-th eligible request (0-based), or None."""
        if not self._thresholds:
            return None
        digest = hashlib.blake2b(f"{self.plan.seed}:{request_number}".encode(), digest_size=8).digest()
        draw = int.from_bytes(digest, "big") / 2.0**64
        for threshold, fault in self._thresholds:
            if draw < threshold:
                return fault
        return None

    def next_fault(self, method: str, path: str) -> Fault | None:
        """Draw for the next arriving request; ineligible requests draw nothing."""
        if not self._thresholds or not self.applies_to(method, path):
            return None
        number = self._eligible_seen
        self._eligible_seen += 1
        return self.decide(number)

    def reset(self) -> None:
        """Start the numbering again, so the same sequence of faults is dealt out again."""
        self._eligible_seen = 0


LatencySpec = float | tuple[float, float] | Callable[[random.Random], float] | None


@dataclass(frozen=True)
class ServerLimits:
    """Server-side quotas and latency; every one is off by default.

    ``latency`` is fixed seconds, a ``(low, high)`` uniform range, or a sampler called with the
    middleware's seeded ``random.Random`` (seeded from ``seed``) for any other distribution.
    ``max_concurrency`` caps requests being processed at once (past it: an immediate 429),
    ``per_minute`` caps accepted arrivals in any rolling ``minute`` seconds, ``daily_credits`` caps
    credits spent in any rolling 24 h, counted as Zoho counts them (see ``middleware.credit_cost``).

    ``minute`` is the length of that rolling minute (Zoho's 60 s by default). A shorter one lets a
    test or benchmark see many windows of a per-minute cap in a few seconds; the server's own
    count of its busiest window (``ServerCounters.max_requests_in_rolling_minute``) then uses the
    same length, so it reports on the window the cap is enforced on.
    """

    latency: LatencySpec = None
    max_concurrency: int | None = None
    per_minute: int | None = None
    daily_credits: int | None = None
    seed: int = 0
    minute: float = 60.0

    def __post_init__(self) -> None:
        for field in fields(self):
            if field.name in ("max_concurrency", "per_minute", "daily_credits"):
                value = getattr(self, field.name)
                if value is not None and (not isinstance(value, int) or value < 1):
                    raise ValueError(f"ServerLimits.{field.name} must be a positive int or None")
        minute = self.minute
        if isinstance(minute, bool) or not isinstance(minute, int | float) or not 0 < minute < math.inf:
            raise ValueError(
                f"ServerLimits.minute must be a positive, finite number of seconds, got {minute!r}"
            )
        latency = self.latency
        if isinstance(latency, tuple):
            low, high = latency
            if not 0 <= low <= high:
                raise ValueError("ServerLimits.latency range must satisfy 0 <= low <= high")
        elif isinstance(latency, int | float) and latency < 0:
            raise ValueError("ServerLimits.latency must be >= 0 seconds")

    @property
    def has_quota(self) -> bool:
        """True when a per-minute or daily budget is configured (and rate-limit headers are sent)."""
        return self.per_minute is not None or self.daily_credits is not None

    def sample_latency(self, rng: random.Random) -> float:
        """Seconds to hold this request before the app sees it."""
        latency = self.latency
        if latency is None:
            return 0.0
        if isinstance(latency, tuple):
            return rng.uniform(*latency)
        if callable(latency):
            return max(0.0, float(latency(rng)))
        return float(latency)


JOB_FAULTS = ("drop_upload_answers", "drop_create_answers", "fail_jobs", "refuse_callbacks")
FILE_FAULTS = ("drop_upload_answers",)


class _Countdowns:
    """Counts of faults still to deal (the fields named in ``_names``), each an int >= 0."""

    _names: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self._names:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{type(self).__name__}.{name} must be an int >= 0, got {value!r}")

    def take(self, fault: str) -> bool:
        """True when ``fault`` is due for this step (and one fewer is left)."""
        left: int = getattr(self, fault)
        if left <= 0:
            return False
        setattr(self, fault, left - 1)
        return True


@dataclass
class JobFaults(_Countdowns):
    """How many of the next bulk job steps go wrong; each count goes down as its fault is dealt.

    - ``drop_upload_answers``: the file host stores the upload, then drops the connection (the
      client never learns the ``file_id``; the file waits unused);
    - ``drop_create_answers``: a job is created (and will run), then the connection drops (the
      client never learns the job id: creating it again makes a second job);
    - ``fail_jobs``: the next jobs created end ``FAILED`` without doing their work;
    - ``refuse_callbacks``: the next jobs to end with a callback send none (a callback lost, so
      a client waiting only for callbacks waits for ever).

    Counts may be raised at any time (``emulator.job_faults.fail_jobs += 1``).
    """

    _names: ClassVar[tuple[str, ...]] = JOB_FAULTS
    drop_upload_answers: int = 0
    drop_create_answers: int = 0
    fail_jobs: int = 0
    refuse_callbacks: int = 0


@dataclass
class FileFaults(_Countdowns):
    """How many of the next file uploads to the API lose their answer.

    ``drop_upload_answers``: an attachment (file or link), a record photo or a Files API upload
    is kept, then the connection drops before the answer: the client cannot tell whether the
    file was taken (an upload sent again makes a second attachment). Counts may be raised at any
    time (``emulator.file_faults.drop_upload_answers += 1``).
    """

    _names: ClassVar[tuple[str, ...]] = FILE_FAULTS
    drop_upload_answers: int = 0
