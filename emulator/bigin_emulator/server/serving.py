"""Serve an ASGI app with uvicorn on a loopback port, inside the caller's event loop.

Some behaviour only exists on real sockets: connection pools, keep-alive, a connection closed
mid-response. ``serve()`` gives tests, benchmarks and ``python -m bigin_emulator`` a real
server without a subprocess: uvicorn runs as a task next to the caller and stops when the
``async with`` block ends.

uvicorn is asyncio-only, so ``serve()`` refuses to run under trio with a RuntimeError (run the
socket-level tests on the asyncio backend; in-process tests run on both).

Keep-alive as a client meets it: ``keep_alive_timeout`` closes idle connections (uvicorn's own
timer), and ``hang_up_after`` closes a connection that has carried that many answers the moment
the next request arrives on it, without answering. That second one is the race every pooled
client loses now and then against a real server's keep-alive timer (the request left on a
connection the server was closing): httpx raises ``RemoteProtocolError("Server disconnected
without sending a response.")``, and the server never saw the request.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal

import anyio

from bigin_emulator.server.middleware import ASGIApp, ConnectionDropped
from bigin_emulator.server.tasks import unwrapping_task_group

__all__ = ["ConnectionDropLogFilter", "serve"]

_LOOPBACK_NAMES = frozenset({"localhost"})
_SHUTDOWN_GRACE_SECONDS = 5
_Lifespan = Literal["auto", "on", "off"]


class ConnectionDropLogFilter(logging.Filter):
    """Hide uvicorn's "Exception in ASGI application" for emulated drops: they are the point."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def _require_loopback(host: str) -> None:
    if host in _LOOPBACK_NAMES:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the emulator only listens on loopback addresses, not {host!r}")


def _running_on_trio() -> bool:
    try:
        import sniffio  # trio depends on it, so without it trio cannot be running
    except ImportError:  # pragma: no cover
        return False
    try:
        return sniffio.current_async_library() == "trio"
    except sniffio.AsyncLibraryNotFoundError:  # pragma: no cover
        return False


@contextmanager
def _drop_logs_hidden() -> Generator[None, None, None]:
    log = logging.getLogger("uvicorn.error")
    drop_filter = ConnectionDropLogFilter()
    log.addFilter(drop_filter)
    try:
        yield
    finally:
        log.removeFilter(drop_filter)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _hanging_up_protocol(answers: int) -> type[Any]:
    """uvicorn's h11 protocol, closing a connection after ``answers`` answers when a request arrives."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HangingUpProtocol(H11Protocol):
        """Closes a keep-alive connection after ``hang_up_after`` answers, as Zoho's servers do."""

        answered = 0

        def on_response_complete(self) -> None:
            self.answered += 1
            super().on_response_complete()

        def data_received(self, data: bytes) -> None:
            idle = self.cycle is None or self.cycle.response_complete
            if idle and self.answered >= answers:
                self.transport.close()  # the request is dropped unread: nothing was processed
                return
            super().data_received(data)

    return HangingUpProtocol


def _embedded_server(
    app: ASGIApp,
    host: str,
    port: int,
    log_level: str,
    lifespan: _Lifespan,
    keep_alive_timeout: float = 5.0,
    hang_up_after: int | None = None,
) -> Any:
    """A uvicorn server that leaves signals and logging set-up to the host program.

    ``log_config=None``: a library must not rewrite the caller's logging configuration (uvicorn's
    default config also stops its records from propagating, hiding them from pytest's caplog).
    """
    import uvicorn

    class _EmbeddedServer(uvicorn.Server):
        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            self.ready = anyio.Event()

        @contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            yield  # Ctrl-C belongs to the host program, which cancels serve() to stop us

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            self.ready.set()

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=_SHUTDOWN_GRACE_SECONDS,
        timeout_keep_alive=keep_alive_timeout,  # type: ignore[arg-type]  # uvicorn types it int; a float works
        http=_hanging_up_protocol(hang_up_after) if hang_up_after is not None else "auto",
    )
    return _EmbeddedServer(config)


async def _stop(server: Any, stopped: anyio.Event) -> None:
    """Ask uvicorn to stop and wait for it, even if the caller is being cancelled."""
    server.should_exit = True
    with anyio.CancelScope(shield=True):
        with anyio.move_on_after(_SHUTDOWN_GRACE_SECONDS + 1):
            await stopped.wait()
        server.force_exit = True  # a no-op if it already stopped; else skip the remaining waits
        await stopped.wait()


@asynccontextmanager
async def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    lifespan: _Lifespan = "auto",
    keep_alive_timeout: float = 5.0,
    hang_up_after: int | None = None,
) -> AsyncIterator[str]:
    """Run ``app`` on ``host:port`` for the duration of the block; yield its base URL.

    ``port=0`` lets the OS choose a free port (read back from the bound socket), so parallel
    test runs never collide. Only loopback hosts are accepted: the emulator has fake credentials
    and no business on a network. On exit uvicorn is asked to stop and awaited (shielded, so a
    cancelled caller still closes the listening socket). ``keep_alive_timeout`` and
    ``hang_up_after``: see the module docstring.
    """
    _require_loopback(host)
    if _running_on_trio():
        raise RuntimeError(
            "serve() runs uvicorn, which needs asyncio; under trio use EmulatorTransport instead"
        )
    server = _embedded_server(app, host, port, log_level, lifespan, keep_alive_timeout, hang_up_after)
    stopped = anyio.Event()
    failure: list[BaseException] = []

    async def run() -> None:
        # Shielded: uvicorn stops through should_exit and shuts down gracefully (closing its
        # listening socket); a cancellation cutting it off mid-loop would leak that socket.
        with anyio.CancelScope(shield=True):
            try:
                await server.serve()
            except SystemExit as exc:  # uvicorn exits the process when it cannot bind or start
                failure.append(
                    RuntimeError(f"uvicorn failed to start on {host}:{port} (exit code {exc.code})")
                )
            finally:
                server.ready.set()
                stopped.set()

    with _drop_logs_hidden():
        async with unwrapping_task_group() as tasks:
            tasks.start_soon(run)
            try:
                await server.ready.wait()
                if server.started and not failure:
                    bound_port = int(server.servers[0].sockets[0].getsockname()[1])
                    yield _url(host, bound_port)
            finally:
                await _stop(server, stopped)
    if failure:
        raise failure[0]
    if not server.started:
        raise RuntimeError("uvicorn stopped before it started")
