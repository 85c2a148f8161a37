"""``bulk_export`` against the emulator: pages chained, records typed as REST's, files, faults, ``via``."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from bigin_async import Field
from bigin_async.bulk.jobs import read
from bigin_async.bulk.jobs.read import ExportProgress
from bigin_async.client import BiginClient
from bigin_async.errors import BulkJobFailedError, UsageError
from bigin_async.models.records import Contact
from bigin_emulator import BiginEmulator
from tests.helpers.clock import FakeClock
from tests.helpers.export_records import CutResults, as_csv_carries, downloads_on_fake_time


def contacts(emulator: BiginEmulator, count: int, start: int = 0) -> list[str]:
    entries = emulator.insert_records(
        "Contacts",
        (
            {"Last_Name": f"Last {i}", "First_Name": f"F{i % 7}", "Email": f"c{i}@example.com"}
            for i in range(start, start + count)
        ),
    )
    return [entry["details"]["id"] for entry in entries]


def read_jobs(emulator: BiginEmulator) -> int:
    return sum(1 for job in emulator.jobs.jobs.values() if job.kind == "read")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def client_for(emulator: BiginEmulator, **options: Any) -> BiginClient:
    client = emulator.client(**options)
    downloads_on_fake_time(client)
    return client


@pytest.mark.bigin_emulator(bulk_read_page_size=100)
async def test_pages_are_chained_and_every_record_comes_once_in_id_order(
    emulator: BiginEmulator, workdir: Path
) -> None:
    ids = contacts(emulator, 450)
    seen: list[ExportProgress] = []
    async with client_for(emulator) as client:
        export = client.contacts.bulk_export(
            fields=["Last_Name", "Email"], poll_interval=0, workdir=workdir, on_progress=seen.append
        )
        records = [record async for record in export]
        credits = client.credits.spent_total
    # Five jobs at 50 credits, their polls and downloads at 1, the field metadata at 1: as Zoho
    # counts, and as the client counted too.
    assert emulator.counters.credits == credits
    assert 5 * 50 + 5 + 5 + 1 <= credits <= 5 * 50 + 5 * 3 + 1
    assert [r.id for r in records] == sorted(ids, key=int)
    assert all(isinstance(r, Contact) for r in records)
    assert records[7].Last_Name == "Last 7" and records[7].Email == "c7@example.com"
    assert export.via == "jobs" and export.records == 450
    assert read_jobs(emulator) == 5  # pages of 100: 100, 100, 100, 100, 50
    assert {p.page for p in seen} == {1, 2, 3, 4, 5}
    assert [p.phase for p in seen if p.page == 2][:1] == ["waiting"]
    assert {"waiting", "downloading", "reading"} <= {p.phase for p in seen}
    assert seen[-1].records == 450
    assert list(workdir.iterdir()) == []


async def test_a_record_exported_equals_it_read_through_rest(emulator: BiginEmulator) -> None:
    made = emulator.seed_data(contacts=12, companies=3, deals=8)
    products = emulator.insert_records(
        "Products",
        [
            {
                "Product_Name": "P1",
                "Unit_Price": 19.99,
                "Qty_in_Stock": 3,
                "Product_Active": True,
                "Tax": ["VAT", "Sales"],
                "Tag": [{"name": "Hot"}],
            },
            {
                "Product_Name": "P2",
                "Unit_Price": 12,
                "Taxable": False,
                "Description": 'multi\nline, "quoted"; text ✷',
            },
        ],
    )
    made["Products"] = [entry["details"]["id"] for entry in products]
    contact = made["Contacts"][0]
    activities: dict[str, dict[str, Any]] = {
        "Tasks": {
            "Subject": "Call back",
            "Due_Date": "2026-12-20",
            "What_Id": {"id": contact},
            "$se_module": "Contacts",
            "Remind_At": {"ALARM": "FREQ=NONE;ACTION=POPUP;TRIGGER=DATE-TIME:2026-12-19T09:00:00+00:00"},
        },
        "Events": {
            "Event_Title": "Demo",
            "Start_DateTime": "2026-12-20T10:00:00+01:00",
            "End_DateTime": "2026-12-20T11:00:00+01:00",
            "Participants": [{"participant": contact, "type": "contact"}],
            "All_day": False,
        },
        "Calls": {
            "Subject": "Intro",
            "Call_Type": "Outbound",
            "Call_Duration": "05:00",
            "What_Id": {"id": contact},
        },
    }
    for module, fields in activities.items():
        made[module] = [entry["details"]["id"] for entry in emulator.insert_records(module, [fields])]
    async with client_for(emulator) as client:
        for module in ("Contacts", "Pipelines", "Accounts", "Products", "Tasks", "Events", "Calls"):
            module_client = client.module(module)
            exported = {str(r.id): r async for r in module_client.bulk_export(poll_interval=0)}
            assert sorted(exported) == sorted(made[module])
            for record_id, record in exported.items():
                names = list(record.model_dump(by_alias=True, exclude_unset=True))  # the CSV's columns
                assert len(names) > 15
                rest = await module_client.get(record_id, fields=names)
                assert record == as_csv_carries(rest, names, module_client.model), (
                    module,
                    record_id,
                )


async def test_criteria_built_with_field_are_sent_as_json_and_select_the_same_records(
    emulator: BiginEmulator,
) -> None:
    emulator.seed_data(companies=2, deals=40)
    async with client_for(emulator) as client:
        every = [d async for d in client.deals.bulk_export(poll_interval=0)]
        wanted = {
            d.id for d in every if d.Amount is not None and d.Amount > 20_000 and d.Stage != "Closed Lost"
        }
        criteria = (Field("Amount") > 20_000) & (Field("Stage") != "Closed Lost")
        chosen = [
            d
            async for d in client.deals.bulk_export(
                criteria=criteria, fields=["Amount", "Stage"], poll_interval=0
            )
        ]
    assert 0 < len(wanted) < len(every)
    assert {d.id for d in chosen} == wanted


@pytest.mark.bigin_emulator(bulk_read_page_size=40)
async def test_to_keeps_each_page_csv_beside_the_first(
    emulator: BiginEmulator, tmp_path: Path, workdir: Path
) -> None:
    ids = contacts(emulator, 100)
    target = tmp_path / "out" / "contacts.csv"
    target.parent.mkdir()
    async with client_for(emulator) as client:
        export = client.contacts.bulk_export(
            fields=["Last_Name"], to=target, poll_interval=0, workdir=workdir
        )
        records = [r.id async for r in export]
    assert records == sorted(ids, key=int)
    names = ["contacts.csv", "contacts-2.csv", "contacts-3.csv"]
    assert export.paths == [target.parent / name for name in names]
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(names)
    rows: list[str] = []
    for path in export.paths:
        header, *lines = path.read_text(encoding="utf-8").splitlines()
        assert header == "id,Last_Name"
        rows += [line.split(",")[0] for line in lines]
    assert rows == records
    assert list(workdir.iterdir()) == []


@pytest.mark.bigin_emulator(bulk_read_page_size=30)
async def test_a_download_dropped_half_way_is_retried(emulator: BiginEmulator, workdir: Path) -> None:
    ids = contacts(emulator, 70)
    cut = CutResults(emulator.transport(), cuts=2, keep=200)
    async with client_for(emulator, transport=cut, retry_backoff_seconds=0) as client:
        records = [
            r.id
            async for r in client.contacts.bulk_export(fields=["Email"], poll_interval=0, workdir=workdir)
        ]
    assert records == sorted(ids, key=int)
    assert cut.results == [200, 200, 200, 200, 200]  # pages 1 and 2 were each cut once
    assert cut.cuts == 0
    assert list(workdir.iterdir()) == []


async def test_the_ten_downloads_a_minute_limit_is_waited_out(workdir: Path) -> None:
    clock = FakeClock()
    emulator = BiginEmulator(clock=clock, bulk_read_page_size=10)
    ids = contacts(emulator, 25)

    def time_passes(response: httpx.Response) -> None:
        # The org's minute passes while the client waits: Retry-After says how long, and the
        # test lets that time pass on the emulator's clock rather than on the wall.
        if response.status_code == 429 and "retry-after" in response.headers:
            clock.advance(float(response.headers["retry-after"]))
            response.headers["retry-after"] = "0"

    spy = CutResults(emulator.transport(), on_response=time_passes)
    async with client_for(emulator, transport=spy) as client:
        first = await client.bulk_jobs.create_read(module="Contacts", fields=["Email"])
        done = await client.bulk_jobs.wait_read(first.id, poll_interval=0)
        for number in range(9):  # nine of the minute's ten downloads spent elsewhere
            await client.bulk_jobs.download(done, to=workdir / f"other-{number}.zip")
        for path in workdir.iterdir():
            path.unlink()
        records = [
            r.id
            async for r in client.contacts.bulk_export(fields=["Email"], poll_interval=0, workdir=workdir)
        ]
    assert records == sorted(ids, key=int)
    assert spy.results.count(429) >= 1 and spy.results[-1] == 200
    assert spy.results.count(200) == 9 + 3
    assert list(workdir.iterdir()) == []


@pytest.mark.bigin_emulator(bulk_read_page_size=20)
async def test_a_failed_job_raises_and_leaves_no_files(emulator: BiginEmulator, workdir: Path) -> None:
    contacts(emulator, 50)
    async with client_for(emulator) as client:
        export = client.contacts.bulk_export(fields=["Email"], poll_interval=0, workdir=workdir)
        got = [await export.__anext__() for _ in range(20)]
        # Page 2's job was created when page 1's completed (it runs while page 1 is read): the
        # next job created, page 3's, fails.
        emulator.job_faults.fail_jobs += 1
        with pytest.raises(BulkJobFailedError) as raised:
            while True:
                got.append(await export.__anext__())
        with pytest.raises(UsageError):  # an export stopped by an error does not pretend to end
            await export.__anext__()
    assert len(got) == 40
    assert raised.value.state == "FAILED" and raised.value.job_id
    assert list(workdir.iterdir()) == []


@pytest.mark.bigin_emulator(bulk_read_page_size=50)
@pytest.mark.parametrize("phase", ["waiting", "downloading", "reading"])
async def test_cancelling_the_export_in_any_phase_leaves_no_files(
    emulator: BiginEmulator, tmp_path: Path, workdir: Path, phase: str
) -> None:
    contacts(emulator, 120)
    target = tmp_path / "kept.csv"
    got: list[str] = []
    async with client_for(emulator) as client:
        with anyio.CancelScope() as scope:

            def progress(event: ExportProgress) -> None:
                if event.page == 2 and event.phase == phase:
                    scope.cancel()

            async for record in client.contacts.bulk_export(
                fields=["Email"], to=target, poll_interval=0, workdir=workdir, on_progress=progress
            ):
                got.append(str(record.id))
    assert scope.cancelled_caught
    assert list(workdir.iterdir()) == []
    kept = sorted(p.name for p in tmp_path.iterdir() if p.name != "work")
    assert kept in (["kept.csv"], ["kept-2.csv", "kept.csv"])  # whole pages only, no .part
    for path in kept:
        assert len((tmp_path / path).read_text(encoding="utf-8").splitlines()) == 51
    assert len(got) >= 50


@pytest.mark.bigin_emulator(bulk_read_page_size=50)
async def test_leaving_early_leaves_no_files_and_no_warning(emulator: BiginEmulator, workdir: Path) -> None:
    contacts(emulator, 120)
    async with client_for(emulator) as client:
        async for record in client.contacts.bulk_export(fields=["Email"], poll_interval=0, workdir=workdir):
            assert record.id
            break
        gc.collect()  # the abandoned export's open page is released: no ResourceWarning (warnings are errors)
        assert list(workdir.iterdir()) == []
        async with client.contacts.bulk_export(fields=["Email"], poll_interval=0, workdir=workdir) as export:
            first = await export.__anext__()
        assert first.id and list(workdir.iterdir()) == []
        with pytest.raises(StopAsyncIteration):
            await export.__anext__()


async def test_via_calls_gives_the_same_records_as_via_jobs(emulator: BiginEmulator) -> None:
    emulator.seed_data(contacts=230, companies=4)
    async with client_for(emulator) as client:
        names = await client.settings.field_names("Contacts")
        jobs = [r async for r in client.contacts.bulk_export(poll_interval=0)]
        progress: list[ExportProgress] = []
        calls_export = client.contacts.bulk_export(via="calls", on_progress=progress.append)
        calls = [r async for r in calls_export]
        criteria = Field("Mailing_Country") == "Spain"
        jobs_spain = [
            str(r.id) async for r in client.contacts.bulk_export(criteria=criteria, poll_interval=0)
        ]
        calls_spain = [str(r.id) async for r in client.contacts.bulk_export(criteria=criteria, via="calls")]
    assert calls_export.via == "calls"
    assert [(p.phase, p.page, p.records) for p in progress] == [("reading", 0, 0)]
    assert [r.id for r in calls] == [r.id for r in jobs]  # both sorted by id
    assert [as_csv_carries(r, names, Contact) for r in calls] == jobs
    assert calls[0].Owner is not None and calls[0].Owner.name  # calls also carry lookup names
    assert jobs_spain and sorted(calls_spain) == sorted(jobs_spain)


async def test_auto_reads_through_calls_below_the_threshold_and_jobs_from_it(
    emulator: BiginEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "AUTO_JOBS_THRESHOLD_READ", 30)
    contacts(emulator, 29)
    async with client_for(emulator) as client:
        below = client.contacts.bulk_export(fields=["Email"], via="auto", poll_interval=0)
        assert len([r async for r in below]) == 29
        contacts(emulator, 1, start=29)
        at = client.contacts.bulk_export(fields=["Email"], via="auto", poll_interval=0)
        assert len([r async for r in at]) == 30
        json_criteria = {"api_name": "Email", "comparator": "equal", "value": "c3@example.com"}
        by_json = client.contacts.bulk_export(criteria=json_criteria, via="auto", poll_interval=0)
        assert [r.Email async for r in by_json] == ["c3@example.com"]
        few = client.contacts.bulk_export(criteria=Field("First_Name") == "F1", via="auto", poll_interval=0)
        assert {r.First_Name async for r in few} == {"F1"}
    assert (below.via, at.via, by_json.via, few.via) == ("calls", "jobs", "jobs", "calls")
    assert read_jobs(emulator) == 2


async def test_auto_with_criteria_matching_more_than_search_reaches_runs_jobs(
    emulator: BiginEmulator,
) -> None:
    contacts(emulator, 2_001)
    async with client_for(emulator) as client:
        export = client.contacts.bulk_export(
            criteria=Field("Last_Name").starts_with("Last"), via="auto", poll_interval=0
        )
        assert len([r async for r in export]) == 2_001
    assert export.via == "jobs"
