"""Reading bulk answers: the fast path agrees with the model, and unreadable answers lose nothing."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from bigin_async.bulk.answers import UnreadableAnswerError, read_answers
from bigin_async.models import parse_write_results
from bigin_emulator import BiginEmulator
from bigin_emulator.server.faults import FaultPlan
from bigin_emulator.state.store import index_key
from tests.helpers.fixtures import fixture_bytes

WRITE_ANSWERS = [
    "create_account_201.json",
    "delete_account.json",
    "link_product_already_linked.json",
    "link_product_to_contact.json",
    "maton_create_contact.json",
    "maton_delete_contacts_by_ids.json",
    "maton_update_contacts_bulk.json",
    "unlink_product_from_contact.json",
    "update_account.json",
    "upsert_account_updated.json",
    "upsert_contact_updated.json",
    "upsert_contact_with_lookup_updated.json",
]


def model_view(body: bytes | dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r.ok, r.id, r.code, r.message, r.details, r.action) for r in parse_write_results(body)]


def fast_view(body: bytes) -> list[tuple[Any, ...]]:
    return [(a.ok, a.id, a.code, a.message, a.details, a.action) for a in read_answers(body)]


@pytest.mark.parametrize("name", WRITE_ANSWERS)
def test_the_fast_path_reads_every_recorded_answer_as_the_model_does(name: str) -> None:
    body = fixture_bytes(name)
    assert fast_view(body) == model_view(body) and fast_view(body)


@pytest.mark.parametrize(
    "entry",
    [
        {"code": "SUCCESS", "details": {"id": 5545000000001000010}, "message": "ok", "status": "SUCCESS"},
        {"code": "SUCCESS", "details": {"id": "1"}, "message": "ok"},
        {
            "code": "DUPLICATE_DATA",
            "details": {"id": "9", "api_name": "Email"},
            "message": "dup",
            "status": "error",
        },
        {"code": "SUCCESS", "message": "ok", "status": "success", "id": "7"},
        {"code": "SUCCESS", "details": {"id": True}, "status": "success"},
        {"code": 200, "details": {"id": "3"}, "status": "success"},  # odd types: the model decides
        {"code": "SUCCESS", "details": {"id": 1.5}, "status": "success"},
        {"status": "success", "details": {"id": "4"}, "action": "update", "duplicate_field": "Email"},
    ],
)
def test_odd_entries_read_the_same_either_way(entry: dict[str, Any]) -> None:
    body = json.dumps({"data": [entry]}).encode()
    assert fast_view(body) == model_view(body)


def test_unreadable_bodies_raise_a_value_error() -> None:
    for body in (b'{"data": [{"code": "SUCC', b"<html>", b'{"data": [1]}'):
        with pytest.raises(UnreadableAnswerError):
            read_answers(body)
    assert read_answers(b"") == []


async def test_cut_off_answers_to_inserts_are_unknown_and_upserts_end_exactly_once() -> None:
    # Seed 5 cuts off the answers to the 3rd and 5th insert calls to arrive (which batches those
    # carry depends on the order concurrent calls arrive in), and to several upserts after them.
    emulator = BiginEmulator(faults=FaultPlan(seed=5, malformed_json=0.3))
    records = [{"Last_Name": f"L{i}", "Email": f"m{i}@example.com"} for i in range(1000)]
    async with emulator.client() as bigin:
        created = await bigin.contacts.bulk_create(records[:500])
        upserted = await bigin.contacts.bulk_upsert(records, ["Email"])
    mangled = emulator.counters.faults_injected["malformed_json"]
    assert mangled >= 2
    assert created.counts["unknown"] == 200 and {o.code for o in created.unknown} == {"MALFORMED_RESPONSE"}
    batches = Counter(o.index // 100 for o in created.unknown)
    assert len(batches) == 2 and set(batches.values()) == {100}  # two whole calls, not re-sent
    assert upserted.ok and upserted.counts["success"] == 1000
    emails = Counter(str(index_key(r["Email"])) for r in emulator.store.table("Contacts"))
    assert len(emails) == 1000 and max(emails.values()) == 1
