"""Fixtures for the emulator's HTTP-level tests: one org per test, a fake clock, a plain httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bigin_emulator import BiginEmulator
from tests.helpers.clock import FakeClock


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
