"""Journal + resume under chaos: runs that die at random calls, torn journal tails, inputs that are
reordered, prefixed, edited or hold identical records, faulty servers, other hash seeds.

The promise checked, whatever happened in between: after a last run on a healthy server, no
record is in the store more often than the input holds it (nothing doubled), every record of the
last input is either in the store and reported ``success``/``unknown``, or not in the store and
reported ``unknown`` (nothing silently lost), the last run reports every input record exactly
once, and across all the runs no record gets more fresh confirmations than copies of it.

A run dies in one of three ways: at a write call (applied by the server, unanswered), in the
middle of writing a journal line (the line torn at a random byte, nothing written after), or by
the caller's ``on_result`` raising. Each run gets a fresh ``BiginEmulator`` holding the org of the
run before (``export_state``), so each can have its own fault plan; ``tests.helpers.crash.CrashAt``
makes a run "die" with a call applied by the server and unanswered, exactly where a SIGKILL would
leave it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigin_async.bulk import RecordOutcome
from bigin_emulator import BiginEmulator, FaultPlan
from bigin_emulator.server.serving import serve
from tests.helpers.crash import ASGI, Died, Scope, dies_writing_journal_line, run_once

FAST: dict[str, Any] = {"retry_backoff_seconds": 0, "max_retries": 3, "max_retry_after": 0.1, "timeout": 5.0}
HEAVY = FaultPlan(error_500=0.08, error_503=0.05, error_429=0.08, drop_before=0.05, drop_after=0.08)


@dataclass
class Run:
    crash: str  # "none" | "cancel" (dies at a write call) | "callback" (on_result raises) | "tear"
    at: int  # which write call / which reported record / which journal write
    tear: int  # "tear": the journal line being written when it dies is cut after this many bytes
    shape: str  # "same" | "reversed" | "shuffled" | "prefixed" | "edited"
    seed: int
    faults: bool


class Boom(Exception):
    pass


def base_records(mode: str, n: int, twins: int, keyless_every: int) -> list[dict[str, Any]]:
    records = []
    for i in range(n):
        record: dict[str, Any] = {"Last_Name": f"r{i}", "Description": f"record {i}"}
        if mode == "upsert" and (keyless_every == 0 or i % keyless_every):
            record["Email"] = f"r{i}@example.com"
        records.append(record)
    for j in range(twins):  # identical copies of a few records
        records.insert((j * 7) % len(records), dict(records[j % n]))
    return records


def reshape(records: list[dict[str, Any]], run: Run, number: int) -> list[dict[str, Any]]:
    rng = random.Random(run.seed)
    if run.shape == "reversed":
        return records[::-1]
    if run.shape == "shuffled":
        shuffled = list(records)
        rng.shuffle(shuffled)
        return shuffled
    if run.shape == "prefixed":
        return [
            {"Last_Name": f"new{number}-{k}", "Description": "new"} for k in range(rng.randint(1, 15))
        ] + records
    if run.shape == "edited":
        edited = [dict(r) for r in records]
        for k in rng.sample(range(len(edited)), min(3, len(edited))):
            edited[k]["Last_Name"] += f"e{number}-{k}"  # an edit is a new record; the old one may stay
            if "Email" in edited[k]:  # with a new key (or none): an upsert on the old one would rename it
                if rng.random() < 0.5:
                    del edited[k]["Email"]
                else:
                    edited[k]["Email"] = f"{edited[k]['Last_Name']}@example.com"
        return edited
    return records


def label(record: dict[str, Any]) -> str:
    return str(record["Last_Name"])


runs_strategy = st.lists(
    st.builds(
        Run,
        crash=st.sampled_from(["none", "cancel", "cancel", "callback", "tear", "tear"]),
        at=st.integers(1, 12),
        tear=st.integers(0, 400),
        shape=st.sampled_from(["same", "reversed", "shuffled", "prefixed", "edited"]),
        seed=st.integers(0, 10_000),
        faults=st.booleans(),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mode=st.sampled_from(["create", "upsert"]),
    n=st.integers(5, 90),
    twins=st.integers(0, 4),
    keyless_every=st.sampled_from([0, 2, 5]),
    batch_size=st.sampled_from([5, 10, 30]),
    runs=runs_strategy,
)
async def test_any_crash_and_resume_ends_like_a_clean_run(
    tmp_path_factory: pytest.TempPathFactory,
    mode: str,
    n: int,
    twins: int,
    keyless_every: int,
    batch_size: int,
    runs: list[Run],
) -> None:
    journal = str(tmp_path_factory.mktemp("journal") / "j")
    records = base_records(mode, n, twins, keyless_every)
    state = BiginEmulator().export_state()
    most = Counter[str]()  # the most copies of each record any run's input held
    fresh = Counter[str]()  # confirmations sent and answered (not read from the journal), all runs

    async def one_run(inputs: list[dict[str, Any]], run: Run | None) -> tuple[list[RecordOutcome], bool]:
        nonlocal state
        for name, count in Counter(label(r) for r in inputs).items():
            most[name] = max(most[name], count)
        plan = replace(HEAVY, seed=run.seed) if run is not None and run.faults else None
        emulator = BiginEmulator(faults=plan)
        emulator.import_state(state)
        seen: list[RecordOutcome] = []

        def on_result(outcome: RecordOutcome) -> None:
            seen.append(outcome)
            if run is not None and run.crash == "callback" and len(seen) == run.at:
                raise Boom("the caller's callback failed")

        async def work(bigin: Any) -> Any:
            options = {"journal": journal, "on_result": on_result, "batch_size": batch_size}
            if mode == "create":
                return await bigin.contacts.bulk_create(inputs, **options)
            return await bigin.contacts.bulk_upsert(inputs, **options)

        crash_at = run.at if run is not None and run.crash == "cancel" else None
        tear = run if run is not None and run.crash == "tear" else None
        died = False
        with (
            anyio.fail_after(60),
            dies_writing_journal_line(tear.at if tear else 0, tear.tear if tear else 0),
        ):
            try:
                result, trap = await run_once(emulator, work, crash_at=crash_at, max_concurrency=3, **FAST)
                died = trap.crashed
            except (Boom, Died):
                died = True
        for outcome in seen:
            if not outcome.from_journal and outcome.status in ("success", "unknown"):
                fresh[label(outcome.record)] += 1
        state = emulator.export_state()
        return seen, died

    current = records
    for number, run in enumerate(runs):
        current = reshape(current, run, number)
        await one_run(current, run)
    final, died = await one_run(current, None)
    assert not died

    stored = Counter(label(r) for r in _records(state))
    # The last run reports every input record exactly once, in order.
    assert [o.index for o in final] == list(range(len(current)))
    # Nothing doubled: no record more often in the store than any input held it.
    assert all(count <= most[name] for name, count in stored.items()), (stored, most)
    # No record confirmed more often than it has copies.
    assert all(count <= most[name] for name, count in fresh.items()), (fresh, most)
    wanted = Counter(label(r) for r in current)
    for outcome in final:
        name = label(outcome.record)
        assert outcome.status in ("success", "unknown"), outcome
        if outcome.status == "success":
            assert stored[name] >= 1, f"{name} reported written but not in the store"
    for name, count in wanted.items():
        confirmed = sum(1 for o in final if label(o.record) == name and o.status == "success")
        if mode == "upsert" and current[[label(r) for r in current].index(name)].get("Email"):
            assert stored[name] == 1  # keyed upserts always end exactly once
        else:
            # An edit may have left an earlier copy in the store: bounded by the most copies any input held.
            assert min(confirmed, count) <= stored[name] <= most[name], (name, confirmed, stored[name], count)


def _records(state: dict[str, Any]) -> list[dict[str, Any]]:
    emulator = BiginEmulator()
    emulator.import_state(state)
    return list(emulator.store.table("Contacts"))


# -- other hash seeds, other processes ------------------------------------------------------------

_SCRIPT = """
import sys
import anyio
from bigin_async import BiginClient

async def main() -> None:
    url, journal = sys.argv[1], sys.argv[2]
    records = [{"Last_Name": f"r{i}", "Description": "x", "Tag": {"vip", "lead", "cold", "warm", f"t{i % 7}"}}
               for i in range(300)]
    async with BiginClient(client_id="emulator-client-id", client_secret="emulator-client-secret",
                           refresh_token="emulator-refresh-token", api_domain=url, accounts_url=url,
                           max_concurrency=2, retry_backoff_seconds=0) as bigin:
        result = await bigin.contacts.bulk_create(records, journal=journal, batch_size=20)
    counts = result.counts
    print(counts["success"], counts["unknown"], result.skipped, result.journal_matched)

anyio.run(main)
"""


class WriteCounter:
    """Passes every request on; sets ``reached`` when the ``n``-th record write of a run arrives."""

    def __init__(self, app: ASGI) -> None:
        self.app = app
        self.writes = 0
        self.n: int | None = None
        self.reached = anyio.Event()

    def arm(self, n: int) -> anyio.Event:
        self.writes, self.n, self.reached = 0, n, anyio.Event()
        return self.reached

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and str(scope["path"]).endswith("/Contacts"):
            self.writes += 1
            if self.writes == self.n:
                self.reached.set()
        await self.app(scope, receive, send)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn serves the emulator to the children
@pytest.mark.parametrize("seeds", [("1", "2", "3"), ("7", "0", "42")])
async def test_killed_creates_resumed_under_other_hash_seeds_double_nothing(
    tmp_path: Path, seeds: tuple[str, ...]
) -> None:
    journal = str(tmp_path / "j")
    emulator = BiginEmulator()
    trap = WriteCounter(emulator.app)
    root = Path(__file__).resolve().parents[2]
    async with serve(trap, port=0) as url:
        for number, seed in enumerate(seeds):
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("BIGIN_")},
                "PYTHONHASHSEED": seed,
            }
            last = number == len(seeds) - 1
            process = await anyio.open_process(
                [sys.executable, "-c", _SCRIPT, url, journal],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            async with process:
                if not last:
                    # Kill the process when its 4th write call (of this run) reaches the server.
                    arrived = trap.arm(4)

                    with anyio.fail_after(60):
                        async with anyio.create_task_group() as tasks:
                            tasks.start_soon(_set_on_exit, process, arrived)
                            await arrived.wait()
                            if process.returncode is None:
                                process.kill()
                    await process.wait()
                    assert process.returncode is not None and process.returncode < 0, (
                        "it ended before the kill"
                    )
                else:
                    with anyio.fail_after(60):
                        await process.wait()
                    assert process.returncode == 0, await _text(process.stderr)
                    success, unknown, skipped, matched = map(int, (await _text(process.stdout)).split())
                    assert matched == skipped and success + unknown == 300
    names = Counter(str(r["Last_Name"]) for r in emulator.store.table("Contacts"))
    assert max(names.values()) == 1, [n for n, c in names.items() if c > 1][:5]
    assert len(names) >= success


async def _set_on_exit(process: Any, event: anyio.Event) -> None:
    await process.wait()
    event.set()  # exited before the kill: the test's assertions then say why


async def _text(stream: Any) -> str:
    chunks = []
    async for chunk in stream:
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_journal_lines_are_json_whatever_was_torn(tmp_path: Path) -> None:
    # A torn journal is read up to its last complete line and then appended to cleanly.
    from bigin_async.bulk import Journal

    path = tmp_path / "j"
    header = json.dumps({"t": "header", "module": "Contacts", "mode": "create", "v": 2})
    line = json.dumps({"t": "pending", "i": [0], "h": ["00000000000000aa"]})
    for cut in range(1, len(line)):
        path.write_text(header + "\n" + line[:cut])
        journal = Journal(path, module="Contacts", mode="create")
        journal.load()
        anyio.run(journal.log_pending, [1], ["00000000000000bb"])
        journal.close()
        lines = path.read_text().splitlines()
        assert [json.loads(x)["t"] for x in lines] == ["header", "pending"]
