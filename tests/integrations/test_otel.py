"""Issue 15, item 7: ``bigin_async.integrations.otel``: a span per call, events per attempt, metrics.

Read with opentelemetry-sdk's in-memory exporters: the span's name is a URL template (no id, no
token), its attributes and events tell the attempts, an error sets its status, spans nest under
the caller's own, and the metrics count calls, retries and credits.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from bigin_async import BiginClient, ConfigurationError, InvalidRequestError
from bigin_async.integrations.otel import BiginInstrumentation, instrument
from tests.helpers.missing import import_without

ID = "4150868000000624001"
TOKEN = "1000.access-SECRET-otel"


class Traced:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def instrument(self, client: BiginClient) -> BiginInstrumentation:
        return instrument(client, tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def points(self) -> dict[str, list[Any]]:
        data = self.metrics.get_metrics_data()
        found: dict[str, list[Any]] = {}
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


def _zoho(*statuses: int) -> httpx.MockTransport:
    queue = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        if status == 200:
            return httpx.Response(200, json={"data": [{"id": ID, "Last_Name": "Ng"}]})
        if status == 204:
            return httpx.Response(204)
        code = {503: "INTERNAL_ERROR", 429: "TOO_MANY_REQUESTS"}.get(status, "INVALID_DATA")
        return httpx.Response(status, headers={"Retry-After": "0"}, json={"code": code, "message": "no"})

    return httpx.MockTransport(handler)


async def test_a_call_is_one_span_named_by_its_template_with_an_event_per_attempt() -> None:
    traced = Traced()
    async with BiginClient(
        access_token=TOKEN, transport=_zoho(503, 200), retry_backoff_seconds=0.0, daily_limit=500
    ) as bigin:
        traced.instrument(bigin)
        tracer = traced.tracer_provider.get_tracer("app")
        with tracer.start_as_current_span("import job"):
            await bigin.contacts.get(ID)
    spans = {span.name: span for span in traced.spans.get_finished_spans()}
    assert set(spans) == {"GET /bigin/v2/Contacts/{id}", "import job"}
    span = spans["GET /bigin/v2/Contacts/{id}"]
    assert span.parent is not None and span.parent.span_id == spans["import job"].context.span_id
    attributes = dict(span.attributes or {})
    assert attributes == {
        "http.request.method": "GET",
        "url.template": "/bigin/v2/Contacts/{id}",
        "bigin.module": "Contacts",
        "bigin.operation": "get",
        "bigin.records": 1,  # one record read by its id
        "bigin.attempts": 2,
        "http.response.status_code": 200,
    }
    assert [event.name for event in span.events] == [
        "bigin.attempt.sent",
        "bigin.attempt.answered",
        "bigin.retry",
        "bigin.attempt.sent",
        "bigin.attempt.answered",
    ]
    assert span.events[1].attributes is not None
    assert span.events[1].attributes["http.response.status_code"] == 503
    assert span.events[1].attributes["bigin.zoho_code"] == "INTERNAL_ERROR"
    assert span.events[2].attributes is not None and span.events[2].attributes["bigin.reason"] == "HTTP 503"
    assert span.status.status_code is StatusCode.UNSET
    everything = repr(
        [(s.name, dict(s.attributes or {}), [e.attributes for e in s.events]) for s in spans.values()]
    )
    assert ID not in everything.replace("Contacts/{id}", "") and TOKEN not in everything

    points = traced.points()
    assert [p.count for p in points["bigin.client.call.duration"]] == [1]
    assert [(p.value, dict(p.attributes)["bigin.reason"]) for p in points["bigin.client.retries"]] == [
        (1, "HTTP 503")
    ]
    assert [p.value for p in points["bigin.client.credits.spent"]] == [2]
    assert [p.value for p in points["bigin.client.credits.remaining"]] == [498]


async def test_each_attempt_event_carries_its_attributes_and_none_that_is_unset() -> None:
    traced = Traced()
    async with BiginClient(access_token=TOKEN, transport=_zoho(429, 200), retry_backoff_seconds=0.0) as bigin:
        traced.instrument(bigin)
        await bigin.contacts.get(ID)
    (span,) = traced.spans.get_finished_spans()
    events = [(event.name, dict(event.attributes or {})) for event in span.events]
    assert [(name, sorted(attributes)) for name, attributes in events] == [
        (
            "bigin.attempt.sent",
            ["bigin.attempt", "bigin.cooldown_wait", "bigin.gate_wait", "bigin.limiter_wait"],
        ),
        (
            "bigin.attempt.answered",
            ["bigin.attempt", "bigin.elapsed", "bigin.zoho_code", "http.response.status_code"],
        ),
        ("bigin.rate_limited", ["bigin.attempt", "bigin.retry_after"]),
        ("bigin.retry", ["bigin.attempt", "bigin.reason", "bigin.shared_wait", "bigin.wait"]),
        (
            "bigin.attempt.sent",
            ["bigin.attempt", "bigin.cooldown_wait", "bigin.gate_wait", "bigin.limiter_wait"],
        ),
        ("bigin.attempt.answered", ["bigin.attempt", "bigin.elapsed", "http.response.status_code"]),
    ]
    # A retry names the attempt it schedules.
    assert [attributes["bigin.attempt"] for _, attributes in events] == [1, 1, 1, 2, 2, 2]
    assert (
        events[1][1]["http.response.status_code"] == 429 and events[5][1]["http.response.status_code"] == 200
    )
    assert events[2][1]["bigin.retry_after"] == 0.0
    assert events[3][1]["bigin.reason"] == "HTTP 429" and events[3][1]["bigin.shared_wait"] is True


async def test_an_error_sets_the_span_status_and_zoho_code() -> None:
    traced = Traced()
    async with BiginClient(access_token=TOKEN, transport=_zoho(404)) as bigin:
        traced.instrument(bigin)
        with pytest.raises(InvalidRequestError):
            await bigin.request("GET", f"/Contacts/{ID}/Notes")
    (span,) = traced.spans.get_finished_spans()
    assert span.name == "GET /bigin/v2/Contacts/{id}/Notes"
    assert span.status.status_code is StatusCode.ERROR
    attributes = dict(span.attributes or {})
    assert (
        attributes["error.type"] == "InvalidRequestError" and attributes["bigin.zoho_code"] == "INVALID_DATA"
    )
    (duration,) = traced.points()["bigin.client.call.duration"]
    assert dict(duration.attributes)["error.type"] == "InvalidRequestError"


async def test_a_cancelled_call_ends_its_span_and_the_callers_context_is_restored() -> None:
    from opentelemetry import trace

    class Hang(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

    traced = Traced()
    async with BiginClient(access_token=TOKEN, transport=Hang()) as bigin:
        traced.instrument(bigin)
        before = trace.get_current_span()
        with anyio.move_on_after(0.05):
            await bigin.contacts.get(ID)
        assert trace.get_current_span() is before
    (span,) = traced.spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "Cancelled"


async def test_concurrent_calls_get_a_span_each_and_views_are_traced_too() -> None:
    traced = Traced()
    async with BiginClient(access_token=TOKEN, transport=_zoho(200)) as bigin:
        traced.instrument(bigin)
        view = bigin.with_options(timeout=5)
        async with anyio.create_task_group() as tg:
            for client in (bigin, view) * 5:
                tg.start_soon(client.contacts.get, ID)
    spans = traced.spans.get_finished_spans()
    assert len(spans) == 10 and len({span.context.span_id for span in spans}) == 10
    assert all(span.parent is None for span in spans)  # siblings, not nested in one another


async def test_instrumenting_twice_is_refused_and_uninstrument_stops() -> None:
    traced = Traced()
    async with BiginClient(access_token=TOKEN, transport=_zoho(200)) as bigin:
        instrumentation = traced.instrument(bigin)
        with pytest.raises(ConfigurationError, match="instrumented already"):
            traced.instrument(bigin.with_options(timeout=3))
        await bigin.contacts.get(ID)
        instrumentation.uninstrument()
        instrumentation.uninstrument()
        await bigin.contacts.get(ID)
        again = traced.instrument(bigin)  # allowed once stopped
        await bigin.contacts.get(ID)
        again.uninstrument()
    assert len(traced.spans.get_finished_spans()) == 2
    with pytest.raises(ConfigurationError, match="takes a BiginClient"):
        instrument("client")  # type: ignore[arg-type]


def test_importing_the_integration_without_opentelemetry_names_the_extra() -> None:
    assert import_without("opentelemetry", "bigin_async.integrations.otel") == (
        "ModuleNotFoundError: bigin_async.integrations.otel needs opentelemetry-api: "
        "pip install 'bigin-async[otel]'"
    )


def _credit_points(traced: Traced) -> list[tuple[str, int | float, str]]:
    points = traced.points()
    return sorted(
        (name.rsplit(".", 1)[1], p.value, dict(p.attributes)["bigin.client"])
        for name in ("bigin.client.credits.spent", "bigin.client.credits.remaining")
        for p in points.get(name, [])
    )


async def test_two_clients_on_one_meter_provider_each_report_their_credits() -> None:
    # The SDK's meter gives back an observable instrument already created under the same name
    # and drops the new callbacks: the second client's credits used to go unreported.
    traced = Traced()

    def credits(left: int) -> httpx.MockTransport:
        headers = {"X-RATELIMIT-REMAINING": str(left), "X-RATELIMIT-LIMIT": "1000"}
        body = {"data": [{"id": ID}]}
        return httpx.MockTransport(lambda r: httpx.Response(200, headers=headers, json=body))

    async with BiginClient(access_token=TOKEN, transport=credits(999)) as first:
        async with BiginClient(access_token=TOKEN, transport=credits(47)) as second:
            one, two = traced.instrument(first), traced.instrument(second)
            await first.contacts.get(ID)
            await second.contacts.get(ID)
            remaining = sorted(p[1] for p in _credit_points(traced) if p[0] == "remaining")
            labels = {p[2] for p in _credit_points(traced)}
            one.uninstrument()
            after = sorted(p[1] for p in _credit_points(traced) if p[0] == "remaining")
            two.uninstrument()
    assert remaining == [47, 999]
    assert len(labels) == 2  # each client its own series
    assert after == [47]  # an instrumentation stopped reports (and holds) its client no more


async def test_instrumenting_again_during_a_call_counts_its_retries_once() -> None:
    traced = Traced()
    gate = anyio.Event()
    answers = [503, 503, 200]

    async def handler(request: httpx.Request) -> httpx.Response:
        status = answers.pop(0)
        if len(answers) == 2:  # the first attempt: answered once instrumented again
            await gate.wait()
        if status == 200:
            return httpx.Response(200, json={"data": [{"id": ID}]})
        return httpx.Response(503, headers={"Retry-After": "0"}, json={"code": "INTERNAL_ERROR"})

    class Transport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await handler(request)

    async with BiginClient(access_token=TOKEN, transport=Transport(), retry_backoff_seconds=0.0) as bigin:
        first = traced.instrument(bigin)
        async with anyio.create_task_group() as tg:
            tg.start_soon(bigin.contacts.get, ID)
            while len(answers) == 3:
                await anyio.lowlevel.checkpoint()
            first.uninstrument()
            again = traced.instrument(bigin)
            gate.set()
        again.uninstrument()
        stats = bigin.stats()
    counted = sum(p.value for p in traced.points()["bigin.client.retries"])
    assert counted == sum(stats.retries_by_reason.values()) == 2
