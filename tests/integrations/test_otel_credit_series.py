"""The credit series of ``bigin_async.integrations.otel``: one per instrumented client, and only
while that client is open (its last values for ``CLOSED_CLIENT_GRACE`` more after it is closed).

Three defects reviews found: clients instrumented before the application set the global
MeterProvider each got a proxy meter of their own, and the SDK kept only the first client's
observable instruments (so only ``bigin.client="1"`` was reported); a client closed without
``uninstrument()`` kept its series and stayed referenced by the meter's callbacks for ever; and
a closed client's last values were reported once only, so with two readers on one provider
(Prometheus and OTLP, say) the second never saw them.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import metrics
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.util._once import Once

from bigin_async import BiginClient, ConfigurationError
from bigin_async.integrations import otel
from bigin_async.integrations.otel import CLOSED_CLIENT_GRACE, BiginInstrumentation, instrument

ID = "4150868000000624001"
TOKEN = "1000.access-SECRET-otel-credits"
SPENT = "bigin.client.credits.spent"
REMAINING = "bigin.client.credits.remaining"


@pytest.fixture
def unset_global_meter_provider() -> Iterator[None]:
    """OpenTelemetry's global MeterProvider as a fresh process has it: not set yet (a proxy).

    The API lets it be set once per process; the test puts the globals back as they were."""
    saved = (
        metrics_internal._METER_PROVIDER,
        metrics_internal._PROXY_METER_PROVIDER,
        metrics_internal._METER_PROVIDER_SET_ONCE,
    )
    metrics_internal._METER_PROVIDER = None
    metrics_internal._PROXY_METER_PROVIDER = metrics_internal._ProxyMeterProvider()
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    try:
        yield
    finally:
        (
            metrics_internal._METER_PROVIDER,
            metrics_internal._PROXY_METER_PROVIDER,
            metrics_internal._METER_PROVIDER_SET_ONCE,
        ) = saved


class _Clock:
    """``otel._clock`` for a test: the time stands still until the test moves it (no sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(otel, "_clock", fake)
    return fake


def _zoho(left: int) -> httpx.MockTransport:
    """Zoho answering every call with ``left`` credits remaining (of 5000)."""
    headers = {"X-RATELIMIT-REMAINING": str(left), "X-RATELIMIT-LIMIT": "5000"}
    body = {"data": [{"id": ID, "Last_Name": "Ng"}]}
    return httpx.MockTransport(lambda request: httpx.Response(200, headers=headers, json=body))


def _client(left: int) -> BiginClient:
    return BiginClient(access_token=TOKEN, transport=_zoho(left))


def _series(reader: InMemoryMetricReader, name: str) -> list[tuple[str, Any]]:
    """``(bigin.client, value)`` of every point of ``name`` the reader collects now, sorted."""
    data = reader.get_metrics_data()
    found: list[tuple[str, Any]] = []
    if data is None:
        return found
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found.extend(
                        (str(dict(p.attributes or {})["bigin.client"]), p.value)  # type: ignore[union-attr]
                        for p in metric.data.data_points
                    )
    return sorted(found)


def _number(instrumentation: BiginInstrumentation) -> str:
    return instrumentation._series["bigin.client"]


# -- defect 1: instrumented before the global MeterProvider is set ------------------------------
async def test_clients_instrumented_before_the_global_meter_provider_each_report_their_credits(
    unset_global_meter_provider: None,
) -> None:
    async with _client(4000) as first, _client(3000) as second, _client(2000) as third:
        one, two = instrument(first), instrument(second)  # the global provider: a proxy still
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        metrics.set_meter_provider(provider)
        three = instrument(third)  # the global provider, set now: the same real meter
        await first.contacts.get(ID)
        await second.contacts.get(ID)
        await second.contacts.get(ID)
        await third.contacts.get(ID)
        spent = _series(reader, SPENT)
        remaining = _series(reader, REMAINING)
        for instrumentation in (one, two, three):
            instrumentation.uninstrument()
        after = _series(reader, SPENT)
    assert spent == sorted([(_number(one), 1), (_number(two), 2), (_number(three), 1)])
    assert remaining == sorted([(_number(one), 4000), (_number(two), 3000), (_number(three), 2000)])
    assert after == []


async def test_the_global_provider_passed_explicitly_is_the_one_meter_still(
    unset_global_meter_provider: None,
) -> None:
    # Instruments made on the proxy meter, then again on the real meter it now forwards to,
    # would be created twice for one meter: the SDK keeps the first, and drops the others' callbacks.
    async with _client(4000) as first, _client(3000) as second:
        one = instrument(first)
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        metrics.set_meter_provider(provider)
        two = instrument(second, meter_provider=provider)
        await first.contacts.get(ID)
        await second.contacts.get(ID)
        remaining = _series(reader, REMAINING)
        one.uninstrument()
        two.uninstrument()
    assert remaining == sorted([(_number(one), 4000), (_number(two), 3000)])


async def test_a_meter_provider_passed_per_client_gets_only_that_clients_series(
    unset_global_meter_provider: None,
) -> None:
    readers = [InMemoryMetricReader(), InMemoryMetricReader()]
    providers = [MeterProvider(metric_readers=[reader]) for reader in readers]
    async with _client(4000) as first, _client(3000) as second, _client(2000) as third:
        on_global = instrument(first)  # before the global one is set, amid explicit ones
        one = instrument(second, meter_provider=providers[0])
        two = instrument(third, meter_provider=providers[1])
        global_reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[global_reader]))
        for client in (first, second, third):
            await client.contacts.get(ID)
        seen = [_series(reader, REMAINING) for reader in (global_reader, *readers)]
        for instrumentation in (on_global, one, two):
            instrumentation.uninstrument()
    assert seen == [[(_number(on_global), 4000)], [(_number(one), 3000)], [(_number(two), 2000)]]


# -- defect 2: a closed client ----------------------------------------------------------------
async def test_closed_clients_report_no_series_and_are_not_held() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    refs: list[weakref.ref[BiginClient]] = []
    async with _client(1000) as kept:
        stays = instrument(kept, meter_provider=provider)
        for left in range(900, 400, -100):
            async with _client(left) as bigin:
                instrument(bigin, meter_provider=provider)
                await bigin.contacts.get(ID)
            refs.append(weakref.ref(bigin))
            del bigin
        await kept.contacts.get(ID)
        gc.collect()
        spent = _series(reader, SPENT)
        remaining = _series(reader, REMAINING)
        alive = [ref for ref in refs if ref() is not None]
        stays.uninstrument()
    assert alive == []
    assert spent == [(_number(stays), 1)]  # the open client only
    assert remaining == [(_number(stays), 1000)]


async def test_a_closed_client_reports_its_last_values_through_the_grace_then_no_more(
    clock: _Clock,
) -> None:
    # The collections after aclose() (MeterProvider.shutdown()'s, often) export what the client
    # spent since the last ones, every reader's; after the grace they would only repeat it.
    readers = (InMemoryMetricReader(), InMemoryMetricReader())
    provider = MeterProvider(metric_readers=list(readers))
    bigin = _client(700)
    async with bigin:
        instrumentation = instrument(bigin, meter_provider=provider)
        await bigin.contacts.get(ID)
        before = [_series(reader, SPENT) for reader in readers]
        await bigin.contacts.get(ID)
        with pytest.raises(ConfigurationError, match="instrumented already"):
            instrument(bigin, meter_provider=provider)
    number = _number(instrumentation)
    assert before == [[(number, 1)], [(number, 1)]]
    assert bigin.closed
    clock.now += 60.0  # closed a while before any reader collects: the grace starts at the collection
    first = [(_series(reader, SPENT), _series(reader, REMAINING)) for reader in readers]
    clock.now += CLOSED_CLIENT_GRACE - 1.0
    second = [(_series(reader, SPENT), _series(reader, REMAINING)) for reader in readers]
    last = [(number, 2)], [(number, 700)]
    assert first == [last, last]
    assert second == [last, last]
    clock.now += 1.0
    assert [(_series(reader, SPENT), _series(reader, REMAINING)) for reader in readers] == [([], [])] * 2
    instrumentation.uninstrument()
    instrumentation.uninstrument()  # idempotent, closed or not
    assert [_series(reader, SPENT) for reader in readers] == [[], []]


async def test_each_reader_of_a_provider_gets_a_closed_clients_last_values(clock: _Clock) -> None:
    # Prometheus and OTLP, say, on one MeterProvider: the callbacks cannot tell their collections
    # apart, so the first must not use the last report up.
    prometheus, otlp = InMemoryMetricReader(), InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[prometheus, otlp])
    async with _client(700) as bigin:
        instrumentation = instrument(bigin, meter_provider=provider)
        await bigin.contacts.get(ID)
        assert _series(prometheus, SPENT) == _series(otlp, SPENT) == [(_number(instrumentation), 1)]
        await bigin.contacts.get(ID)
    seen = _series(prometheus, SPENT)
    clock.now += 59.0  # OTLP exports on its own interval
    seen_later = _series(otlp, SPENT)
    instrumentation.uninstrument()
    assert seen == seen_later == [(_number(instrumentation), 2)]


async def test_a_closed_client_uninstrumented_reports_nothing_more() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    async with _client(700) as bigin:
        instrumentation = instrument(bigin, meter_provider=provider)
        await bigin.contacts.get(ID)
    instrumentation.uninstrument()
    assert _series(reader, SPENT) == []


async def test_a_closed_view_leaves_its_clients_series_alone(clock: _Clock) -> None:
    # A view's aclose() leaves the shared pool open: the client is not closed, its series stays.
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    async with _client(600) as bigin:
        view = bigin.with_options(timeout=5)
        instrumentation = instrument(view, meter_provider=provider)
        await view.contacts.get(ID)
        await view.aclose()
        assert not view.closed
        during = [_series(reader, REMAINING) for _ in range(2)]
    after = [_series(reader, REMAINING)]
    clock.now += CLOSED_CLIENT_GRACE
    after.append(_series(reader, REMAINING))
    instrumentation.uninstrument()
    number = _number(instrumentation)
    assert during == [[(number, 600)], [(number, 600)]]
    assert after == [[(number, 600)], []]  # the client closed: its view's series goes with it


def test_an_instrumented_client_dropped_unclosed_is_not_held_by_the_meter() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    bigin = _client(500)
    instrument(bigin, meter_provider=provider)
    ref = weakref.ref(bigin)
    del bigin
    gc.collect()
    assert ref() is None
    assert _series(reader, SPENT) == []
