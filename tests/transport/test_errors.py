"""Every error class from a Zoho-shaped body; unknown codes; HTML bodies; secrets never leak."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import respx

from bigin_async import (
    APIError,
    AuthenticationError,
    BiginConnectionError,
    BiginError,
    BudgetExhaustedError,
    ConfigurationError,
    DuplicateRecordError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from bigin_async._redact import redact_text, redact_value
from bigin_async.errors import InvalidModuleError, error_from_response, parse_retry_after
from tests.helpers.transport import API, SECRET_STRINGS, SECRETS, TOKEN_URL, make_client, mock_token


def zoho_error(code: str, message: str = "m", details: dict[str, object] | None = None) -> dict[str, object]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


CASES = [
    (401, "INVALID_TOKEN", AuthenticationError),
    (401, "AUTHENTICATION_FAILURE", AuthenticationError),
    (403, "OAUTH_SCOPE_MISMATCH", PermissionDeniedError),
    (403, "NO_PERMISSION", PermissionDeniedError),
    (404, "RECORD_NOT_FOUND", NotFoundError),
    (404, "INVALID_URL_PATTERN", NotFoundError),
    (400, "INVALID_MODULE", InvalidModuleError),  # an InvalidRequestError too
    (400, "INVALID_DATA", InvalidRequestError),
    (400, "MANDATORY_NOT_FOUND", InvalidRequestError),
    (400, "REQUIRED_PARAM_MISSING", InvalidRequestError),
    (400, "INVALID_REQUEST", InvalidRequestError),
    (405, "INVALID_REQUEST_METHOD", InvalidRequestError),
    (400, "DUPLICATE_DATA", DuplicateRecordError),
    (429, "RATE_LIMIT_EXCEEDED", RateLimitError),
    (429, "TOO_MANY_REQUESTS", RateLimitError),
    # LIMIT_EXCEEDED with a 400 is too many records or fields in one call, not a rate limit.
    (400, "LIMIT_EXCEEDED", InvalidRequestError),
    (429, "LIMIT_EXCEEDED", RateLimitError),
    (500, "INTERNAL_ERROR", ServerError),
    (418, "SOMETHING_NEW", InvalidRequestError),
    (503, "BRAND_NEW_CODE", ServerError),
]


@pytest.mark.parametrize(("status", "code", "cls"), CASES)
def test_error_class_by_code_then_status(status: int, code: str, cls: type[APIError]) -> None:
    request = httpx.Request("GET", f"{API}/Contacts?token=SECRET")
    response = httpx.Response(
        status, json=zoho_error(code, "bad thing", {"api_name": "Last_Name"}), request=request
    )
    error = error_from_response(response)
    assert type(error) is cls
    assert (error.status_code, error.code, error.message) == (status, code, "bad thing")
    assert error.details == {"api_name": "Last_Name"}
    assert error.method == "GET" and "SECRET" not in error.url and "SECRET" not in str(error)


def test_duplicate_error_carries_the_existing_id() -> None:
    body = {
        "data": [
            zoho_error("DUPLICATE_DATA", "duplicate data", {"api_name": "Email", "id": "7618134000000632028"})
        ]
    }
    error = error_from_response(
        httpx.Response(400, json=body, request=httpx.Request("POST", f"{API}/Contacts"))
    )
    assert isinstance(error, DuplicateRecordError) and error.existing_id == "7618134000000632028"


def test_html_and_garbage_bodies_still_give_typed_errors() -> None:
    request = httpx.Request("GET", f"{API}/org")
    html = error_from_response(httpx.Response(502, text="<html><h1>Bad Gateway</h1></html>", request=request))
    assert isinstance(html, ServerError) and "HTML" in html.message
    garbage = error_from_response(httpx.Response(400, content=b"\xff\xfe{", request=request))
    assert isinstance(garbage, InvalidRequestError) and garbage.code is None
    empty = error_from_response(httpx.Response(404, request=request))
    assert isinstance(empty, NotFoundError) and empty.message == "Not Found"


def test_retry_after_parsing_keeps_fractions() -> None:
    assert parse_retry_after({"retry-after": "0.4"}) == 0.4
    assert parse_retry_after({"x-ratelimit-reset": "1000.5"}, now_epoch=1000.0) is not None
    assert parse_retry_after({"x-ratelimit-reset": "1700000030"}, now_epoch=1700000000.0) == 30.0
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None


async def test_secrets_never_reach_reprs_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="bigin_async")
    with respx.mock() as router:
        mock_token(router, "1000.access-SECRET")
        router.get(f"{API}/org").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "0"}, json=zoho_error("TOO_MANY_REQUESTS")),
                httpx.Response(400, json=zoho_error("INVALID_DATA")),
            ]
        )
        async with make_client() as bigin:
            with pytest.raises(InvalidRequestError) as info:
                await bigin.request("GET", "/org", params={"token": "1000.access-SECRET"})
            texts = [
                repr(bigin),
                repr(bigin.transport.tokens),
                repr(bigin.transport.tokens.current),
                str(info.value),
                repr(info.value),
            ]
    logging.getLogger("bigin_async").info(
        "sending Zoho-oauthtoken 1000.access-SECRET to ?refresh_token=1000.refresh-SECRET"
    )
    texts += [r.getMessage() for r in caplog.records]
    assert any("retry" in t for t in texts)
    for secret in [*SECRET_STRINGS, "1000.access-SECRET"]:
        for text in texts:
            assert secret not in text, text


def test_an_echoed_token_in_a_non_json_body_is_scrubbed() -> None:
    request = httpx.Request("GET", f"{API}/org")
    page = "<pre>Authorization: Zoho-oauthtoken 1000.access-SECRET</pre>"
    error = error_from_response(httpx.Response(502, text=page, request=request))
    assert "1000.access-SECRET" not in str(error)


# -- issue #9 item 26: JSON error bodies, OAuth descriptions and headers are redacted too -----------

ZOHO_ACCESS = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
ECHOED = [ZOHO_ACCESS, *SECRET_STRINGS, "1000.access-SECRET", "one-time-grant-code", "s3cr3t-password"]


def every_text_of(error: BaseException) -> list[str]:
    """Everything a log line, a traceback or an error tracker could show of an exception."""
    texts = [str(error), repr(error), repr(error.args), *map(str, error.args)]
    for name in ("message", "code", "details", "headers", "url", "method"):
        if hasattr(error, name):
            texts.append(repr(getattr(error, name)))
    return texts


def assert_no_secret(texts: list[str], secrets: list[str] = ECHOED) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, text


def test_a_json_error_body_echoing_the_request_is_redacted() -> None:
    echo = {
        "code": "INVALID_DATA",
        "status": "error",
        "message": (
            f"bad header Authorization: Zoho-oauthtoken {ZOHO_ACCESS} "
            f"on ?refresh_token={SECRETS['refresh_token']}"
        ),
        "details": {
            "Authorization": "Zoho-oauthtoken 1000.access-SECRET",
            "headers": [
                ["authorization", f"Bearer {ZOHO_ACCESS}"],
                ["X-Client-Secret", SECRETS["client_secret"]],
            ],
            "form": (
                "grant_type=authorization_code&code=one-time-grant-code"
                f"&client_secret={SECRETS['client_secret']}"
            ),
            "nested": {
                "deeper": [{"Refresh-Token": SECRETS["refresh_token"], "password": "s3cr3t-password"}]
            },
            ZOHO_ACCESS: "a token used as a key",
            "api_name": "Last_Name",
        },
    }
    request = httpx.Request("GET", f"{API}/Contacts?code=one-time-grant-code")
    headers = {
        "X-Echo-Authorization": f"Zoho-oauthtoken {ZOHO_ACCESS}",
        "Set-Cookie": "session=s3cr3t-password",
    }
    error = error_from_response(httpx.Response(400, json=echo, headers=headers, request=request))
    assert isinstance(error, InvalidRequestError) and error.code == "INVALID_DATA"
    assert_no_secret(every_text_of(error))
    assert error.details["api_name"] == "Last_Name"  # what is not a secret is kept as it was
    assert "Zoho-oauthtoken ***" in error.message and "bad header" in error.message


def test_a_data_entry_error_echoing_secrets_is_redacted() -> None:
    body = {
        "data": [
            {
                "code": "INVALID_DATA",
                "status": "error",
                "message": f"token={ZOHO_ACCESS}",
                "details": {
                    "access_token": ZOHO_ACCESS,
                    "echo": f'{{"client_secret": "{SECRETS["client_secret"]}"}}',
                },
            }
        ]
    }
    error = error_from_response(
        httpx.Response(400, json=body, request=httpx.Request("POST", f"{API}/Contacts"))
    )
    assert_no_secret(every_text_of(error))


async def test_an_oauth_error_description_echoing_the_form_is_redacted() -> None:
    form = "&".join(f"{k}={v}" for k, v in SECRETS.items())
    for description in (
        f"grant_type=refresh_token&{form}",
        json.dumps(SECRETS),
        f"headers: {{'Authorization': 'Zoho-oauthtoken {ZOHO_ACCESS}'}}",
    ):
        with respx.mock() as router:
            router.post(TOKEN_URL).respond(json={"error": "invalid_client", "error_description": description})
            async with make_client() as bigin:
                with pytest.raises(AuthenticationError) as info:
                    await bigin.request("GET", "/org")
        assert info.value.code == "invalid_client"
        assert_no_secret(every_text_of(info.value))


def test_every_sdk_error_redacts_its_text_and_args() -> None:
    leaky = f"failed: Authorization: Zoho-oauthtoken {ZOHO_ACCESS} client_secret={SECRETS['client_secret']}"
    errors: list[BaseException] = [
        BiginError(leaky),
        ConfigurationError(leaky),
        BiginConnectionError(
            leaky, method="POST", url=f"https://accounts.zoho.com/oauth/v2/token?refresh_token={ZOHO_ACCESS}"
        ),
        BudgetExhaustedError(leaky, remaining=1),
        APIError(leaky, status_code=400, details={"token": ZOHO_ACCESS}, headers={"authorization": "x"}),
        BiginError(leaky, {"refresh_token": SECRETS["refresh_token"]}),
    ]
    for error in errors:
        assert_no_secret(every_text_of(error))
        assert "failed" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "HTTP 400 INVALID_DATA: the field Last_Name is missing (retry in 1000.5 s)",
        "status_code=400 error_code=INVALID_DATA page=2 per_page=200",
        "a basic plan; the bearer of bad news; refresh token expired",
        "1000.5, 1000.25 and version 3.1000.2",
    ],
)
def test_redaction_keeps_ordinary_text(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Zoho-oauthtoken {ZOHO_ACCESS}", ZOHO_ACCESS),
        ("authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        (f"'Authorization': 'Bearer {ZOHO_ACCESS}'", ZOHO_ACCESS),
        ('{"client_secret":"abc def"}', "abc def"),
        ("{'refresh_token': 'xyz\\'q'}", "xyz"),
        ("client_secret=s3cr3t&x=1", "s3cr3t"),
        ("oops ?code=1000.grant&state=1", "1000.grant"),
        (f"bare {ZOHO_ACCESS} in a sentence", ZOHO_ACCESS),
        ("bare 1000.CLIENTID and 1000.a1b2.c3d4", "1000.a1b2.c3d4"),
        ("(b'X-Refresh-Token', b'r3fr3sh')", "r3fr3sh"),
        ("Set-Cookie: JSESSIONID=c00kie; Path=/", "c00kie"),
    ],
)
def test_redaction_finds_secrets_in_text(text: str, secret: str) -> None:
    cleaned = redact_text(text)
    assert secret not in cleaned
    assert redact_text(cleaned) == cleaned  # redacting twice changes nothing


def test_redaction_of_structures_is_recursive_and_bounded() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(10_000):
        child: list[object] = [ZOHO_ACCESS]
        node.append(child)
        node = child
    cleaned = redact_value({"a": deep, "b": (ZOHO_ACCESS, {"Token": 1})})
    assert ZOHO_ACCESS not in repr(cleaned)
    assert cleaned["b"][1] == {"Token": "***"}


def test_a_deeply_nested_error_body_still_gives_a_typed_error() -> None:
    body = b'{"code": "INVALID_DATA", "details": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    error = error_from_response(httpx.Response(400, content=body, request=httpx.Request("GET", f"{API}/org")))
    assert isinstance(error, InvalidRequestError)
