"""Zoho Accounts emulation and the API's token check."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bigin_emulator import BiginEmulator
from tests.helpers.clock import FakeClock

TOKEN = "/oauth/v2/token"


def refresh_form(emulator: BiginEmulator, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "refresh_token",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "refresh_token": emulator.refresh_token,
    }
    form.update(overrides)
    return form


async def test_refresh_grant(anon: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    response = await anon.post(TOKEN, data=refresh_form(emulator))
    assert response.status_code == 200
    body = response.json()
    assert {"access_token", "api_domain", "token_type", "expires_in"} <= set(body)
    assert (body["token_type"], body["expires_in"], body["api_domain"]) == (
        "Bearer",
        3600,
        "http://127.0.0.1",
    )
    assert "refresh_token" not in body
    assert emulator.counters.refreshes == 1
    api = await anon.get(
        "/bigin/v2/org", headers={"Authorization": f"Zoho-oauthtoken {body['access_token']}"}
    )
    assert api.status_code == 200


async def test_refresh_grant_in_the_query_string(anon: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    response = await anon.post(TOKEN, params=refresh_form(emulator))
    assert "access_token" in response.json()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"refresh_token": "1000.unknown"}, "invalid_code"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
    ],
)
async def test_refused_grants_answer_200_with_an_error_body(
    anon: httpx.AsyncClient, emulator: BiginEmulator, overrides: dict[str, str], error: str
) -> None:
    response = await anon.post(TOKEN, data=refresh_form(emulator, **overrides))
    assert response.status_code == 200
    assert response.json() == {"error": error}
    assert emulator.counters.refreshes == 0


async def test_authorization_code_grant(anon: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    consent = await anon.get(
        "/oauth/v2/auth",
        params={
            "client_id": emulator.client_id,
            "redirect_uri": "http://localhost/cb",
            "scope": "ZohoBigin.modules.ALL",
            "response_type": "code",
            "state": "xyz",
        },
    )
    assert consent.status_code == 302
    location = urlsplit(consent.headers["location"])
    query = parse_qs(location.query)
    assert location.netloc == "localhost" and query["state"] == ["xyz"]
    form = {
        "grant_type": "authorization_code",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "redirect_uri": "http://localhost/cb",
        "code": query["code"][0],
    }
    body = (await anon.post(TOKEN, data=form)).json()
    assert {"access_token", "refresh_token", "api_domain", "token_type", "expires_in"} <= set(body)
    reused = await anon.post(TOKEN, data=form)
    assert reused.json() == {"error": "invalid_code"}  # codes are one-time
    refreshed = await anon.post(TOKEN, data=refresh_form(emulator, refresh_token=body["refresh_token"]))
    assert "access_token" in refreshed.json()
    other_code = emulator.issue_authorization_code("http://localhost/cb")
    wrong_uri = await anon.post(TOKEN, data={**form, "code": other_code, "redirect_uri": "http://evil/cb"})
    assert "error" in wrong_uri.json()


async def test_refresh_block_after_ten_in_ten_minutes(
    anon: httpx.AsyncClient, emulator: BiginEmulator, clock: FakeClock
) -> None:
    for _ in range(10):
        assert "access_token" in (await anon.post(TOKEN, data=refresh_form(emulator))).json()
        clock.advance(30)
    blocked = await anon.post(TOKEN, data=refresh_form(emulator))
    assert blocked.status_code == 400
    assert blocked.json()["error"] == "Access Denied"
    assert "too many requests" in blocked.json()["error_description"]
    assert emulator.counters.refreshes == 10
    clock.advance(600 - 300 + 1)  # the first refresh leaves the 10-minute window
    assert "access_token" in (await anon.post(TOKEN, data=refresh_form(emulator))).json()
    assert emulator.counters.refreshes == 11


async def test_api_domain_can_be_configured(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, api_domain="https://www.zohoapis.eu")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url="http://127.0.0.1:8787"
    ) as client:
        body = (await client.post(TOKEN, data=refresh_form(emulator))).json()
    assert body["api_domain"] == "https://www.zohoapis.eu"


async def test_api_domain_follows_the_request(emulator: BiginEmulator) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url="http://127.0.0.1:8787"
    ) as client:
        body = (await client.post(TOKEN, data=refresh_form(emulator))).json()
    assert body["api_domain"] == "http://127.0.0.1:8787"


async def test_access_tokens_expire(
    anon: httpx.AsyncClient, emulator: BiginEmulator, clock: FakeClock
) -> None:
    token = (await anon.post(TOKEN, data=refresh_form(emulator))).json()["access_token"]
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    clock.advance(3599)
    assert (await anon.get("/bigin/v2/org", headers=headers)).status_code == 200
    clock.advance(1)
    expired = await anon.get("/bigin/v2/org", headers=headers)
    assert expired.status_code == 401 and expired.json()["code"] == "INVALID_TOKEN"


async def test_token_ttl_is_configurable(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, token_ttl=60)
    token = emulator.issue_token()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url="http://x"
    ) as client:
        assert (await client.post(TOKEN, data=refresh_form(emulator))).json()["expires_in"] == 60
        clock.advance(60)
        response = await client.get("/bigin/v2/org", headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert response.status_code == 401


async def test_revoking_a_refresh_token_revokes_its_access_tokens(
    anon: httpx.AsyncClient, emulator: BiginEmulator
) -> None:
    token = (await anon.post(TOKEN, data=refresh_form(emulator))).json()["access_token"]
    revoked = await anon.post("/oauth/v2/token/revoke", params={"token": emulator.refresh_token})
    assert revoked.status_code == 200
    api = await anon.get("/bigin/v2/org", headers={"Authorization": f"Zoho-oauthtoken {token}"})
    assert api.status_code == 401
    again = await anon.post(TOKEN, data=refresh_form(emulator))
    assert again.json() == {"error": "invalid_code"}


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        (None, 401, "AUTHENTICATION_FAILURE"),
        ("", 401, "AUTHENTICATION_FAILURE"),
        ("Bearer {token}", 400, "INVALID_REQUEST"),
        ("Zoho-oauthtoken 1000.not.real", 401, "INVALID_TOKEN"),
        ("zoho-oauthtoken {token}", 200, None),
    ],
)
async def test_the_authorization_header(
    anon: httpx.AsyncClient, emulator: BiginEmulator, header: str | None, status: int, code: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header.format(token=emulator.issue_token())}
    response = await anon.get("/bigin/v2/Contacts", params={"fields": "Last_Name"}, headers=headers)
    expected = 204 if status == 200 else status
    assert response.status_code == expected
    if code is not None:
        assert response.json()["code"] == code and response.json()["status"] == "error"


async def test_oauth_paths_need_no_api_token(anon: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    assert (await anon.post(TOKEN, data=refresh_form(emulator))).status_code == 200
