"""The data centre's file host (``content_domain``), the ``service=`` bases and a call's own timeout.

The token travels with every request, so the transport keeps an allow-list of two origins: the
API's and its file host's. These tests check that a third host never sees a request, that the file
host only serves ``service="content"`` paths, and how the file host is found for every data centre.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from bigin_async import BiginClient, ConfigurationError, Region
from bigin_async._config import content_domain_for, resolve_region
from tests.helpers.transport import SECRET_STRINGS, TOKEN_URL, make_client, mock_token, token_body

ACCESS = "1000.access-SECRET"

# The facts file's host table, each API domain with the file host Zoho's upload page names.
FILE_HOSTS = {
    "us": ("https://www.zohoapis.com", "https://content.zohoapis.com"),
    "eu": ("https://www.zohoapis.eu", "https://content.zohoapis.eu"),
    "in": ("https://www.zohoapis.in", "https://content.zohoapis.in"),
    "au": ("https://www.zohoapis.com.au", "https://content.zohoapis.com.au"),
    "jp": ("https://www.zohoapis.jp", "https://content.zohoapis.jp"),
    "ca": ("https://www.zohoapis.ca", "https://content.zohoapis.ca"),
    "sa": ("https://www.zohoapis.sa", "https://content.zohoapis.sa"),
    "cn": ("https://www.zohoapis.com.cn", "https://content.zohoapis.com.cn"),
}


@pytest.mark.parametrize("code", sorted(FILE_HOSTS))
def test_every_data_centre_s_file_host_is_the_content_sibling_of_its_api_host(code: str) -> None:
    api, content = FILE_HOSTS[code]
    region = resolve_region(code)
    assert region.api_domain == api
    assert content_domain_for(api) == content
    assert content_domain_for(api.replace("://www.", "://")) == content  # the bare zohoapis form


@pytest.mark.parametrize(
    "api_domain",
    [
        "http://127.0.0.1",
        "http://localhost:8000",
        "https://proxy.example.com",
        "https://www.zohoapis.",  # nothing after the prefix
        "http://www.zohoapis.com",  # plain http is never turned into a file host
        "https://user:pw@www.zohoapis.com",
        "https://notzohoapis.com",
    ],
)
def test_no_file_host_is_guessed_for_other_api_domains(api_domain: str) -> None:
    assert content_domain_for(api_domain) is None


@pytest.mark.parametrize("code", sorted(FILE_HOSTS))
async def test_uploads_go_to_the_file_host_of_the_data_centre_the_token_names(code: str) -> None:
    api, content = FILE_HOSTS[code]
    region: Region = resolve_region(code)
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{region.accounts_url}/oauth/v2/token").respond(json={**token_body(), "api_domain": api})
        upload = router.post(f"{content}/bigin/v2/upload").respond(json={"status": "success"})
        job = router.post(f"{api}/bigin/bulk/v2/write").respond(201, json={"status": "success"})
        org = router.get(f"{api}/bigin/v2/org").respond(json={"org": []})
        async with make_client(region=code) as bigin:
            transport = bigin.transport
            await transport.send("POST", "/upload", service="content", content=b"zip")
            await transport.send("POST", "/write", service="bulk", json={"operation": "insert"})
            await transport.send("GET", "/org")
        assert (upload.call_count, job.call_count, org.call_count) == (1, 1, 1)
        assert upload.calls.last.request.headers["Authorization"] == f"Zoho-oauthtoken {ACCESS}"


async def test_the_token_s_api_domain_decides_the_file_host_unless_content_domain_is_set() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.post(TOKEN_URL).respond(json={**token_body(), "api_domain": "https://www.zohoapis.eu"})
        eu = router.post("https://content.zohoapis.eu/bigin/v2/upload").respond(json={})
        pinned = router.post("https://files.example.com/bigin/v2/upload").respond(json={})
        async with make_client() as bigin:  # region us, token from eu
            await bigin.transport.send("POST", "/upload", service="content")
            view = bigin.with_options(content_domain="https://files.example.com/")
            assert view.config.content_domain == "https://files.example.com"
            await view.transport.send("POST", "/upload", service="content")
            assert bigin.config.content_domain is None  # the view's setting stays the view's
        assert (eu.call_count, pinned.call_count) == (1, 1)


async def test_the_content_domain_keyword_wins_over_the_derived_host() -> None:
    with respx.mock(assert_all_called=True) as router:
        mock_token(router)
        route = router.post("https://content.zohoapis.eu/bigin/v2/upload").respond(json={})
        async with make_client(content_domain="https://content.zohoapis.eu") as bigin:
            await bigin.transport.send("POST", "/upload", service="content")
        assert route.call_count == 1


async def test_a_loopback_api_without_content_domain_refuses_a_content_call_and_sends_nothing() -> None:
    with respx.mock(assert_all_called=False) as router:
        token = router.post("http://127.0.0.1/oauth/v2/token").respond(
            json={**token_body(), "api_domain": "http://127.0.0.1"}
        )
        anything = router.route().respond(json={})
        async with make_client(api_domain="http://127.0.0.1", accounts_url="http://127.0.0.1") as bigin:
            with pytest.raises(ConfigurationError, match="set content_domain"):
                await bigin.transport.send("POST", "/upload", service="content", content=b"zip")
            await bigin.request("GET", "/org")  # the token is known now: refused before the gate
            with pytest.raises(ConfigurationError, match="set content_domain"):
                await bigin.transport.send("POST", "/upload", service="content", content=b"zip")
            calls = bigin.transport.calls
        assert token.call_count == 1
        assert [call.request.url.path for call in anything.calls] == ["/bigin/v2/org"]
        assert calls == 1


async def test_a_loopback_content_domain_serves_the_emulator_s_file_host() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.post("http://127.0.0.1/oauth/v2/token").respond(
            json={**token_body(), "api_domain": "http://127.0.0.1"}
        )
        route = router.post("http://127.0.0.2/bigin/v2/upload").respond(json={})
        async with make_client(
            api_domain="http://127.0.0.1", accounts_url="http://127.0.0.1", content_domain="http://127.0.0.2"
        ) as bigin:
            await bigin.transport.send("POST", "/upload", service="content")
        assert route.call_count == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://content.zohoapis.com", "plain http on a non-loopback host"),
        ("ftp://content.zohoapis.com", "absolute http"),
        ("content.zohoapis.com", "absolute http"),
        ("https://content.zohoapis.com/?x=1", "query or fragment"),
    ],
)
def test_a_content_domain_that_would_leak_the_token_is_refused_at_construction(
    value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        make_client(content_domain=value)
    assert "content_domain" in str(info.value)
    with pytest.raises(ConfigurationError, match=message):
        BiginClient.from_env({"BIGIN_ACCESS_TOKEN": "t", "BIGIN_CONTENT_DOMAIN": value})
    with pytest.raises(ConfigurationError, match=message):
        make_client().with_options(content_domain=value)


def test_a_content_domain_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="content_domain must be a string"):
        make_client(content_domain=b"https://content.zohoapis.com")


def test_content_domain_is_read_from_the_environment_and_kept_in_the_settings() -> None:
    client = BiginClient.from_env(
        {"BIGIN_ACCESS_TOKEN": "t", "BIGIN_CONTENT_DOMAIN": "https://content.zohoapis.jp/"}
    )
    assert client.config.content_domain == "https://content.zohoapis.jp"
    assert BiginClient(access_token="t").config.content_domain is None
    assert client.with_options(content_domain=None).config.content_domain is None


async def test_a_third_host_is_refused_before_anything_is_sent_whatever_the_service() -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        foreign = router.route(host="evil.example.com").respond(json={})
        content = router.route(host="content.zohoapis.com").respond(json={})
        api = router.route(host="www.zohoapis.com").respond(json={})
        async with make_client() as bigin:
            transport = bigin.transport
            for service in ("v2", "bulk", "content"):
                for url in (
                    "https://evil.example.com/bigin/v2/upload",
                    "http://content.zohoapis.com/bigin/v2/upload",  # the right host over plain http
                    "https://content.zohoapis.com.evil.example.com/bigin/v2/upload",
                    "https://content.zohoapis.eu/bigin/v2/upload",  # another data centre's file host
                ):
                    with pytest.raises(ConfigurationError, match="refusing") as info:
                        await transport.send("POST", url, service=service)
                    assert ACCESS not in str(info.value)
            # Absolute URLs on the two allowed origins go through.
            await transport.send("GET", "https://content.zohoapis.com/bigin/v2/upload", service="content")
            await transport.send(
                "GET", "https://www.zohoapis.com/bigin/bulk/v2/read/1/result", service="bulk"
            )
        assert (foreign.call_count, content.call_count, api.call_count) == (0, 1, 1)


async def test_the_file_host_only_serves_content_paths() -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        content = router.route(host="content.zohoapis.com").respond(json={})
        api = router.route(host="www.zohoapis.com").respond(json={})
        async with make_client() as bigin:
            transport = bigin.transport
            await transport.send("POST", "/upload")
            await transport.send("POST", "upload", service="bulk")
            await transport.send("POST", "/upload", service="content")
        assert [call.request.url.path for call in api.calls] == ["/bigin/v2/upload", "/bigin/bulk/v2/upload"]
        assert [str(call.request.url) for call in content.calls] == [
            "https://content.zohoapis.com/bigin/v2/upload"
        ]


async def test_an_unknown_service_is_refused() -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        anything = router.route().respond(json={})
        async with make_client() as bigin:
            with pytest.raises(ConfigurationError, match="unknown service"):
                await bigin.transport.send("GET", "/org", service="crm")  # type: ignore[arg-type]
        assert anything.call_count == 0


async def test_a_call_s_own_timeout_bounds_its_attempts_instead_of_the_setting() -> None:
    seen: list[dict[str, Any]] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions["timeout"]))
        return httpx.Response(200, json={})

    with respx.mock() as router:
        mock_token(router)
        router.get(url__regex=r"/bigin/v2/org").mock(side_effect=record)
        async with make_client(timeout=30.0) as bigin:
            await bigin.transport.send("GET", "/org", timeout=300.0)
            await bigin.transport.send("GET", "/org")
    assert [entry["read"] for entry in seen] == [300.0, 30.0]


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, "5"])
async def test_a_call_s_own_timeout_must_be_a_positive_number(timeout: Any) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        async with make_client() as bigin:
            with pytest.raises(ConfigurationError, match="timeout"):
                await bigin.transport.send("GET", "/org", timeout=timeout)
            assert bigin.transport.calls == 0


def test_no_secret_shows_in_the_reprs_of_a_client_with_a_file_host() -> None:
    client = make_client(content_domain="https://content.zohoapis.com")
    for text in (repr(client), repr(client.config), str(client.config)):
        for secret in SECRET_STRINGS:
            assert secret not in text


async def test_the_pace_of_read_downloads_is_one_for_the_client_and_its_views() -> None:
    bigin = make_client()
    view = bigin.with_options(timeout=600.0)
    limiter = bigin.transport.read_downloads
    assert view.transport.read_downloads is limiter
    first, second = limiter.reserve(), view.transport.read_downloads.reserve()
    # 10 a minute: bookings 6 s apart; the 11th waits for a minute (plus the allowance while unanswered)
    assert second - first == pytest.approx(60.0 / 10)
