"""The sync itself: one Bigin contact in, the matching Zoho Books contact out.

For each changed Bigin contact: fetch it, skip it without an email (the workflow condition "Email
is not empty"), search Books by that email, then update the match's phone, mobile and primary
contact person, or create the Books contact. Three things a plain workflow function leaves to
chance are handled:

- idempotent: the Books contact is compared first and only what differs is sent, so a repeated
  notification (Bigin retries; a create and an edit arrive together) changes nothing;
- the person is updated by its ``contact_person_id``: resending it without the id makes Books
  *add* a second person on every edit;
- concurrent notifications for one contact (or one email) run one after the other, each reading
  the latest Bigin data, so the last write carries the last edit and no duplicate is created.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from bigin_async import BiginClient, BiginError, Contact, NotFoundError
from bigin_async.books import BooksClient, BooksContact, BooksContactPerson, BooksDuplicateError

__all__ = ["ContactSync", "Outcome", "SyncResult"]

BIGIN_FIELDS = ("First_Name", "Last_Name", "Full_Name", "Email", "Phone", "Mobile")
PERSON_FIELDS = ("first_name", "last_name", "email", "phone", "mobile")


class Outcome(str, enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED_NO_EMAIL = "skipped_no_email"
    NOT_FOUND = "not_found"
    FAILED = "failed"


@dataclass(frozen=True)
class SyncResult:
    bigin_id: str
    outcome: Outcome
    books_contact_id: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"bigin_id": self.bigin_id, "outcome": self.outcome.value,
                "books_contact_id": self.books_contact_id, "detail": self.detail}  # fmt: skip


class KeyedLocks:
    """One lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[anyio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        lock = lock or anyio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def desired_person(contact: Contact, email: str) -> dict[str, str]:
    """The Books contact person a Bigin contact should be (Books keeps "" for unset text)."""
    return {
        "first_name": contact.First_Name or "",
        "last_name": contact.Last_Name or contact.Full_Name or email,
        "email": email,
        "phone": contact.Phone or "",
        "mobile": contact.Mobile or "",
    }


def display_name(contact: Contact, email: str) -> str:
    joined = " ".join(part for part in (contact.First_Name, contact.Last_Name) if part)
    return contact.Full_Name or joined or email


class ContactSync:
    """Bigin contacts into Zoho Books contacts, safely repeatable."""

    def __init__(self, bigin: BiginClient, books: BooksClient, *, concurrency: int = 4) -> None:
        self.bigin = bigin
        self.books = books
        self.concurrency = concurrency
        self.counts: dict[Outcome, int] = {outcome: 0 for outcome in Outcome}
        self.on_result: Callable[[SyncResult], object] | None = None
        self._locks = KeyedLocks()

    async def sync_many(self, bigin_ids: Sequence[str]) -> list[SyncResult]:
        """Sync several contacts at once (at most ``concurrency`` at a time); failures are results."""
        results: dict[int, SyncResult] = {}
        slots = anyio.Semaphore(self.concurrency)

        async def one(index: int, bigin_id: str) -> None:
            async with slots:
                try:
                    results[index] = await self.sync_contact(bigin_id)
                except BiginError as exc:
                    results[index] = self._record(SyncResult(bigin_id, Outcome.FAILED, detail=str(exc)))

        async with anyio.create_task_group() as tasks:
            for index, bigin_id in enumerate(bigin_ids):
                tasks.start_soon(one, index, bigin_id)
        return [results[i] for i in range(len(bigin_ids))]

    async def sync_contact(self, bigin_id: str) -> SyncResult:
        async with self._locks.hold(("bigin", bigin_id)):
            try:
                contact = await self.bigin.contacts.get(bigin_id, fields=BIGIN_FIELDS)
            except NotFoundError:
                return self._record(
                    SyncResult(bigin_id, Outcome.NOT_FOUND, detail="deleted since the notification")
                )
            email = (contact.Email or "").strip()
            if not email:
                return self._record(SyncResult(bigin_id, Outcome.SKIPPED_NO_EMAIL))
            async with self._locks.hold(("email", email.casefold())):
                matches = await self.books.contacts.search(email=email)
                if matches and matches[0].contact_id:
                    return self._record(await self._update(bigin_id, matches[0].contact_id, contact, email))
                return self._record(await self._create(bigin_id, contact, email))

    async def _update(self, bigin_id: str, books_id: str, contact: Contact, email: str) -> SyncResult:
        current = await self.books.contacts.get(books_id)
        wanted = desired_person(contact, email)
        persons = current.contact_persons or []
        target = next((p for p in persons if (p.email or "").casefold() == email.casefold()), None)
        target = target or current.primary_contact_person
        if target is None or target.contact_person_id is None:
            change: dict[str, Any] = {**wanted, "is_primary_contact": True}
        else:
            change = {k: v for k, v in wanted.items() if (getattr(target, k) or "") != v}
            if not target.is_primary_contact:
                change["is_primary_contact"] = True
            if not change:
                return SyncResult(bigin_id, Outcome.UNCHANGED, books_id)
            change["contact_person_id"] = target.contact_person_id
        await self.books.contacts.update(books_id, {"contact_persons": [change]})
        return SyncResult(bigin_id, Outcome.UPDATED, books_id)

    async def _create(self, bigin_id: str, contact: Contact, email: str) -> SyncResult:
        name = display_name(contact, email)
        body = BooksContact(
            contact_name=name,
            contact_type="customer",
            contact_persons=[BooksContactPerson(**desired_person(contact, email), is_primary_contact=True)],
        )
        try:
            created = await self.books.contacts.create(body)
        except BooksDuplicateError:
            # Books names are unique; two people may share one. Tell them apart by email.
            body.contact_name = f"{name} ({email})"
            created = await self.books.contacts.create(body)
        return SyncResult(bigin_id, Outcome.CREATED, created.contact_id)

    def _record(self, result: SyncResult) -> SyncResult:
        self.counts[result.outcome] += 1
        if self.on_result is not None:
            self.on_result(result)
        return result
