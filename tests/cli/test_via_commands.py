"""``bigin import/export --via calls|jobs|auto`` in-process against the emulator, end to end."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from rich.console import Console

from bigin_async.cli import build_parser, run_command
from bigin_emulator import BiginEmulator
from tests.helpers.cli import Run, bigin, read_results, write_csv

JOB_WRITE = "POST /bigin/bulk/v2/write"
JOB_READ = "POST /bigin/bulk/v2/read"
INSERT_CALL = "POST /bigin/v2/Contacts"


async def import_people(emulator: BiginEmulator, source: Path, *argv: str, **client_options: Any) -> Run:
    """``bigin import Contacts SOURCE --map "First Name=First_Name" --poll-interval 0 ARGV...``."""
    return await bigin(
        emulator,
        "import",
        "Contacts",
        str(source),
        "--map",
        "First Name=First_Name",
        "--poll-interval",
        "0",
        *argv,
        **client_options,
    )


def people(count: int, *, bad: int | None = None, start: int = 0) -> list[list[str]]:
    rows = [["First Name", "Last_Name", "Email", "Mailing_City"]]
    for number in range(start, start + count):
        rows.append(["P", f"Person {number}", f"person{number}@example.com", ("Paris", "Oslo")[number % 2]])
    if bad is not None:
        rows[bad + 1][1] = ""  # no Last_Name: refused before sending, on its own
    return rows


async def test_an_import_through_jobs_writes_one_results_line_per_input_row(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "people.csv", people(60, bad=7))
    run = await import_people(emulator, source, "--via", "jobs")
    assert run.code == 1, run.err  # the nameless row failed
    results = read_results(tmp_path / "people.results.csv")
    assert [row["row"] for row in results] == [str(i) for i in range(1, 61)]
    assert [row["line"] for row in results] == [str(i) for i in range(2, 62)]
    failed = [row for row in results if row["status"] != "success"]
    assert [(row["row"], row["code"]) for row in failed] == [("8", "MANDATORY_NOT_FOUND")]
    stored = {record["Email"]: record["id"] for record in emulator.store.table("Contacts")}
    assert len(stored) == 59
    assert all(
        row["id"] == stored[row["key"].removeprefix("Email=")]
        for row in results
        if row["status"] == "success"
    )
    routes = emulator.counters.requests_by_route
    assert routes[JOB_WRITE] == 1 and routes.get(INSERT_CALL, 0) == 0
    assert "via jobs (--via jobs)" in run.out and "credits:" in run.out


async def test_an_upsert_through_jobs_updates_on_the_second_run(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "people.csv", people(30))
    first = await import_people(emulator, source, "--unique", "Email", "--via", "jobs")
    again = await import_people(emulator, source, "--unique", "Email", "--via", "jobs")
    assert first.code == again.code == 0, again.err
    assert {row["action"] for row in read_results(tmp_path / "people.results.csv")} == {"update"}
    assert len(emulator.store.table("Contacts")) == 30
    assert emulator.counters.requests_by_route[JOB_WRITE] == 2


async def test_calls_stay_calls_and_auto_takes_calls_for_a_small_file(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    calls = await import_people(emulator, write_csv(tmp_path / "a.csv", people(150)), "--via", "calls")
    auto = await import_people(emulator, write_csv(tmp_path / "b.csv", people(3, start=1000)))
    assert calls.code == auto.code == 0, calls.err + auto.err
    assert (
        emulator.counters.requests_by_route[INSERT_CALL] == 3
        and JOB_WRITE not in emulator.counters.requests_by_route
    )
    assert (
        "via calls (--via calls)" in calls.out and "via calls (auto: 3 rows (jobs above 5,000))" in auto.out
    )


async def test_what_a_job_cannot_do_is_a_usage_error_before_anything_is_sent(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "x.csv", people(2))
    run = await import_people(emulator, source, "--via", "jobs", "--no-workflows")
    bad_poll = await bigin(emulator, "import", "Contacts", str(source), "--poll-interval", "-1")
    sorted_export = await bigin(
        emulator, "export", "Contacts", "-o", str(tmp_path / "o.csv"), "--via", "jobs", "--sort-by", "Email"
    )
    no_file_host = await import_people(emulator, source, "--via", "jobs", content_domain=None)
    assert (run.code, bad_poll.code, sorted_export.code, no_file_host.code) == (2, 2, 2, 2)
    assert "--content-domain" in no_file_host.err
    assert "--no-workflows" in run.err and "--poll-interval" in bad_poll.err and "by id" in sorted_export.err
    assert (
        JOB_WRITE not in emulator.counters.requests_by_route
        and JOB_READ not in emulator.counters.requests_by_route
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return sorted(csv.DictReader(handle), key=lambda row: int(row["id"]))


async def test_an_export_through_jobs_writes_the_rows_an_export_through_calls_writes(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=450)
    fields = "First_Name,Last_Name,Email,Phone,Mailing_City,Email_Opt_Out,Created_Time"
    by_calls, by_jobs = tmp_path / "calls.csv", tmp_path / "jobs.csv"
    calls = await bigin(
        emulator, "export", "Contacts", "--fields", fields, "-o", str(by_calls), "--via", "calls"
    )
    jobs = await bigin(
        emulator,
        "export",
        "Contacts",
        "--fields",
        fields,
        "-o",
        str(by_jobs),
        "--via",
        "jobs",
        "--poll-interval",
        "0",
    )
    assert calls.code == jobs.code == 0, calls.err + jobs.err
    rows = read_rows(by_jobs)
    assert len(rows) == 450 and rows == read_rows(by_calls)
    assert by_jobs.read_text(encoding="utf-8").splitlines()[0] == "id," + fields
    assert emulator.counters.requests_by_route[JOB_READ] == 1
    assert "via jobs" in jobs.out and "credits:" in jobs.out


async def test_an_export_through_jobs_takes_the_search_criteria_text(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    emulator.insert_records(
        "Contacts", [{"Last_Name": f"P{i}", "Mailing_City": ("Paris", "Oslo")[i % 2]} for i in range(40)]
    )
    output = tmp_path / "paris.jsonl"
    run = await bigin(
        emulator,
        "export",
        "Contacts",
        "--fields",
        "Last_Name,Mailing_City",
        "-o",
        str(output),
        "--criteria",
        "(Mailing_City:equals:Paris)",
        "--via",
        "jobs",
        "--poll-interval",
        "0",
    )
    assert run.code == 0, run.err
    lines = output.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20 and all('"Mailing_City":"Paris"' in line for line in lines)


async def test_a_journal_of_jobs_resumes_through_jobs_without_a_second_job(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "people.csv", people(40))
    journal = str(tmp_path / "people.journal")
    first = await import_people(emulator, source, "--journal", journal, "--via", "jobs")
    again = await import_people(emulator, source, "--journal", journal)  # auto, 40 rows: the journal decides
    assert first.code == again.code == 0, first.err + again.err
    assert "via jobs (auto: resuming a journal of jobs)" in again.out
    assert emulator.counters.requests_by_route[JOB_WRITE] == 1
    assert len(emulator.store.table("Contacts")) == 40
    assert [row["status"] for row in read_results(tmp_path / "people.results.csv")] == ["success"] * 40


async def test_the_progress_display_draws_a_bar_per_phase(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "people.csv", people(30))
    args = build_parser().parse_args(
        [
            "import",
            "Contacts",
            str(source),
            "--map",
            "First Name=First_Name",
            "--via",
            "jobs",
            "--poll-interval",
            "0",
        ]
    )
    err = io.StringIO()
    code = await run_command(
        args,
        connect=lambda _: emulator.client(),
        out=Console(file=io.StringIO(), width=200),
        err=Console(file=err, width=200, force_terminal=True),
    )
    assert code == 0
    drawn = err.getvalue()
    for label in (
        "create Contacts via jobs",
        "writing CSV parts",
        "uploading parts",
        "waiting on the job",
        "reading results",
    ):
        assert label in drawn, label


async def test_an_export_stops_at_max_records_and_calls_keep_their_criteria_text(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=450)
    first = tmp_path / "first.csv"
    run = await bigin(
        emulator,
        "export",
        "Contacts",
        "--fields",
        "Email",
        "-o",
        str(first),
        "--via",
        "jobs",
        "--max-records",
        "100",
        "--poll-interval",
        "0",
        daily_limit=50_000,
    )
    assert run.code == 0, run.err
    assert len(read_rows(first)) == 100 and not list(tmp_path.glob("*.zip"))
    assert "of the 50,000 a day left" in run.out
    emulator.insert_records("Contacts", [{"Last_Name": "Needle", "Email": "needle@example.com"}])
    found = tmp_path / "found.csv"
    search = await bigin(
        emulator,
        "export",
        "Contacts",
        "--fields",
        "Email",
        "-o",
        str(found),
        "--via",
        "calls",
        "--criteria",
        "(Email:equals:needle@example.com)",
    )
    assert search.code == 0, search.err
    assert [row["Email"] for row in read_rows(found)] == ["needle@example.com"]
    assert emulator.counters.requests_by_route["GET /bigin/v2/Contacts/search"] == 1


async def test_more_fields_than_a_call_reads_need_a_job(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=3)
    many = ",".join(f"Field_{i}" for i in range(51))
    run = await bigin(
        emulator, "export", "Contacts", "--fields", many, "-o", str(tmp_path / "x.csv"), "--via", "calls"
    )
    assert run.code == 2 and "use --via jobs" in run.err
    assert emulator.counters.requests_total == 0
