"""The client's CPU per 100-record bulk write call, apart from any network: what ``bulk_create`` costs.

A bulk import runs at the server's pace only while the client's own work per call stays well
under the server's latency divided by the concurrency; this measures that work in three scopes:

- ``engine``: the bulk engine's share of one call: checking and formatting 100 records
  (``prepare``), encoding the body as the transport does, reading a fixed 100-entry answer and
  building the outcomes (``_send`` against a stub transport that answers at once);
- ``engine_journaled``: the same with each record fingerprinted for a journal;
- ``end_to_end`` / ``end_to_end_journaled``: ``bigin.contacts.bulk_create`` of the records through
  the whole client (gate, limiter, retries, httpx) against an in-process ``httpx.MockTransport``
  giving the same fixed answer, CPU time (``time.process_time``) per call. The journaled run
  writes its journal to a temporary directory (the fsyncs' waits are not CPU time, the journal's
  own threads' work is).

Only APIs that exist across versions are used, so the figures of an older checkout come from
the same script: ``PYTHONPATH=/path/to/old/tree .venv/bin/python benchmarks/write_path.py``.

    .venv/bin/python benchmarks/write_path.py [--calls 200] [--rounds 5]

Prints one JSON document: CPU milliseconds per 100-record call, the least of the rounds (a busy
machine only ever adds to it) and their median. Every scope counts CPU time (``time.process_time``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import httpx

import bigin_async
from bigin_async import BiginClient
from bigin_async._transport import _encode
from bigin_async.bulk import engine
from bigin_async.bulk.journal import record_hash
from bigin_emulator.seed import SeedGenerator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # run as a script or imported
from bulk_import import FIXED_ANSWER  # noqa: E402

ANSWER = FIXED_ANSWER  # the same 100-entry success answer as bulk_import's fixed-answer server
TOKEN = json.dumps({"access_token": "t", "expires_in": 3600}).encode()


class StubTransport:
    """Answers every bulk call at once with the fixed answer, encoding the body as the transport does."""

    def __init__(self) -> None:
        self.request = httpx.Request("POST", "https://www.zohoapis.com/bigin/v2/Contacts")

    async def send(
        self, method: str, path: str, *, json: Any = None, content: bytes | None = None, **_: Any
    ) -> httpx.Response:
        body = content if content is not None else _encode(json)
        assert body
        return httpx.Response(201, content=ANSWER, request=self.request)


def engine_round(
    records: Sequence[dict[str, Any]], calls: int, fingerprint: Callable[[Any], str] | None
) -> float:
    plan = engine.BulkPlan(module="Contacts", mode="create")
    stub: Any = StubTransport()
    send = engine._send

    # A run prepares its records with one Preparer (trees before it had prepare() alone).
    preparer = getattr(engine, "Preparer", None)
    if preparer is not None:
        prepare = preparer(plan, fingerprint)
    else:

        def prepare(index: int, record: Any) -> Any:
            return engine.prepare(plan, index, record, fingerprint=fingerprint)

    async def main() -> float:
        started = time.process_time()
        for call in range(calls):
            base = call * 100
            items = [prepare(base + n, record) for n, record in enumerate(records[base : base + 100])]
            outcomes, final, _ = await send(stub, plan, items)
            assert final and len(outcomes) == 100 and outcomes[-1].status == "success"
        return time.process_time() - started

    return anyio.run(main)


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/token"):
        return httpx.Response(200, content=TOKEN)
    return httpx.Response(201, content=ANSWER)


def end_to_end_round(records: Sequence[dict[str, Any]], journaled: bool) -> float:
    async def main() -> float:
        async with BiginClient(
            client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(handler)
        ) as bigin:
            await bigin.contacts.bulk_create(records[:100], keep_outcomes=False)  # token, warm-up
            with tempfile.TemporaryDirectory() as folder:
                journal = os.path.join(folder, "journal.jsonl") if journaled else None
                started = time.process_time()
                result = await bigin.contacts.bulk_create(records, keep_outcomes=False, journal=journal)
                spent = time.process_time() - started
            assert result.counts["success"] == len(records)
            return spent

    return anyio.run(main)


def per_call_ms(seconds: Sequence[float], calls: int, pick: Callable[[Sequence[float]], float]) -> float:
    return round(pick(seconds) / calls * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200, help="100-record calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    records = list(SeedGenerator(0).contacts(args.calls * 100))
    scopes: dict[str, Callable[[], float]] = {
        "engine": lambda: engine_round(records, args.calls, None),
        "engine_journaled": lambda: engine_round(records, args.calls, record_hash),
        "end_to_end": lambda: end_to_end_round(records, False),
        "end_to_end_journaled": lambda: end_to_end_round(records, True),
    }
    timings: dict[str, list[float]] = {name: [] for name in scopes}
    for _ in range(args.rounds):  # interleaved: a busy moment of the machine slows every scope alike
        for name, run in scopes.items():
            timings[name].append(run())
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "sdk": os.path.dirname(bigin_async.__file__),
        "calls_per_round": args.calls,
        "rounds": args.rounds,
        # The least disturbed round (a shared machine only ever adds time), and the median.
        "ms_per_100_record_call": {
            name: per_call_ms(spent, args.calls, min) for name, spent in timings.items()
        },
        "median_ms_per_100_record_call": {
            name: per_call_ms(spent, args.calls, statistics.median) for name, spent in timings.items()
        },
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
