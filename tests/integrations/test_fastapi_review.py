"""Review of ``add_bigin_exception_handlers``: the cases a demanding FastAPI user meets first.

Each test names the defect it caught: SDK errors raised inside a task group (an ExceptionGroup),
in a WebSocket route, ``Retry-After`` values a client cannot use, Zoho's nested ``details`` (a
duplicate's owner, a subform's path) in the body, a token in a logged traceback, handlers of the
app's own replaced, and a router passed where the app belongs.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from fastapi import APIRouter, FastAPI, WebSocket
from fastapi.responses import JSONResponse, Response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from bigin_async import (
    BiginError,
    BudgetExhaustedError,
    BulkWriteError,
    ConfigurationError,
    DuplicateRecordError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RefreshBlockedError,
    ServerError,
)
from bigin_async.bulk.results import BulkResult, RecordOutcome
from bigin_async.integrations.fastapi import add_bigin_exception_handlers, bigin_exception_handler

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

REFRESH = "1000.r1refreshtoken0123456789abcdef.0123456789abcdef0123"
SECRET = "r1-client-secret-0123456789abcdef"


def not_found() -> NotFoundError:
    return NotFoundError("no Contacts record with id 1", status_code=204, code="RECORD_NOT_FOUND")


@asynccontextmanager
async def http_to(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
        yield http


def raising_app(make: Callable[[], BaseException]) -> FastAPI:
    app = add_bigin_exception_handlers(FastAPI())

    @app.get("/raise")
    async def raise_it() -> None:
        raise make()

    return app


# -- exception groups -------------------------------------------------------------------------------


def task_group_app(*makes: Callable[[], Exception]) -> FastAPI:
    app = add_bigin_exception_handlers(FastAPI())

    @app.get("/fan-out")
    async def fan_out() -> None:
        async def fail(make: Callable[[], Exception]) -> None:
            raise make()

        async with anyio.create_task_group() as tg:
            for make in makes:
                tg.start_soon(fail, make)

    @app.get("/nested")
    async def nested() -> None:
        raise ExceptionGroup("outer", [ExceptionGroup("inner", [make() for make in makes])])

    return app


async def test_a_bigin_error_raised_in_a_task_group_is_mapped() -> None:
    """Defect: a route that fans out with an anyio task group gets its BiginError wrapped in an
    ExceptionGroup, which the handler (registered for BiginError only) never saw: a missing record
    was a 500, not a 404. One SDK error in the group (nested groups too) answers as it would alone."""
    async with http_to(task_group_app(not_found)) as http:
        fanned = await http.get("/fan-out")
        nested = await http.get("/nested")
    for answer in (fanned, nested):
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "RECORD_NOT_FOUND"
        assert answer.json()["error"] == "NotFoundError"


async def test_a_group_of_several_errors_is_left_to_the_app() -> None:
    """Not a defect, the other side of the unwrapping: a group of two errors (or one that is not
    the SDK's) has no single answer, so it reaches FastAPI's own 500 untouched."""
    two = task_group_app(not_found, lambda: ServerError("down", status_code=500))
    foreign = task_group_app(lambda: KeyError("mine"))
    async with http_to(two) as http:
        assert (await http.get("/nested")).status_code == 500
    async with http_to(foreign) as http:
        assert (await http.get("/nested")).status_code == 500


async def test_the_apps_own_subclass_handler_still_wins_inside_a_group() -> None:
    """Defect guard for the unwrapping: an app's handler for a subclass (here NotFoundError) must
    answer a group holding that error, as it answers the error alone (FastAPI resolves by MRO)."""
    app = task_group_app(not_found)

    async def mine(request: Request, exc: Exception) -> Response:
        return JSONResponse({"mine": True}, status_code=410)

    app.add_exception_handler(NotFoundError, mine)
    async with http_to(app) as http:
        assert (await http.get("/nested")).json() == {"mine": True}
        assert (await http.get("/fan-out")).status_code == 410


async def test_the_handler_called_directly_unwraps_a_single_error_group() -> None:
    """Defect: ``bigin_exception_handler`` (for composing your own handler) re-raised a group
    holding one SDK error instead of answering it."""
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""})
    answer = await bigin_exception_handler(request, ExceptionGroup("g", [not_found()]))
    assert answer is not None and answer.status_code == 404


# -- WebSocket routes -------------------------------------------------------------------------------


async def websocket_messages(
    app: FastAPI, path: str, *, extensions: dict[str, Any] | None = None
) -> list[Any]:
    """What the app sends to a client that connects to ``path`` and then only waits."""
    sent: list[Any] = []
    connected = False

    async def receive() -> dict[str, Any]:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "server": ("app.test", 80),
        "client": ("127.0.0.1", 5000),
        "subprotocols": [],
        "extensions": extensions or {},
    }
    await app(scope, receive, send)
    return sent


def websocket_app() -> FastAPI:
    app = add_bigin_exception_handlers(FastAPI())

    @app.websocket("/server-error")
    async def server_error(websocket: WebSocket) -> None:
        await websocket.accept()
        raise ServerError("Zoho failed", status_code=500, code="INTERNAL_ERROR")

    @app.websocket("/not-found")
    async def missing(websocket: WebSocket) -> None:
        await websocket.accept()
        raise not_found()

    @app.websocket("/before-accept")
    async def before_accept(websocket: WebSocket) -> None:
        raise not_found()

    return app


async def test_a_bigin_error_in_a_websocket_route_closes_the_socket() -> None:
    """Defect: in a WebSocket route the handler read ``request.method`` (a WebSocket has none) and
    crashed with AttributeError for every 5xx; for a 4xx it sent an HTTP response on a socket
    already accepted, which the ASGI spec forbids. Now the socket is closed with a WebSocket code:
    1011 for the service's trouble with Bigin, 1008 for the caller's."""
    app = websocket_app()
    server_error = await websocket_messages(app, "/server-error")
    missing = await websocket_messages(app, "/not-found")
    assert [m["type"] for m in server_error] == ["websocket.accept", "websocket.close"]
    assert server_error[-1]["code"] == 1011
    assert "zohoapis" not in server_error[-1].get("reason", "")
    assert [m["type"] for m in missing] == ["websocket.accept", "websocket.close"]
    assert missing[-1]["code"] == 1008
    assert len(missing[-1]["reason"].encode()) <= 123  # the most a close frame carries


async def test_a_bigin_error_before_accept_uses_the_denial_response_when_the_server_has_it() -> None:
    """Defect: before ``accept()`` the handler always sent an HTTP answer, which a server without
    the ASGI ``websocket.http.response`` extension cannot send; with the extension the client
    gets the JSON 404, without it the handshake is refused with a close."""
    app = websocket_app()
    plain = await websocket_messages(app, "/before-accept")
    denial = await websocket_messages(app, "/before-accept", extensions={"websocket.http.response": {}})
    assert [m["type"] for m in plain] == ["websocket.close"]
    assert denial[0]["type"] == "websocket.http.response.start" and denial[0]["status"] == 404
    assert json.loads(denial[1]["body"])["code"] == "RECORD_NOT_FOUND"


# -- Retry-After --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: RateLimitError("slow", retry_after=0.0, status_code=429), "1"),
        (lambda: RateLimitError("slow", retry_after=-3.0, status_code=429), "1"),
        (lambda: RateLimitError("slow", retry_after=1e-9, status_code=429), "1"),
        (lambda: RateLimitError("slow", retry_after=1e300, status_code=429), "86400"),
        (lambda: BudgetExhaustedError("spent", remaining=0, resets_in=0.0), "1"),
        (lambda: BudgetExhaustedError("spent", remaining=0, resets_in=float(10**12)), "86400"),
        (
            lambda: RefreshBlockedError("blocked", retry_at=0.0, retry_after=-1.0, status_code=400),
            "1",
        ),
    ],
    ids=["zero", "negative", "tiny", "huge", "budget zero", "budget huge", "refresh negative"],
)
async def test_retry_after_is_a_usable_whole_number_of_seconds(
    make: Callable[[], BiginError], expected: str
) -> None:
    """Defect: ``Retry-After`` was ``0`` for a wait of 0 s or less (an invitation to retry at once,
    in a loop) and a 301-digit number for a huge one (1e300 s). Now at least 1 and at most a day,
    the header and the body's ``retry_after`` alike."""
    async with http_to(raising_app(make)) as http:
        answer = await http.get("/raise")
    assert answer.headers["retry-after"] == expected
    assert answer.json()["retry_after"] == int(expected)


@pytest.mark.parametrize("wait", [float("nan"), float("inf"), None])
async def test_retry_after_is_absent_when_the_wait_is_unknown(wait: float | None) -> None:
    """Not a defect (a guard): no header when the wait is not a finite number."""
    async with http_to(
        raising_app(lambda: RateLimitError("slow", retry_after=wait, status_code=429))
    ) as http:
        answer = await http.get("/raise")
    assert answer.status_code == 429
    assert "retry-after" not in answer.headers and "retry_after" not in answer.json()


# -- Zoho's details in 4xx bodies ---------------------------------------------------------------------

# DUPLICATE_DATA as Zoho's newer APIs send it: the clashing record, with its owner (a user of the org).
DUPLICATE_DETAILS = {
    "api_name": "Email",
    "json_path": "$.data[0].Email",
    "duplicate_record": {
        "id": "4876876000000333",
        "module": {"api_name": "Contacts", "id": "4876876000000002175"},
        "Owner": {"name": "Patricia Boyle", "id": "4876876000000225013", "email": "patricia@org.example"},
    },
}


async def test_a_duplicates_owner_never_reaches_the_callers_body() -> None:
    """Defect: the 409 copied Zoho's ``details`` whole: with ``duplicate_record`` that is the
    owner's name and email (personal data of the org's users) sent to any API caller. And the
    existing record's ``id`` was null when Zoho gives it inside ``duplicate_record``."""
    error = DuplicateRecordError(
        "duplicate data", status_code=400, code="DUPLICATE_DATA", details=DUPLICATE_DETAILS
    )
    async with http_to(raising_app(lambda: error)) as http:
        answer = await http.get("/raise")
    assert answer.status_code == 409
    assert "Patricia" not in answer.text and "patricia@org.example" not in answer.text
    assert answer.json()["id"] == "4876876000000333"
    assert answer.json()["details"]["api_name"] == "Email"


async def test_a_bulk_duplicates_owner_never_reaches_the_callers_body() -> None:
    """Defect: the bulk 422's per-record ``ctx`` copied Zoho's details whole, owners included."""
    result = BulkResult()
    result.record(RecordOutcome(index=0, status="error", code="DUPLICATE_DATA", details=DUPLICATE_DETAILS))
    async with http_to(raising_app(lambda: BulkWriteError("1 failed", result))) as http:
        answer = await http.get("/raise")
    assert answer.status_code == 422
    assert "Patricia" not in answer.text and "patricia@org.example" not in answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", 0, "Email"]


async def test_loc_follows_zohos_json_path_into_a_subform() -> None:
    """Defect: ``loc`` was ``["body", api_name]`` whatever Zoho's ``json_path`` said, so a refused
    field of a subform's second row read as a top-level field of that name. FastAPI's own ``loc``
    walks the path: ``["body", "Product_Details", 1, "Quantity"]``."""
    details = {"api_name": "Quantity", "json_path": "$.data[0].Product_Details[1].Quantity"}
    error = InvalidRequestError("invalid data", status_code=400, code="INVALID_DATA", details=details)
    async with http_to(raising_app(lambda: error)) as http:
        answer = await http.get("/raise")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "Product_Details", 1, "Quantity"]


async def test_a_bulk_entrys_loc_follows_json_path_with_the_records_own_index() -> None:
    """Defect: a bulk entry's ``loc`` dropped the subform part of ``json_path`` (its ``data[n]`` is
    the record's place in its batch of 100; ``loc`` keeps the record's index in the whole input)."""
    result = BulkResult()
    details = {"api_name": "Quantity", "json_path": "$.data[3].Product_Details[0].Quantity"}
    result.record(RecordOutcome(index=103, status="error", code="INVALID_DATA", details=details))
    async with http_to(raising_app(lambda: BulkWriteError("1 failed", result))) as http:
        answer = await http.get("/raise")
    assert answer.json()["detail"][0]["loc"] == ["body", 103, "Product_Details", 0, "Quantity"]


async def test_a_bulk_body_stays_small_for_100000_failures() -> None:
    """Not a defect (a guard): 100,000 refused records give a body of at most 100 entries."""
    result = BulkResult()
    for index in range(100_000):
        result.record(
            RecordOutcome(index=index, status="error", code="INVALID_DATA", details={"api_name": "Email"})
        )
    async with http_to(raising_app(lambda: BulkWriteError("refused", result))) as http:
        answer = await http.get("/raise")
    assert answer.status_code == 422
    assert len(answer.json()["detail"]) == 100 and answer.json()["failures"] == {"INVALID_DATA": 100_000}
    assert len(answer.content) < 50_000


# -- what the service's log gets ----------------------------------------------------------------------


async def test_a_500s_logged_traceback_holds_no_token(caplog: pytest.LogCaptureFixture) -> None:
    """Defect: a 500 was logged with ``exc_info``, and the traceback (the chained causes' texts,
    e.g. httpx's "for url '...?refresh_token=...'") reached the log unredacted: the SDK's
    RedactingFilter cleans the message only."""

    def chained() -> ConfigurationError:
        cause = ValueError(
            "Client error '400 Bad Request' for url "
            f"'https://accounts.zoho.com/oauth/v2/token?refresh_token={REFRESH}&client_secret={SECRET}'"
        )
        try:
            raise ConfigurationError("the client could not be built") from cause
        except ConfigurationError as error:
            return error

    caplog.set_level(logging.ERROR, logger="bigin_async")
    async with http_to(raising_app(chained)) as http:
        answer = await http.get("/raise")
    assert answer.status_code == 500
    (record,) = [r for r in caplog.records if "answered 500" in r.getMessage()]
    assert "ConfigurationError" in caplog.text and "Traceback" in caplog.text  # the traceback is kept
    assert REFRESH not in caplog.text and SECRET not in caplog.text
    assert record.exc_info is not None  # error trackers still get the exception itself


# -- registration --------------------------------------------------------------------------------------


async def test_an_apps_own_bigin_error_handler_registered_first_is_kept() -> None:
    """Defect: ``add_bigin_exception_handlers`` silently replaced a ``BiginError`` handler the app
    had already (``FastAPI(exception_handlers={BiginError: mine})``, or the composing pattern of
    ``bigin_exception_handler``'s docstring): the app's own stays, ours fills only the gaps."""

    async def mine(request: Request, exc: Exception) -> Response:
        return JSONResponse({"mine": True}, status_code=418)

    app = add_bigin_exception_handlers(FastAPI(exception_handlers={BiginError: mine}))

    @app.get("/raise")
    async def raise_it() -> None:
        raise not_found()

    add_bigin_exception_handlers(app)  # twice: still the app's
    async with http_to(app) as http:
        assert (await http.get("/raise")).status_code == 418


async def test_a_plain_starlette_app_is_served_too() -> None:
    """Not a defect (a guard): the handlers work on a Starlette app as well."""

    async def raise_it(request: Request) -> Response:
        raise not_found()

    app = add_bigin_exception_handlers(Starlette(routes=[Route("/raise", raise_it)]))
    async with http_to(app) as http:
        assert (await http.get("/raise")).status_code == 404


def test_a_router_is_refused_with_a_message_saying_where_handlers_go() -> None:
    """Defect: passing an APIRouter (which has no exception handlers in FastAPI) failed with
    ``AttributeError: 'APIRouter' object has no attribute 'add_exception_handler'``."""
    with pytest.raises(TypeError, match="FastAPI app"):
        add_bigin_exception_handlers(APIRouter())  # type: ignore[type-var]


async def test_a_sync_handler_of_the_app_answers_a_group_once() -> None:
    """Defect guard for the unwrapping: an app's plain (not async) handler for the group's error is
    run once, in a worker thread as Starlette runs it, and its answer sent."""
    app = task_group_app(not_found)
    calls: list[str] = []

    def mine(request: Request, exc: Exception) -> Response:
        calls.append(type(exc).__name__)
        return JSONResponse({"mine": True}, status_code=410)

    app.add_exception_handler(NotFoundError, mine)
    async with http_to(app) as http:
        answer = await http.get("/nested")
    assert (answer.status_code, calls) == (410, ["NotFoundError"])


async def test_an_unknown_bigin_url_is_the_services_bug_not_a_404() -> None:
    """Defect: ``INVALID_URL_PATTERN`` (Bigin has no such URL: an endpoint the service built wrong)
    answered 404, telling the caller the thing asked for does not exist; like ``INVALID_MODULE``
    it is a 500, Zoho's text kept for the log."""
    error = NotFoundError(
        "Please check if the URL trying to access is a correct one",
        status_code=404,
        code="INVALID_URL_PATTERN",
    )
    async with http_to(raising_app(lambda: error)) as http:
        answer = await http.get("/raise")
    assert answer.status_code == 500
    assert answer.json()["code"] == "INVALID_URL_PATTERN" and "check if the URL" not in answer.text


async def test_a_refused_query_parameter_is_not_located_in_the_body() -> None:
    """Defect: Zoho's ``INVALID_DATA`` for a query parameter (``details.param``: a criteria naming a
    field the module lacks) got ``loc: ["body", "Emial"]``, pointing a GET's caller at a body it
    never sent. Zoho's parameter is the service's call, not a parameter of the caller's request,
    so ``loc`` is ``[]`` (as for errors the SDK raised itself) and Zoho's names are in ``ctx``."""
    details = {"param": "criteria", "api_name": "Emial"}
    error = InvalidRequestError("invalid data", status_code=400, code="INVALID_DATA", details=details)
    async with http_to(raising_app(lambda: error)) as http:
        answer = await http.get("/raise")
    (entry,) = answer.json()["detail"]
    assert answer.status_code == 422
    assert entry["loc"] == [] and entry["ctx"] == details


async def test_composing_a_handler_of_ones_own_as_the_docstring_shows() -> None:
    """Guard of the composing pattern (a handler typed ``-> Response`` returning
    ``await bigin_exception_handler(request, exc)`` must type-check under ``mypy --strict``: the
    handler's WebSocket case must not widen what an HTTP request gets)."""
    counted: list[str] = []
    app = FastAPI()

    @app.exception_handler(BiginError)
    async def on_bigin_error(request: Request, exc: BiginError) -> Response:
        counted.append(type(exc).__name__)
        return await bigin_exception_handler(request, exc)

    add_bigin_exception_handlers(app)

    @app.get("/raise")
    async def raise_it() -> None:
        raise ExceptionGroup("g", [not_found()])

    async with http_to(app) as http:
        answer = await http.get("/raise")
    assert (answer.status_code, counted) == (404, ["NotFoundError"])
