"""Issue 14, ``bigin export``: ``-o -`` is JSON lines, an honest progress bar, one rate, ``--resume``.

The resume tests stop an export of 2,450 contacts part way (a failing answer, a cancellation, a
KeyboardInterrupt, a stop inside a Bulk Read job's rows), past record 2,000 where the walk goes by
page token and before it where it goes by page number, then run it again with ``--resume`` and
check that the file holds exactly the emulator's records, each once.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from rich.console import Console
from rich.progress import Progress

from bigin_async.bulk.jobs import ExportProgress
from bigin_async.cli import build_parser, main, run_command
from bigin_async.cli.exporter import (
    ExportOptions,
    RecordSink,
    partial_path,
    resume_hint,
    run_export,
    state_path,
)
from bigin_async.cli.progress import BarOrSpinnerColumn, ProgressView, RateColumn, format_rate
from bigin_emulator import BiginEmulator
from tests.helpers.cli import bigin, clear_bigin_variables
from tests.helpers.export_cli import LIST, StopAt, contact_ids, csv_ids, export, jsonl_ids
from tests.helpers.orgs import fresh, seeded_state

RECORDS = 2_450  # 13 pages of 200: pages 1-10 by number, 11-13 by page token


@pytest.fixture(scope="module")
def org() -> dict[str, Any]:
    """2,450 contacts, built once and imported into a fresh emulator per test."""
    return seeded_state(contacts=RECORDS)


def saved_state(output: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(state_path(output).read_text(encoding="utf-8"))
    return data


# -- 1. -o - is JSON lines on standard output ------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # uvicorn serves the emulator: asyncio only
async def test_dash_output_is_json_lines_on_stdout_and_nothing_else(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_bigin_variables(monkeypatch)
    emulator = BiginEmulator(seed_records=250)
    async with emulator.serve(port=0) as url:
        base = ["export", "Contacts", "--fields", "Email", "--emulator", url, "--no-progress", "-o", "-"]
        jsonl_code = await anyio.to_thread.run_sync(main, base)
        jsonl = capsys.readouterr()
        csv_code = await anyio.to_thread.run_sync(main, [*base, "--format", "csv"])
        as_csv = capsys.readouterr()
    assert (jsonl_code, csv_code) == (0, 0), jsonl.err + as_csv.err
    lines = jsonl.out.splitlines()
    records = [json.loads(line) for line in lines]  # every line of stdout is a record
    assert len(records) == 250 and {r["id"] for r in records} == contact_ids(emulator)
    assert all(set(record) >= {"id", "Email"} for record in records)
    assert "exported 250 records to standard output" in jsonl.err
    rows = list(csv.DictReader(io.StringIO(as_csv.out)))
    assert list(rows[0]) == ["id", "Email"] and len(rows) == 250
    assert "exported 250 records" in as_csv.err and "exported" not in as_csv.out


async def test_dash_output_cannot_be_resumed() -> None:
    run = await bigin(BiginEmulator(seed_records=3), "export", "Contacts", "-o", "-", "--resume")
    assert run.code == 2 and "standard output" in run.err and "cannot be resumed" in run.err
    assert run.out == ""


# -- 2. the bar: a real total when one is known, a spinner when not -----------------------------


def quiet_view() -> ProgressView:
    return ProgressView(Console(file=io.StringIO(), width=200), enabled=False)


def test_a_listing_without_a_total_spins_then_completes_at_its_count() -> None:
    view = quiet_view()
    update = view.count_task("export Contacts")
    update(400)
    assert view.bars == [("export Contacts", 400, None)]  # no total: the spinner, not a bar
    progress = Progress()
    unknown, known = progress.add_task("x", total=None, completed=400), progress.add_task("y", total=1000)
    tasks = {task.id: task for task in progress.tasks}
    shown = BarOrSpinnerColumn(bar_width=16).render(tasks[unknown])
    assert not hasattr(shown, "total") and str(shown).strip() != ""  # a spinner glyph, not a bar
    assert getattr(BarOrSpinnerColumn(bar_width=16).render(tasks[known]), "total", None) == 1000
    view.finish()
    assert view.bars == [("export Contacts", 400, 400)]


def test_max_records_is_an_upper_bound_the_bar_gives_up_at_the_end() -> None:
    view = quiet_view()
    update = view.count_task("export Contacts", 5_000)
    update(300)
    assert view.bars == [("export Contacts", 300, 5_000)]
    view.finish()
    assert view.bars == [("export Contacts", 300, 300)]


def test_a_bulk_read_job_gives_the_total_once_done_when_its_page_is_the_last() -> None:
    view = quiet_view()
    update = view.export_task("export Contacts via jobs")
    update(ExportProgress(phase="waiting", page=1, records=0, job_id="9", job_state="IN PROGRESS"))
    assert view.bars[0] == ("export Contacts via jobs", 0, None)
    update(ExportProgress(phase="downloading", page=1, records=0, job_id="9", page_records=1_500))
    assert view.bars[0] == ("export Contacts via jobs", 0, 1_500)
    update(ExportProgress(phase="reading", page=1, records=1_000, job_id="9", page_records=1_500))
    assert view.bars[0] == ("export Contacts via jobs", 1_000, 1_500)
    full = quiet_view()
    full_update = full.export_task("export Contacts via jobs")
    full_update(ExportProgress(phase="reading", page=1, records=5, job_id="9", page_records=200_000))
    assert full.bars[0] == ("export Contacts via jobs", 5, None)  # a full page may have more after it


async def test_an_export_bar_spins_during_the_walk_and_ends_complete_with_the_summary_rate(
    org: dict[str, Any], tmp_path: Path
) -> None:
    emulator = fresh(org)
    view = quiet_view()
    seen: list[list[tuple[str, float, float | None]]] = []

    class Watch(StopAt):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == LIST:
                seen.append(view.bars)
            return await self.inner.handle_async_request(request)

    options = ExportOptions("Contacts", str(tmp_path / "c.jsonl"), "jsonl", fields="Email", via="calls")
    async with emulator.client(transport=Watch(emulator, 0)) as client:
        with view:
            report = await run_export(client, options, view)
    assert [bars[0][2] for bars in seen] == [None] * 13  # no total while walking: a spinner
    assert [bars[0][1] for bars in seen] == [200 * n for n in range(13)]  # the running count
    assert view.bars == [("export Contacts", RECORDS, RECORDS)]
    shown = RateColumn().render(view._progress.tasks[0])  # what the bar prints
    assert str(shown) == format_rate(report.count, report.elapsed)  # the summary's one rate


# -- 3. --resume ------------------------------------------------------------------------------


@pytest.mark.parametrize(("stop_page", "fmt"), [(12, "jsonl"), (12, "csv"), (4, "jsonl")])
async def test_a_failed_export_resumes_to_every_record_once(
    org: dict[str, Any], tmp_path: Path, stop_page: int, fmt: str
) -> None:
    emulator = fresh(org)
    output = tmp_path / f"contacts.{fmt}"
    stopped = await export(emulator, output, "--via", "calls", transport=StopAt(emulator, stop_page))
    assert stopped.code == 1, stopped.err
    assert not output.exists() and partial_path(output).exists()
    state = saved_state(output)
    written = (stop_page - 1) * 200
    assert state["count"] == written and state["route"] == "pages"
    if stop_page > 11:  # past record 2,000: the walk goes on by page token
        assert state["position"]["page_token"] and state["position"]["records"] == written
    else:
        assert state["position"]["page"] == stop_page and state["position"]["page_token"] is None
    assert "--resume" in " ".join(stopped.err.split())
    with partial_path(output).open("ab") as handle:  # a line torn by a crash after the last state
        handle.write(b'{"id":"999999","Email":"tor' if fmt == "jsonl" else b"999999,tor")

    again = StopAt(emulator, 0)
    resumed = await export(emulator, output, "--via", "calls", "--resume", transport=again)
    assert resumed.code == 0, resumed.err
    ids = jsonl_ids(output) if fmt == "jsonl" else csv_ids(output)
    assert len(ids) == RECORDS and set(ids) == contact_ids(emulator)  # each once, none missing
    assert not partial_path(output).exists() and not state_path(output).exists()
    if stop_page > 11:  # by page token: only the pages not written before
        assert len(again.lists) == 13 - stop_page + 1 and "page_token" in again.lists[0]
    else:  # by page number, which records deleted or added since would shift: read again from page 1
        assert len(again.lists) == 13 and again.lists[0]["page"] == "1"
    if fmt == "csv":
        assert output.read_text(encoding="utf-8").count("id,Email") == 1  # one header row
    said = " ".join(resumed.out.split())
    assert f"exported {RECORDS - written:,} more records ({RECORDS:,} in all)" in said
    assert f"resumed after record {written:,}" in said


async def test_a_cancelled_export_keeps_its_part_and_resumes(org: dict[str, Any], tmp_path: Path) -> None:
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    args = build_parser().parse_args(
        ["export", "Contacts", "--fields", "Email", "-o", str(output), "--no-progress"]
    )
    with anyio.CancelScope() as scope:
        await run_command(
            args,
            connect=lambda _: emulator.client(transport=StopAt(emulator, 12, scope.cancel)),
            out=Console(file=io.StringIO()),
            err=Console(file=io.StringIO()),
        )
    assert scope.cancelled_caught
    state = saved_state(output)  # --via auto, 2,450 records: bulk_export read them through calls
    assert (state["count"], state["route"], state["position"]) == (2_200, "ids", None)
    assert state["last_id"] == jsonl_ids(partial_path(output))[-1] and not output.exists()
    assert (resume_hint(str(output)) or "").startswith(
        f"{partial_path(output)} holds the first 2,200 records"
    )
    resumed = await export(emulator, output, "--resume")
    assert resumed.code == 0, resumed.err
    ids = jsonl_ids(output)
    assert len(ids) == RECORDS and set(ids) == contact_ids(emulator)


def test_ctrl_c_keeps_the_part_and_its_state(org: dict[str, Any], tmp_path: Path) -> None:
    emulator = fresh(org)
    output = tmp_path / "contacts.csv"

    def interrupt() -> None:
        raise KeyboardInterrupt

    args = build_parser().parse_args(
        ["export", "Contacts", "--fields", "Email", "-o", str(output), "--via", "calls", "--no-progress"]
    )
    command = partial(
        run_command,
        args,
        connect=lambda _: emulator.client(transport=StopAt(emulator, 3, interrupt)),
        out=Console(file=io.StringIO()),
        err=Console(file=io.StringIO()),
    )
    with pytest.raises(KeyboardInterrupt):
        anyio.run(command)
    state = saved_state(output)
    assert (state["count"], state["position"]["page"]) == (400, 3)
    assert len(csv_ids(partial_path(output))) == 400
    resumed = anyio.run(partial(export, emulator, output, "--via", "calls", "--resume"))
    assert resumed.code == 0, resumed.err
    assert sorted(csv_ids(output)) == sorted(contact_ids(emulator))


async def test_a_stop_inside_a_bulk_read_job_resumes_by_id(org: dict[str, Any], tmp_path: Path) -> None:
    """``--via jobs``: the job is read again and the records up to the last id written are skipped."""
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"

    class Stops(ProgressView):
        def export_task(self, description: str, total: int | None = None) -> Callable[[ExportProgress], None]:
            update = super().export_task(description, total)

            def stop(progress: ExportProgress) -> None:
                update(progress)
                if progress.records >= 1_500:
                    raise anyio.BrokenResourceError("the disk went away")

            return stop

    options = ExportOptions("Contacts", str(output), "jsonl", fields="Email", via="jobs", poll_interval=0)
    async with emulator.client() as client:
        with pytest.raises(anyio.BrokenResourceError):
            await run_export(client, options, Stops(Console(file=io.StringIO()), enabled=False))
    state = saved_state(output)
    assert state["route"] == "ids" and state["count"] == 1_999  # saved at the stop, between records
    kept = jsonl_ids(partial_path(output))
    assert len(kept) == 1_999 and kept[-1] == state["last_id"]
    with partial_path(output).open("ab") as handle:
        handle.write(b'{"id":"1')
    resumed = await export(emulator, output, "--via", "jobs", "--poll-interval", "0", "--resume")
    assert resumed.code == 0, resumed.err
    ids = jsonl_ids(output)
    assert len(ids) == RECORDS and set(ids) == contact_ids(emulator)
    assert ids == sorted(ids, key=int)  # id order, as a Bulk Read job gives it
    assert emulator.counters.requests_by_route["POST /bigin/bulk/v2/read"] == 2  # the job ran again


async def test_an_existing_part_is_never_overwritten_without_resume(
    org: dict[str, Any], tmp_path: Path
) -> None:
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    await export(emulator, output, transport=StopAt(emulator, 2))
    before = partial_path(output).read_bytes()
    again = await export(emulator, output)
    assert again.code == 2
    said = " ".join(again.err.split())
    assert "--resume" in said and "delete" in said and str(partial_path(output)) in said
    assert partial_path(output).read_bytes() == before


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        (["--fields", "Email,Last_Name"], "--fields"),
        (["--fields", "Email", "--max-records", "900"], "--max-records"),
        (["--fields", "Email", "--via", "calls"], "--via"),
        (["--fields", "Email", "--format", "csv"], "--format"),
        (["--fields", "Email", "--criteria", "(Email:starts_with:a)"], "--criteria"),
    ],
)
async def test_resume_with_other_options_is_refused(
    org: dict[str, Any], tmp_path: Path, changed: list[str], named: str
) -> None:
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    await export(emulator, output, transport=StopAt(emulator, 2))
    before = partial_path(output).read_bytes()
    refused = await bigin(emulator, "export", "Contacts", "-o", str(output), *changed, "--resume")
    assert refused.code == 2
    assert named in refused.err and "--resume needs the options" in " ".join(refused.err.split())
    assert partial_path(output).read_bytes() == before and state_path(output).exists()


async def test_resume_refuses_a_part_shorter_than_its_state(org: dict[str, Any], tmp_path: Path) -> None:
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    await export(emulator, output, transport=StopAt(emulator, 3))
    data = partial_path(output).read_bytes()
    partial_path(output).write_bytes(data[: len(data) // 2])
    refused = await export(emulator, output, "--resume")
    assert refused.code == 2 and "not the file its state describes" in " ".join(refused.err.split())


async def test_resume_with_nothing_to_resume_exports_from_the_start(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=5)
    output = tmp_path / "contacts.jsonl"
    run = await export(emulator, output, "--resume")
    assert run.code == 0 and len(jsonl_ids(output)) == 5
    assert "nothing to resume" in run.out
    stray = tmp_path / "other.jsonl"
    partial_path(stray).write_text("{}\n")
    refused = await export(emulator, stray, "--resume")
    assert refused.code == 2 and "has no" in refused.err


async def test_a_search_past_its_reach_leaves_nothing_to_resume(tmp_path: Path) -> None:
    """A search that meets the 2,000-record wall fails the same way every time: no state is kept."""
    emulator = BiginEmulator()
    emulator.insert_records(
        "Contacts", [{"Last_Name": f"L{i}", "Mailing_City": "Paris"} for i in range(2_050)]
    )
    output = tmp_path / "paris.jsonl"
    criteria = "(Mailing_City:equals:Paris)"
    run = await bigin(
        emulator, "export", "Contacts", "--criteria", criteria, "--via", "calls", "-o", str(output)
    )
    assert run.code == 1
    assert not partial_path(output).exists() and not state_path(output).exists()
    assert "--resume" not in run.err


@pytest.mark.parametrize("via", ["calls", "auto"])
async def test_a_stop_in_the_middle_of_a_page_resumes_from_the_last_whole_point(
    org: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    """The disk fills up while the 450th record is written: the state keeps the last consistent point
    (the end of page 2; through bulk_export the 400th record, saved every 200), never the half-written one."""
    emulator = fresh(org)
    output = tmp_path / "contacts.jsonl"
    write = RecordSink.write

    def full_disk(sink: RecordSink, record: Any) -> None:
        if sink.count == 449:
            sink.handle.write('{"id":"half')
            raise OSError(28, "No space left on device")
        write(sink, record)

    monkeypatch.setattr(RecordSink, "write", full_disk)
    options = ExportOptions("Contacts", str(output), "jsonl", fields="Email", via=via)  # type: ignore[arg-type]
    async with emulator.client() as client:
        with pytest.raises(OSError, match="No space"):
            await run_export(client, options, quiet_view())
    monkeypatch.setattr(RecordSink, "write", write)
    assert saved_state(output)["count"] == 400  # a page of 200 or 200 records at a time
    resumed = await export(emulator, output, "--via", via, "--resume")
    assert resumed.code == 0, resumed.err
    ids = jsonl_ids(output)
    assert len(ids) == RECORDS and set(ids) == contact_ids(emulator)


def test_ctrl_c_through_main_exits_130_and_says_how_to_resume(
    org: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_main = importlib.import_module("bigin_async.cli.main")  # the package's ``main`` is the function
    emulator = fresh(org)
    output = tmp_path / "contacts.csv"

    def interrupt() -> None:
        raise KeyboardInterrupt

    wired = partial(run_command, connect=lambda _: emulator.client(transport=StopAt(emulator, 12, interrupt)))
    monkeypatch.setattr(cli_main, "run_command", wired)
    code = main(
        ["export", "Contacts", "--fields", "Email", "-o", str(output), "--via", "calls", "--no-progress"]
    )
    said = " ".join(capsys.readouterr().err.split())
    assert code == 130
    assert said.startswith("interrupted")
    assert f"{partial_path(output)} holds the first 2,200 records" in said and "--resume" in said
    assert saved_state(output)["position"]["page_token"]


async def test_an_expired_page_token_is_explained_not_retried_forever(
    org: dict[str, Any], tmp_path: Path
) -> None:
    now = [1_000_000.0]
    emulator = BiginEmulator(clock=lambda: now[0], page_token_ttl=600)
    emulator.import_state(org)
    output = tmp_path / "contacts.jsonl"
    await export(emulator, output, "--via", "calls", transport=StopAt(emulator, 12))
    assert saved_state(output)["position"]["page_token"]
    now[0] += 601  # Zoho's tokens expire (page_token_expiry); the emulator's after page_token_ttl
    refused = await export(emulator, output, "--via", "calls", "--resume")
    said = " ".join(refused.err.split())
    assert refused.code == 2 and "page token" in said and "expire" in said and "delete" in said
    assert partial_path(output).exists() and state_path(output).exists()  # the user decides
