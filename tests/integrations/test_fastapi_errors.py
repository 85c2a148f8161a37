"""``add_bigin_exception_handlers``: every SDK error a route lets through answers with its HTTP status.

Each error class is raised by a route of a small app and the answer checked (status, headers,
body); then real calls against the emulator (a bad email, a missing id, a duplicate, credentials
refused) go through the same handlers, and no body ever holds a secret of the client's config.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bigin_async import (
    AmbiguousUploadError,
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BiginClient,
    BiginConnectionError,
    BiginError,
    BiginTimeoutError,
    BooksDuplicateError,
    BooksNotFoundError,
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
    InvalidCriteriaError,
    InvalidModuleError,
    InvalidNotificationError,
    InvalidRequestError,
    JournalError,
    NotFoundError,
    NotificationTokenError,
    PaginationLimitError,
    PermissionDeniedError,
    RateLimitError,
    RecordError,
    RecordNotFoundError,
    RefreshBlockedError,
    ServerError,
    ValidationError,
)
from bigin_async.bulk.results import BulkResult, RecordOutcome
from bigin_async.integrations.fastapi import (
    BiginDep,
    add_bigin_exception_handlers,
    bigin_exception_handler,
    get_bigin,
)
from bigin_emulator import BiginEmulator
from tests.helpers.missing import import_without

SECRET = "h3-client-secret-0123456789abcdef"
REFRESH = "1000.h3refreshtoken0123456789abcdef.0123456789abcdef0123"
ACCESS = "1000.h3accesstoken0123456789abcdef.0123456789abcdef0123"
URL = "https://www.zohoapis.com/bigin/v2/Contacts"


def api(
    cls: type[APIError], status: int, code: str | None, details: dict[str, Any] | None = None
) -> APIError:
    return cls(f"{code} said Zoho", status_code=status, code=code, details=details, method="POST", url=URL)


def bulk_result(*statuses: str, code: str = "INVALID_DATA") -> BulkResult:
    result = BulkResult()
    for index, status in enumerate(statuses):
        result.record(
            RecordOutcome(
                index=index,
                status=status,  # type: ignore[arg-type]
                action="insert" if status == "success" else None,
                code=None if status == "success" else code,
            )
        )
    return result


def aborted_by(cause: BiginError) -> BulkAbortedError:
    try:
        raise BulkAbortedError("stopped after 2 records", bulk_result("success", "error")) from cause
    except BulkAbortedError as error:
        return error


# (error, status, body items expected, headers expected)
CASES: list[tuple[str, Callable[[], BiginError], int, dict[str, Any], dict[str, str]]] = [
    (
        "not found",
        lambda: api(NotFoundError, 204, "RECORD_NOT_FOUND"),
        404,
        {"code": "RECORD_NOT_FOUND", "error": "NotFoundError", "detail": "RECORD_NOT_FOUND said Zoho"},
        {},
    ),
    (
        "update or delete of a missing id",
        lambda: api(RecordNotFoundError, 400, "INVALID_DATA", {"id": "1"}),
        404,
        {"code": "INVALID_DATA", "error": "RecordNotFoundError"},
        {},
    ),
    (
        "books not found",
        lambda: api(BooksNotFoundError, 404, "1002"),
        404,
        {"code": "1002"},
        {},
    ),
    (
        "duplicate",
        lambda: api(
            DuplicateRecordError, 400, "DUPLICATE_DATA", {"api_name": "Email", "id": "4876876000000"}
        ),
        409,
        {
            "code": "DUPLICATE_DATA",
            "id": "4876876000000",
            "details": {"api_name": "Email", "id": "4876876000000"},
        },
        {},
    ),
    ("books duplicate", lambda: api(BooksDuplicateError, 400, "3062"), 409, {"code": "3062"}, {}),
    (
        "invalid data",
        lambda: api(
            InvalidRequestError, 400, "INVALID_DATA", {"api_name": "Email", "expected_data_type": "email"}
        ),
        422,
        {
            "code": "INVALID_DATA",
            "detail": [
                {
                    "type": "INVALID_DATA",
                    "loc": ["body", "Email"],
                    "msg": "INVALID_DATA said Zoho",
                    "ctx": {"api_name": "Email", "expected_data_type": "email"},
                }
            ],
        },
        {},
    ),
    (
        "mandatory",
        lambda: api(InvalidRequestError, 400, "MANDATORY_NOT_FOUND", {"api_name": "Last_Name"}),
        422,
        {"code": "MANDATORY_NOT_FOUND"},
        {},
    ),
    (
        "a record refused with a code the SDK does not know",
        lambda: api(RecordError, 201, "NEW_ZOHO_CODE", {"api_name": "Phone", "maximum_length": 30}),
        422,
        {"code": "NEW_ZOHO_CODE"},
        {},
    ),
    ("books validation", lambda: api(BooksValidationError, 400, "4"), 422, {"code": "4"}, {}),
    (
        "invalid module",
        lambda: api(InvalidModuleError, 400, "INVALID_MODULE"),
        500,
        {"code": "INVALID_MODULE"},
        {},
    ),
    (
        "invalid query",
        lambda: api(InvalidRequestError, 400, "INVALID_QUERY"),
        500,
        {"code": "INVALID_QUERY"},
        {},
    ),
    ("books organization", lambda: api(BooksOrganizationError, 400, "6041"), 500, {"code": "6041"}, {}),
    (
        "sdk validation",
        lambda: ValidationError("id must be digits, got 'abc'"),
        422,
        {"code": None, "detail": [{"type": "value_error", "loc": [], "msg": "id must be digits, got 'abc'"}]},
        {},
    ),
    (
        "criteria",
        lambda: InvalidCriteriaError("an empty in list"),
        422,
        {"error": "InvalidCriteriaError"},
        {},
    ),
    (
        "file too large",
        lambda: FileTooLargeError("too big", filename="a.pdf", size=30_000_000, limit=20_971_520),
        413,
        {"filename": "a.pdf", "size": 30_000_000, "limit": 20_971_520},
        {},
    ),
    (
        "rate limit",
        lambda: RateLimitError("slow down", retry_after=2.2, status_code=429, code="TOO_MANY_REQUESTS"),
        429,
        {"code": "TOO_MANY_REQUESTS", "retry_after": 3},
        {"retry-after": "3"},
    ),
    (
        "rate limit without a wait",
        lambda: RateLimitError("slow down", status_code=429, code="TOO_MANY_REQUESTS"),
        429,
        {"code": "TOO_MANY_REQUESTS"},
        {},
    ),
    (
        "credits spent",
        lambda: BudgetExhaustedError("budget", remaining=3, resets_in=3599.01),
        429,
        {"error": "BudgetExhaustedError", "retry_after": 3600},
        {"retry-after": "3600"},
    ),
    (
        "token refused",
        lambda: api(AuthenticationError, 401, "INVALID_TOKEN"),
        502,
        {"code": "INVALID_TOKEN", "detail": "Bigin refused this service's credentials"},
        {},
    ),
    (
        "scope",
        lambda: api(PermissionDeniedError, 403, "OAUTH_SCOPE_MISMATCH"),
        502,
        {"code": "OAUTH_SCOPE_MISMATCH"},
        {},
    ),
    (
        "refreshes used up",
        lambda: RefreshBlockedError(
            "blocked", retry_at=0.0, retry_after=59.5, status_code=400, code="Access Denied"
        ),
        503,
        {"code": "Access Denied", "retry_after": 60},
        {"retry-after": "60"},
    ),
    (
        "zoho 500",
        lambda: api(ServerError, 500, "INTERNAL_ERROR"),
        502,
        {"code": "INTERNAL_ERROR", "upstream_status": 500},
        {},
    ),
    (
        "zoho 503",
        lambda: ServerError("down", status_code=503, headers={"Retry-After": "7"}),
        503,
        {"retry_after": 7},
        {"retry-after": "7"},
    ),
    ("timeout", lambda: BiginTimeoutError("deadline of 30 s passed", method="GET", url=URL), 504, {}, {}),
    ("network", lambda: BiginConnectionError("connection reset", method="GET", url=URL), 502, {}, {}),
    (
        "ambiguous write",
        lambda: AmbiguousWriteError("lost", records=[{"Last_Name": "Doe"}], method="POST", url=URL),
        502,
        {"write_may_have_happened": True, "unknown_records": 1},
        {},
    ),
    (
        "ambiguous upload",
        lambda: AmbiguousUploadError("lost", uploaded=["a"], records=["b", "c"], not_sent=["d"]),
        502,
        {"write_may_have_happened": True, "uploaded": 1, "unknown_records": 2, "not_sent": 1},
        {},
    ),
    ("redis down", lambda: CoordinationError("redis down", url="redis://x", operation="gate"), 503, {}, {}),
    (
        "bulk refused",
        lambda: BulkWriteError("2 failed", bulk_result("success", "error", "error")),
        422,
        {"failures": {"INVALID_DATA": 2}, "summary": {**bulk_result("success", "error", "error").summary()}},
        {},
    ),
    (
        "bulk fates unknown",
        lambda: BulkWriteError("1 unknown", bulk_result("success", "unknown")),
        502,
        {"write_may_have_happened": True},
        {},
    ),
    (
        "bulk stopped by a revoked token",
        lambda: aborted_by(api(AuthenticationError, 401, "INVALID_TOKEN")),
        502,
        {
            "code": "INVALID_TOKEN",
            "error": "BulkAbortedError",
            "summary": bulk_result("success", "error").summary(),
        },
        {},
    ),
    (
        "bulk stopped by the budget",
        lambda: aborted_by(BudgetExhaustedError("budget", remaining=0, resets_in=10)),
        429,
        {"error": "BulkAbortedError", "retry_after": 10},
        {"retry-after": "10"},
    ),
    (
        "bulk job failed",
        lambda: BulkJobFailedError("failed", job_id="111", state="FAILED"),
        502,
        {"job_id": "111", "state": "FAILED"},
        {},
    ),
    ("bulk job not ready", lambda: BulkJobError("no result yet", job_id="111", state="RUNNING"), 500, {}, {}),
    ("bad notification", lambda: InvalidNotificationError("not JSON"), 400, {}, {}),
    ("stranger's notification", lambda: NotificationTokenError("token mismatch"), 401, {}, {}),
    ("configuration", lambda: ConfigurationError("BIGIN_TIMEOUT must be a number"), 500, {}, {}),
    ("journal", lambda: JournalError("damaged", path="/tmp/j", line=3), 500, {}, {}),
    ("search wall", lambda: PaginationLimitError("search stops at 2,000"), 500, {}, {}),
    ("an odd answer", lambda: api(APIError, 302, "MOVED"), 500, {"code": "MOVED"}, {}),
]


def raising_app(errors: dict[str, Callable[[], BaseException]]) -> FastAPI:
    app = add_bigin_exception_handlers(FastAPI())

    @app.get("/raise/{name}")
    async def raise_it(name: str) -> None:
        raise errors[name]()

    return app


@asynccontextmanager
async def http_to(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as http:
        yield http


@pytest.mark.parametrize(
    ("name", "make", "status", "body", "headers"), CASES, ids=[case[0] for case in CASES]
)
async def test_each_error_class_answers_with_its_status_headers_and_body(
    name: str,
    make: Callable[[], BiginError],
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    error = make()
    async with http_to(raising_app({name: make})) as http:
        answer = await http.get(f"/raise/{name}")
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    got = answer.json()
    assert {key: got.get(key) for key in body} == body
    assert isinstance(got["detail"], (str, list)) and got["detail"]  # FastAPI's own shape
    assert got["error"] == body.get("error", type(error).__name__)
    assert "code" in got
    if status == 422:
        assert all({"type", "loc", "msg"} <= set(entry) for entry in got["detail"])
    for header, value in headers.items():
        assert answer.headers[header] == value
    if "retry-after" not in headers:
        assert "retry-after" not in answer.headers
    if status >= 500:
        assert URL not in answer.text and "zohoapis" not in answer.text  # internals stay in the log


def test_every_error_class_of_the_sdk_has_a_case() -> None:
    import bigin_async.errors as errors

    classes = {
        getattr(errors, name)
        for name in errors.__all__
        if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), BiginError)
    }
    covered = {type(make()) for _, make, *_ in CASES} | {BiginError}
    # The Books twins of the auth errors are AuthenticationError / PermissionDeniedError by class.
    twins = {errors.BooksAuthenticationError, errors.BooksPermissionError, errors.BooksError}
    assert classes - covered - twins == set()


async def test_secrets_in_an_error_never_reach_the_body() -> None:
    secret_errors: dict[str, Callable[[], BaseException]] = {
        "auth": lambda: AuthenticationError(
            f"invalid_client: client_secret={SECRET} refresh_token={REFRESH}",
            status_code=401,
            code="INVALID_TOKEN",
            details={"Authorization": f"Zoho-oauthtoken {ACCESS}"},
            headers={"authorization": f"Zoho-oauthtoken {ACCESS}"},
        ),
        "server": lambda: ServerError(f"echo: Zoho-oauthtoken {ACCESS}", status_code=500),
        "connection": lambda: BiginConnectionError(f"refused {SECRET}", url=f"{URL}?token={REFRESH}"),
        "config": lambda: ConfigurationError(f"client_secret {SECRET} is not accepted"),
    }
    async with http_to(raising_app(secret_errors)) as http:
        bodies = [(await http.get(f"/raise/{name}")).text for name in secret_errors]
    for body in bodies:
        for secret in (SECRET, REFRESH, ACCESS):
            assert secret not in body


async def test_other_exceptions_are_not_swallowed() -> None:
    app = raising_app({"bug": lambda: KeyError("not an SDK error"), "value": lambda: ValueError("mine")})
    async with http_to(app) as http:
        with pytest.raises(KeyError):
            await http.get("/raise/bug")
        with pytest.raises(ValueError, match="mine"):
            await http.get("/raise/value")


async def test_the_handler_re_raises_what_is_not_a_bigin_error() -> None:
    from starlette.requests import Request

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""})
    with pytest.raises(LookupError):
        await bigin_exception_handler(request, LookupError("x"))


def contacts_app() -> FastAPI:
    app = add_bigin_exception_handlers(FastAPI())

    @app.post("/contacts", status_code=201)
    async def create(contact: dict[str, Any], bigin: BiginDep) -> dict[str, Any]:
        return {"id": (await bigin.contacts.create(contact)).id}

    @app.get("/contacts/{contact_id}")
    async def read(contact_id: str, bigin: BiginDep) -> dict[str, Any]:
        return (await bigin.contacts.get(contact_id)).model_dump(
            mode="json", by_alias=True, exclude_unset=True
        )

    return app


@asynccontextmanager
async def app_on(client: BiginClient) -> AsyncIterator[httpx.AsyncClient]:
    app = contacts_app()
    app.dependency_overrides[get_bigin] = lambda: client
    async with http_to(app) as http:
        yield http


async def test_real_calls_against_the_emulator_answer_422_404_409() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin, app_on(bigin) as http:
        bad_email = await http.post("/contacts", json={"Last_Name": "Doe", "Email": "not-an-email"})
        no_name = await http.post("/contacts", json={"First_Name": "John"})
        created = await http.post("/contacts", json={"Last_Name": "Doe", "Email": "john@example.com"})
        again = await http.post("/contacts", json={"Last_Name": "Roe", "Email": "john@example.com"})
        missing = await http.get("/contacts/1234567890123456789")
        not_an_id = await http.get("/contacts/abc")
    assert bad_email.status_code == 422
    assert bad_email.json()["code"] == "INVALID_DATA"
    (entry,) = bad_email.json()["detail"]
    assert entry["loc"] == ["body", "Email"] and entry["type"] == "INVALID_DATA"
    assert entry["ctx"] == {"api_name": "Email", "expected_data_type": "email"}
    assert no_name.status_code == 422 and no_name.json()["detail"][0]["loc"] == ["body", "Last_Name"]
    assert no_name.json()["code"] == "MANDATORY_NOT_FOUND"
    assert created.status_code == 201
    assert again.status_code == 409
    assert again.json()["id"] == created.json()["id"] and again.json()["code"] == "DUPLICATE_DATA"
    assert missing.status_code == 404 and missing.json()["code"] == "RECORD_NOT_FOUND"
    assert not_an_id.status_code == 422 and "digits" in not_an_id.json()["detail"][0]["msg"]


async def test_refused_credentials_answer_502_without_any_secret() -> None:
    emulator = BiginEmulator()
    async with emulator.client(client_secret=SECRET, refresh_token=REFRESH) as bigin, app_on(bigin) as http:
        answer = await http.get("/contacts/1234567890123456789")
        create = await http.post("/contacts", json={"Last_Name": "Doe"})
    assert (answer.status_code, create.status_code) == (502, 502)
    assert answer.json()["detail"] == "Bigin refused this service's credentials"
    assert answer.json()["error"] == "AuthenticationError"
    for body in (answer.text, create.text):
        assert SECRET not in body and REFRESH not in body
        assert emulator.client_id not in body


def test_importing_the_integration_without_fastapi_names_the_extra() -> None:
    hint = "bigin_async.integrations.fastapi needs FastAPI: pip install 'bigin-async[fastapi]'"
    assert import_without("fastapi", "bigin_async.integrations.fastapi") == f"ModuleNotFoundError: {hint}"
