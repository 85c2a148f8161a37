"""The emulator's outer ASGI layer: counts what arrives, enforces limits, adds latency and faults.

It wraps the Bigin routes (any ASGI app) so the routes stay about records while this layer is
about the wire: the server's own view of concurrency and the rolling minute (``ServerCounters``),
Zoho-like quotas answered with 429s and ``X-RateLimit-*`` headers, latency, and failures that look
to an httpx client exactly like the real thing.

Order of work for a request under ``/bigin/`` or ``/books/`` (``/oauth/`` passes straight through),
and for every request to the file host (``serve_content``, in front of ``content_app``):

1. count the arrival (route, time, in flight, peak) and what it costs in credits (as Zoho counts
   them, with or without a daily limit: a REST write's JSON body is decoded here to count its
   records, once, and handed to the route in the scope; bulk job calls and uploads have fixed costs
   and their bodies are never read here);
2. admit it or refuse it with a 429: concurrency cap, then per-minute window, then daily credits
   (synchronous checks, no await in between, so concurrent requests cannot both take the last slot);
3. sleep the sampled latency while holding the concurrency slot (the server is "working");
4. apply the fault drawn for it, if any, else hand it to the app.

How much the headers tell is a choice (``Realism``): by default a 429 says ``Retry-After`` and
every answer under a quota carries ``X-RateLimit-Limit/Remaining/Reset``; ``bare_429s`` sends
429s with neither (as Zoho documents none), ``rate_limit_headers="no_reset"`` leaves out the reset
time (as proxies do) and ``"none"`` sends no rate-limit header at all.

Dropped connections: the middleware starts a response that promises a body (``Content-Length``)
and raises ``ConnectionDropped``. Under uvicorn that closes the socket mid-response, so an httpx
client gets ``httpx.RemoteProtocolError``; in-process, ``EmulatorTransport`` (or plain
``httpx.ASGITransport``, since ``ConnectionDropped`` *is* a ``RemoteProtocolError``) raises it too.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import parse_qs

import anyio
import httpx

from bigin_emulator.realism import RateLimitHeaders
from bigin_emulator.routes.files import is_file_path
from bigin_emulator.routes.http_input import DECODED_BODY_KEY
from bigin_emulator.server.counters import RollingWindow, ServerCounters, route_key
from bigin_emulator.server.faults import Fault, FaultInjector, FaultPlan, JobFaults, ServerLimits

__all__ = [
    "BULK_PREFIX",
    "JOB_CREDITS",
    "ASGIApp",
    "ConnectionDropped",
    "EmulatorMiddleware",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "credit_cost",
    "drop_connection",
    "send_json",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

DAY = 86_400.0
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CVID_CREDITS = 3
_RECORDS_PER_CREDIT = 10
_PROMISED_BODY_BYTES = b"1024"
BULK_PREFIX = "/bigin/bulk/"
# What creating a bulk job costs (Zoho's API-limits page); every other bulk call costs 1.
JOB_CREDITS: dict[str, int] = {"/bigin/bulk/v2/write": 500, "/bigin/bulk/v2/read": 50}


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised inside the server to cut the connection after a response was started.

    Subclassing httpx's own error means an in-process client sees the same exception type as a
    client whose socket was closed, whatever transport it uses.
    """


def credit_cost(method: str, query_string: bytes, body: bytes | None, path: str = "") -> int:
    """Credits a call costs, as Zoho counts them.

    Every call costs 1; a read with ``cvid`` (a custom view) costs 3; a write costs 1 per 10
    records (rounded up, at least 1), records being the JSON body's ``data`` entries or, for a
    DELETE, the comma-separated ``ids`` in the query. Creating a Bulk Write job
    (``POST /bigin/bulk/v2/write``) costs 500, a Bulk Read job (``POST /bigin/bulk/v2/read``) 50;
    their status polls and downloads, and uploads to the file host, 1 each.
    """
    return _credit_cost(method, path, query_string, _records_in(_decoded_body(body)))


def _credit_cost(method: str, path: str, query_string: bytes, body_records: int) -> int:
    """``credit_cost`` with the body's records already counted."""
    method = method.upper()
    if path.startswith(BULK_PREFIX):
        return JOB_CREDITS.get(path.rstrip("/"), 1) if method == "POST" else 1
    query = parse_qs(query_string.decode("latin-1"))
    if method == "GET" and "cvid" in query:
        return _CVID_CREDITS
    if method not in _WRITE_METHODS:
        return 1
    records = body_records
    if method == "DELETE" and "ids" in query:
        records = max(records, sum(len([i for i in v.split(",") if i]) for v in query["ids"]))
    return max(1, math.ceil(records / _RECORDS_PER_CREDIT))


def _counts_records(scope: Scope) -> bool:
    """Whether a request's credits depend on its body: a REST write with a JSON (not multipart) body.

    Bulk job calls cost the same whatever they carry, file host uploads are zips and uploads to
    the API's file routes files (whatever content type they claim): none of these bodies is read
    here, so an upload is only ever held within the limits its route reads it by.
    """
    path = str(scope["path"])
    if (
        str(scope["method"]).upper() not in _WRITE_METHODS
        or path.startswith(BULK_PREFIX)
        or is_file_path(path)
    ):
        return False  # an upload to the API is a file, whatever its content type: it is never held here
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-type":
            return not value.lower().startswith(b"multipart/")
    return True


def _decoded_body(body: bytes | None) -> Any:
    """A request body's JSON; None when there is no body or it is not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _records_in(decoded: Any) -> int:
    data = decoded.get("data") if isinstance(decoded, dict) else None
    return len(data) if isinstance(data, list) else 0


def _error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    return json.dumps(
        {"code": code, "details": details or {}, "message": message, "status": "error"}
    ).encode()


async def send_json(send: Send, status: int, body: bytes, headers: Headers | None = None) -> None:
    start_headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def drop_connection(send: Send, fault: str) -> NoReturn:
    """Promise a body, then break off: the client sees a connection closed mid-response."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", _PROMISED_BODY_BYTES)],
        }
    )
    raise ConnectionDropped(f"emulated fault {fault}: connection closed before the response body")


async def _buffer_request_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body and return it with a ``receive`` that replays it to the app."""
    chunks: list[bytes] = []
    pending: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    pending.insert(0, {"type": "http.request", "body": body, "more_body": False})

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return body, replay


async def _client_left_within(receive: Receive, seconds: float) -> bool:
    """Wait up to ``seconds``; True as soon as the client disconnects (then there is no one to answer)."""
    with anyio.move_on_after(seconds):
        while (await receive())["type"] != "http.disconnect":
            pass
        return True
    return False


@dataclass
class _CapturedResponse:
    """A response the app produced, held back so a fault can delay, cut or mangle it."""

    status: int = 500
    headers: Headers = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    def mangled(self) -> _CapturedResponse:
        """The same answer with its JSON cut in half (a success status with an unparseable body)."""
        body = b"".join(self.chunks)
        broken = body[: len(body) // 2] if len(body) > 1 else b'{"data": ['
        status = 200 if self.status in (204, 304) else self.status
        return _CapturedResponse(status, self.headers, [broken])

    async def replay(self, send: Send, *, pieces: int = 1, interval: float = 0.0) -> None:
        """Send the answer; in ``pieces`` parts ``interval`` seconds apart when asked to drip."""
        body = b"".join(self.chunks)
        headers = [(k, v) for k, v in self.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        size = max(1, math.ceil(len(body) / pieces))
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for number, part in enumerate(parts, 1):
            if number > 1 and interval > 0:
                await anyio.sleep(interval)
            await send({"type": "http.response.body", "body": part, "more_body": number < len(parts)})


class _Exchange:
    """One counted request, ended once: at the hand-over of its answer's last byte, or when the
    middleware is done with it (refused, dropped, abandoned by its client)."""

    __slots__ = ("_ended", "_on_end", "admitted")

    def __init__(self, on_end: Callable[[bool], None]) -> None:
        self._on_end = on_end
        self._ended = False
        self.admitted = False  # it took one of the concurrency cap's places

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._on_end(self.admitted)

    def sending(self, send: Send) -> Send:
        """``send`` that ends the exchange just before the final body message leaves."""

        async def ending(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.end()
            await send(message)

        return ending


@dataclass
class _Rejection:
    limit: str
    body: bytes
    headers: Headers


class EmulatorMiddleware:
    """Pure ASGI middleware giving the emulator Zoho's limits and a network's failures.

    ``clock`` (monotonic seconds) times the rolling windows and can be faked in tests;
    ``wall_clock`` only turns instants into the Unix time of ``X-RateLimit-Reset``, which Zoho
    documents as an epoch timestamp. ``bare_429s`` and ``rate_limit_headers`` say how
    much the headers tell (see the module docstring).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: ServerLimits | None = None,
        faults: FaultPlan | None = None,
        counters: ServerCounters | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        path_prefixes: tuple[str, ...] = ("/bigin/", "/books/"),
        bare_429s: bool = False,
        rate_limit_headers: RateLimitHeaders = "full",
        content_app: ASGIApp | None = None,
        job_faults: JobFaults | None = None,
    ) -> None:
        self.app = app
        self.content_app = content_app
        self.job_faults = job_faults

        async def content_entry(scope: Scope, receive: Receive, send: Send) -> None:
            await self.serve_content(scope, receive, send)

        # ``serve_content`` as a plain coroutine function: uvicorn takes a bound method for ASGI 2.
        self.content_entry: ASGIApp = content_entry
        self.limits = limits if limits is not None else ServerLimits()
        self.faults = faults if faults is not None else FaultPlan()
        self.counters = counters if counters is not None else ServerCounters()
        self.clock = clock
        self.wall_clock = wall_clock
        self.path_prefixes = path_prefixes
        self.bare_429s = bare_429s
        self.rate_limit_headers = rate_limit_headers
        self._injector = FaultInjector(self.faults)
        self._latency_rng = random.Random(self.limits.seed)
        self._processing = 0
        # The cap and the server's own count of its busiest window use one length of minute.
        self._per_minute = RollingWindow(self.limits.minute)
        self.counters.use_minute(self.limits.minute)
        self._credits = RollingWindow(DAY)

    def credits_used(self) -> int:
        """Credits spent in the last 24 h (as of now on ``clock``), with or without a daily limit."""
        return self._credits.total(self.clock())

    def reset(self) -> None:
        """Forget spent quotas and restart the fault sequence (counters reset separately)."""
        self._per_minute.clear()
        self._credits.clear()
        self._injector.reset()
        self._latency_rng.seed(self.limits.seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.path_prefixes):
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, self.app, file_host=False)

    async def serve_content(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The file host's door (``content_app`` behind the same limits, faults and counters).

        Every request the file host gets is counted (``counters.file_host_by_route``), whatever
        its path, so a test can show it was sent nothing but uploads.
        """
        app = self.content_app
        if app is None:
            raise RuntimeError("this middleware has no content_app: the file host is not set up")
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        await self._counted(scope, receive, send, app, file_host=True)

    async def _counted(
        self, scope: Scope, receive: Receive, send: Send, app: ASGIApp, *, file_host: bool
    ) -> None:
        """Count the request in flight from its arrival until the last byte of its answer.

        Its end is the hand-over of the final body message, not the return of the app: a client
        holding a whole answer may already have sent its next request (on one event loop, while
        this request's code after the hand-over still waits its turn), and must not be counted,
        or refused by the concurrency cap, as one request too many.
        """
        arrived = self.clock()
        self.counters.request_started(route_key(scope["method"], scope["path"]), arrived, file_host=file_host)
        exchange = _Exchange(self._exchange_ended)
        try:
            await self._handle(scope, receive, exchange.sending(send), app, exchange, arrived)
        finally:
            exchange.end()

    def _exchange_ended(self, admitted: bool) -> None:
        if admitted:
            self._processing -= 1
        self.counters.request_finished()

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, app: ASGIApp, exchange: _Exchange, now: float
    ) -> None:
        """Admit or refuse a request that arrived at ``now``, then serve it.

        The limits judge the arrival's instant, the one the counters record, even when the body
        (read first, to count a write's records) comes in later: a call the server's own count
        shows inside the cap is never refused for the time its body took.
        """
        method = str(scope["method"]).upper()
        path = str(scope["path"])
        body_records = 0
        if app is self.app and _counts_records(scope):
            # Decoded once here; the routes take it from the scope instead of decoding it again.
            body, receive = await _buffer_request_body(receive)
            decoded = _decoded_body(body)
            if decoded is not None:
                scope[DECODED_BODY_KEY] = decoded
            body_records = _records_in(decoded)
        query = scope.get("query_string", b"")
        cost = _credit_cost(method, path, query, body_records) if app is self.app else 1

        rejection = self._refusal(now, cost)
        if rejection is not None:
            self.counters.limit_rejected(rejection.limit)
            await send_json(self._observed(send, rejection.headers), 429, rejection.body)
            return
        route = route_key(method, path)
        fault = self._injector.next_fault(scope["method"], scope["path"])
        # An injected 429 is a refusal like the limits' own: Zoho charges no credit for it.
        charged = 0 if fault is Fault.ERROR_429 else cost
        self._admit(now, charged, route if app is self.app else f"content {route}")
        exchange.admitted = True
        await self._serve_admitted(scope, receive, send, self._quota_headers(now), app, fault)

    def _refusal(self, now: float, cost: int) -> _Rejection | None:
        """Which limit, if any, refuses a request arriving at ``now`` (no state changes)."""
        limits = self.limits
        if limits.max_concurrency is not None and self._processing >= limits.max_concurrency:
            message = f"too many concurrent requests: at most {limits.max_concurrency} are processed at once"
            headers = [] if self.bare_429s else self._quota_headers(now)
            return _Rejection("concurrency", _error_body("TOO_MANY_REQUESTS", message), headers)
        if limits.per_minute is not None:
            wait = self._per_minute.seconds_until_room(now, 1, limits.per_minute)
            if wait > 0:
                message = f"too many requests: at most {limits.per_minute} calls per rolling minute"
                headers = self._refusal_headers(now, wait, limits.per_minute, 0)
                return _Rejection("per_minute", _error_body("TOO_MANY_REQUESTS", message), headers)
        if limits.daily_credits is not None:
            wait = self._credits.seconds_until_room(now, cost, limits.daily_credits)
            if wait > 0:
                message = f"API credit limit of {limits.daily_credits} per rolling 24 hours exceeded"
                remaining = limits.daily_credits - self._credits.total(now)
                headers = self._refusal_headers(now, wait, limits.daily_credits, remaining)
                return _Rejection("daily_credits", _error_body("LIMIT_EXCEEDED", message), headers)
        return None

    def _admit(self, now: float, cost: int, route: str) -> None:
        self._processing += 1
        if self.limits.per_minute is not None:
            self._per_minute.add(now)
        self._credits.add(now, cost)
        self.counters.credits_spent(route, cost)

    async def _serve_admitted(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, app: ASGIApp, fault: Fault | None
    ) -> None:
        if fault is not None:
            self.counters.fault_injected(fault.value)
        delay = self.limits.sample_latency(self._latency_rng)
        if delay > 0:
            await anyio.sleep(delay)
        observed = self._observed(send, headers)
        if fault is None and self._may_lose_job(scope):
            await self._serve_losing_job(scope, receive, send, observed, app)
        elif fault is None:
            await app(scope, receive, observed)
        elif fault is Fault.DROP_BEFORE:
            await drop_connection(send, fault.value)
        elif fault in (Fault.ERROR_500, Fault.ERROR_503, Fault.ERROR_429):
            bare = self.bare_429s and fault is Fault.ERROR_429
            await self._send_fault_error(self._observed(send, []) if bare else observed, fault)
        else:
            await self._serve_held_back(scope, receive, send, observed, fault, app)

    async def _serve_held_back(
        self, scope: Scope, receive: Receive, send: Send, observed: Send, fault: Fault, app: ASGIApp
    ) -> None:
        """Faults that let the app run (the write IS applied) and then spoil the answer."""
        response = _CapturedResponse()
        await app(scope, receive, response.capture)
        if fault is Fault.DROP_AFTER:
            await drop_connection(send, fault.value)
        if fault is Fault.SLOW and await _client_left_within(receive, self.faults.slow_seconds):
            return
        if fault is Fault.MALFORMED_JSON:
            response = response.mangled()
        if fault is Fault.DRIP:
            await response.replay(
                observed, pieces=self.faults.drip_chunks, interval=self.faults.drip_interval
            )
            return
        await response.replay(observed)

    def _may_lose_job(self, scope: Scope) -> bool:
        """A job creation while ``JobFaults.drop_create_answers`` has some left."""
        faults = self.job_faults
        return (
            faults is not None
            and faults.drop_create_answers > 0
            and str(scope["method"]).upper() == "POST"
            and str(scope["path"]).rstrip("/") in JOB_CREDITS
        )

    async def _serve_losing_job(
        self, scope: Scope, receive: Receive, send: Send, observed: Send, app: ASGIApp
    ) -> None:
        """Create the job, then drop the connection instead of saying its id (a refusal is answered)."""
        response = _CapturedResponse()
        await app(scope, receive, response.capture)
        faults = self.job_faults
        if response.status == 201 and faults is not None and faults.take("drop_create_answers"):
            self.counters.fault_injected("drop_create_answers")
            await drop_connection(send, "drop_create_answers")
        await response.replay(observed)

    async def _send_fault_error(self, send: Send, fault: Fault) -> None:
        details = {"emulated_fault": fault.value}
        if fault is Fault.ERROR_429:
            body = _error_body("TOO_MANY_REQUESTS", "too many requests (emulated burst)", details)
            await send_json(send, 429, body, [] if self.bare_429s else [(b"retry-after", b"1")])
            return
        status = 500 if fault is Fault.ERROR_500 else 503
        body = _error_body("INTERNAL_ERROR", f"internal server error (emulated {status})", details)
        await send_json(send, status, body)

    def _observed(self, send: Send, extra_headers: Headers) -> Send:
        """``send`` that counts the status and adds the rate-limit headers to the response start."""
        counters = self.counters

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                counters.response_sent(int(message["status"]))
                if extra_headers:
                    names = {name for name, _ in extra_headers}
                    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                    message = {**message, "headers": kept + extra_headers}
            await send(message)

        return observed

    def _quota_headers(self, now: float) -> Headers:
        """``X-RateLimit-*`` for the daily budget if set, else the per-minute window, else none."""
        limits = self.limits
        if limits.daily_credits is not None:
            limit, window = limits.daily_credits, self._credits
        elif limits.per_minute is not None:
            limit, window = limits.per_minute, self._per_minute
        else:
            return []
        reset_at = window.oldest_expiry(now)
        return self._rate_headers(
            limit, limit - window.total(now), reset_at if reset_at is not None else now, now
        )

    def _refusal_headers(self, now: float, wait: float, limit: int, remaining: int) -> Headers:
        if self.bare_429s:
            return []
        retry_after = str(max(1, math.ceil(wait))).encode()
        return [*self._rate_headers(limit, remaining, now + wait, now), (b"retry-after", retry_after)]

    def _rate_headers(self, limit: int, remaining: int, reset_at: float, now: float) -> Headers:
        style = self.rate_limit_headers
        if style == "none":
            return []
        headers = [
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(max(0, remaining)).encode()),
        ]
        if style == "full":
            reset_epoch = math.ceil(self.wall_clock() + (reset_at - now))
            headers.append((b"x-ratelimit-reset", str(reset_epoch).encode()))
        return headers
