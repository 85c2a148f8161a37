"""Adversarial review of the emulator's Bulk Write side: result zips as Zoho's CSV reader reads them."""

from __future__ import annotations

import csv
import io
import zipfile

from bigin_emulator.ops.bulk_csv import check_upload, data_rows, result_zip
from tests.helpers.bulk_uploads import csv_zip


def _read(data: bytes) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        text = archive.read(archive.infolist()[0]).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_a_result_cell_holding_a_lone_carriage_return_stays_in_its_row() -> None:
    data = result_zip("part.csv", ["Last_Name"], [["Lee\rKim", "ADDED", "1", ""], ["Ray", "ADDED", "2", ""]])
    assert _read(data) == [
        ["Last_Name", "STATUS", "RECORD_ID", "ERRORS"],
        ["Lee\rKim", "ADDED", "1", ""],
        ["Ray", "ADDED", "2", ""],
    ]


def test_a_long_cell_is_read_whatever_limit_the_process_left_on_the_csv_module() -> None:
    # The csv module's field limit is the process's: 128 KiB unless something raised it. The
    # file host's own bound is MAX_ROW_CHARS; a 200,000-character cell is well within it.
    before = csv.field_size_limit(128 * 1024)
    try:
        data = csv_zip([["Last_Name", "Description"], ["Lee", "y" * 200_000]])
        assert check_upload(data).records == 1
        assert [row[1] for row in data_rows(data)] == ["y" * 200_000]
    finally:
        csv.field_size_limit(before)
