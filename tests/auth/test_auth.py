"""OAuth: token errors with likely causes, code exchange, revoke, stores, cross-process refresh."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
import respx
from pydantic import SecretStr

from bigin_async import (
    AuthenticationError,
    BiginClient,
    BiginConnectionError,
    BiginTimeoutError,
    FileTokenStore,
    Scope,
    authorization_url,
    exchange_code,
    revoke,
)
from bigin_async.auth import SCOPES, Token, TokenManager
from bigin_async.errors import ServerError
from tests.helpers.transport import (
    API,
    SECRET_STRINGS,
    SECRETS,
    TOKEN_URL,
    make_client,
    mock_token,
    token_body,
)


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"error": "invalid_client"}, "check the region"),
        ({"error": "invalid_code"}, "revoked"),
        (
            {"error": "Access Denied", "error_description": "You have made too many requests continuously"},
            "10 in 10 minutes",
        ),
    ],
)
async def test_oauth_errors_in_200_bodies_raise_with_the_likely_cause(
    body: dict[str, str], hint: str
) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URL).respond(200, json=body)
        api = router.get(f"{API}/org").respond(json={})
        async with make_client() as bigin:
            with pytest.raises(AuthenticationError, match=hint) as info:
                await bigin.request("GET", "/org")
        assert info.value.code == body["error"]
        assert api.call_count == 0  # nothing is sent without a token
        for secret in SECRET_STRINGS:
            assert secret not in str(info.value)


async def test_refresh_sends_the_form_and_accepts_expires_in_sec() -> None:
    with respx.mock() as router:
        token_route = router.post(TOKEN_URL).respond(
            json={"access_token": "a", "expires_in_sec": 3600, "api_domain": "https://www.zohoapis.com"}
        )
        router.get(f"{API}/org").respond(json={})
        async with make_client() as bigin:
            await bigin.request("GET", "/org")
            token = bigin.transport.tokens.current
            assert token is not None and token.expires_at is not None
        form = parse_qs(token_route.calls.last.request.content.decode())
        assert form == {
            "grant_type": ["refresh_token"],
            "client_id": [SECRETS["client_id"]],
            "client_secret": [SECRETS["client_secret"]],
            "refresh_token": [SECRETS["refresh_token"]],
        }
        assert token_route.calls.last.request.headers["content-type"] == "application/x-www-form-urlencoded"


def test_authorization_url_for_a_region() -> None:
    url = authorization_url("cid", "https://app.example/cb", region="Canada", state="xyz")
    parts = urlsplit(url)
    assert parts.netloc == "accounts.zohocloud.ca" and parts.path == "/oauth/v2/auth"
    query = parse_qs(parts.query)
    assert query["scope"] == [",".join(SCOPES)]
    assert query["access_type"] == ["offline"] and query["state"] == ["xyz"]
    assert Scope.SEARCH_READ == "ZohoSearch.securesearch.READ"
    assert Scope.module("Contacts", "read") == "ZohoBigin.modules.contacts.READ"


async def test_exchange_code_and_revoke() -> None:
    with respx.mock() as router:
        grant = router.post("https://accounts.zoho.eu/oauth/v2/token").respond(
            json={
                **token_body("acc"),
                "refresh_token": "1000.new-refresh",
                "api_domain": "https://www.zohoapis.eu",
            }
        )
        revoke_route = router.post("https://accounts.zoho.eu/oauth/v2/token/revoke").respond(
            json={"status": "success"}
        )
        result = await exchange_code(
            "1000.code", client_id="cid", client_secret="cs", redirect_uri="https://x/cb", region="eu"
        )
        assert (
            result.refresh_token is not None and result.refresh_token.get_secret_value() == "1000.new-refresh"
        )
        assert result.api_domain == "https://www.zohoapis.eu"
        assert "1000.new-refresh" not in repr(result)
        assert parse_qs(grant.calls.last.request.content.decode())["grant_type"] == ["authorization_code"]
        await revoke("1000.new-refresh", region="eu")
        assert revoke_route.calls.last.request.url.params["token"] == "1000.new-refresh"


async def test_exchange_code_error() -> None:
    with respx.mock() as router:
        router.post(TOKEN_URL).respond(json={"error": "invalid_code"})
        with pytest.raises(AuthenticationError, match="invalid_code"):
            await exchange_code("bad", client_id="cid", client_secret="cs")


async def test_file_token_store_is_private_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    with respx.mock() as router:
        token_route = mock_token(router, "shared-token")
        router.get(f"{API}/org").respond(json={})
        async with make_client(token_store=FileTokenStore(path)) as first:
            await first.request("GET", "/org")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        # A second process (client) finds the stored token fresh and does not refresh.
        async with make_client(token_store=FileTokenStore(path)) as second:
            await second.request("GET", "/org")
        assert token_route.call_count == 1
        assert "shared-token" in path.read_text()
        assert SECRETS["refresh_token"] not in path.read_text()


async def test_file_store_round_trip_and_clear(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    token = Token.from_json({"access_token": "x", "expires_at": 5.0, "api_domain": None})
    await store.save("k", token)
    loaded = await store.load("k")
    assert loaded is not None and loaded.access_token.get_secret_value() == "x" and loaded.expires_at == 5.0
    await store.clear("k")
    assert await store.load("k") is None
    (tmp_path / "t.json").write_text("not json")
    assert await store.load("k") is None


def test_cross_process_refresh_happens_once(tmp_path: Path) -> None:
    """Four processes with expired tokens and one shared file: exactly one refresh between them."""
    import subprocess
    import sys
    import textwrap

    counter = tmp_path / "refreshes.txt"
    script = textwrap.dedent(
        f"""
        import anyio, httpx, sys
        from bigin_async import BiginClient, FileTokenStore

        def handler(request):
            if request.url.path.endswith("/oauth/v2/token"):
                with open({str(counter)!r}, "a") as f:
                    f.write("x")
                return httpx.Response(200, json={{"access_token": "tok", "expires_in": 3600}})
            return httpx.Response(200, json={{"ok": True}})

        async def main():
            async with BiginClient(client_id="a", client_secret="b", refresh_token="c",
                                   token_store=FileTokenStore({str(tmp_path / "shared.json")!r}),
                                   transport=httpx.MockTransport(handler)) as bigin:
                await bigin.request("GET", "/org")

        anyio.run(main)
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert counter.read_text() == "x"


async def test_httpx_mock_transport_and_bring_your_own_client() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json=token_body())
        return httpx.Response(200, json={"ok": 1})

    own = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with BiginClient(**SECRETS, http_client=own) as bigin:
        assert await bigin.request("GET", "/org") == {"ok": 1}
    assert not own.is_closed  # the user's client is the user's to close
    await own.aclose()
    assert calls == ["/oauth/v2/token", "/bigin/v2/org"]


# -- issue #9: the token manager under failure ---------------------------------------------------
NOW = 1_800_000_000.0


class FakeAccounts:
    """An httpx handler standing in for Zoho's accounts server: ``answers`` is consumed in order
    (an ``httpx.Response`` is returned, an exception raised); the last one repeats. ``sent`` counts
    requests the server received (a raised connect error never reached it, so it is not counted)."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.attempts = 0
        self.sent = 0
        self.forms: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, (httpx.ConnectError, httpx.ConnectTimeout)):
            raise answer
        self.sent += 1
        self.forms.append(request.content.decode())
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(token: str = "1000.access-SECRET") -> httpx.Response:
    return httpx.Response(200, json=token_body(token))


ACCESS_DENIED = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


def manager(accounts: FakeAccounts, clock: list[float] | None = None, **options: Any) -> TokenManager:
    now = clock if clock is not None else [NOW]
    tokens = TokenManager(
        token_url=TOKEN_URL,
        client_id=SecretStr(SECRETS["client_id"]),
        client_secret=SecretStr(SECRETS["client_secret"]),
        refresh_token=SecretStr(SECRETS["refresh_token"]),
        clock=lambda: now[0],
        **options,
    )
    tokens.retry_backoff = 0.0
    tokens.http = httpx.AsyncClient(transport=httpx.MockTransport(accounts))
    return tokens


async def gather(tokens: TokenManager, callers: int) -> list[Token | BaseException]:
    results: list[Token | BaseException] = []

    async def one() -> None:
        try:
            results.append(await tokens.get_token())
        except Exception as exc:
            results.append(exc)

    async with anyio.create_task_group() as tasks:
        for _ in range(callers):
            tasks.start_soon(one)
    return results


async def test_connect_errors_during_a_blip_never_lock_the_client_out() -> None:
    """#9.11: ten calls while the accounts server is unreachable, then the network is back."""
    accounts = FakeAccounts(httpx.ConnectError("refused"))
    tokens = manager(accounts)
    for _ in range(12):
        with pytest.raises(BiginConnectionError):
            await tokens.get_token()
    assert accounts.sent == 0
    accounts.answers = [ok()]
    token = await tokens.get_token()  # not "refusing to refresh: 10 refreshes already"
    assert token.access_token.get_secret_value() == "1000.access-SECRET"
    assert accounts.sent == 1


async def test_a_connect_error_is_retried_inside_the_call_with_backoff() -> None:
    """#9.11: a blip shorter than the retries costs the caller nothing."""
    accounts = FakeAccounts(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow connect"), ok())
    tokens = manager(accounts)
    token = await tokens.get_token()
    assert token.access_token.get_secret_value() == "1000.access-SECRET"
    assert (accounts.attempts, accounts.sent) == (3, 1)


async def test_read_timeouts_count_against_the_budget_but_the_lockout_ends_with_the_window() -> None:
    """A read timeout may have reached Zoho (and minted a token): it counts, the safe side of the
    10-in-10 rule. It is not retried inside the call, and the window slides: never locked forever."""
    from bigin_async.auth import RefreshBlockedError

    clock = [NOW]
    accounts = FakeAccounts(httpx.ReadTimeout("no answer"))
    tokens = manager(accounts, clock)
    for _ in range(TokenManager.MAX_REFRESHES):
        with pytest.raises(BiginTimeoutError):
            await tokens.get_token()
        clock[0] += 1.0
    assert accounts.sent == TokenManager.MAX_REFRESHES
    accounts.answers = [ok()]
    with pytest.raises(RefreshBlockedError) as blocked:
        await tokens.get_token()
    assert accounts.sent == TokenManager.MAX_REFRESHES  # refused locally, nothing sent
    assert blocked.value.code == "REFRESH_LIMIT"
    assert blocked.value.retry_after == pytest.approx(TokenManager.REFRESH_WINDOW - 10.0)
    clock[0] += blocked.value.retry_after
    assert (await tokens.get_token()).access_token.get_secret_value() == "1000.access-SECRET"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (httpx.Response(200, json={"error": "invalid_code"}), "invalid_code"),
        (httpx.Response(200, json={"error": "invalid_client"}), "invalid_client"),
        (httpx.Response(400, json=ACCESS_DENIED), "Access Denied"),
        (httpx.Response(200, json=ACCESS_DENIED), "Access Denied"),
    ],
)
async def test_one_refused_refresh_is_shared_by_fifty_waiters(answer: httpx.Response, code: str) -> None:
    """#9.12: one request reaches Zoho, every waiter gets the same typed error."""
    accounts = FakeAccounts(answer)
    tokens = manager(accounts)
    results = await gather(tokens, 50)
    assert accounts.sent == 1
    assert all(isinstance(r, AuthenticationError) and r.code == code for r in results)
    # ...and the next caller fails fast, without asking Zoho again.
    with pytest.raises(AuthenticationError) as again:
        await tokens.get_token()
    assert again.value.code == code
    assert accounts.sent == 1


async def test_access_denied_stops_refreshes_until_zohos_window_ends() -> None:
    """#9.12: Zoho blocked the refresh token: say when to try again; try again only then."""
    from bigin_async.auth import RefreshBlockedError

    clock = [NOW]
    accounts = FakeAccounts(httpx.Response(400, json=ACCESS_DENIED), ok())
    tokens = manager(accounts, clock)
    with pytest.raises(RefreshBlockedError) as first:
        await tokens.get_token()
    assert first.value.retry_after == TokenManager.REFRESH_WINDOW
    clock[0] += 300
    with pytest.raises(RefreshBlockedError) as later:
        await tokens.get_token()
    assert later.value.retry_after == pytest.approx(300.0)
    assert later.value.retry_at == pytest.approx(NOW + TokenManager.REFRESH_WINDOW)
    assert "tried again in 5 min" in str(later.value)
    assert accounts.sent == 1
    clock[0] += 300
    assert (await tokens.get_token()).access_token.get_secret_value() == "1000.access-SECRET"
    assert accounts.sent == 2


async def test_access_denied_honours_zohos_retry_after() -> None:
    from bigin_async.auth import RefreshBlockedError

    accounts = FakeAccounts(httpx.Response(400, json=ACCESS_DENIED, headers={"Retry-After": "120"}))
    tokens = manager(accounts)
    with pytest.raises(RefreshBlockedError) as blocked:
        await tokens.get_token()
    assert blocked.value.retry_after == 120.0


async def test_a_revoked_refresh_token_fails_fast_then_is_tried_again_after_a_while() -> None:
    """#9.12: invalid_code will not fix itself by asking again on every call; a short negative cache."""
    clock = [NOW]
    accounts = FakeAccounts(httpx.Response(200, json={"error": "invalid_code"}), ok())
    tokens = manager(accounts, clock)
    for _ in range(5):
        with pytest.raises(AuthenticationError, match="invalid_code"):
            await tokens.get_token()
    assert accounts.sent == 1
    clock[0] += tokens.permanent_failure_ttl
    assert (await tokens.get_token()).access_token.get_secret_value() == "1000.access-SECRET"
    assert accounts.sent == 2


async def test_5xx_is_retried_inside_the_one_flight_not_per_waiter() -> None:
    """#9.12: 50 waiters on a failing accounts server: the retries are the flight's, not theirs."""
    accounts = FakeAccounts(
        httpx.Response(500, json={"error": "internal"}), httpx.Response(503, text="<html>busy</html>")
    )
    tokens = manager(accounts)
    results = await gather(tokens, 50)
    assert accounts.sent == tokens.refresh_attempts
    assert all(isinstance(r, ServerError) for r in results)
    assert len({str(r) for r in results}) == 1  # one error (each waiter raises its own copy of it)
    accounts.answers = [httpx.Response(502, text="bad gateway"), ok()]
    assert (await tokens.get_token()).access_token.get_secret_value() == "1000.access-SECRET"  # no lockout


async def test_a_cancelled_caller_does_not_abort_the_refresh_for_the_others() -> None:
    """#9.13: the caller's deadline ends its own wait at once; the refresh goes on for the others."""
    arrived = anyio.Event()
    release = anyio.Event()
    sent = 0

    async def slow_accounts(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        sent += 1
        arrived.set()
        await release.wait()
        return ok()

    tokens = manager(FakeAccounts(ok()))
    tokens.http = httpx.AsyncClient(transport=httpx.MockTransport(slow_accounts))
    left = anyio.Event()
    results: list[Token | BaseException] = []

    async def impatient(scope: anyio.CancelScope) -> None:
        with scope:
            await tokens.get_token()
        left.set()

    async def patient() -> None:
        results.append(await tokens.get_token())

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            leader_scope = anyio.CancelScope()
            tasks.start_soon(impatient, leader_scope)  # the first caller starts the refresh
            await arrived.wait()
            for _ in range(10):
                tasks.start_soon(patient)
            leader_scope.cancel()
            await left.wait()  # the cancelled caller is gone while the refresh still hangs
            assert not release.is_set()
            release.set()
    assert sent == 1
    assert len(results) == 10 and all(isinstance(r, Token) for r in results)
    assert tokens.current is not None


async def test_the_shielded_refresh_has_its_own_bound() -> None:
    """#9.13: an accounts server that never answers (no socket timeout fires in-process) cannot
    hold a refresh, nor its waiters, forever."""
    never = anyio.Event()

    async def hung(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("unreachable")

    tokens = manager(FakeAccounts(ok()), refresh_deadline=0.2)
    tokens.http = httpx.AsyncClient(transport=httpx.MockTransport(hung))
    with anyio.fail_after(10):
        results = await gather(tokens, 5)
    assert all(isinstance(r, BiginTimeoutError) for r in results)


async def test_books_and_bigin_share_one_cap_on_rejection_refreshes() -> None:
    """#9.14: a Books token Books keeps refusing must not lock the Bigin side out."""
    from bigin_async.books import BooksAuthenticationError, BooksClient

    minted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/v2/token"):
            minted.append("x")
            return httpx.Response(200, json=token_body(f"1000.t{len(minted)}"))
        if request.url.path.startswith("/books/"):
            return httpx.Response(
                401, json={"code": 57, "message": "You are not authorized to perform this operation"}
            )
        return httpx.Response(200, json={"ok": True})

    async with make_client(transport=httpx.MockTransport(handler)) as bigin:
        books = BooksClient.from_bigin(bigin, "123")
        for _ in range(12):
            with pytest.raises(BooksAuthenticationError):
                await books.contacts.search()
        assert len(minted) == 1 + TokenManager.MAX_REJECTION_REFRESHES
        assert await bigin.request("GET", "/org") == {"ok": True}  # Bigin still works
    assert len(minted) == 1 + TokenManager.MAX_REJECTION_REFRESHES


@pytest.mark.parametrize("shape", ["directory", "under_a_file"])
async def test_a_store_that_cannot_be_written_keeps_the_token_in_memory(
    tmp_path: Path, shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    """#9.15: every call used to refresh (and Zoho blocks the 11th); now one refresh, one warning."""
    if shape == "directory":
        path = tmp_path / "tokens.json"
        path.mkdir()
    else:
        (tmp_path / "plain-file").write_text("x")
        path = tmp_path / "plain-file" / "tokens.json"
    with respx.mock() as router:
        token_route = mock_token(router)
        router.get(f"{API}/org").respond(json={})
        with caplog.at_level("WARNING", logger="bigin_async"):
            async with make_client(token_store=FileTokenStore(path)) as bigin:
                for _ in range(12):
                    await bigin.request("GET", "/org")
        assert token_route.call_count == 1
    warnings = [r for r in caplog.records if "token store" in r.getMessage()]
    assert len(warnings) == 1
    for secret in [*SECRET_STRINGS, "1000.access-SECRET"]:
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "content",
    [
        b'{"KEY": {"access_token": "1000.old", "expires_at": "soon"}}',
        b'{"KEY": {"expires_at": 1}}',
        b'{"KEY": {"access_token": {"nested": 1}, "expires_at": 9999999999}}',
        b'{"KEY": ["not", "a", "mapping"]}',
        b'{"KEY": {"access_token": "1000.old", "expires_at": 9999999999, "api_domain": "http://evil.example"}}',
        b"[1, 2, 3]",
        b"\x89PNG\r\n\x1a\n\x00\xff\xfe garbage",
        b"",
        b'{"KEY": {"access_token": "1000.old", "expir',
    ],
)
async def test_a_token_file_of_the_wrong_shape_is_treated_as_empty_and_rewritten(
    tmp_path: Path, content: bytes
) -> None:
    """#9.15: a hand-edited, truncated or foreign file must not brick the client."""
    import json

    path = tmp_path / "tokens.json"
    with respx.mock() as router:
        token_route = mock_token(router, "1000.fresh")
        api = router.get(f"{API}/org").respond(json={})
        async with make_client(token_store=FileTokenStore(path)) as bigin:
            key = bigin.transport.tokens.store_key
            path.write_bytes(content.replace(b"KEY", key.encode()))
            await bigin.request("GET", "/org")
            await bigin.request("GET", "/org")
        assert token_route.call_count == 1
        assert api.calls.last.request.headers["Authorization"] == "Zoho-oauthtoken 1000.fresh"
        assert api.calls.last.request.url.host == "www.zohoapis.com"
    assert json.loads(path.read_text())[key]["access_token"] == "1000.fresh"


async def test_secrets_echoed_by_the_token_endpoint_never_reach_errors_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The accounts server may echo the form back in error_description: redact it everywhere."""
    echo = (
        f"bad request grant_type=refresh_token&client_id={SECRETS['client_id']}&client_secret="
        f"{SECRETS['client_secret']}&refresh_token={SECRETS['refresh_token']} "
        f"(json: {{'client_secret': '{SECRETS['client_secret']}', "
        f"'refresh_token': '{SECRETS['refresh_token']}'}})"
    )
    accounts = FakeAccounts(
        httpx.Response(200, json={"error": "invalid_client", "error_description": echo}),
    )
    tokens = manager(accounts)
    with caplog.at_level("DEBUG", logger="bigin_async"):
        with pytest.raises(AuthenticationError) as info:
            await tokens.get_token()
        with pytest.raises(AuthenticationError) as cached:
            await tokens.get_token()
    texts = [
        str(info.value),
        repr(info.value),
        str(info.value.details),
        str(info.value.headers),
        str(cached.value),
        repr(tokens),
        caplog.text,
    ]
    for text in texts:
        for secret in SECRET_STRINGS:
            assert secret not in text
    assert "bad request" in str(info.value)  # the rest of the description is kept


async def test_a_caller_cancelled_before_its_refresh_began_leaves_no_flight_behind() -> None:
    """Cancelled before the refresh even started: nothing is sent, and nobody waits for a flight
    that never flies: the next caller refreshes."""
    accounts = FakeAccounts(ok())
    tokens = manager(accounts)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await tokens.get_token()
    assert scope.cancelled_caught
    with anyio.fail_after(10):
        results = await gather(tokens, 5)
    assert all(isinstance(r, Token) for r in results)
    assert accounts.sent == 1


def test_processes_sharing_a_garbled_token_file_refresh_once_between_them(tmp_path: Path) -> None:
    """#9.15 with the lock: six processes, a slow accounts server (each refresh takes a while, so
    the processes overlap) and a token file of binary garbage: one refresh, one token for all."""
    import subprocess
    import sys
    import textwrap

    counter = tmp_path / "refreshes.txt"
    shared = tmp_path / "shared.json"
    shared.write_bytes(b"\x00\xff garbage \x89")
    script = textwrap.dedent(
        f"""
        import time, anyio, httpx
        from bigin_async import BiginClient, FileTokenStore

        def handler(request):
            if request.url.path.endswith("/oauth/v2/token"):
                with open({str(counter)!r}, "a") as f:
                    f.write("x")
                time.sleep(0.3)  # a slow accounts server: the other processes queue on the lock
                token = {{"access_token": "tok-" + str(time.time_ns()), "expires_in": 3600}}
                return httpx.Response(200, json=token)
            print(request.headers["Authorization"])
            return httpx.Response(200, json={{"ok": True}})

        async def main():
            async with BiginClient(client_id="a", client_secret="b", refresh_token="c",
                                   token_store=FileTokenStore({str(shared)!r}),
                                   transport=httpx.MockTransport(handler)) as bigin:
                await bigin.request("GET", "/org")

        anyio.run(main)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(6)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6
    assert counter.read_text() == "x"
    assert len(set(outputs)) == 1 and outputs[0].startswith("Zoho-oauthtoken tok-")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_refresh_still_hanging_when_the_event_loop_ends_does_not_hold_its_end(backend: str) -> None:
    """The flight is a task of its own, not a shielded part of a caller: when the program ends
    (its event loop finishes) while the accounts server still hangs, the end is not held for the
    flight's bound (here 1000 s)."""
    import threading

    def run() -> None:
        async def main() -> None:
            never = anyio.Event()

            async def hung(request: httpx.Request) -> httpx.Response:
                await never.wait()
                raise AssertionError("unreachable")

            tokens = manager(FakeAccounts(ok()), refresh_deadline=1000.0)
            tokens.http = httpx.AsyncClient(transport=httpx.MockTransport(hung))
            with anyio.move_on_after(0.05):
                await tokens.get_token()

        anyio.run(main, backend=backend)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(timeout=60)  # a safety bound only; the run ends right after the caller gives up
    assert not runner.is_alive()
