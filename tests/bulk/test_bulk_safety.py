"""Bulk writes that must not double, lie or blow up: keyless upserts, deletes after a lost answer,
bad values in one record, and the caller's own exceptions."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigin_async import BiginClient, ValidationError
from bigin_async.bulk import carries_upsert_key
from bigin_emulator import BiginEmulator
from tests.helpers.crash import run_once
from tests.helpers.sink import CountingSink

Handler = Callable[[httpx.Request], httpx.Response]


def client(api: Handler, **kwargs: Any) -> BiginClient:
    def route(request: httpx.Request) -> httpx.Response:
        if "/oauth/" in request.url.path:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return api(request)

    options: dict[str, Any] = {"retry_backoff_seconds": 0, **kwargs}
    return BiginClient(
        client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(route), **options
    )


class UpsertOrg:
    """Upserts on Email; each call is applied and, the first time its body is seen, its answer lost."""

    def __init__(self) -> None:
        self.by_email: dict[str, dict[str, Any]] = {}
        self.keyless: list[dict[str, Any]] = []
        self.calls: list[int] = []
        self.seen: set[bytes] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        records = json.loads(request.content)["data"]
        self.calls.append(len(records))
        first = request.content not in self.seen
        self.seen.add(request.content)
        entries = []
        for record in records:
            email = record.get("Email")
            if email:
                action = "update" if email in self.by_email else "insert"
                self.by_email[email] = record
            else:
                action = "insert"
                self.keyless.append(record)
            entries.append(
                {
                    "code": "SUCCESS",
                    "status": "success",
                    "action": action,
                    "message": "ok",
                    "details": {"id": str(7 * 10**18 + len(self.keyless) + len(self.by_email))},
                }
            )
        if first:
            raise httpx.ReadTimeout("answer lost after the server applied the upsert", request=request)
        return httpx.Response(200, json={"data": entries})


# -- 5: upserts of records without their duplicate-check value -----------------------------------


async def test_a_keyless_upsert_is_never_retried_after_a_lost_answer() -> None:
    org = UpsertOrg()
    records = [
        {"Last_Name": "a", "Email": "a@x.com"},
        {"Last_Name": "keyless"},
        {"Last_Name": "b", "Email": "b@x.com"},
    ]
    async with client(org) as bigin:
        result = await bigin.contacts.bulk_upsert(records)
    assert len(org.keyless) == 1, "the record without an Email was inserted twice"
    assert [o.status for o in result] == ["success", "unknown", "success"]
    assert result.outcomes[1].code == "UNKNOWN_FATE"
    assert set(org.by_email) == {"a@x.com", "b@x.com"}


async def test_explicit_check_fields_decide_what_a_key_is() -> None:
    org = UpsertOrg()
    records = [{"Last_Name": "a", "Email": "a@x.com"}, {"Last_Name": "b", "Phone": "1"}]
    async with client(org) as bigin:
        result = await bigin.contacts.bulk_upsert(records, ["Phone"])
    # Checked on Phone: the record with only an Email is the keyless one.
    assert [o.status for o in result] == ["unknown", "success"]


def test_what_carries_an_upsert_key() -> None:
    assert carries_upsert_key({"Email": "a@x.com"}, "Contacts")
    assert not carries_upsert_key({"Email": ""}, "Contacts")
    assert not carries_upsert_key({"Email": "  "}, "Contacts")
    assert not carries_upsert_key({"Email": None, "Last_Name": "x"}, "Contacts")
    assert carries_upsert_key({"Account_Name": "Acme"}, "Accounts")
    assert not carries_upsert_key({"Deal_Name": "d"}, "Pipelines")  # no unique field known: an insert
    assert carries_upsert_key({"Deal_Name": "d"}, "Pipelines", ["Deal_Name"])
    assert carries_upsert_key({"Phone": "1", "Email": ""}, "Contacts", ["Email", "Phone"])


async def test_a_crashed_keyless_upsert_is_unknown_on_resume_and_keyed_ones_are_sent_again(
    tmp_path: Path,
) -> None:
    journal = str(tmp_path / "j")
    emulator = BiginEmulator()
    records = [{"Last_Name": f"n{i}", **({"Email": f"p{i}@x.com"} if i % 2 else {})} for i in range(10)]
    first, _ = await run_once(
        emulator, lambda b: b.contacts.bulk_upsert(records, journal=journal), crash_at=1
    )
    assert first is None
    keyless_applied = any(r.get("Email") is None for r in emulator.store.table("Contacts"))
    again, _ = await run_once(emulator, lambda b: b.contacts.bulk_upsert(records, journal=journal))
    assert again is not None
    assert len(emulator.store.table("Contacts")) == 10  # nothing doubled
    assert [o.status for o in again.outcomes[1::2]] == ["success"] * 5
    # The keyless ones were in flight when it died (unknown), or never sent (sent now).
    assert [o.status for o in again.outcomes[0::2]] == ["unknown" if keyless_applied else "success"] * 5


# -- 6: deletes after an ambiguous attempt ---------------------------------------------------------


class DeleteOrg:
    def __init__(self, alive: set[str], lose_first: bool = True) -> None:
        self.alive = alive
        self.attempts = 0
        self.lose_first = lose_first

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        entries = []
        for record_id in request.url.params["ids"].split(","):
            if record_id in self.alive:
                self.alive.discard(record_id)
                entries.append(
                    {
                        "code": "SUCCESS",
                        "details": {"id": record_id},
                        "message": "record deleted",
                        "status": "success",
                    }
                )
            else:
                entries.append(
                    {
                        "code": "INVALID_DATA",
                        "details": {"id": record_id},
                        "message": "the id given seems to be invalid",
                        "status": "error",
                    }
                )
        if self.lose_first and self.attempts == 1:
            raise httpx.ReadTimeout("answer lost", request=request)
        # Bigin answers 400 only when every record failed.
        ok = any(e["status"] == "success" for e in entries)
        return httpx.Response(200 if ok else 400, json={"data": entries})


async def test_a_delete_not_found_after_a_lost_answer_is_flagged_as_maybe_never_existing() -> None:
    ids = [str(7 * 10**18 + i) for i in range(3)]
    never = str(8 * 10**18)
    async with client(DeleteOrg(set(ids))) as bigin:
        result = await bigin.contacts.bulk_delete([*ids, never])
    gone = result.outcomes
    assert [o.status for o in gone] == ["success"] * 4  # every id is gone now...
    # ...but the SDK cannot know whether each existed: it says so instead of claiming a deletion.
    assert all(o.code == "MAYBE_ALREADY_DELETED" and o.details.get("maybe_never_existed") for o in gone)
    assert result.maybe_deleted == 4
    assert "never existed" in (gone[3].message or "")


async def test_a_delete_not_found_without_an_ambiguous_attempt_keeps_its_error() -> None:
    ids = [str(7 * 10**18 + i) for i in range(2)]
    never = str(8 * 10**18)
    async with client(DeleteOrg(set(ids), lose_first=False)) as bigin:
        result = await bigin.contacts.bulk_delete([*ids, never])
    assert [o.status for o in result] == ["success", "success", "error"]
    assert result.outcomes[2].code == "INVALID_DATA"


async def test_other_delete_errors_keep_their_error_after_a_lost_answer() -> None:
    ids = [str(7 * 10**18 + i) for i in range(2)]

    def api(request: httpx.Request) -> httpx.Response:
        api.attempts += 1  # type: ignore[attr-defined]
        if api.attempts == 1:  # type: ignore[attr-defined]
            raise httpx.ReadTimeout("lost", request=request)
        entries = [
            {"code": "NO_PERMISSION", "details": {"id": i}, "message": "not yours", "status": "error"}
            for i in ids
        ]
        return httpx.Response(400, json={"data": entries})

    api.attempts = 0  # type: ignore[attr-defined]
    async with client(api) as bigin:
        result = await bigin.contacts.bulk_delete(ids)
    assert [o.code for o in result] == ["NO_PERMISSION", "NO_PERMISSION"]


async def test_a_resumed_delete_reads_not_found_as_maybe_deleted_only_for_ids_the_crash_left_in_flight(
    tmp_path: Path,
) -> None:
    journal = str(tmp_path / "j")
    emulator = BiginEmulator()
    ids = [
        e["details"]["id"]
        for e in emulator.insert_records("Contacts", [{"Last_Name": f"n{i}"} for i in range(5)])
    ]
    never = str(9 * 10**18)
    first, _ = await run_once(emulator, lambda b: b.contacts.bulk_delete(ids, journal=journal), crash_at=1)
    assert first is None and len(emulator.store.table("Contacts")) == 0
    again, _ = await run_once(emulator, lambda b: b.contacts.bulk_delete([*ids, never], journal=journal))
    assert again is not None
    assert [o.status for o in again] == ["success"] * 5 + ["error"]
    assert {o.code for o in again.outcomes[:5]} == {"MAYBE_ALREADY_DELETED"}
    assert again.outcomes[5].code == "INVALID_DATA"  # never in flight: its error stands


# -- 7: values that are not JSON ------------------------------------------------------------------


class _Opaque:
    pass


BAD_VALUES: list[tuple[str, Any]] = [
    ("bytes", b"\x00\x01"),
    ("bytearray", bytearray(b"x")),
    ("object", _Opaque()),
    ("nan", math.nan),
    ("inf", math.inf),
    ("-inf", -math.inf),
    ("decimal nan", Decimal("NaN")),
    ("decimal inf", Decimal("Infinity")),
    ("naive datetime", datetime(2026, 2, 6, 0, 28, 53)),
    ("nested bytes", {"id": b"1"}),
    ("nested nan", [1.0, math.nan]),
    ("bytes in a set", {b"x"}),
    ("nested object", {"a": [{"b": _Opaque()}]}),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=[n for n, _ in BAD_VALUES])
async def test_a_bad_value_fails_its_own_record_and_the_batch_still_goes(name: str, value: Any) -> None:
    sink = CountingSink()
    records = [{"Last_Name": "ok 0"}, {"Last_Name": "bad", "Custom_Field": value}, {"Last_Name": "ok 2"}]
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(records)
    assert [o.status for o in result] == ["success", "error", "success"]
    assert result.outcomes[1].code == "INVALID_INPUT" and "Custom_Field" in (result.outcomes[1].message or "")
    assert sink.records == 2


def test_wire_value_refuses_bad_values_with_a_typed_error_that_says_why() -> None:
    from bigin_async.models import wire_value

    for _name, value in BAD_VALUES:
        with pytest.raises(ValidationError):
            wire_value(value)
    with pytest.raises(ValidationError, match="offset"):
        wire_value(datetime(2026, 2, 6))
    with pytest.raises(ValidationError, match="bytes"):
        wire_value(b"x")


# -- 8: the caller's own exceptions come back as themselves -----------------------------------------


class Boom(Exception):
    pass


async def test_an_on_result_exception_is_raised_as_itself_and_the_journal_keeps_what_was_sent(
    tmp_path: Path,
) -> None:
    journal = str(tmp_path / "j")
    sink = CountingSink()
    seen: list[int] = []

    def on_result(outcome: Any) -> None:
        seen.append(outcome.index)
        if len(seen) == 150:
            raise Boom("mine")

    records = [{"Last_Name": f"n{i}"} for i in range(600)]
    async with sink.client() as bigin:
        with pytest.raises(Boom, match="mine"):
            await bigin.contacts.bulk_create(records, journal=journal, on_result=on_result)
        sent_before = sink.records
        again = await bigin.contacts.bulk_create(records, journal=journal)
    assert sent_before >= 200
    assert again.counts["unknown"] == 0 and again.skipped == sent_before
    assert sink.records == 600  # nothing sent twice


async def test_an_on_progress_exception_is_raised_as_itself() -> None:
    def on_progress(progress: Any) -> None:
        raise Boom("progress")

    async with CountingSink().client() as bigin:
        with pytest.raises(Boom, match="progress"):
            await bigin.contacts.bulk_create([{"Last_Name": "a"}], on_progress=on_progress)


async def test_an_input_iterator_exception_is_raised_as_itself_and_a_rerun_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    journal = str(tmp_path / "j")
    sink = CountingSink()

    def broken() -> Iterator[dict[str, Any]]:
        for i in range(250):
            yield {"Last_Name": f"n{i}"}
        raise Boom("input")

    async with sink.client() as bigin:
        with pytest.raises(Boom, match="input"):
            await bigin.contacts.bulk_create(broken(), journal=journal)
        again = await bigin.contacts.bulk_create(
            [{"Last_Name": f"n{i}"} for i in range(250)], journal=journal
        )
    assert again.ok and again.counts["unknown"] == 0
    assert sink.records == 250


class _EndsTheWrongWay:
    """A sync iterator that raises StopAsyncIteration (a bug of the caller's) after 150 records."""

    def __init__(self) -> None:
        self.read = 0

    def __iter__(self) -> _EndsTheWrongWay:
        return self

    def __next__(self) -> dict[str, Any]:
        self.read += 1
        if self.read > 150:
            raise StopAsyncIteration("the caller's bug")
        return {"Last_Name": f"n{self.read}"}


async def test_an_input_raising_stop_async_iteration_cannot_end_the_caller_s_loop_quietly() -> None:
    sink = CountingSink()

    class Imports:
        """A caller's own async iterator that awaits a bulk run per step."""

        def __init__(self, bigin: BiginClient) -> None:
            self.bigin, self.step = bigin, 0

        def __aiter__(self) -> Imports:
            return self

        async def __anext__(self) -> Any:
            self.step += 1
            if self.step > 2:
                raise StopAsyncIteration
            return await self.bigin.contacts.bulk_create(_EndsTheWrongWay())

    async with sink.client() as bigin:
        with pytest.raises(RuntimeError, match="StopAsyncIteration") as raised:
            _ = [result async for result in Imports(bigin)]
        assert isinstance(raised.value.__cause__, StopAsyncIteration)

        def rows() -> Iterator[dict[str, Any]]:
            yield {"Last_Name": "a"}
            raise StopAsyncIteration

        with pytest.raises(RuntimeError, match="StopAsyncIteration"):
            await bigin.contacts.bulk_create(rows())
    assert sink.records <= 151  # what was read before the bug, at most: nothing twice


async def test_a_delete_whose_answer_was_unreadable_is_maybe_deleted_on_resume(tmp_path: Path) -> None:
    from bigin_emulator.server.faults import FaultPlan

    journal = str(tmp_path / "j")
    broken = BiginEmulator(faults=FaultPlan(seed=1, malformed_json=1.0))
    ids = [
        e["details"]["id"]
        for e in broken.insert_records("Contacts", [{"Last_Name": f"n{i}"} for i in range(3)])
    ]
    async with broken.client() as bigin:
        first = await bigin.contacts.bulk_delete(ids, journal=journal)
    assert {o.code for o in first} == {"MALFORMED_RESPONSE"} and len(broken.store.table("Contacts")) == 0
    healthy = BiginEmulator()
    healthy.import_state(broken.export_state())
    async with healthy.client() as bigin:
        again = await bigin.contacts.bulk_delete(ids, journal=journal)
    assert [o.status for o in again] == ["success"] * 3 and {o.code for o in again} == {
        "MAYBE_ALREADY_DELETED"
    }
