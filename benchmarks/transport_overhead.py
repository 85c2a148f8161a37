"""The pipeline's cost: the same 2,000 GETs against a local ASGI app, raw httpx vs ``client.request``.

Both sides run 10 workers (the gate's size) over one pooled client, in one process, in one run,
so the ratio isolates what the SDK adds: gate, limiter checks, token lookup, retry bookkeeping,
decoding. Rounds alternate raw/SDK and the medians are compared, so a busy machine slows both
sides alike. Prints JSON. Goal: ratio at most 1.3.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from bigin_async import BiginClient

CALLS = 2_000
ROUNDS = 7
WORKERS = 10
BODY = json.dumps(
    {"data": [{"id": "7618134000000632028", "Last_Name": "Doe", "Email": "doe@example.com"}]}
).encode()
TOKEN = json.dumps({"access_token": "bench", "expires_in": 3600, "api_domain": "http://127.0.0.1"}).encode()


async def app(
    scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
) -> None:
    """A minimal ASGI app: the server side costs the same for both clients."""
    assert scope["type"] == "http"
    body = TOKEN if scope["path"].startswith("/oauth") else BODY
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


async def drive(call: Callable[[], Awaitable[Any]]) -> float:
    per_worker = CALLS // WORKERS

    async def worker() -> None:
        for _ in range(per_worker):
            await call()

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(WORKERS):
            tg.start_soon(worker)
    return time.perf_counter() - start


async def main() -> dict[str, Any]:
    url = "http://127.0.0.1/bigin/v2/Contacts/7618134000000632028"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as raw:

        async def raw_call() -> Any:
            response = await raw.get(url, headers={"Authorization": "Zoho-oauthtoken bench"})
            response.raise_for_status()
            return response.json()

        async with BiginClient(
            client_id="id",
            client_secret="secret",
            refresh_token="refresh",
            api_domain="http://127.0.0.1",
            accounts_url="http://127.0.0.1",
            transport=httpx.ASGITransport(app=app),
        ) as bigin:

            async def sdk_call() -> Any:
                return await bigin.request("GET", "/Contacts/7618134000000632028")

            await drive(raw_call)  # warm-up both
            await drive(sdk_call)
            raw_rounds, sdk_rounds = [], []
            for _ in range(ROUNDS):
                raw_rounds.append(await drive(raw_call))
                sdk_rounds.append(await drive(sdk_call))
    raw_seconds = statistics.median(raw_rounds)
    sdk_seconds = statistics.median(sdk_rounds)

    return {
        "calls": CALLS,
        "rounds": ROUNDS,
        "workers": WORKERS,
        "raw_httpx_seconds": round(raw_seconds, 4),
        "sdk_seconds": round(sdk_seconds, 4),
        "raw_calls_per_second": round(CALLS / raw_seconds),
        "sdk_calls_per_second": round(CALLS / sdk_seconds),
        "ratio_sdk_over_raw": round(sdk_seconds / raw_seconds, 3),
        "goal": "ratio <= 1.3",
    }


if __name__ == "__main__":
    result = anyio.run(main)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
