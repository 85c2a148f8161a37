"""``bigin export`` stopped part way, for the tests of ``--resume``.

:class:`StopAt` is the emulator's transport with the ``page``-th list (or search) request
stopped; :func:`export` runs ``bigin export Contacts --fields Email -o OUTPUT``; the ``*_ids``
helpers read back which records a file or the org holds.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.lowlevel
import httpx

from bigin_emulator import BiginEmulator
from tests.helpers.cli import Run, bigin

__all__ = ["LIST", "StopAt", "contact_ids", "csv_ids", "export", "jsonl_ids"]

LIST = "/bigin/v2/Contacts"


class StopAt(httpx.AsyncBaseTransport):
    """The emulator's transport, but the ``page``-th GET of ``path`` stops: an error answer Bigin can
    give (400, not retried), or ``stop()`` (a cancellation, a KeyboardInterrupt) before it is sent."""

    def __init__(
        self,
        emulator: BiginEmulator,
        page: int,
        stop: Callable[[], None] | None = None,
        *,
        path: str = LIST,
    ) -> None:
        self.inner = emulator.transport()
        self.page = page
        self.stop = stop
        self.path = path
        self.lists: list[httpx.QueryParams] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == self.path:
            self.lists.append(request.url.params)
            if len(self.lists) == self.page:
                if self.stop is not None:
                    self.stop()
                    await anyio.lowlevel.checkpoint()  # the cancellation lands here
                body = {"code": "INVALID_REQUEST", "details": {}, "message": "stopped", "status": "error"}
                return httpx.Response(400, json=body)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def contact_ids(emulator: BiginEmulator) -> set[str]:
    """The ids of the contacts the org holds now."""
    return set(emulator.store.table("Contacts").records)


def jsonl_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def csv_ids(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["id"] for row in csv.DictReader(handle)]


async def export(emulator: BiginEmulator, output: Path, *argv: str, **client: Any) -> Run:
    """``bigin export Contacts --fields Email -o OUTPUT ARGV...``; ``client`` as ``emulator.client()``'s."""
    return await bigin(
        emulator, "export", "Contacts", "--fields", "Email", "-o", str(output), *argv, **client
    )
