"""One way for the chaos suite's hand-written servers to listen on a loopback port.

Each fake server (the accounts server, the echo server) only says how to answer one connection;
binding 127.0.0.1 on a free port, serving and stopping live here once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
from anyio.abc import ByteStream, SocketAttribute

__all__ = ["serve_loopback"]


@asynccontextmanager
async def serve_loopback(handler: Callable[[ByteStream], Awaitable[None]]) -> AsyncIterator[int]:
    """Serve ``handler`` for every connection on a free 127.0.0.1 port; yields the port."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, handler)
        try:
            yield listener.extra(SocketAttribute.local_port)
        finally:
            tasks.cancel_scope.cancel()
