"""Issue 15, item 7, the three flows its tests name: spans and metrics, read with
opentelemetry-sdk's in-memory exporter and reader, for a list (several pages), a bulk write with
retries, and a token refresh; and no secret in any span, span event or metric attribute.

Against the emulator, whose own counters say what really happened: pages served, calls refused
with a 503, refreshes granted.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint, NumberDataPoint

from bigin_emulator import BiginEmulator, FaultPlan
from tests.integrations.test_otel import Traced


def _dumped(traced: Traced) -> str:
    """Every span (name, attributes, events) and every metric data point, as one text."""
    spans = [
        {
            "name": span.name,
            "attributes": dict(span.attributes or {}),
            "events": [(event.name, dict(event.attributes or {})) for event in span.events],
        }
        for span in traced.spans.get_finished_spans()
    ]
    data = traced.metrics.get_metrics_data()
    assert data is not None
    points = [
        (metric.name, dict(point.attributes or {}))
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    ]
    return json.dumps({"spans": spans, "points": points}, default=str)


def _no_secret_in(traced: Traced, emulator: BiginEmulator, *tokens: str) -> None:
    text = _dumped(traced)
    for secret in (emulator.client_secret, emulator.refresh_token, *tokens):
        assert secret and secret not in text, secret
    assert "Zoho-oauthtoken" not in text


def _sum(points: list[Any], **labels: Any) -> float:
    total = 0.0
    for point in points:
        attributes = dict(point.attributes or {})
        if all(attributes.get(key) == value for key, value in labels.items()):
            assert isinstance(point, NumberDataPoint | HistogramDataPoint)
            total += point.sum if isinstance(point, HistogramDataPoint) else point.value
    return total


async def test_a_list_over_several_pages_is_a_span_per_page_with_its_records() -> None:
    emulator = BiginEmulator(seed_records=450)
    traced = Traced()
    async with emulator.client() as bigin:
        traced.instrument(bigin)
        names = [contact.id async for contact in bigin.contacts.list(per_page=200)]
    assert len(names) == 450
    spans = [span for span in traced.spans.get_finished_spans() if span.name == "GET /bigin/v2/Contacts"]
    assert [dict(span.attributes or {}).get("bigin.records") for span in spans] == [200, 200, 50]
    assert {dict(span.attributes or {})["bigin.operation"] for span in spans} == {"list"}
    assert all(dict(span.attributes or {})["http.response.status_code"] == 200 for span in spans)
    points = traced.points()
    (duration,) = [p for p in points["bigin.client.call.duration"] if isinstance(p, HistogramDataPoint)]
    assert duration.count == 3  # a call per page, nothing else measured
    assert _sum(points["bigin.client.credits.spent"]) == 3 == bigin.stats().credits_spent
    _no_secret_in(traced, emulator)


async def test_a_bulk_write_with_retries_tells_each_call_its_attempts_and_its_retries() -> None:
    plan = FaultPlan(seed=3, error_503=0.5, methods=frozenset({"POST"}))
    emulator = BiginEmulator(faults=plan)
    traced = Traced()
    async with emulator.client(retry_backoff_seconds=0.0, max_retries=8) as bigin:
        traced.instrument(bigin)
        # An upsert on Email: sent again after a 503 (an insert's fate would be unknown instead).
        contacts = [{"Last_Name": f"Ng {n}", "Email": f"ng{n}@example.com"} for n in range(350)]
        result = await bigin.contacts.bulk_upsert(contacts, duplicate_check_fields=["Email"])
        stats = bigin.stats()
    assert len(result.succeeded) == 350 and not result.failed
    spans = [
        span for span in traced.spans.get_finished_spans() if span.name == "POST /bigin/v2/Contacts/upsert"
    ]
    attributes: list[dict[str, Any]] = [dict(span.attributes or {}) for span in spans]
    assert sorted(attribute["bigin.records"] for attribute in attributes) == [50, 100, 100, 100]
    attempts = sum(attribute["bigin.attempts"] for attribute in attributes)
    retries = [event for span in spans for event in span.events if event.name == "bigin.retry"]
    assert attempts == len(spans) + len(retries) == stats.attempts
    assert len(retries) == stats.retries > 0  # the plan refuses about half the posts
    assert {dict(event.attributes or {})["bigin.reason"] for event in retries} == {"HTTP 503"}
    points = traced.points()
    assert _sum(points["bigin.client.retries"], **{"bigin.reason": "HTTP 503"}) == len(retries)
    assert _sum(points["bigin.client.credits.spent"]) == stats.credits_spent
    _no_secret_in(traced, emulator)


async def test_a_refresh_is_counted_once_per_token_the_accounts_server_granted() -> None:
    emulator = BiginEmulator(seed_records=1)
    traced = Traced()
    async with emulator.client() as bigin:
        traced.instrument(bigin)
        await bigin.contacts.list(per_page=1)  # the first token
        first = await bigin.transport.tokens.get_token()
        assert emulator.ctx.oauth.revoke_access_tokens() == 1  # Zoho ends the session early
        await bigin.contacts.list(per_page=1)  # INVALID_TOKEN, a refresh, the same call again
        second = await bigin.transport.tokens.get_token()
    tokens = [token.access_token.get_secret_value() for token in (first, second)]
    assert tokens[0] != tokens[1]
    assert emulator.counters.refreshes == 2
    points = traced.points()
    (refreshes,) = points["bigin.client.token.refreshes"]
    assert refreshes.value == 2 and dict(refreshes.attributes or {}) == {
        "bigin.client": traced_client(points)
    }
    spans = [span for span in traced.spans.get_finished_spans() if span.name == "GET /bigin/v2/Contacts"]
    retried = dict(spans[1].attributes or {})
    assert retried["bigin.attempts"] == 2 and retried["http.response.status_code"] == 200
    told = [(event.name, dict(event.attributes or {})) for event in spans[1].events]
    answered = [attributes for name, attributes in told if name == "bigin.attempt.answered"]
    assert [(a["http.response.status_code"], a.get("bigin.zoho_code")) for a in answered] == [
        (401, "INVALID_TOKEN"),
        (200, None),
    ]
    assert [a["bigin.reason"] for name, a in told if name == "bigin.retry"] == ["token rejected"]
    _no_secret_in(traced, emulator, *tokens)


def traced_client(points: dict[str, list[Any]]) -> str:
    """The ``bigin.client`` label the credit series of the one instrumented client carries."""
    (spent,) = points["bigin.client.credits.spent"]
    label = dict(spent.attributes or {})["bigin.client"]
    assert isinstance(label, str)
    return label
