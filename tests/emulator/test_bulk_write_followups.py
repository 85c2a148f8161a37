"""Bulk Write on the emulator, follow-ups: keyless upsert rows are inserted (as Zoho does and as the
emulator's REST upsert does), jobs naming a field the module lacks are refused whole, and the
result switches that make the emulator harder than kind (fewer echoed columns, dropped rows)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bigin_emulator import BiginEmulator
from tests.helpers.bulk_uploads import authorised, create_write, result_rows, uploaded, write_job

BASE = "/bigin/bulk/v2/write"


@pytest.fixture
async def http(emulator: BiginEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with authorised(emulator) as client:
        yield client


async def _results(http: httpx.AsyncClient, job_id: str) -> list[dict[str, str]]:
    answer = await http.get(f"{BASE}/{job_id}/result")
    assert answer.status_code == 200, answer.text
    return result_rows(answer.content)


# -- 4. keyless upsert rows -----------------------------------------------------------------------


async def test_an_upsert_row_without_its_find_by_value_is_inserted(
    emulator: BiginEmulator, http: httpx.AsyncClient
) -> None:
    emulator.insert_records("Contacts", [{"Last_Name": "One", "Email": "one@example.com"}])
    job_id = await write_job(
        http,
        [["Email", "Last_Name"], ["one@example.com", "Uno"], ["", "Keyless"], ["", "Keyless too"]],
        "upsert",
        find_by="Email",
    )
    rows = await _results(http, job_id)
    assert [(r["STATUS"], r["ERRORS"]) for r in rows] == [("UPDATED", ""), ("ADDED", ""), ("ADDED", "")]
    stored = {r["id"]: r for r in emulator.store.table("Contacts")}
    assert {stored[r["RECORD_ID"]]["Last_Name"] for r in rows[1:]} == {"Keyless", "Keyless too"}
    assert len(stored) == 3


async def test_keyless_upserts_through_bulk_import_are_inserted_end_to_end() -> None:
    emulator = BiginEmulator()
    emulator.insert_records("Contacts", [{"Last_Name": "Known", "Email": "known@example.com"}])
    records = [{"Last_Name": "Known again", "Email": "known@example.com"}, {"Last_Name": "No email"}]
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_import(
            records, operation="upsert", find_by="Email", via="jobs", poll_interval=0.001
        )
    assert [(o.status, o.action) for o in result.outcomes] == [("success", "update"), ("success", "insert")]
    stored = {r["id"]: r["Last_Name"] for r in emulator.store.table("Contacts")}
    assert stored[result.outcomes[1].id or ""] == "No email" and len(stored) == 2


# -- 1. a job naming a field the module lacks ---------------------------------------------------


@pytest.mark.parametrize("name", ["Emial", "Email,x", "a\nb", 'Last"Name', "Last Name"])
async def test_a_job_mapping_a_field_the_module_lacks_is_refused_whole(
    emulator: BiginEmulator, http: httpx.AsyncClient, name: str
) -> None:
    file_id = await uploaded(http, [["Last_Name", name], ["Ng", "x"]])
    answer = await create_write(http, file_id, "insert", "Contacts", ["Last_Name", name])
    assert answer.status_code == 400, answer.text
    body: dict[str, Any] = answer.json()
    assert body["code"] == "INVALID_DATA" and body["details"]["api_name"] == name
    assert len(emulator.store.table("Contacts")) == 0


# -- 5. harder than kind: fewer echoed columns, dropped rows ------------------------------------


async def test_a_result_echoes_only_the_first_columns_and_drops_rows_when_told() -> None:
    emulator = BiginEmulator(write_results_echo_columns=1, drop_write_result_rows=2)
    assert emulator.realism.write_results_echo_columns == 1
    assert emulator.realism.drop_write_result_rows == 2
    rows = [["Last_Name", "Email"], *([f"L{i}", f"p{i}@example.com"] for i in range(5))]
    async with authorised(emulator) as http:
        job_id = await write_job(http, rows)
        rows_back = await _results(http, job_id)
        status = (await http.get(f"{BASE}/{job_id}")).json()["data"][0]
    assert list(rows_back[0]) == ["Last_Name", "STATUS", "RECORD_ID", "ERRORS"]
    assert len(rows_back) == 3 and {r["Last_Name"] for r in rows_back} < {f"L{i}" for i in range(5)}
    assert status["resource"][0]["file"]["added_count"] == 5  # the counts still say every row
    assert len(emulator.store.table("Contacts")) == 5


def test_the_result_switches_are_checked() -> None:
    from bigin_emulator.realism import REALISM_PRESETS, Realism

    for bad in (
        {"write_results_echo_columns": -1},
        {"drop_write_result_rows": -1},
        {"drop_write_result_rows": True},
        {"drop_write_result_rows": None},
        {"write_results_echo_columns": 1.5},
    ):
        with pytest.raises(ValueError):
            Realism(**bad)
    assert REALISM_PRESETS["kind"].write_results_echo_columns is None
    assert REALISM_PRESETS["kind"].drop_write_result_rows == 0
