"""The Bigin-to-Books contact sync service: Bigin notifies it of contact changes, it updates Zoho Books.

At start-up it opens one Bigin client and a Books client on the same token and pool (what the two
"connections" of Bigin's Developer Console are to a workflow function), and enables a notification
channel for ``Contacts.create`` and ``Contacts.edit`` that it keeps renewing (a channel lives at
most a day). Bigin POSTs to ``/bigin/notifications``; the service checks the channel's token, syncs
each contact (:mod:`.sync`) and answers 200, or 500 when a contact failed so that Bigin sends the
notification again (the sync is idempotent, so a repeat is harmless). At shutdown it disables the
channel and closes the clients.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from bigin_async import BiginClient, ConfigurationError
from bigin_async.books import BooksClient
from bigin_async.integrations.fastapi import add_bigin_exception_handlers, open_bigin
from bigin_async.resources.notifications import (
    InvalidNotificationError,
    NotificationTokenError,
    parse_notification,
)

if TYPE_CHECKING or __package__:  # as examples.bigin_books_sync.app (from the repository root)
    from .sync import ContactSync, Outcome
else:  # uvicorn asgi:app from this folder: its files are top-level modules
    from sync import ContactSync, Outcome

__all__ = ["WEBHOOK_PATH", "SyncSettings", "create_app", "get_sync"]

WEBHOOK_PATH = "/bigin/notifications"
EVENTS = ("Contacts.create", "Contacts.edit")


@dataclass
class SyncSettings:
    """How the service reaches Bigin and Books, and how Bigin reaches the service."""

    public_url: str  # the service's base URL as Bigin sees it (https in production)
    books_organization_id: str
    bigin_factory: Callable[[], BiginClient] = BiginClient.from_env
    # <= 50 chars; kept out of the repr: it is what proves a POST comes from Bigin.
    webhook_token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    channel_id: str = "2026001"
    channel_lifetime: timedelta = timedelta(hours=23)
    renew_every: timedelta = timedelta(hours=20)
    books_requests_per_minute: int | None = 100  # Books' per-organization limit

    @property
    def notify_url(self) -> str:
        return self.public_url.rstrip("/") + WEBHOOK_PATH

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SyncSettings:
        """SYNC_PUBLIC_URL, BOOKS_ORGANIZATION_ID, SYNC_WEBHOOK_TOKEN, SYNC_CHANNEL_ID; BIGIN_* for Bigin."""
        env = os.environ if environ is None else environ
        missing = [name for name in ("SYNC_PUBLIC_URL", "BOOKS_ORGANIZATION_ID") if not env.get(name)]
        if missing:
            raise ConfigurationError(
                f"set {' and '.join(missing)} to serve the sync for your org (SYNC_PUBLIC_URL: where Bigin "
                "reaches this service; BOOKS_ORGANIZATION_ID: Books > Settings > Organization Profile)"
            )
        settings = cls(public_url=env["SYNC_PUBLIC_URL"], books_organization_id=env["BOOKS_ORGANIZATION_ID"])
        if env.get("SYNC_WEBHOOK_TOKEN"):
            settings.webhook_token = env["SYNC_WEBHOOK_TOKEN"]
        if env.get("SYNC_CHANNEL_ID"):
            settings.channel_id = env["SYNC_CHANNEL_ID"]
        return settings


def get_sync(request: Request) -> ContactSync:
    sync = getattr(request.app.state, "sync", None)
    if not isinstance(sync, ContactSync):
        raise RuntimeError("the sync service is not started (its lifespan did not run)")
    return sync


SyncDep = Annotated[ContactSync, Depends(get_sync)]


def create_app(
    settings: SyncSettings, *, around: Callable[[], AbstractAsyncContextManager[object]] | None = None
) -> FastAPI:
    """The service; ``around()`` is entered before its clients open and left after they close
    (``asgi.py`` serves an emulator there when no credentials are set)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (around or nullcontext)(), open_bigin(app, settings.bigin_factory) as bigin:
            books = BooksClient.from_bigin(
                bigin, settings.books_organization_id, requests_per_minute=settings.books_requests_per_minute
            )
            app.state.sync = ContactSync(bigin, books)
            async with bigin.notifications.keep_alive(
                settings.channel_id,
                EVENTS,
                settings.notify_url,
                settings.webhook_token,
                lifetime=settings.channel_lifetime,
                renew_every=settings.renew_every,
            ) as channel:
                app.state.channel = channel
                yield
            await books.aclose()

    app = FastAPI(title="Bigin to Zoho Books contact sync", lifespan=lifespan)
    add_bigin_exception_handlers(app)  # a Bigin or Books error in a route: its status, not a bare 500

    @app.post(WEBHOOK_PATH)
    async def bigin_notification(request: Request, sync: SyncDep) -> JSONResponse:
        try:
            event = parse_notification(
                await request.body(), settings.webhook_token, expected_channel_id=settings.channel_id
            )
        except NotificationTokenError:
            return JSONResponse({"error": "unknown sender"}, status_code=401)
        except InvalidNotificationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if event.module != "Contacts" or event.operation not in ("insert", "update"):
            return JSONResponse({"ignored": event.event})
        results = await sync.sync_many(event.ids)
        failed = any(r.outcome is Outcome.FAILED for r in results)
        # A 5xx makes Bigin send the notification again; the sync makes that harmless.
        return JSONResponse({"results": [r.as_dict() for r in results]}, status_code=500 if failed else 200)

    @app.get("/health")
    async def health(sync: SyncDep) -> dict[str, Any]:
        channel = getattr(app.state, "channel", None)
        expires = channel.expires_at.isoformat() if channel is not None and channel.expires_at else None
        return {"counts": {o.value: n for o, n in sync.counts.items()}, "channel_expires_at": expires}

    return app
