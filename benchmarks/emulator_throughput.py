"""How many simple GETs per second the emulator serves, in-process and over loopback.

Tells test and benchmark authors what the emulator itself costs, so an SDK figure measured
against it can be read correctly (an SDK cannot look faster than the server it talks to).

Targets:
- ``bare_app``: a fixed JSON body, no middleware (the floor: httpx + ASGI or uvicorn alone);
- ``minimal``: the same app behind ``EmulatorMiddleware`` (adds the infrastructure's own cost);
- ``bigin``: the real ``BiginEmulator`` answering ``GET /bigin/v2/Contacts/{id}``, when available.

Transports: ``EmulatorTransport`` (no sockets) and ``serve()`` (uvicorn on 127.0.0.1).
Each at concurrency 1 and 10. Client and server share one event loop and process, so the
loopback figures are what a test suite sees, not what a dedicated server could do. Prints one
JSON document.

    .venv/bin/python benchmarks/emulator_throughput.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from bigin_emulator.server.counters import ServerCounters
from bigin_emulator.server.middleware import ASGIApp, EmulatorMiddleware, Receive, Scope, Send
from bigin_emulator.server.serving import serve
from bigin_emulator.server.transport import EmulatorTransport

BODY = json.dumps(
    {
        "data": [
            {
                "id": "7618134000000632028",
                "First_Name": "Test",
                "Last_Name": "Contact",
                "Email": "t@example.com",
            }
        ]
    }
).encode()


async def minimal_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The cheapest app that still looks like a Bigin GET: fixed JSON, correct headers."""
    if scope["type"] != "http":
        return
    headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(BODY)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


@dataclass
class Target:
    name: str
    app: ASGIApp
    path: str
    headers: dict[str, str]
    counters: ServerCounters | None


def bare_target() -> Target:
    """The same app without the middleware: the difference is what counting and limits cost."""
    return Target("bare_app", minimal_app, "/bigin/v2/Contacts/1", {}, None)


def minimal_target() -> Target:
    counters = ServerCounters()
    return Target(
        "minimal", EmulatorMiddleware(minimal_app, counters=counters), "/bigin/v2/Contacts/1", {}, counters
    )


async def bigin_target() -> Target | None:
    """The real emulator with a seeded contact, or None while ``BiginEmulator`` is not available."""
    try:
        from bigin_emulator import BiginEmulator
    except ImportError:
        return None
    emulator = BiginEmulator(seed_records=100)
    app: ASGIApp = emulator.app
    headers = {"Authorization": f"Zoho-oauthtoken {emulator.issue_token()}"}
    async with httpx.AsyncClient(transport=EmulatorTransport(app), base_url="http://emulator") as client:
        listing = await client.get(
            "/bigin/v2/Contacts", params={"per_page": 1, "fields": "Last_Name"}, headers=headers
        )
        listing.raise_for_status()
        contact_id = listing.json()["data"][0]["id"]
    return Target("bigin", app, f"/bigin/v2/Contacts/{contact_id}", headers, emulator.counters)


async def measure(
    client: httpx.AsyncClient, target: Target, requests: int, concurrency: int
) -> dict[str, Any]:
    """Requests/second for ``requests`` GETs spread over ``concurrency`` workers."""
    failures = 0

    async def worker(count: int) -> None:
        nonlocal failures
        for _ in range(count):
            response = await client.get(target.path, headers=target.headers)
            failures += response.status_code != 200

    share, extra = divmod(requests, concurrency)
    started = time.perf_counter()
    async with anyio.create_task_group() as tasks:
        for index in range(concurrency):
            tasks.start_soon(worker, share + (index < extra))
    elapsed = time.perf_counter() - started
    return {
        "requests": requests,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(requests / elapsed, 1),
        "mean_ms": round(elapsed / requests * concurrency * 1000, 3),
        "non_200": failures,
    }


async def run_all(targets: list[Target], requests: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []

    async def bench(name: str, transport: str, client: httpx.AsyncClient, target: Target) -> None:
        await measure(client, target, min(200, requests), 1)  # warm-up: pools, imports, caches
        for concurrency in (1, 10):
            results.append(
                {
                    "target": name,
                    "transport": transport,
                    **await measure(client, target, requests, concurrency),
                }
            )

    for target in targets:
        async with httpx.AsyncClient(
            transport=EmulatorTransport(target.app), base_url="http://emulator"
        ) as client:
            await bench(target.name, "in_process", client, target)
        async with serve(target.app) as url, httpx.AsyncClient(base_url=url) as client:
            await bench(target.name, "loopback_uvicorn", client, target)
    return results


async def main(requests: int) -> None:
    targets = [bare_target(), minimal_target()]
    real = await bigin_target()
    if real is not None:
        targets.append(real)
    results = await run_all(targets, requests)
    report = {
        "benchmark": "emulator_throughput",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "bigin_emulator_available": real is not None,
        "results": results,
        "server_view_minimal": targets[1].counters.snapshot() if targets[1].counters else None,
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="GETs per measurement (default 2000)")
    args = parser.parse_args(argv)
    entry: Callable[[int], Awaitable[None]] = main
    anyio.run(entry, args.requests, backend="asyncio")  # uvicorn needs asyncio


if __name__ == "__main__":
    cli()
