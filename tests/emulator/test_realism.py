"""The realism switches, each in both states, and the ``kind``/``zoho`` presets (issue #9).

Where the emulator is kinder than Zoho an SDK bug hides; each test shows the kind behaviour (which
must not change) next to the harsh one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from bigin_emulator import BiginEmulator, FaultPlan, Realism, ServerLimits
from bigin_emulator.realism import REALISM_PRESETS
from bigin_emulator.state.oauth import DEFAULT_SCOPE
from tests.helpers.clock import FakeClock

SEARCH = "/bigin/v2/Contacts/search"
TOKEN_FORM = {"grant_type": "refresh_token"}
BOOKS = "/books/v3/contacts"


@asynccontextmanager
async def api_of(emulator: BiginEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with emulator.http_client(token=emulator.issue_token()) as client:
        yield client


async def found(api: httpx.AsyncClient, **params: str) -> list[str]:
    response = await api.get(SEARCH, params=params)
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    return sorted(r["Last_Name"] for r in response.json()["data"])


def refresh_form(emulator: BiginEmulator) -> dict[str, str]:
    return {
        **TOKEN_FORM,
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "refresh_token": emulator.refresh_token,
    }


# -- presets ---------------------------------------------------------------------------------


def test_kind_is_the_default_and_zoho_turns_every_switch() -> None:
    kind, zoho = BiginEmulator().realism, BiginEmulator(realism="zoho").realism
    assert kind == Realism() == REALISM_PRESETS["kind"]
    changed = {f.name for f in dataclasses.fields(Realism) if getattr(kind, f.name) != getattr(zoho, f.name)}
    # All but drop_write_result_rows: a fault to test against, not something Zoho is known to do.
    assert changed == {f.name for f in dataclasses.fields(Realism)} - {"drop_write_result_rows"}
    assert BiginEmulator().middleware.limits == ServerLimits()  # kind: no cap added
    assert BiginEmulator(realism="zoho").middleware.limits.max_concurrency == 10
    given = ServerLimits(per_minute=5)
    assert BiginEmulator(realism="zoho", limits=given).middleware.limits == ServerLimits(
        per_minute=5, max_concurrency=10
    )
    own_cap = ServerLimits(max_concurrency=3)
    assert BiginEmulator(realism="zoho", limits=own_cap).middleware.limits is own_cap


def test_keywords_override_one_switch_of_a_preset() -> None:
    emulator = BiginEmulator(realism="zoho", search_lag=0, loose_equals=False)
    assert emulator.realism == dataclasses.replace(REALISM_PRESETS["zoho"], search_lag=0, loose_equals=False)
    assert emulator.ctx.search_index is None  # no lag: writes pay nothing for it
    assert BiginEmulator(bare_429s=True).realism == Realism(bare_429s=True)
    custom = Realism(check_scopes=True)
    assert BiginEmulator(realism=custom).realism is custom


@pytest.mark.parametrize(
    "bad",
    [
        {"realism": "harsh"},
        {"rate_limit_headers": "some"},
        {"token_expiry": "minutes"},
        {"search_lag": -1},
        {"search_lag": float("inf")},
        {"hang_up_after": 0},
        {"keep_alive_timeout": -0.5},
    ],
)
def test_bad_switch_values_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        BiginEmulator(**bad)


# -- 429s and rate-limit headers --------------------------------------------------------------


@pytest.mark.parametrize("bare", [False, True])
async def test_bare_429s_carry_no_retry_after_nor_rate_limit_headers(bare: bool) -> None:
    emulator = BiginEmulator(limits=ServerLimits(per_minute=1), bare_429s=bare)
    async with api_of(emulator) as api:
        first = await api.get("/bigin/v2/Contacts", params={"fields": "Last_Name"})
        refused = await api.get("/bigin/v2/Contacts", params={"fields": "Last_Name"})
    assert first.status_code == 204 and refused.status_code == 429
    assert refused.json()["code"] == "TOO_MANY_REQUESTS"
    limit_headers = {k for k in refused.headers if k.startswith("x-ratelimit-") or k == "retry-after"}
    if bare:
        assert limit_headers == set()
    else:
        assert limit_headers == {
            "retry-after",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
        }


@pytest.mark.parametrize("bare", [False, True])
async def test_bare_429s_also_for_the_burst_fault(bare: bool) -> None:
    emulator = BiginEmulator(
        faults=FaultPlan(error_429=1.0), limits=ServerLimits(daily_credits=50), bare_429s=bare
    )
    async with api_of(emulator) as api:
        burst = await api.get("/bigin/v2/Contacts", params={"fields": "Last_Name"})
    assert burst.status_code == 429
    assert ("retry-after" in burst.headers) is not bare
    assert ("x-ratelimit-remaining" in burst.headers) is not bare


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("full", {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}),
        ("no_reset", {"x-ratelimit-limit", "x-ratelimit-remaining"}),
        ("none", set()),
    ],
)
async def test_rate_limit_header_styles(style: Any, expected: set[str]) -> None:
    emulator = BiginEmulator(limits=ServerLimits(per_minute=10), rate_limit_headers=style)
    async with api_of(emulator) as api:
        answer = await api.get("/bigin/v2/Contacts", params={"fields": "Last_Name"})
    assert {k for k in answer.headers if k.startswith("x-ratelimit-")} == expected
    if expected:
        assert answer.headers["x-ratelimit-remaining"] == "9"


# -- search: loose equals, lagging index, scope -------------------------------------------------


@pytest.mark.parametrize("loose", [False, True])
async def test_loose_equals_matches_on_words(loose: bool) -> None:
    emulator = BiginEmulator(loose_equals=loose)
    emulator.insert_records(
        "Contacts",
        [
            {"Last_Name": "Nango Test Product"},
            {"Last_Name": "Nango Unlink Test Product"},
            {"Last_Name": "Product Test Nango"},
            {"Last_Name": "Nangos Test Products"},
            {"Last_Name": "Other", "Description": "Nango Test Product"},
        ],
    )
    async with api_of(emulator) as api:
        equal = await found(api, criteria="(Last_Name:equals:nango test product)")
        exact_ids = await found(api, criteria="(Last_Name:not_equal:Nango Test Product)")
        listed = await found(api, criteria="(Last_Name:in:Nango Test Product)")
    if loose:
        assert equal == ["Nango Test Product", "Nango Unlink Test Product", "Product Test Nango"]
    else:
        assert equal == ["Nango Test Product"]
    # Only equals is loose: not_equal and in keep their exact meaning.
    assert "Nango Unlink Test Product" in exact_ids and "Nango Test Product" not in exact_ids
    assert listed == ["Nango Test Product"]


async def test_loose_equals_keeps_numbers_and_booleans_exact() -> None:
    emulator = BiginEmulator(loose_equals=True)
    emulator.insert_records(
        "Products", [{"Product_Name": "A", "Unit_Price": 15}, {"Product_Name": "B", "Unit_Price": 150}]
    )
    async with api_of(emulator) as api:
        response = await api.get("/bigin/v2/Products/search", params={"criteria": "(Unit_Price:equals:15)"})
    assert [r["Product_Name"] for r in response.json()["data"]] == ["A"]


async def _create(api: httpx.AsyncClient, **record: str) -> str:
    response = await api.post("/bigin/v2/Contacts", json={"data": [record]})
    assert response.status_code == 201, response.text
    record_id: str = response.json()["data"][0]["details"]["id"]
    return record_id


async def test_without_lag_search_sees_a_write_at_once(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock)
    async with api_of(emulator) as api:
        await _create(api, Last_Name="Fresh", Email="fresh@example.com")
        assert await found(api, email="fresh@example.com") == ["Fresh"]


async def test_a_lagging_index_hides_an_insert_until_the_clock_passes_the_lag(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, search_lag=15)
    async with api_of(emulator) as api:
        record_id = await _create(api, Last_Name="Fresh", Email="fresh@example.com")
        assert await found(api, email="fresh@example.com") == []
        assert await found(api, word="fresh") == []
        assert (await api.get(f"/bigin/v2/Contacts/{record_id}")).status_code == 200  # reads are not lagged
        clock.advance(14.9)
        assert await found(api, criteria="(Last_Name:equals:Fresh)") == []
        clock.advance(0.1)
        assert await found(api, email="fresh@example.com") == ["Fresh"]
    assert len(emulator.ctx.search_index or []) == 0  # nothing left to remember


async def test_a_lagging_index_finds_an_updated_record_by_its_old_values(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, search_lag=10)
    [entry] = emulator.insert_records("Contacts", [{"Last_Name": "Before", "Email": "old@example.com"}])
    record_id = entry["details"]["id"]
    async with api_of(emulator) as api:
        assert await found(api, email="old@example.com") == ["Before"]  # seeded data is indexed
        update = await api.put(
            f"/bigin/v2/Contacts/{record_id}", json={"data": [{"Email": "new@example.com"}]}
        )
        assert update.status_code == 200
        clock.advance(5)
        second = await api.put(f"/bigin/v2/Contacts/{record_id}", json={"data": [{"Last_Name": "After"}]})
        assert second.status_code == 200
        assert await found(api, email="new@example.com") == []
        assert await found(api, email="old@example.com") == ["Before"]
        clock.advance(5)  # the first update is indexed, the second not yet
        assert await found(api, email="new@example.com") == ["Before"]
        clock.advance(5)
        assert await found(api, email="new@example.com") == ["After"]
        assert await found(api, email="old@example.com") == []


async def test_a_deleted_record_leaves_a_lagging_index_at_once(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, search_lag=10)
    async with api_of(emulator) as api:
        record_id = await _create(api, Last_Name="Brief", Email="brief@example.com")
        assert (await api.delete(f"/bigin/v2/Contacts/{record_id}")).status_code == 200
        clock.advance(20)
        assert await found(api, email="brief@example.com") == []
    assert len(emulator.ctx.search_index or []) == 0


async def test_a_lagging_index_keeps_imported_state_indexed(clock: FakeClock) -> None:
    source = BiginEmulator(clock=clock)
    source.insert_records("Contacts", [{"Last_Name": "Kept", "Email": "kept@example.com"}])
    emulator = BiginEmulator(clock=clock, search_lag=10)
    emulator.import_state(source.export_state())
    async with api_of(emulator) as api:
        assert await found(api, email="kept@example.com") == ["Kept"]


@pytest.mark.parametrize("check", [False, True])
async def test_search_without_the_search_scope(check: bool) -> None:
    bigin_only = " ".join(s for s in DEFAULT_SCOPE.split() if not s.startswith("ZohoSearch."))
    emulator = BiginEmulator(check_scopes=check, scope=bigin_only)
    async with api_of(emulator) as api:
        response = await api.get(SEARCH, params={"word": "anyone"})
        listing = await api.get("/bigin/v2/Contacts", params={"fields": "Last_Name"})
    assert listing.status_code == 204
    if check:
        assert response.status_code == 401 and response.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    else:
        assert response.status_code == 204


async def test_the_default_scope_may_search_under_scope_checks() -> None:
    async with api_of(BiginEmulator(check_scopes=True)) as api:
        assert (await api.get(SEARCH, params={"word": "anyone"})).status_code == 204


# -- Books scopes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "scope", "status"),
    [
        (False, DEFAULT_SCOPE, 200),
        (True, DEFAULT_SCOPE, 401),
        (True, DEFAULT_SCOPE + " ZohoBooks.contacts.ALL", 200),
    ],
)
async def test_books_refuses_a_token_without_books_scopes(check: bool, scope: str, status: int) -> None:
    emulator = BiginEmulator(check_scopes=check, scope=scope)
    async with api_of(emulator) as api:
        response = await api.get(BOOKS, params={"organization_id": emulator.books.organization_id})
    assert response.status_code == status
    if status == 401:
        assert response.json() == {"code": 57, "message": "You are not authorized to perform this operation"}
    else:
        assert response.json()["code"] == 0


async def test_a_refreshed_token_carries_the_configured_scope() -> None:
    scope = "ZohoBigin.modules.ALL ZohoBooks.fullaccess.ALL"
    emulator = BiginEmulator(scope=scope, check_scopes=True)
    async with emulator.http_client() as client:
        body = (await client.post("/oauth/v2/token", data=refresh_form(emulator))).json()
        books = await client.get(
            BOOKS,
            params={"organization_id": emulator.books.organization_id},
            headers={"Authorization": f"Zoho-oauthtoken {body['access_token']}"},
        )
    assert body["scope"] == scope
    assert books.status_code == 200
    assert emulator.ctx.oauth.scopes_of("not-a-token") == frozenset()


# -- token answers and api_domain ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("expires_in", {"expires_in": 3600}),
        ("expires_in_sec", {"expires_in_sec": 3600}),
        ("legacy_ms", {"expires_in_sec": 3600, "expires_in": 3_600_000}),
    ],
)
async def test_token_expiry_styles(style: Any, expected: dict[str, int]) -> None:
    emulator = BiginEmulator(token_expiry=style)
    async with emulator.http_client() as client:
        body = (await client.post("/oauth/v2/token", data=refresh_form(emulator))).json()
    assert {k: v for k, v in body.items() if k.startswith("expires")} == expected
    assert body["api_domain"] == "http://127.0.0.1"  # the emulator itself, so a client may trust it


async def test_token_errors_come_as_200_with_an_error_body() -> None:
    """Already as Zoho: checked here so the preset keeps it (no switch needed)."""
    emulator = BiginEmulator(realism="zoho")
    async with emulator.http_client() as client:
        answer = await client.post(
            "/oauth/v2/token", data={**refresh_form(emulator), "refresh_token": "wrong"}
        )
    assert answer.status_code == 200 and answer.json() == {"error": "invalid_code"}


@pytest.mark.parametrize("pinned", [True, False])
async def test_pin_api_domain(pinned: bool) -> None:
    emulator = BiginEmulator(pin_api_domain=pinned)
    client = emulator.client()
    assert client._transport.settings.api_domain_overridden is pinned
    await client.aclose()
    async with httpx.AsyncClient(transport=emulator.transport()) as raw:
        own = await raw.get("http://127.0.0.1/bigin/v2/org")
        if pinned:
            elsewhere = await raw.get("https://www.zohoapis.com/bigin/v2/org")
            assert elsewhere.status_code == own.status_code == 401  # any host reaches the emulator
        else:
            with pytest.raises(httpx.ConnectError):
                await raw.get("https://www.zohoapis.com/bigin/v2/org")
            assert own.status_code == 401


async def test_an_unpinned_client_uses_the_token_api_domain_once_it_has_a_token() -> None:
    emulator = BiginEmulator(realism="zoho", seed_records=3)
    async with emulator.client() as client:
        await client._transport.tokens.get_token()  # what the first call's attempt does first
        first = await client.contacts.list(fields=["Last_Name"], per_page=10)
    assert len(first.data) == 3
