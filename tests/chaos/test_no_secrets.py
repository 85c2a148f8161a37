"""A server that echoes everything it is sent never gets a secret into an exception, a log or a repr.

Real servers echo: a proxy's 500 page shows the request head, an API gateway's 400 repeats the
headers as JSON, Zoho's accounts server puts the submitted form in ``error_description``. Here a
loopback server (a real socket, so httpx's and httpcore's own DEBUG logs run too) and respx
routes echo headers, query strings and bodies back in every shape, and the test looks for the
access token, refresh token, client secret and a webhook channel token everywhere a user or an
error tracker could see them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import httpx
import pytest
import respx
from anyio.abc import ByteStream
from hypothesis import given, settings
from hypothesis import strategies as st

from bigin_async import BiginClient, BiginError
from bigin_async._redact import is_secret_key, redact_text, redact_value
from tests.helpers.loopback import serve_loopback

# Deliberately not Zoho-shaped: only the context (a header, a form field, a JSON key) marks them.
ACCESS = "plain-access-value-7f3a"
REFRESH = "plain-refresh-value-91bc"
CLIENT_SECRET = "plain-client-secret-55de"
CHANNEL_TOKEN = "plain-channel-token-c0de"
ZOHO_ACCESS = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
SECRETS = [ACCESS, REFRESH, CLIENT_SECRET, CHANNEL_TOKEN, ZOHO_ACCESS]

# How the echo answers: where (token endpoint or API) and in which shape.
API_MODES = ["api_json_400", "api_data_400", "api_text_500", "api_html_502", "api_json_401"]
OAUTH_MODES = [
    "oauth_form_description",
    "oauth_json_description",
    "oauth_headers_description",
    "oauth_400_echo",
    "oauth_text_500",
]


def echo_answer(
    mode: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes, access: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """The echo server's answer: status, headers, body. Every answer repeats the request somewhere."""
    raw_head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    text_body = body.decode("utf-8", "replace")
    form = dict(parse_qsl(text_body))
    query = dict(parse_qsl(urlsplit(target).query))
    echo_headers = [
        ("X-Echo-Authorization", dict((k.lower(), v) for k, v in headers).get("authorization", "")),
        ("Set-Cookie", f"session={access}; Path=/"),
    ]
    is_token_call = urlsplit(target).path.endswith("/oauth/v2/token")

    def as_json(status: int, payload: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        return status, [("Content-Type", "application/json"), *echo_headers], json.dumps(payload).encode()

    if is_token_call and not mode.startswith("oauth"):
        return as_json(200, {"access_token": access, "expires_in": 3600, "token_type": "Bearer"})
    if mode == "oauth_form_description":
        return as_json(200, {"error": "invalid_client", "error_description": f"bad form: {text_body}"})
    if mode == "oauth_json_description":
        return as_json(200, {"error": "invalid_code", "error_description": json.dumps(form)})
    if mode == "oauth_headers_description":
        return as_json(200, {"error": "invalid_client", "error_description": raw_head + "\r\n" + text_body})
    if mode == "oauth_400_echo":
        return as_json(
            400, {"error": "Access Denied", "error_description": str(form), "echo": form, "headers": headers}
        )
    if mode == "oauth_text_500":
        return 500, [("Content-Type", "text/plain"), *echo_headers], (raw_head + "\r\n" + text_body).encode()
    echoed = {
        "headers": dict(headers),
        "header_list": headers,
        "query": query,
        "body": text_body,
        "json": json.loads(body) if body.startswith(b"{") else None,
    }
    if mode == "api_json_400":
        return as_json(
            400,
            {
                "code": "INVALID_DATA",
                "status": "error",
                "message": f"echo {raw_head} {text_body}",
                "details": echoed,
            },
        )
    if mode == "api_data_400":
        entry = {"code": "INVALID_DATA", "status": "error", "message": repr(echoed), "details": echoed}
        return as_json(400, {"data": [entry], "watch": [entry]})
    if mode == "api_json_401":
        return as_json(
            401, {"code": "AUTHENTICATION_FAILURE", "status": "error", "message": raw_head, "details": echoed}
        )
    if mode == "api_text_500":
        return 500, [("Content-Type", "text/plain"), *echo_headers], (raw_head + "\r\n" + text_body).encode()
    if mode == "api_html_502":
        page = f"<html><body><pre>{raw_head}\r\n{text_body}</pre></body></html>"
        return 502, [("Content-Type", "text/html"), *echo_headers], page.encode()
    raise AssertionError(f"unknown mode {mode!r}")


# -- a loopback echo server -------------------------------------------------------------------------


class EchoServer:
    def __init__(self, access: str) -> None:
        self.mode = "api_json_400"
        self.access = access
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    @asynccontextmanager
    async def running(cls, access: str) -> AsyncIterator[EchoServer]:
        server = cls(access)
        async with serve_loopback(server._connection) as port:
            server.port = port
            yield server

    async def _connection(self, stream: ByteStream) -> None:
        async with stream:
            try:
                buffer = b""
                for _ in range(10_000):
                    if b"\r\n\r\n" in buffer:
                        break
                    buffer += await stream.receive()
                head, _, body = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
                length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
                for _ in range(10_000):
                    if len(body) >= length:
                        break
                    body += await stream.receive()
                status, answer_headers, payload = echo_answer(
                    self.mode, method, target, headers, body, self.access
                )
                head_out = (
                    f"HTTP/1.1 {status} Echo\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n"
                )
                head_out += "".join(f"{k}: {v}\r\n" for k, v in answer_headers)
                await stream.send(head_out.encode("latin-1") + b"\r\n" + payload)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                return


# -- what is checked --------------------------------------------------------------------------------


def exception_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), repr(error.args), *(str(a) for a in error.args)]
    for name in ("message", "code", "details", "headers", "url", "records"):
        if hasattr(error, name):
            texts.append(repr(getattr(error, name)))
            texts.append(json.dumps(getattr(error, name), default=str))
    if error.__cause__ is not None:
        texts += [str(error.__cause__), repr(error.__cause__)]
    return texts


def object_texts(bigin: BiginClient) -> list[str]:
    transport = bigin.transport
    return [
        repr(bigin),
        str(bigin),
        repr(transport.settings),
        repr(transport.tokens),
        repr(transport.tokens.current),
        repr(bigin.notifications),
    ]


def assert_clean(texts: list[str], secrets: list[str]) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"{secret!r} leaked in: {text[:500]}"


def client(base: str, **overrides: Any) -> BiginClient:
    kwargs: dict[str, Any] = {
        "client_id": "1000.CLIENTIDCLIENTID",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
        "api_domain": base,
        "accounts_url": base,
        "retry_backoff_seconds": 0.0,
        "max_retries": 1,
    }
    kwargs.update(overrides)
    return BiginClient(**kwargs)


async def drive(bigin: BiginClient, call: str) -> BiginError:
    """One call that the echo refuses; the SDK's error it raised."""
    with pytest.raises(BiginError) as caught:
        if call == "request":
            await bigin.request("GET", "/org", params={"token": CHANNEL_TOKEN, "code": "grant"})
        elif call == "insert":
            await bigin.contacts.create({"Last_Name": "Echo"})
        else:
            await bigin.notifications.enable(
                "42", ["Contacts.edit"], "https://hooks.example/in", CHANNEL_TOKEN
            )
    return caught.value


@pytest.mark.parametrize("access", [ACCESS, ZOHO_ACCESS])
@pytest.mark.parametrize("mode", API_MODES + OAUTH_MODES)
async def test_an_echoing_server_on_a_socket_leaks_nothing(
    mode: str, access: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root: httpx, httpcore and bigin_async all propagate here
    for name in ("httpx", "httpcore", "bigin_async"):
        caplog.set_level(logging.DEBUG, logger=name)
    async with EchoServer.running(access) as server:
        server.mode = mode
        async with client(server.url) as bigin:
            errors = [await drive(bigin, call) for call in ("request", "insert", "enable")]
            texts = [t for error in errors for t in exception_texts(error)] + object_texts(bigin)
    texts += [caplog.text, *(record.getMessage() for record in caplog.records)]
    assert any(record.name.startswith("httpcore") for record in caplog.records)  # its DEBUG lines were seen
    assert_clean(texts, SECRETS)


@pytest.mark.parametrize("mode", API_MODES + OAUTH_MODES)
async def test_an_echoing_server_behind_respx_leaks_nothing(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def answer(request: httpx.Request) -> httpx.Response:
        headers = [(k, v) for k, v in request.headers.multi_items()]
        status, out, payload = echo_answer(
            mode, request.method, str(request.url.raw_path, "ascii"), headers, request.content, ZOHO_ACCESS
        )
        return httpx.Response(status, headers=out, content=payload)

    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=answer)
        async with client("https://www.zohoapis.com", accounts_url="https://accounts.zoho.com") as bigin:
            errors = [await drive(bigin, call) for call in ("request", "insert", "enable")]
            texts = [t for error in errors for t in exception_texts(error)] + object_texts(bigin)
    texts += [caplog.text, *(record.getMessage() for record in caplog.records)]
    assert_clean(texts, SECRETS)


async def test_what_is_not_a_secret_survives_the_redaction() -> None:
    """Redaction must not eat the error itself: code, status, message words and details are kept."""
    async with EchoServer.running(ACCESS) as server:
        server.mode = "api_json_400"
        async with client(server.url) as bigin:
            error = await drive(bigin, "insert")
    assert getattr(error, "code", None) == "INVALID_DATA" and getattr(error, "status_code", None) == 400
    details = getattr(error, "details", {})
    assert details["json"]["data"][0]["Last_Name"] == "Echo"
    sent = {k.lower(): v for k, v in details["headers"].items()}
    assert sent["authorization"] == "***" and sent["content-type"] == "application/json"
    assert "echo POST /bigin/v2/Contacts" in str(error)


# -- the redaction itself, on any surrounding text ------------------------------------------------

SHAPES = [
    "client_secret={s}",
    "refresh_token={s}&x=1",
    '"refresh_token": "{s}"',
    "{{'access_token': '{s}'}}",
    "Authorization: Zoho-oauthtoken {s}",
    "authorization=Basic {s}",
    "Bearer {s}",
    "?code={s}&state=1",
    "(b'X-Channel-Token', b'{s}')",
    "Set-Cookie: session={s}; Path=/",
    '{{"headers": {{"Authorization": "Bearer {s}"}}}}',
]
secret_text = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPRSTUVWXYZ0123456789-_", min_size=8, max_size=40
)


# The secret alone holds a "Q", so finding it after redaction can only mean it leaked.
around = st.text(alphabet=st.characters(exclude_characters="Q"), max_size=40)


@settings(max_examples=400, deadline=None)
@given(around, st.sampled_from(SHAPES), secret_text, around)
def test_a_secret_in_any_surrounding_text_is_redacted(
    prefix: str, shape: str, tail: str, suffix: str
) -> None:
    secret = "Q" + tail
    text = prefix + " " + shape.format(s=secret) + suffix
    cleaned = redact_text(text)
    assert secret not in cleaned
    assert redact_text(cleaned) == cleaned


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=[]), max_size=300))
def test_redaction_never_raises_and_is_idempotent(text: str) -> None:
    cleaned = redact_text(text)
    assert redact_text(cleaned) == cleaned
    assert redact_value({text: [text, (text,)]}) == {cleaned: [cleaned, (cleaned,)]} or any(
        is_secret_key(k) for k in (text, cleaned)
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "token" * 200_000,
        "a" * 1_000_000,
        "'token', " * 100_000,
        '"token": "' + "x" * 1_000_000,
        "_" * 1_000_000 + "token=",
        "Bearer " * 100_000,
        "1000.a." * 150_000,
        "x=" * 500_000,
    ],
)
def test_redaction_of_a_megabyte_of_hostile_text_ends(hostile: str) -> None:
    """No pattern backtracks per character (these took minutes with a naive key pattern)."""
    assert len(redact_text(hostile)) > 0
