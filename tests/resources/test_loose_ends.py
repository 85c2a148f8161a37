"""Loose ends of issue #9: deep or broken answers typed, ambiguous writes keep their records, every
error exported, notifications parsed in the retry loop, reprs without channel tokens, secrets
redacted by value, finite rate-limit waits."""

from __future__ import annotations

import inspect
import json
import random
import string
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

import bigin_async
import bigin_async.auth
import bigin_async.errors
from bigin_async import AmbiguousWriteError, APIError, BiginClient, RateLimitError
from bigin_async._redact import REDACTED, redact_text, redact_url, redact_value, register_secret
from bigin_async._transport import _ambiguous, decode_json
from bigin_async.errors import error_from_response, parse_retry_after
from bigin_emulator.state.watches import Channel, Delivery

DEEP = b"[" * 100_000
BODY_SECRET = "leaky-body-SECRET-7f3a9c"
# Not JSON (cut short), and the secret sits in the part the decoder already read.
BROKEN_WITH_SECRET = ('{"data": [{"note": "' + BODY_SECRET + '"}], "info": ').encode()


def client_answering(
    answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request], **settings: Any
) -> BiginClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    settings.setdefault("retry_backoff_seconds", 0.0)
    return BiginClient(access_token="1000.access-SECRET", transport=httpx.MockTransport(handler), **settings)


def chain(error: BaseException | None) -> Iterator[BaseException]:
    """The error, its causes and contexts (bounded: a cycle cannot loop)."""
    seen: set[int] = set()
    todo = [error]
    while todo and len(seen) < 50:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]


def assert_body_unreachable(error: BaseException) -> None:
    """No exception in the chain keeps the body (json's ``.doc``, a decode error's ``.object``) or
    shows the secret in its text."""
    links = list(chain(error))
    assert len(links) >= 1
    for link in links:
        assert BODY_SECRET not in str(getattr(link, "doc", "")), f"{type(link).__name__}.doc keeps the body"
        kept = getattr(link, "object", b"")
        assert BODY_SECRET.encode() not in (kept if isinstance(kept, bytes) else str(kept).encode())
        assert BODY_SECRET not in str(link) and BODY_SECRET not in repr(link)
        for arg in link.args:
            assert BODY_SECRET not in str(arg)


# -- 1. deep or broken 2xx answers ---------------------------------------------------------------
async def test_an_answer_that_is_not_utf8_does_not_keep_its_body_in_the_exception_chain() -> None:
    seen: list[httpx.Request] = []
    body = b'{"data": [{"note": "' + BODY_SECRET.encode() + b'\xff"}]}'
    async with client_answering(lambda r: httpx.Response(200, content=body), seen, max_retries=0) as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.request("GET", "/org")
    assert caught.value.code == "MALFORMED_RESPONSE"
    assert_body_unreachable(caught.value)


async def test_a_deeply_nested_read_answer_is_retried_then_malformed_response() -> None:
    seen: list[httpx.Request] = []
    async with client_answering(lambda r: httpx.Response(200, content=DEEP), seen, max_retries=2) as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.transport.send_parsed("GET", "/org", lambda r: json.loads(r.content))
    assert caught.value.code == "MALFORMED_RESPONSE"
    assert "RecursionError" in str(caught.value)
    assert len(seen) == 3  # the first try and two retries


async def test_a_deeply_nested_insert_answer_is_ambiguous_and_not_re_sent() -> None:
    seen: list[httpx.Request] = []
    record = {"Last_Name": "Deep"}
    async with client_answering(lambda r: httpx.Response(201, content=DEEP), seen, max_retries=3) as bigin:
        with pytest.raises(AmbiguousWriteError) as caught:
            await bigin.transport.send_parsed(
                "POST", "/Contacts", lambda r: json.loads(r.content), json={"data": [record]}
            )
    assert len(seen) == 1
    assert caught.value.records == [record]


def test_decode_json_types_deep_nesting() -> None:
    response = httpx.Response(
        200, content=DEEP, request=httpx.Request("GET", "https://www.zohoapis.com/bigin/v2/org")
    )
    with pytest.raises(APIError) as caught:
        decode_json(response)
    assert caught.value.code == "MALFORMED_RESPONSE"


async def test_a_broken_read_answer_does_not_keep_its_body_in_the_exception_chain() -> None:
    seen: list[httpx.Request] = []
    async with client_answering(
        lambda r: httpx.Response(200, content=BROKEN_WITH_SECRET), seen, max_retries=1
    ) as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.transport.send_parsed("GET", "/org", lambda r: json.loads(r.content))
        assert caught.value.code == "MALFORMED_RESPONSE"
        assert_body_unreachable(caught.value)
        # The same through the client's own parsers (client.request, a module's list).
        with pytest.raises(APIError) as caught_request:
            await bigin.request("GET", "/org")
        assert_body_unreachable(caught_request.value)
        with pytest.raises(APIError) as caught_list:
            await bigin.contacts.list(fields=["Last_Name"]).first_page()
        assert_body_unreachable(caught_list.value)


async def test_a_broken_insert_answer_does_not_keep_its_body_in_the_exception_chain() -> None:
    seen: list[httpx.Request] = []
    async with client_answering(lambda r: httpx.Response(201, content=BROKEN_WITH_SECRET), seen) as bigin:
        with pytest.raises(AmbiguousWriteError) as caught:
            await bigin.transport.send_parsed(
                "POST", "/Contacts", lambda r: json.loads(r.content), json={"data": [{"Last_Name": "X"}]}
            )
    assert_body_unreachable(caught.value)


def test_decode_json_and_error_from_response_do_not_keep_the_body() -> None:
    request = httpx.Request("GET", "https://www.zohoapis.com/bigin/v2/org")
    with pytest.raises(APIError) as caught:
        decode_json(httpx.Response(200, content=BROKEN_WITH_SECRET, request=request))
    assert_body_unreachable(caught.value)
    # A 5xx that is not JSON keeps a short redacted excerpt in its message by design (a proxy's
    # page says what went wrong), but no decoder error holding the whole body.
    error = error_from_response(httpx.Response(500, content=BROKEN_WITH_SECRET, request=request))
    assert error.__cause__ is None and error.__context__ is None
    deep = error_from_response(httpx.Response(500, content=DEEP, request=request))
    assert deep.status_code == 500


# -- 2. an ambiguous write names its records, whatever the body's shape ---------------------------
@pytest.mark.parametrize(
    ("body", "records"),
    [
        ({"data": [{"Last_Name": "A"}], "trigger": []}, [{"Last_Name": "A"}]),
        ({"pipelines": [{"display_value": "P", "maps": []}]}, [{"display_value": "P", "maps": []}]),
        (
            {"watch": [{"channel_id": "1", "events": ["Contacts.all"]}]},
            [{"channel_id": "1", "events": ["Contacts.all"]}],
        ),
        # A bare record (Zoho Books' POST /contacts) is itself the one record sent.
        (
            {"contact_name": "B", "contact_persons": [{"email": "b@x.y"}]},
            [{"contact_name": "B", "contact_persons": [{"email": "b@x.y"}]}],
        ),
        ([{"a": 1}, {"b": 2}], [{"a": 1}, {"b": 2}]),
        (None, []),
    ],
)
def test_ambiguous_finds_the_records_of_every_write_body(body: Any, records: list[Any]) -> None:
    error = _ambiguous("POST", "https://www.zohoapis.com/bigin/v2/x", body, None, reason="cut")
    assert error.records == records
    assert f"{len(records)} record(s)" in str(error)


async def test_a_pipeline_create_cut_by_a_5xx_names_the_pipeline() -> None:
    seen: list[httpx.Request] = []
    async with client_answering(
        lambda r: httpx.Response(500, json={"code": "INTERNAL_ERROR"}), seen
    ) as bigin:
        with pytest.raises(AmbiguousWriteError) as caught:
            await bigin.pipelines.create("Sales", ["Qualification", "Won"])
    assert len(seen) == 1
    assert [entry["display_value"] for entry in caught.value.records] == ["Sales"]


# -- 3. every error class importable from the package ---------------------------------------------
def test_every_exception_class_of_errors_and_auth_is_exported() -> None:
    classes = {
        name: obj
        for module in (bigin_async.errors, bigin_async.auth)
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__
    }
    assert {"RefreshBlockedError", "JournalError", "APIError"} <= set(classes)
    for name, cls in classes.items():
        assert getattr(bigin_async, name, None) is cls, name
        assert name in bigin_async.__all__, name
    assert issubclass(bigin_async.RefreshBlockedError, bigin_async.AuthenticationError)


# -- 5. reprs without channel tokens or settings secrets -----------------------------------------
CHANNEL_TOKEN = "chan-token-SECRET-91"


def test_emulator_channels_and_deliveries_hide_the_channel_token() -> None:
    channel = Channel(
        channel_id="1",
        module="Contacts",
        module_id="2",
        actions=["all"],
        notify_url="https://hooks.example/in?token=" + CHANNEL_TOKEN,
        token=CHANNEL_TOKEN,
        expires_at=0.0,
        resource_uri="https://www.zohoapis.com/bigin/v2/Contacts",
    )
    delivery = Delivery(
        channel_id="1",
        url="https://hooks.example/in?token=" + CHANNEL_TOKEN,
        payload={"token": CHANNEL_TOKEN, "ids": ["5"]},
    )
    for shown in (repr(channel), str(channel), repr(delivery), repr([delivery]), repr({"c": channel})):
        assert CHANNEL_TOKEN not in shown
    assert "Contacts" in repr(channel) and "channel_id='1'" in repr(delivery)
    assert channel.token == CHANNEL_TOKEN and delivery.payload["token"] == CHANNEL_TOKEN  # still usable


def test_sync_settings_hide_their_secrets() -> None:
    pytest.importorskip("fastapi")
    from examples.bigin_books_sync.app import SyncSettings

    settings = SyncSettings(
        public_url="https://sync.example", books_organization_id="42", webhook_token=CHANNEL_TOKEN
    )
    assert CHANNEL_TOKEN not in repr(settings)
    assert "sync.example" in repr(settings)
    default = SyncSettings(public_url="https://sync.example", books_organization_id="42")
    assert default.webhook_token not in repr(default)
    assert settings.webhook_token == CHANNEL_TOKEN


# -- 6. secrets redacted by value -----------------------------------------------------------------
def test_a_registered_secret_is_redacted_by_value_wherever_it_appears() -> None:
    secret = "abc123-" + "".join(random.choices(string.ascii_letters, k=12))
    assert secret in redact_text(f"bad secret {secret}")  # no label, no known shape: patterns miss it
    register_secret(secret)
    assert redact_text(f"bad secret {secret}") == f"bad secret {REDACTED}"
    assert secret not in redact_text(f"x{secret}y;{secret[:-1]};{secret}")
    assert secret[:-1] in redact_text(secret[:-1])  # only the whole value
    assert secret not in str(redact_value({"note": [f"echo {secret}"], "b": secret.encode()}))
    assert secret not in redact_url(f"https://h.example/p?q=1&x={secret}")
    odd = "s3cr/et+" + secret  # percent-encoded in a URL or a form
    register_secret(odd)
    for spelling in (quote(odd, safe=""), quote_plus(odd)):
        cleaned = redact_url(f"https://h.example/p?x={spelling}")
        assert spelling not in cleaned and odd not in cleaned and "h.example" in cleaned
    assert redact_text(redact_text(f"a {secret} b")) == redact_text(f"a {secret} b")  # idempotent
    error = APIError(f"the server said {secret}", status_code=400, details={"echo": secret})
    assert secret not in str(error) and secret not in repr(error.details)


def test_short_or_odd_values_are_not_registered() -> None:
    register_secret("short")  # under 8 characters: would scrub ordinary words
    register_secret("")
    assert redact_text("a short note") == "a short note"
    with pytest.raises(TypeError):
        register_secret(12345678)  # type: ignore[arg-type]


def test_a_secret_inside_a_pattern_match_leaves_no_tail() -> None:
    # The pattern's value stops at ';': without scrubbing by value, "token=***;tail..." would keep the tail.
    secret = "head;tail-" + "".join(random.choices(string.ascii_letters, k=10))
    register_secret(secret)
    assert secret.split(";")[1] not in redact_text(f"token={secret}")


def test_redaction_by_value_stays_linear_on_a_hostile_megabyte() -> None:
    rng = random.Random(9)
    secrets = [
        "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(8, 40))) for _ in range(20)
    ]
    for secret in secrets:
        register_secret(secret)
    alphabet = string.ascii_letters + string.digits + " =:\"'&;,{}[]-_."
    text = "".join(rng.choices(alphabet, k=1_000_000))
    text = text[:1000] + secrets[0] + text[1000:] + secrets[-1]
    started = time.perf_counter()
    cleaned = redact_text(text)
    elapsed = time.perf_counter() - started
    print(f"\nredact_text: 1 MB of hostile text, 20 registered secrets: {elapsed:.3f}s")
    assert secrets[0] not in cleaned and secrets[-1] not in cleaned


# -- 7. finite rate-limit waits -------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "1e400"},
        {"retry-after": "inf"},
        {"retry-after": "nan"},
        {"retry-after": "-inf"},
        {"x-ratelimit-reset": "1e400"},
        {"x-ratelimit-reset": "nan"},
        {"retry-after": "Tue, 99 Zzz 99999999 99:99:99 GMT"},
        {"retry-after": "Mon, 01 Jan 99999 00:00:00 GMT"},
    ],
)
def test_an_unreadable_or_infinite_wait_is_none(headers: dict[str, str]) -> None:
    assert parse_retry_after(headers) is None
    request = httpx.Request("GET", "https://www.zohoapis.com/bigin/v2/org")
    error = error_from_response(
        httpx.Response(429, headers=headers, json={"code": "TOO_MANY_REQUESTS"}, request=request)
    )
    assert isinstance(error, RateLimitError)
    assert error.retry_after is None


def test_a_readable_wait_stays_finite_and_kept() -> None:
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after": "1e300"}) == 1e300
    assert parse_retry_after({"x-ratelimit-reset": "12"}) == 12.0


@pytest.mark.parametrize(("status", "retried"), [(500, True), (400, False), (401, False), (429, True)])
async def test_a_deeply_nested_error_answer_is_still_its_typed_error(status: int, retried: bool) -> None:
    seen: list[httpx.Request] = []
    async with client_answering(lambda r: httpx.Response(status, content=DEEP), seen, max_retries=1) as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.request("GET", "/org")
    assert caught.value.status_code == status
    assert len(seen) == (2 if retried else 1)


# -- the token manager registers the secrets it holds, so an unlabelled echo is scrubbed too --------
def test_the_token_manager_s_secrets_are_redacted_by_value_without_a_label() -> None:
    from pydantic import SecretStr

    from bigin_async._redact import redact_text
    from bigin_async.auth import Token, TokenManager

    secret, refresh, access = "plainsecret4711xyz", "plainrefresh0815abc", "plainaccess2342qrs"
    TokenManager(
        token_url="https://accounts.zoho.com/oauth/v2/token",
        client_id=SecretStr("client-id-1"),
        client_secret=SecretStr(secret),
        refresh_token=SecretStr(refresh),
    )
    Token(SecretStr(access), None)
    echoed = redact_text(f"bad value {secret} / {refresh} / {access} seen")
    assert secret not in echoed and refresh not in echoed and access not in echoed
    assert echoed.startswith("bad value ") and echoed.endswith(" seen")


async def test_closing_the_client_ends_a_refresh_in_progress_for_its_waiters() -> None:
    """Transport.aclose closes the token manager: a waiter gets the typed error, not the flight's bound."""
    import anyio
    import httpx
    import respx

    from bigin_async import BiginClient, ConfigurationError

    started = anyio.Event()
    release = anyio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await release.wait()
        return httpx.Response(200, json={"access_token": "x" * 20, "expires_in": 3600})

    with respx.mock(assert_all_called=False) as router:
        router.post("https://accounts.zoho.com/oauth/v2/token").mock(side_effect=hang)
        client = BiginClient(client_id="id", client_secret="s" * 12, refresh_token="r" * 12)
        errors: list[BaseException] = []

        async def call() -> None:
            try:
                await client.request("GET", "/org")
            except BaseException as exc:  # noqa: BLE001 - the test inspects what the waiter got
                errors.append(exc)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                await started.wait()
                await client.aclose()
        release.set()
    assert len(errors) == 1 and isinstance(errors[0], ConfigurationError)


async def test_a_deeply_nested_token_answer_is_a_typed_authentication_error() -> None:
    import httpx
    import respx
    from pydantic import SecretStr

    from bigin_async import AuthenticationError
    from bigin_async.auth import TokenManager

    with respx.mock() as router:
        router.post("https://accounts.zoho.com/oauth/v2/token").mock(
            return_value=httpx.Response(200, content=b"[" * 100_000)
        )
        async with httpx.AsyncClient() as http:
            tokens = TokenManager(
                token_url="https://accounts.zoho.com/oauth/v2/token",
                client_id=SecretStr("client-id-1"),
                client_secret=SecretStr("s" * 12),
                refresh_token=SecretStr("r" * 12),
            )
            tokens.http = http
            with pytest.raises(AuthenticationError):
                await tokens.get_token()


# -- bulk answers and journal lines nested past the parser ------------------------------------------
def test_a_deeply_nested_bulk_answer_is_unreadable_and_keeps_no_body() -> None:
    from bigin_async.bulk.answers import UnreadableAnswerError, read_answers

    for content in (b"[" * 100_000, b'{"data": "' + b"secret-body " * 10 + b"'"):
        with pytest.raises(UnreadableAnswerError) as caught:
            read_answers(content)
        chained = [caught.value.__cause__, caught.value.__context__]
        assert all(getattr(error, "doc", "") in ("", None) for error in chained if error is not None)


async def test_a_deeply_nested_4xx_bulk_answer_is_the_typed_error() -> None:
    import httpx

    from bigin_async import APIError
    from bigin_async.bulk.engine import _per_record

    response = httpx.Response(
        400,
        content=b"[" * 100_000,
        request=httpx.Request("POST", "https://www.zohoapis.com/bigin/v2/Contacts"),
    )
    with pytest.raises(APIError):
        _per_record(response, [])


def test_a_journal_line_nested_past_the_parser_is_a_journal_error(tmp_path: Path) -> None:
    from bigin_async import JournalError
    from bigin_async.bulk.journal import Journal

    path = tmp_path / "run.journal"
    header = Journal(path, module="Contacts", mode="create")._headers()[-1]
    path.write_bytes(header + b"[" * 100_000 + b"\n")
    journal = Journal(path, module="Contacts", mode="create")
    with pytest.raises(JournalError):
        journal.lock_and_load()
    journal.close()


def test_a_client_secret_stays_redacted_however_many_access_tokens_come_after_it() -> None:
    # Access tokens rotate every hour: registered as they came, 64 of them pushed a long-lived
    # client's secret and refresh token out, and an unlabelled echo of either then showed.
    from bigin_async._redact import MAX_SECRETS

    lasting = "plain-client-secret-" + "".join(random.choices(string.ascii_lowercase, k=12))
    register_secret(lasting, lasting=True)
    for n in range(MAX_SECRETS * 3):
        register_secret(f"access-token-number-{n:04d}")
    assert lasting not in redact_text(f"client secret {lasting} not accepted")
    assert "access-token-number-0000" in redact_text("old access-token-number-0000")  # forgotten
    assert f"access-token-number-{MAX_SECRETS * 3 - 1:04d}" not in redact_text(
        f"new access-token-number-{MAX_SECRETS * 3 - 1:04d}"
    )
