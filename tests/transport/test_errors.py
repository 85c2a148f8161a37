"""Every error class from a Zoho-shaped body; unknown codes; HTML bodies; secrets never leak."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from bigin_async import (
    APIError,
    AuthenticationError,
    DuplicateRecordError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from bigin_async.errors import error_from_response, parse_retry_after
from tests.transport.helpers import API, SECRETS, make_client, mock_token


def zoho_error(code: str, message: str = "m", details: dict[str, object] | None = None) -> dict[str, object]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


CASES = [
    (401, "INVALID_TOKEN", AuthenticationError),
    (401, "AUTHENTICATION_FAILURE", AuthenticationError),
    (403, "OAUTH_SCOPE_MISMATCH", PermissionDeniedError),
    (403, "NO_PERMISSION", PermissionDeniedError),
    (404, "RECORD_NOT_FOUND", NotFoundError),
    (404, "INVALID_URL_PATTERN", NotFoundError),
    (400, "INVALID_MODULE", InvalidRequestError),
    (400, "INVALID_DATA", InvalidRequestError),
    (400, "MANDATORY_NOT_FOUND", InvalidRequestError),
    (400, "REQUIRED_PARAM_MISSING", InvalidRequestError),
    (400, "INVALID_REQUEST", InvalidRequestError),
    (405, "INVALID_REQUEST_METHOD", InvalidRequestError),
    (400, "DUPLICATE_DATA", DuplicateRecordError),
    (429, "RATE_LIMIT_EXCEEDED", RateLimitError),
    (429, "TOO_MANY_REQUESTS", RateLimitError),
    (400, "LIMIT_EXCEEDED", RateLimitError),
    (500, "INTERNAL_ERROR", ServerError),
    (418, "SOMETHING_NEW", InvalidRequestError),
    (503, "BRAND_NEW_CODE", ServerError),
]


@pytest.mark.parametrize(("status", "code", "cls"), CASES)
def test_error_class_by_code_then_status(status: int, code: str, cls: type[APIError]) -> None:
    request = httpx.Request("GET", f"{API}/Contacts?token=SECRET")
    response = httpx.Response(status, json=zoho_error(code, "bad thing", {"api_name": "Last_Name"}), request=request)
    error = error_from_response(response)
    assert type(error) is cls
    assert (error.status_code, error.code, error.message) == (status, code, "bad thing")
    assert error.details == {"api_name": "Last_Name"}
    assert error.method == "GET" and "SECRET" not in error.url and "SECRET" not in str(error)


def test_duplicate_error_carries_the_existing_id() -> None:
    body = {"data": [zoho_error("DUPLICATE_DATA", "duplicate data", {"api_name": "Email", "id": "7618134000000632028"})]}
    error = error_from_response(httpx.Response(400, json=body, request=httpx.Request("POST", f"{API}/Contacts")))
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
            side_effect=[httpx.Response(429, headers={"Retry-After": "0"}, json=zoho_error("TOO_MANY_REQUESTS")),
                         httpx.Response(400, json=zoho_error("INVALID_DATA"))]
        )
        async with make_client() as bigin:
            with pytest.raises(InvalidRequestError) as info:
                await bigin.request("GET", "/org", params={"token": "1000.access-SECRET"})
            texts = [repr(bigin), repr(bigin.transport.tokens), repr(bigin.transport.tokens.current), str(info.value), repr(info.value)]
    logging.getLogger("bigin_async").info("sending Zoho-oauthtoken 1000.access-SECRET to ?refresh_token=1000.refresh-SECRET")
    texts += [r.getMessage() for r in caplog.records]
    assert any("retry" in t for t in texts)
    for secret in [*SECRETS.values(), "1000.access-SECRET"]:
        for text in texts:
            assert secret not in text, text


def test_an_echoed_token_in_a_non_json_body_is_scrubbed() -> None:
    request = httpx.Request("GET", f"{API}/org")
    page = "<pre>Authorization: Zoho-oauthtoken 1000.access-SECRET</pre>"
    error = error_from_response(httpx.Response(502, text=page, request=request))
    assert "1000.access-SECRET" not in str(error)
