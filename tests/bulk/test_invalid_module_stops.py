"""A bulk write into a module Bigin does not have stops at the first call (issue 14, item 1).

Before, every batch of 100 failed alone with INVALID_MODULE: 50,000 rows into ``Contcts`` spent
500 calls (about 5,000 credits) to learn one typo.
"""

from __future__ import annotations

import httpx
import pytest

from bigin_async import BulkAbortedError, InvalidModuleError, InvalidRequestError
from bigin_emulator import BiginEmulator


class _Writes(httpx.AsyncBaseTransport):
    """Passes requests to the emulator, remembering every record write's path."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.writes: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in ("POST", "PUT") and "/oauth/" not in request.url.path:
            self.writes.append(request.url.path)
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("mode", ["create", "upsert", "update"])
async def test_a_mistyped_module_spends_one_call_not_one_per_batch(mode: str) -> None:
    emulator = BiginEmulator()
    writes = _Writes(emulator.transport())
    rows = [{"Last_Name": f"n{i}", "Email": f"n{i}@example.com", "id": str(10**17 + i)} for i in range(1_000)]
    async with emulator.client(transport=writes, max_concurrency=1) as bigin:
        module = bigin.module("Contcts")
        with pytest.raises(BulkAbortedError) as raised:
            if mode == "create":
                await module.bulk_create(rows)
            elif mode == "upsert":
                await module.bulk_upsert(rows, ["Email"])
            else:
                await module.bulk_update(rows)
    assert len(writes.writes) == 1, writes.writes
    cause = raised.value.__cause__
    assert isinstance(cause, InvalidModuleError) and cause.code == "INVALID_MODULE"
    result = raised.value.result
    assert result.counts["success"] == 0 and len(emulator.store.table("Contacts")) == 0


async def test_invalid_module_is_still_an_invalid_request_error() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        with pytest.raises(InvalidRequestError) as raised:
            await bigin.module("Contcts").get("1")
    assert type(raised.value) is InvalidModuleError
