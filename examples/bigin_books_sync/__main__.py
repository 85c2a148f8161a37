"""Run the Bigin-to-Books sync service.

python -m examples.bigin_books_sync --demo    # emulator + service on loopback: create, edit, print Books
python -m examples.bigin_books_sync           # emulator + service, serving until Ctrl-C
python -m examples.bigin_books_sync --real    # your org: BIGIN_*, SYNC_PUBLIC_URL, BOOKS_ORGANIZATION_ID
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import anyio

from bigin_async import BiginClient
from bigin_emulator import BiginEmulator

from .app import SyncSettings, create_app
from .serving import bind, make_server, serve_bound


def emulator_settings(emulator: BiginEmulator, emulator_url: str) -> Callable[[str], SyncSettings]:
    """Settings for a service whose Bigin and Books are the emulator at ``emulator_url``."""

    def client() -> BiginClient:
        return BiginClient(
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
            refresh_token=emulator.refresh_token,
            api_domain=emulator_url,
            accounts_url=emulator_url,
        )

    def settings(public_url: str) -> SyncSettings:
        return SyncSettings(
            public_url=public_url,
            books_organization_id=emulator.books.organization_id,
            bigin_factory=client,
            books_requests_per_minute=None,  # the emulator's Books has no per-minute limit
        )

    return settings


async def demo() -> dict[str, Any]:
    """One round trip: a contact created and edited in Bigin shows up, updated, in Books."""
    emulator = BiginEmulator()
    async with emulator.serve(port=0) as emulator_url:
        settings = emulator_settings(emulator, emulator_url)
        async with serve_bound(lambda url: create_app(settings(url))) as (service_url, app):
            async with settings(service_url).bigin_factory() as bigin:
                created = await bigin.contacts.create(
                    {
                        "First_Name": "Ada",
                        "Last_Name": "Lovelace",
                        "Email": "ada@example.com",
                        "Phone": "555-0100",
                    }
                )
                await emulator.notifier.drain()  # the webhook answered: the sync is done
                await bigin.contacts.update(created.id or "", {"Mobile": "555-0199"})
                await emulator.notifier.drain()
                await bigin.contacts.create({"Last_Name": "Nobody"})  # no email: skipped
                await emulator.notifier.drain()
            counts = {o.value: n for o, n in app.state.sync.counts.items() if n}
    (books,) = emulator.books.search(email="ada@example.com")
    return {
        "emulator": emulator_url,
        "service": service_url,
        "sync": counts,
        "books_contact": {
            key: books[key] for key in ("contact_id", "contact_name", "email", "phone", "mobile")
        },
        "contact_persons": len(books["contact_persons"]),
        "notifications": emulator.notifier.counters.snapshot(),
    }


async def serve_forever(settings: Callable[[str], SyncSettings], host: str, port: int) -> None:
    sock, url = bind(host, port)
    server = make_server(create_app(settings(url)), log_level="info")
    print(f"sync service on {url} (notifications at {url}/bigin/notifications); Ctrl-C stops it", flush=True)
    await server.serve(sockets=[sock])


async def emulator_and_service(host: str, port: int, emulator_port: int) -> None:
    emulator = BiginEmulator()
    async with emulator.serve(port=emulator_port) as emulator_url:
        print(
            f"emulated Bigin and Books on {emulator_url}. Create contacts there, e.g.:\n"
            f"  BIGIN_API_DOMAIN={emulator_url} BIGIN_ACCOUNTS_URL={emulator_url} "
            f"BIGIN_CLIENT_ID={emulator.client_id} BIGIN_CLIENT_SECRET={emulator.client_secret} "
            f"BIGIN_REFRESH_TOKEN={emulator.refresh_token} python examples/create_contact.py",
            flush=True,
        )
        await serve_forever(emulator_settings(emulator, emulator_url), host, port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.bigin_books_sync", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--demo", action="store_true", help="run one create/edit round trip on the emulator and exit"
    )
    mode.add_argument(
        "--real", action="store_true", help="serve for your org (BIGIN_*, SYNC_*, BOOKS_* variables)"
    )
    parser.add_argument("--host", default=os.environ.get("SYNC_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SYNC_PORT", "8000")))
    parser.add_argument("--emulator-port", type=int, default=8787)
    args = parser.parse_args(argv)
    try:
        if args.demo:
            print(json.dumps(anyio.run(demo), indent=2))
        elif args.real:
            anyio.run(serve_forever, lambda url: SyncSettings.from_env(), args.host, args.port)
        else:
            anyio.run(emulator_and_service, args.host, args.port, args.emulator_port)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
