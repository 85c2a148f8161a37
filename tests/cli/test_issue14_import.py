"""``bigin import`` as users meet it (issue 14, items 1, 3 and 6): a mistyped module costs one call
and exits 2 with the nearest names (export and attachments too), ``--dry-run`` checks everything
with one metadata call, the summary keeps this run apart from the journal's and fits 80 columns,
the bar ends on the table's rate, the help names the results file that is written, and a CSV's
separator is read off its header."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path

import anyio
import pytest
from rich.console import Console

from bigin_async.bulk import BulkProgress, BulkResult, RecordOutcome
from bigin_async.cli import build_parser, main, run_command
from bigin_async.cli.importer import ImportOptions, ImportReport, run_import
from bigin_async.cli.modules import module_suggestions, unknown_module_error
from bigin_async.cli.progress import ProgressView, RateColumn, format_rate
from bigin_async.cli.sources import ColumnMap
from bigin_async.cli.summary import print_import
from bigin_async.cli.via import ImportRoute
from bigin_emulator import BiginEmulator
from tests.helpers.cli import Run, bigin, clear_bigin_variables, read_results, write_csv

PEOPLE = [["Last_Name", "Email"], *[[f"N{i}", f"n{i}@example.com"] for i in range(5)]]


def writes(emulator: BiginEmulator) -> dict[str, int]:
    """The calls that would have sent something (anything but reads)."""
    return {
        route: n for route, n in emulator.counters.requests_by_route.items() if not route.startswith("GET")
    }


async def bigin_at(emulator: BiginEmulator, width: int, *argv: str) -> Run:
    """``bigin ARGV...`` in-process, printed on a terminal ``width`` columns wide."""
    args = build_parser().parse_args([*argv, "--no-progress"])
    out, err = io.StringIO(), io.StringIO()
    code = await run_command(
        args,
        connect=lambda _: emulator.client(),
        out=Console(file=out, width=width),
        err=Console(file=err, width=width),
    )
    return Run(code, out.getvalue(), err.getvalue())


# --- 1. a mistyped module: one call, exit 2, the nearest names ---------------------------------------


def test_the_nearest_module_names_are_suggested() -> None:
    assert module_suggestions("Contcts") == ["Contacts"]
    assert module_suggestions("companis") == ["Companies"]
    assert module_suggestions("Deal") == ["Deals"]
    assert module_suggestions("Xyzzy") == []
    assert module_suggestions("Vendros", known=["Vendors", "Contacts"]) == ["Vendors"]
    assert str(unknown_module_error("Contcts")).startswith(
        "no module 'Contcts' in this org; did you mean Contacts?"
    )
    assert "did you mean" not in str(unknown_module_error("Xyzzy"))
    # A module the SDK knows, refused by a command that does not take it, is not called a typo.
    assert "no module" not in str(unknown_module_error("Notes"))


async def test_a_mistyped_module_in_import_costs_one_call_and_sends_no_record(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "f.csv", PEOPLE)
    run = await bigin(emulator, "import", "Contcts", str(source))
    assert run.code == 2, run.err
    assert "no module 'Contcts' in this org; did you mean Contacts?" in " ".join(run.err.split())
    assert emulator.counters.requests_total == 1
    assert emulator.counters.requests_by_route == {"GET /bigin/v2/settings/fields": 1}
    assert writes(emulator) == {} and len(emulator.store.table("Contacts")) == 0
    assert not (tmp_path / "f.results.csv").exists()  # nothing was sent, so no results to report
    dry = await bigin(emulator, "import", "Contcts", str(source), "--dry-run")
    assert dry.code == 2 and "did you mean Contacts?" in dry.err
    assert emulator.counters.requests_total == 2  # one more, and still no write


async def test_a_mistyped_module_in_export_and_attachments_exits_2_within_one_call(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=3)
    exported = tmp_path / "x.csv"
    by_pages = await bigin(emulator, "export", "Contcts", "-o", str(exported), "--via", "calls")
    assert by_pages.code == 2 and "did you mean Contacts?" in " ".join(by_pages.err.split())
    assert emulator.counters.requests_total == 1
    default = await bigin(emulator, "export", "Nonexistent", "-o", str(exported))
    assert default.code == 2 and "Nonexistent" in default.err
    assert emulator.counters.requests_total <= 2  # at most one call more
    listed = await bigin(emulator, "attachments", "list", "Contcts", "1")
    assert listed.code == 2 and "did you mean Contacts?" in " ".join(listed.err.split())
    before = emulator.counters.requests_total
    files = [write_csv(tmp_path / f"a{i}.csv", [["x"]]) for i in range(3)]
    upload = await bigin(emulator, "attachments", "upload", "Contcts", "1", *map(str, files))
    assert upload.code == 2 and "did you mean Contacts?" in " ".join(upload.err.split())
    assert emulator.counters.requests_total == before + 1  # the first file's call, not one per file
    assert "not sent:" in upload.err and "a1.csv" in upload.err and "a2.csv" in upload.err


@pytest.fixture
def no_bigin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_bigin_variables(monkeypatch)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the served emulator is uvicorn
async def test_a_mistyped_import_through_the_console_script_spends_one_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_bigin_env: None
) -> None:
    """``main([...])`` as the ``bigin`` script runs it, against an emulator on a loopback port."""
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "f.csv", PEOPLE)
    async with emulator.serve(port=0) as url:
        code = await anyio.to_thread.run_sync(
            main, ["import", "Contcts", str(source), "--emulator", url, "--no-progress"]
        )
    assert code == 2
    assert "did you mean Contacts?" in " ".join(capsys.readouterr().err.split())
    assert emulator.counters.requests_by_route == {"GET /bigin/v2/settings/fields": 1}
    assert len(emulator.store.table("Contacts")) == 0


# --- 1. --dry-run -------------------------------------------------------------------------------------


async def test_a_dry_run_checks_every_row_with_one_call_and_sends_nothing(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    emulator.insert_records("Contacts", [{"Last_Name": "Kept", "Email": "kept@example.com"}])
    before = [dict(record) for record in emulator.store.table("Contacts")]
    source = write_csv(
        tmp_path / "in.csv",
        [
            ["Last_Name", "Email", "Email_Opt_Out"],
            ["Good", "good@example.com", "yes"],
            ["", "nameless@example.com", ""],  # no Last_Name
            ["Bad", "not an email", ""],  # refused for its type
            ["Flag", "flag@example.com", "perhaps"],  # not a boolean
            ["Extra", "extra@example.com", "no", "surplus"],  # more cells than columns
            [],
            ["Good Too", "good2@example.com", "no"],
        ],
    )
    run = await bigin(emulator, "import", "Contacts", str(source), "--dry-run")
    assert run.code == 1, run.err
    assert emulator.counters.requests_by_route == {"GET /bigin/v2/settings/fields": 1}
    assert emulator.counters.credits == 1
    assert [dict(record) for record in emulator.store.table("Contacts")] == before
    assert not (tmp_path / "in.results.csv").exists()
    out = run.out
    assert "nothing was sent" in out and "an insert into Contacts" in out and "via calls" in out
    assert "6 rows read: 2 would be sent, 4 refused" in out
    assert "row 2, line 3: required field Last_Name is missing" in out
    assert "row 3, line 4: Email: 'not an email' is not an email address" in out
    assert "row 4, line 5: Email_Opt_Out: 'perhaps' is not true or false" in out
    assert "row 5, line 6: the row has 1 more cell(s)" in out
    sample = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert sample == [
        {"Last_Name": "Good", "Email": "good@example.com", "Email_Opt_Out": True},
        {"Last_Name": "Good Too", "Email": "good2@example.com", "Email_Opt_Out": False},
    ]


async def test_a_dry_run_of_a_clean_upsert_exits_0_and_names_its_unique_field(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(
        tmp_path / "p.csv",
        [["Last_Name", "Email"], ["A", "a@example.com"], ["B", ""], ["", "c@example.com"]],
    )
    run = await bigin(emulator, "import", "Contacts", str(source), "--unique", "Email", "--dry-run")
    assert run.code == 0, run.out + run.err
    assert (
        "an upsert into Contacts on Email" in run.out and "3 rows read: 3 would be sent, 0 refused" in run.out
    )
    # Row 2 has no Email: the upsert inserts it (it has a Last_Name); row 3 may update a record.
    assert "1 row with no Email" in run.out and "inserted as a new record" in run.out
    assert writes(emulator) == {} and emulator.counters.requests_total == 1
    keyless = write_csv(tmp_path / "k.csv", [["Last_Name", "Email", "Phone"], ["", "", "555"]])
    refused = await bigin(emulator, "import", "Contacts", str(keyless), "--unique", "Email", "--dry-run")
    assert refused.code == 1 and "Last_Name is missing" in refused.out and "no Email either" in refused.out
    no_column = write_csv(tmp_path / "n.csv", [["Last_Name"], ["A"]])
    unusable = await bigin(emulator, "import", "Contacts", str(no_column), "--unique", "Email", "--dry-run")
    assert unusable.code == 2 and "no column of the file provides 'Email'" in " ".join(unusable.err.split())
    assert writes(emulator) == {}


async def test_a_dry_run_checks_cell_types_against_the_fields(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(
        tmp_path / "products.csv",
        [["Product_Name", "Unit_Price"], ["Widget", "12.50"], ["Gadget", "twelve"], ["Gizmo", "7"]],
    )
    run = await bigin(emulator, "import", "Products", str(source), "--dry-run")
    assert run.code == 1
    assert "row 2, line 3: Unit_Price: 'twelve' is not a number" in run.out
    assert '{"Product_Name": "Widget", "Unit_Price": 12.5}' in run.out
    # What the dry run refused, the import is refused by Bigin for: the same row, nothing else.
    real = await bigin(emulator, "import", "Products", str(source))
    assert real.code == 1
    assert [(r["row"], r["status"], r["code"]) for r in read_results(tmp_path / "products.results.csv")] == [
        ("1", "success", "SUCCESS"),
        ("2", "error", "INVALID_DATA"),
        ("3", "success", "SUCCESS"),
    ]


# --- 3. counts that mean one thing; the bar and the table agree --------------------------------------


def _report(**counts: int) -> ImportReport:
    """A finished import's report with outcomes as given: ``new_insert`` rows inserted now, ..."""
    result = BulkResult(kept=False)
    index = 0
    for key, count in counts.items():
        journal, _, kind = key.partition("_")
        for _ in range(count):
            status = {"insert": "success", "update": "success", "error": "error", "unknown": "unknown"}[kind]
            action = kind if kind in ("insert", "update") else "insert"
            result.record(RecordOutcome(index, status, action, from_journal=journal == "old"))  # type: ignore[arg-type]
            index += 1
    report = ImportReport(result, result.total, 12.5, Path("people.results.csv"), journal="people.journal")
    for outcome_key, count in counts.items():
        journal, _, kind = outcome_key.partition("_")
        if journal == "new":
            report.now[{"insert": "success", "update": "success"}.get(kind, kind)] += count
            if kind in ("insert", "update"):
                report.done_now[kind] += count
    report.mode, report.module, report.unique = "upsert", "Contacts", ["Email"]
    report.route = ImportRoute("jobs", "auto: 1,234,567 rows (jobs above 5,000)")
    return report


def test_the_summary_fits_80_columns_and_keeps_this_run_apart_from_the_journal() -> None:
    report = _report(old_insert=1_000_000, new_insert=200_000, new_update=34_567, new_error=3, new_unknown=2)
    report.failed_codes.update({"INVALID_DATA": 2, "DUPLICATE_DATA": 1})
    out = io.StringIO()
    print_import(Console(file=out, width=80), report)
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    assert [cell.strip() for cell in header.strip("┃").split("┃")] == [
        "rows",
        "this run",
        "skipped (journal)",
        "total",
    ]
    rows = {
        cells[0]: cells[1:]
        for cells in (
            [c.strip() for c in line.strip("│").split("│")]
            for line in text.splitlines()
            if line.startswith("│")
        )
    }
    assert rows["inserted"] == ["200,000", "1,000,000", "1,200,000"]
    assert rows["updated"] == ["34,567", "0", "34,567"]
    assert rows["failed"] == ["3", "0", "3"] and rows["unknown"] == ["2", "0", "2"]
    assert rows["all"] == ["234,572", "1,000,000", "1,234,572"]
    assert "failed by code: INVALID_DATA 2, DUPLICATE_DATA 1" in text
    assert f"this run: 234,572 rows in 12.5 s ({format_rate(234_572, 12.5)})" in text
    assert "an upsert into Contacts on Email" in text and "--retry-unknown" in " ".join(text.split())


async def test_the_summary_of_a_real_run_at_80_columns_counts_failures_by_code(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(
        tmp_path / "in.csv",
        [
            ["Last_Name", "Email"],
            ["A", "a@example.com"],
            ["B", "bad"],
            ["C", "also bad"],
            ["", "d@example.com"],
        ],
    )
    run = await bigin_at(emulator, 80, "import", "Contacts", str(source))
    assert run.code == 1
    assert max(len(line) for line in run.out.splitlines()) <= 80, run.out
    assert "failed by code: INVALID_DATA 2, MANDATORY_NOT_FOUND 1" in run.out
    one = write_csv(tmp_path / "one.csv", [["Last_Name", "Email"], ["One", "one@example.com"]])
    single = await bigin_at(emulator, 80, "import", "Contacts", str(one))
    assert single.code == 0
    assert "this run: 1 row in" in single.out and "auto: 1 row (jobs above" in single.out
    assert "1 rows" not in single.out


async def test_the_bar_ends_on_the_tables_rate_without_the_journals_rows(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    rows = [[f"N{i}", f"n{i}@example.com"] for i in range(250)]
    journal = str(tmp_path / "c.journal")
    first = write_csv(tmp_path / "first.csv", [["Last_Name", "Email"], *rows[:150]])
    assert (
        await bigin(emulator, "import", "Contacts", str(first), "--unique", "Email", "--journal", journal)
    ).code == 0
    source = write_csv(tmp_path / "all.csv", [["Last_Name", "Email"], *rows])
    options = ImportOptions(
        module="Contacts", path=source, fmt="csv", mode="upsert", unique=["Email"], journal=journal
    )
    options.mapping = ColumnMap()
    view = ProgressView(Console(file=io.StringIO(), width=120, force_terminal=True), enabled=True)
    with view:
        async with emulator.client() as client:
            report = await run_import(client, options, view)
    assert report.skipped == 150 and report.this_run == 100
    [task] = view._progress.tasks
    assert task.fields["handled"] == 100  # the journal's 150 are no work of this run
    table = io.StringIO()
    print_import(Console(file=table, width=80), report)
    shown = RateColumn().render(task).plain
    assert shown == format_rate(100, report.elapsed)
    assert f"({shown})" in table.getvalue()


def test_the_bars_live_rate_counts_only_the_rows_this_run_handled() -> None:
    view = ProgressView(Console(file=io.StringIO()), enabled=False)
    bar = view.bulk_task("upsert Contacts via calls", 250)
    bar(BulkProgress(processed=250, succeeded=250, skipped=150))
    [task] = view._progress.tasks
    assert (task.completed, task.fields["handled"]) == (250, 100)
    bar.finish(100, 4.0)
    assert bar.rate == RateColumn().render(task).plain == "25 rec/s"


# --- 6. the results file the help names; the separator read off the header ----------------------------


def _help(command: str) -> str:
    """``bigin COMMAND --help`` as printed, its lines joined (argparse wraps them)."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(commands.choices[command].format_help().split())


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
async def test_the_results_file_the_help_names_is_the_one_written(tmp_path: Path, suffix: str) -> None:
    text = _help("import")
    found = re.search(r"default: (\w+)\.results\.csv next to FILE, for FILE \1\.csv or \1\.jsonl", text)
    assert found, text
    name = found.group(1)
    source = tmp_path / f"people{suffix}"
    if suffix == ".csv":
        write_csv(source, PEOPLE)
    else:
        source.write_text('{"Last_Name": "J", "Email": "j@example.com"}\n', encoding="utf-8")
    run = await bigin(BiginEmulator(), "import", "Contacts", str(source))
    assert run.code == 0, run.err
    # The help's NAME is the file's name without its extension: people.csv -> people.results.csv.
    assert name == "NAME"
    written = sorted(p.name for p in tmp_path.iterdir() if p != source)
    assert written == [f"{source.stem}.results.csv"]
    assert f"results: {tmp_path / 'people.results.csv'}" in run.out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('Last_Name;Email;Mailing_City\nMüller;m@example.com;"Berlin, Mitte"\n', ("Müller", "Berlin, Mitte")),
        ("Last_Name\tEmail\tMailing_City\nTab;Person\tt@example.com\tParis\n", ("Tab;Person", "Paris")),
        ("Last_Name|Email|Mailing_City\nPipe, Jr.\tx|p@example.com|Lyon\n", ("Pipe, Jr.\tx", "Lyon")),
        (
            '"Last_Name";"Email";"Mailing_City"\n"Quoted; Name";"q@example.com";"A, B"\n',
            ("Quoted; Name", "A, B"),
        ),
    ],
    ids=["semicolon-with-quoted-comma", "tab", "pipe", "all-quoted-semicolon"],
)
async def test_the_separator_is_sniffed_from_the_header(
    tmp_path: Path, text: str, expected: tuple[str, str]
) -> None:
    emulator = BiginEmulator()
    source = tmp_path / "in.csv"
    source.write_text(text, encoding="utf-8")
    run = await bigin(emulator, "import", "Contacts", str(source))
    assert run.code == 0, run.err
    [stored] = emulator.store.table("Contacts")
    assert (stored["Last_Name"], stored["Mailing_City"]) == expected


async def test_a_one_column_file_is_one_column_and_an_ambiguous_header_names_delimiter(
    tmp_path: Path,
) -> None:
    emulator = BiginEmulator()
    single = tmp_path / "names.csv"
    single.write_text("Last_Name\nSolo; Han\n", encoding="utf-8")
    alone = await bigin(emulator, "import", "Contacts", str(single))
    assert alone.code == 0, alone.err
    assert [r["Last_Name"] for r in emulator.store.table("Contacts")] == ["Solo; Han"]
    ambiguous = tmp_path / "mixed.csv"
    ambiguous.write_text("Last_Name;Email,Phone\nA;a@example.com,1\n", encoding="utf-8")
    before = emulator.counters.requests_total
    refused = await bigin(emulator, "import", "Contacts", str(ambiguous))
    assert refused.code == 2
    err = " ".join(refused.err.split())
    assert "cannot tell its separator" in err and "--delimiter" in err
    assert emulator.counters.requests_total == before  # the refusal came before any call


def test_the_help_documents_the_new_flags() -> None:
    text = _help("import")
    for flag in ("--dry-run", "--retry-unknown", "--only-rows FILE", "--delimiter CHAR"):
        assert flag in text
    assert "'row' column" in text and "one row number per line" in text
