"""A fatal error in the middle of a bulk write with calls in flight: every record one outcome.

The run stops on a lost scope (403 OAUTH_SCOPE_MISMATCH) answered to one call while others are
at the server. What the server applied is reported as applied, the rest as not sent, each record
once; the journal lets a resumed run send exactly what was not applied, so nothing is lost or
doubled.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from bigin_async import BiginClient, PermissionDeniedError
from bigin_async.bulk import BulkAbortedError


def contacts(n: int) -> list[dict[str, Any]]:
    return [{"Last_Name": f"Doe {i}", "Email": f"p{i}@example.com"} for i in range(n)]


class Org:
    """A fake Bigin that answers the ``fatal_call``-th write with a lost scope, once it and the
    calls before it are all at the server; the others are applied (names kept in ``applied``)."""

    def __init__(self, fatal_call: int | None = None) -> None:
        self.fatal_call = fatal_call
        self.calls = 0
        self.applied: list[str] = []
        self.all_arrived = anyio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        self.calls += 1
        number = self.calls
        if self.fatal_call is not None:
            if number == self.fatal_call:
                self.all_arrived.set()
                body = {"code": "OAUTH_SCOPE_MISMATCH", "message": "invalid oauth scope", "status": "error"}
                return httpx.Response(403, json=body)
            if number < self.fatal_call:
                await self.all_arrived.wait()  # in flight while the fatal answer comes
        records = json.loads(request.content)["data"]
        data = []
        for record in records:
            self.applied.append(record["Last_Name"])
            details = {"id": str(7_000_000_000_000_000_000 + len(self.applied))}
            data.append(
                {"code": "SUCCESS", "details": details, "message": "record added", "status": "success"}
            )
        return httpx.Response(201, json={"data": data})

    def client(self) -> BiginClient:
        return BiginClient(
            client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(self)
        )


async def test_a_lost_scope_mid_run_gives_each_record_one_outcome_and_a_resume_sends_the_rest(
    tmp_path: Path,
) -> None:
    journal = str(tmp_path / "import.journal")
    records = contacts(1000)
    org = Org(fatal_call=3)
    async with org.client() as bigin:
        with pytest.raises(BulkAbortedError) as stopped:
            await bigin.contacts.bulk_create(records, journal=journal)
    assert isinstance(stopped.value.__cause__, PermissionDeniedError)
    result = stopped.value.result
    assert [o.index for o in result.outcomes] == list(range(result.total))  # each read record, once
    applied = {o.record["Last_Name"] for o in result.outcomes if o.status == "success"}
    assert sorted(applied) == sorted(org.applied)  # the calls in flight were reported as applied
    assert len(org.applied) >= 200
    refused = [o for o in result.outcomes if o.status != "success"]
    assert refused and all(o.status == "error" and o.code == "OAUTH_SCOPE_MISMATCH" for o in refused)

    healthy = Org()
    async with healthy.client() as bigin:
        resumed = await bigin.contacts.bulk_create(records, journal=journal)
    assert resumed.ok and resumed.skipped == len(org.applied)
    assert sorted(org.applied + healthy.applied) == sorted(r["Last_Name"] for r in records)  # none twice


class Interrupt(BaseException):
    """Like KeyboardInterrupt: not an error of the call, it must go through as itself."""


async def interrupted_import(journal: Path, interrupt: Callable[[], Awaitable[None]]) -> None:
    """300 contacts through ``bulk_create`` where every write call runs ``interrupt``, which
    raises ``Interrupt``: the import must end in ``Interrupt`` itself."""

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        await interrupt()
        raise AssertionError("interrupt() must raise")  # pragma: no cover

    async with BiginClient(
        client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(handler)
    ) as bigin:
        with pytest.raises(Interrupt):
            await bigin.contacts.bulk_create(contacts(300), journal=str(journal))


async def test_a_base_exception_raised_by_two_calls_at_once_propagates_as_itself(
    tmp_path: Path,
) -> None:
    # Two batches in flight meet the interrupt together (a loaded machine, a Ctrl-C signal
    # handler raising in each): the caller's ``except Interrupt`` must still catch it, not a
    # BaseExceptionGroup of two.
    journal = tmp_path / "import.journal"
    arrived = 0
    both = anyio.Event()

    async def interrupt() -> None:
        nonlocal arrived
        arrived += 1
        if arrived >= 2:
            both.set()
        with anyio.CancelScope(shield=True):
            await both.wait()
        raise Interrupt

    await interrupted_import(journal, interrupt)
    assert arrived >= 2


async def test_a_base_exception_mid_run_propagates_as_itself_and_leaves_the_inserts_pending(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "import.journal"

    async def interrupt() -> None:
        raise Interrupt

    await interrupted_import(journal, interrupt)
    kinds = [json.loads(line)["t"] for line in journal.read_text().splitlines()]
    assert "pending" in kinds and "done" not in kinds and "unsent" not in kinds
