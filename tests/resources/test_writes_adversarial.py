"""Review of issue #9 writes: a single delete after a lost answer, read records in bulk inserts,
and one run at a time per journal."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from bigin_async import BiginClient
from bigin_async.errors import APIError, JournalError
from bigin_emulator import BiginEmulator
from tests.helpers.resources import wired_client
from tests.helpers.transport import API, make_client, mock_token

RECORD_ID = "5545000000000000123"
NOT_FOUND = {
    "data": [
        {
            "code": "INVALID_DATA",
            "details": {"id": RECORD_ID},
            "message": "the id given seems to be invalid",
            "status": "error",
        }
    ]
}
DELETED = {
    "data": [
        {"code": "SUCCESS", "details": {"id": RECORD_ID}, "message": "record deleted", "status": "success"}
    ]
}


class OneRecordOrg:
    """Bigin holding (or not) one record; the first DELETE is applied (if the record exists) and
    its connection dropped before the answer, like a proxy cutting it."""

    def __init__(self, exists: bool, drop_first: bool = True) -> None:
        self.exists = exists
        self.drop_first = drop_first
        self.attempts = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        found = self.exists
        self.exists = False
        if self.drop_first and self.attempts == 1:
            raise httpx.RemoteProtocolError("server disconnected without sending a response", request=request)
        return httpx.Response(200, json=DELETED) if found else httpx.Response(400, json=NOT_FOUND)


def delete_client(router: respx.MockRouter, org: OneRecordOrg) -> BiginClient:
    mock_token(router)
    router.delete(f"{API}/Contacts/{RECORD_ID}").mock(side_effect=org)
    router.delete(f"{API}/Contacts").mock(side_effect=lambda request: bulk_answer(org, request))
    return make_client()


def bulk_answer(org: OneRecordOrg, request: httpx.Request) -> httpx.Response:
    assert request.url.params["ids"] == RECORD_ID
    return org(request)


# -- item 6: a single delete after an ambiguous attempt -----------------------------------------
@pytest.mark.parametrize("existed", [True, False], ids=["applied-then-dropped", "never-existed"])
async def test_a_single_delete_not_found_after_a_dropped_attempt_is_maybe_already_deleted(
    existed: bool,
) -> None:
    org = OneRecordOrg(exists=existed)
    with respx.mock(assert_all_called=False) as router:
        async with delete_client(router, org) as bigin:
            result = await bigin.contacts.delete(RECORD_ID)
    assert org.attempts == 2
    # Gone now, either way; but Bigin answers alike for "deleted by the dropped attempt" and "never
    # there", so the SDK flags it rather than claim a deletion.
    assert result.ok and result.action == "delete" and result.id == RECORD_ID
    assert result.code == "MAYBE_ALREADY_DELETED"
    assert result.details == {"id": RECORD_ID, "maybe_never_existed": True}
    assert "never existed" in (result.message or "")


async def test_a_single_delete_says_what_bulk_delete_says_for_the_same_answers() -> None:
    with respx.mock(assert_all_called=False) as router:
        async with delete_client(router, OneRecordOrg(exists=False)) as bigin:
            single = await bigin.contacts.delete(RECORD_ID)
    with respx.mock(assert_all_called=False) as router:
        async with delete_client(router, OneRecordOrg(exists=False)) as bigin:
            bulk = (await bigin.contacts.bulk_delete([RECORD_ID])).outcomes[0]
    assert (single.code, single.message, single.details) == (bulk.code, bulk.message, bulk.details)


async def test_a_single_delete_not_found_without_an_ambiguous_attempt_stays_an_error() -> None:
    org = OneRecordOrg(exists=False, drop_first=False)
    with respx.mock(assert_all_called=False) as router:
        async with delete_client(router, org) as bigin:
            with pytest.raises(APIError) as raised:
                await bigin.contacts.delete(RECORD_ID)
    assert raised.value.code == "INVALID_DATA" and org.attempts == 1


async def test_a_single_delete_retry_answer_about_another_id_keeps_its_error() -> None:
    other = "5545000000000000999"
    answers: list[Any] = [
        httpx.RemoteProtocolError("dropped"),
        httpx.Response(400, json={"data": [{**NOT_FOUND["data"][0], "details": {"id": other}}]}),
    ]
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        router.delete(f"{API}/Contacts/{RECORD_ID}").mock(side_effect=answers)
        async with make_client() as bigin:
            with pytest.raises(APIError) as raised:
                await bigin.contacts.delete(RECORD_ID)
    assert raised.value.code == "INVALID_DATA"


async def test_a_single_delete_other_errors_after_a_dropped_attempt_stand() -> None:
    refused = {
        "data": [
            {"code": "NO_PERMISSION", "details": {"id": RECORD_ID}, "message": "not yours", "status": "error"}
        ]
    }
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        router.delete(f"{API}/Contacts/{RECORD_ID}").mock(
            side_effect=[httpx.RemoteProtocolError("dropped"), httpx.Response(400, json=refused)]
        )
        async with make_client() as bigin:
            with pytest.raises(APIError) as raised:
                await bigin.contacts.delete(RECORD_ID)
    assert raised.value.code == "NO_PERMISSION"


# -- bulk inserts refuse a record read from Bigin, per record --------------------------------------
@pytest.mark.parametrize("mode", ["create", "upsert"])
async def test_bulk_create_and_upsert_refuse_a_read_record_alone(mode: str) -> None:
    emulator = BiginEmulator()
    existing = emulator.insert_records("Contacts", [{"Last_Name": "Lovelace", "Email": "ada@example.com"}])
    async with wired_client(emulator) as (bigin, wire):
        read = await bigin.contacts.get(existing[0]["details"]["id"])
        read.Last_Name = "Byron"  # a change: the check_record path would send it as id + Last_Name
        records = [
            {"Last_Name": "Turing", "Email": "alan@example.com"},
            read,
            {"Last_Name": "Hopper", "Email": "g@x.com"},
        ]
        if mode == "create":
            result = await bigin.contacts.bulk_create(records)
        else:
            result = await bigin.contacts.bulk_upsert(records, ["Email"])
    assert [o.status for o in result] == ["success", "error", "success"]
    refused = result.outcomes[1]
    assert refused.code == "INVALID_INPUT" and "read from Bigin" in (refused.message or "")
    assert refused.record is read
    sent = [r for s in wire.sent if s.method == "POST" for r in s.body["data"]]
    assert [r.get("Last_Name") for r in sent] == ["Turing", "Hopper"]  # the read record never went
    assert sorted(r["Last_Name"] for r in emulator.store.table("Contacts")) == [
        "Hopper",
        "Lovelace",
        "Turing",
    ]


async def test_bulk_update_still_takes_a_read_record() -> None:
    emulator = BiginEmulator()
    existing = emulator.insert_records("Contacts", [{"Last_Name": "Lovelace"}])
    async with wired_client(emulator) as (bigin, _):
        read = await bigin.contacts.get(existing[0]["details"]["id"])
        read.Last_Name = "Byron"
        result = await bigin.contacts.bulk_update([read])
    assert result.ok and [r["Last_Name"] for r in emulator.store.table("Contacts")] == ["Byron"]


# -- one run at a time per journal ------------------------------------------------------------------
HOLDER = """
import sys
from bigin_async.bulk.journal import Journal
journal = Journal(sys.argv[1], module="Contacts", mode="create")
journal.lock()
print("locked", flush=True)
sys.stdin.read()  # held until the parent closes our stdin (or kills us)
"""


@pytest.mark.parametrize("ends", ["exits", "killed"])
async def test_a_journal_held_by_another_process_is_refused_before_anything_is_sent(
    tmp_path: Path, ends: str
) -> None:
    journal = tmp_path / "import.journal"
    repo = Path(__file__).resolve().parents[2]
    emulator = BiginEmulator()
    async with await anyio.open_process([sys.executable, "-c", HOLDER, str(journal)], cwd=repo) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        with anyio.fail_after(60):  # a safety bound only: the child says when it holds the lock
            said = b""
            while b"\n" not in said:
                said += await holder.stdout.receive()
        assert said.strip() == b"locked"
        async with wired_client(emulator) as (bigin, wire):
            with pytest.raises(JournalError) as raised:
                await bigin.contacts.bulk_create([{"Last_Name": "Lovelace"}], journal=str(journal))
            assert "in use by another run" in str(raised.value) and str(journal) in str(raised.value)
            assert raised.value.path == str(journal)
            assert wire.sent == [] and len(emulator.store.table("Contacts")) == 0
        if ends == "killed":
            holder.kill()  # a crashed holder: the system releases its lock
        else:
            await holder.stdin.aclose()
        with anyio.fail_after(60):
            await holder.wait()
    async with wired_client(emulator) as (bigin, _):
        result = await bigin.contacts.bulk_create([{"Last_Name": "Lovelace"}], journal=str(journal))
    assert result.ok and len(emulator.store.table("Contacts")) == 1


async def test_a_journal_that_cannot_be_read_is_unlocked_again(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    journal.write_bytes(b"not a journal\n")
    emulator = BiginEmulator()
    async with wired_client(emulator) as (bigin, wire):
        for _ in range(2):  # the second try is refused for the damage again, not for a stale lock
            with pytest.raises(JournalError) as raised:
                await bigin.contacts.bulk_create([{"Last_Name": "Lovelace"}], journal=str(journal))
            assert "in use" not in str(raised.value)
        journal.unlink()
        result = await bigin.contacts.bulk_create([{"Last_Name": "Lovelace"}], journal=str(journal))
    assert result.ok and len(wire.sent) == 1


async def test_two_runs_of_one_process_on_one_journal_are_refused_too(tmp_path: Path) -> None:
    journal = str(tmp_path / "j")
    emulator = BiginEmulator()
    second: list[BaseException] = []
    async with wired_client(emulator) as (bigin, wire):

        async def records() -> AsyncIterator[dict[str, Any]]:
            yield {"Last_Name": "first"}
            try:  # the first run is under way (journal open): a second run on it now
                await bigin.contacts.bulk_create([{"Last_Name": "second"}], journal=journal)
            except JournalError as error:
                second.append(error)
            yield {"Last_Name": "first too"}

        result = await bigin.contacts.bulk_create(records(), journal=journal)
    assert result.ok and len(second) == 1 and "in use by another run" in str(second[0])
    assert sorted(r["Last_Name"] for r in emulator.store.table("Contacts")) == ["first", "first too"]
    assert len(wire.sent) == 1


async def test_a_run_cancelled_while_it_reads_its_journal_leaves_it_free(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from bigin_async.bulk.journal import Journal

    journal = str(tmp_path / "j")
    emulator = BiginEmulator()
    load = Journal.load
    async with wired_client(emulator) as (bigin, wire):
        with anyio.CancelScope() as scope:

            def cancelling_load(self: Journal) -> None:
                anyio.from_thread.run_sync(scope.cancel)  # cancelled while the journal is locked and read
                load(self)

            monkeypatch.setattr(Journal, "load", cancelling_load)
            await bigin.contacts.bulk_create([{"Last_Name": "never"}], journal=journal)
        assert scope.cancelled_caught and wire.sent == []
        monkeypatch.setattr(Journal, "load", load)
        result = await bigin.contacts.bulk_create([{"Last_Name": "Lovelace"}], journal=journal)
    assert result.ok and len(emulator.store.table("Contacts")) == 1
