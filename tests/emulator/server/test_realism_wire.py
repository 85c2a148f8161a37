"""The wire-level realism switches: dripping answers, keep-alive hang-ups, keep-alive timeout.

A dripping answer is only dangerous because a socket's read timeout counts the silence between
bytes, not the whole answer; the in-process transport must behave the same way, or the fake
would time out where the network does not. Keep-alive hang-ups only exist on sockets, so those
tests run uvicorn (asyncio only).
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from bigin_emulator.server.faults import FaultPlan, ServerLimits
from bigin_emulator.server.middleware import EmulatorMiddleware, Message
from bigin_emulator.server.serving import _embedded_server, serve
from tests.helpers.emulator_server import RecordingApp, in_process_client, records

asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])


async def _raw_call(app: EmulatorMiddleware, method: str = "POST") -> list[Message]:
    """Drive the ASGI app by hand and keep every message it sends."""
    sent: list[Message] = []
    body = b'{"data": [{"Last_Name": "A"}]}'
    replayed = False

    async def receive() -> Message:
        nonlocal replayed
        if replayed:
            return {"type": "http.disconnect"}
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http", "method": method, "path": "/bigin/v2/Contacts", "query_string": b"", "headers": [],
    }  # fmt: skip
    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(("drip", "pieces"), [(0.0, 1), (1.0, 5)])
async def test_a_dripping_answer_comes_in_pieces(drip: float, pieces: int) -> None:
    app = RecordingApp()
    middleware = EmulatorMiddleware(app, faults=FaultPlan(drip=drip, drip_chunks=5, drip_interval=0.0))
    sent = await _raw_call(middleware)
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert len(bodies) == pieces
    assert [m.get("more_body", False) for m in bodies] == [True] * (pieces - 1) + [False]
    whole = b"".join(m["body"] for m in bodies)
    start = sent[0]
    assert dict(start["headers"])[b"content-length"] == str(len(whole)).encode()
    assert b'"status": "success"' in whole
    assert app.writes == [{"data": [{"Last_Name": "A"}]}]  # the write is applied, only the answer drips
    if drip:
        assert middleware.counters.faults_injected == {"drip": 1}


async def test_the_in_process_read_timeout_counts_silence_not_the_whole_answer() -> None:
    """Each piece within the read timeout: no ReadTimeout, though the whole takes longer (as on a socket)."""
    plan = FaultPlan(drip=1.0, drip_chunks=12, drip_interval=0.05)  # >= 0.55 s in all, 0.05 s gaps
    async with in_process_client(EmulatorMiddleware(RecordingApp(), faults=plan)) as client:
        response = await client.post(
            "/bigin/v2/Contacts", json=records(2), timeout=httpx.Timeout(10.0, read=0.5)
        )
    assert response.status_code == 201
    assert len(response.json()["data"]) == 1


async def test_the_in_process_read_timeout_still_fires_on_a_silent_answer() -> None:
    plan = FaultPlan(drip=1.0, drip_chunks=2, drip_interval=3600.0)
    async with in_process_client(EmulatorMiddleware(RecordingApp(), faults=plan)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/bigin/v2/Contacts", json=records(1), timeout=httpx.Timeout(10.0, read=0.05))


def test_drip_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        FaultPlan(drip=1.0, drip_chunks=1)
    with pytest.raises(ValueError):
        FaultPlan(drip=1.0, drip_interval=-1.0)


@asyncio_only
async def test_a_dripping_answer_over_a_socket_never_hits_the_read_timeout() -> None:
    plan = FaultPlan(drip=1.0, drip_chunks=12, drip_interval=0.05)
    async with serve(EmulatorMiddleware(RecordingApp(), faults=plan)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10.0, read=0.5)) as client:
            response = await client.post("/bigin/v2/Contacts", json=records(1))
    assert response.status_code == 201 and response.json()["data"][0]["status"] == "success"


@asyncio_only
async def test_without_hang_ups_a_connection_carries_many_calls() -> None:
    app = RecordingApp()
    async with serve(EmulatorMiddleware(app)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            answers = [await client.get("/bigin/v2/Contacts") for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert app.calls == 5


@asyncio_only
async def test_a_hung_up_keep_alive_connection_drops_the_next_request_unread() -> None:
    """The stale-connection race made certain: the 3rd request on a connection is never processed."""
    app = RecordingApp()
    async with serve(EmulatorMiddleware(app), hang_up_after=2) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            first = await client.get("/bigin/v2/Contacts")
            second = await client.post("/bigin/v2/Contacts", json=records(1))
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                await client.post("/bigin/v2/Contacts", json=records(2))  # a POST on a stale connection
            after = await client.post("/bigin/v2/Contacts", json=records(3))  # a fresh connection
    assert first.status_code == 200 and second.status_code == 201 and after.status_code == 201
    assert app.writes == [records(1), records(3)]  # the stale POST was never applied
    assert app.calls == 3


def test_keep_alive_timeout_reaches_uvicorn() -> None:
    server = _embedded_server(RecordingApp(), "127.0.0.1", 0, "warning", "off", keep_alive_timeout=0.25)
    assert server.config.timeout_keep_alive == 0.25
    assert _embedded_server(RecordingApp(), "127.0.0.1", 0, "warning", "off").config.timeout_keep_alive == 5.0


@pytest.mark.parametrize("bare", [False, True])
async def test_a_concurrency_429_is_bare_when_asked(bare: bool) -> None:
    app = RecordingApp()
    release = app.hold(1)
    limits = ServerLimits(max_concurrency=1, per_minute=100)
    middleware = EmulatorMiddleware(app, limits=limits, bare_429s=bare)
    async with in_process_client(middleware) as client, anyio.create_task_group() as tasks:
        tasks.start_soon(client.get, "/bigin/v2/Contacts")
        await app.all_held.wait()
        refused = await client.get("/bigin/v2/Contacts")
        release.set()
    assert refused.status_code == 429
    assert middleware.counters.rejected_by_limit == {"concurrency": 1}
    assert any(k.startswith("x-ratelimit-") for k in refused.headers) is not bare
