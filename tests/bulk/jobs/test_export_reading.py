"""``BulkExport`` on a scripted jobs API: result files streamed, torn results refused, memory flat.

The emulator tests (``test_export_emulator.py``) run the whole path; these drive
:class:`~bigin_async.bulk.jobs.read.BulkExport` with a fake ``bulk_jobs`` whose pages are zips
written by the test, to reach what a healthy server never sends.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tracemalloc
import zipfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from bigin_async.bulk.jobs.read import BulkExport, ExportSource, page_path
from bigin_async.criteria import Criteria, Field
from bigin_async.errors import BulkJobError, UsageError, ValidationError
from bigin_async.models import FieldInfo, Record
from bigin_async.models.jobs import BulkReadJob
from bigin_async.models.records import Contact

FIELDS = [
    FieldInfo(api_name="Last_Name", data_type="text", json_type="string"),
    FieldInfo(api_name="Account_Name", data_type="lookup", json_type="jsonobject"),
    FieldInfo(api_name="Email_Opt_Out", data_type="boolean", json_type="boolean"),
]


def zip_of(
    path: Path, rows: Sequence[Sequence[str]], *, name: str = "1.csv", extra: str | None = None
) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w") as entry, io.TextIOWrapper(entry, encoding="utf-8", newline="") as text:
            csv.writer(text).writerows(rows)
        if extra is not None:
            archive.writestr(extra, "x")
    return path


def contact_rows(first: int, count: int) -> list[list[str]]:
    return [["id", "Last_Name", "Account_Name", "Email_Opt_Out"]] + [
        [str(first + i), f"Name {first + i}", "77", "true" if i % 2 else "false"] for i in range(count)
    ]


def rows_in(path: Path) -> int:
    """The records a page's zip holds: its CSV's line ends after the header's (cells hold none
    here), counted a chunk at a time; 0 for what cannot be read."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(archive.infolist()[0]) as raw:
            return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 16), b"")) - 1)
    except Exception:  # not a zip, no member, encrypted, torn: the export finds out itself
        return 0


class FakeJobs:
    """A ``bulk_jobs`` whose page n's result is ``pages[n - 1]`` (a zip path), copied on download."""

    def __init__(self, pages: Sequence[Path], *, fail_download: BaseException | None = None) -> None:
        self.pages = list(pages)
        self.created: list[dict[str, Any]] = []
        self.fail_download = fail_download

    def _job(self, page: int, state: str) -> BulkReadJob:
        result = {
            "page": page,
            "count": rows_in(self.pages[page - 1]),  # as Zoho counts: the records the page holds
            "per_page": 200_000,
            "more_records": page < len(self.pages),
            "download_url": f"/bigin/bulk/v2/read/{page}/result",
        }
        return BulkReadJob.model_validate({"id": str(page), "state": state, "result": result})

    async def create_read(
        self,
        *,
        module: str,
        fields: Sequence[str] | None = None,
        criteria: Criteria | Mapping[str, Any] | None = None,
        page: int = 1,
        callback_url: str | None = None,
    ) -> BulkReadJob:
        self.created.append({"module": module, "fields": fields, "criteria": criteria, "page": page})
        return BulkReadJob(id=str(page), state="ADDED")

    async def wait_read(
        self,
        job_id: str,
        *,
        poll_interval: float = 5.0,
        on_state: Callable[[BulkReadJob], object] | None = None,
    ) -> BulkReadJob:
        if on_state is not None:
            on_state(BulkReadJob(id=job_id, state="IN PROGRESS"))
        return self._job(int(job_id), "COMPLETED")

    async def download(self, url_or_job: Any, *, to: str | os.PathLike[str]) -> Path:
        if self.fail_download is not None:
            raise self.fail_download
        shutil.copyfile(self.pages[int(url_or_job.id) - 1], to)
        return Path(to)


def export_of(jobs: FakeJobs, *, calls_max_fields: int = 50, **options: Any) -> BulkExport[Contact]:
    async def metadata() -> Sequence[FieldInfo]:
        return FIELDS

    def records(names: Sequence[str], criteria: Criteria | None) -> AsyncIterator[Contact]:
        raise AssertionError("no calls expected")

    def coql(query: str) -> AsyncIterator[Record]:
        raise AssertionError("no COQL expected")

    source = ExportSource(
        module="Contacts",
        model=Contact,
        jobs=jobs,
        field_metadata=metadata,
        records=records,
        coql=coql,
        calls_max_fields=calls_max_fields,
    )
    options.setdefault("poll_interval", 0)
    return BulkExport(source, **options)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


async def test_rows_become_typed_records_and_criteria_reach_the_job(tmp_path: Path, workdir: Path) -> None:
    jobs = FakeJobs([zip_of(tmp_path / "p1.zip", contact_rows(10, 3))])
    criteria = Field("Last_Name") == "Name 11"
    records = [r async for r in export_of(jobs, fields=["Last_Name"], criteria=criteria, workdir=workdir)]
    assert [r.id for r in records] == ["10", "11", "12"]
    assert records[1].Account_Name is not None and records[1].Account_Name.id == "77"
    assert records[1].Email_Opt_Out is True and records[0].Email_Opt_Out is False
    assert records[0].to_wire() == {"id": "10"}  # read: a write sends only what changes
    assert jobs.created == [{"module": "Contacts", "fields": ["Last_Name"], "criteria": criteria, "page": 1}]
    assert list(workdir.iterdir()) == []


async def test_rows_a_shifted_page_repeats_are_handed_out_once(tmp_path: Path) -> None:
    # A record created during the export pushed records 13 and 14 from page 1 onto page 2.
    page_1 = zip_of(tmp_path / "p1.zip", contact_rows(10, 5))
    page_2 = zip_of(tmp_path / "p2.zip", contact_rows(13, 5))
    jobs = FakeJobs([page_1, page_2])
    assert [r.id async for r in export_of(jobs)] == [str(n) for n in range(10, 18)]
    assert [c["page"] for c in jobs.created] == [1, 2]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_bytes(b"not a zip") and path, "not a zip file"),
        (lambda path: zip_of(path, contact_rows(1, 2), extra="second.csv"), "holds one CSV"),
        (lambda path: zip_of(path, contact_rows(1, 2), name="result.txt"), "holds one CSV"),
        (lambda path: zip_of(path, [["Last_Name"], ["x"]]), "no id column"),
        (lambda path: zip_of(path, [["id", "Last_Name"], ["1", "a", "spare"]]), "cells"),
        (lambda path: zip_of(path, [["id", "Last_Name"], ["not-digits", "a"]]), "row 1"),
    ],
)
async def test_a_result_that_cannot_be_read_raises_and_leaves_no_files(
    tmp_path: Path, workdir: Path, make: Callable[[Path], Path], message: str
) -> None:
    jobs = FakeJobs([make(tmp_path / "bad.zip")])
    export = export_of(jobs, workdir=workdir)
    with pytest.raises(BulkJobError, match=message) as raised:
        [r async for r in export]
    assert raised.value.job_id == "1" and raised.value.state == "COMPLETED"
    assert list(workdir.iterdir()) == []
    with pytest.raises(UsageError, match="start a new"):
        await export.__anext__()


async def test_a_download_that_fails_leaves_no_files(tmp_path: Path, workdir: Path) -> None:
    jobs = FakeJobs([zip_of(tmp_path / "p1.zip", contact_rows(1, 2))], fail_download=OSError("disk full"))
    with pytest.raises(OSError, match="disk full"):
        [r async for r in export_of(jobs, workdir=workdir)]
    assert list(workdir.iterdir()) == []


async def test_a_completed_job_without_a_result_is_an_error(tmp_path: Path) -> None:
    class NoResult(FakeJobs):
        def _job(self, page: int, state: str) -> BulkReadJob:
            return BulkReadJob(id=str(page), state=state)

    with pytest.raises(BulkJobError, match="no result"):
        [r async for r in export_of(NoResult([tmp_path / "none.zip"]))]


def test_page_files_are_numbered_before_the_extension(tmp_path: Path) -> None:
    assert page_path(tmp_path / "c.csv", 1) == tmp_path / "c.csv"
    assert page_path(tmp_path / "c.csv", 3) == tmp_path / "c-3.csv"
    assert page_path(tmp_path / "export", 2) == tmp_path / "export-2"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"via": "sometimes"}, "via must be"),
        ({"poll_interval": -1}, "poll_interval"),
        ({"poll_interval": True}, "poll_interval"),
        ({"fields": "Email"}, "not one string"),
        ({"criteria": "(Email:equals:x)"}, "criteria must be"),
        (
            {"via": "calls", "criteria": {"api_name": "Email", "comparator": "equal", "value": "x"}},
            "JSON criteria",
        ),
        ({"workdir": "/no/such/directory"}, "workdir"),
    ],
)
def test_options_are_checked_before_anything_is_sent(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        export_of(FakeJobs([]), **options)


def test_to_may_not_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="directory"):
        export_of(FakeJobs([]), to=tmp_path)


def test_a_module_bulk_read_does_not_take_is_refused_at_once() -> None:
    async def metadata() -> Sequence[FieldInfo]:
        return []

    source = ExportSource(
        module="Notes",
        model=Record,
        jobs=FakeJobs([]),
        field_metadata=metadata,
        records=lambda names, criteria: None,  # type: ignore[arg-type,return-value]
        coql=lambda query: None,  # type: ignore[arg-type,return-value]
    )
    with pytest.raises(ValidationError, match="Notes"):
        BulkExport(source)


async def test_an_export_is_one_pass_and_closing_ends_it(tmp_path: Path) -> None:
    jobs = FakeJobs([zip_of(tmp_path / "p1.zip", contact_rows(1, 3))])
    export = export_of(jobs)
    assert aiter(export) is export
    assert "Contacts" in repr(export)
    assert (await anext(export)).id == "1"
    await export.aclose()
    await export.aclose()
    assert [r async for r in export] == []
    assert len(jobs.created) == 1


async def test_memory_stays_flat_in_the_record_count(tmp_path: Path) -> None:
    """Peak memory while reading 2,000 and 8,000 rows differs by far less than the rows' size."""
    peaks = []
    for count in (2_000, 8_000):
        rows = contact_rows(1, count)
        rows = [row + ["Some longer description text " * 4] for row in rows]
        rows[0][-1] = "Description"
        jobs = FakeJobs([zip_of(tmp_path / f"{count}.zip", rows)])
        tracemalloc.start()
        try:
            read = 0
            async for record in export_of(jobs):
                read += 1
                del record
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert read == count
    grown = peaks[1] - peaks[0]
    assert grown < 6_000 * 150 / 4, peaks  # a quarter of the 6,000 extra rows' text at most


async def test_a_cell_the_record_class_refuses_is_an_error_naming_the_row(tmp_path: Path) -> None:
    rows = [["id", "Email_Opt_Out"], ["1", "true"], ["2", "maybe"]]
    export = export_of(FakeJobs([zip_of(tmp_path / "p1.zip", rows)]))
    assert (await anext(export)).Email_Opt_Out is True
    with pytest.raises(BulkJobError, match="row 2 of page 1 is not a record"):
        await anext(export)


async def test_where_an_open_file_cannot_be_unlinked_it_is_removed_when_the_page_ends(
    tmp_path: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_unlink = os.unlink
    refused: list[str] = []

    def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        if str(path).endswith(".zip") and not refused:  # as Windows refuses an open file
            refused.append(str(path))
            raise PermissionError(13, "in use", str(path))
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    export = export_of(FakeJobs([zip_of(tmp_path / "p1.zip", contact_rows(1, 2))]), workdir=workdir)
    assert (await anext(export)).id == "1"
    assert [p.suffix for p in workdir.rglob("*") if p.is_file()] == [".zip"]  # still open, still there
    assert [r.id async for r in export] == ["2"]
    assert refused and list(workdir.iterdir()) == []


async def test_the_next_page_job_is_created_before_this_page_is_downloaded(tmp_path: Path) -> None:
    events: list[str] = []

    class Logged(FakeJobs):
        async def create_read(self, **kwargs: Any) -> BulkReadJob:
            events.append(f"create {kwargs['page']}")
            return await super().create_read(**kwargs)

        async def download(self, url_or_job: Any, *, to: str | os.PathLike[str]) -> Path:
            events.append(f"download {url_or_job.id}")
            return await super().download(url_or_job, to=to)

    pages = [zip_of(tmp_path / f"p{n}.zip", contact_rows(n * 10, 2)) for n in (1, 2, 3)]
    assert len([r async for r in export_of(Logged(pages))]) == 6
    assert events == ["create 1", "create 2", "download 1", "create 3", "download 2", "download 3"]


@pytest.mark.parametrize("fields", [None, ["Last_Name", "Account_Name", "Email_Opt_Out"]])
async def test_auto_runs_jobs_for_more_fields_than_a_call_reads(
    tmp_path: Path, fields: list[str] | None
) -> None:
    # No count is asked (records and COQL would fail): three fields are past a cap of two.
    export = export_of(
        FakeJobs([zip_of(tmp_path / "p1.zip", contact_rows(1, 2))]),
        via="auto",
        fields=fields,
        calls_max_fields=2,
    )
    assert [r.id async for r in export] == ["1", "2"]
    assert export.via == "jobs"


def corrupt(path: Path) -> Path:
    """Flip bytes in the middle of the zip's compressed data (its directory stays readable)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path.write_bytes(bytes(data))
    return path


async def test_a_result_torn_inside_its_rows_raises_after_the_rows_before_it(
    tmp_path: Path, workdir: Path
) -> None:
    jobs = FakeJobs([corrupt(zip_of(tmp_path / "p1.zip", contact_rows(1, 3_000)))])
    export = export_of(jobs, workdir=workdir)
    got = 0
    with pytest.raises(BulkJobError, match="page 1"):
        async for _ in export:
            got += 1
    assert got < 3_000
    assert list(workdir.iterdir()) == []


async def test_bytes_that_are_not_utf8_are_an_error_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "p1.zip"
    with zipfile.ZipFile(path, "w") as archive:
        good = b"".join(b"%d,ok\r\n" % n for n in range(1, 5_001))  # past the reader's first chunk
        archive.writestr("1.csv", b"id,Last_Name\r\n" + good + b"5001,caf\xe9\r\n")
    export = export_of(FakeJobs([path]))
    assert (await anext(export)).Last_Name == "ok"
    with pytest.raises(BulkJobError, match=r"after row \d+ of page 1: 'utf-8' codec"):
        async for _ in export:
            pass


async def test_a_byte_order_mark_before_the_header_is_not_part_of_the_id_column(tmp_path: Path) -> None:
    path = tmp_path / "p1.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("1.csv", "\ufeffid,Last_Name\r\n7,Ng\r\n".encode())
    assert [(r.id, r.Last_Name) async for r in export_of(FakeJobs([path]))] == [("7", "Ng")]


def test_to_in_a_directory_that_does_not_exist_is_refused_before_any_job(tmp_path: Path) -> None:
    jobs = FakeJobs([])
    with pytest.raises(ValidationError, match="directory does not exist"):
        export_of(jobs, to=tmp_path / "missing" / "c.csv")
    assert jobs.created == []
