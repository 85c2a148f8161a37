"""The FastAPI integration: one client per process, handed out without constructing anything."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from bigin_async import BiginClient, ConfigurationError
from bigin_async.integrations.fastapi import BiginDep, bigin_lifespan, get_bigin, open_bigin
from bigin_emulator import BiginEmulator

REQUESTS = 500


class Seen:
    """What the path operation saw: which client objects and which pools served it."""

    def __init__(self) -> None:
        self.clients: set[int] = set()
        self.pools: set[int] = set()


def build_app(factory: Callable[[], Any], seen: Seen) -> FastAPI:
    app = FastAPI(lifespan=bigin_lifespan(factory))

    @app.get("/org")
    async def read_org(bigin: BiginDep) -> dict[str, Any]:
        seen.clients.add(id(bigin))
        seen.pools.add(id(bigin.transport.http))
        org = await bigin.org.get()
        return {"id": org.id}

    return app


async def fire(app: FastAPI, count: int, concurrency: int = 50) -> list[int]:
    statuses: list[int] = []
    limit = anyio.Semaphore(concurrency)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as http:

        async def one() -> None:
            async with limit:
                statuses.append((await http.get("/org")).status_code)

        async with anyio.create_task_group() as tasks:
            for _ in range(count):
                tasks.start_soon(one)
    return statuses


async def test_500_requests_share_one_client_one_pool_and_one_refresh_and_shutdown_closes_it() -> None:
    emulator = BiginEmulator()
    made: list[BiginClient] = []

    def factory() -> BiginClient:
        made.append(emulator.client())
        return made[-1]

    seen = Seen()
    app = build_app(factory, seen)
    async with app.router.lifespan_context(app):
        statuses = await fire(app, REQUESTS)
        assert not made[0].closed
    assert statuses == [200] * REQUESTS
    assert len(made) == 1 and seen.clients == {id(made[0])}
    assert seen.pools == {id(made[0].transport.http)}
    assert emulator.counters.refreshes == 1
    assert emulator.counters.requests_by_route["GET /bigin/v2/org"] == REQUESTS
    assert made[0].closed  # shutdown closed the pool
    assert not hasattr(app.state, "bigin")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as http:
        with pytest.raises(RuntimeError, match="no BiginClient"):
            await http.get("/org")  # after shutdown nothing hands out a closed client


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_500_requests_over_a_socket_use_one_pool_of_at_most_pool_size_connections() -> None:
    from bigin_emulator.server.serving import serve

    emulator = BiginEmulator()
    ports: list[int] = []

    async def counter(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            ports.append(scope["client"][1])  # one client port = one connection
        await emulator.app(scope, receive, send)

    seen = Seen()
    async with serve(counter, port=0) as url:
        made: list[BiginClient] = []

        def factory() -> BiginClient:
            made.append(
                BiginClient(
                    client_id=emulator.client_id,
                    client_secret=emulator.client_secret,
                    refresh_token=emulator.refresh_token,
                    api_domain=url,
                    accounts_url=url,
                )
            )
            return made[-1]  # fmt: skip

        app = build_app(factory, seen)
        async with app.router.lifespan_context(app):
            statuses = await fire(app, REQUESTS)
    assert statuses == [200] * REQUESTS
    assert len(made) == 1 and len(seen.pools) == 1
    assert emulator.counters.refreshes == 1
    connections = len(set(ports))
    assert 1 <= connections <= made[0].config.max_concurrency + 5  # one pool: 501 calls, a handful of sockets
    assert len(ports) == REQUESTS + 1


async def test_dependency_override_hands_routes_a_test_client_without_the_lifespan() -> None:
    emulator = BiginEmulator()
    seen = Seen()
    app = build_app(lambda: pytest.fail("the lifespan must not run"), seen)
    async with emulator.client() as test_client:
        app.dependency_overrides[get_bigin] = lambda: test_client
        statuses = await fire(app, 3)
    assert statuses == [200, 200, 200]
    assert seen.clients == {id(test_client)}


async def test_open_bigin_composes_into_an_own_lifespan_and_accepts_an_async_factory() -> None:
    emulator = BiginEmulator()
    started: list[str] = []

    async def factory() -> BiginClient:
        return emulator.client()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_bigin(app, factory) as bigin:
            started.append((await bigin.org.get()).id or "")
            yield

    seen = Seen()
    app = FastAPI(lifespan=lifespan)

    @app.get("/org")
    async def read_org(bigin: BiginDep) -> dict[str, Any]:
        seen.clients.add(id(bigin))
        return {}

    async with app.router.lifespan_context(app):
        assert await fire(app, 2) == [200, 200]
        client = app.state.bigin
    assert started and started[0] and seen.clients == {id(client)} and client.closed


async def test_a_factory_that_returns_something_else_fails_at_start_up() -> None:
    factory: Callable[[], Awaitable[Any] | Any] = lambda: object()  # noqa: E731
    app = FastAPI(lifespan=bigin_lifespan(factory))
    with pytest.raises(ConfigurationError, match="BiginClient"):
        async with app.router.lifespan_context(app):
            pass
