"""benchmarks/bulk_import.py's ``minimal_server``: the instrument behind its ``stack_floor`` figures.

A floor measured against a server that answers wrongly, or that stops reading a keep-alive
connection after the first request, would be no floor at all: these check it answers as the
fixed-answer server does, request after request on one connection, whatever the segmenting.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import anyio
import httpx
import pytest
from anyio.abc import SocketAttribute

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.anyio


def _load() -> ModuleType:
    path = ROOT / "benchmarks" / "bulk_import.py"
    spec = importlib.util.spec_from_file_location("bench_bulk_import", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_bulk_import"] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


@asynccontextmanager
async def minimal_server() -> AsyncIterator[int]:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, bench.minimal_server(0.0))
        yield listener.extra(SocketAttribute.local_port)
        tg.cancel_scope.cancel()


async def test_it_answers_writes_tokens_and_counters_on_one_keep_alive_connection() -> None:
    body = json.dumps({"data": [{"Last_Name": "x" * 200}] * 150}).encode()  # ~30 KB: many segments
    async with minimal_server() as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            token = await http.post("/oauth/v2/token", data={"grant_type": "refresh_token"})
            written = [await http.post("/bigin/v2/Contacts", content=body) for _ in range(3)]
            counters = await http.get(bench.CONTROL_PATH + "?x=1")
    assert token.json()["access_token"] == "t"
    assert [response.content for response in written] == [bench.FIXED_ANSWER] * 3
    view = counters.json()["counters"]
    assert view["requests_total"] == 3
    assert view["peak_concurrency"] == 1


async def test_a_request_split_byte_by_byte_and_two_pipelined_are_both_answered() -> None:
    request = b"POST /bigin/v2/Contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"
    async with minimal_server() as port:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            for byte in request:
                await stream.send(bytes([byte]))
            await stream.send(request + request.replace(b"POST", b"GET", 1))
            received = b""
            while received.count(bench.FIXED_ANSWER) < 3:
                received += await stream.receive()
    assert received.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert received.endswith(bench.FIXED_ANSWER)
