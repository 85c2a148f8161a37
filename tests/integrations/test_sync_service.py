"""The Bigin-to-Books sync service (examples/bigin_books_sync) against the emulator.

In-process on asyncio and trio (the emulator delivers its notifications to the app as an ASGI
app), and end to end over loopback sockets on asyncio (uvicorn). ``notifier.drain()`` returns
once every notification was answered, and the service answers after syncing, so no test waits
by sleeping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bigin_async import BiginClient
from bigin_emulator import BiginEmulator
from bigin_emulator.state.books import BooksRefusal
from examples.bigin_books_sync.app import WEBHOOK_PATH, SyncSettings, create_app
from examples.bigin_books_sync.sync import ContactSync, Outcome

PUBLIC = "https://sync.example"
ADA = {"First_Name": "Ada", "Last_Name": "Lovelace", "Email": "ada@example.com", "Phone": "555-0100"}


def books_contacts(emulator: BiginEmulator, email: str) -> list[dict[str, Any]]:
    return emulator.books.search(email=email)


def books_puts(emulator: BiginEmulator) -> int:
    return emulator.counters.requests_by_route.get("PUT /books/v3/contacts/{id}", 0)


@asynccontextmanager
async def in_process_service(emulator: BiginEmulator) -> AsyncIterator[tuple[FastAPI, SyncSettings]]:
    settings = SyncSettings(
        public_url=PUBLIC,
        books_organization_id=emulator.books.organization_id,
        bigin_factory=emulator.client,
        books_requests_per_minute=None,
    )
    app = create_app(settings)
    emulator.register_webhook_app(PUBLIC, app)
    async with app.router.lifespan_context(app):
        yield app, settings


async def test_create_edit_repeat_and_skip_in_process() -> None:
    emulator = BiginEmulator()
    emulator.notifier.backoff = 0.0
    async with in_process_service(emulator) as (app, settings), emulator.client() as bigin:
        sync: ContactSync = app.state.sync
        assert [c.events for c in await bigin.notifications.list()] == [["Contacts.create", "Contacts.edit"]]

        created = await bigin.contacts.create(ADA)
        await emulator.notifier.drain()
        (books,) = books_contacts(emulator, "ada@example.com")
        assert (books["contact_name"], books["phone"], books["mobile"]) == ("Ada Lovelace", "555-0100", "")
        assert len(books["contact_persons"]) == 1 and books["contact_persons"][0]["is_primary_contact"]

        await bigin.contacts.update(created.id or "", {"Phone": "555-0111", "Mobile": "555-0199"})
        await emulator.notifier.drain()
        (books,) = books_contacts(emulator, "ada@example.com")
        assert (books["phone"], books["mobile"]) == ("555-0111", "555-0199")
        assert len(books["contact_persons"]) == 1  # the person was updated by id, not added again

        # The same notification again (Bigin retries): nothing changes in Books.
        last = emulator.notifier.history[-1].delivery.payload
        before = (books_puts(emulator), books["last_modified_time"], sync.counts[Outcome.UNCHANGED])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC) as http:
            repeat = await http.post(WEBHOOK_PATH, json=last)
            stranger = await http.post(WEBHOOK_PATH, json={**last, "token": "guess"})
            garbage = await http.post(WEBHOOK_PATH, content=b"{")
        assert repeat.status_code == 200 and repeat.json()["results"][0]["outcome"] == "unchanged"
        (books,) = books_contacts(emulator, "ada@example.com")
        assert (books_puts(emulator), books["last_modified_time"]) == before[:2]
        assert sync.counts[Outcome.UNCHANGED] == before[2] + 1
        assert (stranger.status_code, garbage.status_code) == (401, 400)

        # No email: skipped (the sync only copies contacts that have one).
        await bigin.contacts.create({"Last_Name": "Nobody"})
        await emulator.notifier.drain()
        assert sync.counts[Outcome.SKIPPED_NO_EMAIL] == 1
        assert len(emulator.books.contacts) == 1
    assert emulator.watches.live() == []  # shutdown disabled the channel
    assert emulator.notifier.counters.failed == 0


async def test_concurrent_notifications_for_one_contact_make_one_books_contact_with_the_last_edit() -> None:
    emulator = BiginEmulator()
    async with (
        in_process_service(emulator) as (app, _),
        emulator.client() as bigin,
        emulator.notifier.running(),
    ):
        created = await bigin.contacts.create(ADA)
        for n in range(5):
            await bigin.contacts.update(created.id or "", {"Mobile": f"555-020{n}"})
        await emulator.notifier.drain()
        assert emulator.notifier.counters.delivered == 6
    (books,) = books_contacts(emulator, "ada@example.com")
    assert books["mobile"] == "555-0204" and len(books["contact_persons"]) == 1


async def test_an_existing_books_contact_is_updated_and_a_name_clash_gets_the_email() -> None:
    emulator = BiginEmulator()
    emulator.books.create({"contact_name": "Grace Hopper", "contact_persons": [
        {"last_name": "Hopper", "email": "grace@navy.example", "phone": "1"}]})  # fmt: skip
    async with in_process_service(emulator), emulator.client() as bigin:
        await bigin.contacts.create(
            {"First_Name": "Grace", "Last_Name": "Hopper", "Email": "grace@navy.example", "Phone": "555-0300"}
        )
        await bigin.contacts.create(
            {"First_Name": "Grace", "Last_Name": "Hopper", "Email": "grace@other.example"}
        )
        await emulator.notifier.drain()
    (existing,) = books_contacts(emulator, "grace@navy.example")
    assert existing["phone"] == "555-0300" and existing["contact_persons"][0]["first_name"] == "Grace"
    (namesake,) = books_contacts(emulator, "grace@other.example")
    assert namesake["contact_name"] == "Grace Hopper (grace@other.example)"
    assert len(emulator.books.contacts) == 2


async def test_a_failing_sync_answers_500_so_the_notification_is_retried() -> None:
    emulator = BiginEmulator()
    emulator.notifier.backoff = 0.0
    async with in_process_service(emulator) as (app, _), emulator.client() as bigin:
        real_search = emulator.books.search
        calls = {"n": 0}

        def flaky_search(**kwargs: Any) -> list[dict[str, Any]]:
            calls["n"] += 1
            if calls["n"] == 1:
                raise BooksRefusal(400, 2, "Invalid value passed for email")  # a one-off refusal
            return real_search(**kwargs)

        emulator.books.search = flaky_search  # type: ignore[method-assign]
        await bigin.contacts.create(ADA)
        await emulator.notifier.drain()
    assert emulator.notifier.counters.by_status == {500: 1, 200: 1}
    assert len(books_contacts(emulator, "ada@example.com")) == 1
    assert app.state.sync.counts[Outcome.FAILED] == 1 and app.state.sync.counts[Outcome.CREATED] == 1


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_end_to_end_over_loopback_sockets() -> None:
    from examples.bigin_books_sync.__main__ import emulator_settings
    from examples.bigin_books_sync.serving import serve_bound

    emulator = BiginEmulator()
    async with emulator.serve(port=0) as emulator_url:
        settings = emulator_settings(emulator, emulator_url)
        async with serve_bound(lambda url: create_app(settings(url))) as (service_url, app):
            assert service_url.startswith("http://127.0.0.1:")
            async with BiginClient(client_id=emulator.client_id, client_secret=emulator.client_secret,
                                   refresh_token=emulator.refresh_token, api_domain=emulator_url,
                                   accounts_url=emulator_url) as bigin:  # fmt: skip
                channels = await bigin.notifications.list()
                assert channels[0].notify_url == f"{service_url}/bigin/notifications"
                first = await bigin.contacts.create(ADA)
                second = await bigin.contacts.create({"Last_Name": "Babbage", "Email": "cb@example.com"})
                await bigin.contacts.create({"Last_Name": "No Mail"})
                await emulator.notifier.drain()
                await bigin.contacts.update(first.id or "", {"Mobile": "555-0199"})
                await bigin.contacts.update(second.id or "", {"Last_Name": "Babbage"})  # same value: a no-op
                await emulator.notifier.drain()
            counts = dict(app.state.sync.counts)
        assert emulator.watches.live() == []  # the service's shutdown disabled its channel
    (ada,) = books_contacts(emulator, "ada@example.com")
    assert (ada["phone"], ada["mobile"], len(ada["contact_persons"])) == ("555-0100", "555-0199", 1)
    (babbage,) = books_contacts(emulator, "cb@example.com")
    assert babbage["contact_name"] == "Babbage"
    assert counts[Outcome.CREATED] == 2 and counts[Outcome.UPDATED] == 1
    assert counts[Outcome.UNCHANGED] == 1 and counts[Outcome.SKIPPED_NO_EMAIL] == 1
    snapshot = emulator.notifier.counters.snapshot()
    assert snapshot["delivered"] == 5 and snapshot["failed"] == 0
    assert json.dumps(snapshot)  # the counters are JSON-ready for benchmarks


def test_the_readme_command_runs_the_demo() -> None:
    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "examples" / "bigin_books_sync" / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/python -m examples.bigin_books_sync --demo" in readme
    completed = subprocess.run(
        [sys.executable, "-m", "examples.bigin_books_sync", "--demo"],
        cwd=repo, capture_output=True, text=True, timeout=120, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("BIGIN_", "SYNC_", "BOOKS_"))},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert report["sync"] == {"created": 1, "updated": 1, "skipped_no_email": 1}
    assert report["books_contact"]["mobile"] == "555-0199" and report["contact_persons"] == 1
