"""OAuth: token errors with likely causes, code exchange, revoke, stores, cross-process refresh."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from bigin_async import (
    AuthenticationError,
    BiginClient,
    FileTokenStore,
    Scope,
    authorization_url,
    exchange_code,
    revoke,
)
from bigin_async.auth import SCOPES, Token
from tests.transport.helpers import API, SECRETS, TOKEN_URL, make_client, mock_token, token_body


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"error": "invalid_client"}, "check the region"),
        ({"error": "invalid_code"}, "revoked"),
        ({"error": "Access Denied", "error_description": "You have made too many requests continuously"}, "10 in 10 minutes"),
    ],
)
async def test_oauth_errors_in_200_bodies_raise_with_the_likely_cause(body: dict[str, str], hint: str) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URL).respond(200, json=body)
        api = router.get(f"{API}/org").respond(json={})
        async with make_client() as bigin:
            with pytest.raises(AuthenticationError, match=hint) as info:
                await bigin.request("GET", "/org")
        assert info.value.code == body["error"]
        assert api.call_count == 0  # nothing is sent without a token
        for secret in SECRETS.values():
            assert secret not in str(info.value)


async def test_refresh_sends_the_form_and_accepts_expires_in_sec() -> None:
    with respx.mock() as router:
        token_route = router.post(TOKEN_URL).respond(json={"access_token": "a", "expires_in_sec": 3600, "api_domain": "https://www.zohoapis.com"})
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
            json={**token_body("acc"), "refresh_token": "1000.new-refresh", "api_domain": "https://www.zohoapis.eu"}
        )
        revoke_route = router.post("https://accounts.zoho.eu/oauth/v2/token/revoke").respond(json={"status": "success"})
        result = await exchange_code("1000.code", client_id="cid", client_secret="cs", redirect_uri="https://x/cb", region="eu")
        assert result.refresh_token is not None and result.refresh_token.get_secret_value() == "1000.new-refresh"
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
