"""The Bigin-to-Books sync service, measured end to end over loopback sockets. Prints JSON.

``sync_latency``: a contact is edited through the SDK in the emulated Bigin; the emulator POSTs the
notification to the service (uvicorn, its own port); the service fetches the contact, searches
Books and updates it. Measured from just before the edit call to the moment the service recorded
the Books update, 100 times in a row (each edit waits for the previous sync), median and spread.
Books pacing is off by default, as the emulated Books has no per-minute limit; ``--books-rpm 100``
paces the service's Books calls to Books' real limit (one call per 0.62 s).

``fastapi_500``: 500 requests (50 at a time) through a FastAPI app using ``BiginDep``, its client
talking to the emulator over a socket: how many client objects, pools, TCP connections (distinct
client ports the emulator saw) and token refreshes that took.

    .venv/bin/python benchmarks/sync_latency.py [--samples 100] [--books-rpm 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `examples` from the repo root

from bigin_async import BiginClient  # noqa: E402
from bigin_async.integrations.fastapi import BiginDep, bigin_lifespan  # noqa: E402
from bigin_emulator import BiginEmulator  # noqa: E402
from bigin_emulator.server.serving import serve  # noqa: E402
from examples.bigin_books_sync.__main__ import emulator_settings  # noqa: E402
from examples.bigin_books_sync.app import create_app  # noqa: E402
from examples.bigin_books_sync.serving import serve_bound  # noqa: E402
from examples.bigin_books_sync.sync import Outcome, SyncResult  # noqa: E402


def socket_client(emulator: BiginEmulator, url: str) -> BiginClient:
    return BiginClient(client_id=emulator.client_id, client_secret=emulator.client_secret,
                       refresh_token=emulator.refresh_token, api_domain=url, accounts_url=url)  # fmt: skip


def spread(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
        "min_ms": round(ordered[0], 2),
        "max_ms": round(ordered[-1], 2),
    }


async def sync_latency(samples: int, books_rpm: int | None) -> dict[str, Any]:
    emulator = BiginEmulator()
    latencies: list[float] = []
    async with emulator.serve(port=0) as emulator_url:
        settings = emulator_settings(emulator, emulator_url)

        def app_for(url: str) -> FastAPI:
            chosen = settings(url)
            chosen.books_requests_per_minute = books_rpm
            return create_app(chosen)

        async with serve_bound(app_for) as (_, app), socket_client(emulator, emulator_url) as bigin:
            ada = {
                "First_Name": "Ada",
                "Last_Name": "Lovelace",
                "Email": "ada@example.com",
                "Phone": "555-0100",
            }
            created = await bigin.contacts.create(ada)
            await emulator.notifier.drain()
            contact_id = created.id or ""
            done: dict[str, Any] = {}

            def on_result(result: SyncResult) -> None:
                if result.bigin_id == contact_id and result.outcome is Outcome.UPDATED:
                    done["at"] = time.perf_counter()
                    done["event"].set()

            app.state.sync.on_result = on_result
            for n in range(samples):
                done["event"] = anyio.Event()
                started = time.perf_counter()
                await bigin.contacts.update(contact_id, {"Mobile": f"555-{n:04d}"})
                with anyio.fail_after(30):
                    await done["event"].wait()
                latencies.append((done["at"] - started) * 1000)
            await emulator.notifier.drain()
    (books,) = emulator.books.search(email="ada@example.com")
    assert books["mobile"] == f"555-{samples - 1:04d}", books
    return {
        "samples": samples,
        "books_requests_per_minute": books_rpm,
        **spread(latencies),
        "books_mobile_matches_last_edit": True,
        "notifications": emulator.notifier.counters.snapshot(),
    }


async def fastapi_500(requests: int = 500, concurrency: int = 50) -> dict[str, Any]:
    emulator = BiginEmulator()
    ports: list[int] = []
    clients: set[int] = set()
    pools: set[int] = set()

    async def counted(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            ports.append(scope["client"][1])
        await emulator.app(scope, receive, send)

    async with serve(counted, port=0) as url:
        made: list[BiginClient] = []

        def factory() -> BiginClient:
            made.append(socket_client(emulator, url))
            return made[-1]

        app = FastAPI(lifespan=bigin_lifespan(factory))

        @app.get("/org")
        async def read_org(bigin: BiginDep) -> dict[str, Any]:
            clients.add(id(bigin))
            pools.add(id(bigin.transport.http))
            return {"id": (await bigin.org.get()).id}

        statuses: list[int] = []
        limit = anyio.Semaphore(concurrency)
        started = time.perf_counter()
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as http,
        ):

            async def one() -> None:
                async with limit:
                    statuses.append((await http.get("/org")).status_code)

            async with anyio.create_task_group() as tasks:
                for _ in range(requests):
                    tasks.start_soon(one)
        elapsed = time.perf_counter() - started
    return {
        "requests": requests,
        "ok": statuses.count(200),
        "client_objects": len(made),
        "clients_seen_by_routes": len(clients),
        "pools": len(pools),
        "tcp_connections": len(set(ports)),
        "pool_size": made[0].config.max_concurrency + 5,
        "token_refreshes": emulator.counters.refreshes,
        "client_closed_after_shutdown": made[0].closed,
        "requests_per_second": round(requests / elapsed, 1),
    }


async def main(samples: int, books_rpm: int | None) -> dict[str, Any]:
    return {"sync_latency": await sync_latency(samples, books_rpm), "fastapi_500": await fastapi_500()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--books-rpm", type=int, default=None, help="pace Books calls (Books allows 100/min)")
    arguments = parser.parse_args()
    print(json.dumps(anyio.run(main, arguments.samples, arguments.books_rpm), indent=2))
