"""Region table, edition presets and validation at construction."""

from __future__ import annotations

import pytest

from bigin_async import BiginClient, ConfigurationError, Edition, resolve_region
from bigin_async._config import REGIONS

ROWS = [
    # code, suffix, friendly, api domain, accounts server
    ("us", "com", "US", "https://www.zohoapis.com", "https://accounts.zoho.com"),
    ("eu", "eu", "Europe", "https://www.zohoapis.eu", "https://accounts.zoho.eu"),
    ("in", "in", "India", "https://www.zohoapis.in", "https://accounts.zoho.in"),
    ("au", "com.au", "Australia", "https://www.zohoapis.com.au", "https://accounts.zoho.com.au"),
    ("jp", "jp", "Japan", "https://www.zohoapis.jp", "https://accounts.zoho.jp"),
    ("ca", "ca", "Canada", "https://www.zohoapis.ca", "https://accounts.zohocloud.ca"),
    ("sa", "sa", "Saudi Arabia", "https://www.zohoapis.sa", "https://accounts.zoho.sa"),
    ("cn", "com.cn", "China", "https://www.zohoapis.com.cn", "https://accounts.zoho.com.cn"),
]


@pytest.mark.parametrize(("code", "suffix", "friendly", "api", "accounts"), ROWS)
def test_every_spelling_of_every_region(
    code: str, suffix: str, friendly: str, api: str, accounts: str
) -> None:
    for spelling in (
        code,
        code.upper(),
        suffix,
        suffix.upper(),
        friendly,
        friendly.lower(),
        friendly.upper(),
    ):
        region = resolve_region(spelling)
        assert (region.code, region.api_domain, region.accounts_url) == (code, api, accounts), spelling
    client = BiginClient(access_token="t", region=friendly)
    assert client.config.api_base == f"{api}/bigin/v2"
    assert client.config.token_url == f"{accounts}/oauth/v2/token"


def test_region_table_has_eight_distinct_data_centres() -> None:
    assert len(REGIONS) == 8
    assert len({r.api_domain for r in REGIONS.values()}) == 8
    assert resolve_region("canada").code == "ca"  # not China, as one peer has it


@pytest.mark.parametrize("bad", ["", "mars", "zoho.com", "us-east", "c"])
def test_unknown_region_is_refused_with_the_list(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="unknown region"):
        BiginClient(access_token="t", region=bad)


@pytest.mark.parametrize(
    ("edition", "per_minute", "per_day"),
    [("express", 10, 5_000), ("Premier", 20, 15_000), (Edition.ENTERPRISE, 30, 25_000)],
)
def test_edition_presets(edition: str, per_minute: int, per_day: int) -> None:
    client = BiginClient(access_token="t", edition=edition)
    assert client.config.requests_per_minute == per_minute
    assert client.config.daily_limit == per_day
    assert client.config.bulk_operations_per_minute == 10


def test_explicit_numbers_win_over_the_edition_and_no_edition_means_no_cap() -> None:
    assert (
        BiginClient(access_token="t", edition="express", requests_per_minute=5).config.requests_per_minute
        == 5
    )
    plain = BiginClient(access_token="t")
    assert (plain.config.requests_per_minute, plain.config.daily_limit, plain.config.max_concurrency) == (
        None,
        None,
        10,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no credentials"),
        ({"client_id": "a", "client_secret": "b"}, "missing: refresh_token"),
        ({"client_id": "a", "refresh_token": "c"}, "missing: client_secret"),
        ({"access_token": ""}, "access_token must be a non-empty string"),
        ({"access_token": "t", "expires_in": -5}, "expires_in"),
        ({"refresh_token": "r", "client_id": "a", "client_secret": "b", "expires_in": 60}, "expires_in only"),
        ({"access_token": "t", "edition": "gold"}, "unknown edition"),
        ({"access_token": "t", "max_concurrency": 0}, "max_concurrency must be > 0"),
        ({"access_token": "t", "requests_per_minute": -1}, "requests_per_minute"),
        ({"access_token": "t", "max_retries": 1.5}, "max_retries must be an integer"),
        ({"access_token": "t", "timeout": float("nan")}, "timeout"),
        ({"access_token": "t", "api_domain": "http://example.com"}, "plain http on a non-loopback host"),
        ({"access_token": "t", "accounts_url": "ftp://127.0.0.1"}, "absolute http"),
        ({"access_token": "t", "http_client": object()}, "httpx.AsyncClient"),
        ({"access_token": "t", "token_store": object()}, "TokenStore"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BiginClient(**kwargs)  # type: ignore[arg-type]


def test_loopback_http_is_allowed_for_the_emulator() -> None:
    client = BiginClient(
        access_token="t", api_domain="http://127.0.0.1:8787/", accounts_url="http://localhost:8787"
    )
    assert client.config.api_base == "http://127.0.0.1:8787/bigin/v2"
    assert client.config.token_url == "http://localhost:8787/oauth/v2/token"


def test_from_env_reads_bigin_variables() -> None:
    env = {
        "BIGIN_CLIENT_ID": "id",
        "BIGIN_CLIENT_SECRET": "secret",
        "BIGIN_REFRESH_TOKEN": "refresh",
        "BIGIN_REGION": "Europe",
        "BIGIN_EDITION": "premier",
        "BIGIN_MAX_CONCURRENCY": "4",
        "BIGIN_TIMEOUT": "12.5",
    }
    client = BiginClient.from_env(env, requests_per_minute=7)
    assert client.config.region.code == "eu"
    assert client.config.max_concurrency == 4
    assert client.config.timeout == 12.5
    assert client.config.requests_per_minute == 7
    assert client.config.daily_limit == 15_000
    with pytest.raises(ConfigurationError, match="BIGIN_TIMEOUT must be a number"):
        BiginClient.from_env({"BIGIN_ACCESS_TOKEN": "t", "BIGIN_TIMEOUT": "soon"})


def test_latency_allowance_is_a_keyword_and_a_variable_and_spaces_the_per_minute_pace() -> None:
    from bigin_async._coordination import LocalLimits

    bigin = BiginClient(access_token="1000.x", requests_per_minute=10, latency_allowance=8.0)
    assert bigin.config.latency_allowance == 8.0
    limits = bigin.transport.limits
    assert isinstance(limits, LocalLimits) and limits.minute_limiter is not None
    # Booked for the minute; unanswered sends are kept a minute plus the allowance apart (see
    # tests/transport/test_limiter_answered.py).
    assert limits.minute_limiter.interval == pytest.approx(60.0 / 10)
    assert limits.minute_limiter._window == pytest.approx(60.0 + 8.0)
    env = BiginClient.from_env({"BIGIN_ACCESS_TOKEN": "1000.x", "BIGIN_LATENCY_ALLOWANCE": "0.5"})
    assert env.config.latency_allowance == 0.5
    with pytest.raises(ConfigurationError, match="latency_allowance must be >= 0"):
        BiginClient(access_token="1000.x", latency_allowance=-1.0)
    with pytest.raises(ConfigurationError, match="BIGIN_LATENCY_ALLOWANCE must be a number"):
        BiginClient.from_env({"BIGIN_ACCESS_TOKEN": "1000.x", "BIGIN_LATENCY_ALLOWANCE": "soon"})
