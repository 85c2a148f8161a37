"""The example services start under plain uvicorn, as their READMEs say, from the root and their folder.

``python -m uvicorn examples.fastapi_app:app`` from the repository root and ``python -m uvicorn
fastapi_app:app`` from ``examples/`` (the same for the Books sync service's ``asgi:app``), each a
child process on a free loopback port. Each test polls the port until the server answers (a
bounded loop: a refused connection means "not yet", a child that ended means failure), calls a
route, checks the answer, then ends the child.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from bigin_emulator import BiginEmulator
from tests.helpers.examples import EXAMPLES, REPO
from tests.helpers.served_emulator import client_at, emulator_in_child

ASYNCIO_ONLY = pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the servers run in children

STARTUP_SECONDS = 60
BOOKS_SYNC = EXAMPLES / "bigin_books_sync"
# The emulator's own credentials (every BiginEmulator() has these unless told otherwise).
_DEFAULTS = BiginEmulator()
EMULATOR_CREDENTIALS = {
    "BIGIN_CLIENT_ID": _DEFAULTS.client_id,
    "BIGIN_CLIENT_SECRET": _DEFAULTS.client_secret,
    "BIGIN_REFRESH_TOKEN": _DEFAULTS.refresh_token,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without any BIGIN_* or SYNC_* setting (never a real org), plus ``extra``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("BIGIN_", "SYNC_", "BOOKS_"))}
    return {**kept, **extra}


@asynccontextmanager
async def uvicorn(
    target: str, cwd: Path, env: Mapping[str, str], log: Path, probe: str = "/"
) -> AsyncIterator[httpx.AsyncClient]:
    """``python -m uvicorn target`` in ``cwd``; yields an HTTP client on it once it answers ``probe``."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = await anyio.open_process(argv, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    async with process, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        try:
            with anyio.move_on_after(STARTUP_SECONDS) as waited:
                while True:
                    if process.returncode is not None:
                        pytest.fail(
                            f"uvicorn {target} (in {cwd}) ended with {process.returncode}:\n{log.read_text()}"
                        )
                    try:
                        await http.get(probe)
                        break
                    except httpx.ConnectError:  # not listening yet
                        await anyio.sleep(0.1)
            if waited.cancelled_caught:
                pytest.fail(f"uvicorn {target} did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")
            yield http
        finally:
            process.terminate()
            with anyio.move_on_after(30):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()


@ASYNCIO_ONLY
async def test_the_fastapi_example_starts_from_the_repo_root_on_its_emulator(tmp_path: Path) -> None:
    async with uvicorn("examples.fastapi_app:app", REPO, clean_environment(), tmp_path / "log") as http:
        listed = await http.get("/contacts", params={"limit": 3})
        bad = await http.post("/contacts", json={"Last_Name": "Doe", "Email": "not-an-email"})
    assert listed.status_code == 200 and len(listed.json()) == 3 and all(c["id"] for c in listed.json())
    assert bad.status_code == 422, bad.text
    assert bad.json()["detail"][0]["loc"] == ["body", "Email"]


@ASYNCIO_ONLY
async def test_the_fastapi_example_starts_from_its_folder_against_a_served_emulator(tmp_path: Path) -> None:
    async with emulator_in_child() as url:
        env = clean_environment(BIGIN_API_DOMAIN=url, BIGIN_ACCOUNTS_URL=url, **EMULATOR_CREDENTIALS)
        async with uvicorn("fastapi_app:app", EXAMPLES, env, tmp_path / "log") as http:
            created = await http.post("/contacts", json={"Last_Name": "Lovelace", "Email": "ada@example.com"})
            again = await http.post("/contacts", json={"Last_Name": "Byron", "Email": "ada@example.com"})
            read = await http.get(f"/contacts/{created.json().get('id')}")
            missing = await http.get("/contacts/1234567890123456789")
        async with client_at(url) as bigin:
            stored = await bigin.contacts.get(created.json()["id"])
    assert created.status_code == 201, created.text
    assert again.status_code == 409 and again.json()["id"] == created.json()["id"]
    assert read.status_code == 200 and read.json()["Last_Name"] == "Lovelace"
    assert missing.status_code == 404
    assert stored.Email == "ada@example.com"  # the app wrote to the served emulator, not one of its own


@ASYNCIO_ONLY
async def test_the_books_sync_starts_from_the_repo_root_and_syncs_a_contact(tmp_path: Path) -> None:
    emulator_port = free_port()
    url = f"http://127.0.0.1:{emulator_port}"
    env = clean_environment(SYNC_EMULATOR_PORT=str(emulator_port), SYNC_WEBHOOK_TOKEN="h3-webhook-token")
    async with uvicorn("examples.bigin_books_sync.asgi:app", REPO, env, tmp_path / "log", "/health") as http:
        health = await http.get("/health")
        async with client_at(url) as bigin:
            created = await bigin.contacts.create({"Last_Name": "Hopper", "Email": "grace@example.com"})
        # The emulator notifies the service itself too; this copy is answered once the sync is done.
        notification = {
            "module": "Contacts",
            "operation": "insert",
            "ids": [created.id],
            "channel_id": "2026001",
            "token": "h3-webhook-token",
        }
        synced = await http.post("/bigin/notifications", json=notification)
        stranger = await http.post("/bigin/notifications", json={**notification, "token": "guess"})
    assert health.status_code == 200 and health.json()["channel_expires_at"]  # the channel is on
    assert synced.status_code == 200, synced.text
    (result,) = synced.json()["results"]
    assert result["outcome"] in ("created", "unchanged") and result["books_contact_id"]
    assert stranger.status_code == 401
    assert f"BIGIN_API_DOMAIN={url}" in (tmp_path / "log").read_text()  # it says how to reach it


@ASYNCIO_ONLY
async def test_the_books_sync_starts_from_its_folder(tmp_path: Path) -> None:
    async with uvicorn("asgi:app", BOOKS_SYNC, clean_environment(), tmp_path / "log", "/health") as http:
        health = await http.get("/health")
        stranger = await http.post("/bigin/notifications", json={"token": "guess"})
    assert health.status_code == 200
    assert health.json()["counts"]["created"] == 0 and health.json()["channel_expires_at"]
    assert stranger.status_code == 401


def test_the_books_sync_for_a_real_org_names_the_settings_it_lacks() -> None:
    env = clean_environment(BIGIN_ACCESS_TOKEN="1000.not-used")
    completed = subprocess.run(
        [sys.executable, "-c", "import examples.bigin_books_sync.asgi"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1
    assert "set SYNC_PUBLIC_URL and BOOKS_ORGANIZATION_ID" in completed.stderr.strip().splitlines()[-1]
