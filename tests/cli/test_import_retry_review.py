"""Review of ``bigin import --retry-unknown`` / ``--only-rows`` / ``--dry-run`` and the CSV checks
(issue 14, items 1, 2 and 6), as an adversary: no record lost or doubled whatever fails and
whenever the process dies, and bad input refused with a clear error before anything is sent.

Each test names the defect it was written for."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import anyio
import httpx
import pytest

from bigin_emulator import BiginEmulator
from bigin_emulator.server.faults import ServerLimits
from bigin_emulator.server.serving import serve
from tests.helpers.cli import (
    bigin,
    contact_emails,
    import_losing_answers,
    process_argv,
    read_results,
    write_csv,
)
from tests.helpers.crash import ArrivalTrap, kill_when_reached

HEADER = ["row", "line", "status", "action", "id", "code", "message", "details", "key"]
UPSERT = "POST /bigin/v2/Contacts/upsert"


def people(path: Path, count: int) -> Path:
    return write_csv(path, [["Last_Name", "Email"], *[[f"N{i}", f"n{i}@example.com"] for i in range(count)]])


def sent(emulator: BiginEmulator) -> int:
    """The calls that sent records (anything but reads)."""
    return sum(n for route, n in emulator.counters.requests_by_route.items() if not route.startswith("GET"))


async def lose_first_calls(emulator: BiginEmulator, source: Path, calls: int) -> None:
    """A plain import whose first ``calls`` answers are lost: those rows end ``unknown`` (in Bigin)."""
    run = await import_losing_answers(emulator, source, calls)
    assert run.code == 1, run.err


def flat(text: str) -> str:
    return " ".join(text.split())


# --- the input file changed since its results file was written ---------------------------------------


async def test_a_retry_refuses_an_input_whose_rows_moved_since_the_results_file(tmp_path: Path) -> None:
    """Defect: ``--retry-unknown`` picked rows by number only. After the input was re-sorted, row 1
    was another person: the retry upserted the wrong rows (never the unknown ones: lost if their
    insert had not landed) and the results file then called them done, keys contradicting it."""
    emulator = BiginEmulator()
    source = people(tmp_path / "people.csv", 150)
    await lose_first_calls(emulator, source, 1)
    results = tmp_path / "people.results.csv"
    before = results.read_bytes()
    rows = [[f"N{i}", f"n{i}@example.com"] for i in range(150)]
    write_csv(source, [["Last_Name", "Email"], *reversed(rows)])
    calls = sent(emulator)
    retry = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert retry.code == 2, retry.out
    err = flat(retry.err)
    assert "people.csv changed since people.results.csv was written" in err
    assert "row 1 is Email=n149@example.com, was Email=n0@example.com" in err
    assert sent(emulator) == calls and results.read_bytes() == before  # nothing sent, nothing rewritten


async def test_only_rows_with_a_results_file_checks_each_rows_key_too(tmp_path: Path) -> None:
    """Defect: ``--only-rows`` with a (filtered) results file of another input re-sent whatever
    stood at those row numbers (here an upsert: another person's row written again, the row
    meant never sent); the file's ``key`` column says which record each row was. (A failed row
    may have been fixed, its key with it: that one is sent as it is now.)"""
    emulator = BiginEmulator()
    source = people(tmp_path / "people.csv", 3)
    listing = write_csv(
        tmp_path / "pick.csv",
        [
            HEADER,
            ["1", "2", "error", "insert", "", "INVALID_DATA", "", "", "Email=fixed-since"],
            ["2", "3", "success", "insert", "7", "SUCCESS", "", "", "Email=zz@x.io"],
        ],
    )
    run = await bigin(
        emulator, "import", "Contacts", str(source), "--only-rows", str(listing), "--unique", "Email"
    )
    assert run.code == 2, run.out
    err = flat(run.err)
    assert "row 2 is Email=n1@example.com, was Email=zz@x.io" in err and "row 1 " not in err
    assert sent(emulator) == 0


# --- hostile results files ----------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["²", "0", "٣", " 1x"])
async def test_a_row_number_that_is_no_row_number_is_a_usage_error(tmp_path: Path, number: str) -> None:
    """Defect: ``row`` was checked with ``str.isdigit``: ``²`` passed and crashed ``int()`` with a
    traceback, and row ``0`` was taken (a row no input has), the retry reporting it sent."""
    emulator = BiginEmulator()
    source = people(tmp_path / "people.csv", 2)
    write_csv(
        tmp_path / "people.results.csv", [HEADER, [number, "2", "unknown", "insert", "", "", "", "", ""]]
    )
    run = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert run.code == 2, run.out
    assert "not a results line" in flat(run.err)
    assert emulator.counters.requests_total == 0


async def test_only_rows_refuses_a_broken_results_file_before_sending(tmp_path: Path) -> None:
    """Defect: ``--only-rows LIST`` merged the new outcomes into the existing results file only
    after sending; a line of it that was not a results line crashed the merge (``ValueError``
    traceback): the record was in Bigin and its outcome thrown away with the temporary file."""
    emulator = BiginEmulator()
    source = people(tmp_path / "people.csv", 2)
    results = write_csv(
        tmp_path / "people.results.csv", [HEADER, ["abc", "2", "success", "", "", "", "", "", ""]]
    )
    before = results.read_bytes()
    numbers = tmp_path / "rows.txt"
    numbers.write_text("1\n", encoding="utf-8")
    run = await bigin(
        emulator, "import", "Contacts", str(source), "--only-rows", str(numbers), "--unique", "Email"
    )
    assert run.code == 2, run.out
    assert "people.results.csv" in run.err and "not a results line" in flat(run.err)
    assert sent(emulator) == 0 and results.read_bytes() == before


# --- a results file cut short: the import died before writing every row -------------------------------


async def test_retry_unknown_sends_the_rows_a_killed_import_never_reported(tmp_path: Path) -> None:
    """Defect: an import killed mid-way (no journal) leaves a results file cut short, its last line
    torn (it is written through a buffer). ``--retry-unknown`` then failed on the torn line, and
    the rows after it (in flight or never sent: their fate unknown) were not retried at all."""
    emulator = BiginEmulator()
    source = people(tmp_path / "people.csv", 250)
    first = await bigin(emulator, "import", "Contacts", str(source))
    assert first.code == 0
    results = tmp_path / "people.results.csv"
    # The process "died" after the server stored all 250 and it wrote 120 lines and half of one.
    text = results.read_text(encoding="utf-8").splitlines(keepends=True)
    results.write_text("".join(text[:121]) + text[121][:9], encoding="utf-8")
    retry = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert retry.code == 0, retry.out + retry.err
    assert "130 rows" in flat(retry.out)
    stored = contact_emails(emulator)
    assert len(stored) == 250 and set(stored.values()) == {1}
    final = read_results(results)
    assert [r["row"] for r in final] == [str(i) for i in range(1, 251)]
    assert {r["status"] for r in final} == {"success"}


# --- two unknown rows with the same unique value --------------------------------------------------------


async def test_two_unknown_rows_with_the_same_email_are_not_both_called_done(tmp_path: Path) -> None:
    """Defect: two unknown rows with the same Email were both upserted: one record, the second
    row's data over the first's, and the results said both rows were done (``update``, same id)
    while the first row's data is nowhere in Bigin."""
    emulator = BiginEmulator()
    source = write_csv(
        tmp_path / "p.csv",
        [["Last_Name", "Email"], ["A", "same@x.io"], ["B", "same@x.io"], ["C", "c@x.io"]],
    )
    await lose_first_calls(emulator, source, 1)
    retry = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert retry.code == 1, retry.out
    out = flat(retry.out)
    assert "row 2 has the same Email as row 1" in out
    final = {r["row"]: r for r in read_results(tmp_path / "p.results.csv")}
    assert (final["1"]["status"], final["2"]["status"], final["3"]["status"]) == (
        "success",
        "unknown",
        "success",
    )
    assert sorted(contact_emails(emulator).items()) == [("c@x.io", 1), ("same@x.io", 1)]
    [same] = [r for r in emulator.store.table("Contacts") if r["Email"] == "same@x.io"]
    assert same["Last_Name"] == "A"  # the row the results call done is the one in Bigin


# --- SIGKILL of a real retry process ---------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # uvicorn serves the emulator to the child process


def _child(source: Path, url: str) -> list[str]:
    return process_argv(
        "import", "Contacts", str(source), "--retry-unknown", "--max-concurrency", "1", emulator_url=url
    )


def _env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("BIGIN_")}


async def test_a_killed_retry_leaves_the_old_results_and_a_second_retry_ends_clean(tmp_path: Path) -> None:
    """Defect: a ``--retry-unknown`` process SIGKILLed mid-way left its temporary results file
    (``.people.results.csv.*.new``) behind, one more per kill, and nothing ever removed them.
    The rest held: the old results file is untouched, the upserts are safe to send again."""
    emulator = BiginEmulator(limits=ServerLimits(latency=0.02))
    source = people(tmp_path / "people.csv", 400)
    await lose_first_calls(emulator, source, 3)
    results = tmp_path / "people.results.csv"
    assert Counter(r["status"] for r in read_results(results)) == {"unknown": 300, "success": 100}
    before = results.read_bytes()
    trap = ArrivalTrap(emulator.app, 2, lambda scope: str(scope["path"]).endswith("/upsert"))
    async with serve(trap, port=0) as url:
        process = await anyio.open_process(
            _child(source, url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env()
        )
        async with process:
            await kill_when_reached(process, trap, limit=120)
            assert process.returncode is not None and process.returncode < 0, (
                "the retry ended before the kill"
            )
        assert emulator.counters.requests_by_route[UPSERT] >= 1
        assert results.read_bytes() == before  # never half-merged
        again = await anyio.run_process(_child(source, url), check=False, env=_env())
        assert again.returncode == 0, again.stdout.decode() + again.stderr.decode()
    stored = contact_emails(emulator)
    assert len(stored) == 400 and set(stored.values()) == {1}
    final = read_results(results)
    assert len(final) == 400 and {r["status"] for r in final} == {"success"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv", "people.results.csv"]


# --- the dry run checks what the real run checks -------------------------------------------------------


async def test_a_dry_run_via_jobs_refuses_what_a_job_cannot_carry(tmp_path: Path) -> None:
    """Defect: ``--dry-run --via jobs`` checked the rows as calls would: a Tag list (which a Bulk
    Write CSV cell cannot carry) was said to be sent, and the real run via jobs refused it."""
    source = write_csv(
        tmp_path / "t.csv", [["Last_Name", "Email", "Tag"], ["A", "a@x.io", ""], ["B", "b@x.io", "vip;new"]]
    )
    emulator = BiginEmulator()
    dry = await bigin(emulator, "import", "Contacts", str(source), "--dry-run", "--via", "jobs")
    real = await bigin(BiginEmulator(), "import", "Contacts", str(source), "--via", "jobs")
    failed = [r["row"] for r in read_results(tmp_path / "t.results.csv") if r["status"] != "success"]
    assert (real.code, failed) == (1, ["2"])
    assert dry.code == 1, dry.out
    out = flat(dry.out)
    assert "1 would be sent, 1 refused" in out and "row 2, line 3: field Tag" in out
    assert emulator.counters.requests_total == 1


# --- the separator ------------------------------------------------------------------------------------


async def test_an_explicit_delimiter_wins_over_the_header_check(tmp_path: Path) -> None:
    """Defect: ``--delimiter ';'`` on a file whose column names hold a comma (``Email, work``,
    mapped with ``--map``) was refused as "looks comma-separated": the flag did not win."""
    emulator = BiginEmulator()
    source = tmp_path / "h.csv"
    source.write_text("Last_Name;Email, work\nA;a@x.io\n", encoding="utf-8")
    run = await bigin(
        emulator, "import", "Contacts", str(source), "--delimiter", ";", "--map", "Email, work=Email"
    )
    assert run.code == 0, run.err
    assert [(r["Last_Name"], r["Email"]) for r in emulator.store.table("Contacts")] == [("A", "a@x.io")]


async def test_a_separator_inside_a_quoted_column_name_is_no_separator(tmp_path: Path) -> None:
    """Defect: a comma file whose quoted column name holds a pipe (``"Notes|old"``) was refused as
    "looks pipe-separated; pass --delimiter '|'" (advice that splits the header wrongly), instead
    of the column check naming the column Bigin does not have."""
    source = tmp_path / "q.csv"
    source.write_text('Last_Name,"Notes|old"\nA,x\n', encoding="utf-8")
    run = await bigin(BiginEmulator(), "import", "Contacts", str(source), "--map", "Notes|old=Description")
    assert run.code == 0, run.err


async def test_blank_lines_before_the_header_are_skipped(tmp_path: Path) -> None:
    """Defect: blank lines above the header: the separator was sniffed from the first non-blank
    line, but the header was read from the first line, so the file was called "empty"."""
    emulator = BiginEmulator()
    source = tmp_path / "b.csv"
    source.write_text("\n\nLast_Name;Email\nB;b@x.io\n", encoding="utf-8")
    run = await bigin(emulator, "import", "Contacts", str(source))
    assert run.code == 0, run.err
    assert [(r["Last_Name"], r["Email"]) for r in emulator.store.table("Contacts")] == [("B", "b@x.io")]
    assert read_results(tmp_path / "b.results.csv")[0]["line"] == "4"


async def test_a_dry_run_of_json_lines_refuses_a_tag_given_as_text(tmp_path: Path) -> None:
    """Defect: in a JSON-lines file ``"Tag": "vip"`` (text, not a list) passed ``--dry-run``, and
    the real run had it refused by Bigin (INVALID_DATA: a JSON array expected). A CSV cell is split
    into a list; a JSON line's value is sent as it is."""
    source = tmp_path / "t.jsonl"
    source.write_text(
        '{"Last_Name": "A", "Email": "a@x.io", "Tag": ["vip"]}\n'
        '{"Last_Name": "B", "Email": "b@x.io", "Tag": "vip"}\n',
        encoding="utf-8",
    )
    real = await bigin(BiginEmulator(), "import", "Contacts", str(source))
    failed = [r["row"] for r in read_results(tmp_path / "t.results.csv") if r["status"] != "success"]
    assert (real.code, failed) == (1, ["2"])
    dry = await bigin(BiginEmulator(), "import", "Contacts", str(source), "--dry-run")
    assert dry.code == 1 and "row 2, line 2: Tag: 'vip' is not a list of tags" in flat(dry.out)


@pytest.mark.parametrize("left", ["", "row,line,sta"], ids=["empty", "torn-header"])
async def test_retry_unknown_after_an_import_killed_before_its_first_line(tmp_path: Path, left: str) -> None:
    """Defect: the results file is written through a buffer, so an import killed in its first
    calls leaves it empty (or its header cut): ``--retry-unknown`` called it "not a results file",
    and the only way on was the whole import again, as inserts: the rows in flight twice."""
    emulator = BiginEmulator()
    source = people(tmp_path / "people.csv", 120)
    first = await bigin(emulator, "import", "Contacts", str(source))
    assert first.code == 0
    results = tmp_path / "people.results.csv"
    results.write_text(left, encoding="utf-8")
    retry = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert retry.code == 0, retry.out + retry.err
    stored = contact_emails(emulator)
    assert len(stored) == 120 and set(stored.values()) == {1}
    final = read_results(results)
    assert [r["row"] for r in final] == [str(i) for i in range(1, 121)]
    assert {(r["status"], r["action"]) for r in final} == {("success", "update")}


def test_the_results_file_is_written_a_line_at_a_time(tmp_path: Path) -> None:
    """Defect: the results file was block-buffered: a SIGKILL left its last line cut (or the whole
    file empty), dozens of rows' written outcomes lost with it."""
    from bigin_async.cli.importer import _open_results

    handle = _open_results(tmp_path / "r.csv")
    try:
        handle.write("row,line\r\n")
        assert (tmp_path / "r.csv").read_bytes() == b"row,line\r\n"
    finally:
        handle.close()


# --- the module check ------------------------------------------------------------------------------------


async def test_a_long_module_name_is_not_echoed_whole(tmp_path: Path) -> None:
    """Defect: a 100-character module name (the longest ``bigin`` sends; a paste gone wrong) was
    quoted whole in Bigin's refusal; the message names it cut short, and still costs one call."""
    emulator = BiginEmulator()
    source = people(tmp_path / "people.csv", 1)
    run = await bigin(emulator, "import", "Contacts" + "x" * 92, str(source))
    assert run.code == 2
    err = flat(run.err)
    assert "no module 'Contactsxxx" in err and "...' in this org" in err and "x" * 70 not in err
    assert emulator.counters.requests_total == 1 and sent(emulator) == 0


class _CustomModule(httpx.AsyncBaseTransport):
    """An org with a custom module ``Vendors__c``: served here by the emulator's Contacts."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        url = str(request.url).replace("Vendors__c", "Contacts")
        body = await request.aread()
        return await self.inner.handle_async_request(
            httpx.Request(request.method, url, headers=request.headers, content=body)
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_custom_module_the_sdk_does_not_know_is_sent_as_named(tmp_path: Path) -> None:
    """Guard (no defect found): a module name outside the SDK's table is not refused locally;
    Bigin, which knows the org's custom modules, decides."""
    emulator = BiginEmulator()
    transport = _CustomModule(emulator.transport())
    source = people(tmp_path / "people.csv", 1)
    run = await bigin(emulator, "import", "Vendors__c", str(source), "--unique", "Email", transport=transport)
    assert run.code == 0, run.err
    assert [url.split("/bigin/v2/")[1] for url in transport.urls if "/bigin/" in url] == [
        "settings/fields?module=Vendors__c",
        "Vendors__c/upsert",
    ]
    assert len(emulator.store.table("Contacts")) == 1


async def test_only_rows_refuses_to_insert_again_a_row_that_was_inserted(tmp_path: Path) -> None:
    """Defect: ``--only-rows people.results.csv`` (the results file not filtered, or filtered on the
    wrong column) re-sent rows it gives as inserted, as inserts again: a second record each."""
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "a.csv", [["Account_Name"], ["Acme"], ["Initech"]])
    first = await bigin(emulator, "import", "Accounts", str(source))
    assert first.code == 0
    results = tmp_path / "a.results.csv"
    again = await bigin(emulator, "import", "Accounts", str(source), "--only-rows", str(results))
    assert again.code == 2, again.out
    assert "lists row(s) 1, 2 that it gives as inserted" in flat(again.err)
    assert len(emulator.store.table("Accounts")) == 2


def test_a_results_line_whose_message_holds_a_carriage_return_reads_whole(tmp_path: Path) -> None:
    """Guard for the cut-last-line reading: a message cell holding a lone carriage return (quoted,
    as the csv module writes it) splits a physical line, and is not taken for a cut line."""
    from bigin_async.cli.results import pick_unknown

    path = tmp_path / "r.csv"
    path.write_bytes(
        b"row,line,status,action,id,code,message,details,key\r\n"
        b'1,2,error,insert,,INVALID_DATA,"bad\rvalue",,Email=a@x.io\r\n'
        b"2,3,unknown,insert,,,lost,,Email=b@x.io\r\n"
    )
    picked = pick_unknown(path)
    assert (picked.rows, picked.keys, picked.last, picked.torn) == (
        frozenset({2}),
        {2: "Email=b@x.io"},
        2,
        False,
    )
