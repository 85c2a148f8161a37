"""Fixtures for the emulator's HTTP-level tests: one org per test, a fake clock, a plain httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bigin_emulator import BiginEmulator


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> BiginEmulator:
    return BiginEmulator(clock=clock)


@pytest.fixture
async def api(emulator: BiginEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """An authorised client on the emulator's full ASGI stack (middleware included), no SDK."""
    headers = {"Authorization": f"Zoho-oauthtoken {emulator.issue_token()}"}
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers) as client:
        yield client


@pytest.fixture
async def anon(emulator: BiginEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client without an Authorization header."""
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def insert(api: httpx.AsyncClient, module: str, *records: dict[str, Any]) -> list[str]:
    """Insert records that must all succeed; their ids in input order."""
    response = await api.post(f"/bigin/v2/{module}", json={"data": list(records)})
    assert response.status_code == 201, response.text
    return [entry["details"]["id"] for entry in response.json()["data"]]


async def get_record(api: httpx.AsyncClient, module: str, record_id: str) -> dict[str, Any]:
    response = await api.get(f"/bigin/v2/{module}/{record_id}")
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()["data"][0]
    return record
