"""A journal matches records by what they are (a canonical fingerprint), not by where they stand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from bigin_async._inputs import check_record
from bigin_async.bulk import record_hash
from bigin_async.models import wire_value
from bigin_emulator import BiginEmulator
from tests.helpers.crash import run_once
from tests.helpers.sink import CountingSink

ROOT = Path(__file__).resolve().parents[2]


def people(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Last_Name": f"Doe {i}"} for i in range(start, start + n)]


def names(emulator: BiginEmulator) -> list[str]:
    return sorted(str(r["Last_Name"]) for r in emulator.store.table("Contacts"))


# -- 2: canonical fingerprints --------------------------------------------------------------------


def test_fingerprints_ignore_how_equal_numbers_and_sets_are_spelled() -> None:
    def fp(record: dict[str, Any]) -> str:
        return record_hash(check_record(record, "Contacts"))

    assert (
        fp({"Last_Name": "a", "N": 1})
        == fp({"Last_Name": "a", "N": 1.0})
        == fp({"Last_Name": "a", "N": Decimal("1.0")})
    )
    assert fp({"Last_Name": "a", "N": 1}) != fp({"Last_Name": "a", "N": True})
    assert fp({"Last_Name": "a", "N": 1.5}) == fp({"Last_Name": "a", "N": Decimal("1.50")})
    assert fp({"Last_Name": "a", "S": {"x", "y", "z"}}) == fp({"Last_Name": "a", "S": ["z", "y", "x"][::-1]})
    assert fp({"Last_Name": "a", "D": {"b": 1, "a": 2}}) == fp({"Last_Name": "a", "D": {"a": 2, "b": 1}})
    assert fp({"Last_Name": "a", "N": 1}) != fp({"Last_Name": "a", "N": "1"})
    assert fp({"Last_Name": "a", "L": [1, 2]}) != fp(
        {"Last_Name": "a", "L": [2, 1]}
    )  # lists keep their order


def test_a_set_goes_on_the_wire_sorted() -> None:
    assert wire_value({"delta", "alpha", "charlie", "bravo"}) == ["alpha", "bravo", "charlie", "delta"]
    assert wire_value(frozenset({3, 1, 2})) == [1, 2, 3]
    assert len(wire_value({"b", 1, None})) == 3  # mixed types: still an order, no crash


_PROBE = """
import json
from bigin_async.bulk import record_hash
from bigin_async._inputs import check_record
record = {"Last_Name": "Doe", "Hobbies": {"chess", "go", "tennis", "golf", "bridge", "polo", "sumo"},
          "Tag": {"vip", "lead", "cold", "warm", "hot"}}
wire = check_record(record, "Contacts")
print(json.dumps({"hash": record_hash(wire), "wire": wire}))
"""


def test_fingerprints_and_wire_forms_are_the_same_in_every_process_whatever_the_hash_seed() -> None:
    seen = set()
    for seed in ("0", "1", "2", "3", "4", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, check=True, text=True
        )
        seen.add(out.stdout.strip())
    assert len(seen) == 1, seen


_RESUME = """
import json, sys
import anyio
from tests.helpers.sink import CountingSink

async def main() -> None:
    sink = CountingSink()
    records = [
        {"Last_Name": f"Doe {i}", "Hobbies": {"chess", "go", "tennis", "golf", f"x{i}", f"y{i}"}}
        for i in range(150)
    ]
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(records, journal=sys.argv[1])
    print(json.dumps({"sent": sink.records, "skipped": result.skipped, "ok": result.ok}))

anyio.run(main)
"""


def test_a_resumed_create_in_another_process_with_another_hash_seed_sends_nothing_again(
    tmp_path: Path,
) -> None:
    journal = str(tmp_path / "j")
    runs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", _RESUME, journal],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=True,
            text=True,
        )
        runs.append(json.loads(out.stdout))
    assert runs[0] == {"sent": 150, "skipped": 0, "ok": True}
    assert runs[1] == runs[2] == {"sent": 0, "skipped": 150, "ok": True}


# -- 3: matching by fingerprint, not position -----------------------------------------------------


async def test_a_reordered_input_is_matched_record_by_record(tmp_path: Path) -> None:
    journal = str(tmp_path / "j")
    sink = CountingSink()
    async with sink.client() as bigin:
        await bigin.contacts.bulk_create(people(250), journal=journal)
        again = await bigin.contacts.bulk_create(people(250)[::-1], journal=journal)
    assert sink.records == 250
    assert again.ok and again.skipped == 250 and again.journal_matched == 250
    assert [o.index for o in again] == list(range(250))
    assert again.outcomes[0].record == {"Last_Name": "Doe 249"}


async def test_a_prefixed_input_sends_only_the_new_records(tmp_path: Path) -> None:
    journal = str(tmp_path / "j")
    sink = CountingSink()
    async with sink.client() as bigin:
        first = await bigin.contacts.bulk_create(people(200), journal=journal)
        again = await bigin.contacts.bulk_create(people(30, start=1000) + people(200), journal=journal)
    assert sink.records == 230
    assert again.skipped == 200 and again.actions["insert"] == 230 and again.journal_matched == 200
    assert [o.id for o in again.outcomes[30:]] == [o.id for o in first.outcomes]


async def test_an_edited_record_is_a_new_record(tmp_path: Path) -> None:
    journal = str(tmp_path / "j")
    sink = CountingSink()
    records = people(10)
    async with sink.client() as bigin:
        await bigin.contacts.bulk_create(records, journal=journal)
        records[3] = {"Last_Name": "Doe 3", "Phone": "1"}
        again = await bigin.contacts.bulk_create(records, journal=journal)
    assert sink.records == 11 and again.journal_matched == 9 and not again.outcomes[3].from_journal


async def test_n_identical_records_need_n_confirmations(tmp_path: Path) -> None:
    journal = str(tmp_path / "j")
    sink = CountingSink()
    same = {"Last_Name": "Twin"}
    async with sink.client() as bigin:
        await bigin.contacts.bulk_create([same, same], journal=journal)
        again = await bigin.contacts.bulk_create([same, same, same, {"Last_Name": "x"}], journal=journal)
        third = await bigin.contacts.bulk_create([same] * 3, journal=journal)
    assert sink.records == 4  # 2, then the third twin and "x"; then nothing
    assert [o.from_journal for o in again] == [True, True, False, False]
    assert third.journal_matched == 3 and len({o.id for o in third}) == 3


async def test_a_crashed_insert_is_unknown_wherever_it_moved_to(tmp_path: Path) -> None:
    journal = str(tmp_path / "j")
    emulator = BiginEmulator()
    records = people(300)
    result, _ = await run_once(
        emulator,
        lambda b: b.contacts.bulk_create(records, journal=journal, batch_size=100),
        crash_at=2,
        max_concurrency=1,
    )
    assert result is None
    before = names(emulator)
    again, _ = await run_once(
        emulator, lambda b: b.contacts.bulk_create(people(20, 900) + records[::-1], journal=journal)
    )
    assert again is not None
    assert names(emulator) == sorted(set(names(emulator)))  # nothing doubled
    assert len(before) == 200 and len(names(emulator)) == 320
    assert again.counts["unknown"] == 100 and {o.record["Last_Name"] for o in again.unknown} == {
        f"Doe {i}" for i in range(100, 200)
    }


def test_load_keeps_compact_entries_not_whole_outcomes(tmp_path: Path) -> None:
    from bigin_async.bulk import Journal

    path = tmp_path / "j"
    header = {"t": "header", "module": "Contacts", "mode": "create", "v": 2}
    lines = [json.dumps(header)]
    for batch in range(50):
        items = [
            {
                "i": batch * 100 + n,
                "h": f"{batch * 100 + n:016x}",
                "s": "success",
                "a": "insert",
                "id": str(7 * 10**18 + batch * 100 + n),
            }
            for n in range(100)
        ]
        lines.append(
            json.dumps({"t": "pending", "i": [it["i"] for it in items], "h": [it["h"] for it in items]})
        )
        lines.append(json.dumps({"t": "done", "o": items}))
    path.write_text("\n".join(lines) + "\n")
    journal = Journal(path, module="Contacts", mode="create")
    journal.load()
    assert journal.matched == 0 and len(journal) == 5000
    entry = journal.take(f"{4321:016x}")
    assert entry is not None and entry.outcome is not None
    assert entry.outcome.id == str(7 * 10**18 + 4321) and entry.outcome.from_journal
    assert journal.take(f"{4321:016x}") is None  # one confirmation, taken once
