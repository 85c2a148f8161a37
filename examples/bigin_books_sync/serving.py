"""Run the service with uvicorn on a socket bound *before* start-up, so its URL is known in time.

The service's lifespan subscribes ``{its own URL}/bigin/notifications`` to Bigin, and uvicorn
runs the lifespan before it binds; binding the socket first (port 0: the OS picks a free one)
gives the URL to the app factory with no race for the port.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import uvicorn

__all__ = ["bind", "make_server", "serve_bound"]


def bind(host: str = "127.0.0.1", port: int = 0) -> tuple[socket.socket, str]:
    """A listening socket on ``host:port`` and the base URL that reaches it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    return sock, f"http://[{host}]:{bound_port}" if ":" in host else f"http://{host}:{bound_port}"


class _Server(uvicorn.Server):
    """uvicorn with a "started" event; signals are left to the host program when asked."""

    def __init__(self, config: uvicorn.Config, *, handle_signals: bool) -> None:
        super().__init__(config)
        self.ready = anyio.Event()
        self._handle_signals = handle_signals

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if self._handle_signals:
            with super().capture_signals():
                yield
        else:
            yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


def make_server(app: Any, *, handle_signals: bool = True, log_level: str = "warning") -> _Server:
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, log_level=log_level)
    return _Server(config, handle_signals=handle_signals)


@asynccontextmanager
async def serve_bound(
    make_app: Callable[[str], Any], host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[tuple[str, Any]]:
    """Serve ``make_app(url)`` for the duration of the block; yields ``(url, app)`` once started."""
    sock, url = bind(host, port)
    app = make_app(url)
    server = make_server(app, handle_signals=False)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(server.serve, [sock])
            try:
                with anyio.fail_after(30):
                    await server.ready.wait()
                if not server.started:
                    raise RuntimeError("the service did not start (its lifespan failed; see the log)")
                yield url, app
            finally:
                server.should_exit = True
    finally:
        sock.close()
