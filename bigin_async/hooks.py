"""What the client does, as typed events: for ``BiginClient(event_hooks=...)``, ``stats()`` and tracing.

Every call the SDK sends goes through one pipeline, and that pipeline says what happens as it
happens: a call starts, an attempt is sent, its answer comes back (or does not), a retry is
scheduled and why, Zoho answers 429, the access token is refreshed, the day's API credits run
low, a batch of a bulk write is done, the call ends. Each is an immutable event class below; a
hook gets the event and reads its fields::

    def on_retry(event: RetryScheduled) -> None:
        metrics.increment("bigin.retries", tags={"reason": event.reason})

    bigin = BiginClient(..., event_hooks={"retry_scheduled": [on_retry]})

The keys are the events' :attr:`~ClientEvent.name` (``EVENT_NAMES`` lists them), as httpx's
``event_hooks`` are; each value is a list of callables, plain functions or ``async def`` ones.
A hook runs in the task of the call it reports on, before that call goes on: keep it short. The
hooks of an attempt (``token_refreshed`` when it is the first to use a new token, ``request_sent``,
then its end: ``response_received``, ``rate_limited``, ``budget_low``) run once the call is past
that attempt's answer and has given back its place at the gate: before its retry, or before it
returns its result (the SDK's own listeners, stats and tracing, have the event at once). So a
request goes out at the very time the per-minute limiter gave it, however long a hook takes, and
a slow hook never keeps other calls from sending.
An async hook has at most the ``timeout`` of the call it reports on (the client's, 30 s by default,
a ``with_options(timeout=...)`` view's, or the call's own; for ``bulk_batch_done``, that of the
client or view running the write): one still running then is cut, logged and counted like a hook
that raised, and the call (or the bulk write) goes on.
Every hook runs under the call's ``deadline``: one still running when it passes is cancelled, and
the call ends as it would have (an answer already read is kept: a hook never turns it into a
timeout, nor makes it sent again). The price of that: an async hook gets an attempt's events only
while the call can still wait for it. When the deadline has passed, an async hook is cut at its
first ``await``; when the call is cancelled (its task group cancelled, an ``open_stream`` block
left early), async hooks do not get them. Plain hooks get every event in both cases. A refresh
happens once for the whole client, so ``token_refreshed`` is not lost that way: an async hook
that the first call to use the new token could not tell gets it with the next call's hooks (each
hook is owed at most its 16 newest), and no hook is told a refresh older than one it already had.
A hook that raises does not break the call: the first failure of each hook is logged (a warning
on the ``bigin_async.hooks`` logger, with its traceback) and later ones are only counted
(``stats().hook_errors``). What a plain hook returns is awaited when it is awaitable.

No event holds a secret: no token, no header, no body; URLs are the ones logs show (sensitive
query values replaced) and :attr:`CallEvent.url_template` has no ids at all (``{id}`` in their
place), fit for a metric's label or a span's name.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

__all__ = [
    "EVENT_NAMES",
    "BudgetLow",
    "BulkBatchDone",
    "CallEvent",
    "CallFinished",
    "CallStarted",
    "ClientEvent",
    "EventHook",
    "EventHooks",
    "RateLimited",
    "RequestSent",
    "ResponseReceived",
    "RetryScheduled",
    "TokenRefreshed",
    "describe_path",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientEvent:
    """The base of every event: ``name`` is the key of ``event_hooks`` it is given to."""

    name: ClassVar[str] = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent(ClientEvent):
    """An event of one logical call (every attempt of it shares its ``call_id``).

    ``url_template`` is the path with ids replaced (``/bigin/v2/Contacts/{id}``); ``module`` is
    the Bigin module's API name when the path is a module's (``Contacts``, ``Pipelines``), else
    None; ``operation`` names what the call does (``list``, ``get``, ``create``, ``update``,
    ``upsert``, ``delete``, ``search``, ...; for Bulk Read and Bulk Write jobs, ``bulk_read`` and
    ``bulk_write`` for a job's creation, ``bulk_read_status``/``bulk_write_status`` for its
    polls and ``bulk_read_result`` for its result's download, which cost Zoho's credits
    differently; else the method and the path's last fixed segment).
    """

    call_id: int
    method: str
    url_template: str
    module: str | None
    operation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted(CallEvent):
    """A call has begun (before it queues anywhere). ``records``: entries the body writes, or the
    records a delete names (``?ids=``, or one by its id), if any."""

    name: ClassVar[str] = "call_started"
    records: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSent(CallEvent):
    """An attempt is going out now: it has its place at the gate, its token and its send time.

    ``attempt`` counts from 1. ``url`` is the request's URL as logs show it. ``cooldown_wait``,
    ``gate_wait`` and ``limiter_wait`` are the seconds this attempt spent waiting out a 429's pause,
    for a place among the ``max_concurrency`` calls in flight, and for a send time within the
    per-minute limits. Hooks get it once the attempt is answered (or has failed), just before its
    ``response_received``; for a stream (``open_stream``, ``download_to``), once its body has been
    read. A hook awaited before the send would have sent it later than the time the limiter
    booked for it. The stats and tracing get it as the request goes.
    """

    name: ClassVar[str] = "request_sent"
    attempt: int
    url: str
    cooldown_wait: float
    gate_wait: float
    limiter_wait: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseReceived(CallEvent):
    """An attempt ended: with an answer (``status_code``, Zoho's ``code`` on an error answer) or
    without one (``status_code`` None and ``error`` the exception's class: ``ReadTimeout``,
    ``ConnectError``...). ``elapsed``: seconds from sending to the whole answer read."""

    name: ClassVar[str] = "response_received"
    attempt: int
    status_code: int | None
    zoho_code: str | None
    elapsed: float
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryScheduled(CallEvent):
    """The call will be sent again after ``wait`` seconds.

    ``attempt`` is the number of the attempt to come (2 for the first retry); ``reason`` is what
    failed (``HTTP 503``, ``HTTP 429``, ``ReadTimeout``, ``token rejected``...); ``shared`` is
    True when the wait is Zoho's 429 pause, which every call of the client waits out together.
    """

    name: ClassVar[str] = "retry_scheduled"
    attempt: int
    reason: str
    wait: float
    shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimited(CallEvent):
    """Zoho answered 429 (too many requests). ``retry_after``: the wait it advised, if any."""

    name: ClassVar[str] = "rate_limited"
    attempt: int
    retry_after: float | None
    zoho_code: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRefreshed(ClientEvent):
    """This client got a new access token from Zoho's accounts server.

    ``refreshes``: how many this client has made (Zoho allows 10 in 10 minutes per refresh token);
    ``expires_in``: seconds the new token has left; ``api_domain``: the data centre it names.
    """

    name: ClassVar[str] = "token_refreshed"
    refreshes: int
    expires_in: float | None
    api_domain: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetLow(ClientEvent):
    """The day's API credits fell to ``remaining``, at or below ``threshold`` (a tenth of the day's).

    Given once when the credits go below the threshold, and again only after they have come
    back above it. ``limit``: the ``daily_limit`` setting, or None when only Zoho's count is known.
    """

    name: ClassVar[str] = "budget_low"
    remaining: int
    threshold: int
    limit: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkBatchDone(ClientEvent):
    """One batch of ``bulk_create``/``bulk_update``/``bulk_upsert``/``bulk_delete``/``bulk_import``
    is done: of its
    ``records``, how many were written (``succeeded``), refused (``failed``), and whose fate the
    answer did not tell (``unknown``: the call's answer was lost).

    Every record of the input is in one event, so the events of a write add up to its result's
    counts: records refused before sending (bad input) are ``failed``, records a journal says an
    earlier run wrote are ``succeeded``, and after a fatal error (a revoked token, the day's
    credits spent) the records left unsent are ``failed`` with that error, as in the result.
    Through calls, a batch is up to 100 records to send (``batch_size``) with the settled ones
    among them (one of settled records alone is told too), and batches run side by side and end
    in any order, so batch 1 (the first 100 records) may be told last. Through Bulk Write jobs
    (``via="jobs"``, or ``via="auto"`` past 5,000 records), a batch is a stretch of the input:
    the records of one job (up to 25,000, in one part or, when the file would be too big, a few)
    with the records refused around it, or refused records alone; told in input order, after
    ``on_result`` had its records. ``batch`` is its place in the input, from 1 (not
    ``BulkProgress.part``). A run that ends on your own exception (the input, ``on_result``)
    tells no more batches."""

    name: ClassVar[str] = "bulk_batch_done"
    module: str
    operation: str
    batch: int
    records: int
    succeeded: int
    failed: int
    unknown: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFinished(CallEvent):
    """A call has ended, with its result or its error.

    ``attempts``: attempts sent (a call refused before sending has 0); ``duration``: seconds from
    its start, waits included; ``status_code``/``zoho_code``: of its last attempt's answer (None
    when that attempt had none: cut by the deadline or a cancellation); ``error``: the class of
    the error it raised (None on success; ``Cancelled`` when its task was cancelled).
    ``records``: entries the body wrote, records a delete named, or records the answer held (1
    for a record read by its id).
    """

    name: ClassVar[str] = "call_finished"
    records: int | None
    attempts: int
    duration: float
    status_code: int | None
    zoho_code: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


EVENT_NAMES: tuple[str, ...] = tuple(
    cls.name
    for cls in (
        CallStarted,
        RequestSent,
        ResponseReceived,
        RetryScheduled,
        RateLimited,
        TokenRefreshed,
        BudgetLow,
        BulkBatchDone,
        CallFinished,
    )
)

EventHook: TypeAlias = Callable[[Any], Awaitable[None] | None]
"""A hook: called with the event; a plain function or an ``async def`` one. Typed to take any
event, so that a hook annotated with the one event class it is registered for passes mypy."""
EventHooks: TypeAlias = Mapping[str, Sequence[EventHook]]
"""``{"retry_scheduled": [hook, ...], ...}``: lists of hooks by event name."""

# The fixed lower-case words of the paths the SDK sends (Bigin's, Bulk's, Books', the accounts
# server's); any other lower-case segment is read as a value ({id}), never named in a template.
_FIXED_WORDS = frozenset(
    {
        "actions", "add_tags", "remove_tags", "count", "merge", "records_count", "watch",
        "settings", "fields", "layouts", "modules", "pipelines", "related_lists", "tags",
        "custom_views", "coql", "files", "org", "users", "upload", "deleted", "search", "upsert",
        "photo", "contacts", "read", "write", "bigin", "bulk", "books", "crm", "api", "oauth",
        "token", "revoke", "v2", "v3", "result",
    }
)  # fmt: skip
# A module's API name or a related list's (Contacts, Custom_Module1, Notes): a capital, then word
# characters. Zoho's ids are digits, so never one of these.
_NAME = re.compile(r"[A-Z][A-Za-z0-9_]{0,99}")
_SERVICES = ("/bigin/bulk/v2", "/bigin/v2", "/books/v3", "/crm/v2")
_NOT_MODULES = frozenset({"Attachments", "Notes"})  # related lists, when they come first: none do
# (method, the template's part after the module) -> operation
_MODULE_OPERATIONS = {
    ("GET", ""): "list",
    ("POST", ""): "create",
    ("PUT", ""): "update",
    ("PATCH", ""): "update",
    ("DELETE", ""): "delete",
    ("GET", "/{id}"): "get",
    ("PUT", "/{id}"): "update",
    ("DELETE", "/{id}"): "delete",
    ("POST", "/upsert"): "upsert",
    ("GET", "/search"): "search",
    ("GET", "/deleted"): "list_deleted",
    ("GET", "/actions/count"): "count",
}


def _word(segment: str) -> str:
    segment = segment.split(";", 1)[0]  # a path parameter (;jsessionid=...) is not the word
    return segment if segment in _FIXED_WORDS or _NAME.fullmatch(segment) else "{id}"


def describe_path(method: str, path: str) -> tuple[str, str | None, str]:
    """``(url_template, module, operation)`` of a request: what an event or a span may name.

    ``path`` is the request's path from the host (``/bigin/v2/Contacts/123``) or a whole URL; the
    query is dropped and every segment that is not a fixed word of Bigin's paths or a module's
    name becomes ``{id}``. ``describe_path("GET", "/bigin/v2/Contacts/4150868000000624001")`` is
    ``("/bigin/v2/Contacts/{id}", "Contacts", "get")``; a Bulk Read job's ``POST
    /bigin/bulk/v2/read`` is ``bulk_read``; a path on another service keeps its own base.
    """
    method = method.upper()
    if "://" in path:
        path = path.split("://", 1)[1]
        slash = path.find("/")
        path = path[slash:] if slash >= 0 else "/"
    path = path.split("?", 1)[0].split("#", 1)[0]
    base = ""
    for service in _SERVICES:
        if path == service or path.startswith(service + "/"):
            base, path = service, path[len(service) :]
            break
    words = [_word(part) for part in path.split("/") if part]
    template = base + "".join("/" + word for word in words) or "/"
    if base == "/bigin/bulk/v2":
        kind = words[0] if words else ""
        if kind not in ("read", "write"):
            return template, None, method.lower()
        step = {1: "", 2: "_status"}.get(len(words), "_" + words[-1] if words[-1] != "{id}" else "")
        return template, None, f"bulk_{kind}{step}"
    first = words[0] if words else ""
    if base == "/bigin/v2" and _NAME.fullmatch(first) and first not in _NOT_MODULES:
        rest = "".join("/" + word for word in words[1:])
        operation = _MODULE_OPERATIONS.get((method, rest))
        if operation is None:
            fixed = [word for word in words[1:] if word != "{id}"]
            operation = method.lower() + ("_" + fixed[-1].lower() if fixed else "")
        return template, first, operation
    fixed = [word for word in words if word != "{id}"]
    return template, None, method.lower() + ("_" + "_".join(fixed).lower() if fixed else "")
