"""The bulk engine against the emulator: calls, order, partial failures, faults, exactly-once.

The emulator's store and counters are the server's side of the story: what was really written
and how many calls really arrived, whatever the client believes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bigin_async.bulk import BulkProgress
from bigin_emulator import BiginEmulator
from bigin_emulator.server.faults import FaultPlan, ServerLimits
from bigin_emulator.state.store import index_key


def contacts(n: int, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"Last_Name": f"Doe {i}", "Email": f"person{i}@example.com", **extra} for i in range(start, start + n)
    ]


def stored(emulator: BiginEmulator, module: str = "Contacts") -> list[dict[str, Any]]:
    return list(emulator.store.table(module))


def email_counts(emulator: BiginEmulator) -> Counter[str]:
    return Counter(str(index_key(record.get("Email"))) for record in stored(emulator))


async def test_1050_records_are_11_calls_and_1050_outcomes_in_input_order() -> None:
    emulator = BiginEmulator()
    seen: list[BulkProgress] = []
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_create(
            contacts(1050), on_progress=lambda p: seen.append(BulkProgress(**vars(p)))
        )
    assert emulator.counters.requests_by_route == {"POST /bigin/v2/Contacts": 11}
    assert [o.index for o in result.outcomes] == list(range(1050))
    assert result.summary()["inserted"] == 1050 and result.ok
    by_id = {record["id"]: record for record in stored(emulator)}
    assert len(by_id) == 1050
    # Each outcome's id is the record the server made from that very input record.
    assert all(by_id[o.id]["Email"] == f"person{o.index}@example.com" for o in result.outcomes if o.id)
    processed = [p.processed for p in seen]
    assert processed == sorted(processed) and processed[-1] == 1050 and seen[-1].succeeded == 1050


async def test_partial_batch_failures_land_on_the_right_records() -> None:
    emulator = BiginEmulator()
    existing = emulator.insert_records("Contacts", contacts(3, start=9000))
    existing_ids = [entry["details"]["id"] for entry in existing]
    records = contacts(300)
    records[5]["Email"] = "person9000@example.com"  # duplicates of records already stored
    records[150]["Email"] = "PERSON9001@example.com"
    records[299]["Email"] = "person9002@example.com"
    records[77]["Email"] = "not an email"  # refused by the server: INVALID_DATA
    del records[200]["Last_Name"]  # refused before sending: MANDATORY_NOT_FOUND
    records[201]["Email"] = records[202]["Email"]  # a duplicate inside one batch: the later one fails
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_create(records)
    failed = {o.index: o for o in result.failed}
    assert sorted(failed) == [5, 77, 150, 200, 202, 299]
    assert [failed[i].details.get("id") for i in (5, 150, 299)] == existing_ids
    assert all(failed[i].code == "DUPLICATE_DATA" for i in (5, 150, 202, 299))
    assert failed[77].code == "INVALID_DATA" and failed[77].details["api_name"] == "Email"
    assert failed[200].code == "MANDATORY_NOT_FOUND"
    assert result.counts["success"] == 294
    assert len(stored(emulator)) == 3 + 294
    assert max(email_counts(emulator).values()) == 1
    assert emulator.counters.requests_by_route == {"POST /bigin/v2/Contacts": 3}


async def test_partial_update_failure_names_the_unknown_id() -> None:
    emulator = BiginEmulator()
    ids = [e["details"]["id"] for e in emulator.insert_records("Contacts", contacts(4))]
    changes = [{"id": record_id, "Phone": f"555-{n}"} for n, record_id in enumerate(ids)]
    changes.insert(2, {"id": "1234567890123456789", "Phone": "555-x"})
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_update(changes)
    assert [o.status for o in result.outcomes] == ["success", "success", "error", "success", "success"]
    assert result.outcomes[2].code == "INVALID_DATA"
    assert [emulator.store.table("Contacts").records[i]["Phone"] for i in ids] == [
        "555-0",
        "555-1",
        "555-2",
        "555-3",
    ]


async def test_inserts_whose_answer_is_lost_are_unknown_and_never_doubled() -> None:
    plan = FaultPlan(seed=1, drop_after=0.3, drop_before=0.1, methods=frozenset({"POST"}))
    emulator = BiginEmulator(faults=plan)
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_create(contacts(1000))
    faults = emulator.counters.faults_injected
    dropped = faults.get("drop_after", 0) + faults.get("drop_before", 0)
    assert faults.get("drop_after", 0) >= 1 and faults.get("drop_before", 0) >= 1
    # Not one insert was re-sent: ten batches, ten calls.
    assert emulator.counters.requests_by_route == {"POST /bigin/v2/Contacts": 10}
    assert result.counts["unknown"] == 100 * dropped and result.counts["success"] == 1000 - 100 * dropped
    assert all(o.code == "UNKNOWN_FATE" for o in result.unknown)
    # What the server holds: every applied record once; dropped-after batches were applied.
    counts = email_counts(emulator)
    assert max(counts.values()) == 1
    assert len(counts) == 1000 - 100 * faults.get("drop_before", 0)
    by_id = {record["id"]: record for record in stored(emulator)}
    assert all(by_id[o.id]["Email"] == f"person{o.index}@example.com" for o in result.succeeded if o.id)


async def test_upserts_under_5xx_drops_and_429_bursts_leave_every_record_exactly_once() -> None:
    # Seed 8 deals every kind of fault among the first 50 calls (4 drops after the write among them).
    plan = FaultPlan(
        seed=8, error_500=0.05, error_503=0.05, drop_before=0.025, drop_after=0.025, error_429=0.02
    )
    # A server that takes 4 calls at once while the client sends 10: bursts of immediate 429s.
    emulator = BiginEmulator(faults=plan, limits=ServerLimits(latency=0.002, max_concurrency=4))
    already = emulator.insert_records("Contacts", contacts(500, Phone="old"))
    kept_ids = {e["details"]["id"] for e in already}
    async with emulator.client(max_retries=25, retry_backoff_seconds=0.005, max_retry_after=1) as bigin:
        result = await bigin.contacts.bulk_upsert(contacts(5000, Phone="new"), ["Email"])
    counters = emulator.counters.snapshot()
    assert set(counters["faults_injected"]) == {
        "error_500",
        "error_503",
        "drop_before",
        "drop_after",
        "error_429",
    }
    assert counters["rejected_by_limit"].get("concurrency", 0) >= 1
    assert result.ok and result.counts["success"] == 5000
    counts = email_counts(emulator)
    assert len(counts) == 5000 and max(counts.values()) == 1
    records = stored(emulator)
    assert all(record["Phone"] == "new" for record in records)
    assert kept_ids <= {record["id"] for record in records}  # the 500 old ones were updated, not replaced
    assert counters["requests_by_route"]["POST /bigin/v2/Contacts/upsert"] > 50  # retries happened
