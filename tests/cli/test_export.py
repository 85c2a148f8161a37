"""``bigin export`` in-process against the emulator: streaming past 2,000, formats, search, failures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bigin_emulator import BiginEmulator
from tests.helpers.cli import bigin


async def test_csv_export_streams_every_record_past_the_page_wall(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=2_450)
    output = tmp_path / "contacts.csv"
    run = await bigin(
        emulator, "export", "Contacts", "--fields", "Last_Name,Email,Account_Name", "-o", str(output)
    )
    assert run.code == 0, run.err
    with output.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "Last_Name", "Email", "Account_Name"]
    assert len(rows) == 2_450 and len({row["id"] for row in rows}) == 2_450
    assert {row["Email"] for row in rows} == {r["Email"] for r in emulator.store.table("Contacts")}
    assert "exported 2,450 records" in run.out
    assert not (tmp_path / "contacts.csv.part").exists()
    # 13 pages of 200: the 11th and later ones through page tokens.
    assert emulator.counters.requests_by_route["GET /bigin/v2/Contacts"] == 13


async def test_jsonl_export_keeps_lookups_and_system_fields(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    emulator.seed_data(companies=2, contacts=5)
    output = tmp_path / "c.jsonl"
    run = await bigin(
        emulator, "export", "contacts", "--fields", "Email,Account_Name,$approval_state", "-o", str(output)
    )
    assert run.code == 0
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 5
    assert all(set(record["Account_Name"]) == {"name", "id"} for record in records)
    assert all(record["$approval_state"] == "approved" for record in records)


async def test_criteria_and_max_records(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    emulator.insert_records(
        "Contacts",
        [{"Last_Name": f"L{i}", "Mailing_City": "Paris" if i % 3 == 0 else "Oslo"} for i in range(30)],
    )
    paris = tmp_path / "paris.jsonl"
    first = tmp_path / "first.csv"
    run_paris = await bigin(
        emulator,
        "export",
        "Contacts",
        "--criteria",
        "(Mailing_City:equals:Paris)",
        "--fields",
        "Last_Name,Mailing_City",
        "-o",
        str(paris),
    )
    run_first = await bigin(
        emulator,
        "export",
        "Contacts",
        "--max-records",
        "7",
        "--sort-by",
        "Last_Name",
        "--sort-order",
        "asc",
        "-o",
        str(first),
    )
    assert run_paris.code == run_first.code == 0
    assert {json.loads(line)["Mailing_City"] for line in paris.read_text().splitlines()} == {"Paris"}
    assert len(paris.read_text().splitlines()) == 10
    with first.open(newline="") as handle:
        names = [row["Last_Name"] for row in csv.DictReader(handle)]
    assert names == sorted(names) and len(names) == 7


async def test_a_failed_export_leaves_no_file_and_exits_nonzero(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=3)
    output = tmp_path / "x.csv"
    refused = await bigin(emulator, "export", "Contacts", "-o", str(output), client_secret="nope")
    failing = await bigin(
        emulator,
        "export",
        "Contacts",
        "--fields",
        "Last_Name",
        "--criteria",
        "(Last_Name:frobs:x)",
        "-o",
        str(output),
    )
    no_format = await bigin(emulator, "export", "Contacts", "-o", str(tmp_path / "x.out"))
    assert (refused.code, failing.code, no_format.code) == (2, 1, 2)
    assert not output.exists() and not (tmp_path / "x.csv.part").exists()
