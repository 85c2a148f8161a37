"""Unknown modules, unknown URLs and wrong methods answer Zoho's request-level errors."""

from __future__ import annotations

import httpx
import pytest

ERROR_KEYS = {"code", "details", "message", "status"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/bigin/v2/Companies?fields=Company_Name"),
        ("POST", "/bigin/v2/Companies"),
        ("GET", "/bigin/v2/Companies/5545000000001000001"),
        ("GET", "/bigin/v2/Companies/search?word=abc"),
        ("POST", "/bigin/v2/Companies/upsert"),
        ("GET", "/bigin/v2/contacts?fields=Last_Name"),
        ("GET", "/bigin/v2/Leads?fields=Last_Name"),
    ],
)
async def test_unknown_modules(api: httpx.AsyncClient, method: str, path: str) -> None:
    response = await api.request(
        method, path, json={"data": [{"Company_Name": "TechCorp"}]} if method == "POST" else None
    )
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["code"] == "INVALID_MODULE"


@pytest.mark.parametrize(
    "path", ["/bigin/v2/Contacts/abc", "/bigin/v2/a/b/c/d/e", "/bigin/v3/Contacts", "/crm/v2/Leads"]
)
async def test_unknown_urls(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "INVALID_URL_PATTERN" and set(response.json()) == ERROR_KEYS


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/bigin/v2/settings/modules"),
        ("GET", "/bigin/v2/Contacts/upsert"),
        ("PATCH", "/bigin/v2/Contacts"),
        ("DELETE", "/bigin/v2/org"),
        ("GET", "/bigin/v2/coql"),
        ("GET", "/oauth/v2/token"),
    ],
)
async def test_wrong_methods(api: httpx.AsyncClient, method: str, path: str) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405
    assert response.json()["code"] == "INVALID_REQUEST_METHOD"
