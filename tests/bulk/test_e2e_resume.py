"""Kill-and-resume: ``bigin import`` killed mid-run, re-run with the same journal, same store as a clean run.

The emulator is served on a loopback port from this test, so it outlives the killed process and
still holds whatever that process got written (including calls in flight when it died). A small
ASGI wrapper signals when the Nth upsert arrives: the kill happens then, with calls in flight,
and no test code sleeps to guess when the import is "half way".
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import anyio
import pytest

from bigin_emulator import BiginEmulator
from bigin_emulator.seed import SeedGenerator
from bigin_emulator.server.faults import ServerLimits
from bigin_emulator.server.serving import serve
from tests.helpers.cli import process_argv, read_results, write_csv
from tests.helpers.crash import ArrivalTrap, kill_when_reached

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]
FIELDS = ["First_Name", "Last_Name", "Email", "Phone", "Title", "Mailing_City", "Mailing_Country"]
RECORDS = 4_000
CALLS = RECORDS // 100


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # uvicorn


def import_argv(source: Path, journal: Path, url: str) -> list[str]:
    argv = [
        "import",
        "Contacts",
        str(source),
        "--mode",
        "upsert",
        "--unique",
        "Email",
        "--journal",
        str(journal),
    ]
    return process_argv(*argv, emulator_url=url)


def clean_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("BIGIN_")}


def store_contents(emulator: BiginEmulator) -> list[tuple[Any, ...]]:
    """The store as data (ids and timestamps differ between runs; the records must not)."""
    return sorted(tuple(record.get(name) for name in FIELDS) for record in emulator.store.table("Contacts"))


def upserts(emulator: BiginEmulator) -> int:
    return int(emulator.counters.requests_by_route.get("POST /bigin/v2/Contacts/upsert", 0))


@pytest.mark.parametrize("torn", [False, True], ids=["clean-tail", "torn-tail"])
async def test_killed_import_resumed_with_its_journal_ends_like_a_clean_run(
    tmp_path: Path, torn: bool
) -> None:
    source = write_csv(
        tmp_path / "contacts.csv",
        [FIELDS] + [[str(r[name]) for name in FIELDS] for r in SeedGenerator(7).contacts(RECORDS)],
    )
    journal = tmp_path / "import.journal"
    emulator = BiginEmulator(limits=ServerLimits(latency=0.02))
    trap = ArrivalTrap(emulator.app, CALLS // 3, lambda scope: str(scope["path"]).endswith("/upsert"))
    async with serve(trap, port=0) as url:
        process = await anyio.open_process(
            import_argv(source, journal, url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=clean_env(),
        )
        async with process:
            await kill_when_reached(process, trap, limit=120)
            assert process.returncode is not None and process.returncode < 0, (
                "the import finished before the kill"
            )
        killed_at = upserts(emulator)
        logged = [json.loads(line) for line in journal.read_text().splitlines() if line.endswith("}")]
        pending = {i for line in logged if line["t"] == "pending" for i in line["i"]}
        answered = {item["i"] for line in logged if line["t"] == "done" for item in line["o"]}
        assert answered and pending - answered, "the kill should leave calls answered and calls in flight"
        assert 0 < len(emulator.store.table("Contacts")) < RECORDS
        if torn:
            # The kill landed while an answer was being logged: half a "done" line ends the file.
            done = next(line for line in journal.read_bytes().splitlines() if line.startswith(b'{"t":"done"'))
            with journal.open("ab") as handle:
                handle.write(done[: len(done) // 2])

        resumed = await anyio.run_process(import_argv(source, journal, url), check=False, env=clean_env())
        assert resumed.returncode == 0, resumed.stderr.decode()
        # The torn tail was cut before the resumed run appended: every line reads.
        assert all(json.loads(line)["t"] for line in journal.read_text().splitlines())
        resumed_at = upserts(emulator)
        again = await anyio.run_process(import_argv(source, journal, url), check=False, env=clean_env())
        assert again.returncode == 0, again.stderr.decode()
        assert upserts(emulator) == resumed_at  # a third run finds everything confirmed: nothing sent
    # The resumed run skipped what the journal had confirmed.
    assert resumed_at - killed_at < CALLS
    results = read_results(tmp_path / "contacts.results.csv")
    assert len(results) == RECORDS and {row["status"] for row in results} == {"success"}

    clean = BiginEmulator()
    async with clean.serve(port=0) as url:
        finished = await anyio.run_process(
            import_argv(source, tmp_path / "clean.journal", url), check=False, env=clean_env()
        )
        assert finished.returncode == 0, finished.stderr.decode()
    assert upserts(clean) == CALLS
    assert store_contents(emulator) == store_contents(clean)
    assert len({record["Email"] for record in emulator.store.table("Contacts")}) == RECORDS
