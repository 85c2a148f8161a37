"""Result CSVs mapped back to the records sent: in order only when verified; shuffled, duplicated,
missing and extra rows still land on exactly the right records, and nothing is a success by default."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from bigin_async.bulk.jobs.parts import Part, PartWriter, record_cells
from bigin_async.bulk.jobs.results import ResultsError, map_results, outcome_of, parse_errors


def part_of(tmp_path: Path, records: list[dict[str, object]]) -> Part:
    writer = PartWriter(tmp_path, 1)
    for index, record in enumerate(records):
        assert writer.add(index, record_cells(record))
    [part] = writer.finish()
    return part


def result_zip(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("result.csv", buffer.getvalue())
    return path


RECORDS: list[dict[str, object]] = [
    {"Last_Name": f"Name {i}", "Email": f"{i}@x.test", "Account_Name": {"id": str(900 + i)}}
    for i in range(50)
]


def echo_rows() -> list[list[str]]:
    return [[f"Name {i}", f"{i}@x.test", str(900 + i), "ADDED", str(5000 + i), ""] for i in range(50)]


HEADER = ["Last_Name", "Email", "Account_Name", "STATUS", "RECORD_ID", "ERRORS"]


def ids(mapped: Sequence[object]) -> list[str | None]:
    return [getattr(row, "record_id", None) for row in mapped]


def test_rows_in_order_map_in_order(tmp_path: Path) -> None:
    part = part_of(tmp_path, RECORDS)
    mapped = map_results(part.zip_path, part.columns, result_zip(tmp_path / "r.zip", HEADER, echo_rows()))
    assert ids(mapped) == [str(5000 + i) for i in range(50)]


def test_shuffled_rows_are_matched_by_their_echoed_cells(tmp_path: Path) -> None:
    part = part_of(tmp_path, RECORDS)
    rows = echo_rows()
    random.Random(3).shuffle(rows)
    mapped = map_results(part.zip_path, part.columns, result_zip(tmp_path / "r.zip", HEADER, rows))
    assert ids(mapped) == [str(5000 + i) for i in range(50)]


def test_missing_rows_are_none_and_extra_rows_are_ignored(tmp_path: Path) -> None:
    part = part_of(tmp_path, RECORDS)
    rows = echo_rows()
    del rows[7]
    rows.append(["Stranger", "s@x.test", "1", "ADDED", "666", ""])
    mapped = map_results(part.zip_path, part.columns, result_zip(tmp_path / "r.zip", HEADER, rows))
    expected: list[str | None] = [str(5000 + i) for i in range(50)]
    expected[7] = None
    assert ids(mapped) == expected
    assert outcome_of(mapped[7], 7, None, updating=False).status == "unknown"


def test_a_row_that_echoes_other_values_is_not_taken_for_the_record_in_its_place(tmp_path: Path) -> None:
    part = part_of(tmp_path, RECORDS)
    rows = echo_rows()
    rows[3][1] = "someone-else@x.test"  # same position, another record: no match, not a success
    mapped = map_results(part.zip_path, part.columns, result_zip(tmp_path / "r.zip", HEADER, rows))
    assert mapped[3] is None and ids(mapped)[4] == "5004"


def test_identical_rows_are_interchangeable_and_counted(tmp_path: Path) -> None:
    same: dict[str, object] = {"Last_Name": "Twin", "Email": "t@x.test"}
    part = part_of(tmp_path, [same, {"Last_Name": "Other"}, same, same])
    header = ["Last_Name", "Email", "STATUS", "RECORD_ID", "ERRORS"]
    rows = [
        ["Twin", "t@x.test", "ADDED", "1", ""],
        ["Twin", "t@x.test", "ADDED", "2", ""],
        ["Other", "", "ADDED", "3", ""],
        ["Twin", "t@x.test", "ADDED", "1", ""],  # a duplicate row: the third twin has no row
    ]
    mapped = map_results(part.zip_path, part.columns, result_zip(tmp_path / "r.zip", header, rows))
    assert ids(mapped) == ["1", "3", "2", "1"]
    rows = rows[:3]
    mapped = map_results(part.zip_path, part.columns, result_zip(tmp_path / "r2.zip", header, rows))
    assert ids(mapped) == ["1", "3", "2", None]


def test_a_result_that_echoes_no_column_verifies_nothing(tmp_path: Path) -> None:
    part = part_of(tmp_path, RECORDS[:3])
    rows = [["ADDED", "1", ""]] * 3
    mapped = map_results(part.zip_path, part.columns, result_zip(tmp_path / "r.zip", HEADER[3:], rows))
    assert mapped == [None, None, None]


def test_huge_echoed_cells_are_read(tmp_path: Path) -> None:
    big = "y" * 500_000
    part = part_of(tmp_path, [{"Last_Name": big}])
    header = ["Last_Name", "STATUS", "RECORD_ID", "ERRORS"]
    mapped = map_results(
        part.zip_path, part.columns, result_zip(tmp_path / "r.zip", header, [[big, "ADDED", "9", ""]])
    )
    assert ids(mapped) == ["9"]


@pytest.mark.parametrize("kind", ["not-a-zip", "two-files", "no-status"])
def test_a_file_that_is_not_a_result_is_an_error(tmp_path: Path, kind: str) -> None:
    part = part_of(tmp_path, RECORDS[:1])
    path = tmp_path / "r.zip"
    if kind == "not-a-zip":
        path.write_bytes(b"<html>")
    elif kind == "two-files":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.csv", "STATUS\r\n")
            archive.writestr("b.csv", "STATUS\r\n")
    else:
        result_zip(path, ["Last_Name"], [["Name 0"]])
    with pytest.raises(ResultsError):
        map_results(part.zip_path, part.columns, path)


def test_errors_and_statuses_become_outcomes() -> None:
    assert parse_errors("MANDATORY_NOT_FOUND-Last_Name;INVALID_DATA-Email; ;DUPLICATE_DATA") == [
        {"code": "MANDATORY_NOT_FOUND", "api_name": "Last_Name"},
        {"code": "INVALID_DATA", "api_name": "Email"},
        {"code": "DUPLICATE_DATA"},
    ]
    from bigin_async.bulk.jobs.results import ResultRow

    added = outcome_of(ResultRow("ADDED", "1"), 0, "r", updating=False)
    assert (added.status, added.action, added.id, added.record) == ("success", "insert", "1", "r")
    updated = outcome_of(ResultRow("UPDATED", "2"), 1, None, updating=False)
    assert (updated.status, updated.action) == ("success", "update")
    skipped = outcome_of(
        ResultRow("SKIPPED", None, parse_errors("MANDATORY_NOT_FOUND-Last_Name")), 2, None, updating=False
    )
    assert (skipped.status, skipped.code, skipped.details) == (
        "error",
        "MANDATORY_NOT_FOUND",
        {"api_name": "Last_Name"},
    )
    bare = outcome_of(ResultRow("SKIPPED", None), 3, None, updating=True)
    assert (bare.status, bare.code, bare.action) == ("error", "SKIPPED", "update")
    two = outcome_of(ResultRow("SKIPPED", None, parse_errors("A-x;B-y")), 4, None, updating=False)
    assert two.details["errors"] == [{"code": "A", "api_name": "x"}, {"code": "B", "api_name": "y"}]
    odd = outcome_of(ResultRow("PARTIAL", "5"), 5, None, updating=False)
    assert (odd.status, odd.code) == ("unknown", "UNKNOWN_STATUS")


def test_the_result_columns_are_found_whatever_their_case(tmp_path: Path) -> None:
    part = part_of(tmp_path, RECORDS[:2])
    header = ["Last_Name", "Email", "Account_Name", "Status", " record_id", "Errors"]
    rows = [row for row in echo_rows()[:2]]
    mapped = map_results(part.zip_path, part.columns, result_zip(tmp_path / "r.zip", header, rows))
    assert ids(mapped) == ["5000", "5001"]
