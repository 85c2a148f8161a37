"""Integrity of bulk writes under heavy faults and under SIGKILL: is any record doubled, lost or unreported?

Scenarios, each against ``BiginEmulator(realism="zoho")`` (bare 429s, a concurrency cap of 10)
with a heavy fault plan (5xx, 429 bursts, connections dropped before and after the server applied
the call):

- ``upsert``: ``bulk_upsert`` of N contacts keyed on Email, in-process, then one journal resume to
  send again what failed as a whole;
- ``create``: the same with ``bulk_create`` (a call whose answer is lost is reported ``unknown``,
  never re-sent);
- ``kill-1`` .. ``kill-5``: a child process runs the bulk write (create or upsert in turn) against
  the emulator served on loopback, is SIGKILLed when a random write call arrives, and is run again
  with the same journal to the end.

Reported per scenario: faults injected, input records, records in the store, duplicates (store
copies beyond one per input record), lost (input records not in the store and not reported as
``unknown`` or ``error``: silently lost), unreported (input records without exactly one outcome in
the last run), and the outcome counts. The promise: duplicates, lost and unreported are all 0.

    .venv/bin/python benchmarks/fault_integrity.py [--records 20000] [--kill-records 4000] [--seed 1]

Prints one JSON document (progress notes go to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio

from bigin_async import BiginClient
from bigin_async.bulk import BulkResult
from bigin_emulator import BiginEmulator, FaultPlan
from bigin_emulator.server.middleware import Scope
from bigin_emulator.server.serving import serve

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests.bulk
from tests.helpers.crash import ArrivalTrap, kill_when_reached  # noqa: E402

HEAVY = dict(error_500=0.04, error_503=0.04, error_429=0.08, drop_before=0.04, drop_after=0.06)
CLIENT: dict[str, Any] = {
    "retry_backoff_seconds": 0.01,
    "max_retries": 8,
    "max_retry_after": 2.0,
    "timeout": 10.0,
}


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def records(n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {"Last_Name": f"{tag}-{i}", "Email": f"{tag}-{i}@example.com", "Phone": str(5550000 + i)}
        for i in range(n)
    ]


def integrity(
    emulator: BiginEmulator, inputs: list[dict[str, Any]], statuses: list[str | None]
) -> dict[str, Any]:
    stored = Counter(str(r.get("Last_Name")) for r in emulator.store.table("Contacts"))
    names = [str(r["Last_Name"]) for r in inputs]
    present = sum(1 for name in names if stored[name])
    lost = sum(
        1
        for name, status in zip(names, statuses, strict=True)
        if not stored[name] and status not in ("unknown", "error")
    )
    return {
        "faults_injected": sum(emulator.counters.faults_injected.values()),
        "faults_by_kind": dict(emulator.counters.faults_injected),
        "input_records": len(inputs),
        "records_in_store": present,
        "duplicates": sum(count - 1 for name, count in stored.items() if count > 1),
        "lost": lost,
        "unreported": sum(1 for status in statuses if status is None),
        "outcomes": dict(Counter(s for s in statuses if s is not None)),
    }


def statuses_of(result: BulkResult, n: int) -> list[str | None]:
    seen: list[str | None] = [None] * n
    for outcome in result:
        seen[outcome.index] = outcome.status if seen[outcome.index] is None else "reported twice"
    return seen


async def in_process(mode: str, n: int, seed: int) -> dict[str, Any]:
    inputs = records(n, mode)
    emulator = BiginEmulator(realism="zoho", faults=FaultPlan(seed=seed, **HEAVY))  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as folder:
        journal = str(Path(folder) / "journal")
        started = time.perf_counter()
        async with emulator.client(**CLIENT) as bigin:
            write = bigin.contacts.bulk_create if mode == "create" else bigin.contacts.bulk_upsert
            first = await write(inputs, journal=journal)
            resumed = await write(inputs, journal=journal)
        elapsed = time.perf_counter() - started
    report = integrity(emulator, inputs, statuses_of(resumed, n))
    report["first_run_outcomes"] = dict(first.counts)
    report["seconds"] = round(elapsed, 1)
    return report


def _is_record_write(scope: Scope) -> bool:
    return scope["method"] == "POST" and "/Contacts" in str(scope["path"])


async def killed(trial: int, n: int, seed: int) -> dict[str, Any]:
    mode = "create" if trial % 2 else "upsert"
    rng = random.Random(seed * 100 + trial)
    inputs = records(n, f"k{trial}")
    emulator = BiginEmulator(realism="zoho", faults=FaultPlan(seed=seed + trial, **HEAVY))  # type: ignore[arg-type]
    trap = ArrivalTrap(emulator.app, rng.randint(3, max(4, n // 100 - 3)), _is_record_write)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIGIN_")}
    with tempfile.TemporaryDirectory() as folder:
        journal = str(Path(folder) / "journal")
        async with serve(trap, port=0) as url:
            argv = [sys.executable, __file__, "--child", url, journal, mode, str(n), f"k{trial}"]
            process = await anyio.open_process(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
            )
            async with process:
                await kill_when_reached(process, trap, limit=600)
            killed_at = trap.arrived
            done = await anyio.run_process(argv, check=False, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"the resumed child failed: {done.stderr.decode()[-2000:]}")
    statuses: list[str | None] = json.loads(done.stdout)
    report = integrity(emulator, inputs, statuses)
    report.update(mode=mode, killed_at_write_call=killed_at, kill_signal=process.returncode)
    return report


async def child(url: str, journal: str, mode: str, n: int, tag: str) -> None:
    inputs = records(n, tag)
    statuses: list[str | None] = [None] * n

    def keep(outcome: Any) -> None:
        statuses[outcome.index] = outcome.status if statuses[outcome.index] is None else "reported twice"

    async with BiginClient(
        client_id="emulator-client-id",
        client_secret="emulator-client-secret",
        refresh_token="emulator-refresh-token",
        api_domain=url,
        accounts_url=url,
        **CLIENT,
    ) as bigin:
        write = bigin.contacts.bulk_create if mode == "create" else bigin.contacts.bulk_upsert
        await write(inputs, journal=journal, on_result=keep)
    sys.stdout.write(json.dumps(statuses))


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"records": args.records, "kill_records": args.kill_records, "fault_plan": HEAVY}
    for mode in ("upsert", "create"):
        note(f"{mode}: {args.records} records under faults")
        report[mode] = await in_process(mode, args.records, args.seed)
    for trial in range(1, 6):
        note(f"kill-{trial}")
        report[f"kill-{trial}"] = await killed(trial, args.kill_records, args.seed)
    scenarios = [v for k, v in report.items() if isinstance(v, dict) and "duplicates" in v]
    report["all_clean"] = all(s["duplicates"] == s["lost"] == s["unreported"] == 0 for s in scenarios)
    return report


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, journal, mode, n, tag = sys.argv[2:7]
        anyio.run(child, url, journal, mode, int(n), tag)
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--kill-records", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=1)
    print(json.dumps(anyio.run(main, parser.parse_args()), indent=2))
