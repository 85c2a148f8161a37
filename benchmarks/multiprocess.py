"""Several OS processes sharing one org's budget, with and without ``RedisCoordination``.

Part 1, the shared budget: 1, 2, 4 and 8 worker processes (``tests/multiprocess/worker.py``, half
of them on trio) against one emulator whose org allows ``--cap`` calls per rolling minute and 10
at once. Each worker's client is configured as a user would configure it, with the org's cap as
its ``requests_per_minute`` and ``max_concurrency=10``; all of them start with a token that needs
refreshing (uncoordinated: none; coordinated: a stale one in the shared store). The processes
share one fixed amount of work: ``--run-seconds`` worth of the cap, as ``GET /org`` calls from
``--tasks`` tasks each. Reported per run: calls sent (the emulator's arrivals), 429s (the
emulator's count and the workers' own), the worst rolling window against the cap, the achieved
fraction of the budget (arrivals per minute over the run, over the cap; also without the first
minute, and the time from "go" to the first call), and the refreshes that reached the OAuth
endpoint.

Part 2, the cost of the Redis round trips: one worker making ``--latency-calls`` sequential calls
against an emulator with no cap, with and without coordination, alternating, on asyncio and trio;
the added latency is the difference of the medians of the mean per-call times. Also the raw time
of each Lua script a call runs (gate acquire and pace, finish), timed in this process around
``RedisBackend.run``.

The minute is shortened (``--minute`` seconds, on the emulator: ``ServerLimits(minute=...)``, and
in ``RedisCoordination(minute=...)``) so a run covers several windows in seconds. A client without
coordination always counts 60 s minutes, so its ``requests_per_minute`` is the cap scaled to a
60 s minute (``cap * 60 / minute``): the same pace a user's client keeps against Zoho's minute.

    .venv/bin/python benchmarks/multiprocess.py [--processes 1,2,4,8] [--minute 6] [--cap 120]
        [--run-seconds 18] [--tasks 5] [--latency-calls 1000] [--latency-rounds 2]

Needs redis-server on PATH (one is started on a free loopback port and stopped). Prints one JSON
document; progress notes go to stderr. Goals: >= 95% of the budget with 0 429s at 8 processes;
under 1 ms added per call on loopback. About 4 minutes with the defaults on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from bigin_async._config import Settings, build_settings
from bigin_async._coordination import Answer, Ask
from bigin_async.integrations.redis import _scripts
from bigin_async.integrations.redis._backend import RedisBackend, Script
from bigin_async.integrations.redis._keys import KeyFamily
from bigin_async.integrations.redis.limits import RedisLimits
from bigin_emulator.server.faults import ServerLimits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests.*

from tests.multiprocess.harness import (  # noqa: E402
    HANG_GUARD,
    combined_rate,
    serve_emulator,
    start_workers,
    worst_window,
)
from tests.multiprocess.worker import CoordinationSpec, WorkerSpec  # noqa: E402
from tests.redis_servers import RedisServer  # noqa: E402

FAST = 600_000  # requests_per_minute of the latency runs: a limiter that is on but never waits


def allowance(minute: float) -> float:
    """J, the latency allowance the limiters add to each window: the settings' seconds a 60 s minute."""
    return float(Settings.latency_allowance) * minute / 60.0


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- running workers ---------------------------------------------------------------------------------
async def run_timed(
    specs: Sequence[WorkerSpec], logs: Path, bound: float
) -> tuple[list[dict[str, Any]], float]:
    """The harness's run_workers, also noting when "go" was sent (on time.monotonic, the Doorway's
    clock), with a hang guard of ``bound`` seconds: uncoordinated processes sit out 429s of up to
    a minute each, longer than the tests' guard with a longer minute."""
    async with start_workers(specs, logs) as workers:
        went = time.monotonic()
        for worker in workers:
            await worker.go()
        with anyio.fail_after(max(HANG_GUARD, bound)):
            return [await worker.result() for worker in workers], went


def merged(results: Sequence[dict[str, Any]], field: str) -> dict[str, int]:
    total: Counter[str] = Counter()
    for result in results:
        total.update(result[field])
    return dict(total)


# -- part 1: the shared budget ------------------------------------------------------------------------
async def budget_run(
    args: argparse.Namespace, processes: int, redis_url: str | None, logs: Path
) -> dict[str, Any]:
    minute, cap, tasks = args.minute, args.cap, args.tasks
    total = cap * args.run_seconds / minute
    calls = max(1, math.ceil(total / (processes * tasks)))
    limits = ServerLimits(per_minute=cap, minute=minute, max_concurrency=10, latency=args.latency)
    client: dict[str, Any] = {"max_concurrency": 10, "max_retries": 8}
    if redis_url is None:
        client["requests_per_minute"] = round(cap * 60 / minute)
        coordination = None
    else:
        client["requests_per_minute"] = cap
        coordination = CoordinationSpec(
            redis_url, namespace=f"budget-{processes}-{time.time_ns()}", minute=minute
        )
    async with serve_emulator(limits=limits) as served:
        specs = [
            served.worker(
                f"{'redis' if coordination else 'local'}-{processes}-p{n}",
                backend="trio" if n % 2 else "asyncio",
                tasks=tasks,
                calls=calls,
                client=client,
                coordination=coordination,
                seed_stale_token=coordination is not None and n == 0,
            )
            for n in range(processes)
        ]
        bound = 4 * args.run_seconds + 10 * minute
        results, went = await run_timed(specs, logs / f"budget-{processes}-{bool(coordination)}", bound)
    counters = served.emulator.counters
    arrivals = sorted(served.doorway.arrivals)
    refused = counters.rate_limited
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    after_first_minute = [t for t in arrivals if t >= arrivals[0] + minute] if arrivals else []
    # The bookings' pace, W / N (a send also waits until the N-th last one may have arrived a
    # minute before it: its answer's time, or J after it while unanswered): a run that took longer
    # than that pace fell behind it, by the answers' latency at least.
    interval = minute / cap
    gaps = sorted(
        (later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)), reverse=True
    )
    return {
        "processes": processes,
        "coordinated": coordination is not None,
        "calls_planned": processes * tasks * calls,
        "calls_sent": len(arrivals),
        "calls_ok": sum(r["calls"] for r in results),
        "errors": merged(results, "errors"),
        "responses_429_emulator": refused,
        "responses_429_workers": sum(r["responses_429"] for r in results),
        "rejected_by_limit": dict(counters.rejected_by_limit),
        "worst_window": worst_window(arrivals, minute),
        "worst_window_emulator": counters.max_requests_in_rolling_minute,
        "cap": cap,
        "achieved_fraction": round(combined_rate(arrivals, minute, cap), 4),
        "accepted_fraction": round((len(arrivals) - refused - 1) / span * minute / cap, 4) if span else 0.0,
        "fraction_after_first_minute": round(combined_rate(after_first_minute, minute, cap), 4),
        "first_call_after_go_s": round(arrivals[0] - went, 3) if arrivals else None,
        "run_s": round(span, 2),
        "interval_ms": round(interval * 1000, 2),
        "behind_pace_s": round(span - (len(arrivals) - 1) * interval, 3) if arrivals else None,
        "largest_gaps_ms": [round(gap * 1000, 1) for gap in gaps[:5]],
        "peak_concurrency_emulator": counters.peak_concurrency,
        "refreshes_emulator": counters.refreshes,
        "token_requests_at_endpoint": served.doorway.token_requests,
        "token_requests_workers": sum(r["token_requests"] for r in results),
        "requests_per_minute_configured": client["requests_per_minute"],
    }


# -- part 2: the round trips' cost --------------------------------------------------------------------
def command_counts(redis: RedisServer) -> dict[str, tuple[int, int]]:
    """Redis's own count of the commands it ran and the microseconds they took, by command."""
    with redis.client() as client:
        stats: dict[str, dict[str, Any]] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): (int(s["calls"]), int(s["usec"])) for name, s in stats.items()}


def commands_per_call(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], calls: int
                      ) -> dict[str, Any]:  # fmt: skip
    """The Redis commands (and their server-side microseconds) one API call cost, by command."""
    added = {
        name: (count - before.get(name, (0, 0))[0], usec - before.get(name, (0, 0))[1])
        for name, (count, usec) in after.items()
        if name != "info"
    }
    return {
        name: {"per_call": round(count / calls, 3), "server_us_per_call": round(usec / calls, 1)}
        for name, (count, usec) in added.items()
        if count
    }


async def per_call_times(args: argparse.Namespace, redis: RedisServer, logs: Path) -> dict[str, Any]:
    """Mean per-call time of one sequential worker, without and with coordination, alternating."""
    report: dict[str, Any] = {}
    redis_url = redis.url
    async with serve_emulator() as served:
        for backend in ("asyncio", "trio"):
            means: dict[str, list[float]] = {"local": [], "redis": []}
            commands: dict[str, Any] = {}
            for round_ in range(args.latency_rounds):
                for side in ("local", "redis"):
                    coordination = (
                        CoordinationSpec(redis_url, namespace=f"latency-{backend}-{round_}")
                        if side == "redis"
                        else None
                    )
                    spec = served.worker(
                        f"latency-{backend}-{side}-{round_}",
                        backend=backend,
                        calls=args.latency_calls,
                        client={"requests_per_minute": FAST},
                        coordination=coordination,
                    )
                    before = command_counts(redis)
                    [result], _ = await run_timed([spec], logs / "latency", args.latency_calls * 0.1)
                    assert result["calls"] == args.latency_calls, result["messages"]
                    if side == "redis":
                        commands = commands_per_call(before, command_counts(redis), args.latency_calls)
                    means[side].append(result["elapsed"] / args.latency_calls * 1000.0)
            local, shared = statistics.median(means["local"]), statistics.median(means["redis"])
            report[backend] = {
                "mean_ms_per_call_local": [round(m, 4) for m in means["local"]],
                "mean_ms_per_call_redis": [round(m, 4) for m in means["redis"]],
                "median_local_ms": round(local, 4),
                "median_redis_ms": round(shared, 4),
                "added_ms_per_call": round(shared - local, 4),
                "redis_commands_per_call_last_round": commands,
            }
    return report


class TimedBackend(RedisBackend):
    """A RedisBackend that notes how long each script's round trip took."""

    times: dict[str, list[float]]

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[str | int | float]) -> Any:
        started = time.perf_counter()
        try:
            return await super().run(script, keys, args)
        finally:
            self.times.setdefault(script.name, []).append(time.perf_counter() - started)


async def script_times(redis: RedisServer, cycles: int) -> dict[str, Any]:
    """One call's scripts (gate acquire and pace, finish), ``cycles`` times in a row, on this event loop.

    Each script's round trip as this process sees it, beside the time Redis itself spent running
    it (its SLOWLOG, told to log every command) and a PING's round trip: what is left is the
    client's side (redis-py, the event loop; under trio, a worker thread each way).
    """
    backend = TimedBackend.from_url(redis.url)
    assert isinstance(backend, TimedBackend)
    backend.times = {}
    settings = build_settings(api_domain="http://127.0.0.1:1", requests_per_minute=FAST)
    family = KeyFamily("bench-ops", "default", f"ops-{time.time_ns()}")
    limits = RedisLimits(backend, family, settings)
    answer = Answer(uncounted=False, headers=None)
    try:
        for warm in (True, False):
            started = time.perf_counter()
            for _ in range(50 if warm else cycles):
                ask = Ask(cost=1, bulk=False, paced_by=None, deadline_at=None, timeout=30.0)
                async with limits.slot() as slot:
                    assert await limits.pace(slot, ask)
                    await limits.finish(slot, ask, answer)
            cycle = (time.perf_counter() - started) / cycles
            if warm:
                backend.times.clear()
                with redis.client() as client:
                    client.config_set("slowlog-log-slower-than", 0)
                    client.config_set("slowlog-max-len", 4 * cycles + 100)
                    client.slowlog_reset()
        with redis.client() as client:
            entries = client.slowlog_get(4 * cycles + 100)
            client.config_set("slowlog-log-slower-than", 10000)
        pings = []
        for _ in range(cycles):
            ping_started = time.perf_counter()
            await backend.ping()
            pings.append(time.perf_counter() - ping_started)
    finally:
        await backend.aclose()
    scripts = (_scripts.ACQUIRE, _scripts.ACQUIRE_PACE, _scripts.PACE, _scripts.FINISH)
    names = {script.sha: script.name for script in scripts}
    server: dict[str, list[int]] = {}
    for entry in entries:
        command = entry["command"]
        command = command.decode() if isinstance(command, bytes) else str(command)
        words = command.split()
        if len(words) > 1 and words[0].upper() == "EVALSHA" and words[1] in names:
            server.setdefault(names[words[1]], []).append(int(entry["duration"]))
    report: dict[str, Any] = {
        name: {"ops": len(times), "mean_ms": round(statistics.fmean(times) * 1000, 4),
               "median_ms": round(statistics.median(times) * 1000, 4),
               "server_median_us": statistics.median(server[name]) if server.get(name) else None}
        for name, times in backend.times.items()
    }  # fmt: skip
    report["ping_median_ms"] = round(statistics.median(pings) * 1000, 4)
    report["cycle_mean_ms"] = round(cycle * 1000, 4)
    return report


# -- the whole benchmark ------------------------------------------------------------------------------
async def shared_budget(args: argparse.Namespace, redis_url: str, logs: Path) -> list[dict[str, Any]]:
    runs = []
    for processes in args.processes:
        for url in (None, redis_url):
            note(f"budget: {processes} process(es), {'Redis' if url else 'no'} coordination")
            run = await budget_run(args, processes, url, logs)
            note(
                f"  {run['calls_sent']} sent, {run['responses_429_emulator']} 429s, worst window "
                f"{run['worst_window']}/{run['cap']}, achieved {run['achieved_fraction']:.1%}, "
                f"refreshes {run['refreshes_emulator']}"
            )
            runs.append(run)
    return runs


def goals(runs: Sequence[dict[str, Any]], latency: dict[str, Any], most: int) -> dict[str, Any]:
    top = [r for r in runs if r["coordinated"] and r["processes"] == most]
    added = max(latency[backend]["added_ms_per_call"] for backend in latency)
    return {
        f"budget_at_{most}_processes": {
            "goal": ">= 0.95 of the budget with 0 429s",
            "achieved_fraction": top[0]["achieved_fraction"] if top else None,
            "responses_429": top[0]["responses_429_emulator"] if top else None,
            "met": bool(top)
            and top[0]["achieved_fraction"] >= 0.95
            and top[0]["responses_429_emulator"] == 0,
        },
        "added_latency": {"goal": "< 1 ms per call on loopback", "worst_added_ms": added, "met": added < 1.0},
    }


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--processes", default="1,2,4,8", help="comma-separated process counts")
    parser.add_argument("--minute", type=float, default=6.0, help="seconds in the shortened minute")
    parser.add_argument("--cap", type=int, default=120, help="the org's calls per (shortened) minute")
    parser.add_argument("--run-seconds", type=float, default=18.0, help="work per run: this long at the cap")
    parser.add_argument("--tasks", type=int, default=5, help="tasks per worker process")
    parser.add_argument("--latency", type=float, default=0.02, help="the emulator's seconds per call")
    parser.add_argument("--latency-calls", type=int, default=1000, help="sequential calls per latency run")
    parser.add_argument("--latency-rounds", type=int, default=2, help="latency runs per side and backend")
    parser.add_argument("--script-cycles", type=int, default=1000, help="call cycles timing the scripts")
    args = parser.parse_args(argv)
    args.processes = [int(n) for n in args.processes.split(",")]
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    started = time.perf_counter()
    with RedisServer() as redis, tempfile.TemporaryDirectory(prefix="bench-multiprocess-") as tmp:
        logs = Path(tmp)
        note("scripts: raw round trips")
        scripts = {
            backend: anyio.run(script_times, redis, args.script_cycles, backend=backend)
            for backend in ("asyncio", "trio")
        }
        note("latency: sequential calls with and without coordination")
        latency = anyio.run(per_call_times, args, redis, logs)  # uvicorn serves: asyncio
        runs = anyio.run(shared_budget, args, redis.url, logs)
    return {
        "minute_seconds": args.minute,
        "minute_note": "shortened: ServerLimits(minute=...) on the emulator, RedisCoordination(minute=...)",
        "cap_per_minute": args.cap,
        "emulator": {"max_concurrency": 10, "latency_s": args.latency},
        "tasks_per_process": args.tasks,
        "run_seconds_of_work": args.run_seconds,
        "rate_ceiling": {
            "latency_allowance_s": round(allowance(args.minute), 4),
            "rate_fraction": round(args.minute / (args.minute + args.latency), 4),
            "unanswered_rate_fraction": round(args.minute / (args.minute + allowance(args.minute)), 4),
            "rule": "N per W plus the answers' latency (W + J while they go unanswered) of the cap",
        },
        "shared_budget": runs,
        "per_call_latency": latency,
        "script_round_trips": scripts,
        "goals": goals(runs, latency, max(args.processes)),
        "benchmark_seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(), indent=2) + "\n")
