"""Redaction, review of session 19 (helper-92): what an echo may spell, and what is not a secret.

- A registered secret was caught raw and percent-encoded in upper case only: a server echoing it
  JSON-escaped with ``\\/`` (PHP, Java), lower-case percent-encoded, HTML-escaped or as Python's
  ``repr`` writes a backslash showed it whole.
- The words after an error code naming a token were taken for its value: Bigin's 401 read
  ``INVALID_TOKEN: *** oauth token``, and OAuth's details lost the key ``'error_description'``.
- With HTTP/2, hpack logs every header it encodes or decodes at DEBUG on loggers with no filter.
- The FastAPI handler's records had no structured field of their own.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from bigin_async import APIError, BiginClient, ServerError
from bigin_async._redact import RedactingFilter, redact_text, register_secret, spellings
from bigin_async.auth._endpoint import oauth_error
from bigin_async.errors import error_from_body
from bigin_async.integrations.fastapi import add_bigin_exception_handlers

REFRESH = "refresh/token+value=="  # base64-style: a token broker set as accounts_url
SECRET = 'client"se\\cret&value'
ACCESS = "access/token+value=="

SPELLINGS: dict[str, Callable[[str], str]] = {
    "json_escaped_slash": lambda s: json.dumps(s).replace("/", "\\/"),
    "json": json.dumps,
    "lowercase_percent": lambda s: quote(s, safe="").lower(),
    "html_entities": html.escape,
    "python_repr": repr,
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
async def test_an_echo_in_another_spelling_is_scrubbed(spelling: str) -> None:
    spell = SPELLINGS[spelling]

    def zoho(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json={"access_token": ACCESS, "expires_in": 3600})
        echo = " ".join(spell(secret) for secret in (REFRESH, SECRET, ACCESS))
        return httpx.Response(502, text=f"gateway echo: {echo}")

    async with BiginClient(
        client_id="1000.CID",
        client_secret=SECRET,
        refresh_token=REFRESH,
        transport=httpx.MockTransport(zoho),
        max_retries=0,
    ) as bigin:
        with pytest.raises(APIError) as raised:
            await bigin.contacts.list(per_page=5)
    text = f"{raised.value} {raised.value!r} {raised.value.message}"
    for secret in (REFRESH, SECRET, ACCESS):
        assert spell(secret) not in text, text


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_every_spelling_of_a_registered_value_is_scrubbed(spelling: str) -> None:
    value = "plain/value+with 'odd\" chars&more"
    register_secret(value)
    echoed = SPELLINGS[spelling](value).strip("\"'")
    scrubbed = redact_text(f"echo: {echoed} end")
    assert echoed not in scrubbed and "odd" not in scrubbed
    assert scrubbed.startswith("echo: ") and scrubbed.endswith(" end")


def test_spellings_hold_the_value_and_its_escapes() -> None:
    forms = spellings("a/b")
    assert {"a/b", "a%2Fb", "a%2fb", "a\\/b"} <= forms


def test_bigins_invalid_token_answer_keeps_its_message() -> None:
    error = error_from_body(
        401,
        {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"},
        method="GET",
        url="https://www.zohoapis.com/bigin/v2/Contacts",
    )
    assert "INVALID_TOKEN: invalid oauth token" in str(error), str(error)


def test_an_oauth_error_keeps_its_words_and_detail_keys() -> None:
    error = oauth_error(
        {"error": "invalid_token", "error_description": "the token has expired"},
        400,
        "https://accounts.zoho.com/oauth/v2/token/revoke",
    )
    text = str(error)
    assert "invalid_token: OAuth token request failed" in text, text
    assert "'error_description'" in text, text


@pytest.mark.parametrize(
    "text",
    [
        "refresh_token=1234567890abcdef",
        "API_TOKEN=1234567890abcdef",
        "invalid_token=1234567890abcdef",  # a key, with ``=``: still a pair
        "(b'X-Refresh-Token', b'1234567890abcdef')",
        '"client_secret": "1234567890abcdef"',
    ],
)
def test_real_pairs_are_still_redacted(text: str) -> None:
    assert "1234567890abcdef" not in redact_text(text)


@pytest.mark.parametrize("name", ["hpack", "hpack.hpack", "hpack.table"])
def test_hpacks_loggers_are_filtered(name: str) -> None:
    target = logging.getLogger(name)
    (redacting,) = [kept for kept in target.filters if isinstance(kept, RedactingFilter)]
    header = (b"authorization", b"Zoho-oauthtoken 1234567890abcdef")
    record = target.makeRecord(name, logging.DEBUG, __file__, 1, "Decoded %s", (header,), None)
    assert redacting.filter(record)
    assert "1234567890abcdef" not in record.getMessage()


async def test_the_fastapi_handlers_record_names_what_happened(caplog: pytest.LogCaptureFixture) -> None:
    app = add_bigin_exception_handlers(FastAPI())

    @app.get("/boom")
    async def boom() -> None:
        raise ServerError("upstream failed", status_code=503, code="X")

    caplog.set_level(logging.DEBUG, logger="bigin_async")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as http:
        answer = await http.get("/boom")
    assert answer.status_code == 503
    (record,) = [record for record in caplog.records if record.name == "bigin_async.fastapi"]
    assert record.bigin_event == "error_answered"  # type: ignore[attr-defined]
    assert record.bigin_status == 503  # type: ignore[attr-defined]
    assert record.bigin_error == "ServerError"  # type: ignore[attr-defined]
    assert record.bigin_method == "GET"  # type: ignore[attr-defined]


def test_a_registration_works_out_only_the_new_values_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Review (helper-96): every registration spelled every value registered again (1,088 of
    # them at most), under the lock, on the event loop's thread: 12-16 ms each with a full table.
    import bigin_async._redact as redact

    spelled: list[str] = []
    real = redact.spellings

    def counting(value: str) -> frozenset[str]:
        spelled.append(value)
        return real(value)

    monkeypatch.setattr(redact, "spellings", counting)
    for n in range(5):
        register_secret(f"lasting/secret+{n}==", lasting=True)
    register_secret("lasting/secret+0==", lasting=True)  # known: only its place changes
    assert spelled == [f"lasting/secret+{n}==" for n in range(5)]
    assert "lasting/secret+4==" not in redact_text("echo lasting%2fsecret%2b4%3d%3d end")
    assert "lasting%2fsecret%2b4" not in redact_text("echo lasting%2fsecret%2b4%3d%3d end")


@pytest.mark.parametrize(
    "text",
    [
        '{"invalid_token": "Hx7pQ2mZ9vK4"}',
        '{"expired_refresh_token": "Hx7pQ2mZ9vK4"}',
        "{'revoked_token': 'Hx7pQ2mZ9vK4'}",
        "expired_token: Hx7pQ2mZ9vK4",
        "bad_password: Hx7pQ2mZ9vK4",
        "missing_api_key: Hx7pQ2mZ9vK4",
    ],
)
def test_a_value_under_a_name_of_refusal_is_still_a_secret(text: str) -> None:
    # Review (helper-96): the error-code rule let these through (only prose after a code is kept).
    assert "Hx7pQ2mZ9vK4" not in redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "['authorization', 'Hx7pQ2mZ9vK4wq']",
        '[["authorization","Hx7pQ2mZ9vK4wq"]]',
        '{"headers": [["Authorization", "Hx7pQ2mZ9vK4wq"]]}',
        "'client_secret', 'Hx7pQ2mZ9vK4wq'",
        "(b'X-Refresh-Token', b'Hx7pQ2mZ9vK4wq')",
        "X-Api-Key: Hx7pQ2mZ9vK4wq",
        '{"x-api-key": "Hx7pQ2mZ9vK4wq"}',
        "revoked_token: Basic Hx7pQ2mZ9vK4wq",
    ],
)
def test_pairs_in_lists_and_api_keys_are_redacted(text: str) -> None:
    # Review (helper-99): d90f90b asked for a '(' before a ``key, value`` pair, so lists and JSON
    # arrays of headers showed their values; X-Api-Key (a hyphen) and "Basic <secret>" after an
    # error code never were redacted.
    assert "Hx7pQ2mZ9vK4wq" not in redact_text(text)


def test_a_dicts_repr_keeps_its_keys() -> None:
    text = "{'error': 'invalid_token', 'error_description': 'the token has expired'}"
    assert redact_text(text) == text


async def test_a_token_a_store_gives_without_its_checks_is_redacted_by_value() -> None:
    # Review (helper-99): a Token unpickled by a store skipped __post_init__, so its value was
    # never registered, and an echo of it with no label showed.
    import secrets

    from pydantic import SecretStr

    from bigin_async.auth import MemoryTokenStore, Token, TokenManager

    value = "proxyaccesstokenvalue-" + secrets.token_hex(8)  # its own per run: the registry is global
    unpickled = object.__new__(Token)  # what pickle.loads builds: no __init__, no __post_init__
    object.__setattr__(unpickled, "access_token", SecretStr(value))
    object.__setattr__(unpickled, "expires_at", 4e9)
    object.__setattr__(unpickled, "api_domain", None)
    object.__setattr__(unpickled, "lifetime", None)
    assert value in redact_text(f"Zoho said: bad token {value}")  # not registered by building it
    store = MemoryTokenStore()
    manager = TokenManager(
        token_url="https://accounts.zoho.com/oauth/v2/token",
        client_id=SecretStr("1000.CID"),
        client_secret=SecretStr("plainclientsecret"),
        refresh_token=SecretStr("plainrefreshtoken"),
        store=store,
    )
    await store.save(manager.store_key, unpickled)
    assert (await manager.get_token()).access_token.get_secret_value() == value
    assert value not in redact_text(f"Zoho said: bad token {value}")
