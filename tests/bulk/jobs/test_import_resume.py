"""Kill-and-resume of Bulk Write imports: SIGKILLed at each journal stage, resumed with the journal.

The emulator is served on loopback ports from this test, so it outlives the killed process. A
small ASGI wrapper holds the n-th request of one kind (an upload, a job creation, a status poll, a
result download): either before the emulator sees it, or after the emulator applied it and with
its answer swallowed. The test kills the child process right then, as a crash at that point
would, then runs the same import again with the same journal: no job created twice (unless its
creation answer was the one lost: an upsert is then asked for again, harmlessly), every record
accounted for, and the store as a clean run leaves it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import anyio
import pytest

from bigin_async.bulk.jobs.journal import JobJournal
from bigin_emulator import BiginEmulator
from bigin_emulator.server.serving import serve
from tests.helpers.crash import ArrivalTrap, kill_when_reached

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]
RECORDS = 600
PART = 200
PARTS = RECORDS // PART
FIELDS = ("First_Name", "Last_Name", "Email", "Title")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # uvicorn


class Hold(ArrivalTrap):
    """Holds the ``n``-th request ``counts`` accepts, applied first if ``apply``; sets ``reached``."""

    def __init__(self, app: ASGI, counts: Callable[[Scope], bool], n: int, *, apply: bool) -> None:
        super().__init__(app, n, counts)
        self.apply = apply

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.counts(scope):
            await self.app(scope, receive, send)
            return
        self.arrived += 1
        if self.arrived != self.n:
            await self.app(scope, receive, send)
            return
        if self.apply:

            async def swallow(message: Any) -> None:
                pass  # the answer never reaches the process about to die

            await self.app(scope, receive, swallow)
        self.reached.set()
        while (await receive())["type"] != "http.disconnect":  # until the killed client's socket closes
            pass


def upload(scope: Scope) -> bool:
    return str(scope["path"]).endswith("/upload")


def create(scope: Scope) -> bool:
    return scope["method"] == "POST" and str(scope["path"]).endswith("/bulk/v2/write")


def poll(scope: Scope) -> bool:
    path = str(scope["path"])
    return scope["method"] == "GET" and "/bulk/v2/write/" in path and not path.endswith("/result")


def download(scope: Scope) -> bool:
    return str(scope["path"]).endswith("/result")


def store(emulator: BiginEmulator) -> list[tuple[Any, ...]]:
    return sorted(tuple(r.get(name) for name in FIELDS) for r in emulator.store.table("Contacts"))


def jobs(emulator: BiginEmulator) -> int:
    return sum(1 for job in emulator.jobs.jobs.values() if job.kind == "write")


def argv(api: str, content: str, journal: Path, summary: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.bulk.jobs.import_child",
        api,
        content,
        str(journal),
        str(summary),
        str(RECORDS),
        str(PART),
    ]


def env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("BIGIN_")}


async def run(emulator: BiginEmulator, api: ASGI, content: ASGI, journal: Path, summary: Path) -> Any:
    """Serve ``api`` and ``content`` and run the child to its end; its summary."""
    async with (
        emulator.notifier.running(),
        serve(api, port=0) as api_url,
        serve(content, port=0) as content_url,
    ):
        done = await anyio.run_process(
            argv(api_url, content_url, journal, summary), check=False, cwd=ROOT, env=env()
        )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return json.loads(summary.read_text())


async def clean_run(tmp_path: Path) -> tuple[list[tuple[Any, ...]], Any]:
    emulator = BiginEmulator()
    summary = await run(
        emulator, emulator.app, emulator.content_app, tmp_path / "clean.journal", tmp_path / "clean.json"
    )
    return store(emulator), summary


# (where the child dies, the request kind held, which one, applied first?, jobs the resumed run adds)
STAGES = [
    ("written", upload, 1, False),
    ("upload-applied-answer-lost", upload, 2, True),
    ("creating", create, 1, False),
    ("creating-applied-answer-lost", create, 2, True),
    ("created", poll, 1, False),
    ("completed", download, 1, False),
    ("results", upload, 3, False),
]


@pytest.mark.parametrize(("stage", "counts", "n", "apply"), STAGES, ids=[s[0] for s in STAGES])
async def test_killed_at_each_stage_and_resumed_ends_like_a_clean_run(
    tmp_path: Path, stage: str, counts: Callable[[Scope], bool], n: int, apply: bool
) -> None:
    clean_store, clean = await clean_run(tmp_path)
    emulator = BiginEmulator()
    journal, summary = tmp_path / "import.journal", tmp_path / "import.json"
    api = Hold(emulator.app, counts, n, apply=apply) if counts is not upload else emulator.app
    content = Hold(emulator.content_app, counts, n, apply=apply) if counts is upload else emulator.content_app
    trap = api if isinstance(api, Hold) else content
    assert isinstance(trap, Hold)
    async with (
        emulator.notifier.running(),
        serve(api, port=0) as api_url,
        serve(content, port=0) as content_url,
    ):
        process = await anyio.open_process(
            argv(api_url, content_url, journal, summary),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env=env(),
        )
        async with process:
            await kill_when_reached(process, trap, limit=120)
            assert process.returncode is not None and process.returncode < 0, (
                "the import ended before the kill"
            )
    assert not summary.exists()
    before = jobs(emulator)
    logged = JobJournal(journal, module="Contacts", operation="upsert")
    logged.load()
    ambiguous = [p for p in logged.parts.values() if p.ambiguous]
    created = {p.number for p in logged.parts.values() if p.job_id}

    resumed = await run(emulator, emulator.app, emulator.content_app, journal, summary)

    added = jobs(emulator) - before
    # Parts with a created job were polled, never created again; an ambiguous one was asked again.
    assert added == PARTS - len(created)
    lost_job = stage == "creating-applied-answer-lost"
    assert jobs(emulator) == PARTS + (1 if lost_job else 0)
    assert bool(ambiguous) == stage.startswith("creating")
    assert store(emulator) == clean_store
    assert resumed["summary"]["total"] == RECORDS
    assert [o[:3] for o in resumed["outcomes"]] == [o[:3] for o in clean["outcomes"]]
    if stage == "results":
        assert any(o[3] for o in resumed["outcomes"])  # part 1 read back from its result on disk


async def test_a_third_run_reads_everything_from_disk_and_sends_nothing(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    journal, summary = tmp_path / "import.journal", tmp_path / "import.json"
    first = await run(emulator, emulator.app, emulator.content_app, journal, summary)
    emulator.counters.reset()
    again = await run(emulator, emulator.app, emulator.content_app, journal, summary)
    assert emulator.counters.requests_total == 0
    assert [o[:3] for o in again["outcomes"]] == [o[:3] for o in first["outcomes"]]
    # Every outcome from the journal's results, but the records refused before sending (an upsert's
    # Last_Name None), checked again.
    refused = [o for o in again["outcomes"] if o[2] == "MANDATORY_NOT_FOUND"]
    assert refused and not any(o[3] for o in refused)
    assert all(o[3] for o in again["outcomes"] if o not in refused)
