"""Adversarial review of the emulator's Bulk Read: result CSVs any CSV reader reads back as written.

Each test here failed before the fix it came with (see the commit that added it).
"""

from __future__ import annotations

import pytest

from bigin_emulator import BiginEmulator
from tests.emulator.test_bulk_read_jobs import csv_rows, inserted, page_of, refusal, zipped


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


@pytest.mark.parametrize(
    ("module", "condition"),
    [
        ("Pipelines", {"api_name": "Amount", "comparator": "greater_than", "value": "abc"}),
        ("Pipelines", {"api_name": "Amount", "comparator": "between", "value": [10, "lots"]}),
        ("Pipelines", {"api_name": "Closing_Date", "comparator": "greater_than", "value": "01/02/2026"}),
        (
            "Pipelines",
            {"api_name": "Closing_Date", "comparator": "equal", "value": "2026-01-02T00:00:00+00:00"},
        ),
        ("Events", {"api_name": "Start_DateTime", "comparator": "less_than", "value": "2026-12-20T10:00:00"}),
        ("Events", {"api_name": "Start_DateTime", "comparator": "in", "value": ["2026-12-20", "soon"]}),
    ],
)
def test_a_criteria_value_not_of_its_fields_type_is_refused(
    emulator: BiginEmulator, module: str, condition: dict[str, object]
) -> None:
    # A date written 01/02/2026 matched nothing, silently: Zoho refuses the job instead, so a
    # mistake found only against Zoho costs the user the run that found it.
    error = refusal(emulator, {"module": module, "criteria": condition})
    assert error.code == "INVALID_DATA"
    assert error.details["api_name"] == condition["api_name"]
    assert error.details["param"] == "criteria.value"


@pytest.mark.parametrize(
    ("module", "condition"),
    [
        ("Pipelines", {"api_name": "Amount", "comparator": "between", "value": [10, "250.5"]}),
        ("Pipelines", {"api_name": "Amount", "comparator": "equal", "value": "${EMPTY}"}),
        ("Pipelines", {"api_name": "Closing_Date", "comparator": "greater_than", "value": "2026-01-02"}),
        (
            "Events",
            {"api_name": "Start_DateTime", "comparator": "less_than", "value": "2026-12-20T10:00:00Z"},
        ),
        ("Events", {"api_name": "Event_Title", "comparator": "equal", "value": "01/02/2026"}),
    ],
)
def test_a_criteria_value_of_its_fields_type_is_taken(
    emulator: BiginEmulator, module: str, condition: dict[str, object]
) -> None:
    assert page_of(emulator, {"module": module, "criteria": condition}).count == 0
