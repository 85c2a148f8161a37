"""Bulk import throughput against the emulator over loopback, and the per-minute cap as the server saw it.

Part 1 (throughput): 100,000 contacts with ``bulk_create`` into an emulator that answers each call
after 50 ms and processes at most 10 calls at once, with no per-minute cap. 1,000 calls of 100
records, 10 at a time, 50 ms each: the floor is 1,000 x 0.05 / 10 = 5 s. Reported: elapsed time,
its ratio to the floor (goal: at most 1.10; 1.05 against the fixed-answer server), the server's
peak concurrency (must be 10, never 11: an 11th call would be refused with a 429), and the same
import one call at a time, as the peer SDKs do it. Against the fixed-answer server the import is
also written by hand (httpx + json, 10 workers, nothing else: ``raw_httpx_fixed_answer_server``),
the least any httpx-based client can do, so the SDK's ratio to the floor can be read against the
HTTP stack's own.
``stack_floor`` (skipped by ``--skip-stack-floor``) goes one step lower: the workers only sleeping
(the event loop's floor), and the hand-written loop and the SDK against a server that is barely
one (``minimal_server``: no uvicorn, no h11, the body skipped unread), so what the fixed-answer
server costs and what httpx and the sockets cost can be told apart.

Part 2 (rate): ``requests_per_minute=600`` on the client, an import running for 150 s. Reported:
the most calls the emulator counted inside any rolling minute (must not exceed 600; the counter
sees every arrival, refused or not) and the achieved rate (goal: at least 97% of the cap). By
default the emulator only counts; ``--enforce-cap`` also makes it refuse past 600 a minute and send
``X-RateLimit-*`` headers for that per-minute window (the client ignores header sets of a short
window for its daily budget, so the import runs through).

The emulator runs in a child process (this script with ``--serve``): validating and storing 100
records takes the emulator a few milliseconds of CPU per call, and sharing one core with the
client would make the server, not the SDK, the limit. ``--same-process`` adds that run for
comparison. The child serves its counters at ``/__bench__/counters``.

    .venv/bin/python benchmarks/bulk_import.py [--records 100000] [--rate-seconds 150]

Prints one JSON document (progress notes go to stderr).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
from anyio.abc import SocketAttribute, SocketStream

from bigin_async import BiginClient
from bigin_emulator import BiginEmulator
from bigin_emulator.seed import SeedGenerator
from bigin_emulator.server.faults import ServerLimits
from bigin_emulator.server.middleware import ASGIApp, Receive, Scope, Send
from bigin_emulator.server.serving import serve

CONTROL_PATH = "/__bench__/counters"
# Issue 15, items 2 and 3: elapsed over the floor, against the fixed-answer server and the emulator
# in the same run, and the share of the per-minute cap sustained (no rolling minute over it).
GOALS = {"fixed_answer_ratio_to_floor": 1.05, "emulator_ratio_to_floor": 1.10, "rate_share_of_cap": 0.97}


def note(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# -- the server side (child process) --------------------------------------------------------------


def with_control_route(emulator: BiginEmulator) -> ASGIApp:
    """The emulator's app plus one route that reports its counters and record count."""
    app = emulator.app

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == CONTROL_PATH:
            body = json.dumps(
                {
                    "counters": emulator.counters.snapshot(),
                    "contacts": len(emulator.store.table("Contacts")),
                    "cpu_seconds": time.process_time(),
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapped


# A Zoho answer to a 100-record insert, every record added (benchmarks/write_path.py reads it too).
SUCCESS_ENTRY = {
    "code": "SUCCESS",
    "message": "record added",
    "status": "success",
    "details": {
        "id": "5545000000001000010",
        "Created_Time": "2026-01-01T00:00:00+00:00",
        "$approval_state": "approved",
    },
}
FIXED_ANSWER = json.dumps({"data": [SUCCESS_ENTRY] * 100}).encode()


class FixedAnswers:
    """What both fixed-answer servers answer: a token, the counters, or after ``latency`` the
    100 ready-made success entries of a write, counting calls and the peak in flight."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.token = json.dumps({"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}).encode()
        self.in_flight = self.peak = self.calls = 0

    async def body(self, method: str, path: str) -> bytes:
        if path == CONTROL_PATH:
            return json.dumps(
                {
                    "counters": {
                        "peak_concurrency": self.peak,
                        "requests_total": self.calls,
                        "requests_by_route": {"POST /bigin/v2/Contacts": self.calls},
                        "rate_limited": 0,
                    },
                    "contacts": 0,
                    "cpu_seconds": time.process_time(),
                }
            ).encode()
        if not path.startswith("/bigin/"):
            return self.token
        self.calls += method == "POST"
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await anyio.sleep(self.latency)
        self.in_flight -= 1
        return FIXED_ANSWER


def fixed_answer_app(latency: float) -> ASGIApp:
    """A server that costs almost nothing: every write gets 100 ready-made success entries.

    The same import against it shows what the SDK itself adds, apart from the emulator's own
    CPU time (which validates and stores every record, as a server must)."""
    answers = FixedAnswers(latency)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if str(scope["path"]).startswith("/bigin/"):
            while (await receive()).get("more_body"):
                pass
        body = await answers.body(str(scope["method"]), str(scope["path"]))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def minimal_server(latency: float) -> Callable[[SocketStream], Awaitable[None]]:
    """A connection handler that is barely an HTTP server: the fixed answers with no uvicorn and no h11.

    It reads a request's head up to its blank line, takes ``Content-Length`` from it, skips the
    body unread and answers as ``fixed_answer_app`` does. It shows what the fixed-answer server
    itself adds to a client's round trip (uvicorn's h11 parsing of a 29 KB body, the ASGI
    messages): the raw loop against it is the floor of the client's HTTP stack alone.
    """
    answers = FixedAnswers(latency)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"

    async def handle(stream: SocketStream) -> None:
        buffer = bytearray()
        async with stream:
            while True:
                try:
                    while (end := buffer.find(b"\r\n\r\n")) < 0:
                        buffer += await stream.receive()
                    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
                    method, target = lines[0].split(" ")[:2]
                    length = 0
                    for line in lines[1:]:
                        name, _, value = line.partition(":")
                        if name.strip().lower() == "content-length":
                            length = int(value)
                    while len(buffer) < end + 4 + length:
                        buffer += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
                del buffer[: end + 4 + length]
                body = await answers.body(method, target.split("?")[0])
                await stream.send(head % len(body) + body)

    return handle


async def serve_forever(args: argparse.Namespace) -> None:
    # This child process only serves the benchmark: with 100k stored records the collector's full
    # passes over them cost the emulator ~0.6 ms per call, which is the server's cost, not the SDK's.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    if args.minimal_server:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        port = listener.extra(SocketAttribute.local_port)
        sys.stdout.write(f"http://127.0.0.1:{port}\n")
        sys.stdout.flush()
        await listener.serve(minimal_server(args.latency))
    if args.fixed_answers:
        async with serve(fixed_answer_app(args.latency), port=0) as url:
            sys.stdout.write(url + "\n")
            sys.stdout.flush()
            await anyio.sleep_forever()
    limits = ServerLimits(
        latency=args.latency, max_concurrency=args.max_concurrency, per_minute=args.server_per_minute
    )
    emulator = BiginEmulator(limits=limits)
    async with serve(with_control_route(emulator), port=0) as url:
        sys.stdout.write(url + "\n")
        sys.stdout.flush()
        await anyio.sleep_forever()


# -- the client side ----------------------------------------------------------------------------


@asynccontextmanager
async def server_process(
    latency: float,
    max_concurrency: int,
    per_minute: int | None,
    *,
    fixed_answers: bool = False,
    minimal: bool = False,
) -> AsyncIterator[str]:
    """An emulator (or the fixed-answer server) in a child process; yields its URL, stops it afterwards."""
    argv = [
        sys.executable,
        __file__,
        "--serve",
        "--latency",
        str(latency),
        "--max-concurrency",
        str(max_concurrency),
    ]
    if per_minute:
        argv += ["--server-per-minute", str(per_minute)]
    if fixed_answers:
        argv.append("--fixed-answers")
    if minimal:
        argv.append("--minimal-server")
    process = await anyio.open_process(argv, stdout=subprocess.PIPE, stderr=None)
    async with process:
        assert process.stdout is not None
        line = b""
        while not line.endswith(b"\n"):
            line += await process.stdout.receive(1)
        try:
            yield line.decode().strip()
        finally:
            process.terminate()
            await process.wait()


async def server_view(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(url + CONTROL_PATH)
    return dict(response.json())


def client_for(url: str, **options: Any) -> BiginClient:
    return BiginClient(
        client_id="emulator-client-id",
        client_secret="emulator-client-secret",
        refresh_token="emulator-refresh-token",
        api_domain=url,
        accounts_url=url,
        **options,
    )


async def timed_import(url: str, records: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    async with client_for(url, max_concurrency=concurrency) as bigin:
        await bigin.settings.modules()  # token and connection set up outside the timing
        server_cpu = (await server_view(url))["cpu_seconds"]
        started, cpu = time.perf_counter(), time.process_time()
        result = await bigin.contacts.bulk_create(records, keep_outcomes=False)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    view = await server_view(url)
    counters = view["counters"]
    return {
        "elapsed_seconds": round(elapsed, 3),
        "records_per_second": round(len(records) / elapsed),
        "succeeded": result.counts["success"],
        "import_calls": counters["requests_by_route"].get("POST /bigin/v2/Contacts", 0),
        "server_peak_concurrency": counters["peak_concurrency"],
        "server_429s": counters["rate_limited"],
        "records_in_store": view["contacts"],
        "client_cpu_ms_per_call": round(cpu / max(1, counters["requests_total"]) * 1000, 2),
        "server_cpu_ms_per_call": round(
            (view["cpu_seconds"] - server_cpu) / max(1, counters["requests_total"]) * 1000, 2
        ),
    }


async def raw_import(url: str, records: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    """The same import written by hand: httpx, one pooled client, ``concurrency`` workers, json.

    No token refresh, no gate, no limiter, no journal, no outcome per record: the least any
    httpx-based client does for it. Against the fixed-answer server it shows how far from the
    floor the HTTP stack alone stays on this machine, so the SDK's own figure can be read
    against it rather than against the floor only.
    """
    batches = iter([records[start : start + 100] for start in range(0, len(records), 100)])
    headers = {"Authorization": "Zoho-oauthtoken t", "Content-Type": "application/json"}
    succeeded = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits) as http:
        await http.get(CONTROL_PATH)  # connection set up outside the timing

        async def worker() -> None:
            nonlocal succeeded
            for batch in batches:
                body = json.dumps({"data": batch}).encode()
                response = await http.post("/bigin/v2/Contacts", content=body, headers=headers)
                response.raise_for_status()
                answers = json.loads(response.content)["data"]
                succeeded += sum(entry["status"] == "success" for entry in answers)

        started, cpu = time.perf_counter(), time.process_time()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    calls = -(-len(records) // 100)
    return {
        "elapsed_seconds": round(elapsed, 3),
        "records_per_second": round(len(records) / elapsed),
        "succeeded": succeeded,
        "client_cpu_ms_per_call": round(cpu / calls * 1000, 2),
    }


async def sleeps_only(calls: int, latency: float, concurrency: int) -> float:
    """Seconds for ``concurrency`` workers to sleep ``latency`` for ``calls`` in all: the loop's floor."""
    per_worker = -(-calls // concurrency)

    async def worker() -> None:
        for _ in range(per_worker):
            await anyio.sleep(latency)

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return time.perf_counter() - started


async def stack_floor(
    records: list[dict[str, Any]], calls: int, latency: float, concurrency: int
) -> dict[str, Any]:
    """How near the floor an httpx client can come on this machine, whatever it does itself.

    ``event_loop_only``: the workers only sleep, no HTTP at all. ``raw_httpx``: the hand-written
    loop against ``minimal_server`` (no uvicorn, no h11), with the same bodies and with bodies
    of empty records (about 400 bytes a call): what httpx and loopback sockets add when neither
    the server nor the body costs anything. The SDK's figure against the fixed-answer server
    can be no better than these.
    """
    floor = calls * latency / concurrency
    sleeping = await sleeps_only(calls, latency, concurrency)
    figures: dict[str, Any] = {"event_loop_only_ratio_to_floor": round(sleeping / floor, 3)}
    tiny: list[dict[str, Any]] = [{} for _ in records]
    async with server_process(latency, concurrency, None, minimal=True) as url:
        raw = await raw_import(url, records, concurrency)
        empty = await raw_import(url, tiny, concurrency)
        sdk = await timed_import(url, records, concurrency)
    figures["raw_httpx_minimal_server_ratio_to_floor"] = round(raw["elapsed_seconds"] / floor, 3)
    figures["raw_httpx_minimal_server_empty_records_ratio_to_floor"] = round(
        empty["elapsed_seconds"] / floor, 3
    )
    figures["sdk_minimal_server_ratio_to_floor"] = round(sdk["elapsed_seconds"] / floor, 3)
    figures["raw_httpx_minimal_server_client_cpu_ms_per_call"] = raw["client_cpu_ms_per_call"]
    return figures


def endless_contacts(seed: int) -> Iterator[dict[str, Any]]:
    generator = SeedGenerator(seed)
    block = 0
    while True:
        for record in generator.contacts(10_000):
            record["Email"] = f"{block}.{record['Email']}"  # unique across blocks
            yield record
        block += 1


async def rate_run(
    url: str, seconds: float, per_minute: int, concurrency: int, enforce: bool
) -> dict[str, Any]:
    async with client_for(url, max_concurrency=concurrency, requests_per_minute=per_minute) as bigin:
        started = time.perf_counter()
        with anyio.move_on_after(seconds):
            await bigin.contacts.bulk_create(endless_contacts(1), keep_outcomes=False)
        elapsed = time.perf_counter() - started
    counters = (await server_view(url))["counters"]
    calls = counters["requests_total"]
    rate = calls / elapsed * 60
    return {
        "cap_per_minute": per_minute,
        "server_enforced_cap": enforce,
        "run_seconds": round(elapsed, 1),
        "calls_received": calls,
        "worst_rolling_minute": counters["max_requests_in_rolling_minute"],
        "server_429s": counters["rate_limited"],
        "achieved_per_minute": round(rate, 1),
        "achieved_share_of_cap": round(rate / per_minute, 4),
        "goal": f"achieved_share_of_cap >= {GOALS['rate_share_of_cap']} and worst_rolling_minute <= the cap",
        "goal_met": rate / per_minute >= GOALS["rate_share_of_cap"]
        and counters["max_requests_in_rolling_minute"] <= per_minute,
    }


async def same_process_import(
    records: list[dict[str, Any]], latency: float, concurrency: int
) -> dict[str, Any]:
    emulator = BiginEmulator(limits=ServerLimits(latency=latency, max_concurrency=concurrency))
    async with serve(emulator.app, port=0) as url, client_for(url, max_concurrency=concurrency) as bigin:
        await bigin.settings.modules()
        started = time.perf_counter()
        await bigin.contacts.bulk_create(records, keep_outcomes=False)
        elapsed = time.perf_counter() - started
    return {
        "elapsed_seconds": round(elapsed, 3),
        "server_peak_concurrency": emulator.counters.peak_concurrency,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    note(f"generating {args.records:,} contacts ...")
    records = list(SeedGenerator(0).contacts(args.records))
    calls = -(-args.records // 100)
    floor = calls * args.latency / args.concurrency
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "records": args.records,
        "latency_seconds": args.latency,
        "concurrency": args.concurrency,
        "floor_seconds": round(floor, 3),
        "goals": GOALS,
    }
    note("concurrent import ...")
    async with server_process(args.latency, args.concurrency, None) as url:
        concurrent = await timed_import(url, records, args.concurrency)
    concurrent["ratio_to_floor"] = round(concurrent["elapsed_seconds"] / floor, 3)
    concurrent["goal_met"] = concurrent["ratio_to_floor"] <= GOALS["emulator_ratio_to_floor"]
    report["concurrent"] = concurrent
    note(json.dumps(concurrent))
    note("concurrent import, fixed-answer server (the SDK's own overhead) ...")
    async with server_process(args.latency, args.concurrency, None, fixed_answers=True) as url:
        fixed = await timed_import(url, records, args.concurrency)
    fixed["ratio_to_floor"] = round(fixed["elapsed_seconds"] / floor, 3)
    fixed["goal_met"] = fixed["ratio_to_floor"] <= GOALS["fixed_answer_ratio_to_floor"]
    for key in ("records_in_store", "server_429s", "server_cpu_ms_per_call"):
        fixed.pop(key, None)
    report["concurrent_fixed_answer_server"] = fixed
    note(json.dumps(fixed))
    note("the same import by hand (httpx + json, no SDK), fixed-answer server ...")
    async with server_process(args.latency, args.concurrency, None, fixed_answers=True) as url:
        raw = await raw_import(url, records, args.concurrency)
    raw["ratio_to_floor"] = round(raw["elapsed_seconds"] / floor, 3)
    raw["sdk_over_raw_elapsed"] = round(fixed["elapsed_seconds"] / raw["elapsed_seconds"], 3)
    report["raw_httpx_fixed_answer_server"] = raw
    note(json.dumps(raw))
    if not args.skip_stack_floor:
        report["stack_floor"] = await stack_floor(records, calls, args.latency, args.concurrency)
        note(json.dumps(report["stack_floor"]))
    if not args.skip_sequential:
        note("sequential import (one call at a time) ...")
        async with server_process(args.latency, args.concurrency, None) as url:
            sequential = await timed_import(url, records, 1)
        sequential["slower_than_concurrent"] = round(
            sequential["elapsed_seconds"] / concurrent["elapsed_seconds"], 2
        )
        report["sequential"] = sequential
        note(json.dumps(sequential))
    if args.same_process:
        note("concurrent import, emulator in this process ...")
        same = await same_process_import(records, args.latency, args.concurrency)
        same["ratio_to_floor"] = round(same["elapsed_seconds"] / floor, 3)
        report["concurrent_server_in_same_process"] = same
    del records
    if args.rate_seconds > 0:
        note(f"rate run: {args.per_minute}/min for {args.rate_seconds:.0f} s ...")
        enforced = args.per_minute if args.enforce_cap else None
        async with server_process(args.latency, args.concurrency, enforced) as url:
            report["rate"] = await rate_run(
                url, args.rate_seconds, args.per_minute, args.concurrency, args.enforce_cap
            )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--per-minute", type=int, default=600)
    parser.add_argument("--rate-seconds", type=float, default=150.0)
    parser.add_argument(
        "--enforce-cap", action="store_true", help="the emulator also refuses past the cap (see above)"
    )
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument(
        "--same-process", action="store_true", help="also run with the emulator in this process"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--max-concurrency", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--fixed-answers", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--minimal-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--skip-stack-floor",
        action="store_true",
        help="skip the HTTP stack's own floor (the raw loop against a server that is barely one)",
    )
    parser.add_argument("--server-per-minute", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        anyio.run(serve_forever, args, backend="asyncio")
        return
    report = anyio.run(run, args, backend="asyncio")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
