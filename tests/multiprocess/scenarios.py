"""The runs the process tests make, once each, so one Redis server and a Redis Cluster run the same ones.

:func:`paced_import`: 4 processes import contacts into an emulator with a per-minute cap, their
limits shared through Redis; its figures are the server's (worst rolling window, combined rate,
429s). :func:`stale_token_run`: 4 processes x 10 tasks start with a token that needs refreshing;
the emulator counts the refreshes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bigin_emulator.server.counters import ServerCounters
from bigin_emulator.server.faults import ServerLimits
from tests.multiprocess.harness import combined_rate, run_workers, serve_emulator, worst_window
from tests.multiprocess.worker import CoordinationSpec

__all__ = [
    "CAP",
    "MINUTE",
    "PROCESSES",
    "PacedRun",
    "TokenRun",
    "assert_one_refresh",
    "assert_paced_within_the_cap",
    "paced_import",
    "stale_token_run",
]

MINUTE = 6.0  # seconds: the emulator's rolling minute, and the coordination's
# The clients' latency allowance: it scales with the minute (3 s of 60 is 0.3 s of 6), the room a
# call has to reach the server late. 0.3 s keeps a loaded CI machine's delivery jitter inside it,
# and the rate the rule allows while answers are slower than that, MINUTE / (MINUTE + 0.3) = 95% of
# the cap, is above the 90% asked (answered sooner, a call counts as arrived by its answer).
LATENCY_ALLOWANCE = 3.0
CAP = 40  # calls per MINUTE: the org's per-minute cap
PROCESSES = 4
# contacts each of 4 workers x 2 tasks imports, 10 a call: 64 calls in all, 1.6 minutes of the cap
RECORDS = 80


@dataclass
class PacedRun:
    """What the server saw of a paced run, and the workers' own reports."""

    results: list[dict[str, Any]]
    arrivals: list[float]
    counters: ServerCounters
    contacts: int
    records: int  # each task's

    @property
    def worst(self) -> int:
        return worst_window(self.arrivals, MINUTE)

    @property
    def rate(self) -> float:
        return combined_rate(self.arrivals, MINUTE, CAP)

    @property
    def sends(self) -> list[float]:
        """When the workers' API requests left them (one wall clock: the host's)."""
        return sorted(t for r in self.results for t in r["sends"])

    def summary(self) -> str:
        return (
            f"{len(self.arrivals)} calls, worst window {self.worst} (server: "
            f"{self.counters.max_requests_in_rolling_minute}; as sent: {worst_window(self.sends, MINUTE)}; "
            f"tightest {CAP + 1} arrivals {_tightest(self.arrivals):.3f} s, "
            f"sends {_tightest(self.sends):.3f} s) "
            f"vs cap {CAP} per {MINUTE:g} s, combined rate "
            f"{self.rate:.1%} of the cap, 429s {self.counters.rate_limited}, "
            f"peak {self.counters.peak_concurrency}"
        )


def _tightest(times: Sequence[float]) -> float:
    """The shortest time ``CAP + 1`` consecutive events took (a cap kept with room: above MINUTE)."""
    ordered = sorted(times)
    spans = [ordered[i + CAP] - ordered[i] for i in range(len(ordered) - CAP)]
    return min(spans, default=float("inf"))


async def paced_import(
    tmp_path: Path,
    coordination: CoordinationSpec,
    *,
    backends: Sequence[str] = ("trio",) + ("asyncio",) * (PROCESSES - 1),
    skews: Sequence[float] = (0.0,) * PROCESSES,
) -> PacedRun:
    """One process a backend, with its clock skewed by ``skews``, importing contacts: 2 tasks, 10 a
    call, ``2 * RECORDS * PROCESSES`` contacts in all (about two minutes of the cap, whatever the
    number of processes)."""
    records = RECORDS * PROCESSES // len(backends)
    async with serve_emulator(limits=ServerLimits(per_minute=CAP, minute=MINUTE)) as served:
        specs = [
            served.worker(
                f"p{n}",
                backend=backend,
                mode="import",
                tasks=2,
                records=records,
                client={
                    "requests_per_minute": CAP,
                    "max_concurrency": 10,
                    "latency_allowance": LATENCY_ALLOWANCE,
                },
                coordination=dataclasses.replace(coordination, minute=MINUTE),
                clock_skew=skew,
            )
            for n, (backend, skew) in enumerate(zip(backends, skews, strict=True))
        ]
        results = await run_workers(specs, tmp_path)
    contacts = len(served.emulator.store.table("Contacts"))
    return PacedRun(results, list(served.doorway.arrivals), served.emulator.counters, contacts, records)


def assert_paced_within_the_cap(run: PacedRun) -> None:
    """The issue's promise: never over the cap, nothing refused, at least 90% of it used."""
    print(run.summary())
    assert [r["errors"] for r in run.results] == [{}] * len(run.results), [r["messages"] for r in run.results]
    assert run.contacts == 2 * run.records * len(run.results)
    assert run.counters.rate_limited == 0, run.summary()
    assert run.worst <= CAP, run.summary()
    assert run.counters.max_requests_in_rolling_minute <= CAP
    assert run.rate >= 0.9, run.summary()


@dataclass
class TokenRun:
    results: list[dict[str, Any]]
    refreshes: int  # successful refreshes the emulator's OAuth endpoint made
    token_requests: int  # requests that reached the token endpoint


async def stale_token_run(tmp_path: Path, coordination: CoordinationSpec) -> TokenRun:
    """4 processes x 10 tasks, the shared store holding a token inside its refresh margin."""
    async with serve_emulator() as served:
        specs = [
            served.worker(
                f"t{n}",
                backend="trio" if n == 0 else "asyncio",
                tasks=10,
                calls=2,
                coordination=coordination,
                seed_stale_token=n == 0,
            )
            for n in range(PROCESSES)
        ]
        results = await run_workers(specs, tmp_path)
    return TokenRun(results, served.emulator.counters.refreshes, served.doorway.token_requests)


def assert_one_refresh(run: TokenRun) -> None:
    """Every call went through, on one refresh for all the processes."""
    print(f"stale token: {run.refreshes} refresh(es), token requests per process "
          f"{[r['token_requests'] for r in run.results]}")  # fmt: skip
    assert [(r["calls"], r["errors"]) for r in run.results] == [(20, {})] * PROCESSES, [
        r["messages"] for r in run.results
    ]
    assert run.refreshes == 1
    assert run.token_requests == 1
    assert sum(r["token_requests"] for r in run.results) == 1
