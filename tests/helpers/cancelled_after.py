"""A Redis backend whose caller is cancelled just after a chosen script ran in Redis."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel


class CancelledAfter:
    """The backend of one ``RedisLimits``, but the caller is cancelled just after ``script`` ran in
    Redis: its reply is lost, as when a call's deadline passes during the round trip."""

    def __init__(self, backend: Any, script: Any, scope: anyio.CancelScope) -> None:
        self._backend = backend
        self._script = script
        self._scope = scope

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    async def run(self, script: Any, keys: Any, args: Any) -> Any:
        reply = await self._backend.run(script, keys, args)
        if script is self._script and not self._scope.cancel_called:
            self._scope.cancel()
            await anyio.lowlevel.checkpoint()
        return reply
