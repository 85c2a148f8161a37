"""Adversarial review of the emulator's Bulk Write side: result zips as Zoho's CSV reader reads them."""

from __future__ import annotations

import csv
import io
import zipfile

from bigin_emulator.ops.bulk_csv import result_zip


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
