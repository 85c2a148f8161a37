"""OpenTelemetry for bigin-async: a span per call, an event per attempt, and the client's metrics.

``pip install 'bigin-async[otel]'`` (``opentelemetry-api`` only: the SDK and the exporters are
yours to choose), then::

    from bigin_async.integrations.otel import instrument

    instrumentation = instrument(bigin)  # the global tracer and meter providers, or pass your own

What is recorded:

- **a span per logical call** (retries and waits included), named by its method and URL template,
  ``GET /bigin/v2/Contacts/{id}``: never an id, never a token. Its attributes:
  ``http.request.method``, ``url.template``, ``bigin.module``, ``bigin.operation``,
  ``bigin.records`` (written, or read), ``bigin.attempts``, ``http.response.status_code`` and,
  on an error, ``bigin.zoho_code`` (Zoho's ``code``: ``INVALID_DATA``...) and ``error.type``
  (the SDK's error class), with the span's status set to error. The span is current while the
  call runs, so an httpx instrumentation's HTTP spans nest inside it;
- **events of the span**: ``bigin.attempt.sent`` (with its waits at the gate, the limits and a
  429's pause), ``bigin.attempt.answered`` (status, Zoho's code, seconds), ``bigin.retry``
  (reason and wait), ``bigin.rate_limited``;
- **metrics**: ``bigin.client.call.duration`` (histogram, seconds, by module, operation and
  error), ``bigin.client.retries`` (by reason), ``bigin.client.rate_limited``,
  ``bigin.client.token.refreshes``, ``bigin.client.credits.spent`` and
  ``bigin.client.credits.remaining`` (read from ``bigin.credits`` when a reader collects; one
  series per instrumented client, told apart by ``bigin.client``: ``"1"``, ``"2"``... in the
  order :func:`instrument` was called in this process).

It listens to the client's events (:mod:`bigin_async.hooks`), so it sees every view of the client
and costs nothing more per call than building the spans.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, trace
    from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
except ModuleNotFoundError:  # pragma: no cover - tested by tests/test_missing_extras.py
    raise ModuleNotFoundError(
        "bigin_async.integrations.otel needs opentelemetry-api: pip install 'bigin-async[otel]'",
        name="opentelemetry",
    ) from None

from bigin_async._version import __version__
from bigin_async.client import BiginClient
from bigin_async.errors import ConfigurationError
from bigin_async.hooks import (
    CallEvent,
    CallFinished,
    CallStarted,
    ClientEvent,
    RateLimited,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    TokenRefreshed,
)

__all__ = ["BiginInstrumentation", "instrument"]

_SCOPE = "bigin_async"


@dataclass
class _Open:
    span: Span
    token: object  # the context token that made the span current


@dataclass
class BiginInstrumentation:
    """What :func:`instrument` returns: call :meth:`uninstrument` to stop (spans open then end
    as their calls do)."""

    client: BiginClient
    tracer: Tracer
    meter: Meter
    _open: dict[int, _Open] = field(default_factory=dict, repr=False)
    _remove: Any = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        meter = self.meter
        self._duration = meter.create_histogram(
            "bigin.client.call.duration", unit="s", description="Bigin API calls, retries and waits included"
        )
        self._retries = meter.create_counter(
            "bigin.client.retries", description="Bigin API attempts sent again"
        )
        self._rate_limited = meter.create_counter(
            "bigin.client.rate_limited", description="Zoho's 429 answers"
        )
        self._refreshes = meter.create_counter(
            "bigin.client.token.refreshes",
            description="access tokens refreshed (Zoho allows 10 in 10 minutes)",
        )
        self._series = {"bigin.client": str(next(_CLIENT_NUMBERS))}
        self._credits = _credit_instruments(meter)
        self._credits.add(self)

    # -- the sink ------------------------------------------------------------------------------
    def __call__(self, event: ClientEvent) -> None:
        kind = type(event)
        if kind is CallStarted:
            assert isinstance(event, CallStarted)
            if not self._stopped:
                self._start(event)
            return
        if not isinstance(event, CallEvent):
            if kind is TokenRefreshed and not self._stopped:
                self._refreshes.add(1)
            return
        opened = self._open.get(event.call_id)
        if opened is None:  # a call begun before instrument() or after uninstrument(): not ours
            return
        if kind is RetryScheduled:
            assert isinstance(event, RetryScheduled)
            self._retries.add(1, {"bigin.reason": event.reason, **_labels(event)})
        elif kind is RateLimited:
            self._rate_limited.add(1, _labels(event))
        described = _SPAN_EVENTS.get(kind)
        if described is not None:
            name, fields = described
            opened.span.add_event(name, _attributes(event, fields))
        elif kind is CallFinished:
            assert isinstance(event, CallFinished)
            self._finish(event)

    def _start(self, event: CallStarted) -> None:
        attributes: dict[str, Any] = {
            "http.request.method": event.method,
            "url.template": event.url_template,
            "bigin.operation": event.operation,
        }
        if event.module is not None:
            attributes["bigin.module"] = event.module
        if event.records is not None:
            attributes["bigin.records"] = event.records
        span = self.tracer.start_span(
            f"{event.method} {event.url_template}", kind=SpanKind.CLIENT, attributes=attributes
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        self._open[event.call_id] = _Open(span, token)

    def _finish(self, event: CallFinished) -> None:
        opened = self._open.pop(event.call_id)
        span = opened.span
        span.set_attribute("bigin.attempts", event.attempts)
        if event.records is not None:
            span.set_attribute("bigin.records", event.records)
        if event.status_code is not None:
            span.set_attribute("http.response.status_code", event.status_code)
        if event.zoho_code is not None:
            span.set_attribute("bigin.zoho_code", event.zoho_code)
        labels = _labels(event)
        if event.error is not None:
            span.set_attribute("error.type", event.error)
            span.set_status(Status(StatusCode.ERROR, event.error))
            labels["error.type"] = event.error
        span.end()
        otel_context.detach(opened.token)  # type: ignore[arg-type]
        self._duration.record(event.duration, labels)
        if self._stopped and not self._open:
            self._unhook()

    # -- lifecycle -----------------------------------------------------------------------------
    def uninstrument(self) -> None:
        """Stop tracing new calls (idempotent); the spans of calls under way end with them."""
        self._stopped = True
        if not self._open:
            self._unhook()

    def _unhook(self) -> None:
        self._credits.discard(self)
        remove, self._remove = self._remove, None
        if remove is not None:
            remove()


class _CreditInstruments:
    """The two credit instruments of one meter, read for every client instrumented on it.

    OpenTelemetry's SDK creates an observable instrument once per meter and name: asked again,
    it returns the first one and drops the new callbacks. So each meter gets one pair, whose
    callbacks report every live instrumentation, each under its own ``bigin.client``; one that
    stopped reports (and holds) its client no more.
    """

    def __init__(self, meter: Meter) -> None:
        self._live: list[BiginInstrumentation] = []
        self._lock = threading.Lock()  # a reader may collect from its own thread
        meter.create_observable_counter(
            "bigin.client.credits.spent",
            callbacks=[self._spent],
            description="Zoho API credits this client spent",
        )
        meter.create_observable_gauge(
            "bigin.client.credits.remaining",
            callbacks=[self._remaining],
            description="Zoho API credits left today (of daily_limit or Zoho's count)",
        )

    def add(self, instrumentation: BiginInstrumentation) -> None:
        with self._lock:
            self._live.append(instrumentation)

    def discard(self, instrumentation: BiginInstrumentation) -> None:
        with self._lock:
            self._live = [live for live in self._live if live is not instrumentation]

    def _spent(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(live.client.credits.spent_total, live._series) for live in self._live]

    def _remaining(self, options: CallbackOptions) -> Iterable[Observation]:
        observed = []
        for live in self._live:
            remaining = live.client.credits.remaining
            if remaining is not None:
                observed.append(Observation(remaining, live._series))
        return observed


_CLIENT_NUMBERS = itertools.count(1)
# Per meter (kept alive here, so its id is never reused): its credit instruments.
_CREDITS: dict[int, tuple[Meter, _CreditInstruments]] = {}
_CREDITS_LOCK = threading.Lock()


def _credit_instruments(meter: Meter) -> _CreditInstruments:
    with _CREDITS_LOCK:
        known = _CREDITS.get(id(meter))
        if known is None:
            known = _CREDITS[id(meter)] = (meter, _CreditInstruments(meter))
        return known[1]


# The span event each attempt-level event becomes: its name, and its attributes as
# ``{attribute: the event's field}`` (a field that is None is left out).
_SPAN_EVENTS: dict[type[ClientEvent], tuple[str, dict[str, str]]] = {
    RequestSent: (
        "bigin.attempt.sent",
        {
            "bigin.attempt": "attempt",
            "bigin.cooldown_wait": "cooldown_wait",
            "bigin.gate_wait": "gate_wait",
            "bigin.limiter_wait": "limiter_wait",
        },
    ),
    ResponseReceived: (
        "bigin.attempt.answered",
        {
            "bigin.attempt": "attempt",
            "bigin.elapsed": "elapsed",
            "http.response.status_code": "status_code",
            "bigin.zoho_code": "zoho_code",
            "error.type": "error",
        },
    ),
    RetryScheduled: (
        "bigin.retry",
        {
            "bigin.attempt": "attempt",
            "bigin.reason": "reason",
            "bigin.wait": "wait",
            "bigin.shared_wait": "shared",
        },
    ),
    RateLimited: ("bigin.rate_limited", {"bigin.attempt": "attempt", "bigin.retry_after": "retry_after"}),
}


def _attributes(event: ClientEvent, fields: dict[str, str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for attribute, name in fields.items():
        value = getattr(event, name)
        if value is not None:
            attributes[attribute] = value
    return attributes


def _labels(event: CallEvent) -> dict[str, Any]:
    labels: dict[str, Any] = {"http.request.method": event.method, "bigin.operation": event.operation}
    if event.module is not None:
        labels["bigin.module"] = event.module
    return labels


def instrument(
    client: BiginClient,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> BiginInstrumentation:
    """Trace and measure every call of ``client`` (and of its views) with OpenTelemetry.

    ``tracer_provider``/``meter_provider``: yours, else OpenTelemetry's global ones (a no-op until
    the application sets them). Instrumenting a client twice is refused (each span would be
    recorded twice); :meth:`BiginInstrumentation.uninstrument` first.
    """
    if not isinstance(client, BiginClient):
        raise ConfigurationError(f"instrument() takes a BiginClient, not {type(client).__name__}")
    events = client.transport.events
    if any(isinstance(sink, BiginInstrumentation) and not sink._stopped for sink in events.sinks):
        raise ConfigurationError(
            "this BiginClient (or the one it is a view of) is instrumented already; uninstrument() it first"
        )
    tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
    meter = (meter_provider or metrics.get_meter_provider()).get_meter(_SCOPE, __version__)
    instrumentation = BiginInstrumentation(client, tracer, meter)
    instrumentation._remove = events.add_sink(instrumentation)
    return instrumentation
