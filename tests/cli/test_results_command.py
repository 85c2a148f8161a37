"""Recovering what is unknown (issue 14, item 2): ``bigin import --retry-unknown`` re-sends just the
rows whose answer was lost, as an upsert, and leaves a results file with every row's final fate
(the old one intact if the retry dies); ``--only-rows FILE`` re-sends the rows a list names;
``bigin results FILE`` summarises a results file."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import anyio
import httpx
import pytest

from bigin_async.cli import main
from bigin_async.cli.results import merge_results, read_row_numbers, summarise_results
from bigin_emulator import BiginEmulator
from bigin_emulator.server.faults import FaultPlan
from tests.helpers.cli import bigin, contact_emails, import_losing_answers, read_results, write_csv
from tests.helpers.lost_answers import LoseAnswers

ROWS = [[f"N{i}", f"n{i}@example.com"] for i in range(250)]


def people(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "people.csv", [["Last_Name", "Email"], *ROWS])


async def lost_first_batch(emulator: BiginEmulator, source: Path) -> list[dict[str, str]]:
    """An import whose first call's answer is lost: its 100 inserts end ``unknown`` (they are in Bigin)."""
    run = await import_losing_answers(emulator, source)
    assert run.code == 1, run.err
    assert "--retry-unknown" in " ".join(run.out.split())
    results = read_results(source.with_name("people.results.csv"))
    assert Counter(r["status"] for r in results) == {"success": 150, "unknown": 100}
    return results


async def test_retry_unknown_sends_only_the_unknown_rows_and_each_record_is_there_once(
    tmp_path: Path,
) -> None:
    emulator = BiginEmulator()
    source = people(tmp_path)
    before = await lost_first_batch(emulator, source)
    assert len(emulator.store.table("Contacts")) == 250  # the lost batch was applied
    calls = dict(emulator.counters.requests_by_route)
    retry = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert retry.code == 0, retry.out + retry.err
    # One metadata read and one upsert of the 100 unknown rows: nothing else was sent.
    assert emulator.counters.requests_by_route["POST /bigin/v2/Contacts/upsert"] == 1
    assert emulator.counters.requests_by_route["POST /bigin/v2/Contacts"] == calls["POST /bigin/v2/Contacts"]
    assert set(contact_emails(emulator).values()) == {1} and len(contact_emails(emulator)) == 250
    after = read_results(source.with_name("people.results.csv"))
    assert [r["row"] for r in after] == [str(i) for i in range(1, 251)]
    assert not [r for r in after if r["status"] != "success"]
    assert all(
        r["action"] == "update" and r["key"] == f"Email=n{int(r['row']) - 1}@example.com" for r in after[:100]
    )
    assert after[100:] == before[100:]  # the rows that were known are kept as they were
    out = " ".join(retry.out.split())
    assert "an upsert into Contacts on Email" in out and "100 rows" in out
    assert "the results file now: 250 rows, success 250, error 0, unknown 0" in out
    # Nothing unknown is left: a second retry sends nothing (not even the metadata call).
    requests = emulator.counters.requests_total
    again = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert again.code == 0 and "none, so nothing was sent" in again.out
    assert emulator.counters.requests_total == requests


async def test_retry_unknown_after_the_emulators_own_lost_answers(tmp_path: Path) -> None:
    """The emulator's fault injection loses answers after the write, on inserts and upserts alike."""
    emulator = BiginEmulator(
        faults=FaultPlan(
            seed=3, drop_after=0.3, methods=frozenset({"POST"}), path_prefix="/bigin/v2/Contacts"
        )
    )
    source = write_csv(
        tmp_path / "people.csv",
        [["Last_Name", "Email"], *ROWS, *[[f"M{i}", f"m{i}@example.com"] for i in range(750)]],
    )
    first = await bigin(emulator, "import", "Contacts", str(source))
    assert first.code == 1
    unknown = [r for r in read_results(tmp_path / "people.results.csv") if r["status"] == "unknown"]
    assert unknown and emulator.counters.faults_injected.get("drop_after", 0) >= 1
    retry = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert retry.code == 0, retry.out + retry.err
    stored = contact_emails(emulator)
    assert len(stored) == 1000 and set(stored.values()) == {1}  # every row once: none lost, none doubled
    final = read_results(tmp_path / "people.results.csv")
    assert len(final) == 1000 and {r["status"] for r in final} == {"success"}


class _CancelOnUpsert(httpx.AsyncBaseTransport):
    """Lets the upsert reach the server, then cancels the run before its answer is read (Ctrl-C)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, scope: anyio.CancelScope) -> None:
        self.inner, self.scope = inner, scope

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/upsert"):
            self.scope.cancel()
            await anyio.lowlevel.checkpoint()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_an_interrupted_retry_leaves_the_old_results_file_as_it_was(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = people(tmp_path)
    await lost_first_batch(emulator, source)
    results = tmp_path / "people.results.csv"
    old = results.read_bytes()
    with anyio.CancelScope() as scope:
        await bigin(
            emulator,
            "import",
            "Contacts",
            str(source),
            "--retry-unknown",
            transport=_CancelOnUpsert(emulator.transport(), scope),
        )
    assert scope.cancelled_caught
    assert emulator.counters.requests_by_route["POST /bigin/v2/Contacts/upsert"] == 1  # it was sent
    assert results.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv", "people.results.csv"]  # no leftovers
    # The upsert is safe to send again: the next retry finishes the job, each record once.
    retry = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert retry.code == 0, retry.err
    assert {r["status"] for r in read_results(results)} == {"success"}
    assert len(contact_emails(emulator)) == 250 and set(contact_emails(emulator).values()) == {1}


def test_a_results_file_is_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = write_csv(
        tmp_path / "r.csv",
        [
            ["row", "line", "status", "action", "id", "code", "message", "details", "key"],
            ["1", "2", "success", "insert", "11", "SUCCESS", "", "", ""],
            ["2", "3", "unknown", "insert", "", "UNKNOWN_FATE", "lost", "", ""],
            ["4", "5", "success", "insert", "44", "SUCCESS", "", "", ""],
        ],
    )
    new = write_csv(
        tmp_path / "n.csv",
        [
            ["row", "line", "status", "action", "id", "code", "message", "details", "key"],
            ["2", "3", "success", "update", "22", "SUCCESS", "", "", ""],
            ["3", "4", "success", "insert", "33", "SUCCESS", "", "", ""],
        ],
    )
    before = old.read_bytes()

    def crash(source: str, target: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        merge_results(old, new, old)
    assert old.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["n.csv", "r.csv"]
    monkeypatch.undo()
    merge_results(old, new, old)
    assert [(r["row"], r["status"], r["id"]) for r in read_results(old)] == [
        ("1", "success", "11"),
        ("2", "success", "22"),
        ("3", "success", "33"),
        ("4", "success", "44"),
    ]


async def test_retry_unknown_needs_a_unique_field_and_a_results_file(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    tasks = write_csv(tmp_path / "tasks.csv", [["Subject"], ["Call"]])
    no_field = await bigin(emulator, "import", "Tasks", str(tasks), "--retry-unknown")
    assert no_field.code == 2 and "pass --unique FIELD" in " ".join(no_field.err.split())
    no_results = await bigin(emulator, "import", "Contacts", str(people(tmp_path)), "--retry-unknown")
    assert no_results.code == 2 and "people.results.csv" in no_results.err and "--results" in no_results.err
    as_create = await bigin(
        emulator, "import", "Contacts", str(people(tmp_path)), "--retry-unknown", "--mode", "create"
    )
    assert as_create.code == 2 and "as an upsert" in " ".join(as_create.err.split())
    journal = await bigin(
        emulator,
        "import",
        "Contacts",
        str(people(tmp_path)),
        "--retry-unknown",
        "--journal",
        str(tmp_path / "j"),
    )
    assert journal.code == 2 and "without --journal" in journal.err
    assert emulator.counters.requests_total == 0


async def test_only_rows_resends_the_rows_a_filtered_results_file_or_a_list_names(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(
        tmp_path / "people.csv",
        [
            ["Last_Name", "Email"],
            ["A", "a@example.com"],
            ["B", "bad"],
            ["C", "c@example.com"],
            ["D", "also bad"],
        ],
    )
    first = await bigin(emulator, "import", "Contacts", str(source), "--unique", "Email")
    assert first.code == 1
    results = tmp_path / "people.results.csv"
    failed = [r for r in read_results(results) if r["status"] == "error"]
    assert [r["row"] for r in failed] == ["2", "4"]
    # The user keeps the error lines of the results file, and fixes the input.
    errors = write_csv(tmp_path / "errors.csv", [list(failed[0]), *[list(r.values()) for r in failed]])
    write_csv(
        source,
        [
            ["Last_Name", "Email"],
            ["A", "a@example.com"],
            ["B", "b@example.com"],
            ["C", "c@example.com"],
            ["D", "d@x.example"],
        ],
    )
    calls = emulator.counters.requests_by_route["POST /bigin/v2/Contacts/upsert"]
    fixed = await bigin(
        emulator, "import", "Contacts", str(source), "--unique", "Email", "--only-rows", str(errors)
    )
    assert fixed.code == 0, fixed.out + fixed.err
    assert emulator.counters.requests_by_route["POST /bigin/v2/Contacts/upsert"] == calls + 1
    assert [(r["row"], r["status"]) for r in read_results(results)] == [
        ("1", "success"),
        ("2", "success"),
        ("3", "success"),
        ("4", "success"),
    ]
    assert sorted(r["Email"] for r in emulator.store.table("Contacts")) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@x.example",
    ]
    numbers = tmp_path / "rows.txt"
    numbers.write_text("3\n\n1\n", encoding="utf-8")
    assert read_row_numbers(numbers) == {1, 3}
    listed = await bigin(
        emulator, "import", "Contacts", str(source), "--unique", "Email", "--only-rows", str(numbers)
    )
    assert listed.code == 0 and "2 rows" in listed.out
    numbers.write_text("3\nnine\n", encoding="utf-8")
    bad = await bigin(
        emulator, "import", "Contacts", str(source), "--unique", "Email", "--only-rows", str(numbers)
    )
    assert bad.code == 2 and "line 2" in bad.err and "'nine'" in bad.err
    numbers.write_text("3\n99\n", encoding="utf-8")
    beyond = await bigin(
        emulator, "import", "Contacts", str(source), "--unique", "Email", "--only-rows", str(numbers)
    )
    assert beyond.code == 2 and "99" in beyond.err and "4 rows" in beyond.err


def test_bigin_results_summarises_by_status_action_and_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["row", "line", "status", "action", "id", "code", "message", "details", "key"]
    mixed = write_csv(
        tmp_path / "mixed.results.csv",
        [
            header,
            ["1", "2", "success", "insert", "1", "SUCCESS", "", "", ""],
            ["2", "3", "error", "insert", "", "DUPLICATE_DATA", "dup", "", ""],
            ["3", "4", "error", "insert", "", "INVALID_DATA", "bad", "", ""],
            ["4", "5", "success", "update", "4", "SUCCESS", "", "", ""],
            ["5", "6", "error", "insert", "", "INVALID_DATA", "bad", "", ""],
            ["6", "7", "unknown", "insert", "", "UNKNOWN_FATE", "lost", "", ""],
            ["7", "8", "error", "insert", "", "INVALID_DATA", "bad", "", ""],
        ],
    )
    assert main(["results", str(mixed)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "7 rows" in out and "by status: success 2, error 4, unknown 1" in out
    assert "by action: insert 1, update 1" in out
    assert "failed by code: INVALID_DATA 3, DUPLICATE_DATA 1" in out
    assert "unknown: 1 row may or may not be in Bigin" in out and "--retry-unknown" in out
    clean = write_csv(
        tmp_path / "clean.results.csv", [header, ["1", "2", "success", "insert", "1", "SUCCESS", "", "", ""]]
    )
    assert main(["results", str(clean)]) == 0
    out = capsys.readouterr().out
    assert "1 row\n" in out and "failed by code" not in out and "unknown:" not in out
    assert summarise_results(clean).ok


def test_bigin_results_refuses_what_is_not_a_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people_file = write_csv(tmp_path / "people.csv", [["Last_Name", "Email"], ["A", "a@example.com"]])
    assert main(["results", str(people_file)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "is not a results file of bigin import" in err and "row,line,status" in err
    assert main(["results", str(tmp_path / "missing.csv")]) == 2
    assert "no such results file" in capsys.readouterr().err
    odd = write_csv(tmp_path / "odd.csv", [["row", "status"], ["1", "maybe"]])
    assert main(["results", str(odd)]) == 2
    assert "'maybe'" in capsys.readouterr().err
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["results", str(binary)]) == 2


async def test_the_results_of_a_real_import_read_back_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = BiginEmulator()
    source = people(tmp_path)
    await lost_first_batch(emulator, source)
    # main() runs its own event loop: off this one, in a thread.
    assert await anyio.to_thread.run_sync(main, ["results", str(tmp_path / "people.results.csv")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "by status: success 150, error 0, unknown 100" in out and "by action: insert 150" in out


async def test_retry_unknown_holds_back_rows_with_nothing_to_match_on(tmp_path: Path) -> None:
    """An unknown row without an Email would be inserted again by the upsert: a second record if
    the first one landed. It is not sent; its line stays unknown and the summary says why."""
    emulator = BiginEmulator()
    rows = [[f"N{i}", "" if i in (3, 7) else f"n{i}@example.com"] for i in range(10)]
    source = write_csv(tmp_path / "people.csv", [["Last_Name", "Email"], *rows])
    lost = await bigin(
        emulator,
        "import",
        "Contacts",
        str(source),
        transport=LoseAnswers(emulator.transport(), "POST", "/bigin/v2/Contacts"),
    )
    assert lost.code == 1 and len(emulator.store.table("Contacts")) == 10
    dry = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown", "--dry-run")
    assert dry.code == 1 and "8 rows read: 8 would be sent" in dry.out and "(row 4, 8)" in dry.out
    retry = await bigin(emulator, "import", "Contacts", str(source), "--retry-unknown")
    assert retry.code == 1
    out = " ".join(retry.out.split())
    assert "not sent again: 2 unknown rows with no Email to match on (row 4, 8)" in out
    results = read_results(tmp_path / "people.results.csv")
    assert [r["row"] for r in results if r["status"] == "unknown"] == ["4", "8"]
    assert len(emulator.store.table("Contacts")) == 10  # nothing doubled
    stored = Counter(record.get("Email") for record in emulator.store.table("Contacts"))
    assert stored[None] == 2 and len(stored) == 9 and all(n == 1 for email, n in stored.items() if email)
