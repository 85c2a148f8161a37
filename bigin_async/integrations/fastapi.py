"""FastAPI: one :class:`~bigin_async.BiginClient` per process, handed to path operations.

A client per request would open a pool, refresh a token (Zoho allows ten refreshes in ten
minutes) and lose the shared rate limits on every call. So the client is opened once, at
start-up, kept on ``app.state``, closed at shutdown, and path operations receive that one client
through a dependency that constructs nothing::

    from fastapi import FastAPI
    from bigin_async.integrations.fastapi import BiginDep, bigin_lifespan

    app = FastAPI(lifespan=bigin_lifespan())          # BiginClient.from_env() at start-up

    @app.get("/contacts/{contact_id}")
    async def read_contact(contact_id: str, bigin: BiginDep) -> dict:
        contact = await bigin.contacts.get(contact_id)
        return contact.model_dump(mode="json", by_alias=True, exclude_unset=True)

With a lifespan of your own, open the client inside it::

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with open_bigin(app, lambda: BiginClient(...)) as bigin:
            ...                                       # your own start-up, using bigin
            yield

In tests, hand the routes any client you like (an emulator's, a mock) without starting the
lifespan: ``app.dependency_overrides[get_bigin] = lambda: test_client``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Union

import anyio
from fastapi import Depends, FastAPI, Request

from bigin_async.client import BiginClient
from bigin_async.errors import ConfigurationError

__all__ = ["STATE_KEY", "BiginDep", "BiginFactory", "bigin_lifespan", "get_bigin", "open_bigin"]

STATE_KEY = "bigin"
BiginFactory = Callable[[], Union[BiginClient, Awaitable[BiginClient]]]


@asynccontextmanager
async def open_bigin(
    app: FastAPI, factory: BiginFactory = BiginClient.from_env
) -> AsyncIterator[BiginClient]:
    """Create the process's client with ``factory``, keep it on ``app.state.bigin``, close it on exit."""
    made = factory()
    client = await made if inspect.isawaitable(made) else made
    if not isinstance(client, BiginClient):
        raise ConfigurationError(f"the factory must return a BiginClient, not {type(client).__name__}")
    setattr(app.state, STATE_KEY, client)
    try:
        yield client
    finally:
        with anyio.CancelScope(shield=True):  # a cancelled shutdown still closes the pool
            await client.aclose()
        if getattr(app.state, STATE_KEY, None) is client:
            delattr(app.state, STATE_KEY)


def bigin_lifespan(
    factory: BiginFactory = BiginClient.from_env,
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]]:
    """A FastAPI ``lifespan`` that opens one client at start-up and closes it at shutdown.

    ``factory`` builds the client (default: ``BiginClient.from_env()`` from ``BIGIN_*``
    variables); it may be a coroutine function.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with open_bigin(app, factory) as client:
            yield {STATE_KEY: client}  # also lands on request.state under servers that support it

    return lifespan


async def get_bigin(request: Request) -> BiginClient:
    """The process's client (a coroutine, so FastAPI needs no worker thread to call it)."""
    client = getattr(request.state, STATE_KEY, None) or getattr(request.app.state, STATE_KEY, None)
    if not isinstance(client, BiginClient):
        raise RuntimeError(
            "no BiginClient on this app: create it with FastAPI(lifespan=bigin_lifespan(...)), open one with "
            "open_bigin() in your lifespan, or override get_bigin in app.dependency_overrides (tests)"
        )
    return client


BiginDep = Annotated[BiginClient, Depends(get_bigin)]
"""Annotate a path-operation parameter with this to receive the process's :class:`BiginClient`."""
