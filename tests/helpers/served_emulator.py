"""The emulator for file tests: one served from a child process, and an upload refused unsent.

An emulator in this process keeps every file it is sent in this process's memory, which
tracemalloc would count as the client's; ``emulator_in_child()`` serves a fresh one from a child
process over loopback instead, so a test of a 15 MB upload measures the client alone.
``refused_unsent`` checks a file over a limit is refused with no request made; ``client_at(url)``
is a client of an emulator served at ``url`` (in this process or another).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from bigin_async import BiginClient, FileTooLargeError
from bigin_emulator import BiginEmulator

__all__ = ["SERVE", "client_at", "emulator_in_child", "refused_unsent"]

# A child process serving a fresh emulator on a loopback port; it prints {"url": ...} once up.
SERVE = """
import json, anyio
from bigin_emulator import BiginEmulator

async def main():
    async with BiginEmulator().serve(port=0) as url:
        print(json.dumps({"url": url}), flush=True)
        await anyio.sleep_forever()

anyio.run(main)
"""


@asynccontextmanager
async def emulator_in_child(argv: list[str] | None = None) -> AsyncIterator[str]:
    """The URL of an emulator served by a child process (``argv``, by default :data:`SERVE`),
    which prints ``{"url": ...}`` on its first line once it serves; it is ended on leaving."""
    process = await anyio.open_process(argv or [sys.executable, "-c", SERVE], stdout=subprocess.PIPE)
    async with process:
        assert process.stdout is not None
        line = b""
        while not line.endswith(b"\n"):
            piece = await process.stdout.receive(1)
            assert piece, "the emulator process ended before it served"
            line += piece
        try:
            yield str(json.loads(line)["url"])
        finally:
            process.terminate()
            await process.wait()


async def refused_unsent(
    emulator: BiginEmulator, upload: Callable[[], Awaitable[object]]
) -> FileTooLargeError:
    """``upload()`` raises :class:`FileTooLargeError` and ``emulator`` hears no request of it."""
    before = emulator.counters.requests_total
    with pytest.raises(FileTooLargeError) as refused:
        await upload()
    assert emulator.counters.requests_total == before
    return refused.value


def client_at(url: str, emulator: BiginEmulator | None = None, **options: Any) -> BiginClient:
    """A client logged in to the emulator served at ``url`` (API and accounts server alike) with
    ``emulator``'s credentials, the defaults every emulator accepts when it is served elsewhere."""
    credentials = emulator if emulator is not None else BiginEmulator()
    return BiginClient(
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        refresh_token=credentials.refresh_token,
        api_domain=url,
        accounts_url=url,
        **options,
    )
