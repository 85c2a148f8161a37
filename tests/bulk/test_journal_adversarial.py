"""Adversarial review of the bulk journal (issue #9): disk failures while journaling, the
journal's directory entry, fingerprint collisions, matching of edited and repeated input."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any
from unittest import mock

import anyio
import httpx
import pytest

from bigin_async import BiginClient
from bigin_async.bulk import Journal
from bigin_async.bulk.engine import BulkPlan, run_bulk
from bigin_async.errors import JournalError
from tests.helpers.sink import CountingSink, success

HEADER = {"t": "header", "module": "Contacts", "mode": "create", "v": 2}


def contacts(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Last_Name": f"Doe {i}"} for i in range(start, start + n)]


def recording_sink() -> tuple[CountingSink, list[str]]:
    """A sink that answers every record with success and keeps the names it was sent, in order."""
    sent: list[str] = []

    def entry(position: int, record: dict[str, Any]) -> dict[str, Any]:
        sent.append(record["Last_Name"])
        return success(position, record)

    return CountingSink(entry), sent


class FailingDisk:
    """``os.fsync`` of the journal fails (EIO, ENOSPC) from its ``n``-th call on; every call recorded."""

    def __init__(self, n: int, code: int = errno.EIO) -> None:
        self.n = n
        self.code = code
        self.calls = 0
        self.real = os.fsync

    def __call__(self, fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            self.real(fd)
            return
        self.calls += 1
        if self.calls >= self.n:
            raise OSError(self.code, os.strerror(self.code))
        self.real(fd)


@pytest.mark.parametrize("code", [errno.EIO, errno.ENOSPC])
async def test_a_pending_line_that_cannot_be_synced_stops_the_run_before_its_batch_is_sent(
    tmp_path: Path, code: int
) -> None:
    sink, sent = recording_sink()
    path = tmp_path / "j"
    disk = FailingDisk(3, code)  # 1: header, 2: the first pending line, 3: the next line fails
    async with sink.client() as bigin:
        with (
            mock.patch("os.fsync", disk),
            pytest.raises(JournalError, match="could not be written") as raised,
        ):
            await bigin.contacts.bulk_create(contacts(300), journal=str(path))
    assert isinstance(raised.value.__cause__, OSError)
    assert sink.calls <= 1  # only the batch whose pending line was synced went out
    first = len(sent)
    # The failed line is taken back: the resumed run sends what was never sent, nothing twice,
    # and a batch sent without its answer journaled is unknown, not sent again.
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(contacts(300), journal=str(path))
    assert len(sent) == len(set(sent))
    assert len(sent) - first + result.counts["unknown"] == 300
    assert result.counts["unknown"] == first
    assert result.counts["success"] == 300 - first


async def test_after_a_failed_journal_write_nothing_more_is_appended_so_no_line_is_torn_in_the_middle(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j"
    journal = Journal(path, module="Contacts", mode="create")
    journal.lock_and_load()
    try:
        await journal.log_pending([0], ["00" * 8])
        size = path.stat().st_size
        real_write = os.write

        def half(fd: int, data: bytes) -> int:  # the disk fills up mid-line
            if len(data) > 5:
                real_write(fd, data[:5])
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        with mock.patch("os.write", half), pytest.raises(JournalError):
            await journal.log_pending([1], ["11" * 8])
        assert path.stat().st_size == size  # the fragment is cut off again
        with pytest.raises(JournalError, match="could not be written"):
            await journal.log_pending([2], ["22" * 8])  # the journal is not trusted any more
    finally:
        journal.close()
    assert path.stat().st_size == size
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["t"] for line in lines] == ["header", "pending"]


async def test_a_new_journal_has_its_directory_entry_synced_so_a_power_cut_cannot_make_it_vanish(
    tmp_path: Path,
) -> None:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    sink = CountingSink()
    async with sink.client() as bigin:
        with mock.patch("os.fsync", fsync):
            await bigin.contacts.bulk_create(contacts(150), journal=str(tmp_path / "new" / "j"))
    assert "dir" in synced
    # ... and before the first batch goes out: the directory is synced before the first pending line.
    assert synced.index("dir") < synced.index("file", 1) if synced.count("file") > 1 else True
    # A journal that exists already is not synced again.
    synced.clear()
    async with sink.client() as bigin:
        with mock.patch("os.fsync", fsync):
            await bigin.contacts.bulk_create(contacts(150, 150), journal=str(tmp_path / "new" / "j"))
    assert "dir" not in synced


class ShakyOrg:
    """Bigin holding some records; while ``failing``, every DELETE is applied, then answered 500."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = set(ids)
        self.failing = True
        self.deletes = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        assert request.method == "DELETE"
        self.deletes += 1
        data = []
        for record_id in request.url.params["ids"].split(","):
            if record_id in self.ids:
                self.ids.discard(record_id)
                data.append(
                    {
                        "code": "SUCCESS",
                        "details": {"id": record_id},
                        "message": "record deleted",
                        "status": "success",
                    }
                )
            else:
                data.append(
                    {
                        "code": "INVALID_DATA",
                        "details": {"id": record_id},
                        "message": "the id given seems to be invalid",
                        "status": "error",
                    }
                )
        if self.failing:
            return httpx.Response(
                500, json={"code": "INTERNAL_ERROR", "message": "internal error", "status": "error"}
            )
        return httpx.Response(200, json={"data": data})

    def client(self) -> BiginClient:
        return BiginClient(
            client_id="a",
            client_secret="b",
            refresh_token="c",
            max_retries=1,
            retry_backoff_seconds=0.0,
            transport=httpx.MockTransport(self),
        )


async def test_a_delete_whose_5xx_outlasted_the_retries_is_maybe_already_deleted_when_resumed(
    tmp_path: Path,
) -> None:
    ids = [str(5545000000000000000 + n) for n in range(3)]
    org = ShakyOrg(ids[:2])  # the third id never existed
    path = str(tmp_path / "j")
    async with org.client() as bigin:
        first = await bigin.contacts.bulk_delete(ids, journal=path)
    assert first.counts["error"] == 3 and not org.ids  # 500s, but the server deleted them
    org.failing = False
    async with org.client() as bigin:
        second = await bigin.contacts.bulk_delete(ids, journal=path)
    # The attempts of the first run may have deleted every one of them: not found now is not an
    # error but "gone, maybe never there", as within one run.
    assert [o.code for o in second.outcomes] == ["MAYBE_ALREADY_DELETED"] * 3
    assert all(o.ok and o.details.get("maybe_never_existed") for o in second.outcomes)
    assert second.counts["error"] == 0


# -- reading damaged journals ----------------------------------------------------------------------
def write_journal(path: Path, lines: list[str], tail: str = "") -> None:
    path.write_text("".join(line + "\n" for line in [json.dumps(HEADER), *lines]) + tail)


def pending(*hashes: str) -> str:
    return json.dumps({"t": "pending", "i": list(range(len(hashes))), "h": list(hashes)})


async def test_a_torn_tail_after_a_damaged_last_complete_line_is_refused_not_cut_past(tmp_path: Path) -> None:
    path = tmp_path / "j"
    write_journal(path, [pending("ab" * 8), '{"t": "done", "o": 5}'], tail='{"t":"pen')
    before = path.read_bytes()
    journal = Journal(path, module="Contacts", mode="create")
    with pytest.raises(JournalError, match="line 3") as raised:
        journal.lock_and_load()
    assert raised.value.line == 3
    assert path.read_bytes() == before  # nothing cut, nothing appended


async def test_a_line_torn_in_the_middle_is_refused_by_line_in_a_version_2_journal(tmp_path: Path) -> None:
    # Two runs appending at once (before the lock existed): one line glued onto another's fragment.
    path = tmp_path / "j"
    glued = '{"t":"pending","i":[0],"h":["' + "cd" * 8 + '"]}'
    write_journal(path, [pending("ab" * 8), '{"t":"do' + glued, pending("ef" * 8)])
    journal = Journal(path, module="Contacts", mode="create")
    with pytest.raises(JournalError, match="line 3"):
        journal.load()


async def test_a_journal_of_another_input_matches_nothing_and_says_so(tmp_path: Path) -> None:
    sink = CountingSink()
    path = str(tmp_path / "j")
    async with sink.client() as bigin:
        await bigin.contacts.bulk_create(contacts(150), journal=path)
        other = await bigin.contacts.bulk_create(contacts(120, 1000), journal=path)
        same = await bigin.contacts.bulk_create(contacts(150), journal=path)
    assert other.journal_matched == 0 and other.skipped == 0 and other.counts["success"] == 120
    assert same.journal_matched == 150 and same.skipped == 150
    assert sink.records == 270


async def test_an_upsert_batch_of_only_keyless_records_is_unknown_after_a_lost_answer_not_resent(
    tmp_path: Path,
) -> None:
    bodies: list[bytes] = []

    def lose_first(request: httpx.Request) -> httpx.Response:
        if "/oauth/" in request.url.path:
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        bodies.append(request.content)
        records = json.loads(request.content)["data"]
        if len(bodies) == 1:
            raise httpx.ReadTimeout("answer lost after the server applied it", request=request)
        data = [
            {
                "code": "SUCCESS",
                "status": "success",
                "action": "insert",
                "message": "ok",
                "details": {"id": str(7 * 10**18 + n)},
            }
            for n, _ in enumerate(records)
        ]
        return httpx.Response(200, json={"data": data})

    records = [
        {"Last_Name": "a", "Email": "  "},
        {"Last_Name": "b", "Email": None},
        {"Last_Name": "c"},
        {"Last_Name": "d", "Email": ""},
    ]
    path = str(tmp_path / "j")
    async with BiginClient(
        client_id="a",
        client_secret="b",
        refresh_token="c",
        retry_backoff_seconds=0,
        transport=httpx.MockTransport(lose_first),
    ) as bigin:
        first = await bigin.contacts.bulk_upsert(records, journal=path)
        again = await bigin.contacts.bulk_upsert(records, journal=path)
    assert len(bodies) == 1  # neither retried nor re-sent by the resumed run
    assert [o.status for o in first] == ["unknown"] * 4
    assert [o.status for o in again] == ["unknown"] * 4 and again.skipped == 4


async def test_an_error_retried_to_success_does_not_stand_in_for_a_second_identical_record(
    tmp_path: Path,
) -> None:
    # Run 1: the record fails; run 2 (retry_failed) sends it again and it succeeds. The first error
    # was superseded by that success: it is no outcome of a second record, so a third run whose
    # input now holds two identical records must send the second one, not report the old error.
    tries: list[str] = []

    def flaky(position: int, record: dict[str, Any]) -> dict[str, Any]:
        tries.append(record["Last_Name"])
        if len(tries) == 1:
            return {
                "code": "INVALID_DATA",
                "details": {"api_name": "Phone"},
                "message": "invalid data",
                "status": "error",
            }
        return success(position, record)

    sink = CountingSink(flaky)
    path = str(tmp_path / "j")
    twin = {"Last_Name": "Twin"}
    async with sink.client() as bigin:
        first = await bigin.contacts.bulk_create([twin], journal=path)
        plan = BulkPlan("Contacts", "create", retry_failed=True)
        second = await run_bulk(bigin.contacts._transport, plan, [twin], journal_path=path)
        third = await bigin.contacts.bulk_create([twin, twin], journal=path)
    assert [o.status for o in first] == ["error"] and [o.status for o in second] == ["success"]
    assert [(o.status, o.from_journal) for o in third] == [("success", True), ("success", False)]
    assert tries == ["Twin"] * 3


@pytest.mark.parametrize("x", ['"ab"', '[["ab"]]', '[["abababababababab", "lost"]]', '[[5, "error"]]'])
async def test_a_damaged_list_of_superseded_outcomes_is_refused_by_line(tmp_path: Path, x: str) -> None:
    path = tmp_path / "j"
    write_journal(path, [pending("ab" * 8), '{"t":"done","o":[],"x":' + x + "}"])
    with pytest.raises(JournalError, match="line 3"):
        Journal(path, module="Contacts", mode="create").load()


class Stalling:
    """Bulk inserts answered only once the test lets them through; each request announces itself."""

    def __init__(self) -> None:
        self.arrived = anyio.Event()
        self.release = anyio.Event()
        self.names: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        records = json.loads(request.content)["data"]
        self.names += [r["Last_Name"] for r in records]
        self.arrived.set()
        await self.release.wait()
        return httpx.Response(
            201, json={"data": [success(len(self.names) + n, r) for n, r in enumerate(records)]}
        )


async def test_a_bulk_writer_block_that_raises_lets_its_batch_in_flight_finish_and_be_journaled(
    tmp_path: Path,
) -> None:
    org = Stalling()
    path = str(tmp_path / "j")
    async with BiginClient(
        client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(org)
    ) as bigin:
        with anyio.fail_after(30), pytest.raises(KeyError, match="producer bug"):
            async with bigin.contacts.bulk_writer("create", journal=path) as writer:
                for record in contacts(100):
                    await writer.add(record)
                await org.arrived.wait()  # the first batch is at the server
                org.release.set()
                raise KeyError("producer bug")
        assert len(org.names) == 100
        # Cancelling that batch would have made 100 known inserts unknown: a re-run finds them done.
        again = await bigin.contacts.bulk_create(contacts(100), journal=path)
    assert again.skipped == 100 and again.counts["success"] == 100 and again.counts["unknown"] == 0
    assert len(org.names) == 100


@pytest.mark.parametrize("failing_sync", [2, 4, 7, 12])
async def test_whenever_the_disk_fails_no_record_is_sent_without_its_pending_line_nor_twice_after(
    tmp_path: Path, failing_sync: int
) -> None:
    sink, sent = recording_sink()
    path = tmp_path / "j"
    records = contacts(1000)
    async with sink.client(max_concurrency=4) as bigin:
        with mock.patch("os.fsync", FailingDisk(failing_sync)), pytest.raises(JournalError):
            await bigin.contacts.bulk_create(records, journal=str(path))
    # Every record that reached the server has its pending line on disk.
    journal = Journal(path, module="Contacts", mode="create")
    on_disk = {h for line in path.read_text().splitlines()[1:] for h in json.loads(line).get("h", [])}
    assert {journal.fingerprint({"Last_Name": name}) for name in sent} <= on_disk
    first = len(sent)
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(records, journal=str(path))
    # This server applied every call it got: nothing lost, nothing twice; the records whose
    # answer could not be journaled are unknown (sent once, in the first run), not sent again.
    assert len(sent) == len(set(sent)) == 1000
    assert {o.record["Last_Name"] for o in result.unknown} <= set(sent[:first])
    assert result.counts["success"] + result.counts["unknown"] == 1000


async def test_a_torn_tail_that_cannot_be_cut_stops_the_run_with_a_journal_error_before_sending(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j"
    write_journal(path, [], tail='{"t":"pend')
    sink = CountingSink()

    def ftruncate(fd: int, length: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    async with sink.client() as bigin:
        with mock.patch("os.ftruncate", ftruncate), pytest.raises(JournalError, match="could not be written"):
            await bigin.contacts.bulk_create(contacts(10), journal=str(path))
    assert sink.calls == 0


def test_fingerprints_are_wide_enough_that_distinct_records_never_share_one() -> None:
    # Two distinct records with one fingerprint can take each other's logged outcome: one is
    # reported done and never sent. At 64 bits a million-record journal runs a ~1 in 40 million
    # risk of that; 128 bits makes it nil. Older journals keep their own width.
    from bigin_async.bulk import record_hash

    assert len(record_hash({"Last_Name": "x"})) * 4 >= 128
    assert len(record_hash({"Last_Name": "x"}, version=2)) * 4 == 64


async def test_a_version_2_journal_is_resumed_with_its_own_64_bit_fingerprints(tmp_path: Path) -> None:
    from bigin_async.bulk import record_hash

    records = contacts(3)
    hashes = [record_hash(r, version=2) for r in records]
    path = tmp_path / "j"
    done = [{"i": 0, "h": hashes[0], "s": "success", "a": "insert", "id": "7"}]
    write_journal(path, [pending(*hashes), json.dumps({"t": "done", "o": done})])
    sink = CountingSink()
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create([*records, *contacts(1, 50)], journal=str(path))
    assert [o.status for o in result] == ["success", "unknown", "unknown", "success"]
    assert result.journal_matched == 3 and sink.records == 1
    assert json.loads(path.read_text().splitlines()[0])["v"] == 2  # appended to in its own format


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names a descriptor's file through /proc")
async def test_directories_created_for_a_new_journal_are_synced_into_their_parents(tmp_path: Path) -> None:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    sink = CountingSink()
    async with sink.client() as bigin:
        with mock.patch("os.fsync", fsync):
            await bigin.contacts.bulk_create(contacts(5), journal=str(tmp_path / "a" / "b" / "j"))
    # The journal's name is in b, b's in a, a's in tmp_path: each must reach the disk.
    assert {str(tmp_path), str(tmp_path / "a"), str(tmp_path / "a" / "b")} <= set(synced)
