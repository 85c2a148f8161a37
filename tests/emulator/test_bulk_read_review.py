"""Adversarial review of the emulator's Bulk Read: result CSVs any CSV reader reads back as written.

Each test here failed before the fix it came with (see the commit that added it).
"""

from __future__ import annotations

import pytest

from bigin_emulator import BiginEmulator
from tests.emulator.test_bulk_read_jobs import csv_rows, inserted, page_of, zipped


@pytest.mark.parametrize("text", ["one\rtwo", "one\r\ntwo", "one\ntwo", "ends with\r", "\r"])
def test_a_cell_holding_a_line_break_of_any_kind_stays_in_its_row(emulator: BiginEmulator, text: str) -> None:
    # A lone carriage return (a note pasted from an old Mac file) ends a line for every CSV
    # reader: unquoted, it cut the row in two.
    [first, second] = inserted(
        emulator, "Contacts", {"Last_Name": "A", "Description": text}, {"Last_Name": "B"}
    )
    rows = csv_rows(zipped(page_of(emulator, {"module": "Contacts", "fields": ["Description", "Last_Name"]})))
    assert rows == [
        {"id": first, "Description": text, "Last_Name": "A"},
        {"id": second, "Description": "", "Last_Name": "B"},
    ]
