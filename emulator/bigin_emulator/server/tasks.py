"""A task group for the emulator's background work: the notifier's deliveries, the served socket.

anyio wraps whatever the block raises in an ``ExceptionGroup`` when it leaves a task group. For a
context manager that merely runs helpers in the background (a renewal loop, a delivery worker, a
server), that wrapping is noise to the caller: ``pytest.raises(ValueError)`` around the block
would fail. This group hands the block's own exception back as itself.

The SDK has the same 19 lines (``bigin_async._tasks``); they are kept here too so the emulator
installs and runs without the SDK.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

if sys.version_info < (3, 11):  # pragma: no cover - anyio depends on the backport there
    from exceptiongroup import BaseExceptionGroup

__all__ = ["unwrapping_task_group"]


@asynccontextmanager
async def unwrapping_task_group() -> AsyncIterator[TaskGroup]:
    """``anyio.create_task_group()``, re-raising a lone exception (the block's own, or the one
    background task's that cancelled the block) unwrapped."""
    raised: list[BaseException] = []
    try:
        async with anyio.create_task_group() as tasks:
            try:
                yield tasks
            except BaseException as exc:
                raised.append(exc)
                raise
    except BaseExceptionGroup as group:
        if raised and list(group.exceptions) == raised:
            raise raised[0] from raised[0].__cause__
        if len(group.exceptions) == 1:  # one background task failed (and cancelled the block)
            only = group.exceptions[0]
            raise only from only.__cause__
        raise
