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

import httpx
import pytest

from bigin_async import BiginClient
from bigin_async.bulk import Journal
from bigin_async.errors import JournalError
from tests.bulk.sink import CountingSink, success

HEADER = {"t": "header", "module": "Contacts", "mode": "create", "v": 2}


def contacts(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Last_Name": f"Doe {i}"} for i in range(start, start + n)]


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
    sent: list[str] = []

    def entry(position: int, record: dict[str, Any]) -> dict[str, Any]:
        sent.append(record["Last_Name"])
        return success(position, record)

    sink = CountingSink(entry)
    path = tmp_path / "j"
    disk = FailingDisk(3, code)  # 1: header, 2: the first pending line, 3: the next line fails
    async with sink.client() as bigin:
        with mock.patch("os.fsync", disk), pytest.raises(JournalError, match="could not be written") as raised:
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
                data.append({"code": "SUCCESS", "details": {"id": record_id}, "message": "record deleted",
                             "status": "success"})
            else:
                data.append({"code": "INVALID_DATA", "details": {"id": record_id},
                             "message": "the id given seems to be invalid", "status": "error"})
        if self.failing:
            return httpx.Response(500, json={"code": "INTERNAL_ERROR", "message": "internal error", "status": "error"})
        return httpx.Response(200, json={"data": data})

    def client(self) -> BiginClient:
        return BiginClient(client_id="a", client_secret="b", refresh_token="c", max_retries=1,
                           retry_backoff_seconds=0.0, transport=httpx.MockTransport(self))


async def test_a_delete_whose_5xx_outlasted_the_retries_is_maybe_already_deleted_when_resumed(tmp_path: Path) -> None:
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
