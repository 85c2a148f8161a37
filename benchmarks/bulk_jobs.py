"""Bulk jobs against calls: credits, time and client memory to import and export N contacts.

For each size (100,000 and 1,000,000 contacts by default) and each path (``calls``: 100-record
inserts and 200-record pages; ``jobs``: Bigin's Bulk Write and Bulk Read jobs), one fresh emulator
receives the import, then gives the records back as an export. Reported per case:

- ``credits``: what the emulator counted, by Zoho's rules (1 a call; inserts 1 per 10 records;
  500 a write job, 50 a read job); the goal is a 1M-record import under 25,000 credits and an
  export under 300;
- ``client_wall_seconds``: measured, from the first record to the last outcome (or exported row);
- ``modelled_job_wait_seconds`` (jobs only): the time the jobs would keep the client waiting on
  Zoho, *modelled*, not waited for: the emulator runs on a virtual clock (see below);
- ``modelled_total_seconds``: the two added;
- ``client_peak_rss_mib``: the client process's peak resident memory (the client runs in a process
  of its own, one per case, so the emulator's million stored records are not in it; goal: flat
  in the record count);
- ``outcomes`` / ``exported`` / ``store``: every record accounted for (an outcome per input record
  and the store holding exactly the successes; every stored record exported once, ids strictly
  ordered, so none twice); ``all_succeeded`` when every outcome is a success.

**Job times.** Zoho does not document how long a job takes. The modelled values (options below):
a job waits ``--queue-delay`` (30 s) in ``ADDED``, then runs ``--write-seconds-per-1000`` (4 s per
1,000 records: about 2 minutes for a 25,000-record part) or ``--read-seconds-per-1000`` (1 s per
1,000: about 3.5 minutes for a 200,000-record page). Waiting for them in real time would make a
1M-record run take hours, so the emulator's clock is virtual: every status poll of a job moves it
forward by the real time since that job's previous poll (or its creation), at most the client's
longest sleep between polls, multiplied by ``--poll-interval-modelled / --poll-interval-real``
(5 s / 0.02 s); time the client spends working meanwhile passes unscaled. The client polls exactly as
it would with a 5-second interval (growing while the job stays put) and its polls cost the
credits they would; the virtual seconds added are the modelled job wait. Calls are measured with
no network latency; ``modelled_round_trips_seconds`` adds ``--call-latency`` (0.3 s, assumed) per
call, ten at once for the import's writes, one at a time for the export's pages (the paginator
reads page after page), and ``modelled_total_seconds`` the two.

Status polls cost a credit each, so the jobs' credits depend on the polling: besides the SDK's
default (``poll_interval=5``, doubling up to 12x while a job stays in one state), the export through
jobs runs once more polling from ``--export-poll-also`` (20) modelled seconds.

The emulator runs in a child process (this script with ``--serve``), the client of each case in
another (``--client``); the emulator's counters come from a control route. Prints one JSON
document; progress notes go to stderr.

    .venv/bin/python benchmarks/bulk_jobs.py [--sizes 100000,1000000] [--paths calls,jobs]
                                             [--operations import,export]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from bigin_async import BiginClient, RecordOutcome
from bigin_async.resources.bulk_jobs import MAX_POLL_GROWTH
from bigin_emulator import BiginEmulator
from bigin_emulator.server.middleware import ASGIApp, Receive, Scope, Send, send_json

CONTROL_PATH = "/__bench__/state"
FIELDS = ["First_Name", "Last_Name", "Email", "Phone", "Mailing_City"]
STATUS_PREFIXES = ("/bigin/bulk/v2/write/", "/bigin/bulk/v2/read/")


def note(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# -- the server side (child process) --------------------------------------------------------------


class VirtualClock:
    """Real time plus the modelled job waits added so far (``skew``)."""

    def __init__(self) -> None:
        self.skew = 0.0

    def __call__(self) -> float:
        return time.time() + self.skew


class JobTimeModel:
    """Moves the virtual clock on each job status poll (see the module docstring)."""

    def __init__(self, clock: VirtualClock, scale: float) -> None:
        self.clock = clock
        self.scale = scale
        self.last_real: dict[str, float] = {}
        self.created_real: float | None = None
        self.polls = 0
        self.max_gap = float("inf")  # the longest sleep of the client between two polls (real s)

    def created(self) -> None:
        self.created_real = time.perf_counter()

    def polled(self, job_id: str) -> None:
        now = time.perf_counter()
        since = self.last_real.get(job_id, self.created_real if self.created_real is not None else now)
        # Only the client's sleep between polls is scaled: time it spent working (reading the
        # previous page while this job ran, say) passes on the virtual clock as it did for real.
        self.clock.skew += min(now - since, self.max_gap) * (self.scale - 1)
        self.last_real[job_id] = now
        self.polls += 1


def bench_app(emulator: BiginEmulator, model: JobTimeModel) -> ASGIApp:
    """The emulator's app, plus the control route and the virtual clock's hooks."""
    app = emulator.app

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == CONTROL_PATH:
            await control(scope, receive, send)
            return
        tail = path[len(STATUS_PREFIXES[0]) :] if path.startswith(STATUS_PREFIXES[0]) else None
        if tail is None and path.startswith(STATUS_PREFIXES[1]):
            tail = path[len(STATUS_PREFIXES[1]) :]
        if method == "GET" and tail and tail.isdigit():
            model.polled(tail)
        await app(scope, receive, send)
        if method == "POST" and path.rstrip("/") in ("/bigin/bulk/v2/write", "/bigin/bulk/v2/read"):
            model.created()

    async def control(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":  # set the job times for the jobs created from now on
            settings = json.loads(body)
            emulator.jobs.queue_delay = float(settings["queue_delay"])
            emulator.jobs.seconds_per_1000 = float(settings["seconds_per_1000"])
            # The SDK's polls slow to MAX_POLL_GROWTH x the first interval; a little slack for the
            # loop around them.
            model.max_gap = MAX_POLL_GROWTH * 1.1 * float(settings["poll_interval_real"])
        answer = json.dumps(
            {
                "counters": emulator.counters.snapshot(),
                "contacts": len(emulator.store.table("Contacts")),
                "modelled_seconds": model.clock.skew,
                "job_polls": model.polls,
                "cpu_seconds": time.process_time(),
                "rss_mib": peak_rss_mib(),
            }
        ).encode()
        await send_json(send, 200, answer)

    return wrapped


async def serve_forever(args: argparse.Namespace) -> None:
    clock = VirtualClock()
    model = JobTimeModel(clock, args.poll_interval_modelled / args.poll_interval_real)
    # token_ttl: a week of virtual time, so the modelled hours never expire the client's token
    # mid-run (a refresh is one call; it would only add noise).
    emulator = BiginEmulator(clock=clock, token_ttl=7 * 86_400.0)
    emulator.app = bench_app(emulator, model)  # type: ignore[assignment]  # serve() serves .app
    async with emulator.serve(port=0) as url:
        sys.stdout.write(json.dumps({"url": url, "content_url": content_url_of(emulator, url)}) + "\n")
        sys.stdout.flush()
        await anyio.sleep_forever()


def content_url_of(emulator: BiginEmulator, url: str) -> str:
    """Where the served emulator's file host answers."""
    return str(getattr(emulator, "content_url", None) or url)


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- one case (child process) -----------------------------------------------------------------------


def contacts(count: int) -> Iterator[dict[str, Any]]:
    """``count`` distinct contacts, made one at a time (never all in memory)."""
    for number in range(count):
        yield {
            "First_Name": "Bench",
            "Last_Name": f"Contact {number}",
            "Email": f"contact.{number}@bench.example.com",
            "Phone": f"+1 555 {number:07d}",
            "Mailing_City": ("Paris", "Berlin", "Lisbon", "Osaka")[number % 4],
        }


def client_for(urls: dict[str, str], **options: Any) -> BiginClient:
    return BiginClient(
        client_id="emulator-client-id",
        client_secret="emulator-client-secret",
        refresh_token="emulator-refresh-token",
        api_domain=urls["url"],
        accounts_url=urls["url"],
        content_domain=urls["content_url"],
        **options,
    )


async def import_case(bigin: BiginClient, path: str, size: int, poll: float, workdir: str) -> dict[str, Any]:
    counts: Counter[str] = Counter()

    def on_result(outcome: RecordOutcome) -> None:
        counts[outcome.status] += 1
        if outcome.action:
            counts[outcome.action] += 1

    if path == "calls":
        result = await bigin.contacts.bulk_create(contacts(size), on_result=on_result, keep_outcomes=False)
    else:
        result = await bigin.contacts.bulk_import(
            contacts(size),
            on_result=on_result,
            keep_outcomes=False,
            via="jobs",
            workdir=workdir,
            poll_interval=poll,
        )
    return {"outcomes": dict(counts), "result_total": result.total}


async def export_case(bigin: BiginClient, path: str, poll: float, workdir: str) -> dict[str, Any]:
    exported = 0
    previous: int | None = None
    direction = 0
    ordered = True
    records: AsyncIterator[Any]
    if path == "calls":
        records = aiter(bigin.contacts.list(fields=",".join(FIELDS)))
    else:
        records = aiter(
            bigin.contacts.bulk_export(fields=FIELDS, via="jobs", poll_interval=poll, workdir=workdir)
        )
    async for record in records:
        exported += 1
        number = int(record.id)
        if previous is not None:  # strictly one way: no record twice (without a set of a million ids)
            step = (number > previous) - (number < previous)
            direction = direction or step
            ordered = ordered and step == direction and step != 0
        previous = number
    return {"exported": exported, "ids_strictly_ordered": ordered}


async def run_case(args: argparse.Namespace) -> dict[str, Any]:
    urls = json.loads(args.urls)
    with tempfile.TemporaryDirectory(prefix="bigin-bench-") as workdir:
        async with client_for(urls) as bigin:
            await bigin.org.get()  # the token and connections set up outside the timing
            rss_before = peak_rss_mib()
            started = time.perf_counter()
            if args.client == "import":
                figures = await import_case(bigin, args.path, args.size, args.poll_interval_real, workdir)
            else:
                figures = await export_case(bigin, args.path, args.poll_interval_real, workdir)
            elapsed = time.perf_counter() - started
    figures.update(
        client_wall_seconds=round(elapsed, 2),
        client_peak_rss_mib=peak_rss_mib(),
        client_rss_before_mib=rss_before,
    )
    return figures


# -- the orchestrator ---------------------------------------------------------------------------------


@asynccontextmanager
async def server_process(args: argparse.Namespace) -> AsyncIterator[dict[str, str]]:
    argv = [
        sys.executable,
        __file__,
        "--serve",
        "--poll-interval-real",
        str(args.poll_interval_real),
        "--poll-interval-modelled",
        str(args.poll_interval_modelled),
    ]
    process = await anyio.open_process(argv, stdout=subprocess.PIPE, stderr=None)
    async with process:
        assert process.stdout is not None
        line = b""
        while not line.endswith(b"\n"):
            line += await process.stdout.receive(1)
        try:
            yield json.loads(line)
        finally:
            process.terminate()
            await process.wait()


async def server_state(url: str, settings: dict[str, float] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=600) as http:
        if settings is None:
            response = await http.get(url + CONTROL_PATH)
        else:
            response = await http.post(url + CONTROL_PATH, json=settings)
    return dict(response.json())


def credits_of(state: dict[str, Any]) -> int:
    return int(state["counters"].get("credits", 0))


async def client_process(
    args: argparse.Namespace, urls: dict[str, str], operation: str, path: str, size: int, poll_real: float
) -> dict[str, Any]:
    argv = [
        sys.executable,
        __file__,
        "--client",
        operation,
        "--path",
        path,
        "--size",
        str(size),
        "--urls",
        json.dumps(urls),
        "--poll-interval-real",
        str(poll_real),
    ]
    done = await anyio.run_process(argv, check=False, stderr=None)
    if done.returncode != 0:
        raise RuntimeError(f"the {operation} {path} case failed (exit {done.returncode})")
    return dict(json.loads(done.stdout))


async def run_path(args: argparse.Namespace, size: int, path: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with server_process(args) as urls:
        if "export" in args.operations and "import" not in args.operations:
            raise SystemExit("--operations export needs import too (the import fills the store)")
        cases = [(operation, operation, args.poll_interval_real) for operation in args.operations]
        if path == "jobs" and "export" in args.operations and args.export_poll_also:
            # The same export polling every N modelled seconds: the server's clock scale is fixed,
            # so the client's real interval scales with N.
            slower = args.poll_interval_real * args.export_poll_also / args.poll_interval_modelled
            cases.append((f"export_polling_from_{args.export_poll_also:g}s", "export", slower))
        for name, operation, poll_real in cases:
            per_1000 = args.write_seconds_per_1000 if operation == "import" else args.read_seconds_per_1000
            before = await server_state(
                urls["url"],
                {
                    "queue_delay": args.queue_delay,
                    "seconds_per_1000": per_1000,
                    "poll_interval_real": poll_real,
                },
            )
            note(f"{size:,} contacts, {name} via {path} ...")
            case = await client_process(args, urls, operation, path, size, poll_real)
            after = await server_state(urls["url"])
            case["credits"] = credits_of(after) - credits_of(before)
            case["calls"] = after["counters"]["requests_total"] - before["counters"]["requests_total"]
            case["store"] = after["contacts"]
            if path == "jobs":
                wait = after["modelled_seconds"] - before["modelled_seconds"]
                case["job_status_polls"] = after["job_polls"] - before["job_polls"]
                case["modelled_job_wait_seconds"] = round(wait, 1)
                case["modelled_total_seconds"] = round(wait + case["client_wall_seconds"], 1)
            else:
                in_flight = 10 if operation == "import" else 1
                trips = case["calls"] * args.call_latency / in_flight
                case["modelled_round_trips_seconds"] = round(trips, 1)
                case["modelled_total_seconds"] = round(trips + case["client_wall_seconds"], 1)
            outcomes = case.get("outcomes", {})
            if operation == "import":
                # An outcome per input record, and the store holding exactly the successes (an
                # unknown outcome is an insert whose answer was lost: the SDK never re-sends it).
                decided = sum(outcomes.get(status, 0) for status in ("success", "error", "unknown"))
                case["every_record_accounted_for"] = decided == size and case["store"] == outcomes.get(
                    "success", 0
                )
                case["all_succeeded"] = outcomes.get("success", 0) == size
            else:
                case["every_record_accounted_for"] = (
                    case["exported"] == case["store"] and case["ids_strictly_ordered"]
                )
            figures[name] = case
            note(json.dumps(case))
        figures["server_peak_rss_mib"] = (await server_state(urls["url"]))["rss_mib"]
    return figures


async def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "modelled_job_times": {
            "queue_delay_seconds": args.queue_delay,
            "write_seconds_per_1000_records": args.write_seconds_per_1000,
            "read_seconds_per_1000_records": args.read_seconds_per_1000,
            "client_poll_interval_modelled_seconds": args.poll_interval_modelled,
            "client_poll_interval_real_seconds": args.poll_interval_real,
        },
        "modelled_call_latency_seconds": args.call_latency,
        "goals": {"import_1m_credits_below": 25_000, "export_1m_credits_below": 300},
        "sizes": {},
    }
    for size in args.sizes:
        report["sizes"][str(size)] = {path: await run_path(args, size, path) for path in args.paths}
    million = report["sizes"].get("1000000", {}).get("jobs")
    if million:
        report["goals"]["met"] = {
            "import": million.get("import", {}).get("credits", 10**9) < 25_000,
            "export": million.get("export", {}).get("credits", 10**9) < 300,
        }
    return report


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated record counts")
    parser.add_argument("--paths", default="calls,jobs", help="calls, jobs or both")
    parser.add_argument("--operations", default="import,export", help="import, or import,export")
    parser.add_argument(
        "--queue-delay", type=float, default=30.0, help="modelled seconds a job waits in ADDED"
    )
    parser.add_argument("--write-seconds-per-1000", type=float, default=4.0)
    parser.add_argument("--read-seconds-per-1000", type=float, default=1.0)
    parser.add_argument(
        "--call-latency", type=float, default=0.3, help="modelled seconds a call takes at Zoho"
    )
    parser.add_argument("--poll-interval-modelled", type=float, default=5.0)
    parser.add_argument("--poll-interval-real", type=float, default=0.02)
    parser.add_argument(
        "--export-poll-also",
        type=float,
        default=20.0,
        help="also export through jobs polling from this many modelled seconds (0: not)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=("import", "export"), help=argparse.SUPPRESS)
    parser.add_argument("--path", choices=("calls", "jobs"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.sizes = [int(size) for size in args.sizes.split(",") if size]
    args.paths = [path for path in args.paths.split(",") if path]
    args.operations = [operation for operation in args.operations.split(",") if operation]
    return args


def main() -> None:
    args = parse_args()
    if args.serve:
        anyio.run(serve_forever, args)
    elif args.client:
        sys.stdout.write(json.dumps(anyio.run(run_case, args)) + "\n")
    else:
        sys.stdout.write(json.dumps(anyio.run(run, args), indent=2) + "\n")


if __name__ == "__main__":
    main()
