"""Review of ``bigin export --resume``: not one record lost or doubled, whatever stops the export.

Each test names the defect it was written for. The org is changed between the stop and the
resume (records deleted or added straight in the emulator's store), the process is killed with
SIGKILL at the points where the file and its state disagree, and the state file is torn or
hostile; the finished file must then hold every record once, or the resume must refuse with
what to do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from bigin_async.cli.exporter import partial_path, state_path
from bigin_async.errors import ValidationError
from bigin_async.pagination import PagePosition
from bigin_emulator import BiginEmulator
from tests.helpers.cli import Run
from tests.helpers.export_cli import StopAt, contact_ids, csv_ids, export, jsonl_ids
from tests.helpers.orgs import fresh, seeded_state

SEARCH = "/bigin/v2/Contacts/search"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def org() -> dict[str, Any]:
    """900 contacts (pages 1-5 of 200, all by page number), built once."""
    return seeded_state(contacts=900)


def delete(emulator: BiginEmulator, ids: list[str]) -> None:
    for record_id in ids:
        emulator.store.remove("Contacts", record_id)


def add(emulator: BiginEmulator, count: int) -> list[str]:
    entries = emulator.insert_records("Contacts", [{"Last_Name": f"New {n}"} for n in range(count)])
    return [str(entry["details"]["id"]) for entry in entries]


def said(run: Run) -> str:
    return " ".join((run.out + run.err).split())


# -- the org changes between the stop and the resume ------------------------------------------


async def test_records_deleted_before_the_resume_do_not_make_unwritten_ones_vanish(
    org: dict[str, Any], tmp_path: Path
) -> None:
    """Defect: resuming by page number after records already written were deleted lost records.

    The export stopped after pages 1-3 (600 records). Deleting 10 of those pulls the first 10 records
    of the old page 4 into page 3, which the resume does not read again: they were never written."""
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    stopped = await export(emulator, output, "--via", "calls", transport=StopAt(emulator, 4))
    assert stopped.code == 1
    written = jsonl_ids(partial_path(output))
    assert len(written) == 600
    delete(emulator, written[100:110])
    resumed = await export(emulator, output, "--via", "calls", "--resume")
    assert resumed.code == 0, resumed.err
    ids = jsonl_ids(output)
    assert len(ids) == len(set(ids))  # none twice
    assert contact_ids(emulator) <= set(ids)  # none of the records Bigin holds is missing
    assert set(ids) - contact_ids(emulator) == set(written[100:110])  # the deleted ones were exported before


async def test_records_added_and_deleted_before_the_resume_each_appear_once(
    org: dict[str, Any], tmp_path: Path
) -> None:
    """Defect: with both inserts (they push the listing down) and deletes (they pull it up) between
    the stop and the resume, a page-number resume repeats or drops the records at the boundary."""
    emulator = fresh(org)
    output = tmp_path / "contacts.csv"
    await export(emulator, output, "--via", "calls", transport=StopAt(emulator, 3))
    written = csv_ids(partial_path(output))
    assert len(written) == 400
    delete(emulator, written[:250])
    added = add(emulator, 30)
    resumed = await export(emulator, output, "--via", "calls", "--resume")
    assert resumed.code == 0, resumed.err
    ids = csv_ids(output)
    assert len(ids) == len(set(ids))
    assert contact_ids(emulator) - set(added) <= set(ids)  # every record there before the resume
    assert output.read_text(encoding="utf-8").count("id,Email") == 1


async def test_a_search_resumed_after_deletions_loses_nothing(tmp_path: Path) -> None:
    """Defect: ``--criteria`` resumes by page number (search has no tokens): deletions between the
    stop and the resume lost the records pulled onto a page already read."""
    emulator = BiginEmulator()
    emulator.insert_records("Contacts", [{"Last_Name": f"L{i}", "Mailing_City": "Paris"} for i in range(700)])
    output = tmp_path / "paris.jsonl"
    criteria = ["--criteria", "(Mailing_City:equals:Paris)", "--via", "calls"]
    stopped = await export(emulator, output, *criteria, transport=StopAt(emulator, 3, path=SEARCH))
    assert stopped.code == 1
    written = jsonl_ids(partial_path(output))
    assert len(written) == 400
    delete(emulator, written[:50])
    resumed = await export(emulator, output, *criteria, "--resume")
    assert resumed.code == 0, resumed.err
    ids = jsonl_ids(output)
    assert len(ids) == len(set(ids)) and contact_ids(emulator) <= set(ids)


async def test_max_records_counts_the_records_of_both_runs(org: dict[str, Any], tmp_path: Path) -> None:
    """``--max-records 700``: the first run wrote 400, the resume (after deletions) writes 300 more."""
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    limit = ["--via", "calls", "--max-records", "700"]
    await export(emulator, output, *limit, transport=StopAt(emulator, 3))
    written = jsonl_ids(partial_path(output))
    delete(emulator, written[:20])
    resumed = await export(emulator, output, *limit, "--resume")
    assert resumed.code == 0, resumed.err
    ids = jsonl_ids(output)
    assert len(ids) == 700 and len(set(ids)) == 700


async def test_past_record_2000_the_token_resume_survives_deletes_and_inserts(tmp_path: Path) -> None:
    """Past record 2,000 the resume goes by page token (Bigin's only way there): deleting written
    records and adding new ones meanwhile neither drops nor repeats a record."""
    emulator = BiginEmulator()
    emulator.seed_data(contacts=2_500)
    output = tmp_path / "contacts.jsonl"
    await export(emulator, output, "--via", "calls", transport=StopAt(emulator, 12))
    written = jsonl_ids(partial_path(output))
    assert len(written) == 2_200
    assert json.loads(state_path(output).read_text(encoding="utf-8"))["position"]["page_token"]
    before = contact_ids(emulator)
    delete(emulator, written[1_000:1_040] + written[-5:])
    add(emulator, 25)
    resumed = await export(emulator, output, "--via", "calls", "--resume")
    assert resumed.code == 0, resumed.err
    ids = jsonl_ids(output)
    assert len(ids) == len(set(ids)) and before == set(ids) - (contact_ids(emulator) - before)


async def test_a_resume_by_id_survives_deletes_and_inserts(org: dict[str, Any], tmp_path: Path) -> None:
    """Through bulk_export (``--via auto``; records by id) the resume skips the ids up to the last one
    written: records deleted meanwhile are no gap, records added (higher ids) are written once."""
    emulator = fresh(org)
    output = tmp_path / "contacts.csv"
    await export(emulator, output, transport=StopAt(emulator, 3))
    written = csv_ids(partial_path(output))
    assert json.loads(state_path(output).read_text(encoding="utf-8"))["route"] == "ids"
    delete(emulator, written[:30])
    added = add(emulator, 15)
    resumed = await export(emulator, output, "--resume")
    assert resumed.code == 0, resumed.err
    ids = csv_ids(output)
    assert len(ids) == len(set(ids)) and contact_ids(emulator) <= set(ids) and set(added) <= set(ids)
    assert ids == sorted(ids, key=int)


# -- --resume of a finished export -------------------------------------------------------------


async def test_resume_of_a_finished_export_is_refused_not_overwritten(tmp_path: Path) -> None:
    """Defect: ``--resume`` with NAME complete and no NAME.part exported again over it, calling it
    'nothing to resume': a user who asked to continue gets a new file (and spends the calls)."""
    emulator = BiginEmulator(seed_records=5)
    output = tmp_path / "contacts.jsonl"
    assert (await export(emulator, output)).code == 0
    before = output.read_bytes()
    emulator.insert_records("Contacts", [{"Last_Name": "Later"}])
    again = await export(emulator, output, "--resume")
    assert again.code == 2
    assert "complete" in said(again) and "without --resume" in said(again)
    assert output.read_bytes() == before


# -- torn and hostile states -------------------------------------------------------------------


async def stopped_state(emulator: BiginEmulator, output: Path, *argv: str) -> dict[str, Any]:
    run = await export(emulator, output, *argv, transport=StopAt(emulator, 3))
    assert run.code == 1, run.err
    data: dict[str, Any] = json.loads(state_path(output).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("position.page", "3"),
        ("position.page_token", 12345),
        ("position.per_page", 7),
        ("position.page", 10**30),
        ("count", True),
        ("count", 2.5),
        ("offset", "12"),
        ("columns", "id,Email"),
        ("shape", [["module", "Contacts"]]),
        ("last_id", {"id": "1"}),
        ("route", "../../etc/passwd"),
    ],
)
async def test_a_hostile_state_is_refused_with_what_to_do(
    org: dict[str, Any], tmp_path: Path, where: str, value: Any
) -> None:
    """Defect: a state field of the wrong type was coerced (``True`` read as count 1, ``"12"`` as an
    offset) or crashed the resume with a traceback (exit 1) instead of a refusal naming the files."""
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    state = await stopped_state(emulator, output, "--via", "calls")
    target, key = (state["position"], where.split(".")[1]) if "." in where else (state, where)
    target[key] = value
    state_path(output).write_text(json.dumps(state), encoding="utf-8")
    before = partial_path(output).read_bytes()
    refused = await export(emulator, output, "--via", "calls", "--resume")
    assert refused.code == 2, refused.err
    assert "delete" in said(refused) and str(partial_path(output)) in said(refused)
    assert partial_path(output).read_bytes() == before


@pytest.mark.parametrize("garbage", [b"", b"{", b"\xff\xfe", b"null", b"[]", b'{"version": 1}'])
async def test_a_torn_state_file_is_refused(org: dict[str, Any], tmp_path: Path, garbage: bytes) -> None:
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    await stopped_state(emulator, output, "--via", "calls")
    state_path(output).write_bytes(garbage)
    refused = await export(emulator, output, "--via", "calls", "--resume")
    assert refused.code == 2 and "cannot be read" in said(refused)


async def test_a_state_whose_last_record_is_not_the_files_is_refused(
    org: dict[str, Any], tmp_path: Path
) -> None:
    """Defect: a state beside another export's ``.part`` (or one the file no longer matches) was
    accepted whenever its byte count fell on a line end: the file's last record was not checked."""
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    state = await stopped_state(emulator, output, "--via", "calls")
    lines = partial_path(output).read_bytes().splitlines(keepends=True)
    state["offset"] = sum(len(line) for line in lines[:300])  # a line end, but not record 400's
    state_path(output).write_text(json.dumps(state), encoding="utf-8")
    refused = await export(emulator, output, "--via", "calls", "--resume")
    assert refused.code == 2 and "not the file its state describes" in said(refused)


async def test_a_bom_or_crlf_csv_part_is_checked_not_trusted(org: dict[str, Any], tmp_path: Path) -> None:
    """A CSV ``.part`` re-saved with a BOM (a spreadsheet) no longer starts with the header written:
    resuming it would append rows under another header; it is refused."""
    emulator = fresh(org)
    output = tmp_path / "contacts.csv"
    state = await stopped_state(emulator, output, "--via", "calls")
    data = partial_path(output).read_bytes()
    assert data.startswith(b"id,Email\r\n")  # csv's own line ends: CRLF
    partial_path(output).write_bytes(b"\xef\xbb\xbf" + data)
    state["offset"] += 3
    state_path(output).write_text(json.dumps(state), encoding="utf-8")
    refused = await export(emulator, output, "--via", "calls", "--resume")
    assert refused.code == 2 and "not the file its state describes" in said(refused)


# -- durability --------------------------------------------------------------------------------


async def test_the_part_is_on_disk_before_its_state_claims_it(
    org: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect: the state was replaced after a flush but no fsync: after a power loss the state can
    claim bytes the disk never got, and the export can only start over. Each state replace must
    follow an fsync of the ``.part`` (and of the new state's own bytes)."""
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else str(fd)
        events.append("fsync " + Path(name).name)
        real_fsync(fd)

    def replace(source: Any, target: Any) -> None:
        events.append("replace " + Path(target).name)
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    await export(emulator, output, "--via", "calls", transport=StopAt(emulator, 3))
    state_name = state_path(output).name
    replaces = [i for i, event in enumerate(events) if event == "replace " + state_name]
    assert len(replaces) == 2  # pages 1 and 2
    for at in replaces:
        before = events[:at]
        assert "fsync " + partial_path(output).name in before
        assert before[-1] == "fsync " + state_name + ".tmp"


# -- SIGKILL of a real ``bigin export`` ----------------------------------------------------------

KILLER = """
import os, signal, sys
import bigin_async.cli.exporter as exporter

point, nth = sys.argv[1], int(sys.argv[2])
count = [0]
real_replace, real_dumps = os.replace, exporter.json.dumps

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def replace(source, target):
    if str(target).endswith(".state.json"):
        count[0] += 1
        if point == "before-replace" and count[0] == nth:
            die()
        real_replace(source, target)
        if point == "after-replace" and count[0] == nth:
            die()
    else:
        real_replace(source, target)
        if point == "after-rename" and not str(target).endswith(".tmp"):
            die()  # the finished file renamed, its state not yet removed

os.replace = replace
if point == "before-state":  # the page is written and flushed, the state not yet begun
    def dumps(value, *args, **kwargs):
        if isinstance(value, dict) and "offset" in value:
            count[0] += 1
            if count[0] == nth:
                die()
        return real_dumps(value, *args, **kwargs)
    exporter.json.dumps = dumps
from bigin_async.cli import main
sys.exit(main(sys.argv[3:]))
"""


def served_export(output: Path, via: str, url: str) -> list[str]:
    """``bigin export`` of the contacts' Email to ``output`` by ``via``, from the emulator at ``url``."""
    export = ["export", "Contacts", "--fields", "Email", "-o", str(output), "--via", via]
    return [*export, "--emulator", url, "--no-progress"]


async def run_bigin(
    argv: list[str], env: dict[str, str], *, killed_at: tuple[str, int] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """A real ``bigin ARGV...`` process; with ``killed_at=(point, nth)``, SIGKILLed there (see KILLER)."""
    start = (
        ["-m", "bigin_async.cli"] if killed_at is None else ["-c", KILLER, killed_at[0], str(killed_at[1])]
    )
    return await anyio.run_process([sys.executable, *start, *argv], check=False, env=env)


@pytest.fixture
def serving_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("BIGIN_")}
    env["PYTHONPATH"] = str(ROOT)
    yield env


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn serves the emulator: asyncio only
@pytest.mark.parametrize(
    ("point", "nth", "via"),
    [
        ("before-state", 3, "calls"),
        ("before-replace", 2, "calls"),
        ("after-replace", 4, "calls"),
        ("before-replace", 12, "calls"),  # past record 2,000: the token route
        ("after-replace", 12, "calls"),  # the last page saved, the file not yet renamed
        ("before-state", 5, "auto"),  # bulk_export, saved every 200 records
    ],
)
async def test_sigkill_at_the_points_where_file_and_state_disagree_loses_and_doubles_nothing(
    tmp_path: Path, serving_env: dict[str, str], point: str, nth: int, via: str
) -> None:
    emulator = BiginEmulator()
    emulator.seed_data(contacts=2_300)
    output = tmp_path / "contacts.csv"
    async with emulator.serve(port=0) as url:
        argv = served_export(output, via, url)
        killed = await run_bigin(argv, serving_env, killed_at=(point, nth))
        assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
        assert partial_path(output).exists() and not output.exists()
        resumed = await run_bigin([*argv, "--resume"], serving_env)
    assert resumed.returncode == 0, resumed.stderr.decode()
    ids = csv_ids(output)
    assert len(ids) == 2_300 and set(ids) == contact_ids(emulator)
    assert not partial_path(output).exists() and not state_path(output).exists()
    assert list(tmp_path.iterdir()) == [output]  # no state's temporary left behind either


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_sigkill_after_the_rename_leaves_no_state_that_traps_the_user(
    tmp_path: Path, serving_env: dict[str, str]
) -> None:
    """Defect: killed between renaming the finished file and removing its state, the export left a
    state without a ``.part``: ``--resume`` then said "export again without --resume" and the run
    without it said "pass --resume": each refused, the user could not get out without deleting files.
    """
    emulator = BiginEmulator(seed_records=450)
    output = tmp_path / "contacts.jsonl"
    async with emulator.serve(port=0) as url:
        argv = served_export(output, "calls", url)
        killed = await run_bigin(argv, serving_env, killed_at=("after-rename", 1))
        assert killed.returncode == -signal.SIGKILL
        assert output.exists() and state_path(output).exists() and not partial_path(output).exists()
        resumed = await run_bigin([*argv, "--resume"], serving_env)
        told = " ".join(resumed.stderr.decode().split())
        assert resumed.returncode == 2 and "complete already" in told, told
        again = await run_bigin(argv, serving_env)
    assert again.returncode == 0, again.stderr.decode()
    assert sorted(jsonl_ids(output)) == sorted(contact_ids(emulator))
    assert not state_path(output).exists()


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
@pytest.mark.parametrize("resume", [True, False])
async def test_a_second_export_of_the_same_name_does_not_cut_the_first(
    org: dict[str, Any], tmp_path: Path, resume: bool
) -> None:
    """Defect: two exports of one NAME at once (a scheduled run meeting a manual ``--resume``) both
    cut and appended to the same ``.part``: records doubled, lines interleaved. The ``.part`` is
    locked while it is written; the second run is refused and leaves the file as it was."""
    import fcntl

    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    if resume:
        await stopped_state(emulator, output, "--via", "calls")
    else:
        partial_path(output).write_bytes(b'{"id":"1"}\n')  # the first run, before its first state
    before = partial_path(output).read_bytes()
    with partial_path(output).open("rb") as held:  # what the running export holds
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        second = await export(emulator, output, "--via", "calls", *(["--resume"] if resume else []))
    assert second.code == 2 and "another bigin export" in said(second)
    assert partial_path(output).read_bytes() == before
    assert state_path(output).exists() == resume


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
async def test_a_link_planted_as_the_states_temporary_is_not_written_through(
    org: dict[str, Any], tmp_path: Path
) -> None:
    """Defect: the state's temporary (``NAME.part.state.json.tmp``) was opened with a plain write, so a
    symbolic link left there (a shared directory) had its target overwritten with the state."""
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me", encoding="utf-8")
    temporary = state_path(output).with_name(state_path(output).name + ".tmp")
    temporary.symlink_to(victim)
    stopped = await export(emulator, output, "--via", "calls", transport=StopAt(emulator, 3))
    assert stopped.code == 1
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert json.loads(state_path(output).read_text(encoding="utf-8"))["count"] == 400


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("via", ["calls", "auto"])
async def test_a_resume_killed_in_turn_resumes_again_to_every_record_once(
    tmp_path: Path, serving_env: dict[str, str], via: str
) -> None:
    """SIGKILL of the export, then of its resume (while it reads again the pages written, or reads
    the records by id), then a last resume: each record once."""
    emulator = BiginEmulator()
    emulator.seed_data(contacts=1_100)
    output = tmp_path / "contacts.jsonl"
    async with emulator.serve(port=0) as url:
        argv = served_export(output, via, url)
        first = await run_bigin(argv, serving_env, killed_at=("before-state", 3))
        delete(emulator, jsonl_ids(partial_path(output))[:7])
        second = await run_bigin([*argv, "--resume"], serving_env, killed_at=("before-replace", 4))
        assert (first.returncode, second.returncode) == (-signal.SIGKILL, -signal.SIGKILL)
        add(emulator, 3)
        last = await run_bigin([*argv, "--resume"], serving_env)
    assert last.returncode == 0, last.stderr.decode()
    ids = jsonl_ids(output)
    assert len(ids) == len(set(ids)) and contact_ids(emulator) <= set(ids)  # the 3 added too


@pytest.mark.parametrize(
    "start",
    [
        PagePosition(page=11, page_token=12345),  # type: ignore[arg-type]
        PagePosition(page=11, page_token=""),
        PagePosition(done=1),  # type: ignore[arg-type]
    ],
)
async def test_a_page_position_of_the_wrong_types_is_refused(start: PagePosition) -> None:
    """Defect: ``pages(start=...)`` checked the page and the count but sent a token that is not a
    string (or an empty one) as is, and took any ``done``: a torn position became a request."""
    async with BiginEmulator(seed_records=3).client() as client:
        with pytest.raises(ValidationError, match="start"):
            client.contacts.list(fields=["Email"]).pages(start=start)
