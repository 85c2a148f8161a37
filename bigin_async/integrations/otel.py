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
  call runs, so an httpx instrumentation's HTTP spans nest inside it (but not the token
  refresh's ``POST``: a refresh belongs to no one call, all those waiting for it share it, so it
  runs in a task of its own, and its HTTP span is a root span);
- **events of the span**: ``bigin.attempt.sent`` (with its waits at the gate, the limits and a
  429's pause), ``bigin.attempt.answered`` (status, Zoho's code, seconds), ``bigin.retry``
  (reason and wait), ``bigin.rate_limited``;
- **metrics**: ``bigin.client.call.duration`` (histogram, seconds, by module, operation and
  error), ``bigin.client.retries`` (by reason), ``bigin.client.rate_limited``,
  ``bigin.client.token.refreshes`` (each refresh once, by the first call to use its token),
  ``bigin.client.credits.spent`` and ``bigin.client.credits.remaining`` (read from
  ``bigin.credits`` when a reader collects); the last three with one series per instrumented
  client (Zoho's 10 refreshes in 10 minutes are per refresh token), told apart by
  ``bigin.client``: ``"1"``, ``"2"``... in the order :func:`instrument` was called in this
  process, whether the global MeterProvider was set before or after; a closed client's last
  credits are reported for :data:`CLOSED_CLIENT_GRACE` seconds from the first collection after
  it closed (so every reader of the provider exports them), then its series ends, and the meter
  never keeps a client alive).

It listens to the client's events (:mod:`bigin_async.hooks`), so it sees every view of the client
and costs nothing more per call than building the spans.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
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

# How long a closed client's credit series goes on, in seconds from the first collection that
# found it closed: every reader of the provider must collect it once more (each collects on its
# own interval, OpenTelemetry's default being 60 s), and a callback cannot tell them apart.
CLOSED_CLIENT_GRACE = 300.0
_clock = time.monotonic  # what the grace is measured with (tests set their own)


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
    # The provider ``meter`` came from (None: built directly from a meter). The credit
    # instruments are one set per provider, since a provider may hand out a new meter per call.
    _meter_provider: MeterProvider | None = field(default=None, repr=False)

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
        self._credits = _credit_instruments(self._meter_provider, meter)
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
                self._refreshes.add(1, self._series)  # per client: each refresh token has its own 10
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


@dataclass
class _Watched:
    """One instrumentation a credit instrument reads, held weakly (the meter must not keep a
    client alive); ``closed_at``: when (by ``_clock``) a collection first found its client
    closed, None while it is open or no collection has seen it closed yet."""

    ref: weakref.ref[BiginInstrumentation]
    closed_at: float | None = None


class _CreditInstruments:
    """The two credit instruments of one meter, read for every client instrumented on it.

    OpenTelemetry's SDK creates an observable instrument once per meter and name: asked again,
    it returns the first one and drops the new callbacks. So each meter gets one pair, whose
    callbacks report every live instrumentation, each under its own ``bigin.client``.

    The instrumentations are held weakly: a client nobody holds any more is gone, and its series
    with it. A closed client sends no more calls, so its series would only repeat its last value
    for ever (and a process opening a client per job would report every client it ever had): its
    last values are reported for :data:`CLOSED_CLIENT_GRACE` seconds more, counted from the first
    collection that finds it closed, then no more. Not just once: a provider may have several
    readers (Prometheus and OTLP, say), each collecting on its own schedule, and a callback
    cannot tell which one is asking, so the first reader's collection would use the last report
    up and the others would never export what the client spent since their last collection. The
    grace outlasts every reader's interval (``MeterProvider.shutdown()``'s collections included).
    One that stopped (:meth:`BiginInstrumentation.uninstrument`) is dropped at once.
    """

    def __init__(self, meter: Meter, *, provisional: bool) -> None:
        self.meter = meter
        # True when the provider these were made from gives a new meter per call: OpenTelemetry's
        # global proxy before the application sets a MeterProvider. Its meters forward to the real
        # provider's once it is set, so a later lookup for that provider must find these.
        self.provisional = provisional
        self._watched: list[_Watched] = []
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
            self._watch(False)
            self._watched.append(_Watched(weakref.ref(instrumentation)))

    def discard(self, instrumentation: BiginInstrumentation) -> None:
        with self._lock:
            self._watched = [
                watched for watched in self._watched if watched.ref() not in (None, instrumentation)
            ]

    def _watch(self, collecting: bool) -> list[BiginInstrumentation]:
        """What an instrument reports now (``collecting`` False: nothing, only prune), under the
        lock.

        Gone instrumentations, and closed ones past their grace, are dropped here rather than by
        a weakref callback: the garbage collector may run one while this thread holds the lock,
        and it would wait for it for ever."""
        now = _clock()
        kept: list[_Watched] = []
        reported: list[BiginInstrumentation] = []
        for watched in self._watched:
            instrumentation = watched.ref()
            if instrumentation is None:
                continue
            if instrumentation.client.closed:
                if watched.closed_at is None and collecting:
                    watched.closed_at = now  # the grace runs from the first collection to see it
                if watched.closed_at is not None and now - watched.closed_at >= CLOSED_CLIENT_GRACE:
                    continue
            kept.append(watched)
            if collecting:
                reported.append(instrumentation)
        self._watched = kept
        return reported

    def _reported(self) -> list[BiginInstrumentation]:
        with self._lock:
            return self._watch(True)

    def _spent(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(live.client.credits.spent_total, live._series) for live in self._reported()]

    def _remaining(self, options: CallbackOptions) -> Iterable[Observation]:
        observed = []
        for live in self._reported():
            remaining = live.client.credits.remaining
            if remaining is not None:
                observed.append(Observation(remaining, live._series))
        return observed


_CLIENT_NUMBERS = itertools.count(1)
# The credit instruments by what they were made for: a meter provider, or a meter given directly
# (kept alive here, so its id is never reused). Several keys may share one set: the global proxy
# provider's and, once the application has set it, the real provider's.
_CREDITS: dict[int, tuple[object, _CreditInstruments]] = {}
_CREDITS_LOCK = threading.Lock()


def _credit_instruments(provider: MeterProvider | None, meter: Meter) -> _CreditInstruments:
    """The credit instruments for ``meter``, got from ``provider`` (None: given directly).

    Keyed by the provider, not the meter: before a global MeterProvider is set, OpenTelemetry's
    proxy provider gives a new proxy meter per call, all forwarding to one real meter later, where
    the SDK would keep the first client's instruments and drop every other's callbacks.
    """
    key: object = meter if provider is None else provider
    with _CREDITS_LOCK:
        known = _CREDITS.get(id(key))
        if known is not None:
            return known[1]
        # Instruments made on the global proxy before a provider was set now live on the meter
        # the proxy forwards to: when that is this meter, they are this provider's already.
        for source, credits in list(_CREDITS.values()):
            if credits.provisional and isinstance(source, MeterProvider):
                if source.get_meter(_SCOPE, __version__) is meter:
                    credits.provisional = False
                    _CREDITS[id(key)] = (key, credits)
                    return credits
        provisional = provider is not None and provider.get_meter(_SCOPE, __version__) is not meter
        credits = _CreditInstruments(meter, provisional=provisional)
        _CREDITS[id(key)] = (key, credits)
        return credits


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
    provider = meter_provider or metrics.get_meter_provider()
    meter = provider.get_meter(_SCOPE, __version__)
    instrumentation = BiginInstrumentation(client, tracer, meter, _meter_provider=provider)
    instrumentation._remove = events.add_sink(instrumentation)
    return instrumentation
