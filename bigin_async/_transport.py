"""The one request pipeline every call goes through: one attempt, one decision, the loop.

An attempt (:meth:`Transport._attempt`): wait out a shared 429 cooldown → enter the FIFO
concurrency gate → get the token (a refresh may take a moment) → take one send time booked on
every limiter at once (after the gate, so the reserved time is the real send time) → look at the
cooldown again (a 429 may have opened it while this call queued) → build the URL from the token's
``api_domain`` → spend daily credits (refusing instead of sending when too few would remain) →
send through the one pooled ``httpx.AsyncClient`` and read the whole body (an upload's file is
streamed from disk, a download's body streamed to disk) → leave the gate.

The decision (:meth:`Transport._decide`, rules from :mod:`bigin_async._retry`): return, raise,
or retry after a wait that is spent *outside* the gate, so a waiting call holds no slot.

Two bounds, kept by an anyio cancel scope because httpx's own timeout is per socket read (a
server that drips one byte a second never trips it): ``timeout`` bounds each attempt's exchange
with the server (sending and reading the whole answer); ``deadline`` bounds the whole call from
the moment it starts (queueing at the gate, a token refresh, a 429 cooldown, every attempt, every
backoff). One scope serves both, so a call pays for one timer rather than two: its deadline is
the call's, moved to the attempt's own bound while an exchange runs if that comes first.

``timeout`` (30 s by default) is sized for Zoho's JSON answers: a 200-record page is well under
a megabyte. It bounds the *whole* exchange, body included, so it is also a floor on the speed
of a download: 25 MB in 30 s needs about 7 Mbit/s. A large download (a Bulk Read job's result
file, an attachment) must not go through the 30 s default on a slow link: give the call its own
``timeout=`` (or a view ``client.with_options(timeout=...)``); the ``deadline`` still bounds the
call either way.

The token goes to two origins only: the API's (the token's ``api_domain`` unless pinned) and the
data centre's file host (``content_domain``, else the API domain's ``content.`` sibling), where
Bulk Write uploads go (``service="content"``). Any other absolute URL is refused unsent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json as jsonlib
import math
import os
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, NamedTuple, TypeVar

import anyio
import httpx
import pydantic
import pydantic_core

from bigin_async._config import Settings, content_domain_for
from bigin_async._coordination import (
    READ_DOWNLOADS_PER_MINUTE,
    Answer,
    Ask,
    GateStats,
    Limits,
    LocalLimits,
    PastDeadline,
)
from bigin_async._download import SaveIn, read_capped, save_body, target_path
from bigin_async._events import EventBus, GateQueue
from bigin_async._file_stream import Consume, FileStream
from bigin_async._json import NOT_JSON, json_unless_204
from bigin_async._limits import Cooldown, DailyBudget, RateLimiter
from bigin_async._multipart import FormField, MultipartBody, Upload, prepare_parts
from bigin_async._redact import get_logger, redact_text, redact_url
from bigin_async._retry import (
    Outcome,
    backoff_delay,
    classify_exception,
    classify_status,
    header_seconds,
    is_idempotent,
)
from bigin_async._safe_chain import without_request
from bigin_async.auth import Token, TokenManager
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    BiginConnectionError,
    BiginError,
    BiginTimeoutError,
    ConfigurationError,
    ValidationError,
    error_from_response,
)
from bigin_async.hooks import (
    BudgetLow,
    CallFinished,
    CallStarted,
    EventHooks,
    RateLimited,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    TokenRefreshed,
    describe_path,
)

logger = get_logger("transport")

# ``Token`` is re-exported for client.py, which builds the transport with it.
__all__ = ["Service", "Token", "Transport", "credits_for", "decode_json", "make_http_client"]

USER_AGENT = "bigin-async/0.1"

T = TypeVar("T")

# The base a relative path is joined to: ``v2`` = ``{api_domain}/bigin/v2``, ``bulk`` =
# ``{api_domain}/bigin/bulk/v2`` (Bulk Read/Write jobs), ``content`` = ``{content_domain}/bigin/v2``
# (the data centre's file host, where Bulk Write uploads go).
Service = Literal["v2", "bulk", "content"]
_SERVICE_PATHS: dict[str, str] = {"v2": "/bigin/v2", "bulk": "/bigin/bulk/v2", "content": "/bigin/v2"}

# What a parser raises when the body is not the shape it expects (json errors are ValueErrors; a
# body nested thousands deep is a RecursionError in json and a ValidationError in pydantic).
_PARSE_ERRORS = (ValueError, TypeError, KeyError, RecursionError, pydantic.ValidationError)


def _response(response: httpx.Response) -> httpx.Response:
    return response


def make_http_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One pooled client for the client's whole life; the pool is larger than the gate so token
    refreshes and keep-alive churn never starve a call that already holds a gate slot."""
    pool = settings.max_concurrency + 5
    return httpx.AsyncClient(
        transport=transport,
        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool, keepalive_expiry=60.0),
        timeout=httpx.Timeout(settings.timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def _ids_count(params: Mapping[str, Any]) -> int:
    """How many records a ``?ids=a,b,c`` (a list, or Zoho's comma-separated text) names."""
    ids = params.get("ids")
    if not ids:
        return 0
    return len(ids) if isinstance(ids, (list, tuple)) else len(str(ids).split(","))


def credits_for(method: str, params: Mapping[str, Any] | None, json: Any) -> int:
    """Zoho's credit cost of one call: 1, writes 1 per 10 records, ``cvid`` lists 3."""
    cost = 1
    if method.upper() in ("POST", "PUT", "PATCH") and isinstance(json, Mapping):
        data = json.get("data")
        if isinstance(data, list) and data:
            cost = math.ceil(len(data) / 10)
    elif method.upper() == "DELETE" and params and params.get("ids"):
        cost = math.ceil(_ids_count(params) / 10)
    if params and params.get("cvid"):
        cost = max(cost, 3)
    return cost


@dataclass
class _Shared:
    """State every view of one client shares: the pool, the limits, the tokens."""

    http: httpx.AsyncClient
    owns_http: bool
    tokens: TokenManager
    limits: Limits
    events: EventBus = field(default_factory=EventBus)
    queue: GateQueue = field(default_factory=GateQueue)  # calls waiting at this gate (not the bus's)
    closed: bool = False
    used: bool = False
    calls: int = 0
    budget_low: bool = False  # BudgetLow given, and the credits not back above its threshold
    rng: random.Random = field(default_factory=random.Random)

    @property
    def cooldown(self) -> Cooldown:
        return self.limits.cooldown

    @property
    def gate(self) -> GateStats:
        return self.limits.gate

    @property
    def budget(self) -> DailyBudget:
        return self.limits.budget  # type: ignore[return-value]

    @property
    def minute_limiter(self) -> RateLimiter | None:
        """The local per-minute limiter (None when shared, or when no per-minute limit is set)."""
        limits = self.limits
        return limits.minute_limiter if isinstance(limits, LocalLimits) else None

    @property
    def intercall(self) -> RateLimiter | None:
        limits = self.limits
        return limits.intercall if isinstance(limits, LocalLimits) else None


class Transport:
    """Sends requests for a :class:`~bigin_async.BiginClient`; views share one ``_Shared``.

    What :attr:`BiginClient.transport <bigin_async.BiginClient.transport>` returns (exported as
    ``bigin_async.Transport``), for metrics and advanced use: ``transport.gate.peak`` (most calls
    in flight at once), ``transport.budget`` (daily credits), ``transport.calls`` (attempts sent).
    Build clients with :class:`~bigin_async.BiginClient`, not with this class.
    """

    def __init__(self, settings: Settings, shared: _Shared) -> None:
        self.settings = settings
        self._shared = shared

    @classmethod
    def create(
        cls,
        settings: Settings,
        tokens: TokenManager,
        *,
        http_client: httpx.AsyncClient | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
        limits: Limits | None = None,
        event_hooks: EventHooks | None = None,
        events: EventBus | None = None,
    ) -> Transport:
        """``limits``: the org's limits as this client takes them (default: this process's own,
        :class:`~bigin_async._coordination.LocalLimits`; a coordination's are shared);
        ``event_hooks``: the user's hooks (:mod:`bigin_async.hooks`), checked here; ``events``: the
        bus of another transport sharing the token (Zoho Books calls are the Bigin client's too)."""
        if http_client is not None and http_transport is not None:
            raise ConfigurationError("pass either http_client or transport, not both")
        http = http_client or make_http_client(settings, http_transport)
        tokens.http = http
        shared = _Shared(
            http=http,
            owns_http=http_client is None,
            tokens=tokens,
            limits=limits if limits is not None else LocalLimits(settings),
            events=events if events is not None else EventBus(event_hooks),
        )
        return cls(settings, shared)

    def with_settings(self, **changes: Any) -> Transport:
        """A view with other per-call settings (timeout, retries) over the same pool and limits."""
        return Transport(dataclasses.replace(self.settings, **changes), self._shared)

    # -- state -------------------------------------------------------------------------------
    @property
    def gate(self) -> GateStats:
        """The concurrency gate's figures as this process sees them (``limit``, ``in_flight``, ``peak``)."""
        return self._shared.limits.gate

    @property
    def gate_queue(self) -> GateQueue:
        """The calls waiting for a place at :attr:`gate` now (``waiting``) and the most at once (``peak``)."""
        return self._shared.queue

    @property
    def limits(self) -> Limits:
        """The org's limits this client takes: its own, or shared through a coordination."""
        return self._shared.limits

    @property
    def tokens(self) -> TokenManager:
        return self._shared.tokens

    @property
    def events(self) -> EventBus:
        """Where this client's events go: its stats, its ``event_hooks``, tracing (one for all views)."""
        return self._shared.events

    @property
    def budget(self) -> DailyBudget:
        """The daily credits as this client counts them (shared ones: as last read)."""
        return self._shared.limits.budget  # type: ignore[return-value]

    @property
    def http(self) -> httpx.AsyncClient:
        return self._shared.http

    @property
    def closed(self) -> bool:
        return self._shared.closed

    # Zoho lets an org download at most this many Bulk Read results a minute (the next is a 429).
    READ_DOWNLOADS_PER_MINUTE = READ_DOWNLOADS_PER_MINUTE

    @property
    def read_downloads(self) -> RateLimiter:
        """The pace of Bulk Read result downloads (Zoho's 10 a minute), one for the client and all
        of its views (and, shared, for every process), so two downloading at once still keep to
        the org's limit. Pass it as ``send(..., paced_by=transport.read_downloads)``."""
        return self._shared.limits.read_downloads

    @property
    def used(self) -> bool:
        return self._shared.used

    @property
    def calls(self) -> int:
        """Attempts sent over the wire (for metrics and tests)."""
        return self._shared.calls

    async def aclose(self) -> None:
        shared = self._shared
        if shared.closed:
            return
        shared.closed = True
        # A refresh under way ends now: its waiters get a typed error, not the refresh's own bound.
        shared.tokens.close()
        try:
            await shared.limits.aclose()
        finally:
            if shared.owns_http:
                await shared.http.aclose()

    def api_domain(self, token: Token | None = None) -> str:
        """The API domain in use: the token's ``api_domain`` unless the user pinned ``api_domain``.

        ``token`` is the one the request will carry (default: the current one): the host must be
        the one that token belongs to, or the first call of a client in another data centre fails.
        """
        token = token if token is not None else self._shared.tokens.current
        if token is not None and token.api_domain and not self.settings.api_domain_overridden:
            return token.api_domain.rstrip("/")
        return self.settings.api_domain

    def api_base(self, token: Token | None = None) -> str:
        """``{api_domain}/bigin/v2`` for the API domain in use (see :meth:`api_domain`)."""
        token = token if token is not None else self._shared.tokens.current
        if token is not None and token.api_domain and not self.settings.api_domain_overridden:
            return f"{token.api_domain}/bigin/v2"
        return self.settings.api_base

    def content_domain(self, token: Token | None = None) -> str | None:
        """The data centre's file host: the ``content_domain`` setting, else the API domain's
        ``content.`` sibling (``https://www.zohoapis.eu`` → ``https://content.zohoapis.eu``);
        None when neither is known (a loopback or custom API domain without the setting)."""
        pinned = self.settings.content_domain
        return pinned if pinned is not None else content_domain_for(self.api_domain(token))

    def url_for(self, path: str, token: Token | None = None, service: Service = "v2") -> str:
        """The URL for ``path`` on ``service``; an absolute URL must be on the API's origin or
        on the file host's.

        The token travels with every request: those two hosts are the only ones it goes to, so a
        caller-supplied absolute URL pointing anywhere else (or at plain http) is refused before
        anything is sent.
        """
        if service == "v2" and not path.startswith(("http://", "https://")):
            return self.api_base(token) + (path if path.startswith("/") else "/" + path)
        if service not in _SERVICE_PATHS:
            raise ConfigurationError(f"unknown service {service!r}; expected one of: v2, bulk, content")
        if path.startswith(("http://", "https://")):
            allowed = [_origin(self.api_domain(token))]
            content = self.content_domain(token)
            if content is not None:
                allowed.append(_origin(content))
            if _origin(path) not in allowed:
                raise ConfigurationError(
                    f"refusing to send the access token to {redact_url(path)}: absolute URLs must be on "
                    f"the API origin or the file host's ({', '.join(map(_show_origin, allowed))})"
                )
            return path
        if service == "content":
            domain = self.content_domain(token)
            if domain is None:
                raise ConfigurationError(
                    f"no file host is known for the API domain {self.api_domain(token)}: set content_domain "
                    "(BiginClient(content_domain=...) or BIGIN_CONTENT_DOMAIN) to the data centre's "
                    "https://content.zohoapis... host, or to the emulator's file host; nothing was sent"
                )
        else:
            domain = self.api_domain(token)
        return domain + _SERVICE_PATHS[service] + (path if path.startswith("/") else "/" + path)

    # -- the pipeline --------------------------------------------------------------------------
    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        bulk: bool = False,
        credits: int | None = None,
        raise_for_status: bool = True,
        service: Service = "v2",
        timeout: float | None = None,
        upload: Upload | FormField | Sequence[Upload | FormField] | None = None,
        download_to: str | os.PathLike[str] | SaveIn | None = None,
        paced_by: RateLimiter | None = None,
    ) -> httpx.Response:
        """Send one logical call with retries; return the final response or raise a typed error.

        ``idempotent`` overrides the method-based guess of the retry table; ``bulk`` marks a
        multi-record write, which also takes a slot from the bulk-operations limiter. With
        ``raise_for_status=False`` a final 4xx is returned instead of raised. The response's
        ``extensions["bigin_ambiguous_attempts"]`` counts earlier attempts whose fate was unknown
        (a retried DELETE may then find its records already gone).

        ``content`` is sent as the body as it is; given with ``json``, it is that value already
        encoded (see :func:`encode_plain`), and ``json`` still tells the call's records and credits.
        ``json`` alone is encoded strictly: NaN and Infinity are not JSON and Zoho cannot read them,
        so such a body (or one JSON cannot encode at all) raises :class:`ValidationError` before
        anything is sent. The ``deadline`` setting bounds the whole call from this moment on; a
        deadline that cuts an insert after it was sent raises :class:`AmbiguousWriteError`.

        ``service`` is the base a relative ``path`` is joined to: ``"v2"`` (``{api_domain}/bigin/v2``),
        ``"bulk"`` (``{api_domain}/bigin/bulk/v2``, Bulk Read/Write jobs) or ``"content"`` (the data
        centre's file host, ``{content_domain}/bigin/v2``, where Bulk Write uploads go). An absolute
        URL must be on the API's origin or the file host's: the token goes to those two only, and
        anything else raises :class:`ConfigurationError` with nothing sent. ``timeout`` bounds each
        attempt's exchange (the whole answer, body included) instead of the ``timeout`` setting, for
        a call whose answer is large; the ``deadline`` setting still bounds the whole call.

        ``upload`` sends a multipart/form-data body: one :class:`Upload` (a file from a path, bytes
        or a file object) or several parts (uploads and :class:`FormField` texts), streamed in
        chunks with a known ``Content-Length`` and read again from the start for each attempt
        (never whole in memory). Retries treat it as an insert: a POST whose answer is lost is
        not sent again (:class:`AmbiguousWriteError`), one that surely never left (a connect
        error) is. A file over its ``max_size`` raises :class:`FileTooLargeError` unsent.

        ``download_to`` streams a 2xx body to ``<path>.part`` in the same directory, flushes it to
        disk and renames it to ``path`` (never whole in memory; a :class:`SaveIn` directory takes
        the server's file name, made safe; a 204 saves nothing); the response returned has no body
        and ``response.extensions["bigin_download"]`` is a :class:`~bigin_async._download.Download`
        (``path``, ``size``, ``content_type``). A download cut short (a drop, a timeout) leaves
        neither file and is retried like any failed attempt of its method. A non-2xx body is read
        into memory as usual, at most 1 MiB of it. The attempt's ``timeout`` and the call's
        ``deadline`` bound the whole body: give a large download its own ``timeout``.

        ``paced_by`` is one more limiter every attempt books its send time on, before the client's
        own: a Bulk Read result download passes :attr:`read_downloads`, so a download the transport
        tries again (a drop half way, a 429) takes its place among Zoho's 10 a minute too.
        """
        return await self._run(
            method,
            path,
            _response,
            params=params,
            json=json,
            content=content,
            headers=headers,
            idempotent=idempotent,
            bulk=bulk,
            credits=credits,
            raise_for_status=raise_for_status,
            service=service,
            timeout=timeout,
            upload=upload,
            download_to=download_to,
            paced_by=paced_by,
        )

    async def send_parsed(
        self, method: str, path: str, parse: Callable[[httpx.Response], T], **kwargs: Any
    ) -> T:
        """Like :meth:`send` (same keywords), but ``parse`` turns the final answer into the result.

        ``parse`` runs inside the retry loop, because a 2xx whose body is cut short or is not the
        shape Zoho documents (a proxy's page, a truncated JSON) is a failed attempt, not a result:
        a read is retried like a 5xx; an insert raises :class:`AmbiguousWriteError` (the records
        may have been created); when the retries run out the error is an :class:`APIError` with
        code ``MALFORMED_RESPONSE``. The failures read as a bad shape are ``ValueError`` (json's
        errors among them), ``TypeError``, ``KeyError``, ``RecursionError`` (a body nested
        thousands deep) and pydantic's ``ValidationError``; the error's ``__cause__`` is the
        parser's exception without the body (a JSON error's ``.doc`` is emptied). A
        :class:`BiginError` raised by ``parse`` passes through as is. With
        ``raise_for_status=False``, ``parse`` also gets the final 4xx (not retried if it fails).
        """
        return await self._run(method, path, parse, **kwargs)

    def open_stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        credits: int | None = None,
        service: Service = "v2",
        timeout: float | None = None,
    ) -> FileStream:
        """A download read as it arrives: ``async with transport.open_stream("GET", path) as s``.

        The call is sent when the block is entered, through this pipeline like any other (gate,
        limits, token, retries until the first byte, deadline); ``s.filename``,
        ``s.content_type`` and ``s.size`` come from the answer's headers and ``async for chunk
        in s`` gives the body. The slot at the gate is held until the block ends, and
        ``timeout`` (else the ``timeout`` setting) bounds the whole body, the reading loop's own
        time included: give a large file a larger one.
        """

        async def run(consume: Consume) -> None:
            await self._run(
                method,
                path,
                _nothing,
                params=params,
                headers=headers,
                credits=credits,
                service=service,
                timeout=timeout,
                consume=consume,
            )

        return FileStream(run, method=method.upper(), url=path)

    async def _run(
        self,
        method: str,
        path: str,
        parse: Callable[[httpx.Response], T],
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        bulk: bool = False,
        credits: int | None = None,
        raise_for_status: bool = True,
        service: Service = "v2",
        timeout: float | None = None,
        upload: Upload | FormField | Sequence[Upload | FormField] | None = None,
        download_to: str | os.PathLike[str] | SaveIn | None = None,
        paced_by: RateLimiter | None = None,
        consume: Consume | None = None,
    ) -> T:
        """The loop: attempts and decisions until a result or an error, all under the deadline."""
        shared = self._shared
        if shared.closed:
            raise ConfigurationError("this BiginClient is closed; create a new one")
        shared.used = True
        method = method.upper()
        settings = self.settings
        absolute = path.startswith(("http://", "https://"))
        if _CONTROL.search(path):  # httpx would refuse it after the credits were spent
            raise ValidationError(f"the path {path!r} holds a control character; nothing was sent")
        current = None if absolute else shared.tokens.current
        if timeout is not None:
            _check_timeout(timeout)
        deadline_at = anyio.current_time() + settings.deadline if settings.deadline is not None else None
        attempt_timeout = settings.timeout if timeout is None else timeout
        multipart = None
        if upload is not None:
            if json is not None or content is not None:
                raise ConfigurationError("pass one body: upload, json or content; nothing was sent")
            multipart = await prepare_parts(upload)
        call = _Call(
            method=method,
            path=path,
            # The host is known once the token is: an attempt with another token than the URL's
            # builds it again (and checks an absolute one against the token's own origin) before
            # it sends anything.
            url=path if absolute else self.url_for(path, current, service),
            url_token=current,
            json=json,
            body=content if content is not None else _encode(json),
            params=_clean_params(params),
            headers=headers,
            safe=is_idempotent(method, path, idempotent),
            raise_for_status=raise_for_status,
            ask=Ask(
                cost=credits if credits is not None else credits_for(method, params, json),
                bulk=bulk,
                paced_by=_checked_paced_by(paced_by),
                deadline_at=deadline_at,
                timeout=attempt_timeout,
            ),
            deadline_at=deadline_at,
            timeout=attempt_timeout,
            service=service,
            upload=multipart,
            download_to=_download_target(download_to),
            consume=consume,
            streamed=multipart is not None or download_to is not None or consume is not None,
        )
        return await self._observed(call, parse)

    async def _observed(self, call: _Call, parse: Callable[[httpx.Response], T]) -> T:
        """The loop, between the call's ``CallStarted`` and its ``CallFinished`` (always given:
        an async hook cannot be awaited in a cancelled task, so then only sinks and plain hooks
        get it). Every hook runs under the call's deadline: one still running when it passes is
        cancelled, and the call ends as it would have (its result kept, or its own error)."""
        events = self._shared.events
        call.call_id = events.next_call_id()
        absolute = call.path.startswith(("http://", "https://"))
        call.template, call.module, call.operation = _described(
            call.method, call.path if absolute else _SERVICE_PATHS[call.service] + call.path
        )
        call.records = _record_count(call.json)
        if call.records is None and call.operation == "delete" and call.module is not None:
            # A module's records: ?ids=a,b, or one by its id (a tag or a file is no record)
            call.records = _ids_count(call.params or {}) or (1 if call.template.endswith("/{id}") else None)
        call.started = anyio.current_time()
        # Nobody but the stats listening (the common case): the stats are told directly, and no
        # event is built. Otherwise every listener gets the events, the stats among them.
        told = events.listens(CallStarted.name)
        try:
            if told:
                with anyio.CancelScope(deadline=call.deadline):  # then the loop raises the deadline's error
                    await events.emit(
                        CallStarted(**call.described, records=call.records), hook_timeout=call.timeout
                    )
            else:
                events.stats.started()
            result = await self._loop(call, parse)
        except Exception as exc:
            try:
                await self._held_hooks(call)
            except BaseException as late:  # cancelled while a hook of its answer ran
                self._ended_at_once(call, late)
                raise
            await self._told_end(call, None, type(exc).__name__)
            raise
        except BaseException as exc:
            self._ended_at_once(call, exc)
            raise
        await self._told_end(call, result, None)
        return result

    def _ended_at_once(self, call: _Call, exc: BaseException) -> None:
        """End a call that a cancellation (or a non-``Exception``) cut, with nothing awaited: the
        held events go to the plain hooks, ``CallFinished`` to the sinks and plain hooks."""
        events = self._shared.events
        cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
        error = "Cancelled" if cancelled else type(exc).__name__
        held, call.held = call.held, []
        events.held_to_plain_hooks(held)  # what the call sent and heard, to the hooks that need no await
        if events.listens(CallFinished.name):
            events.emit_nowait(self._finished(call, None, error))
        else:
            events.stats.finished(anyio.current_time() - call.started, error)

    async def _told_end(self, call: _Call, result: object, error: str | None) -> None:
        events = self._shared.events
        if events.listens(CallFinished.name):
            with anyio.CancelScope(deadline=call.deadline):  # the result (or error) stays as it is
                await events.emit(self._finished(call, result, error), hook_timeout=call.timeout)
        else:
            events.stats.finished(anyio.current_time() - call.started, error)

    async def _held_hooks(self, call: _Call) -> None:
        """Run the hooks of the events an attempt's end gave (``ResponseReceived``, ``RateLimited``,
        ``BudgetLow``; their sinks had them at once), under the call's deadline.

        They are held until the call is past its answer, rather than run as the attempt ends: there
        the exchange's own timeout may still bound the scope, and a hook that outlasted it or the
        deadline would turn an answer already read into a lost one (sent again, or an applied
        insert reported as a plain timeout).
        """
        held, call.held = call.held, []
        events = self._shared.events
        if held or events.owes:
            await events.held_to_hooks(held, call.deadline, hook_timeout=call.timeout)

    def _finished(self, call: _Call, result: object, error: str | None) -> CallFinished:
        records = call.records
        if records is None and error is None:
            listed = result if isinstance(result, list) else getattr(result, "data", None)
            if isinstance(listed, list):
                records = len(listed)
            elif result is not None and call.operation == "get" and call.module is not None:
                records = 1  # one of a module's records, read by its id (not a job's status, a file)
        return CallFinished(
            **call.described,
            records=records,
            attempts=call.sent,
            duration=anyio.current_time() - call.started,
            status_code=call.status,
            zoho_code=call.zoho_code,
            error=error,
        )

    async def _loop(self, call: _Call, parse: Callable[[httpx.Response], T]) -> T:
        """Attempts and decisions under one cancel scope whose deadline is the call's.

        Each exchange moves that deadline to its own ``timeout`` when that comes first (see
        :meth:`_exchange`). A scope that fired stays cancelled, so only an attempt cut by its
        timeout opens a new scope, for the rest of the call: the common call enters one.
        """
        retry: _Retry | None = None
        while True:
            with anyio.CancelScope(deadline=call.deadline) as scope:
                # An answer read whole just as its timeout fired is kept, as a result or a retry's
                # cause; the scope is spent then, so a retry goes on in a new one.
                done: _Done[T] | None = None
                while not scope.cancel_called:
                    if retry is not None:
                        if retry.shared:  # at once: no other call may send into Zoho's 429 window
                            await self._shared.limits.open_cooldown(retry.wait)  # while hooks run
                        if call.held:  # under the call's deadline now (the exchange's bound is off)
                            await self._held_hooks(call)
                        await self._told_retry(call, retry)
                        await self._pause(retry)
                    step = self._decide(call, await self._attempt(call, scope), parse)
                    if isinstance(step, _Done):
                        done = step
                        break
                    if call.timed_token is not None:  # the wait and the next attempt: the call's deadline
                        scope.deadline = call.deadline
                        call.wire = call.timed_token = None
                    retry = step
            if done is not None:  # out of the scope: no hook can turn the result into a timeout
                await self._held_hooks(call)
                return done.value
            # The scope fired, caught or not: entered with its deadline past (a call_started hook
            # that outlasted it, a deadline of no time), it ends the loop before any await, and
            # going round again would spin for ever without yielding.
            if scope.cancel_called:
                wire, token = call.wire, call.timed_token
                if wire is not None and token is not None:  # the attempt's timeout: it ended unanswered
                    self._note_answer(call, _Attempt(None, wire.timeout(call.timeout), token, wire))
                retry = self._after_scope_fired(call)

    def _after_scope_fired(self, call: _Call) -> _Retry:
        """The scope fired: the attempt's timeout if its exchange had moved the deadline to its
        own bound (and had not put it back), judged like any timeout; else the call's deadline."""
        wire, token = call.wire, call.timed_token
        if wire is None or token is None:
            raise self._deadline_error(call) from call.last_error
        call.wire = call.timed_token = None
        timeout = wire.timeout(call.timeout)
        return self._retry_or_raise(call, token, _failure_verdict(timeout, wire))

    async def _told_retry(self, call: _Call, step: _Retry) -> None:
        await self._shared.events.emit(
            RetryScheduled(
                **call.described,
                attempt=call.attempt + 1,
                reason=step.reason,
                wait=step.wait,
                shared=step.shared,
            ),
            hook_timeout=call.timeout,
        )

    async def _pause(self, step: _Retry) -> None:
        """What a retry does before its next attempt, still under the call's deadline."""
        if step.rejected is not None:
            await self._shared.tokens.invalidate(step.rejected)
        elif not step.shared:  # a shared pause was opened at the answer: the next attempt waits
            await anyio.sleep(step.wait)  # it out with everyone (every process, when shared)

    # -- one attempt ----------------------------------------------------------------------------
    async def _attempt(self, call: _Call, scope: anyio.CancelScope) -> _Attempt:
        """One attempt: cooldown, gate, token, pace, budget, send and read; never retries itself."""
        limits = self._shared.limits
        ask = call.ask
        if call.upload is not None and call.attempt:
            # A file object the last attempt read and cannot give again: end the call before it
            # books a send time and spends a credit on an attempt that would send nothing.
            try:
                call.upload.check_sendable()
            except BiginError as spent:
                cause = self._typed(call, call.last_error) if call.last_error else None
                if call.ambiguous_attempts:  # an earlier attempt may have been applied (a photo set)
                    reason = f"{spent}; an earlier attempt's answer was lost"
                    error = _ambiguous(
                        call.method, call.url, call.json, cause, reason=reason, upload=call.upload
                    )
                    raise error from cause
                raise spent from cause
        events = self._shared.events
        stats = events.stats
        queue = self._shared.queue
        clock = anyio.current_time
        gate_wait = limiter_wait = 0.0  # this attempt's, over every pass of the loop
        while True:
            if limits.cooldown.remaining > 0:
                began = clock()
                await self._sit_out_cooldown(call)
                call.cooldown_wait += clock() - began
            queued = clock()
            gate = limits.gate
            queue.enter(full=gate.in_flight >= gate.limit)
            waiting = True
            try:
                async with limits.slot() as slot:
                    queue.leave()
                    waiting = False
                    gate_wait += clock() - queued
                    token = await self._token_for(call)
                    # A 429 answered while this call queued at the gate, took its token or paced opens
                    # the cooldown for everyone: leave the gate and wait it out rather than send into it.
                    if limits.cooldown.remaining > 0:
                        continue
                    paced_at = clock()
                    paced = await self._pace(call, slot)
                    call.sent_at = clock()
                    limiter_wait += call.sent_at - paced_at
                    if not paced:
                        continue
                    attempt: _Attempt | None = None
                    try:
                        if events.listens(RequestSent.name):
                            # The sinks now; the hooks with the answer's events (``_held_hooks``): one
                            # awaited here would send later than the time the limiter booked.
                            told = self._sent_event(call, gate_wait, limiter_wait)
                            if events.note(told):
                                call.held.append(told)
                        else:
                            stats.sent(gate_wait, limiter_wait, call.cooldown_wait)
                            call.cooldown_wait = 0.0
                        attempt = await self._exchange(call, token, scope)
                    finally:
                        response = attempt.response if attempt is not None else None
                        await limits.finish(
                            slot,
                            ask,
                            Answer(
                                uncounted=attempt is not None and _uncounted(attempt),
                                headers=response.headers if response is not None else None,
                            ),
                        )
            finally:
                if waiting:  # cancelled (or failed) while it queued
                    queue.leave()
            assert attempt is not None  # the exchange returned: the try above did not raise
            self._note_answer(call, attempt)
            return attempt

    def _sent_event(self, call: _Call, gate_wait: float, limiter_wait: float) -> RequestSent:
        cooldown_wait, call.cooldown_wait = call.cooldown_wait, 0.0
        return RequestSent(
            **call.described,
            attempt=call.sent + 1,
            url=redact_url(call.url),
            cooldown_wait=cooldown_wait,
            gate_wait=gate_wait,
            limiter_wait=limiter_wait,
        )

    def _note_answer(self, call: _Call, attempt: _Attempt) -> None:
        """``ResponseReceived`` (and ``RateLimited`` for a 429, ``BudgetLow`` when the credits fall
        low) for the attempt just ended: to the sinks now, to the hooks later (:meth:`_held_hooks`)."""
        events = self._shared.events
        response = attempt.response
        status = response.status_code if response is not None else None
        code = _error_code(response) if response is not None and response.status_code >= 400 else None
        # The code is the server's text, copied into events, stats and spans: a server or proxy
        # that echoes a token there must not carry it any further.
        code = redact_text(code) if code is not None else None
        call.status, call.zoho_code = status, code
        held = call.held
        if events.listens(ResponseReceived.name):  # the stats keep nothing of it
            answered = ResponseReceived(
                **call.described,
                attempt=call.sent,
                status_code=status,
                zoho_code=code,
                elapsed=anyio.current_time() - call.sent_at,
                error=type(attempt.failure).__name__ if attempt.failure is not None else None,
            )
            if events.note(answered):
                held.append(answered)
        if status == 429:
            assert response is not None
            limited = RateLimited(
                **call.described,
                attempt=call.sent,
                retry_after=_advised_wait(response.headers),
                zoho_code=code,
            )
            if events.note(limited):
                held.append(limited)
        if events.listens(BudgetLow.name):
            low = self._budget_low()
            if low is not None and events.note(low):
                held.append(low)

    async def _sit_out_cooldown(self, call: _Call) -> None:
        """Wait out the pause a 429 asked of every call of this client, unless it ends too late."""
        cooldown = self._shared.cooldown
        self._check_deadline(call, cooldown.remaining, "Zoho's 429 asked every call of this client to wait")
        await cooldown.wait()

    async def _token_for(self, call: _Call) -> Token:
        """The access token to send (a refresh may take a moment), the URL built for its host."""
        shared = self._shared
        tokens = shared.tokens
        token = await tokens.get_token()
        events = shared.events
        if events.refreshes.is_new(tokens.refresh_count):  # the first call to see a new token says so
            refreshed = TokenRefreshed(
                refreshes=tokens.refresh_count,
                expires_in=tokens.seconds_left(token),
                api_domain=token.api_domain,
            )
            # Its hooks with the attempt's (``_held_hooks``): here the call holds a place at the
            # gate, and a slow hook would keep every other call from it.
            if events.note(refreshed):
                call.held.append(refreshed)
        if token is not call.url_token:
            call.url = self.url_for(call.path, token, call.service)
            call.url_token = token
        return token

    async def _pace(self, call: _Call, slot: object) -> bool:
        """Take one send time booked on every limiter at once, spending the call's daily credits.

        False when a 429 cooldown opened while it waited (nothing is spent then). Refused at once
        when the wait would end past the deadline: it would hold a send time others could use.
        """
        try:
            return await self._shared.limits.pace(slot, call.ask)
        except PastDeadline as late:
            self._check_deadline(call, late.wait, late.what)
            raise  # pragma: no cover - the limits said past the deadline, and it is: raised above

    async def _exchange(self, call: _Call, token: Token, scope: anyio.CancelScope) -> _Attempt:
        """Send and read the whole answer, within ``timeout`` for the exchange as a whole.

        ``scope`` is the call's (see :meth:`_loop`): its deadline moves to this exchange's bound
        when that comes before the call's deadline (see :meth:`_bound`). Failures of the exchange
        come back in the attempt, for :meth:`_decide`, rather than raised.
        """
        wire = _Wire()
        call.wire = wire  # left set if the deadline cuts the exchange: it then tells whether it was sent
        self._shared.calls += 1
        self._shared.events.stats.attempted()
        call.sent += 1
        # This attempt's answer, from now on: one cut unanswered (by the deadline, a cancellation)
        # must not end the call reported with an earlier attempt's status and Zoho code.
        call.status = call.zoho_code = None
        response: httpx.Response | None = None
        failure: Exception | None = None
        timeout = call.timeout
        timed = _bound(call, token, scope, timeout)
        try:
            if call.streamed:
                response = await self._stream(call, token, wire)
            else:
                response = await self._shared.http.request(
                    call.method,
                    _parsed(call.url),
                    params=call.params,
                    content=call.body,
                    headers=_request_headers(call, token),
                    timeout=timeout,
                    extensions={"trace": wire.trace},
                    follow_redirects=False,  # a caller's own client may follow them: the token stays
                )
        except httpx.RequestError as exc:  # every timeout, transport and decoding error
            failure = without_request(exc)  # chained under the SDK's error: not with the token
        if not timed:  # else kept with the bound until the loop puts the deadline back
            call.wire = None
        return _Attempt(response, failure, token, wire)

    async def _stream(self, call: _Call, token: Token, wire: _Wire) -> httpx.Response:
        """The exchange of an upload or a download: the same request, its body streamed.

        An upload's file is opened for this attempt and closed when it ends; a download's 2xx
        body goes to disk (:func:`~bigin_async._download.save_body`), any other answer's is read
        into memory, capped. Runs inside :meth:`_exchange`, so the gate, the attempt's timeout
        and the call's deadline bound the whole body.
        """
        http = self._shared.http
        opened = call.upload.open() if call.upload is not None else contextlib.nullcontext()
        async with opened as chunks:
            request = http.build_request(
                call.method,
                _parsed(call.url),
                params=call.params,
                content=call.body,
                headers=_request_headers(call, token),
                timeout=call.timeout,
                extensions={"trace": wire.trace},
            )
            if chunks is not None:  # the upload's own stream, with its Content-Length in the headers
                request.stream = chunks
            response = await http.send(request, stream=True, follow_redirects=False)
            try:
                if call.download_to is not None and response.is_success and response.status_code != 204:
                    download = await save_body(response, call.download_to)
                    response.extensions["bigin_download"] = download
                elif call.consume is not None and response.is_success:
                    await call.consume(response)
                elif response.is_success:
                    await response.aread()
                else:
                    response = await read_capped(response)
            finally:
                with anyio.CancelScope(shield=True):  # give the connection back even when cancelled
                    await response.aclose()
        return response

    # -- one decision ---------------------------------------------------------------------------
    def _decide(
        self, call: _Call, attempt: _Attempt, parse: Callable[[httpx.Response], T]
    ) -> _Done[T] | _Retry:
        """Return the result, raise the typed error, or say how long to wait before the next attempt."""
        response = attempt.response
        if response is None:
            assert attempt.failure is not None
            verdict = _failure_verdict(attempt.failure, attempt.wire)
        else:
            judged = self._judge(call, response, parse)
            if isinstance(judged, _Done):
                return judged
            verdict = judged
        return self._retry_or_raise(call, attempt.token, verdict)

    def _judge(
        self, call: _Call, response: httpx.Response, parse: Callable[[httpx.Response], T]
    ) -> _Done[T] | _Verdict:
        """The answer as the result (``parse`` of it), or as why the attempt failed."""
        status = response.status_code
        outcome = classify_status(status, _error_code(response) if status >= 400 else None)
        if call.streamed and 300 <= status < 400:
            # Redirects are not followed (the token goes to two hosts only): for a download or an
            # upload a 3xx is not the answer asked for (no file was saved, no file_id given).
            outcome = Outcome.FATAL
        error: Exception
        if outcome is Outcome.SUCCESS or (not call.raise_for_status and outcome is Outcome.FATAL):
            response.extensions["bigin_ambiguous_attempts"] = call.ambiguous_attempts
            try:
                return _Done(parse(response))
            except BiginError:
                raise
            except _PARSE_ERRORS as exc:
                error = _malformed(response, exc)
            # Raised here, not in the except block, so the parser's own exception (which may
            # hold the body) is not kept as the context of the typed error.
            if outcome is not Outcome.SUCCESS:
                raise error
            outcome = Outcome.AMBIGUOUS
        else:
            error = error_from_response(response)
        return _Verdict(outcome, error, _advised_wait(response.headers), f"HTTP {status}")

    def _retry_or_raise(self, call: _Call, token: Token, verdict: _Verdict) -> _Retry:
        """A failed attempt: raise its typed error, or retry (the rules of :mod:`._retry`)."""
        outcome, error = verdict.outcome, verdict.error
        call.last_error = error
        if call.consume is not None and not call.consume.retryable:
            # Part of the body went to the caller's reading loop: another attempt would give it again.
            raise self._typed(call, error)
        if outcome is Outcome.TOKEN_REJECTED:
            if call.refreshed or not self._shared.tokens.may_refresh_after_rejection(token):
                raise error
            call.refreshed = True
            logger.info(
                "token rejected (%s); refreshing once and retrying",
                verdict.what,
                extra={
                    "bigin_event": "token_rejected",
                    "bigin_method": call.method,
                    "bigin_url": redact_url(call.url),
                },
            )
            return _Retry(0.0, rejected=token, reason="token rejected")
        if outcome is Outcome.FATAL:
            raise self._typed(call, error)
        if outcome is Outcome.AMBIGUOUS:
            # Decided first: an insert that may have been applied is never re-sent, and never
            # reported as a plain failure (that would let a resumed run send it again).
            if not call.safe:
                raise _ambiguous(call.method, call.url, call.json, error, upload=call.upload) from error
            call.ambiguous_attempts += 1
        advised = verdict.advised
        if advised is not None and advised > self.settings.max_retry_after:
            raise self._typed(call, error)  # waiting minutes inside a call helps nobody: say so instead
        if call.attempt >= self.settings.max_retries:
            raise self._typed(call, error)
        call.attempt += 1
        return self._retry_after_wait(call, verdict)

    def _retry_after_wait(self, call: _Call, verdict: _Verdict) -> _Retry:
        """The wait before retry number ``call.attempt``: a 429's advised wait, shared by every
        call of this client, or the backoff (at least any wait the server advised)."""
        advised = verdict.advised
        shared_wait = verdict.outcome is Outcome.RATE_LIMITED and advised is not None
        wait = (
            advised
            if shared_wait and advised is not None
            else max(advised or 0.0, self._backoff(call.attempt - 1))
        )
        self._check_deadline(call, wait, f"a retry after {verdict.error} would wait", verdict.error)
        url = redact_url(call.url)
        logger.warning(
            "%s on %s %s; retry %d after %.2fs%s",
            verdict.what,
            call.method,
            url,
            call.attempt,
            wait,
            " (all calls pause)" if shared_wait else "",
            extra={
                "bigin_event": "retry_scheduled",
                "bigin_method": call.method,
                "bigin_url": url,
                "bigin_url_template": call.template,
                "bigin_reason": verdict.what,
                "bigin_attempt": call.attempt + 1,
                "bigin_wait": wait,
            },
        )
        return _Retry(wait, shared=shared_wait, reason=verdict.what)

    def _budget_low(self) -> BudgetLow | None:
        """``BudgetLow`` once as the day's credits fall to a tenth of the day's (the ``daily_limit``,
        else Zoho's ``X-RateLimit-Limit`` of the day's window), again only after they came back above it."""
        shared = self._shared
        budget = shared.limits.budget
        remaining = budget.remaining()
        # What the answer's headers said is in it by now (``finish``). A budget written before
        # ``allowance`` was part of BudgetView (one's own ``coordination=``) has its limit alone.
        allowance = getattr(budget, "allowance", budget.limit)
        if remaining is None or allowance is None:
            return None
        threshold = max(allowance // 10, 1)
        if remaining > threshold:
            shared.budget_low = False
        elif not shared.budget_low:
            shared.budget_low = True
            return BudgetLow(remaining=remaining, threshold=threshold, limit=budget.limit)
        return None

    def _typed(self, call: _Call, error: Exception) -> Exception:
        """The error as the SDK's own type (an httpx exception becomes a BiginConnectionError)."""
        if isinstance(error, BiginError):
            return error
        wrapped = _wrap_transport_error(error, call.method, call.url)
        wrapped.__cause__ = error
        return wrapped

    def _deadline_error(self, call: _Call) -> BiginError:
        """What a call cut by its deadline raises: unknown fate if an insert was on the wire."""
        message = (
            f"the deadline of {self.settings.deadline}s for the whole call passed ({call.attempt} retries)"
        )
        wire = call.wire
        if wire is not None and wire.maybe_sent and not call.safe:
            return _ambiguous(call.method, call.url, call.json, None, reason=message, upload=call.upload)
        return BiginTimeoutError(message, method=call.method, url=call.url)

    def _check_deadline(self, call: _Call, wait: float, why: str, cause: Exception | None = None) -> None:
        """Raise now, rather than after waiting, when a wait would end past the call's deadline.

        ``why`` names the wait: a retry's backoff, the shared 429 cooldown, the rate limits' next
        free send time. Sitting it out would only end in the deadline's error, later.
        """
        if call.deadline_at is not None and anyio.current_time() + wait > call.deadline_at:
            raise BiginTimeoutError(
                f"{why} {wait:.2f}s, past the deadline of {self.settings.deadline}s for the whole call; "
                "nothing more was sent",
                method=call.method,
                url=call.url,
            ) from (cause if cause is not None else call.last_error)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(
            attempt,
            self.settings.retry_backoff_seconds,
            cap=max(self.settings.retry_backoff_seconds, min(30.0, self.settings.max_retry_after)),
            uniform=self._shared.rng.uniform,
        )


@dataclass
class _Wire:
    """What the connection saw of one exchange (httpcore's trace): did the whole request leave?

    A mocked transport traces nothing; then nothing is known and the request counts as sent.
    """

    traced: bool = False
    sent: bool = False

    async def trace(self, event: str, info: Mapping[str, Any]) -> None:
        self.traced = True
        if event.endswith(".send_request_body.complete"):
            self.sent = True

    @property
    def request_sent(self) -> bool | None:
        """``False`` when the request surely did not leave whole; ``None`` when nobody can tell."""
        if not self.traced:
            return None
        return self.sent

    @property
    def maybe_sent(self) -> bool:
        return self.request_sent is not False

    def timeout(self, seconds: float) -> httpx.TimeoutException:
        """The exception for an exchange cut by ``timeout``, classed by how far it got."""
        if self.maybe_sent:
            return httpx.ReadTimeout(f"no complete answer within the timeout of {seconds}s")
        return httpx.ConnectTimeout(f"the request could not be sent within the timeout of {seconds}s")


@dataclass
class _Call:
    """One logical call's state across its attempts."""

    method: str
    path: str
    url: str  # the URL of the latest attempt (the token's api_domain may change it)
    url_token: Token | None  # the token ``url`` was built for (None: not built for one yet)
    json: Any
    body: bytes | None
    params: dict[str, str] | None
    headers: Mapping[str, str] | None
    safe: bool
    raise_for_status: bool
    ask: Ask  # what each attempt asks of the limits: credits, limiters, bounds
    deadline_at: float | None
    timeout: float  # each attempt's bound (the ``timeout`` setting unless the call gave its own)
    service: Service = "v2"
    upload: MultipartBody | None = None  # files streamed as the body (multipart/form-data)
    download_to: Path | SaveIn | None = None  # where a 2xx body is saved instead of kept in memory
    consume: Consume | None = None  # reads a 2xx body as it arrives (a FileStream's hook)
    streamed: bool = False  # an upload or a download: the exchange streams its body
    attempt: int = 0  # retries so far
    ambiguous_attempts: int = 0
    refreshed: bool = False
    last_error: Exception | None = None
    wire: _Wire | None = None  # the exchange in progress
    timed_token: Token | None = None  # set while the exchange in progress runs under its own timeout
    # What the events say of it (bigin_async.hooks): set as the call begins, sends and is answered.
    call_id: int = 0
    template: str = ""
    module: str | None = None
    operation: str = ""
    records: int | None = None
    started: float = 0.0
    sent: int = 0  # attempts sent
    sent_at: float = 0.0  # when the latest one went
    status: int | None = None  # of the latest answer
    zoho_code: str | None = None
    cooldown_wait: float = 0.0  # spent out a 429's pause since the last attempt went
    held: list[Any] = field(default_factory=list)  # events whose hooks are yet to run (_held_hooks)

    @property
    def described(self) -> dict[str, Any]:
        """What every event of this call says of it (:class:`~bigin_async.hooks.CallEvent`'s fields)."""
        return {
            "call_id": self.call_id,
            "method": self.method,
            "url_template": self.template,
            "module": self.module,
            "operation": self.operation,
        }

    @property
    def deadline(self) -> float:
        """The call's deadline as a cancel scope's (infinite when there is none)."""
        return self.deadline_at if self.deadline_at is not None else math.inf


@dataclass
class _Attempt:
    response: httpx.Response | None
    failure: Exception | None
    token: Token
    wire: _Wire


@dataclass
class _Done(Generic[T]):
    value: T


class _Verdict(NamedTuple):
    """Why an attempt failed, for the decision: the retry table's outcome and the error."""

    outcome: Outcome
    error: Exception
    advised: float | None  # the wait the server advised (Retry-After, X-RateLimit-Reset)
    what: str  # for the log: "HTTP 503", "ReadTimeout"


# Failures of an attempt that never reached the server: it counted nothing.
_NEVER_ARRIVED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _uncounted(attempt: _Attempt) -> bool:
    """Whether the server charged nothing for this attempt: refused with a 429, or never reached."""
    response = attempt.response
    if response is not None:
        return response.status_code == 429
    return isinstance(attempt.failure, _NEVER_ARRIVED)


def _failure_verdict(failure: Exception, wire: _Wire) -> _Verdict:
    """An exchange that raised (a timeout, a dropped connection): classed by how far it got."""
    outcome = classify_exception(failure, request_sent=wire.request_sent)
    return _Verdict(outcome, failure, None, type(failure).__name__)


def _bound(call: _Call, token: Token, scope: anyio.CancelScope, timeout: float) -> bool:
    """Move the scope's deadline to this exchange's bound when that comes first; True if moved.

    ``call.timed_token`` is set while the bound is this exchange's, so the scope firing then reads
    as this attempt's timeout, not as the call's deadline. The loop puts the call's deadline back
    only before a retry waits: between the answer and the result nothing waits (leaving the gate
    and settling the credits do not), so a call that succeeds moves its deadline once, not twice.
    """
    bound = anyio.current_time() + timeout
    timed = bound < call.deadline  # on a tie the deadline fires: the call is over either way
    if timed:
        call.timed_token = token
        scope.deadline = bound
    return timed


def _request_headers(call: _Call, token: Token) -> dict[str, str]:
    """The token in Zoho's ``Authorization: Zoho-oauthtoken ...`` form, then the caller's headers."""
    headers = {"Authorization": "Zoho-oauthtoken " + token.access_token.get_secret_value()}
    if call.body is not None:
        headers["Content-Type"] = "application/json"
    elif call.upload is not None:
        headers.update(call.upload.headers)
    if call.headers:
        headers.update(call.headers)
    return headers


@dataclass
class _Retry:
    wait: float
    shared: bool = False  # a 429's advised wait: the whole client pauses (the cooldown)
    rejected: Token | None = None  # a 401: forget this token, then retry at once
    reason: str = ""  # what failed, for RetryScheduled: "HTTP 503", "ReadTimeout", "token rejected"


def _described(method: str, path: str) -> tuple[str, str | None, str]:
    """describe_path's answer, remembered for the paths calls repeat (a bulk run's ``/Contacts``).

    A path with a query or a whole URL (a download's signed link) is worked out each time, so
    that no such string is held beyond its call.
    """
    if "?" in path or "://" in path:
        return describe_path(method, path)
    return _described_often(method, path)


_described_often = functools.lru_cache(maxsize=256)(describe_path)


def _parsed(url: str) -> httpx.URL | str:
    """The request's URL, parsed once for the URLs calls repeat: httpx parses a str URL twice per
    request (about 30 µs, a tenth of the client's own work on a bulk call). httpx's URLs are
    immutable, so one serves every request. A URL with a query or a fragment (a signed link) is
    left to httpx, so that no such string is held beyond its call."""
    if "?" in url or "#" in url:
        return url
    return _parsed_often(url)


_parsed_often = functools.lru_cache(maxsize=256)(httpx.URL)


def _record_count(json: Any) -> int | None:
    """How many entries a write body holds (``{"data": [...]}`` and the like); None for no body."""
    if isinstance(json, Mapping):
        for key in _WRITE_ENVELOPES:
            listed = json.get(key)
            if isinstance(listed, list):
                return len(listed)
        return 1 if json else None
    if isinstance(json, list | tuple):
        return len(json)
    return None


def encode_plain(json: Any) -> bytes | None:
    """A body of dicts with str keys, lists and exact str/int/bool/None values, encoded.

    For such a body pydantic-core's serializer writes what :func:`_encode` writes, in UTF-8
    instead of ``\\u`` escapes, in about half the time: the bulk engine encodes its checked
    bodies so (100 records a call). A string with a lone surrogate, which UTF-8 cannot hold, goes
    the strict way, escaped. The caller vouches for the types: anything else (a float, a date, a
    set) must go through :func:`_encode`, which refuses or writes it as json does.
    """
    try:
        return pydantic_core.to_json(json)
    except pydantic_core.PydanticSerializationError:
        return _encode(json)


def _encode(json: Any) -> bytes | None:
    """Strict JSON: NaN and Infinity are not JSON (Zoho refuses them), so refuse them before sending."""
    if json is None:
        return None
    try:
        return jsonlib.dumps(json, separators=(",", ":"), allow_nan=False).encode()
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValidationError(f"the request body cannot be sent as JSON: {exc}; nothing was sent") from exc


# Characters no URL may hold (httpx refuses them): a path with one is refused before it costs anything.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _checked_paced_by(limiter: RateLimiter | None) -> RateLimiter | None:
    """A call's own limiter, booked before the client's (the scarcest first)."""
    if limiter is not None and not isinstance(limiter, RateLimiter):
        raise ConfigurationError(f"paced_by must be a RateLimiter, got {type(limiter).__name__}")
    return limiter


def _nothing(response: httpx.Response) -> None:
    """A streamed download's result: its body went to the reading loop."""


def _download_target(target: str | os.PathLike[str] | SaveIn | None) -> Path | SaveIn | None:
    """Where a download goes, refused before sending when it cannot be written there."""
    if target is None:
        return None
    if isinstance(target, SaveIn):
        if not isinstance(target.directory, Path) or not target.directory.is_dir():
            raise ValidationError(
                f"cannot download into {target.directory}: no such directory; nothing was sent"
            )
        return target
    return target_path(target)


def _check_timeout(timeout: float) -> None:
    """A call's own ``timeout``: a positive, finite number of seconds."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}")


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = httpx.URL(url)
        origin = (parts.scheme, parts.host, parts.port)  # ``host`` decodes IDNA: it may raise too
    except (httpx.InvalidURL, ValueError) as exc:  # a bad port, a host IDNA cannot encode or decode
        raise ConfigurationError(
            f"{redact_url(url)!r} is not a URL one can send to ({exc}); nothing was sent"
        ) from None
    if parts.userinfo:  # httpx would send it as Basic credentials in the token's place
        raise ConfigurationError(
            f"a URL must not carry a user name or password: {_show_origin(origin)}...; nothing was sent"
        )
    return origin


def _show_origin(origin: tuple[str, str, int | None]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Drop ``None`` values and join lists with commas, as Zoho expects (``fields=a,b``)."""
    if not params:
        return None
    clean: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            clean[key] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            clean[key] = "true" if value else "false"
        else:
            clean[key] = str(value)
    return clean


def _error_code(response: httpx.Response) -> str | None:
    """Zoho's ``code`` of an error answer; None when the body is not JSON (or nests thousands deep)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None
    if isinstance(body, Mapping):
        code = body.get("code")
        return str(code) if code is not None else None
    return None


def _advised_wait(headers: Mapping[str, str]) -> float | None:
    return header_seconds(headers)


# The lists of written entries in the write bodies the SDK sends: records (``data``), team
# pipelines (``pipelines``), notification channels (``watch``).
_WRITE_ENVELOPES = ("data", "pipelines", "watch")


def _records_of(json: Any) -> Sequence[Any]:
    """What a write whose fate is unknown was writing, so the caller can check or re-send it.

    The entries of the body's envelope (``{"data": [...]}``, ``{"pipelines": [...]}``,
    ``{"watch": [...]}``); a bare list is its own entries; any other object (one record sent
    bare, as Zoho Books takes a contact) is the one record written.
    """
    if isinstance(json, Mapping):
        for key in _WRITE_ENVELOPES:
            if isinstance(json.get(key), list):
                return list(json[key])
        return [dict(json)] if json else []
    if isinstance(json, list | tuple):
        return list(json)
    return []


def _ambiguous(
    method: str,
    url: str,
    json: Any,
    cause: Exception | None,
    *,
    reason: str | None = None,
    upload: MultipartBody | None = None,
) -> AmbiguousWriteError:
    records = _records_of(json)
    if reason is None:
        reason = cause.message if isinstance(cause, APIError) else type(cause).__name__
    if upload is not None:
        return AmbiguousWriteError(
            f"{method} {redact_url(url)} of {upload.name} may or may not have been received "
            f"({reason}); it was not re-sent, as an insert would not be: look whether it arrived "
            "(e.g. list the record's attachments) before uploading it again, or it may be stored twice.",
            method=method,
            url=url,
        )
    return AmbiguousWriteError(
        f"{method} {redact_url(url)} may or may not have been applied ({reason}); it was not re-sent "
        f"because an insert is not idempotent: {len(records)} record(s) have an unknown fate. "
        "Re-send them with an upsert on a unique field (e.g. Email) to be safe.",
        records=records,
        method=method,
        url=url,
    )


def _malformed(response: httpx.Response, cause: BaseException) -> APIError:
    """The typed error for an answer whose body is not the shape Zoho documents.

    Only the kind of failure and, for pydantic, where in the body it was, are kept: the body
    itself (which may echo records or secrets) and pydantic's dump of the input are not, in the
    message nor in the chained cause (see :func:`_without_body`).
    """
    where = ""
    if isinstance(cause, pydantic.ValidationError):
        locations = [
            ".".join(str(part) for part in err["loc"]) for err in cause.errors(include_input=False)[:3]
        ]
        where = f" at {', '.join(loc for loc in locations if loc)}" if any(locations) else ""
    summary = f"{type(cause).__name__}{where}"
    error = APIError(
        f"the server's answer did not have the expected shape ({summary})",
        status_code=response.status_code,
        code="MALFORMED_RESPONSE",
        method=response.request.method,
        url=str(response.request.url),
    )
    error.__cause__ = _without_body(cause, summary)
    return error


def _without_body(cause: BaseException, summary: str) -> BaseException:
    """The parser's exception as a cause that no longer holds the answer's body.

    json's ``JSONDecodeError`` keeps the whole body in ``.doc`` and pydantic's error shows the
    input in its text: an answer echoing a token would be reachable from ``exc.__cause__``. The
    ``.doc`` of every JSON error in the chain is emptied (its position stays in the message), as is
    the ``.object`` of a body that is not UTF-8 (``UnicodeDecodeError``); a pydantic error is
    replaced by a ``ValueError`` naming only where the shape was wrong.
    """
    seen: set[int] = set()
    link: BaseException | None = cause
    while link is not None and id(link) not in seen and len(seen) < 16:
        seen.add(id(link))
        if isinstance(link, pydantic.ValidationError):
            return ValueError(f"the answer failed validation ({summary})")
        if isinstance(link, jsonlib.JSONDecodeError):
            link.doc = ""
        elif isinstance(link, UnicodeDecodeError):  # keeps the bytes it could not read: the body
            link.object = b""
            link.args = (link.encoding, b"", link.start, link.end, link.reason)
        link = link.__cause__ or link.__context__
    return cause


def _wrap_transport_error(exc: Exception, method: str, url: str) -> BiginConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return BiginTimeoutError(
            f"{type(exc).__name__} on {method} {redact_url(url)}", method=method, url=url
        )
    return BiginConnectionError(
        f"{type(exc).__name__} on {method} {redact_url(url)}: {exc}", method=method, url=url
    )


def decode_json(response: httpx.Response) -> Any:
    """The decoded body, or None for a 204/empty body; garbage raises a typed error."""
    try:
        return json_unless_204(response)
    except NOT_JSON as exc:
        error = _malformed(response, exc)
    raise error  # outside the except block: the decoder's error is the cleaned cause, not the context
