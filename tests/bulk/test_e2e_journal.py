"""Journal semantics against the emulator: what a resumed run sends again, and what it must not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bigin_async.bulk import BulkAbortedError
from bigin_emulator import BiginEmulator
from bigin_emulator.server.faults import FaultPlan


def contacts(n: int) -> list[dict[str, Any]]:
    return [{"Last_Name": f"Doe {i}", "Email": f"person{i}@example.com"} for i in range(n)]


def journal_kinds(path: Path) -> list[str]:
    return [json.loads(line)["t"] for line in path.read_text().splitlines()]


async def test_a_refused_token_is_not_the_records_fault_and_a_resumed_run_sends_them(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    emulator = BiginEmulator()
    async with emulator.client(client_secret="revoked") as bigin:
        with pytest.raises(BulkAbortedError) as stopped:
            await bigin.contacts.bulk_create(contacts(250), journal=str(journal))
    assert stopped.value.result.counts["error"] == stopped.value.result.total > 0
    assert "done" not in journal_kinds(journal)
    async with emulator.client() as bigin:
        resumed = await bigin.contacts.bulk_create(contacts(250), journal=str(journal))
    assert resumed.ok and resumed.actions["insert"] == 250 and resumed.skipped == 0
    assert len(emulator.store.table("Contacts")) == 250


async def test_calls_that_failed_as_a_whole_are_sent_again_on_resume(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    outage = BiginEmulator(faults=FaultPlan(seed=2, error_503=0.5))
    async with outage.client(max_retries=0) as bigin:
        first = await bigin.contacts.bulk_upsert(contacts(1000), ["Email"], journal=str(journal))
    failed = first.counts["error"]
    assert 0 < failed < 1000 and all(o.code == "INTERNAL_ERROR" for o in first.failed)
    # The same org after the outage: a healthy server holding what was written so far.
    healthy = BiginEmulator()
    healthy.import_state(outage.export_state())
    async with healthy.client() as bigin:
        resumed = await bigin.contacts.bulk_upsert(contacts(1000), ["Email"], journal=str(journal))
    assert resumed.ok and resumed.skipped == 1000 - failed
    assert healthy.counters.requests_by_route["POST /bigin/v2/Contacts/upsert"] == failed // 100
    assert len(healthy.store.table("Contacts")) == 1000


async def test_record_level_refusals_stay_settled_on_resume(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    records = contacts(10)
    records[4]["Email"] = "not an email"
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        first = await bigin.contacts.bulk_create(records, journal=str(journal))
        again = await bigin.contacts.bulk_create(records, journal=str(journal))
    assert [o.index for o in first.failed] == [4] and [o.index for o in again.failed] == [4]
    assert again.skipped == 10
    assert emulator.counters.requests_by_route["POST /bigin/v2/Contacts"] == 1
