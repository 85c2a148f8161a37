"""The sync service as a plain ASGI app, for any ASGI server: ``app`` here is what uvicorn serves.

    uvicorn examples.bigin_books_sync.asgi:app          # from the repository root
    uvicorn asgi:app                                    # from examples/bigin_books_sync/

With no ``BIGIN_*`` credentials set, the service syncs an emulated Bigin and Books: the emulator is
served on a loopback port (``SYNC_EMULATOR_PORT``, default 0: the OS picks one) and the command
prints the ``BIGIN_*`` variables that point any example at it, e.g. ``python
examples/create_contact.py``; the emulator hands its notifications to the service in-process, so
the service's own port does not matter. With credentials (``BIGIN_REFRESH_TOKEN`` or
``BIGIN_ACCESS_TOKEN``), ``SyncSettings.from_env()`` reads ``SYNC_PUBLIC_URL`` and
``BOOKS_ORGANIZATION_ID`` too, and the service syncs your org.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from bigin_emulator import BiginEmulator

if TYPE_CHECKING or __package__:  # as examples.bigin_books_sync.asgi (from the repository root)
    from .app import SyncSettings, create_app
else:  # uvicorn asgi:app from this folder: its files are top-level modules
    from app import SyncSettings, create_app

__all__ = ["app", "app_from_env", "emulator_app"]

# Either variable means "talk to a real org" (BiginClient.from_env reads the rest).
REAL_ORG_VARIABLES = ("BIGIN_REFRESH_TOKEN", "BIGIN_ACCESS_TOKEN")
# Where the in-process emulator delivers notifications (to the app itself, not over the network).
EMULATED_PUBLIC_URL = "https://sync.emulated.invalid"


def emulator_app(environ: Mapping[str, str]) -> FastAPI:
    """The service on a fresh emulator, served on ``SYNC_EMULATOR_PORT`` while the app runs."""
    emulator = BiginEmulator()
    settings = SyncSettings(
        public_url=EMULATED_PUBLIC_URL,
        books_organization_id=emulator.books.organization_id,
        bigin_factory=emulator.client,
        books_requests_per_minute=None,  # the emulator's Books has no per-minute limit
    )
    if environ.get("SYNC_WEBHOOK_TOKEN"):
        settings.webhook_token = environ["SYNC_WEBHOOK_TOKEN"]
    port = int(environ.get("SYNC_EMULATOR_PORT") or "0")

    @asynccontextmanager
    async def served() -> AsyncIterator[None]:
        async with emulator.serve(port=port) as url:
            print(
                f"emulated Bigin and Books on {url}; point an example at it with\n"
                f"  BIGIN_API_DOMAIN={url} BIGIN_ACCOUNTS_URL={url} BIGIN_CLIENT_ID={emulator.client_id} "
                f"BIGIN_CLIENT_SECRET={emulator.client_secret} BIGIN_REFRESH_TOKEN={emulator.refresh_token} "
                "python examples/create_contact.py",
                flush=True,
            )
            yield

    app = create_app(settings, around=served)
    emulator.register_webhook_app(EMULATED_PUBLIC_URL, app)
    return app


def app_from_env(environ: Mapping[str, str] | None = None) -> FastAPI:
    """Your org's service when ``BIGIN_*`` credentials are set, else the emulator's."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in REAL_ORG_VARIABLES):
        return create_app(SyncSettings.from_env(env))
    return emulator_app(env)


app = app_from_env()
