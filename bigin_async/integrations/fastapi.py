"""FastAPI: one :class:`~bigin_async.BiginClient` per process, handed to path operations.

A client per request would open a pool, refresh a token (Zoho allows ten refreshes in ten
minutes) and lose the shared rate limits on every call. So the client is opened once, at
start-up, kept on ``app.state``, closed at shutdown, and path operations receive that one client
through a dependency that constructs nothing::

    from fastapi import FastAPI
    from bigin_async.integrations.fastapi import BiginDep, bigin_lifespan

    app = FastAPI(lifespan=bigin_lifespan())          # BiginClient.from_env() at start-up

    @app.get("/contacts/{contact_id}")
    async def read_contact(contact_id: str, bigin: BiginDep) -> dict:
        contact = await bigin.contacts.get(contact_id)
        return contact.model_dump(mode="json", by_alias=True, exclude_unset=True)

With a lifespan of your own, open the client inside it::

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with open_bigin(app, lambda: BiginClient(...)) as bigin:
            ...                                       # your own start-up, using bigin
            yield

In tests, hand the routes any client you like (an emulator's, a mock) without starting the
lifespan: ``app.dependency_overrides[get_bigin] = lambda: test_client``.

Errors as HTTP answers: ``add_bigin_exception_handlers(app)`` answers every SDK error a path
operation lets through with the HTTP status a FastAPI user expects, so a bad email is a 422 and
a missing record a 404, not a 500. See :func:`add_bigin_exception_handlers` for the table and the
body's shape.

Needs the ``fastapi`` extra: ``pip install 'bigin-async[fastapi]'``.
"""

from __future__ import annotations

import inspect
import logging
import math
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, TypeVar, Union, cast, overload

import anyio

try:
    from fastapi import Depends, FastAPI, Request, WebSocket
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse, Response
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.types import ExceptionHandler
    from starlette.websockets import WebSocketState
except ModuleNotFoundError as missing:
    if (missing.name or "").partition(".")[0] not in ("fastapi", "starlette"):
        raise  # FastAPI is there but something it needs is not: its own error says what
    raise ModuleNotFoundError(
        "bigin_async.integrations.fastapi needs FastAPI: pip install 'bigin-async[fastapi]'", name="fastapi"
    ) from None

from bigin_async._redact import get_logger
from bigin_async.client import BiginClient
from bigin_async.errors import (
    AmbiguousUploadError,
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BiginConnectionError,
    BiginError,
    BiginTimeoutError,
    BooksDuplicateError,
    BooksOrganizationError,
    BooksValidationError,
    BudgetExhaustedError,
    BulkAbortedError,
    BulkJobError,
    BulkJobFailedError,
    BulkWriteError,
    ConfigurationError,
    CoordinationError,
    DuplicateRecordError,
    FileTooLargeError,
    InvalidNotificationError,
    InvalidRequestError,
    NotFoundError,
    NotificationTokenError,
    PermissionDeniedError,
    RateLimitError,
    RecordError,
    RefreshBlockedError,
    ServerError,
    ValidationError,
    parse_retry_after,
)

logger = get_logger("fastapi")

if sys.version_info < (3, 11):  # anyio needs the backport there, so it is installed
    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

__all__ = [
    "STATE_KEY",
    "BiginDep",
    "BiginFactory",
    "add_bigin_exception_handlers",
    "bigin_exception_handler",
    "bigin_lifespan",
    "get_bigin",
    "open_bigin",
]

STATE_KEY = "bigin"
_App = TypeVar("_App", bound=Starlette)
BiginFactory = Callable[[], Union[BiginClient, Awaitable[BiginClient]]]


@asynccontextmanager
async def open_bigin(
    app: FastAPI, factory: BiginFactory = BiginClient.from_env
) -> AsyncIterator[BiginClient]:
    """Create the process's client with ``factory``, keep it on ``app.state.bigin``, close it on exit."""
    made = factory()
    client = await made if inspect.isawaitable(made) else made
    if not isinstance(client, BiginClient):
        raise ConfigurationError(f"the factory must return a BiginClient, not {type(client).__name__}")
    setattr(app.state, STATE_KEY, client)
    try:
        yield client
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled shutdown still closes the pool
            await client.aclose()
        if getattr(app.state, STATE_KEY, None) is client:
            delattr(app.state, STATE_KEY)


def bigin_lifespan(
    factory: BiginFactory = BiginClient.from_env,
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]]:
    """A FastAPI ``lifespan`` that opens one client at start-up and closes it at shutdown.

    ``factory`` builds the client (default: ``BiginClient.from_env()`` from ``BIGIN_*``
    variables); it may be a coroutine function.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with open_bigin(app, factory) as client:
            yield {STATE_KEY: client}  # also lands on request.state under servers that support it

    return lifespan


async def get_bigin(request: Request) -> BiginClient:
    """The process's client (a coroutine, so FastAPI needs no worker thread to call it)."""
    client = getattr(request.state, STATE_KEY, None) or getattr(request.app.state, STATE_KEY, None)
    if not isinstance(client, BiginClient):
        raise RuntimeError(
            "no BiginClient on this app: create it with FastAPI(lifespan=bigin_lifespan(...)), open one with "
            "open_bigin() in your lifespan, or override get_bigin in app.dependency_overrides (tests)"
        )
    return client


BiginDep = Annotated[BiginClient, Depends(get_bigin)]
"""Annotate a path-operation parameter with this to receive the process's :class:`BiginClient`."""


# -- errors as HTTP answers -------------------------------------------------------------------------

# Zoho's codes for "this field's value was refused": the caller's data, so a 422 like FastAPI's own.
_FIELD_ERROR_CODES = frozenset({"INVALID_DATA", "MANDATORY_NOT_FOUND", "MULTIPLE_OR_MULTI_ERRORS"})

# A bulk write's refused records listed in a 422 (the counts by code cover them all).
_BULK_ENTRIES = 100

# Fixed texts for the errors that are the service's or Bigin's, not the caller's: the SDK's own
# message (URLs, settings) stays in the service's log.
_TEXTS = {
    "auth": "Bigin refused this service's credentials",
    "permission": "this service's Bigin credentials do not allow this operation",
    "refresh": "this service may not refresh its Bigin token yet; try again later",
    "server": "Bigin failed to answer this request",
    "unavailable": "Bigin is unavailable; try again later",
    "timeout": "Bigin did not answer in time",
    "connection": "this service could not reach Bigin",
    "coordination": "this service cannot share its Bigin limits right now; try again later",
    "job": "the Bigin bulk job failed",
    "ambiguous": (
        "the write was sent to Bigin but its answer was lost: it may have been applied; "
        "check before sending it again"
    ),
    "internal": "Internal Server Error",
}


# The longest ``Retry-After`` sent: the daily credits come back within a day, and a client that
# reads a longer wait (1e300 s from a confused proxy) would never come back at all.
_MAX_RETRY_AFTER = 86_400


def _seconds(value: float | None) -> int | None:
    """A wait as whole seconds, rounded up, from 1 to a day (``Retry-After`` takes integers).

    0.2 s must not read 0, nor may 0 s or a negative wait: ``Retry-After: 0`` asks the client to
    come back at once, in a loop, while Bigin still refuses.
    """
    if value is None or not math.isfinite(value):
        return None
    return max(1, math.ceil(min(value, _MAX_RETRY_AFTER)))


def _public_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Zoho's ``details`` as a caller may see them: its flat values (``api_name``, ``json_path``,
    ``expected_data_type``, ``maximum_length``, ``id``, lists of allowed values...).

    Nested objects are left out: ``DUPLICATE_DATA``'s ``duplicate_record`` names the clashing
    record's owner (a user of the org, with an email), which is not the caller's to read.
    """

    def flat(value: Any) -> bool:
        return value is None or isinstance(value, (str, int, float, bool))

    return {
        str(key): value
        for key, value in details.items()
        if flat(value) or (isinstance(value, list) and all(flat(item) for item in value))
    }


_JSON_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_DATA_ROW = re.compile(r"^\$\.data\[\d+\]")


def _field_loc(details: Mapping[str, Any]) -> list[Any]:
    """Where in a record Zoho's field error is, as FastAPI's ``loc`` after ``body`` (and the index).

    From ``json_path`` when Zoho gives one (``$.data[0].Product_Details[1].Quantity`` is
    ``["Product_Details", 1, "Quantity"]``: a subform's row, not a top-level field), its
    ``$.data[n]`` left out (the record's place in its call); else from ``api_name``.
    """
    path = details.get("json_path")
    if isinstance(path, str) and path.startswith("$"):
        rest = _DATA_ROW.sub("", path)
        parts: list[Any] = []
        position = 1 if rest.startswith("$") else 0
        for match in _JSON_PATH_PART.finditer(rest, position):
            if match.start() != position:  # not a path this reads: fall back on api_name
                parts = []
                break
            parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
            position = match.end()
        if parts and position == len(rest):
            return parts
    if "param" in details:  # a parameter of the service's call to Bigin (criteria...): no place of ours
        return []
    field = details.get("api_name")
    return [str(field)] if field else []


def _field_entry(exc: APIError) -> dict[str, Any]:
    """One entry of a FastAPI-style validation list for a field Zoho refused."""
    where = _field_loc(exc.details)
    return {
        "type": exc.code or "INVALID_DATA",
        "loc": ["body", *where] if where else [],
        "msg": exc.message,
        "ctx": _public_details(exc.details),  # Zoho's: api_name, expected_data_type, maximum_length...
    }


class _Answer:
    """What one error becomes: status, JSON body, headers."""

    def __init__(
        self, status: int, exc: BaseException, detail: Any, *, code: str | None = None, **extra: Any
    ) -> None:
        self.status = status
        self.headers: dict[str, str] = {}
        self.body: dict[str, Any] = {"detail": detail, "code": code, "error": type(exc).__name__, **extra}

    def retry_after(self, seconds: float | None) -> _Answer:
        whole = _seconds(seconds)
        if whole is not None:
            self.headers["Retry-After"] = str(whole)
            self.body["retry_after"] = whole
        return self


def _answer(exc: BiginError) -> _Answer:
    """The HTTP answer for ``exc``; the order matters: subclasses before their bases."""
    code = exc.code if isinstance(exc, APIError) else None
    # Incoming notifications (bigin_async.webhooks): the sender is the caller.
    if isinstance(exc, NotificationTokenError):
        return _Answer(401, exc, "unknown sender")
    if isinstance(exc, InvalidNotificationError):
        return _Answer(400, exc, str(exc))
    # Input the SDK refused before sending: the caller's data.
    if isinstance(exc, FileTooLargeError):
        return _Answer(413, exc, str(exc), filename=exc.filename, size=exc.size, limit=exc.limit)
    if isinstance(exc, ValidationError):
        return _Answer(422, exc, [{"type": "value_error", "loc": [], "msg": str(exc)}])
    # Limits: the caller may come back later.
    if isinstance(exc, BudgetExhaustedError):
        return _Answer(429, exc, "this service's daily Bigin credits are spent").retry_after(exc.resets_in)
    if isinstance(exc, RateLimitError):
        return _Answer(429, exc, "too many requests to Bigin", code=code).retry_after(exc.retry_after)
    # This service's own credentials: never the caller's fault, never shown.
    if isinstance(exc, RefreshBlockedError):
        return _Answer(503, exc, _TEXTS["refresh"], code=code).retry_after(exc.retry_after)
    if isinstance(exc, AuthenticationError):
        return _Answer(502, exc, _TEXTS["auth"], code=code)
    if isinstance(exc, PermissionDeniedError):
        return _Answer(502, exc, _TEXTS["permission"], code=code)
    if isinstance(exc, NotFoundError):
        if code == "INVALID_URL_PATTERN":  # Bigin has no such URL: an endpoint built wrong here
            return _Answer(500, exc, _TEXTS["internal"], code=code)
        return _Answer(404, exc, exc.message, code=code, **_details(exc))
    if isinstance(exc, BooksOrganizationError):  # this service's Books setting, not the caller's data
        return _Answer(500, exc, _TEXTS["internal"], code=code)
    if isinstance(exc, DuplicateRecordError):
        return _Answer(409, exc, exc.message, code=code, id=exc.existing_id, **_details(exc))
    if isinstance(exc, BooksDuplicateError):  # Books names are unique; Books gives no id
        return _Answer(409, exc, exc.message, code=code, **_details(exc))
    if isinstance(exc, (InvalidRequestError, RecordError)):
        if (
            isinstance(exc, (RecordError, BooksValidationError))
            or code in _FIELD_ERROR_CODES
            or "api_name" in exc.details
        ):
            return _Answer(422, exc, [_field_entry(exc)], code=code)
        return _Answer(500, exc, _TEXTS["internal"], code=code)  # INVALID_MODULE, INVALID_QUERY: a bug here
    if isinstance(exc, ServerError):
        if exc.status_code == 503:
            return _Answer(503, exc, _TEXTS["unavailable"], code=code).retry_after(
                parse_retry_after(exc.headers)
            )
        return _Answer(502, exc, _TEXTS["server"], code=code, upstream_status=exc.status_code)
    # Writes whose fate is unknown: say so, whatever else went wrong.
    if isinstance(exc, AmbiguousUploadError):
        return _Answer(
            502,
            exc,
            _TEXTS["ambiguous"],
            write_may_have_happened=True,
            unknown_records=len(exc.records),
            uploaded=len(exc.uploaded),
            not_sent=len(exc.not_sent),
        )
    if isinstance(exc, AmbiguousWriteError):
        return _Answer(
            502, exc, _TEXTS["ambiguous"], write_may_have_happened=True, unknown_records=len(exc.records)
        )
    if isinstance(exc, BiginTimeoutError):
        return _Answer(504, exc, _TEXTS["timeout"])
    if isinstance(exc, BiginConnectionError):
        return _Answer(502, exc, _TEXTS["connection"])
    if isinstance(exc, CoordinationError):
        return _Answer(503, exc, _TEXTS["coordination"])
    if isinstance(exc, BulkWriteError):
        return _bulk_answer(exc)
    if isinstance(exc, BulkJobFailedError):
        return _Answer(502, exc, _TEXTS["job"], job_id=exc.job_id, state=exc.state)
    if isinstance(exc, BulkJobError):
        return _Answer(500, exc, _TEXTS["internal"], job_id=exc.job_id, state=exc.state)
    # ConfigurationError, JournalError, PaginationLimitError, a bare APIError, a class added later.
    return _Answer(500, exc, _TEXTS["internal"], code=code)


def _details(exc: APIError) -> dict[str, Any]:
    details = _public_details(exc.details)
    return {"details": details} if details else {}


def _bulk_answer(exc: BulkWriteError) -> _Answer:
    """A bulk write that did not all succeed: the counts, and the status of what went wrong."""
    summary = exc.result.summary()
    cause = exc.__cause__
    if (
        isinstance(exc, BulkAbortedError)
        and isinstance(cause, BiginError)
        and not isinstance(cause, BulkWriteError)
    ):
        answer = _answer(cause)  # stopped by a revoked token, a spent budget...: that error's status
        answer.body["error"] = type(exc).__name__
        answer.body["summary"] = summary
    elif summary["unknown"]:
        answer = _Answer(502, exc, _TEXTS["ambiguous"], write_may_have_happened=True, summary=summary)
    else:
        codes: dict[str, int] = {}
        entries: list[dict[str, Any]] = []
        for outcome in exc.result.failed:
            code = outcome.code or "UNKNOWN"
            codes[code] = codes.get(code, 0) + 1
            if len(entries) < _BULK_ENTRIES:
                where = ["body", outcome.index, *_field_loc(outcome.details)]
                entries.append(
                    {
                        "type": code,
                        "loc": where,
                        "msg": outcome.message or code,
                        "ctx": _public_details(outcome.details),
                    }
                )
        if not entries:  # outcomes not kept (keep_outcomes=False): the counts say it all
            entries.append({"type": "bulk_refused", "loc": [], "msg": f"{summary['failed']} records refused"})
        answer = _Answer(422, exc, entries, summary=summary, failures=codes)
    if summary["unknown"]:
        answer.body["write_may_have_happened"] = True
    return answer


def _single_bigin_error(exc: BaseException) -> BiginError | None:
    """The one SDK error in ``exc``: itself, or the only error of an exception group (nested too).

    A route that fans out with a task group (``anyio.create_task_group()``, ``asyncio.TaskGroup``)
    gets its errors wrapped in an ``ExceptionGroup``: one bad email there is still a 422. A group of
    several errors has no single answer and is left alone.
    """
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, BiginError) else None


def _log(
    level: int,
    message: str,
    *args: object,
    exc: BaseException | None = None,
    extra: Mapping[str, object] | None = None,
) -> None:
    """Log on the ``bigin_async`` logger, with the traceback of ``exc`` if given.

    The traceback holds the texts of every chained cause (httpx's "for url '...?token=...'"): the
    SDK's redacting filter on that logger writes it out redacted for every handler (see
    :class:`bigin_async._redact.RedactingFilter`), so nothing is scrubbed here.
    """
    if not logger.isEnabledFor(level):
        return
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logger.makeRecord(
        logger.name, level, __file__, 0, message, args, exc_info, "bigin_exception_handler", dict(extra or {})
    )
    logger.handle(record)


def _close_code(status: int) -> int:
    """The WebSocket close code for an HTTP status: 1013 try again later, 1011 our trouble, else 1008."""
    if status in (429, 503):
        return 1013
    return 1011 if status >= 500 else 1008


def _close_reason(detail: Any) -> str:
    """A close frame's reason (at most 123 bytes of UTF-8): the text, or a 422's first message."""
    if isinstance(detail, list) and detail and isinstance(detail[0], Mapping):
        detail = detail[0].get("msg", "")
    return str(detail).encode()[:123].decode("utf-8", "ignore")


@overload
async def bigin_exception_handler(request: Request, exc: Exception) -> Response: ...
@overload
async def bigin_exception_handler(request: WebSocket, exc: Exception) -> Response | None: ...


async def bigin_exception_handler(request: Request | WebSocket, exc: Exception) -> Response | None:
    """The exception handler :func:`add_bigin_exception_handlers` registers, for composing your own.

    Call it from a handler of yours (after your own logging, say) to get the same answer::

        @app.exception_handler(BiginError)
        async def on_bigin_error(request: Request, exc: BiginError) -> Response:
            metrics.count(type(exc).__name__)
            return await bigin_exception_handler(request, exc)

    An exception group holding one SDK error (a task group's) answers as that error. Anything else
    that is not a :class:`~bigin_async.BiginError` is raised again untouched.

    In a WebSocket route (Starlette hands the handler the ``WebSocket``) the socket is closed with
    1008 for the caller's errors, 1011 for the service's trouble with Bigin, 1013 for "try again
    later", the ``detail`` as the reason; before ``accept()`` a server that can send a refusal
    (the ASGI ``websocket.http.response`` extension) sends the JSON answer instead. ``None`` is
    returned then: nothing is left for Starlette to send.
    """
    error = _single_bigin_error(exc)
    if error is None:
        raise exc
    answer = _answer(error)
    if answer.status >= 500:
        # The caller sees a fixed text; the service's log gets the SDK's (redacted) message.
        method = request.scope.get("method", "WEBSOCKET")
        where = f"{method} {request.url.path}"
        fields = {
            "bigin_event": "error_answered",
            "bigin_status": answer.status,
            "bigin_error": type(error).__name__,
            "bigin_code": getattr(error, "code", None),
            "bigin_method": method,
        }
        if answer.status == 500:
            _log(logging.ERROR, "%s answered 500: %s", where, error, exc=error, extra=fields)
        else:
            _log(logging.WARNING, "%s answered %d: %s", where, answer.status, error, extra=fields)
    response = JSONResponse(jsonable_encoder(answer.body), status_code=answer.status, headers=answer.headers)
    if not isinstance(request, WebSocket):
        return response
    websocket = request
    if websocket.application_state == WebSocketState.CONNECTING:
        if "websocket.http.response" in request.scope.get("extensions", {}):
            return response  # the handshake refused with the HTTP answer, which Starlette sends
    if websocket.application_state != WebSocketState.DISCONNECTED:
        await websocket.close(code=_close_code(answer.status), reason=_close_reason(answer.body["detail"]))
    return None


def _lookup(handlers: Mapping[Any, Any], exc: BaseException) -> ExceptionHandler | None:
    """The app's handler for ``exc``, found as Starlette finds it: along the class's MRO."""
    for cls in type(exc).__mro__:
        if cls in handlers:
            return cast(ExceptionHandler, handlers[cls])
    return None


def add_bigin_exception_handlers(app: _App) -> _App:
    """Answer the SDK's errors a path operation lets through with the HTTP status they mean.

    Without it FastAPI answers every :class:`~bigin_async.BiginError` with a bare 500; with it a
    contact with a bad email is a 422 naming the field, a missing id a 404, a clash on a unique
    field a 409 with the existing record's id. Only ``BiginError`` is handled, and an exception
    group holding just one (a route that fans out with a task group): every other exception
    reaches FastAPI's own handling (and your handlers) as before. A handler the app has already
    for ``BiginError`` (or ``ExceptionGroup``) is kept, and the app's handlers for a subclass
    (``NotFoundError``, say) answer before this one, as FastAPI picks handlers by class. Works on
    a Starlette app too; an ``APIRouter`` has no handlers (a ``TypeError`` says so). Returns ``app``.

    Every body is JSON shaped like FastAPI's own: ``detail`` is what FastAPI puts there (a text,
    or for a 422 the list of errors that FastAPI's request validation gives), and next to it
    ``code`` (Zoho's code, ``null`` for errors the SDK raised itself) and ``error`` (the SDK's
    class name). A 422 for a field Bigin refused::

        {"detail": [{"type": "INVALID_DATA", "loc": ["body", "Email"], "msg": "invalid data",
                     "ctx": {"api_name": "Email", "expected_data_type": "email"}}],
         "code": "INVALID_DATA", "error": "InvalidRequestError"}

    ``loc`` names Bigin's field (its API name): the body's field when your model uses Bigin's
    names, down a subform's rows when Zoho's ``json_path`` says so (``["body", "Product_Details",
    1, "Quantity"]``; a bulk write's entries add the record's index: ``["body", 103, "Email"]``),
    ``[]`` for a parameter of the call to Bigin (``details.param``, a criteria). ``ctx`` holds
    Zoho's ``details``, its flat values only: nested ones such as ``DUPLICATE_DATA``'s
    ``duplicate_record`` (its owner's name and email) are the org's, not the caller's.

    | SDK error | status | body, headers |
    |---|---|---|
    | `ValidationError`, `InvalidCriteriaError` (refused before sending) | 422 | `detail` list, `loc` `[]` |
    | `FileTooLargeError` | 413 | `filename`, `size`, `limit` |
    | a field refused: `INVALID_DATA`..., `RecordError`, `BooksValidationError` | 422 | `detail` list, `ctx` |
    | `InvalidModuleError`, other `InvalidRequestError` (`INVALID_QUERY`...): a bug here | 500 | `code` |
    | `NotFoundError` with `INVALID_URL_PATTERN` (no such Bigin URL): a bug here | 500 | `code` |
    | `NotFoundError`, `BooksNotFoundError` | 404 | `details` when Zoho gave some |
    | `DuplicateRecordError` (`DUPLICATE_DATA`) | 409 | `id` of the existing record, `details` |
    | `BooksDuplicateError` | 409 | `details` |
    | `RateLimitError`, `BudgetExhaustedError` (the daily credits) | 429 | `Retry-After` when known (below) |
    | `AuthenticationError`, `PermissionDeniedError` (and their Books twins) | 502 | fixed text, `code` |
    | `RefreshBlockedError` (token refreshes used up for now) | 503 | `Retry-After` |
    | `ServerError` (Zoho's 5xx) | 502 | `upstream_status` |
    | `ServerError` with HTTP 503 | 503 | `Retry-After` when Zoho gave one |
    | `BiginTimeoutError` (a timeout, or the deadline) | 504 | |
    | `BiginConnectionError` | 502 | |
    | `AmbiguousWriteError`, `AmbiguousUploadError` | 502 | `write_may_have_happened: true`, counts |
    | `CoordinationError` (Redis unreachable) | 503 | |
    | `BulkWriteError`: records refused / some fates unknown | 422 / 502 | `summary`, `failures` |
    | `BulkAbortedError` | its cause's | `summary` |
    | `BulkJobFailedError` / `BulkJobError` | 502 / 500 | `job_id`, `state` |
    | `InvalidNotificationError` / `NotificationTokenError` | 400 / 401 | |
    | `ConfigurationError`, `JournalError`, `BooksOrganizationError`, any other | 500 | `code` |

    The 502s, 503s and 504s are this service's trouble with Bigin, not the caller's: their
    ``detail`` is a fixed text (no URL, no setting, never a token or secret) and the SDK's own
    message goes to the ``bigin_async`` logger (a warning; an error with the traceback for 500,
    redacted like the message). ``Retry-After`` (and the body's ``retry_after``) is whole
    seconds, rounded up, from 1 to 86400: never 0, which would ask the client to come straight
    back. In a WebSocket route the socket is closed instead (see :func:`bigin_exception_handler`).
    """
    if not isinstance(app, Starlette):
        raise TypeError(
            f"add_bigin_exception_handlers takes the FastAPI app, not a {type(app).__name__}: exception "
            "handlers belong to the app (an APIRouter has none); call it on the FastAPI app the router "
            "is included in"
        )
    handlers = app.exception_handlers

    async def on_group(request: Request, exc: Exception) -> Response | None:
        # The group's one SDK error goes to the handler the app has for it (its own for a
        # subclass wins, as for the error alone); any other group goes on to FastAPI's 500.
        error = _single_bigin_error(exc)
        handler = _lookup(handlers, error) if error is not None else None
        if error is None or handler is None:
            raise exc
        call = cast(Callable[[Request, Exception], Any], handler)
        if inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__):
            response = await call(request, error)
        else:
            response = await run_in_threadpool(call, request, error)
        error.__traceback__ = None  # as Starlette does: a reused exception must not pile up frames
        return cast(Union[Response, None], response)

    # setdefault: a handler the app registered already (its own BiginError handler) is kept.
    handlers.setdefault(BiginError, bigin_exception_handler)
    handlers.setdefault(ExceptionGroup, on_group)
    return app
