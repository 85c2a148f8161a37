"""``bigin import`` in-process against the emulator: mapping, typing, bad rows, results, resume."""

from __future__ import annotations

import json
from pathlib import Path

from bigin_emulator import BiginEmulator
from tests.helpers.cli import bigin, read_results, write_csv

HEADER = ["First Name", "Surname", "E-mail", "Company ID", "Email_Opt_Out", "Tag"]


async def test_csv_columns_are_mapped_and_typed_by_field_metadata(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    company = emulator.insert_records("Accounts", [{"Account_Name": "Acme Corp"}])[0]["details"]["id"]
    source = write_csv(
        tmp_path / "people.csv",
        [
            HEADER,
            ["Ada", "Lovelace", "ada@example.com", company, "yes", "VIP; Hot"],
            ["Alan", "Turing", "alan@example.com", "", "no", ""],
        ],
    )
    run = await bigin(
        emulator,
        "import",
        "contacts",
        str(source),
        "--map",
        "First Name=First_Name",
        "--map",
        "Surname=Last_Name",
        "--map",
        "E-mail=Email",
        "--map",
        "Company ID=Account_Name.id",
    )
    assert run.code == 0, run.err
    ada, alan = sorted(emulator.store.table("Contacts"), key=lambda r: r["Email"])
    assert (ada["First_Name"], ada["Last_Name"], ada["Email_Opt_Out"]) == ("Ada", "Lovelace", True)
    assert ada["Account_Name"]["id"] == company and ada["Account_Name"]["name"] == "Acme Corp"
    assert sorted(tag["name"] for tag in ada["Tag"]) == ["Hot", "VIP"]
    assert alan["Email_Opt_Out"] is False and not alan.get("Account_Name")  # empty cells are not sent
    results = read_results(tmp_path / "people.results.csv")
    assert [(r["row"], r["line"], r["status"], r["action"]) for r in results] == [
        ("1", "2", "success", "insert"),
        ("2", "3", "success", "insert"),
    ]
    assert results[0]["id"] == ada["id"] and results[0]["key"] == "Email=ada@example.com"
    assert "inserted" in run.out and "people.results.csv" in run.out


async def test_bad_rows_fail_alone_and_the_results_file_names_them(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(
        tmp_path / "in.csv",
        [
            ["Last_Name", "Email"],
            ["Good", "good@example.com"],
            ["", "nameless@example.com"],  # no Last_Name: refused before sending
            ["Bad", "not an email"],  # refused by the server
            ["Extra", "extra@example.com", "surplus"],  # more cells than columns
            [],
            ["Good Too", "good2@example.com"],
        ],
    )
    results_path = tmp_path / "out" / "results.csv"
    run = await bigin(emulator, "import", "Contacts", str(source), "--results", str(results_path))
    assert run.code == 1
    rows = read_results(results_path)
    assert [(r["row"], r["line"], r["status"], r["code"]) for r in rows] == [
        ("1", "2", "success", "SUCCESS"),
        ("2", "3", "error", "MANDATORY_NOT_FOUND"),
        ("3", "4", "error", "INVALID_DATA"),
        ("4", "5", "error", "INVALID_ROW"),
        ("5", "7", "success", "SUCCESS"),
    ]
    assert json.loads(rows[2]["details"])["api_name"] == "Email" and rows[2]["key"] == "Email=not an email"
    assert "more cell" in rows[3]["message"]
    assert len(emulator.store.table("Contacts")) == 2
    assert emulator.counters.requests_by_route["POST /bigin/v2/Contacts"] == 1


async def test_jsonl_upsert_on_unique_field_updates_on_the_second_run(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = tmp_path / "people.jsonl"
    lines = [
        json.dumps({"Last_Name": f"P{i}", "Email": f"p{i}@example.com", "Phone": "1"}) for i in range(150)
    ]
    lines.insert(3, "{not json")
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = await bigin(emulator, "import", "Contacts", str(source), "--unique", "Email")
    second = await bigin(emulator, "import", "Contacts", str(source), "--unique", "Email")
    assert first.code == second.code == 1  # the broken line fails both times
    rows = read_results(tmp_path / "people.results.csv")
    assert rows[3]["status"] == "error" and rows[3]["code"] == "INVALID_ROW" and rows[3]["line"] == "4"
    assert {r["action"] for r in rows if r["status"] == "success"} == {"update"}
    assert len(emulator.store.table("Contacts")) == 150
    # One field-metadata read a run (the keys are checked against it), then the records.
    assert emulator.counters.requests_by_route == {
        "GET /bigin/v2/settings/fields": 2,
        "POST /bigin/v2/Contacts/upsert": 4,
    }


async def test_a_journal_makes_a_rerun_skip_what_was_done(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(
        tmp_path / "c.csv", [["Last_Name", "Email"], *[[f"N{i}", f"n{i}@example.com"] for i in range(250)]]
    )
    journal = str(tmp_path / "c.journal")
    first = await bigin(emulator, "import", "Contacts", str(source), "--mode", "upsert", "--journal", journal)
    calls = emulator.counters.requests_by_route["POST /bigin/v2/Contacts/upsert"]
    again = await bigin(emulator, "import", "Contacts", str(source), "--mode", "upsert", "--journal", journal)
    assert first.code == again.code == 0
    assert calls == 3 and emulator.counters.requests_by_route["POST /bigin/v2/Contacts/upsert"] == 3
    assert "250" in again.out  # all skipped, reported from the journal
    assert len(read_results(tmp_path / "c.results.csv")) == 250


async def test_update_mode_needs_ids_and_reports_rows_without_one(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    ids = [
        e["details"]["id"]
        for e in emulator.insert_records("Contacts", [{"Last_Name": "A"}, {"Last_Name": "B"}])
    ]
    source = write_csv(
        tmp_path / "u.csv", [["id", "Phone"], [ids[0], "555-1"], ["", "555-2"], [ids[1], "555-3"]]
    )
    run = await bigin(emulator, "import", "Contacts", str(source), "--mode", "update")
    assert run.code == 1
    assert [r["status"] for r in read_results(tmp_path / "u.results.csv")] == ["success", "error", "success"]
    assert [emulator.store.table("Contacts").records[i]["Phone"] for i in ids] == ["555-1", "555-3"]


async def test_usage_errors_exit_2_before_anything_is_sent(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "x.csv", [["Last_Name"], ["A"]])
    unknown_column = await bigin(emulator, "import", "Contacts", str(source), "--map", "Nmae=Last_Name")
    missing = await bigin(emulator, "import", "Contacts", str(tmp_path / "nope.csv"))
    bad_mode = await bigin(
        emulator, "import", "Contacts", str(source), "--mode", "create", "--unique", "Email"
    )
    unknown_format = await bigin(emulator, "import", "Contacts", str(tmp_path / "x.txt"))
    bad_batch = await bigin(emulator, "import", "Contacts", str(source), "--batch-size", "101")
    empty = await bigin(emulator, "import", "Contacts", str(write_csv(tmp_path / "e.csv", [])))
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("Last_Name\nM\u00fcller\n".encode("latin-1"))
    not_utf8 = await bigin(emulator, "import", "Contacts", str(latin1))
    codes = [r.code for r in (unknown_column, missing, bad_mode, unknown_format, bad_batch, empty, not_utf8)]
    assert codes == [2] * 7 and "UTF-8" in not_utf8.err
    assert "Nmae" in unknown_column.err and "nope.csv" in missing.err and "--format" in unknown_format.err
    assert emulator.counters.requests_total == 0


async def test_refused_credentials_exit_2(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = tmp_path / "x.jsonl"
    source.write_text('{"Last_Name": "A"}\n', encoding="utf-8")
    run = await bigin(emulator, "import", "Contacts", str(source), client_secret="wrong-secret")
    assert run.code == 2
    assert "not authorised" in run.err and "invalid_client" in run.err  # found at the field-metadata read
    assert len(emulator.store.table("Contacts")) == 0


async def test_a_resumed_import_says_how_many_rows_the_journal_matched_and_skipped(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    rows = [[f"N{i}", f"n{i}@example.com"] for i in range(250)]
    journal = str(tmp_path / "c.journal")
    done = write_csv(tmp_path / "done.csv", [["Last_Name", "Email"], *rows[:150]])
    first = await bigin(emulator, "import", "Contacts", str(done), "--mode", "upsert", "--journal", journal)
    assert first.code == 0, first.err
    assert "journal: 0 of 150 rows matched" in first.out  # a fresh journal: nothing to skip
    # The same rows again, reordered, with 100 new ones among them: only those are sent.
    source = write_csv(tmp_path / "c.csv", [["Last_Name", "Email"], *reversed(rows)])
    again = await bigin(emulator, "import", "Contacts", str(source), "--mode", "upsert", "--journal", journal)
    assert again.code == 0, again.err
    assert "journal: 150 of 250 rows matched" in again.out
    assert "150 skipped (done by an earlier run)" in again.out and "100 handled by this run" in again.out
    assert len(emulator.store.table("Contacts")) == 250
    # The table keeps this run apart from the journal's: 100 inserted now, not 250.
    header, table = _table(again.out)
    assert header == ["rows", "this run", "skipped (journal)", "total"]
    assert table == {
        "inserted": ["100", "150", "250"],  # the journal's 150 were inserted by the first run
        "updated": ["0", "0", "0"],
        "failed": ["0", "0", "0"],
        "unknown": ["0", "0", "0"],
        "all": ["100", "150", "250"],
    }


def _table(out: str) -> tuple[list[str], dict[str, list[str]]]:
    """The header and the rows (by their first cell) of the summary table rich drew."""
    lines = [line for line in out.splitlines() if line.startswith(("┃", "│"))]
    cells = [[cell.strip() for cell in line.strip("┃│").replace("┃", "│").split("│")] for line in lines]
    return cells[0], {row[0]: row[1:] for row in cells[1:]}


async def test_an_import_without_a_journal_prints_no_journal_line(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "c.csv", [["Last_Name", "Email"], ["N", "n@example.com"]])
    run = await bigin(emulator, "import", "Contacts", str(source))
    assert run.code == 0, run.err
    assert "journal:" not in run.out
