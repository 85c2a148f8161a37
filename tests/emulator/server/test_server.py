"""serve(): uvicorn on a loopback port, and faults as a socket client really sees them.

uvicorn only runs on asyncio, so these tests pin the backend; the trio case checks the refusal.
"""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

from bigin_emulator.server.counters import ServerCounters
from bigin_emulator.server.faults import FaultPlan
from bigin_emulator.server.middleware import EmulatorMiddleware
from bigin_emulator.server.serving import serve
from tests.helpers.emulator_server import RecordingApp, records

asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])


@asyncio_only
async def test_serves_on_an_os_chosen_port() -> None:
    counters = ServerCounters()
    async with serve(EmulatorMiddleware(RecordingApp(), counters=counters)) as url:
        port = int(url.rsplit(":", 1)[1])
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/bigin/v2/Contacts/123")
    assert url.startswith("http://127.0.0.1:") and port > 0
    assert response.status_code == 200
    assert counters.requests_by_route == {"GET /bigin/v2/Contacts/{id}": 1}


@asyncio_only
async def test_peak_concurrency_over_sockets() -> None:
    counters = ServerCounters()
    app = RecordingApp()
    release = app.hold(5)
    async with serve(EmulatorMiddleware(app, counters=counters)) as url:
        async with httpx.AsyncClient(base_url=url) as client, anyio.create_task_group() as tasks:
            for _ in range(5):
                tasks.start_soon(client.get, "/bigin/v2/Contacts")
            await app.all_held.wait()
            release.set()
    assert counters.peak_concurrency == 5


@asyncio_only
@pytest.mark.parametrize(("fault", "applied"), [("drop_before", False), ("drop_after", True)])
async def test_dropped_connection_is_a_transport_error(
    fault: str, applied: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = RecordingApp()
    plan = FaultPlan(**{fault: 1.0}, methods=frozenset({"POST"}))  # type: ignore[arg-type]
    async with serve(EmulatorMiddleware(app, faults=plan)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await client.post("/bigin/v2/Contacts", json=records(3))
            after = await client.get("/bigin/v2/Contacts")  # the pool recovers on a fresh connection
    assert after.status_code == 200
    assert app.writes == ([records(3)] if applied else [])
    assert "Exception in ASGI application" not in caplog.text


@asyncio_only
async def test_slow_answer_times_out_and_the_server_lets_go(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    app = RecordingApp()
    middleware = EmulatorMiddleware(app, faults=FaultPlan(slow=1.0, slow_seconds=3600.0))
    async with serve(middleware) as url:
        async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10.0, read=0.05)) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/bigin/v2/Contacts", json=records(1))
    assert app.writes == [records(1)]
    assert middleware.counters.in_flight == 0
    assert "Cancel" not in caplog.text  # the held request ended on disconnect, not at the grace deadline


@asyncio_only
async def test_errors_inside_the_block_propagate_and_stop_the_server() -> None:
    with pytest.raises(LookupError):
        async with serve(RecordingApp()) as url:
            raise LookupError(url)
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)


async def test_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        async with serve(RecordingApp(), host="0.0.0.0"):
            pass  # pragma: no cover


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_refuses_to_run_under_trio() -> None:
    with pytest.raises(RuntimeError, match="asyncio"):
        async with serve(RecordingApp()):
            pass  # pragma: no cover


@asyncio_only
async def test_a_port_in_use_is_a_clear_error() -> None:
    async with serve(RecordingApp()) as url:
        taken = int(url.rsplit(":", 1)[1])
        with pytest.raises(RuntimeError, match="failed to start"):
            async with serve(RecordingApp(), port=taken):
                pass  # pragma: no cover


@asyncio_only
async def test_a_cancelled_caller_still_closes_the_server() -> None:
    with anyio.CancelScope() as scope:
        async with serve(RecordingApp()) as url:
            scope.cancel()
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)
