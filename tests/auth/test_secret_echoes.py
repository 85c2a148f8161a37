"""Secrets in the OAuth calls' errors and in what those errors chain (review B, items A to D).

A. A credential with a character that cannot travel (a zero-width space pasted with it, a
   non-ASCII letter from an odd token endpoint) is refused before anything is sent, by a typed
   error that names the setting and the position, never the value.
B. What an accounts server echoes of a secret is scrubbed in every spelling: percent-encoded (the
   revoked token travels in the query), JSON- and HTML-escaped.
C. The httpx exception chained under an SDK error no longer carries the request it was raised
   for: not the revoked token in its URL, not the OAuth form in its body, not the
   ``Authorization`` header of a normal call.
D. A redirect is not an answer: ``revoke()`` does not report a token revoked that was not, and
   neither it nor the token requests follow a redirect with the secrets.
"""

from __future__ import annotations

import errno
import gc
import html
import json
import pickle
import socket
import ssl
import sys
import time
import traceback
import types
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpcore
import httpx
import pytest
from pydantic import SecretStr

from bigin_async import (
    AmbiguousWriteError,
    AuthenticationError,
    BiginClient,
    BiginConnectionError,
    BiginError,
    ConfigurationError,
    RefreshBlockedError,
)
from bigin_async._safe_chain import without_request
from bigin_async.auth import MemoryTokenStore, Token, TokenManager, exchange_code, revoke
from tests.helpers.transport import SECRETS, Secrets, token_body

if sys.version_info >= (3, 11):
    from builtins import ExceptionGroup
else:  # pragma: no cover - anyio's dependency there
    from exceptiongroup import ExceptionGroup

ZOHO = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
# Not Zoho-shaped (a token broker, a proxy): only its value can catch it, in every spelling.
PLAIN = "plainrevoke/token+value&more=="
PLAIN_SECRET = "plainclient/secret+value=="
PLAIN_CODE = "plaingrant/code+value=="
# What an httpx request of a normal call carries in its Authorization header.
BARE = "plainbareaccessvalue0123456789"

STRAY = {
    "zero-width space": "\u200b",
    "e acute": "\u00e9",
    "inner space": " ",
    "tab": "\t",
    "line feed": "\n",
    "carriage return": "\r",
    "nul": "\x00",
    "no-break space": "\u00a0",
}


def _api(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"data": [], "info": {"more_records": False}})


def _everything_reachable(error: BaseException) -> str:
    """Every text an error and the exceptions chained under it show, the requests they hold
    included (URL, headers, body)."""
    texts: list[str] = []
    todo: list[BaseException | None] = [error]
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args), repr(vars(current))]
        request = getattr(current, "_request", None)
        if isinstance(request, httpx.Request):
            texts += [repr(request), str(request.url), repr(dict(request.headers))]
            texts.append(request.content.decode("latin-1") if request.stream is not None else "")
        todo += [current.__cause__, current.__context__]
    return "\n".join(texts)


# -- A. credentials that cannot travel ----------------------------------------------------------
@pytest.mark.parametrize("name", ["access_token", "client_id", "client_secret", "refresh_token"])
@pytest.mark.parametrize("stray", list(STRAY.values()), ids=list(STRAY))
def test_a_credential_with_a_stray_character_is_refused_at_construction(name: str, stray: str) -> None:
    value = f"plainvalue{stray}0123456789"
    creds: dict[str, Any] = {"access_token": value} if name == "access_token" else {**SECRETS, name: value}
    with pytest.raises(ConfigurationError) as raised:
        BiginClient(**creds, transport=httpx.MockTransport(_api))
    text = f"{raised.value!s} {raised.value!r} {raised.value.args!r}"
    assert name in text and "position 11" in text, text
    assert "plainvalue" not in text and "0123456789" not in text, text


@pytest.mark.parametrize("stray", ["\u200b", "\u00e9"])
def test_a_stray_character_is_refused_in_a_secret_str_too(stray: str) -> None:
    with pytest.raises(ConfigurationError, match="access_token"):
        BiginClient(
            access_token=SecretStr(f"plainvalue{stray}0123456789"), transport=httpx.MockTransport(_api)
        )


def test_whitespace_around_a_credential_is_still_stripped() -> None:
    BiginClient(access_token=f"  {BARE}\n", transport=httpx.MockTransport(_api))
    padded: Secrets = {**SECRETS, "client_secret": "\t" + SECRETS["client_secret"] + " \r\n"}
    BiginClient(**padded, transport=httpx.MockTransport(_api))


def test_a_token_manager_built_directly_refuses_a_stray_character_too() -> None:
    with pytest.raises(ConfigurationError, match="refresh_token"):
        TokenManager(
            token_url="https://accounts.zoho.com/oauth/v2/token",
            client_id=SecretStr(SECRETS["client_id"]),
            client_secret=SecretStr(SECRETS["client_secret"]),
            refresh_token=SecretStr("1000.refresh\u200bSECRET"),
        )


def test_a_token_file_with_a_token_that_cannot_be_sent_is_refused() -> None:
    with pytest.raises(ValueError, match="access_token") as raised:
        Token.from_json({"access_token": "1000.abc\u200bdef", "expires_at": 5.0})
    assert "abc" not in str(raised.value)


def _refreshing(token: object, sent: list[str]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json={**token_body(), "access_token": token})
        return _api(request)

    return handler


UNSENDABLE = [
    "1000.0123456789abcdef\u00e9.fedcba9876543210",
    "plainaccessvalue\u200b1234",
    "plainaccessvalue\r\nX-Injected: 1",
    "plainaccessvalue 1234",
    "plainaccessvalue\x001234",
]


@pytest.mark.parametrize("token", UNSENDABLE)
async def test_a_token_from_the_endpoint_that_cannot_go_in_a_header_is_refused(token: str) -> None:
    sent: list[str] = []
    async with BiginClient(
        **SECRETS, transport=httpx.MockTransport(_refreshing(token, sent)), max_retries=0
    ) as bigin:
        with pytest.raises(AuthenticationError) as raised:
            await bigin.contacts.list(per_page=5)
    assert all(path.endswith("/oauth/v2/token") for path in sent), sent  # no API call was sent
    shown = _everything_reachable(raised.value)
    assert "plainaccessvalue" not in shown and "0123456789abcdef" not in shown, shown
    assert "header" in raised.value.message


@pytest.mark.parametrize("token", [None, 12345, {"nested": "plainaccessvalue"}, ""])
async def test_an_access_token_that_is_not_a_string_is_refused(token: object) -> None:
    sent: list[str] = []
    async with BiginClient(
        **SECRETS, transport=httpx.MockTransport(_refreshing(token, sent)), max_retries=0
    ) as bigin:
        with pytest.raises(AuthenticationError) as raised:
            await bigin.contacts.list(per_page=5)
    assert all(path.endswith("/oauth/v2/token") for path in sent), sent
    assert "plainaccessvalue" not in _everything_reachable(raised.value)


@pytest.mark.parametrize("token", UNSENDABLE[:2])
async def test_exchange_code_refuses_such_a_token_too(token: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**token_body(token), "refresh_token": "1000.r.r"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(AuthenticationError) as raised:
            await exchange_code("1000.code.x", client_id="1000.CID", client_secret="s", http_client=http)
    assert "plainaccessvalue" not in _everything_reachable(raised.value)


async def test_exchange_code_refuses_a_refresh_token_that_cannot_be_used() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**token_body(), "refresh_token": "plainrefreshvalue\u200b12"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(AuthenticationError, match="refresh_token") as raised:
            await exchange_code("1000.code.x", client_id="1000.CID", client_secret="s", http_client=http)
    assert "plainrefreshvalue" not in _everything_reachable(raised.value)


# The reviewer's repro, kept as it was found: contacts.list() with either kind of credentials.
@pytest.mark.parametrize("bare", [True, False])
@pytest.mark.parametrize("token", ["plainaccessvalue\u200b1234", UNSENDABLE[0]])
async def test_a_token_httpx_cannot_encode_never_shows(token: str, bare: bool) -> None:
    creds: dict[str, Any] = {"access_token": token} if bare else dict(SECRETS)
    with pytest.raises(BiginError) as raised:
        async with BiginClient(
            **creds, transport=httpx.MockTransport(_refreshing(token, [])), max_retries=0
        ) as bigin:
            await bigin.contacts.list(per_page=5)
    shown = _everything_reachable(raised.value)
    assert token not in shown and token[:16] not in shown, shown


# -- B. echoes in every spelling ----------------------------------------------------------------
SPELLINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda value: value,
    "percent": lambda value: quote(value, safe=""),
    "percent lower-case": lambda value: quote(value, safe="").lower(),
    "json": lambda value: json.dumps(value)[1:-1].replace("/", "\\/"),
    "html": lambda value: html.escape(value),
}


@pytest.mark.parametrize("spell", list(SPELLINGS.values()), ids=list(SPELLINGS))
async def test_an_echo_of_the_revoked_token_is_scrubbed_in_every_spelling(
    spell: Callable[[str], str],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        echoed = f"unknown token {spell(PLAIN)}"
        return httpx.Response(400, json={"error": f"bad {spell(PLAIN)}", "error_description": echoed})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(AuthenticationError) as raised:
            await revoke(PLAIN, http_client=http)
    error = raised.value
    for shown in (str(error), error.message, repr(error.details), repr(error.code)):
        assert "plainrevoke" not in shown, shown


async def test_the_echo_the_reviewer_found_is_scrubbed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = request.url.query.decode().split("=", 1)[1]  # as it went on the wire
        return httpx.Response(400, json={"error": "invalid_request", "error_description": f"unknown {sent}"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(BiginError) as raised:
            await revoke(PLAIN, http_client=http)
    assert "plainrevoke" not in str(raised.value), str(raised.value)


@pytest.mark.parametrize("spell", list(SPELLINGS.values()), ids=list(SPELLINGS))
async def test_an_echo_of_the_exchanged_form_is_scrubbed_in_every_spelling(
    spell: Callable[[str], str],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        echoed = f"code {spell(PLAIN_CODE)} for secret {spell(PLAIN_SECRET)}"
        return httpx.Response(400, json={"error": "invalid_code", "error_description": echoed})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(AuthenticationError) as raised:
            await exchange_code(
                PLAIN_CODE, client_id="1000.CID", client_secret=PLAIN_SECRET, http_client=http
            )
    shown = f"{raised.value} {raised.value.details}"
    assert "plaingrant" not in shown and "plainclient" not in shown, shown


# -- C. what the SDK's errors chain -------------------------------------------------------------
def _connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("All connection attempts failed", request=request)


def _read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out reading", request=request)


async def test_the_chained_httpx_error_of_revoke_does_not_carry_the_token() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_connect_error)) as http:
        with pytest.raises(BiginConnectionError) as raised:
            await revoke(ZOHO, http_client=http)
    shown = _everything_reachable(raised.value)
    assert ZOHO not in shown and "0123456789abcdef" not in shown, shown
    assert "ConnectError" in str(raised.value) and "All connection attempts failed" in str(raised.value)
    assert isinstance(raised.value.__cause__, httpx.ConnectError)  # what failed is still there to see


async def test_the_chained_httpx_error_of_exchange_code_does_not_carry_the_form() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(_connect_error)) as http:
        with pytest.raises(BiginConnectionError) as raised:
            await exchange_code(
                PLAIN_CODE, client_id="1000.CID", client_secret=PLAIN_SECRET, http_client=http
            )
    shown = _everything_reachable(raised.value)
    assert "plaingrant" not in shown and "plainclient" not in shown and "client_secret=" not in shown, shown


@pytest.mark.parametrize("failure", [_connect_error, _read_timeout], ids=["not sent", "maybe sent"])
async def test_the_chained_httpx_error_of_a_refresh_does_not_carry_the_form(
    failure: Callable[[httpx.Request], httpx.Response],
) -> None:
    secrets: Secrets = {
        "client_id": "1000.CID",
        "client_secret": PLAIN_SECRET,
        "refresh_token": "plainrefresh/token+value",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return failure(request) if request.url.path.endswith("/oauth/v2/token") else _api(request)

    async with BiginClient(
        **secrets, transport=httpx.MockTransport(handler), max_retries=0, retry_backoff_seconds=0.0
    ) as bigin:
        with pytest.raises(BiginConnectionError) as raised:
            await bigin.contacts.list(per_page=5)
    shown = _everything_reachable(raised.value)
    assert "plainclient" not in shown and "plainrefresh" not in shown and "client_secret=" not in shown, shown


@pytest.mark.parametrize("failure", [_connect_error, _read_timeout], ids=["connect", "read timeout"])
async def test_the_chained_httpx_error_of_a_call_does_not_carry_the_authorization_header(
    failure: Callable[[httpx.Request], httpx.Response],
) -> None:
    async with BiginClient(access_token=BARE, transport=httpx.MockTransport(failure), max_retries=0) as bigin:
        with pytest.raises(BiginConnectionError) as raised:
            await bigin.contacts.list(per_page=5)
    shown = _everything_reachable(raised.value)
    assert BARE not in shown and "plainbare" not in shown, shown
    assert isinstance(raised.value.__cause__, (httpx.ConnectError, httpx.ReadTimeout))
    assert "contacts" in repr(raised.value.__cause__.request).lower()  # where it went, without the secrets


async def test_the_chained_httpx_error_of_a_lost_insert_does_not_carry_the_authorization_header() -> None:
    async with BiginClient(
        access_token=BARE, transport=httpx.MockTransport(_read_timeout), max_retries=0
    ) as bigin:
        with pytest.raises(AmbiguousWriteError) as raised:
            await bigin.contacts.create({"Last_Name": "Doe"})
    shown = _everything_reachable(raised.value)
    assert BARE not in shown and "plainbare" not in shown, shown


# -- D. a redirect is not an answer -------------------------------------------------------------
def _redirect(
    status: int, location: str | None, seen: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) > 1:  # followed: a captive portal's page, or the other data centre's answer
            return httpx.Response(200, json={**token_body(), "status": "success"})
        headers = {"Location": location} if location is not None else {}
        return httpx.Response(status, headers=headers)

    return handler


@pytest.mark.parametrize("follow", [False, True], ids=["plain client", "following client"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_not_a_revoked_token(status: int, follow: bool) -> None:
    seen: list[httpx.Request] = []
    location = f"https://accounts.zoho.eu/oauth/v2/token/revoke?token={ZOHO}"
    transport = httpx.MockTransport(_redirect(status, location, seen))
    async with httpx.AsyncClient(transport=transport, follow_redirects=follow) as http:
        with pytest.raises(AuthenticationError) as raised:
            await revoke(ZOHO, http_client=http)
    assert len(seen) == 1  # not followed
    message = raised.value.message
    assert "accounts.zoho.eu" in message and "not" in message and "revoked" in message, message
    assert ZOHO not in _everything_reachable(raised.value)
    assert raised.value.status_code == status


@pytest.mark.parametrize("location", [None, "/elsewhere", "https://a$b!c/"])
async def test_a_redirect_without_a_usable_location_is_refused_too(location: str | None) -> None:
    transport = httpx.MockTransport(_redirect(302, location, []))
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(AuthenticationError, match="redirect"):
            await revoke(ZOHO, http_client=http)


async def test_a_revoke_answered_with_a_2xx_is_success() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await revoke(ZOHO, http_client=http)  # a 2xx: revoked, nothing raised


@pytest.mark.parametrize("follow", [False, True], ids=["plain client", "following client"])
@pytest.mark.parametrize("status", [302, 307])
async def test_a_redirected_code_exchange_is_refused_and_its_form_not_sent_on(
    status: int, follow: bool
) -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(_redirect(status, "https://evil.example/token", seen))
    async with httpx.AsyncClient(transport=transport, follow_redirects=follow) as http:
        with pytest.raises(AuthenticationError, match="evil.example"):
            await exchange_code(
                PLAIN_CODE, client_id="1000.CID", client_secret=PLAIN_SECRET, http_client=http
            )
    assert len(seen) == 1


async def test_a_redirect_with_a_token_in_its_body_is_still_no_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, json=token_body(), headers={"Location": "https://accounts.zoho.eu/"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(AuthenticationError, match="accounts.zoho.eu"):
            await exchange_code(
                PLAIN_CODE, client_id="1000.CID", client_secret=PLAIN_SECRET, http_client=http
            )


@pytest.mark.parametrize("status", [301, 307])
async def test_a_redirected_refresh_is_refused_and_its_form_not_sent_on(status: int) -> None:
    seen: list[httpx.Request] = []
    to_accounts = _redirect(status, "https://accounts.zoho.eu/oauth/v2/token", seen)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return to_accounts(request)
        return _api(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True) as http:
        async with BiginClient(**SECRETS, http_client=http, max_retries=0) as bigin:
            with pytest.raises(AuthenticationError, match="accounts.zoho.eu"):
                await bigin.contacts.list(per_page=5)
    assert len(seen) == 1


# -- E. what the chain keeps, credentials as given, tokens from a store (review C) ---------------
# A value that is a registered secret once a Token holds it, and matches no pattern by its shape.
CHAINED = "plainchainedaccessvalue0123"


def _exceptions_below(error: BaseException) -> list[BaseException]:
    """Every exception chained under ``error`` (causes, contexts, a group's members), once each."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [error.__cause__, error.__context__]
    seen = {id(error)}
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        todo += [current.__cause__, current.__context__, *getattr(current, "exceptions", ())]
    return found


def assert_chain_is_clean(error: BaseException, *values: str) -> list[BaseException]:
    """What ``error`` chains holds no traceback (whose frames' locals may hold the headers), no
    request but a stand-in (method and URL) on httpx's own exceptions, and none of ``values``
    in any string reachable from it. Returns the exceptions below ``error``."""
    below = _exceptions_below(error)
    for exc in below:
        assert exc.__traceback__ is None, f"{type(exc).__name__} keeps its traceback"
    todo: list[tuple[object, int]] = [(exc, 0) for exc in below]
    seen: set[int] = set()
    while todo:
        obj, depth = todo.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType) or depth > 12:
            continue
        seen.add(id(obj))
        assert not isinstance(obj, types.FrameType | types.TracebackType | httpx.Response), (obj, error)
        if isinstance(obj, httpx.Request):
            owners = [exc for exc in below if isinstance(exc, httpx.HTTPError) and exc._request is obj]
            assert owners, f"a request held by something other than httpx's copy: {obj!r}"
            assert "authorization" not in obj.headers and obj.content == b"", dict(obj.headers)
            text = str(obj.url)
        elif isinstance(obj, str | bytes):
            text = obj if isinstance(obj, str) else obj.decode("latin-1")
        else:
            todo += [(referent, depth + 1) for referent in gc.get_referents(obj)]
            continue
        for value in values:
            assert value not in text, (value, text)
    shown = _everything_reachable(error)
    for value in values:
        assert value not in shown, shown
    return below


def _raise_through_httpcore(request: httpx.Request, root: BaseException) -> None:
    """Raise as httpx does: its error from httpcore's, from the socket's (``root``)."""
    headers = dict(request.headers)  # a frame local holding the Authorization header, as httpcore's do
    try:
        try:
            raise root
        except BaseException as low:
            raise httpcore.ConnectError(str(low)) from low
    except httpcore.ConnectError as mid:
        assert headers
        raise httpx.ConnectError(str(mid), request=request) from mid


def _certificate_failure() -> ssl.SSLCertVerificationError:
    failure = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    failure.verify_code = 20
    failure.verify_message = "unable to get local issuer certificate"
    return failure


def _signed_request(token: str = CHAINED) -> httpx.Request:
    return httpx.Request(
        "GET",
        "https://www.zohoapis.com/bigin/v2/Contacts",
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
    )


def test_without_request_keeps_the_root_cause_without_tracebacks() -> None:
    Token(SecretStr(CHAINED), None)  # registered, as every token the SDK sends is
    try:
        _raise_through_httpcore(_signed_request(), _certificate_failure())
    except httpx.ConnectError as exc:
        copy = without_request(exc)
    assert isinstance(copy, httpx.ConnectError) and copy.__traceback__ is None
    assert isinstance(copy.__cause__, httpcore.ConnectError)
    root = copy.__cause__.__cause__
    assert isinstance(root, ssl.SSLCertVerificationError), copy.__cause__.__cause__
    assert (root.verify_code, root.verify_message) == (20, "unable to get local issuer certificate")
    assert_chain_is_clean(copy.__cause__, CHAINED)
    wrapped = BiginConnectionError("failed")
    wrapped.__cause__ = copy
    assert_chain_is_clean(wrapped, CHAINED)


def test_without_request_keeps_an_errno_and_a_group_of_attempts() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    try:
        try:
            raise ExceptionGroup("all attempts to connect failed", [refused])
        except ExceptionGroup as group:
            raise OSError("all attempts to connect failed") from group
    except OSError as attempts:
        root: BaseException = attempts
    try:
        _raise_through_httpcore(_signed_request(), root)
    except httpx.ConnectError as exc:
        copy = without_request(exc)
    wrapped = BiginConnectionError("failed")
    wrapped.__cause__ = copy
    below = assert_chain_is_clean(wrapped, CHAINED)
    assert any(isinstance(e, OSError) and e.errno == errno.ECONNREFUSED for e in below), below


class _HoldsRequest(Exception):
    def __init__(self, request: httpx.Request) -> None:
        super().__init__("the transport's own error")
        self.request = request


class _SlottedHolder(Exception):
    __slots__ = ("held",)

    def __init__(self, held: object) -> None:
        super().__init__("slotted")
        self.held = held


@pytest.mark.parametrize(
    "root",
    [
        lambda request: ValueError(f"bad header Zoho-oauthtoken {CHAINED}"),
        lambda request: ValueError("plainly", request.headers),
        lambda request: _HoldsRequest(request),
        lambda request: _SlottedHolder(request),
        lambda request: UnicodeEncodeError("ascii", f"Zoho-oauthtoken {CHAINED}\u200b", 40, 41, "no"),
    ],
    ids=["token in its message", "headers in its args", "request attribute", "request in a slot", "object"],
)
def test_a_link_that_holds_the_secret_is_cut(root: Callable[[httpx.Request], BaseException]) -> None:
    Token(SecretStr(CHAINED), None)
    request = _signed_request()
    try:
        _raise_through_httpcore(request, root(request))
    except httpx.ConnectError as exc:
        copy = without_request(exc)
    assert isinstance(copy.__cause__, httpcore.ConnectError) or copy.__cause__ is None
    wrapped = BiginConnectionError("failed")
    wrapped.__cause__ = copy
    assert_chain_is_clean(wrapped, CHAINED)


def test_an_httpx_error_lower_in_the_chain_is_copied_without_its_request_too() -> None:
    Token(SecretStr(CHAINED), None)
    request = _signed_request()
    try:
        try:
            raise httpx.ReadError("first try", request=request)
        except httpx.ReadError as first:
            raise httpx.ConnectError("second try", request=request) from first
    except httpx.ConnectError as exc:
        copy = without_request(exc)
    assert isinstance(copy.__cause__, httpx.ReadError) and str(copy.__cause__) == "first try"
    wrapped = BiginConnectionError("failed")
    wrapped.__cause__ = copy
    assert_chain_is_clean(wrapped, CHAINED)


def test_a_looping_or_endless_chain_is_walked_within_bounds() -> None:
    a, b = OSError("a"), OSError("b")
    a.__context__, b.__context__ = b, a
    deep = OSError("deep 0")
    for n in range(1, 5000):
        link = OSError(f"deep {n}")
        link.__cause__ = deep
        deep = link
    for low in (a, deep):
        exc = httpx.ConnectError("x", request=_signed_request())
        exc.__cause__ = low
        copy = without_request(exc)
        depth, current = 0, copy.__cause__
        while current is not None and depth < 100:
            depth, current = depth + 1, current.__cause__ or current.__context__
        assert depth < 100


class _Refusing(httpx.AsyncBaseTransport):
    """A transport whose connection fails as httpx's does: on a certificate, or refused."""

    def __init__(self, root: Callable[[], BaseException]) -> None:
        self.root = root

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _raise_through_httpcore(request, self.root())
        raise AssertionError("unreachable")


async def test_a_call_that_fails_on_a_certificate_says_so_by_type() -> None:
    transport = _Refusing(_certificate_failure)
    async with BiginClient(
        access_token=CHAINED, transport=transport, max_retries=1, retry_backoff_seconds=0
    ) as bigin:
        with pytest.raises(BiginConnectionError) as raised:
            await bigin.contacts.get("1")
    cause = raised.value.__cause__
    assert isinstance(cause, httpx.ConnectError) and isinstance(cause.__cause__, httpcore.ConnectError)
    assert isinstance(cause.__cause__.__cause__, ssl.SSLCertVerificationError)
    pickle.loads(pickle.dumps(cause))
    assert_chain_is_clean(raised.value, CHAINED)


async def test_a_refused_connection_keeps_its_errno() -> None:
    with socket.socket() as listener:  # a port nothing listens on once it is closed
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    async with BiginClient(
        access_token=CHAINED, api_domain=f"http://127.0.0.1:{port}", max_retries=0
    ) as bigin:
        with pytest.raises(BiginConnectionError) as raised:
            await bigin.contacts.get("1")
    below = assert_chain_is_clean(raised.value, CHAINED)
    assert any(isinstance(e, OSError) and e.errno == errno.ECONNREFUSED for e in below), below


async def test_a_refresh_that_fails_on_a_certificate_keeps_it_and_not_the_form() -> None:
    secrets: Secrets = {
        "client_id": "1000.CID",
        "client_secret": PLAIN_SECRET,
        "refresh_token": "plainrefresh/token+value",
    }
    async with BiginClient(
        **secrets, transport=_Refusing(_certificate_failure), max_retries=0, retry_backoff_seconds=0.0
    ) as bigin:
        with pytest.raises(BiginConnectionError) as raised:
            await bigin.contacts.list(per_page=5)
    below = assert_chain_is_clean(raised.value, "plainclient", "plainrefresh")
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in below), below


async def test_a_revoke_that_fails_on_a_certificate_keeps_it_and_not_the_token() -> None:
    async with httpx.AsyncClient(transport=_Refusing(_certificate_failure)) as http:
        with pytest.raises(BiginConnectionError) as raised:
            await revoke(PLAIN, http_client=http)
    below = assert_chain_is_clean(raised.value, "plainrevoke")
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in below), below


# Credentials given to a TokenManager are used as check_credential gives them back: stripped.
async def test_a_token_manager_keeps_its_credentials_stripped() -> None:
    forms: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(dict(httpx.QueryParams(request.content.decode())))
        return httpx.Response(200, json=token_body())

    bare = TokenManager(
        token_url="https://accounts.zoho.com/oauth/v2/token",
        access_token=SecretStr("  1000.aaaa.bbbb\n"),
        expires_in=3000,
    )
    assert (await bare.get_token()).access_token.get_secret_value() == "1000.aaaa.bbbb"
    manager = TokenManager(
        token_url="https://accounts.zoho.com/oauth/v2/token",
        client_id=SecretStr(" " + SECRETS["client_id"] + "\n"),
        client_secret=SecretStr("\t" + SECRETS["client_secret"] + "\r\n"),
        refresh_token=SecretStr(SECRETS["refresh_token"] + "\n"),
        retry_backoff=0.0,
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        manager.http = http
        await manager.get_token()
    assert len(forms) == 1
    for name in ("client_id", "client_secret", "refresh_token"):
        assert forms[0][name] == SECRETS[name], (name, forms[0][name])
    same = TokenManager(
        token_url="https://accounts.zoho.com/oauth/v2/token",
        client_id=SecretStr(SECRETS["client_id"]),
        client_secret=SecretStr(SECRETS["client_secret"]),
        refresh_token=SecretStr(SECRETS["refresh_token"]),
    )
    assert same.store_key == manager.store_key  # a padded paste shares the unpadded one's store entry


# A token that could not go in a header is refused wherever it comes from, without its value.
STORED_BAD = "1000.abc\u200bdefSTOREDPART.123456"


def test_a_token_that_cannot_be_sent_is_refused_when_built() -> None:
    for stray in STRAY.values():
        with pytest.raises(ConfigurationError, match="access_token") as raised:
            Token(SecretStr(f"plainstoredvalue{stray}1234"), None)
        assert isinstance(raised.value, ValueError)  # what Token.from_json raises for a bad entry
        text = f"{raised.value!s} {raised.value!r} {raised.value.args!r}"
        assert "plainstoredvalue" not in text and "1234" not in text and "position 17" in text, text


class _BadStore(MemoryTokenStore):
    """A custom store whose load() builds a Token with a pasted U+200B in it."""

    def __init__(self, build: Callable[[], Token]) -> None:
        super().__init__()
        self.build = build
        self.loads = 0

    async def load(self, key: str) -> Token | None:
        self.loads += 1
        return self.build()


def _smuggled() -> Token:
    """A Token that never went through __init__ (unpickled, copied by hand): unchecked."""
    token = object.__new__(Token)
    for name, value in {
        "access_token": SecretStr(STORED_BAD),
        "expires_at": time.time() + 3000,
        "api_domain": None,
        "lifetime": None,
    }.items():
        object.__setattr__(token, name, value)
    return token


@pytest.mark.parametrize(
    "build",
    [lambda: Token(SecretStr(STORED_BAD), time.time() + 3000), _smuggled],
    ids=["built in load()", "never built"],
)
@pytest.mark.parametrize("refresh", ["answered", "down"])
async def test_a_stored_token_that_cannot_be_sent_is_never_sent(
    build: Callable[[], Token], refresh: str, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("authorization", request.url.path))
        if request.url.path.endswith("/oauth/v2/token"):
            if refresh == "down":
                raise httpx.ConnectError("All connection attempts failed", request=request)
            return httpx.Response(200, json=token_body("1000.refreshed.value"))
        return _api(request)

    store = _BadStore(build)
    async with BiginClient(
        **SECRETS, token_store=store, transport=httpx.MockTransport(handler), max_retries=0,
        retry_backoff_seconds=0.0,
    ) as bigin:  # fmt: skip
        if refresh == "answered":  # the bad token is no token: a refresh replaces it
            await bigin.contacts.list(per_page=5)
            assert sent[-1] == "Zoho-oauthtoken 1000.refreshed.value", sent
        else:  # nothing to replace it with: a typed error, without the value
            with pytest.raises(BiginError) as raised:
                await bigin.contacts.list(per_page=5)
            assert isinstance(raised.value, BiginConnectionError | AuthenticationError | ConfigurationError)
            assert "STOREDPART" not in "".join(traceback.format_exception(raised.value))
            assert_chain_is_clean(raised.value, "STOREDPART")
    assert store.loads >= 1
    assert not any("STOREDPART" in value for value in sent), sent
    logged = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    assert "STOREDPART" not in logged and "U+200B" in logged, logged


# A refresh whose answer is malformed was still minted (and counted) by Zoho: it counts here too.
async def test_malformed_refresh_answers_count_towards_zohos_limit() -> None:
    refreshes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            refreshes.append(request.url.path)
            return httpx.Response(200, json=token_body("plainminted\u200bvalue"))
        return _api(request)

    async with BiginClient(
        **SECRETS, transport=httpx.MockTransport(handler), max_retries=0, retry_backoff_seconds=0.0
    ) as bigin:
        for _ in range(TokenManager.MAX_REFRESHES):
            with pytest.raises(AuthenticationError, match="malformed"):
                await bigin.contacts.list(per_page=5)
        with pytest.raises(RefreshBlockedError) as raised:
            await bigin.contacts.list(per_page=5)
    assert raised.value.code == "REFRESH_LIMIT"
    assert len(refreshes) == TokenManager.MAX_REFRESHES
