"""The bulk engine against a counting sink: batching, order, validation, journal, streaming, memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigin_async import BiginClient
from bigin_async.bulk import BulkAbortedError, BulkWriteError
from bigin_async.bulk.journal import JOURNAL_VERSION
from tests.helpers.sink import CountingSink


def contacts(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Last_Name": f"Doe {i}", "Email": f"p{i}@example.com"} for i in range(start, start + n)]


async def test_1050_records_give_11_calls_and_1050_outcomes_in_order() -> None:
    sink = CountingSink()
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(contacts(1050))
    assert sink.calls == 11
    assert sorted(sink.batch_sizes) == [50] + [100] * 10
    assert [o.index for o in result.outcomes] == list(range(1050))
    assert all(o.status == "success" and o.action == "insert" and o.id for o in result.outcomes)
    assert result.outcomes[7].record == {"Last_Name": "Doe 7", "Email": "p7@example.com"}
    assert result.summary()["inserted"] == 1050
    assert sink.peak <= 10


async def test_invalid_records_fail_alone_without_sinking_their_batch() -> None:
    sink = CountingSink()
    records: list[Any] = contacts(5)
    records[1] = {"Email": "no-last-name@example.com"}
    records[3] = "not a record"
    records.append({})
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(records)
    assert [o.status for o in result.outcomes] == ["success", "error", "success", "error", "success", "error"]
    assert result.outcomes[1].code == "MANDATORY_NOT_FOUND" and result.outcomes[1].details == {
        "api_name": "Last_Name"
    }
    assert result.outcomes[3].code == "INVALID_INPUT"
    assert sink.batch_sizes == [3]
    with pytest.raises(BulkWriteError) as info:
        result.raise_for_errors()
    assert len(info.value.result.failed) == 3


async def test_partial_failure_lands_on_the_right_records() -> None:
    def entry(position: int, record: dict[str, Any]) -> dict[str, Any]:
        if record["Last_Name"].endswith("7"):
            return {
                "code": "DUPLICATE_DATA",
                "details": {"api_name": "Email", "id": "123"},
                "message": "duplicate data",
                "status": "error",
            }
        return {
            "code": "SUCCESS",
            "details": {"id": str(position + 1)},
            "message": "record added",
            "status": "success",
        }

    sink = CountingSink(entry)
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(contacts(30))
    failed = result.failed
    assert [o.index for o in failed] == [7, 17, 27]
    assert all(o.code == "DUPLICATE_DATA" and o.details["id"] == "123" for o in failed)
    assert result.counts["success"] == 27


async def test_dropped_insert_batches_are_unknown_and_never_resent() -> None:
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        calls += 1
        raise httpx.RemoteProtocolError("connection dropped")

    async with BiginClient(
        client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(handler)
    ) as bigin:
        result = await bigin.contacts.bulk_create(contacts(150))
    assert calls == 2
    assert result.counts["unknown"] == 150 and all(o.code == "UNKNOWN_FATE" for o in result.unknown)


async def test_auth_failure_aborts_and_reports_what_was_read() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"error": "invalid_code"})
        raise AssertionError("nothing may be sent without a token")

    async with BiginClient(
        client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(handler)
    ) as bigin:
        with pytest.raises(BulkAbortedError) as info:
            await bigin.contacts.bulk_create(contacts(10_000))
    result = info.value.result
    assert 0 < result.total < 10_000
    assert all(o.code == "invalid_code" for o in result.outcomes)


async def test_bulk_delete_and_update_shapes() -> None:
    sink = CountingSink()
    async with sink.client() as bigin:
        deleted = await bigin.contacts.bulk_delete(str(10**18 + i) for i in range(250))
        updated = await bigin.contacts.bulk_update([{"id": "12", "Phone": "1"}, {"Phone": "no id"}])
    assert sorted(sink.batch_sizes[:3]) == [50, 100, 100]  # calls run concurrently: any order
    assert deleted.actions["delete"] == 250 and deleted.outcomes[0].id == str(10**18)
    assert [o.status for o in updated.outcomes] == ["success", "error"]
    assert "id" in (updated.outcomes[1].message or "")


async def test_journal_resume_skips_confirmed_records(tmp_path: Path) -> None:
    journal = str(tmp_path / "import.journal")
    sink = CountingSink()
    async with sink.client() as bigin:
        first = await bigin.contacts.bulk_upsert(contacts(250), ["Email"], journal=journal)
        again = await bigin.contacts.bulk_upsert(contacts(300), ["Email"], journal=journal)
    assert first.counts["success"] == 250
    assert again.skipped == 250 and again.counts["success"] == 300
    assert sink.records == 300  # only the 50 new records were sent the second time
    lines = [json.loads(line) for line in Path(journal).read_text().splitlines()]
    assert lines[0] == {"t": "header", "module": "Contacts", "mode": "upsert", "v": JOURNAL_VERSION}


async def test_journal_pending_inserts_become_unknown_not_duplicates(tmp_path: Path) -> None:
    journal = tmp_path / "crash.journal"
    # An earlier run logged a batch as pending and died before the answer.
    from bigin_async.bulk import record_hash

    hashes = [record_hash(r, version=2) for r in contacts(3)]  # 64 bits, as format 1 wrote them
    journal.write_text(
        json.dumps({"t": "header", "module": "Contacts", "mode": "create", "v": 1})
        + "\n"
        + json.dumps({"t": "pending", "i": [0, 1, 2], "h": hashes})
        + "\n"
        + '{"t": "done", "o": [{"i": 0, "h"'  # torn line from the crash
    )
    sink = CountingSink()
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(contacts(4), journal=str(journal))
    assert [o.status for o in result.outcomes] == ["unknown", "unknown", "unknown", "success"]
    assert sink.records == 1


async def test_journal_of_another_module_is_refused(tmp_path: Path) -> None:
    journal = str(tmp_path / "j")
    sink = CountingSink()
    async with sink.client() as bigin:
        await bigin.contacts.bulk_create(contacts(1), journal=journal)
        with pytest.raises(Exception, match="belongs to a create of Contacts"):
            await bigin.companies.bulk_create([{"Account_Name": "X"}], journal=journal)


async def test_streaming_writer_flushes_full_batches_and_the_last_partial() -> None:
    sink = CountingSink()
    seen: list[int] = []
    async with sink.client() as bigin:
        async with bigin.contacts.bulk_writer(
            mode="upsert", duplicate_check_fields=["Email"], on_result=lambda o: seen.append(o.index)
        ) as writer:
            for record in contacts(230):
                await writer.add(record)
        result = writer.result
    assert sorted(sink.batch_sizes) == [30, 100, 100]
    assert seen == list(range(230))
    assert result.total == 230 and result.outcomes == []  # streamed to on_result, not kept


async def test_async_iterable_input_and_progress() -> None:
    async def produce() -> Any:
        for record in contacts(120):
            yield record

    sink = CountingSink()
    progress: list[int] = []
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(
            produce(), on_progress=lambda p: progress.append(p.processed)
        )
    assert result.total == 120 and progress[-1] == 120


def test_one_million_records_stream_with_bounded_memory() -> None:
    """1M generated records through the counting sink in a fresh process: peak RSS grows by a few
    MB (a window of 20 batches), where holding the records or their outcomes would take ~1 GB."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import json, resource, sys, anyio
        from tests.helpers.sink import CountingSink

        async def main():
            sink = CountingSink()
            count = 0
            def on_result(outcome):
                nonlocal count
                count += 1
            records = ({"Last_Name": "x", "Email": f"{i}@e.io"} for i in range(1_000_000))
            async with sink.client() as bigin:
                await bigin.contacts.bulk_create(records, on_result=on_result)
            return count, sink.records, sink.calls

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        count, records, calls = anyio.run(main)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report = {"count": count, "records": records, "calls": calls, "growth_kb": after - before}
        sys.stdout.write(json.dumps(report))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parents[2],
    )
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["count"] == figures["records"] == 1_000_000
    assert figures["calls"] == 10_000
    assert figures["growth_kb"] < 80 * 1024, figures


async def test_bad_inputs_refused_before_sending() -> None:
    sink = CountingSink()
    async with sink.client() as bigin:
        with pytest.raises(Exception, match="iterable of records"):
            await bigin.contacts.bulk_create({"Last_Name": "x"})  # a dict is not an iterable of records
        with pytest.raises(Exception, match="batch_size"):
            await bigin.contacts.bulk_create(contacts(1), batch_size=101)
        empty = await bigin.contacts.bulk_create([])
    assert empty.total == 0 and sink.calls == 0


async def test_a_batch_where_every_record_fails_keeps_each_records_own_error() -> None:
    """Bigin answers 400 when every record of a call failed; each still has its own entry."""
    from bigin_emulator import BiginEmulator

    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        await bigin.contacts.create({"Last_Name": "A", "Email": "a@example.com"})
        result = await bigin.contacts.bulk_create(
            [
                {"Last_Name": "B", "Email": "a@example.com"},
                {"Last_Name": "C", "Email": "c@example.com", "Owner": {"id": "1"}},
            ]
        )
    assert [(o.status, o.code) for o in result.outcomes] == [
        ("error", "DUPLICATE_DATA"),
        ("error", "INVALID_DATA"),
    ]
    assert (
        result.outcomes[0].details["api_name"] == "Email"
        and result.outcomes[1].details["api_name"] == "Owner"
    )


async def test_a_request_level_4xx_fails_the_batch_with_its_code() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(
            400,
            json={"code": "INVALID_REQUEST", "details": {}, "message": "invalid request", "status": "error"},
        )

    # (INVALID_MODULE is not one of these: it stops the whole write, see test_invalid_module_stops.)
    async with BiginClient(
        client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(handler)
    ) as bigin:
        result = await bigin.module("Nope").bulk_create([{"Name": "x"}, {"Name": "y"}])
    assert [(o.status, o.code) for o in result.outcomes] == [("error", "INVALID_REQUEST")] * 2
