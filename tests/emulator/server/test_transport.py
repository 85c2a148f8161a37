"""EmulatorTransport keeps real app errors loud and maps only the emulated network failures."""

from __future__ import annotations

import httpx
import pytest

from bigin_emulator.server.faults import FaultPlan
from bigin_emulator.server.middleware import EmulatorMiddleware, Receive, Scope, Send
from bigin_emulator.server.transport import EmulatorTransport
from tests.helpers.emulator_server import RecordingApp


async def _broken_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise TimeoutError("a bug in a route, not a network timeout")


async def test_app_exceptions_propagate_unchanged_even_with_a_read_timeout() -> None:
    transport = EmulatorTransport(EmulatorMiddleware(_broken_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator", timeout=5.0) as client:
        with pytest.raises(TimeoutError, match="a bug in a route"):
            await client.get("/bigin/v2/Contacts")


async def test_plain_asgi_transport_also_sees_a_drop_as_an_httpx_error() -> None:
    app = EmulatorMiddleware(RecordingApp(), faults=FaultPlan(drop_after=1.0))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://emulator"
    ) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/bigin/v2/Contacts")
