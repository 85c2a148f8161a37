"""Issue 15, items 5 and 6: ``BiginClient(event_hooks=...)`` and ``client.stats()``.

Every event the pipeline gives, in order, for a call that meets a 503, a 429 and then an answer;
hooks plain and async; a hook that raises (logged once, counted, the call unharmed); a hook of a
cancelled call; no secret in any event; bad ``event_hooks`` refused before anything is sent.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from bigin_async import BiginClient, BiginTimeoutError, ClientStats, ConfigurationError, ServerError
from bigin_async.hooks import (
    EVENT_NAMES,
    BudgetLow,
    BulkBatchDone,
    CallFinished,
    CallStarted,
    ClientEvent,
    RateLimited,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    TokenRefreshed,
    describe_path,
)
from tests.helpers.transport import SECRET_STRINGS, SECRETS, token_body

ID = "4150868000000624001"
ACCESS = "1000.access-SECRET"
RECORD = {"data": [{"id": ID, "Last_Name": "Ng"}]}


def _answers(*answers: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    """A Zoho that gives these answers in turn (the last one again and again), tokens on demand."""
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json=token_body(ACCESS))
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer

    return httpx.MockTransport(handler)


def _recording() -> tuple[list[ClientEvent], dict[str, list[Callable[[ClientEvent], None]]]]:
    seen: list[ClientEvent] = []
    return seen, {name: [seen.append] for name in EVENT_NAMES}


def _client(transport: httpx.AsyncBaseTransport, **kwargs: Any) -> BiginClient:
    return BiginClient(**SECRETS, transport=transport, retry_backoff_seconds=0.0, **kwargs)


async def test_a_call_that_is_retried_gives_every_event_in_order() -> None:
    seen, hooks = _recording()
    transport = _answers(
        httpx.Response(503, json={"code": "INTERNAL_ERROR"}),
        httpx.Response(429, headers={"Retry-After": "0.01"}, json={"code": "TOO_MANY_REQUESTS"}),
        httpx.Response(200, json=RECORD),
    )
    async with _client(transport, event_hooks=hooks) as bigin:
        contact = await bigin.contacts.get(ID)
    assert contact.Last_Name == "Ng"
    names = [event.name for event in seen]
    assert names == [
        "call_started",
        "token_refreshed",
        "request_sent",
        "response_received",
        "retry_scheduled",
        "request_sent",
        "response_received",
        "rate_limited",
        "retry_scheduled",
        "request_sent",
        "response_received",
        "call_finished",
    ]
    calls = {event.call_id for event in seen if not isinstance(event, TokenRefreshed)}  # type: ignore[attr-defined]
    assert calls == {1}
    started = seen[0]
    assert isinstance(started, CallStarted)
    assert (started.method, started.url_template, started.module, started.operation) == (
        "GET",
        "/bigin/v2/Contacts/{id}",
        "Contacts",
        "get",
    )
    refreshed = seen[1]
    assert isinstance(refreshed, TokenRefreshed)
    assert refreshed.refreshes == 1 and refreshed.api_domain == "https://www.zohoapis.com"
    assert refreshed.expires_in is not None and 3500 < refreshed.expires_in <= 3600
    sent = [event for event in seen if isinstance(event, RequestSent)]
    assert [event.attempt for event in sent] == [1, 2, 3]
    assert all(ID in event.url for event in sent)
    answered = [event for event in seen if isinstance(event, ResponseReceived)]
    assert [(a.attempt, a.status_code, a.zoho_code) for a in answered] == [
        (1, 503, "INTERNAL_ERROR"),
        (2, 429, "TOO_MANY_REQUESTS"),
        (3, 200, None),
    ]
    retries = [event for event in seen if isinstance(event, RetryScheduled)]
    assert [(r.attempt, r.reason, r.shared) for r in retries] == [
        (2, "HTTP 503", False),
        (3, "HTTP 429", True),
    ]
    assert retries[1].wait == pytest.approx(0.01)
    limited = next(event for event in seen if isinstance(event, RateLimited))
    assert limited.retry_after == pytest.approx(0.01) and limited.zoho_code == "TOO_MANY_REQUESTS"
    assert sent[2].cooldown_wait > 0  # the third attempt waited out the 429's pause
    finished = seen[-1]
    assert isinstance(finished, CallFinished)
    assert finished.ok and finished.error is None
    # records: one record read by its id
    assert (finished.attempts, finished.status_code, finished.records) == (3, 200, 1)
    assert finished.duration >= sent[2].cooldown_wait


async def test_stats_sum_up_calls_retries_and_waits() -> None:
    transport = _answers(
        httpx.Response(503, json={"code": "INTERNAL_ERROR"}),
        httpx.Response(429, headers={"Retry-After": "0.01"}, json={"code": "TOO_MANY_REQUESTS"}),
        httpx.Response(200, json=RECORD),
    )
    async with _client(transport, daily_limit=1000) as bigin:
        await bigin.contacts.get(ID)
        await bigin.with_options(timeout=5).contacts.get(ID)  # a view: counted by the same stats
        stats = bigin.stats()
    assert isinstance(stats, ClientStats)
    assert (stats.calls, stats.in_progress, stats.failed) == (2, 0, 0)
    assert (stats.attempts, stats.retries, stats.rate_limited, stats.refreshes) == (4, 2, 1, 1)
    assert dict(stats.retries_by_reason) == {"HTTP 503": 1, "HTTP 429": 1}
    assert stats.credits_spent == 3  # the 429 was not charged
    assert stats.credits_left == 997
    assert (stats.gate_limit, stats.gate_in_flight, stats.gate_peak) == (10, 0, 1)
    assert (stats.gate_queue, stats.gate_queue_peak) == (0, 0)  # a free gate: nobody queued
    assert stats.gate_wait.count == stats.limiter_wait.count == stats.cooldown_wait.count == 4
    assert stats.cooldown_wait.max > 0 and stats.cooldown_wait.p50 == 0.0
    assert stats.cooldown_wait.p99 == stats.cooldown_wait.max
    assert stats.call_duration.count == 2
    with pytest.raises(TypeError):
        stats.retries_by_reason["x"] = 1  # type: ignore[index]
    assert pickle.loads(pickle.dumps(stats.gate_wait)) == stats.gate_wait


async def test_the_gate_queue_is_counted_while_calls_wait_for_a_place() -> None:
    release = anyio.Event()
    arrived = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal arrived
        arrived += 1
        await release.wait()
        return httpx.Response(200, json=RECORD)

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await slow(request)

    async with BiginClient(access_token="t", transport=Slow(), max_concurrency=2) as bigin:
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(bigin.contacts.get, ID)
            while arrived < 2:
                await anyio.lowlevel.checkpoint()
            for _ in range(10):
                await anyio.lowlevel.checkpoint()
            during = bigin.stats()
            release.set()
        after = bigin.stats()
    assert (during.gate_in_flight, during.gate_queue, during.in_progress) == (2, 3, 5)
    assert during.gate_queue_peak == 3
    assert (after.gate_queue, after.gate_queue_peak, after.gate_peak, after.calls) == (0, 3, 2, 5)
    assert after.gate_wait.max > 0


async def test_async_hooks_are_awaited_before_the_call_returns() -> None:
    order: list[str] = []

    async def on_sent(event: RequestSent) -> None:
        await anyio.lowlevel.checkpoint()
        order.append(f"hook {event.attempt}")

    def handler(request: httpx.Request) -> httpx.Response:
        order.append("sent")
        return httpx.Response(200, json=RECORD)

    async with BiginClient(
        access_token="t", transport=httpx.MockTransport(handler), event_hooks={"request_sent": [on_sent]}
    ) as bigin:
        await bigin.contacts.get(ID)
        order.append("returned")
        assert bigin.event_hooks == {"request_sent": [on_sent]}
        bigin.event_hooks = {}
        await bigin.contacts.get(ID)
    # request_sent reaches the hooks with the attempt's answer, never between booking and sending.
    assert order == ["sent", "hook 1", "returned", "sent"]


async def test_a_hook_that_raises_is_logged_once_and_the_call_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: ClientEvent) -> None:
        raise RuntimeError(f"broken hook saw {ACCESS}")

    async def broken_async(event: ClientEvent) -> None:
        raise ValueError("async hook failed")

    transport = _answers(httpx.Response(200, json=RECORD))
    with caplog.at_level(logging.DEBUG, logger="bigin_async"):
        async with _client(transport, event_hooks={"call_finished": [broken, broken_async]}) as bigin:
            for _ in range(3):
                assert (await bigin.contacts.get(ID)).id == ID
            stats = bigin.stats()
    assert stats.hook_errors == 6 and stats.failed == 0
    warnings = [r for r in caplog.records if r.name == "bigin_async.hooks" and r.levelno == logging.WARNING]
    assert len(warnings) == 2  # once per hook
    assert {r.bigin_event for r in warnings} == {"hook_failed"}  # type: ignore[attr-defined]
    assert "broken" in warnings[0].getMessage() and "call_finished" in warnings[0].getMessage()
    assert warnings[0].exc_info is not None
    assert ACCESS not in caplog.text  # the hook's own message held the token: redacted
    debug = [r for r in caplog.records if r.name == "bigin_async.hooks" and r.levelno == logging.DEBUG]
    assert len(debug) == 4


async def test_a_cancelled_call_still_ends_for_the_plain_hooks_and_stats() -> None:
    finished: list[CallFinished] = []
    awaited: list[str] = []

    async def async_end(event: CallFinished) -> None:
        awaited.append(event.name)

    class Hang(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

    async with BiginClient(
        access_token="t",
        transport=Hang(),
        event_hooks={"call_finished": [finished.append, async_end]},
    ) as bigin:
        with anyio.move_on_after(0.05):
            await bigin.contacts.get(ID)
        stats = bigin.stats()
    assert [(e.error, e.attempts, e.ok) for e in finished] == [("Cancelled", 1, False)]
    assert awaited == []  # nothing may be awaited in a cancelled task
    assert (stats.in_progress, stats.failed, stats.calls) == (0, 1, 1)


async def test_a_failed_call_names_its_error_and_zoho_code() -> None:
    finished: list[CallFinished] = []
    transport = _answers(httpx.Response(500, json={"code": "INTERNAL_ERROR", "message": "down"}))
    async with _client(transport, max_retries=1, event_hooks={"call_finished": [finished.append]}) as bigin:
        with pytest.raises(ServerError):
            await bigin.contacts.get(ID)
    assert [(e.error, e.zoho_code, e.status_code, e.attempts) for e in finished] == [
        ("ServerError", "INTERNAL_ERROR", 500, 2)
    ]


async def test_a_write_counts_its_records_and_a_page_the_records_read() -> None:
    finished: list[CallFinished] = []
    written = {
        "data": [{"code": "SUCCESS", "status": "success", "details": {"id": str(i)}} for i in range(3)]
    }
    page = {"data": [{"id": str(i), "Last_Name": "x"} for i in range(7)], "info": {"more_records": False}}

    def handler(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(201, json=written) if request.method == "POST" else httpx.Response(200, json=page)
        )

    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(handler),
        event_hooks={"call_finished": [finished.append]},
    ) as bigin:
        await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": str(i)} for i in range(3)]})
        [record async for record in bigin.contacts.list()]
    assert [(e.method, e.operation, e.records) for e in finished] == [
        ("POST", "create", 3),
        ("GET", "list", 7),
    ]


async def test_budget_low_is_given_once_as_the_credits_fall_to_a_tenth() -> None:
    low: list[BudgetLow] = []
    transport = _answers(httpx.Response(200, json=RECORD))
    async with _client(transport, daily_limit=20, event_hooks={"budget_low": [low.append]}) as bigin:
        for _ in range(19):
            await bigin.contacts.get(ID)
    assert [(e.remaining, e.threshold, e.limit) for e in low] == [(2, 2, 20)]


async def test_no_event_shows_a_secret() -> None:
    seen, hooks = _recording()
    transport = _answers(
        httpx.Response(401, json={"code": "INVALID_TOKEN"}),
        httpx.Response(503, json={"code": "INTERNAL_ERROR", "message": f"echo {ACCESS}"}),
        httpx.Response(200, json=RECORD),
    )
    async with _client(transport, event_hooks=hooks) as bigin:
        await bigin.contacts.get(ID)
        await bigin.request("GET", "/Contacts/search", params={"access_token": ACCESS, "email": "a@b.c"})
    shown = "\n".join(repr(event) for event in seen)
    assert "token rejected" in shown  # the 401's retry is among them
    for secret in (*SECRET_STRINGS, ACCESS):
        assert secret not in shown


@pytest.mark.parametrize(
    ("hooks", "says"),
    [
        ({"retry": [print]}, "did you mean 'retry_scheduled'"),
        ({"request_sent": print}, "must be a list of hooks"),
        ({"request_sent": "print"}, "must be a list of hooks"),
        ({"request_sent": [1]}, "int, which is not callable"),
        ([print], "must be a dict"),
        ({"nothing_like_it": [print]}, "the events are call_started"),
    ],
)
def test_bad_event_hooks_are_refused_at_construction(hooks: Any, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        BiginClient(access_token="t", event_hooks=hooks)


@pytest.mark.parametrize(
    ("method", "path", "described"),
    [
        ("GET", "/bigin/v2/Contacts/4150868000000624001", ("/bigin/v2/Contacts/{id}", "Contacts", "get")),
        ("get", "/bigin/v2/Contacts", ("/bigin/v2/Contacts", "Contacts", "list")),
        ("POST", "/bigin/v2/Contacts/upsert", ("/bigin/v2/Contacts/upsert", "Contacts", "upsert")),
        ("GET", "/bigin/v2/Contacts/search?email=a@b.c", ("/bigin/v2/Contacts/search", "Contacts", "search")),
        ("GET", "/bigin/v2/Contacts/1/Notes", ("/bigin/v2/Contacts/{id}/Notes", "Contacts", "get_notes")),
        ("PUT", "/bigin/v2/Contacts/1/photo", ("/bigin/v2/Contacts/{id}/photo", "Contacts", "put_photo")),
        ("GET", "/bigin/v2/CustomModule1/7", ("/bigin/v2/CustomModule1/{id}", "CustomModule1", "get")),
        ("GET", "/bigin/v2/Contacts;jsessionid=X", ("/bigin/v2/Contacts", "Contacts", "list")),
        ("GET", "/bigin/v2/settings/fields", ("/bigin/v2/settings/fields", None, "get_settings_fields")),
        ("GET", "/bigin/v2/users/77", ("/bigin/v2/users/{id}", None, "get_users")),
        ("GET", "/bigin/v2/files/abcdefTOKENlike", ("/bigin/v2/files/{id}", None, "get_files")),
        ("POST", "/bigin/v2/coql", ("/bigin/v2/coql", None, "post_coql")),
        ("POST", "https://www.zohoapis.com/bigin/bulk/v2/read", ("/bigin/bulk/v2/read", None, "bulk_read")),
        (
            "GET",
            "https://www.zohoapis.com/bigin/bulk/v2/read/55",
            ("/bigin/bulk/v2/read/{id}", None, "bulk_read_status"),
        ),
        (  # the result's download: a template of its own (it was /read/{id}/{id}), its own operation
            "GET",
            "/bigin/bulk/v2/read/4150868000001234567/result",
            ("/bigin/bulk/v2/read/{id}/result", None, "bulk_read_result"),
        ),
        ("GET", "/bigin/bulk/v2/write/9", ("/bigin/bulk/v2/write/{id}", None, "bulk_write_status")),
        ("POST", "/bigin/bulk/v2/write", ("/bigin/bulk/v2/write", None, "bulk_write")),
        ("GET", "https://download.zoho.com/x/y%40z", ("/{id}/{id}", None, "get")),
        (
            "GET",
            "https://download-accl.zoho.com/v2/crm/12345/bulk-write/9",
            ("/v2/crm/{id}/{id}/{id}", None, "get_v2_crm"),
        ),
        ("DELETE", "/", ("/", None, "delete")),
    ],
)
def test_url_templates_hold_no_ids(method: str, path: str, described: tuple[str, str | None, str]) -> None:
    assert describe_path(method, path) == described


async def test_each_bulk_batch_says_how_it_went() -> None:
    done: list[BulkBatchDone] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["data"]
        answers = [
            {"code": "SUCCESS", "status": "success", "details": {"id": str(1000 + i)}}
            if record["Last_Name"] != "bad"
            else {"code": "INVALID_DATA", "status": "error", "message": "no", "details": {}}
            for i, record in enumerate(sent)
        ]
        return httpx.Response(200, json={"data": answers})

    records = [{"Last_Name": "bad" if i % 50 == 0 else str(i)} for i in range(250)]
    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(handler),
        event_hooks={"bulk_batch_done": [done.append]},
    ) as bigin:
        result = await bigin.contacts.bulk_create(records)
    assert result.total == 250
    assert sorted(e.batch for e in done) == [1, 2, 3]
    assert sorted((e.records, e.succeeded, e.failed, e.unknown) for e in done) == [
        (50, 49, 1, 0),
        (100, 98, 2, 0),
        (100, 98, 2, 0),
    ]
    assert {(e.module, e.operation) for e in done} == {("Contacts", "bulk_create")}


class _FirstAnsweredLast(httpx.AsyncBaseTransport):
    """Holds the answer to the first bulk call until every other one has been answered."""

    def __init__(self, calls: int) -> None:
        self.calls, self.answered, self.others_done = calls, 0, anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["data"]
        if sent[0]["Last_Name"] == "0":
            await self.others_done.wait()
        answers = [{"code": "SUCCESS", "status": "success", "details": {"id": r["Last_Name"]}} for r in sent]
        self.answered += 1
        if self.answered == self.calls - 1:
            self.others_done.set()
        return httpx.Response(200, json={"data": answers})


async def test_a_bulk_batch_is_numbered_by_its_place_in_the_input_not_by_when_it_ended() -> None:
    done: list[BulkBatchDone] = []
    records = [{"Last_Name": str(i)} for i in range(250)]
    async with BiginClient(
        access_token="t",
        transport=_FirstAnsweredLast(3),
        event_hooks={"bulk_batch_done": [done.append]},
    ) as bigin:
        result = await bigin.contacts.bulk_create(records)
    assert result.counts["success"] == 250
    # Batch 1 (records 0-99) ended last; its number still says which records it held.
    assert [e.batch for e in done][-1] == 1
    assert sorted((e.batch, e.records) for e in done) == [(1, 100), (2, 100), (3, 50)]


class _Slow(httpx.AsyncBaseTransport):
    """Answers after ``delay`` seconds (forever when None), counting requests."""

    def __init__(self, delay: float | None, answer: httpx.Response) -> None:
        self.delay, self.answer, self.requests = delay, answer, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.delay is None:
            await anyio.sleep_forever()
        else:
            await anyio.sleep(self.delay)
        return httpx.Response(self.answer.status_code, json=json.loads(self.answer.content))


CREATED = {"data": [{"code": "SUCCESS", "status": "success", "details": {"id": ID}}]}


def _endless(note: Callable[[Any], object]) -> Callable[[Any], Any]:
    """An async hook that never returns; ``note(event)`` once it is cancelled."""

    async def endless(event: Any) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            note(event)

    return endless


async def test_a_plain_hook_returning_an_awaitable_never_makes_an_answered_call_a_lost_one() -> None:
    """Review: awaited under the exchange's own timeout, such a hook turned a 200 into a ReadTimeout
    and the GET was sent again (an insert raised AmbiguousWriteError)."""
    answers: list[ResponseReceived] = []

    def slow_hook(event: ResponseReceived) -> Any:
        answers.append(event)
        return anyio.sleep(0.3)  # longer than the attempt's timeout

    transport = _Slow(0.0, httpx.Response(200, json=RECORD))
    async with BiginClient(
        access_token="t", transport=transport, timeout=0.1, event_hooks={"response_received": [slow_hook]}
    ) as bigin:
        assert (await bigin.contacts.get(ID)).id == ID
        created = await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "x"}]})
    assert created["data"][0]["id"] == ID
    assert transport.requests == 2  # one GET, one POST: nothing sent again
    assert [(e.status_code, e.error) for e in answers] == [(200, None), (200, None)]


async def test_a_deadline_passing_in_an_answer_hook_keeps_the_answer_of_an_applied_insert() -> None:
    """Review: the deadline firing in an async response_received hook made an applied insert a
    plain BiginTimeoutError, and a journaled bulk_create resumed by sending it again."""
    cut: list[str] = []
    endless = _endless(lambda event: cut.append(event.name))
    transport = _Slow(0.0, httpx.Response(201, json=CREATED))
    async with BiginClient(
        access_token="t", transport=transport, deadline=0.2, event_hooks={"response_received": [endless]}
    ) as bigin:
        result = await bigin.contacts.create({"Last_Name": "Ng"})
        assert result.id == ID
        bulk = await bigin.contacts.bulk_create([{"Last_Name": "Ng"}])
    assert [o.status for o in bulk.outcomes] == ["success"]
    assert transport.requests == 2 and cut == ["response_received", "response_received"]


async def test_a_hook_of_an_attempt_cut_by_its_timeout_is_still_bounded_by_the_deadline() -> None:
    """Review: the ResponseReceived of a timed-out attempt was given outside every scope: a slow
    hook there held the call past its deadline."""
    seen: list[str | None] = []

    async def endless(event: ResponseReceived) -> None:
        seen.append(event.error)
        await anyio.sleep_forever()

    transport = _Slow(None, httpx.Response(200, json=RECORD))
    with anyio.fail_after(60):  # a safety net against a hang only; the call's own bound is 0.5 s
        async with BiginClient(
            access_token="t",
            transport=transport,
            timeout=0.1,
            deadline=0.5,
            event_hooks={"response_received": [endless]},
        ) as bigin:
            with pytest.raises(BiginTimeoutError):
                await bigin.contacts.get(ID)
    assert seen and seen[0] == "ReadTimeout"


async def test_a_slow_request_sent_hook_never_holds_the_request_past_its_send_time() -> None:
    """The limiter booked the send for now: a hook that waited there sent it later than booked
    (past ``latency_allowance``, a rolling minute could hold more than the cap). Hooks get
    ``request_sent`` with the attempt's answer; the stats and other sinks get it at once."""
    order: list[str] = []

    async def slow(event: RequestSent) -> None:
        order.append("hook starts")
        await anyio.lowlevel.checkpoint()
        order.append("hook ends")

    def handler(request: httpx.Request) -> httpx.Response:
        order.append("sent")
        return httpx.Response(200, json=RECORD)

    async with BiginClient(
        access_token="t",
        transport=httpx.MockTransport(handler),
        event_hooks={"request_sent": [slow], "response_received": [lambda event: order.append("answered")]},
    ) as bigin:
        await bigin.contacts.get(ID)
    assert order == ["sent", "hook starts", "hook ends", "answered"]


async def test_a_request_sent_hook_that_never_returns_costs_the_call_nothing() -> None:
    """It ran before the send, under the deadline: the call failed with a timeout unsent (and
    ``stats().attempts`` said 1). Now it runs with the answer, which the deadline cannot take."""
    finished: list[CallFinished] = []
    cut: list[int] = []
    endless = _endless(lambda event: cut.append(event.attempt))
    transport = _Slow(0.0, httpx.Response(200, json=RECORD))
    async with BiginClient(
        access_token="t",
        transport=transport,
        deadline=0.2,
        event_hooks={"request_sent": [endless], "call_finished": [finished.append]},
    ) as bigin:
        assert (await bigin.contacts.get(ID)).id == ID
        stats = bigin.stats()
    assert transport.requests == 1 and cut == [1]
    assert [(e.attempts, e.error) for e in finished] == [(1, None)]
    assert (stats.attempts, stats.calls, stats.failed) == (1, 1, 0)


async def test_a_deadline_cutting_an_async_hook_still_leaves_the_plain_ones_every_held_event() -> None:
    """Review: the deadline fired mid-exchange, so the held hooks ran with it passed; the first
    async hook's await was cancelled and every later hook and event was dropped, plain ones too."""
    seen: list[tuple[str, str]] = []

    async def awaiting(event: ClientEvent) -> None:
        seen.append(("async", event.name))
        await anyio.lowlevel.checkpoint()
        seen.append(("async done", event.name))

    def plain(event: ClientEvent) -> None:
        seen.append(("plain", event.name))

    def finished(event: ClientEvent) -> None:
        seen.append(("finished", event.name))

    # The deadline cuts the exchange: no response_received, the call ends in error.
    hooks: dict[str, list[Any]] = {
        "request_sent": [awaiting, plain, awaiting, plain],
        "call_finished": [finished],
    }
    async with BiginClient(
        access_token="t",
        transport=_Slow(1.0, httpx.Response(200, json=RECORD)),
        deadline=0.2,
        event_hooks=hooks,
    ) as bigin:
        with pytest.raises(BiginTimeoutError):
            await bigin.contacts.get(ID)
    # The deadline had passed: the first async hook is cut at its await, the rest get what is plain.
    assert seen == [
        ("async", "request_sent"),
        ("plain", "request_sent"),
        ("plain", "request_sent"),
        ("finished", "call_finished"),
    ]


async def test_a_cancelled_call_still_tells_plain_hooks_what_it_sent() -> None:
    sent: list[int] = []
    answered: list[int | None] = []
    started = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    class Hanging(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await handler(request)

    async with BiginClient(
        access_token="t",
        transport=Hanging(),
        event_hooks={
            "request_sent": [lambda event: sent.append(event.attempt)],
            "response_received": [lambda event: answered.append(event.status_code)],
        },
    ) as bigin:
        async with anyio.create_task_group() as tg:
            tg.start_soon(bigin.contacts.get, ID)
            await started.wait()
            tg.cancel_scope.cancel()
    assert sent == [1]


async def test_budget_low_reads_the_days_allowance_from_zoho_without_a_daily_limit() -> None:
    low: list[BudgetLow] = []
    remaining = iter([600, 520, 450, 440])

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(next(remaining))}
        return httpx.Response(200, json=RECORD, headers=headers)

    async with BiginClient(
        access_token="t", transport=httpx.MockTransport(handler), event_hooks={"budget_low": [low.append]}
    ) as bigin:
        for _ in range(4):
            await bigin.contacts.get(ID)
    assert [(e.remaining, e.threshold, e.limit) for e in low] == [(450, 500, None)]


async def test_zoho_books_calls_are_the_bigin_clients_events_too() -> None:
    from bigin_async.books import BooksClient
    from bigin_emulator import BiginEmulator

    finished: list[CallFinished] = []
    emulator = BiginEmulator()
    async with emulator.client(event_hooks={"call_finished": [finished.append]}) as bigin:
        books = BooksClient.from_bigin(bigin, emulator.books.organization_id)
        assert await books.contacts.search(email="nobody@example.com") == []
        await bigin.contacts.list(per_page=1)
        stats = bigin.stats()
    assert [e.url_template.split("/")[1] for e in finished] == ["books", "bigin"]
    assert stats.calls == 2 and stats.refreshes == 1


@pytest.mark.parametrize("status", [200, 400])
async def test_a_call_cancelled_while_an_answer_hook_runs_still_ends_whether_it_failed_or_not(
    status: int,
) -> None:
    # A 400 used to reach its held hooks from the error handler, outside the part that ends a
    # cancelled call: the cancellation left it without CallFinished, in progress for ever.
    finished: list[CallFinished] = []
    in_hook = anyio.Event()

    async def slow(event: ClientEvent) -> None:
        in_hook.set()
        await anyio.sleep_forever()

    body = RECORD if status == 200 else {"code": "INVALID_DATA", "message": "no"}
    transport = _answers(httpx.Response(status, json=body))
    hooks = {"response_received": [slow], "call_finished": [finished.append]}
    async with _client(transport, event_hooks=hooks) as bigin:
        async with anyio.create_task_group() as tg:
            tg.start_soon(bigin.contacts.get, ID)
            await in_hook.wait()
            tg.cancel_scope.cancel()
        stats = bigin.stats()
    assert [(e.error, e.status_code, e.attempts) for e in finished] == [("Cancelled", status, 1)]
    assert (stats.in_progress, stats.calls, stats.failed) == (0, 1, 1)


async def test_a_zoho_code_that_echoes_the_token_is_redacted_in_every_event() -> None:
    # The code is copied from the answer's body: a server (or proxy) that puts the request's
    # Authorization there must not carry the token into ResponseReceived or CallFinished.
    seen, hooks = _recording()

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"code": request.headers["authorization"], "message": "x"})

    async with _client(_answers(echo), event_hooks=hooks) as bigin:
        with pytest.raises(Exception):  # noqa: B017 - which error does not matter here
            await bigin.contacts.get(ID)
    codes = [getattr(event, "zoho_code", None) for event in seen]
    assert any(code for code in codes), codes
    assert not [code for code in codes if code and (ACCESS in code or "1000." in code)], codes


@pytest.mark.parametrize("event", ["rate_limited", "response_received", "retry_scheduled"])
async def test_zohos_429_pause_begins_at_the_answer_not_after_the_hooks_of_it(event: str) -> None:
    # The pause was opened only once the answer's and the retry's hooks had run: a slow hook let
    # every other call send into Zoho's 429 window meanwhile, and made the pause longer.
    seen: list[float] = []

    async def look(hooked: ClientEvent) -> None:
        seen.append(bigin.transport._shared.cooldown.remaining)

    transport = _answers(
        httpx.Response(429, headers={"Retry-After": "30"}, json={"code": "TOO_MANY_REQUESTS"}),
        httpx.Response(200, json=RECORD),
    )
    async with _client(transport, event_hooks={event: [look]}) as bigin:
        with anyio.move_on_after(0.01):  # the pause itself is not waited out here
            await bigin.contacts.get(ID)
    assert len(seen) == 1 and seen[0] > 29, seen


@pytest.mark.parametrize("event", ["call_finished", "retry_scheduled", "token_refreshed"])
async def test_a_plain_hook_after_an_async_hook_the_deadline_cuts_still_gets_the_event(event: str) -> None:
    # Held events (response_received...) already went on to the plain hooks after a cut one;
    # events given at once (call_finished, retry_scheduled, token_refreshed) did not.
    got: list[str] = []

    async def forever(hooked: ClientEvent) -> None:
        await anyio.sleep_forever()

    transport = _answers(
        httpx.Response(503, json={"code": "INTERNAL_ERROR"}), httpx.Response(200, json=RECORD)
    )
    hooks = {event: [forever, lambda hooked: got.append(hooked.name)]}
    async with _client(transport, deadline=0.05, event_hooks=hooks) as bigin:
        if event == "call_finished":  # the call was over: its result stands
            assert (await bigin.contacts.get(ID)).id == ID
        else:  # the hook took the rest of the deadline from the call
            with pytest.raises(BiginTimeoutError):
                await bigin.contacts.get(ID)
    assert got[:1] == [event]


async def test_stats_count_a_refresh_that_finished_after_its_caller_gave_up() -> None:
    # The refresh went on (single-flight, shielded) after the call that asked for it timed out;
    # stats() counted refreshes only as TokenRefreshed events, given when a later call saw the
    # new token, one event however many refreshes had happened meanwhile: 1 counted for 2 made.
    minted: list[int] = []
    slow_once = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            minted.append(len(minted) + 1)
            if len(minted) == 1:
                await slow_once.wait()
            return httpx.Response(200, json=token_body(f"1000.access-minted-{len(minted)}"))
        return httpx.Response(200, json=RECORD)

    class Transport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await handler(request)

    async with _client(Transport(), deadline=0.05) as bigin:
        with pytest.raises(BiginTimeoutError):
            await bigin.contacts.get(ID)  # the refresh is still under way when this gives up
        slow_once.set()
        tokens = bigin.transport.tokens
        while tokens.refresh_count < 1:
            await anyio.lowlevel.checkpoint()
        after_first = bigin.stats().refreshes
        await tokens.invalidate(await tokens.get_token())  # the token is refused: refresh again
        await tokens.get_token()
        assert tokens.refresh_count == 2
        await bigin.contacts.get(ID)
        stats = bigin.stats()
    assert after_first == 1
    assert stats.refreshes == len(minted) == 2


async def test_books_calls_queued_at_their_own_gate_are_not_in_bigins_gate_queue() -> None:
    # Review (helper-91): Books shares Bigin's event bus (its calls count in calls and attempts),
    # but its queue was counted as Bigin's: gate_queue 2 with none of Bigin's 2 places taken.
    from bigin_async.books import BooksClient

    release = anyio.Event()
    arrived = anyio.Event()

    class Books(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            arrived.set()
            await release.wait()
            return httpx.Response(200, json={"code": 0, "message": "success", "contacts": []})

    with anyio.fail_after(30):
        async with BiginClient(access_token="t", transport=Books(), max_concurrency=2) as bigin:
            books = BooksClient.from_bigin(bigin, "60012345678", max_concurrency=1)
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(books.request, "GET", "/contacts")
                await arrived.wait()
                await anyio.wait_all_tasks_blocked()
                during = bigin.stats()
                release.set()
            after = bigin.stats()
    assert (during.gate_in_flight, during.gate_limit, during.in_progress) == (0, 2, 3)
    assert (during.gate_queue, during.gate_queue_peak) == (0, 0)
    assert (after.gate_queue, after.gate_queue_peak, after.calls) == (0, 0, 3)


class _AnswersThenHangs(httpx.AsyncBaseTransport):
    """A 503 for the first attempt, then no answer at all (until cancelled)."""

    def __init__(self) -> None:
        self.seen = 0
        self.second = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen == 1:
            return httpx.Response(503, json={"code": "INTERNAL_ERROR", "message": "down", "status": "error"})
        self.second.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


@pytest.mark.parametrize("cut", ["deadline", "cancel"])
async def test_a_call_cut_on_an_unanswered_attempt_reports_no_earlier_answer(cut: str) -> None:
    # Review (helper-91): the 2nd attempt, cut by the deadline or a cancellation, had no answer,
    # yet call_finished (and the span) said 503 INTERNAL_ERROR, the 1st attempt's.
    ended: list[CallFinished] = []
    zoho = _AnswersThenHangs()
    with anyio.fail_after(30):
        async with BiginClient(
            access_token="t",
            transport=zoho,
            retry_backoff_seconds=0.0,
            deadline=0.5 if cut == "deadline" else None,
            timeout=20,
            event_hooks={"call_finished": [ended.append]},
        ) as bigin:
            if cut == "deadline":
                with pytest.raises(BiginTimeoutError):
                    await bigin.contacts.get(ID)
            else:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(bigin.contacts.get, ID)
                    await zoho.second.wait()
                    tg.cancel_scope.cancel()
    (finished,) = ended
    assert finished.attempts == 2
    assert (finished.status_code, finished.zoho_code) == (None, None)


async def test_records_are_told_for_reads_by_id_and_for_deletes() -> None:
    # Review (helper-91): "records (written, or read)" was None for get(id) and for deletes.
    from bigin_emulator import BiginEmulator

    started: list[CallStarted] = []
    ended: list[CallFinished] = []
    emulator = BiginEmulator(seed_records=5)
    async with emulator.client() as bigin:
        first, second, third = (await bigin.contacts.list(per_page=3)).data
        assert first.id and second.id and third.id
        bigin.event_hooks = {"call_started": [started.append], "call_finished": [ended.append]}
        await bigin.contacts.get(first.id)
        await bigin.contacts.bulk_delete([second.id, third.id])
        await bigin.contacts.delete(first.id)
    records = [(event.method, event.url_template, event.records) for event in ended]
    assert records == [
        ("GET", "/bigin/v2/Contacts/{id}", 1),
        ("DELETE", "/bigin/v2/Contacts", 2),
        ("DELETE", "/bigin/v2/Contacts/{id}", 1),
    ]
    assert [event.records for event in started] == [None, 2, 1]  # a read's count is known at its end


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/bigin/bulk/v2/read/4150868000001234567"),  # a Bulk Read job's status
        ("GET", "/bigin/v2/users/4150868000000225013"),
        ("GET", "/bigin/v2/Contacts/4150868000000624001/Attachments/4150868000000999001"),
        ("DELETE", "/bigin/v2/settings/tags/4150868000000777001"),
    ],
)
async def test_records_are_not_told_for_what_is_no_record_read_by_its_id(method: str, path: str) -> None:
    # Review (helper-96): every call whose template ended in /{id} counted one record.
    ended: list[CallFinished] = []
    answer = {"data": [{"id": "1", "state": "COMPLETED"}], "users": [{"id": "1"}]}
    zoho = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    async with BiginClient(
        access_token="t", transport=zoho, event_hooks={"call_finished": [ended.append]}
    ) as bigin:
        if "/bulk/" in path:
            await bigin.transport.send(method, path.removeprefix("/bigin/bulk/v2"), service="bulk")
        else:
            await bigin.request(method, path.removeprefix("/bigin/v2"))
    (finished,) = ended
    assert finished.records is None, (finished.url_template, finished.records)
