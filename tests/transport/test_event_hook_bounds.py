"""Issue 15, item 5, review (helper-86): what a hook may hold up, and what ``bulk_batch_done`` tells.

- A ``token_refreshed`` hook ran while its call held a place at the gate: with
  ``max_concurrency=1``, a slow hook kept every other call from sending.
- An async hook had no bound but the call's ``deadline``: a ``bulk_batch_done`` hook (a bulk write
  has no deadline) or any hook of a client with ``deadline=None`` that never returned held the
  write or the call for ever, and one slower than the deadline took it all from the call. Each
  hook now has at most the client's ``timeout``, and is logged and counted when it is cut.
- ``bulk_batch_done`` told only what was sent: records refused before sending, records a journal
  had already written, and batches left unsent after a fatal error got no event, so the events
  summed fell short of the result's counts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from bigin_async import BiginClient, BiginTimeoutError
from bigin_async._events import EventBus
from bigin_async.bulk import BulkAbortedError
from bigin_async.hooks import BulkBatchDone, ClientEvent, TokenRefreshed
from tests.helpers.transport import SECRETS, token_body

ID = "4150868000000624001"
RECORD = {"data": [{"id": ID, "Last_Name": "Ng"}]}
HANG_GUARD = 30  # seconds: a test that hangs fails here instead of hanging the suite


def _written(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)["data"]
    answers = [
        {"code": "SUCCESS", "status": "success", "details": {"id": str(1000 + i)}} for i, _ in enumerate(sent)
    ]
    return httpx.Response(200, json={"data": answers})


async def test_a_token_refreshed_hook_runs_with_the_gate_place_given_back() -> None:
    in_flight: list[int] = []

    async def look(event: ClientEvent) -> None:
        in_flight.append(bigin.transport.gate.in_flight)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json=token_body())
        return httpx.Response(200, json=RECORD)

    async with BiginClient(
        **SECRETS,
        transport=httpx.MockTransport(handler),
        max_concurrency=1,
        event_hooks={"token_refreshed": [look]},
    ) as bigin:
        assert (await bigin.contacts.get(ID)).id == ID
    assert in_flight == [0]


async def test_a_slow_token_refreshed_hook_does_not_keep_other_calls_from_the_gate() -> None:
    other_done = anyio.Event()
    order: list[str] = []

    async def wait_for_the_other(event: ClientEvent) -> None:
        order.append("hook waits")
        await other_done.wait()  # before the fix: the other call could never take the one place
        order.append("hook ends")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json=token_body())
        return httpx.Response(200, json=RECORD)

    async def other() -> None:
        await bigin.contacts.get(ID)
        order.append("other done")
        other_done.set()

    with anyio.fail_after(HANG_GUARD):
        async with BiginClient(
            **SECRETS,
            transport=httpx.MockTransport(handler),
            max_concurrency=1,
            event_hooks={"token_refreshed": [wait_for_the_other]},
        ) as bigin:
            async with anyio.create_task_group() as tg:
                tg.start_soon(bigin.contacts.get, ID)
                await anyio.wait_all_tasks_blocked()
                tg.start_soon(other)
    assert order == ["hook waits", "other done", "hook ends"]


async def _forever(event: ClientEvent) -> None:
    await anyio.sleep_forever()


@pytest.mark.parametrize("event", ["call_started", "response_received", "call_finished", "token_refreshed"])
async def test_an_async_hook_that_never_returns_is_cut_at_the_timeout_without_a_deadline(
    event: str, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json=token_body())
        return httpx.Response(200, json=RECORD)

    caplog.set_level(logging.DEBUG, logger="bigin_async")
    with anyio.fail_after(HANG_GUARD):
        async with BiginClient(
            **SECRETS,
            transport=httpx.MockTransport(handler),
            timeout=0.05,
            deadline=None,
            event_hooks={event: [_forever]},
        ) as bigin:
            assert (await bigin.contacts.get(ID)).id == ID
            stats = bigin.stats()
    assert stats.hook_errors == 1
    warned = [r for r in caplog.records if getattr(r, "bigin_event", None) == "hook_failed"]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    assert "did not return within 0.05 s" in warned[0].getMessage()
    assert warned[0].__dict__["bigin_hook_event"] == event


async def test_a_bulk_batch_done_hook_that_never_returns_does_not_hold_up_the_write() -> None:
    with anyio.fail_after(HANG_GUARD):
        async with BiginClient(
            access_token="t",
            transport=httpx.MockTransport(_written),
            timeout=0.05,
            event_hooks={"bulk_batch_done": [_forever]},
        ) as bigin:
            result = await bigin.contacts.bulk_create([{"Last_Name": str(i)} for i in range(250)])
            stats = bigin.stats()
    assert result.counts["success"] == 250
    assert stats.hook_errors == 3  # each batch's hook was cut, and counted


async def test_a_hook_that_returns_in_time_is_not_cut() -> None:
    done: list[int] = []

    async def quick(event: BulkBatchDone) -> None:
        await anyio.lowlevel.checkpoint()
        done.append(event.records)

    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(_written),
        event_hooks={"bulk_batch_done": [quick]},
    ) as bigin:
        await bigin.contacts.bulk_create([{"Last_Name": str(i)} for i in range(150)])
        stats = bigin.stats()
    assert sorted(done) == [50, 100] and stats.hook_errors == 0


def _summed(done: list[BulkBatchDone]) -> dict[str, int]:
    return {
        "records": sum(e.records for e in done),
        "success": sum(e.succeeded for e in done),
        "error": sum(e.failed for e in done),
        "unknown": sum(e.unknown for e in done),
    }


async def test_bulk_batch_done_counts_records_refused_before_sending() -> None:
    done: list[BulkBatchDone] = []
    records: list[Any] = [{"Last_Name": str(i)} for i in range(150)]
    records[3] = 42  # not a record: refused before anything is sent
    records[120] = "nope"
    records += ["bad"] * 30  # a batch of bad input alone: nothing of it is sent
    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(_written),
        event_hooks={"bulk_batch_done": [done.append]},
    ) as bigin:
        result = await bigin.contacts.bulk_create(records, batch_size=100)
    assert result.total == 180
    assert result.counts["error"] == 32 and result.counts["success"] == 148
    assert _summed(done) == {"records": 180, "success": 148, "error": 32, "unknown": 0}
    assert sorted(e.batch for e in done) == list(range(1, len(done) + 1))


async def test_bulk_batch_done_counts_batches_left_unsent_after_a_fatal_error() -> None:
    done: list[BulkBatchDone] = []
    answered = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal answered
        answered += 1
        if answered == 1:
            return _written(request)
        return httpx.Response(401, json={"code": "INVALID_TOKEN", "message": "invalid oauth token"})

    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(handler),
        max_concurrency=1,
        event_hooks={"bulk_batch_done": [done.append]},
    ) as bigin:
        with pytest.raises(BulkAbortedError) as info:
            await bigin.contacts.bulk_create([{"Last_Name": str(i)} for i in range(450)])
    result = info.value.result
    assert result.counts["success"] == 100
    summed = _summed(done)
    assert summed["records"] == result.total
    assert (summed["success"], summed["error"], summed["unknown"]) == (
        result.counts["success"],
        result.counts["error"],
        result.counts["unknown"],
    )


async def test_bulk_batch_done_counts_records_a_journal_had_already_written(tmp_path: Path) -> None:
    journal = str(tmp_path / "contacts.journal")
    records = [{"Last_Name": str(i)} for i in range(250)]
    async with BiginClient(access_token="t", transport=httpx.MockTransport(_written)) as bigin:
        first = await bigin.contacts.bulk_create(records[:150], journal=journal)
    assert first.counts["success"] == 150
    done: list[BulkBatchDone] = []
    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(_written),
        event_hooks={"bulk_batch_done": [done.append]},
    ) as bigin:
        again = await bigin.contacts.bulk_create(records, journal=journal)  # 150 known, 100 new
    assert again.total == 250
    assert _summed(done)["records"] == 250
    assert _summed(done)["success"] == again.counts["success"]


# Review of the above (helper-88): each red before its fix, on asyncio and trio.


class _Hanging(httpx.AsyncBaseTransport):
    """Tokens at once; API calls left unanswered (``arrived`` set) while ``hang``, then answered."""

    def __init__(self) -> None:
        self.hang = True
        self.arrived = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json=token_body())
        if self.hang:
            self.arrived.set()
            await anyio.sleep_forever()
        return httpx.Response(200, json=RECORD)


@pytest.mark.parametrize("how", ["cancelled", "deadline"])
async def test_an_async_token_refreshed_hook_is_told_later_when_that_call_ends_badly(how: str) -> None:
    # Held with the attempt's hooks, the refresh was told to no async hook when the call that first
    # used the new token was cancelled or ran out of time before its answer: no later call told it.
    told: list[int] = []

    async def on_refresh(event: Any) -> None:
        await anyio.lowlevel.checkpoint()
        told.append(event.refreshes)

    plain: list[int] = []
    zoho = _Hanging()

    with anyio.fail_after(HANG_GUARD):
        async with BiginClient(
            **SECRETS,
            transport=zoho,
            deadline=0.05 if how == "deadline" else None,
            max_retries=0,
            event_hooks={"token_refreshed": [on_refresh, lambda event: plain.append(event.refreshes)]},
        ) as bigin:
            if how == "cancelled":
                async with anyio.create_task_group() as tg:
                    tg.start_soon(bigin.contacts.get, ID)
                    await zoho.arrived.wait()  # the request is out, unanswered
                    tg.cancel_scope.cancel()
            else:
                with pytest.raises(BiginTimeoutError):
                    await bigin.contacts.get(ID)
            assert told == [] and plain == [1]
            zoho.hang = False
            await bigin.contacts.get(ID)  # the same token: no new refresh, the owed one is told
            await bigin.contacts.get(ID)
            assert bigin.stats().refreshes == 1
    assert told == [1] and plain == [1]  # once each: the plain hook is not told again


async def test_no_batch_is_told_after_on_result_raised() -> None:
    # The producer told a batch of settled records alone after on_result had raised (the run
    # was ending on it): it had waited for a place in the window while the releaser ran.
    told: list[int] = []
    raised = False

    def on_result(outcome: Any) -> None:
        nonlocal raised
        raised = True
        raise RuntimeError("mine")

    def on_done(event: BulkBatchDone) -> None:
        if raised:
            told.append(event.batch)

    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.wait_all_tasks_blocked()  # the producer waits for a place in the window
        return _written(request)

    class Transport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await handler(request)

    records: list[Any] = [{"Last_Name": str(i)} for i in range(200)] + ["bad"] * 30
    async with BiginClient(
        access_token="t",
        transport=Transport(),
        max_concurrency=1,  # one worker, a window of two batches
        event_hooks={"bulk_batch_done": [on_done]},
    ) as bigin:
        with pytest.raises(RuntimeError, match="mine"):
            await bigin.contacts.bulk_create(records, on_result=on_result)
    assert raised and told == []


async def test_a_hook_that_swallows_its_cut_is_still_counted() -> None:
    async def stubborn(event: ClientEvent) -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            return  # a hook should not, but one may

    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=RECORD)),
        timeout=0.05,
        deadline=None,
        event_hooks={"call_finished": [stubborn]},
    ) as bigin:
        with anyio.fail_after(HANG_GUARD):
            await bigin.contacts.get(ID)
        assert bigin.stats().hook_errors == 1


async def test_a_views_timeout_is_the_bound_of_its_calls_hooks() -> None:
    cut: list[str] = []

    async def endless(event: ClientEvent) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cut.append(event.name)

    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=RECORD)),
        timeout=HANG_GUARD * 10,  # the client's own bound would hang the test
        deadline=None,
        event_hooks={"call_finished": [endless]},
    ) as bigin:
        with anyio.fail_after(HANG_GUARD):
            await bigin.with_options(timeout=0.05).contacts.get(ID)
        assert bigin.stats().hook_errors == 1 and cut == ["call_finished"]


async def test_a_write_through_bulk_write_jobs_tells_each_part_and_adds_up() -> None:
    # It told none (helper-88): a run of 300 records through jobs gave no bulk_batch_done at all.
    from bigin_emulator import BiginEmulator

    done: list[BulkBatchDone] = []
    records: list[Any] = [{"Last_Name": f"L{i}"} for i in range(300)]
    records[7] = 42  # refused before anything is sent
    async with BiginEmulator().client(event_hooks={"bulk_batch_done": [done.append]}) as bigin:
        result = await bigin.contacts.bulk_create(records, via="jobs")
    assert result.counts["success"] == 299 and result.counts["error"] == 1
    assert _summed(done) == {"records": 300, "success": 299, "error": 1, "unknown": 0}
    assert [e.batch for e in done] == list(range(1, len(done) + 1))
    assert {(e.module, e.operation) for e in done} == {("Contacts", "bulk_create")}


# Review of the owed refresh (helper-89): red before the fix, on asyncio and trio.


def _tokens_then_records(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/oauth/v2/token"):
        return httpx.Response(200, json=token_body())
    return httpx.Response(200, json=RECORD)


async def test_an_owed_refresh_is_not_told_to_a_hook_the_user_removed() -> None:
    told: list[int] = []

    async def slow(event: Any) -> None:
        bigin.event_hooks = {}  # every hook dropped while this one runs
        await anyio.sleep_forever()  # then cut by the call's deadline

    async def later(event: Any) -> None:
        told.append(event.refreshes)

    with anyio.fail_after(HANG_GUARD):
        async with BiginClient(
            **SECRETS,
            transport=httpx.MockTransport(_tokens_then_records),
            deadline=0.1,
            event_hooks={"token_refreshed": [slow, later]},
        ) as bigin:
            await bigin.contacts.get(ID)
            assert bigin.event_hooks == {}
            await bigin.contacts.get(ID)
    assert told == []


async def test_a_hook_kept_by_new_event_hooks_is_still_owed_its_refresh() -> None:
    told: list[int] = []

    async def later(event: Any) -> None:
        await anyio.lowlevel.checkpoint()
        told.append(event.refreshes)

    zoho = _Hanging()

    with anyio.fail_after(HANG_GUARD):
        async with BiginClient(**SECRETS, transport=zoho, event_hooks={"token_refreshed": [later]}) as bigin:
            async with anyio.create_task_group() as tg:
                tg.start_soon(bigin.contacts.get, ID)
                await zoho.arrived.wait()
                tg.cancel_scope.cancel()  # `later` is owed the refresh
            bigin.event_hooks = {"token_refreshed": [later], "call_finished": [lambda event: None]}
            zoho.hang = False
            await bigin.contacts.get(ID)
    assert told == [1]


@pytest.mark.parametrize("kind", ["async", "plain"])
async def test_a_refresh_told_late_never_follows_a_newer_one(kind: str) -> None:
    # Call B holds refresh 1 for its hooks; call C refreshes again and tells refresh 2; then B's
    # deadline cuts B's slow hook, and what B still held was told (or owed) after it: [2, 1].
    told: list[int] = []
    in_slow = anyio.Event()

    async def slow(event: Any) -> None:
        if event.refreshes == 1:
            in_slow.set()
            await anyio.sleep_forever()  # cut at call B's deadline

    async def record_async(event: Any) -> None:
        await anyio.lowlevel.checkpoint()
        told.append(event.refreshes)

    def record_plain(event: Any) -> None:
        told.append(event.refreshes)

    refreshes = 0
    reject_next = False

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal refreshes, reject_next
        if request.url.path.endswith("/oauth/v2/token"):
            refreshes += 1
            return httpx.Response(200, json=token_body(f"1000.access-{refreshes}"))
        if reject_next:
            reject_next = False
            return httpx.Response(401, json={"code": "INVALID_TOKEN", "message": "invalid oauth token"})
        return httpx.Response(200, json=RECORD)

    record = record_async if kind == "async" else record_plain
    with anyio.fail_after(HANG_GUARD):
        async with BiginClient(
            **SECRETS,
            transport=httpx.MockTransport(handler),
            deadline=1.0,
            retry_backoff_seconds=0.0,
            event_hooks={"token_refreshed": [slow, record]},
        ) as bigin:
            async with anyio.create_task_group() as tg:
                tg.start_soon(bigin.contacts.get, ID)  # B: the first to use token 1
                await in_slow.wait()
                reject_next = True
                await bigin.contacts.get(ID)  # C: a 401, refresh 2, told at once
            await bigin.contacts.get(ID)  # D: tells what B's cut left owed
            assert bigin.stats().refreshes == 2
    assert told == sorted(told) and told[-1] == 2, told


# Review of 2d183d2 (helper-90): hooks are told apart by identity, which bound methods lack.


def _refreshed(n: int) -> TokenRefreshed:
    return TokenRefreshed(refreshes=n, expires_in=3600.0, api_domain="https://www.zohoapis.com")


class _Metrics:
    def __init__(self) -> None:
        self.told: list[int] = []

    async def on_refresh(self, event: Any) -> None:
        await anyio.lowlevel.checkpoint()
        self.told.append(event.refreshes)

    def on_refresh_plain(self, event: Any) -> None:
        self.told.append(event.refreshes)


async def _told_late(bus: EventBus, *events: ClientEvent) -> None:
    await bus.held_to_hooks(list(events), anyio.current_time() + HANG_GUARD, hook_timeout=None)


async def test_a_bound_method_kept_by_new_event_hooks_is_still_owed_its_refresh() -> None:
    metrics = _Metrics()
    zoho = _Hanging()
    with anyio.fail_after(HANG_GUARD):
        async with BiginClient(
            **SECRETS, transport=zoho, event_hooks={"token_refreshed": [metrics.on_refresh]}
        ) as bigin:
            async with anyio.create_task_group() as tg:
                tg.start_soon(bigin.contacts.get, ID)
                await zoho.arrived.wait()
                tg.cancel_scope.cancel()  # on_refresh is owed refresh 1
            # The same hook, as a new bound-method object.
            bigin.event_hooks = {"token_refreshed": [metrics.on_refresh], "call_finished": [print]}
            zoho.hang = False
            await bigin.contacts.get(ID)
    assert metrics.told == [1]


async def test_a_bound_method_listed_again_is_not_told_an_older_refresh() -> None:
    metrics = _Metrics()
    bus = EventBus({"token_refreshed": [metrics.on_refresh_plain]})
    await _told_late(bus, _refreshed(2))
    bus.set_hooks({"token_refreshed": [metrics.on_refresh_plain]})
    await _told_late(bus, _refreshed(1))  # a slower call's
    assert metrics.told == [2]


async def test_a_hook_listed_twice_gets_a_refresh_twice_like_any_event() -> None:
    told: list[str] = []

    def hook(event: ClientEvent) -> None:
        told.append(event.name)

    bus = EventBus({"token_refreshed": [hook, hook]})
    await _told_late(bus, _refreshed(1))
    assert len(told) == 2


async def test_a_hook_added_after_a_newer_refresh_is_not_told_an_older_one() -> None:
    first: list[int] = []
    added: list[int] = []
    bus = EventBus({"token_refreshed": [lambda event: first.append(event.refreshes)]})
    await _told_late(bus, _refreshed(2))
    bus.set_hooks({"token_refreshed": [*bus.hooks["token_refreshed"], lambda e: added.append(e.refreshes)]})
    await _told_late(bus, _refreshed(1))
    assert first == [2] and added == []


async def test_a_hook_whose_own_eq_raises_does_not_break_new_event_hooks() -> None:
    class Hook:
        def __call__(self, event: ClientEvent) -> None:
            pass

        def __eq__(self, other: object) -> bool:
            raise RuntimeError("not comparable")

        __hash__ = object.__hash__

    hook = Hook()
    bus = EventBus({"token_refreshed": [hook]})
    bus._owe((_refreshed(1), Hook(), True))  # owed to another object: compared, not equal
    bus.set_hooks({"token_refreshed": [hook]})
    assert not bus.owes


# The bound on owed refreshes (helper-90, minor): past MAX_OWED, the oldest entry went across all
# hooks, so with more async token_refreshed hooks than that, one lost the only refresh it was owed.


def _async_recorder(told: list[int]) -> Any:
    async def hook(event: Any) -> None:
        await anyio.lowlevel.checkpoint()
        told.append(event.refreshes)

    return hook


async def test_each_of_many_async_hooks_keeps_the_refresh_it_is_owed() -> None:
    from bigin_async._events import MAX_OWED

    told: list[list[int]] = [[] for _ in range(MAX_OWED + 2)]
    bus = EventBus({"token_refreshed": [_async_recorder(each) for each in told]})
    bus.held_to_plain_hooks([_refreshed(1)])  # a cancelled call's end: every async hook is owed it
    with anyio.fail_after(HANG_GUARD):
        await _told_late(bus)
    assert told == [[1]] * (MAX_OWED + 2)


async def test_one_hook_owed_past_the_bound_keeps_its_newest_refreshes() -> None:
    from bigin_async._events import MAX_OWED

    told: list[int] = []
    bus = EventBus({"token_refreshed": [_async_recorder(told)]})
    for n in range(1, MAX_OWED + 3):
        bus.held_to_plain_hooks([_refreshed(n)])
    with anyio.fail_after(HANG_GUARD):
        await _told_late(bus)
    assert told == list(range(3, MAX_OWED + 3))
