"""A task group for background work tied to one ``async with`` block.

anyio wraps whatever the block raises in an ``ExceptionGroup`` when it leaves a task group. For a
context manager that merely runs helpers in the background (a renewal loop, a delivery worker, a
server), that wrapping is noise to the caller: ``pytest.raises(ValueError)`` around the block
would fail. This group hands the block's own exception back as itself.
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
    background task's that cancelled the block) unwrapped, and an interrupt that several tasks
    met at once as itself."""
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
        stop = _stop_of(group)
        if stop is not None:
            raise stop from stop.__cause__
        raise


def _stop_of(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The first "stop" in ``group`` (KeyboardInterrupt, SystemExit, any BaseException that is not
    an error or a cancel): several tasks can meet the same interrupt at once, and the caller's
    ``except KeyboardInterrupt`` must still catch it, not a group of copies."""
    cancelled = anyio.get_cancelled_exc_class()
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            inner = _stop_of(exc)
            if inner is not None:
                return inner
        elif not isinstance(exc, (Exception, cancelled)):
            return exc
    return None
