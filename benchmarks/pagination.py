"""Export N contacts through ``AsyncPaginator`` into typed models vs. a hand-written raw loop.

Both sides read the same pages of the same in-process emulator in one run: ``GET /Contacts`` with
the same ``fields`` and ``per_page=200``, ``page`` for the first 2,000 records and
``page_token`` after that (what Bigin requires). The raw side is what a careful user would write
by hand: ``httpx`` + ``json.loads``, looping over each record dict. The SDK side is
``async for contact in bigin.contacts.list()``: token management, the request pipeline, the
page-token switch, and a typed ``Contact`` per record.

Two figures, because the server is part of every end-to-end number:

- ``end_to_end``: both clients against ``BiginEmulator`` (server cost included, as asked);
- ``client_only``: the very same page bodies, recorded once from the emulator and replayed by a
  transport that does nothing but a dict lookup, so the ratio shows what the SDK itself costs.

``parsing`` splits the client's cost: typed ``parse_page`` vs ``json.loads`` over the same bodies,
with no I/O at all, and vs the two-pass way to the same typed page (``json.loads``, validation of
the dicts, then ``mark_as_read`` over every value) that ``parse_page``'s single pass replaces.
Its ``bare_model`` figures are the least any eager pydantic record can cost: the same pages into
a model that declares no field at all and keeps every key as an extra (``BareRecord``), the
faster of pydantic's two ways there (``model_validate_json``, or pydantic-core's ``from_json``
then ``model_validate``), and ``client_only_ceiling`` the ``client_only`` ratio the SDK would
reach if parsing into it were its only work besides the raw loop's (the replayed raw walk plus
the extra parsing time over ``json.loads``).

Memory: each walk is repeated under ``tracemalloc`` (see ``peak_growth``); the peak growth over
the whole walk is given in bytes and in pages (one page = its body plus its 200 parsed
``Contact`` models). Bounded means "a couple of pages" whatever N is; the ``client_only`` figure
has no server allocating in the same heap.

Set-up notes. The emulator's 100,000 stored records live in this process's heap, which a real
client's heap would not hold; after seeding they are moved out of the garbage collector's reach
(``gc.freeze()``) so that collections triggered by the client's allocations do not walk the
server's data. Both sides run alternately ``--rounds`` times; the best round of each counts
(the machine's noise only ever adds time). Prints one JSON document.

    .venv/bin/python benchmarks/pagination.py [--records 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
from pydantic import BaseModel, ConfigDict
from pydantic_core import from_json

from bigin_async import BiginClient
from bigin_async.models import Contact, mark_as_read, parse_page
from bigin_async.models.pages import _envelope
from bigin_async.resources.contacts import ContactsClient
from bigin_emulator import BiginEmulator

API = "http://127.0.0.1"
PATH = "/bigin/v2/Contacts"
PER_PAGE = 200
PAGE_WALL = 2_000
# Issue 15, item 1: the SDK's records per second over the raw loop's, and the memory it may hold.
GOALS = {"end_to_end": 0.90, "client_only": 0.80}
MAX_PAGES_HELD = 2
FIELDS = ",".join(ContactsClient.default_fields)

Walk = Callable[[], Awaitable[tuple[int, int]]]


async def raw_export(http: httpx.AsyncClient) -> tuple[int, int]:
    """The hand-written loop: page numbers up to record 2,000, then the previous page's token."""
    count = checksum = 0
    page = 1
    token: str | None = None
    while True:
        params: dict[str, Any] = {"fields": FIELDS, "per_page": PER_PAGE}
        if token is None:
            params["page"] = page
        else:
            params["page_token"] = token
        response = await http.get(PATH, params=params)
        response.raise_for_status()
        if response.status_code == 204:
            break
        body = json.loads(response.content)
        for record in body["data"]:
            count += 1
            checksum ^= hash(record["id"])
        info = body["info"]
        if not info["more_records"]:
            break
        if token is not None or (page + 1) * PER_PAGE > PAGE_WALL:
            token = info["next_page_token"]
        else:
            page += 1
    return count, checksum


async def sdk_export(bigin: BiginClient) -> tuple[int, int]:
    count = checksum = 0
    async for contact in bigin.contacts.list():
        if type(contact) is not Contact:  # typed, or the comparison is meaningless
            raise TypeError(f"expected Contact, got {type(contact).__name__}")
        count += 1
        checksum ^= hash(contact.id)
    return count, checksum


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers each listing request with the body the emulator gave for the same page."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        key = params.get("page_token") or f"page={params.get('page')}"
        return httpx.Response(200, content=self.pages[key], headers={"content-type": "application/json"})


async def record_pages(http: httpx.AsyncClient) -> dict[str, bytes]:
    """Every page body of the export, keyed the way ``ReplayTransport`` looks them up."""
    pages: dict[str, bytes] = {}
    page, token = 1, None
    while True:
        params: dict[str, Any] = {"fields": FIELDS, "per_page": PER_PAGE}
        params.update({"page": page} if token is None else {"page_token": token})
        response = await http.get(PATH, params=params)
        pages[token or f"page={page}"] = response.content
        info = json.loads(response.content)["info"]
        if not info["more_records"]:
            return pages
        if token is not None or (page + 1) * PER_PAGE > PAGE_WALL:
            token = info["next_page_token"]
        else:
            page += 1


async def best_of(rounds: int, walks: dict[str, Walk]) -> dict[str, dict[str, Any]]:
    """Run the walks alternately; keep each one's fastest round and check they all agree."""
    best: dict[str, float] = {}
    results: dict[str, tuple[int, int]] = {}
    for _ in range(rounds):
        for name, walk in walks.items():
            gc.collect()
            start = time.perf_counter()
            results[name] = await walk()
            elapsed = time.perf_counter() - start
            best[name] = min(elapsed, best.get(name, float("inf")))
    if len(set(results.values())) != 1:
        raise AssertionError(f"the walks disagree on the records they saw: {results}")
    return {
        name: {
            "records": results[name][0],
            "seconds": round(seconds, 4),
            "records_per_second": round(results[name][0] / seconds),
        }
        for name, seconds in best.items()
    }


def two_pass_page(body: bytes) -> Any:
    """The same typed page the long way: decoded by ``json`` first, then validated and marked."""
    page = _envelope(Contact, "data").model_validate(json.loads(body))
    mark_as_read(page.data)
    return page


class BareRecord(BaseModel):
    """The cheapest record pydantic can build: no declared field, every key kept as an extra."""

    model_config = ConfigDict(extra="allow")


def parsing_cost(pages: dict[str, bytes], raw_client_only: float) -> dict[str, Any]:
    """Seconds to turn every recorded body into typed pages (in one pass, in two), into the
    bare-model pages, and into dicts; ``raw_client_only`` is the replayed raw walk's seconds."""
    bodies = list(pages.values())
    timings: dict[str, float] = {}
    bare = _envelope(BareRecord, "data")
    bare.model_validate_json(bodies[0])  # the schema is built before any timing
    for name, parse in (
        ("typed_parse_page", lambda body: parse_page(Contact, body)),
        ("two_pass", two_pass_page),
        ("bare_model_json", bare.model_validate_json),
        ("bare_model_python", lambda body: bare.model_validate(from_json(body, cache_strings="keys"))),
        ("json_loads", json.loads),
    ):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for body in bodies:
                parse(body)
            best = min(best, time.perf_counter() - start)
        timings[name] = best
    timings["bare_model"] = min(timings["bare_model_json"], timings["bare_model_python"])
    return {
        "typed_parse_page_seconds": round(timings["typed_parse_page"], 4),
        "json_loads_seconds": round(timings["json_loads"], 4),
        "typed_over_json_loads": round(timings["typed_parse_page"] / timings["json_loads"], 2),
        "two_pass_seconds": round(timings["two_pass"], 4),
        "typed_over_two_pass": round(timings["typed_parse_page"] / timings["two_pass"], 2),
        "bare_model_seconds": round(timings["bare_model"], 4),
        "bare_model_way": "json" if timings["bare_model_json"] <= timings["bare_model_python"] else "python",
        "bare_model_over_json_loads": round(timings["bare_model"] / timings["json_loads"], 2),
        "client_only_ceiling": round(
            raw_client_only / (raw_client_only + timings["bare_model"] - timings["json_loads"]), 3
        ),
    }


def one_page_footprint(sample_page: bytes) -> int:
    """Bytes one page costs the client: its body plus its 200 parsed ``Contact`` models."""
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        page = parse_page(Contact, sample_page)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del page
    return after - before + len(sample_page)


async def peak_growth(walk: Walk) -> int:
    """Peak traced allocation above the starting point while ``walk`` runs (server side included).

    The walk runs twice under tracing and only the second counts. pydantic-core keeps a global,
    fixed-size cache of short strings (16,384 entries, about 1 MB) that a walk keeps refilling:
    entries created before tracing started are untraced, so their traced replacements would
    look like growth during a first traced walk although the cache's size never changes.
    """
    gc.collect()
    tracemalloc.start()
    try:
        await walk()  # fills the string cache with traced entries
        gc.collect()
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        await walk()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


async def measure_memory(walks: dict[str, Walk], page: int) -> dict[str, Any]:
    """Peak growth of each walk over all records, in bytes and in pages of ``page`` bytes.

    Against the emulator, the in-process server allocates its own copy of each page (records
    rendered, then encoded) inside the same traced heap; the replayed walk has no server.
    """
    figures: dict[str, Any] = {}
    for name, walk in walks.items():
        growth = await peak_growth(walk)
        figures[name] = {"peak_growth_bytes": growth, "peak_growth_in_pages": round(growth / page, 2)}
    return figures


async def main(records: int, rounds: int) -> dict[str, Any]:
    emulator = BiginEmulator()
    started = time.perf_counter()
    emulator.seed_data(contacts=records)
    seed_seconds = time.perf_counter() - started
    gc.collect()
    gc.freeze()  # the server's records are not the client's heap (see the module docstring)

    token = emulator.issue_token()
    async with (
        emulator.http_client(token=token) as raw_http,
        emulator.client() as bigin,
    ):
        pages = await record_pages(raw_http)
        await bigin.contacts.list(per_page=1)  # warm-up: token refresh, schema build
        end_to_end = await best_of(
            rounds, {"raw": lambda: raw_export(raw_http), "sdk": lambda: sdk_export(bigin)}
        )
        page_bytes = one_page_footprint(pages["page=1"])
        memory_end_to_end = await measure_memory(
            {"raw": lambda: raw_export(raw_http), "sdk": lambda: sdk_export(bigin)}, page_bytes
        )
        requests = emulator.counters.requests_by_route.get(f"GET {PATH}", 0)

    replay = ReplayTransport(pages)
    async with (
        httpx.AsyncClient(
            transport=replay, base_url=API, headers={"Authorization": "Zoho-oauthtoken x"}
        ) as raw_replay,
        BiginClient(access_token="x", api_domain=API, transport=replay) as bigin_replay,
    ):
        replay_walks: dict[str, Walk] = {
            "raw": lambda: raw_export(raw_replay),
            "sdk": lambda: sdk_export(bigin_replay),
        }
        client_only = await best_of(rounds, replay_walks)
        memory_client_only = await measure_memory(replay_walks, page_bytes)

    def summary(figures: dict[str, dict[str, Any]], goal: float) -> dict[str, Any]:
        ratio = figures["sdk"]["records_per_second"] / figures["raw"]["records_per_second"]
        return {**figures, "sdk_over_raw": round(ratio, 3), "goal": goal, "goal_met": ratio >= goal}

    return {
        "records": records,
        "per_page": PER_PAGE,
        "pages_per_walk": len(pages),
        "rounds": rounds,
        "seed_seconds": round(seed_seconds, 2),
        "emulator_list_requests": requests,
        "end_to_end": summary(end_to_end, GOALS["end_to_end"]),
        "client_only": summary(client_only, GOALS["client_only"]),
        "parsing": parsing_cost(pages, client_only["raw"]["seconds"]),
        "memory": {
            "one_page_bytes": page_bytes,
            "end_to_end": memory_end_to_end,
            "client_only": memory_client_only,
            # Judged client only: end to end, the emulator builds each body in the same heap.
            "goal": f"client only, a peak growth of at most {MAX_PAGES_HELD} pages, whatever N is",
            "goal_met": memory_client_only["sdk"]["peak_growth_in_pages"] <= MAX_PAGES_HELD,
        },
        "goal": "typed records at sdk_over_raw >= 0.90 end to end and >= 0.80 client only (issue 15)",
        "python": sys.version.split()[0],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = anyio.run(main, args.records, args.rounds)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
