"""Under ``check_scopes`` the bulk job routes and the file host's upload need their own scopes.

Zoho answers 401 ``OAUTH_SCOPE_MISMATCH`` to a token consented without ``ZohoBigin.bulk.*`` (jobs)
or ``ZohoFiles.files.ALL`` (uploads); an emulator that let such a token in would hide the failure
a user meets on the first large ``bulk_import``.
"""

from __future__ import annotations

import httpx
import pytest

from bigin_emulator import BiginEmulator
from bigin_emulator.server.auth_gate import SCOPED_PATHS

BASIC = "ZohoBigin.modules.ALL ZohoBigin.org.ALL"

_READ = {"query": {"module": "Contacts", "fields": ["Last_Name"], "page": 1}}
_WRITE = {
    "operation": "insert",
    "resource": [{"type": "data", "module": {"api_name": "Contacts"}, "file_id": "1", "field_mappings": []}],
}


async def _upload(emulator: BiginEmulator) -> httpx.Response:
    token = emulator.issue_token()
    async with httpx.AsyncClient(transport=emulator.transport(), base_url="http://127.0.0.2") as files:
        return await files.post(
            "/bigin/v2/upload",
            headers={"Authorization": f"Zoho-oauthtoken {token}", "feature": "bulk-write", "X-CRM-ORG": "x"},
            files={"file": ("a.zip", b"not a zip", "application/zip")},
        )


@pytest.mark.parametrize(("path", "body"), [("/bigin/bulk/v2/read", _READ), ("/bigin/bulk/v2/write", _WRITE)])
async def test_a_token_without_bulk_scopes_cannot_create_jobs(path: str, body: dict[str, object]) -> None:
    emulator = BiginEmulator(check_scopes=True, scope=BASIC)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        response = await http.post(path, json=body)
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    assert response.json()["details"]["scope"].startswith("ZohoBigin.bulk.")


async def test_a_token_without_the_files_scope_cannot_upload() -> None:
    response = await _upload(BiginEmulator(check_scopes=True, scope=BASIC))
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"


async def test_the_default_consent_carries_every_bulk_scope_so_requests_reach_the_routes() -> None:
    emulator = BiginEmulator(check_scopes=True)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        read = await http.post("/bigin/bulk/v2/read", json=_READ)
    assert read.status_code == 201, read.text
    upload = await _upload(emulator)
    assert upload.json()["code"] != "OAUTH_SCOPE_MISMATCH"  # past the gate: refused for its header or file


async def test_bulk_all_opens_both_read_and_write_and_a_narrower_scope_opens_only_its_own() -> None:
    read_only = BiginEmulator(check_scopes=True, scope=BASIC + " ZohoBigin.bulk.READ")
    async with read_only.http_client(token=read_only.issue_token()) as http:
        assert (await http.post("/bigin/bulk/v2/read", json=_READ)).status_code == 201
        write = await http.post("/bigin/bulk/v2/write", json=_WRITE)
    assert write.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    assert {prefix for prefix, _ in SCOPED_PATHS} == {
        "/bigin/bulk/v2/read",
        "/bigin/bulk/v2/write",
        "/bigin/v2/upload",
    }


async def test_without_check_scopes_a_narrow_token_still_gets_in() -> None:
    emulator = BiginEmulator(scope=BASIC)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        assert (await http.post("/bigin/bulk/v2/read", json=_READ)).status_code == 201
