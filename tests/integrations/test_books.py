"""Zoho Books contacts: the client on the shared token and pool, the emulator's Books side, errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bigin_async import AuthenticationError, BiginClient, NotFoundError, ValidationError
from bigin_async.books import (
    BooksAuthenticationError,
    BooksClient,
    BooksContact,
    BooksContactPerson,
    BooksDuplicateError,
    BooksNotFoundError,
    BooksOrganizationError,
    BooksValidationError,
)
from bigin_emulator import BiginEmulator

PERSON = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "555-0100",
          "mobile": "555-0101", "is_primary_contact": True}  # fmt: skip


async def test_from_bigin_shares_the_token_manager_and_the_pool_one_refresh_serves_both() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        books = BooksClient.from_bigin(bigin, emulator.books.organization_id)
        assert books.transport.tokens is bigin.transport.tokens
        assert books.transport.http is bigin.transport.http
        assert books.transport.gate is not bigin.transport.gate  # Books counts its calls apart
        paced = BooksClient.from_bigin(bigin, emulator.books.organization_id, requests_per_minute=100)
        assert (
            paced.transport.settings.requests_per_minute == 100 and bigin.config.requests_per_minute is None
        )
        await bigin.request("GET", "/org")
        created = await books.contacts.create({"contact_name": "Ada Lovelace", "contact_persons": [PERSON]})
        await books.aclose()
        assert not bigin.closed  # closing the Books view leaves the shared pool to Bigin
        await bigin.request("GET", "/org")
    assert emulator.counters.refreshes == 1
    assert created.contact_id in emulator.books.contacts
    assert books.closed


async def test_create_get_search_update_round_trip() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        books = BooksClient.from_bigin(bigin, int(emulator.books.organization_id))
        created = await books.contacts.create(
            BooksContact(contact_name="Ada Lovelace", contact_persons=[BooksContactPerson(**PERSON)])
        )
        assert created.contact_id and len(created.contact_id) == 18
        assert (created.email, created.phone, created.mobile) == ("ada@example.com", "555-0100", "555-0101")
        primary = created.primary_contact_person
        assert primary is not None and primary.contact_person_id and primary.last_name == "Lovelace"
        assert created.website == "" and created.status == "active"  # Books sends "" for unset text

        found = await books.contacts.search(email="ADA@example.com")
        assert [c.contact_id for c in found] == [created.contact_id]
        assert found[0].contact_persons is None  # list results are summaries
        assert await books.contacts.search(email="nobody@example.com") == []
        assert [c.contact_name for c in await books.contacts.search(search_text="lovel")] == ["Ada Lovelace"]

        # A person with its id is changed; one without would be added.
        updated = await books.contacts.update(
            created.contact_id,
            {"contact_persons": [{"contact_person_id": primary.contact_person_id, "phone": "555-0199"}]},
        )
        assert updated.phone == "555-0199" and len(updated.contact_persons or []) == 1
        added = await books.contacts.update(
            created.contact_id,
            BooksContact(contact_persons=[BooksContactPerson(last_name="Byron", email="b@example.com",
                                                             is_primary_contact=True)]),
        )  # fmt: skip
        assert len(added.contact_persons or []) == 2
        assert added.email == "b@example.com"  # the new primary person now shows on the contact
        fetched = await books.contacts.get(created.contact_id)
        assert [p.is_primary_contact for p in fetched.contact_persons or []] == [False, True]


async def test_search_follows_pages() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        books = BooksClient.from_bigin(bigin, emulator.books.organization_id)
        for n in range(5):
            await books.contacts.create({"contact_name": f"Customer {n}"})
        everyone = await books.contacts.search(per_page=2)
        capped = await books.contacts.search(per_page=2, max_results=3)
    assert [c.contact_name for c in everyone] == [f"Customer {n}" for n in range(5)]
    assert len(capped) == 3
    assert emulator.counters.requests_by_route["GET /books/v3/contacts"] == 3 + 2


async def test_books_errors_are_typed() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        books = BooksClient.from_bigin(bigin, emulator.books.organization_id)
        await books.contacts.create({"contact_name": "Zylker"})
        with pytest.raises(BooksDuplicateError) as duplicate:
            await books.contacts.create({"contact_name": "zylker"})
        assert duplicate.value.books_code == 3062 and duplicate.value.status_code == 400
        with pytest.raises(BooksNotFoundError) as missing:
            await books.contacts.get("460000000999999999")
        assert isinstance(missing.value, NotFoundError) and missing.value.books_code == 1002
        with pytest.raises(BooksValidationError) as nameless:
            await books.request("POST", "/contacts", json={"email": "x@example.com"})
        assert nameless.value.books_code == 4
        with pytest.raises(ValidationError):
            await books.contacts.create({"email": "x@example.com"})  # refused before sending
        with pytest.raises(ValidationError):
            await books.contacts.get("../organizations")
        other_org = BooksClient.from_bigin(bigin, "999")
        with pytest.raises(BooksOrganizationError) as wrong_org:
            await other_org.contacts.search()
        assert wrong_org.value.books_code == 6041


async def test_a_refused_token_is_refreshed_once_and_the_call_sent_again() -> None:
    now = [1_800_000_000.0]
    emulator = BiginEmulator(clock=lambda: now[0], token_ttl=3600)
    async with emulator.client() as bigin:
        books = BooksClient.from_bigin(bigin, emulator.books.organization_id)
        await books.contacts.search()
        now[0] += 7200  # the server now refuses the token; the client still believes it fresh
        assert await books.contacts.search() == []
        emulator.ctx.oauth.revoke(emulator.refresh_token)  # no refresh can help any more
        now[0] += 7200
        with pytest.raises(AuthenticationError, match="invalid_code"):
            await books.contacts.search()  # the refresh after the 401 is refused: typed, not a loop
    bare = BiginClient(
        access_token="not-a-token", api_domain="http://127.0.0.1", transport=emulator.transport()
    )
    async with bare:
        with pytest.raises(BooksAuthenticationError) as refused:
            await BooksClient.from_bigin(bare, emulator.books.organization_id).contacts.search()
    assert emulator.counters.refreshes == 2
    assert refused.value.books_code == 57 and refused.value.status_code == 401


async def test_a_stand_alone_client_owns_its_pool() -> None:
    emulator = BiginEmulator()
    books = BooksClient(
        emulator.books.organization_id,
        client_id=emulator.client_id,
        client_secret=emulator.client_secret,
        refresh_token=emulator.refresh_token,
        api_domain="http://127.0.0.1",
        accounts_url="http://127.0.0.1",
        transport=emulator.transport(),
    )
    async with books:
        created = await books.contacts.create({"contact_name": "Solo"})
    assert books.closed and created.contact_name == "Solo"
    assert "shared=False" in repr(books)


async def test_the_emulator_requires_an_organization_and_reads_json_string_form_bodies() -> None:
    emulator = BiginEmulator()
    headers = {"Authorization": f"Zoho-oauthtoken {emulator.issue_token()}"}
    org = {"organization_id": emulator.books.organization_id}
    form_body = {"contact_name": "Form Customer", "email": "d@example.com", "contact_persons": [PERSON]}
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url="http://127.0.0.1", headers=headers
    ) as api:
        no_org = await api.get("/books/v3/contacts")
        form = await api.post("/books/v3/contacts", params=org, data={"JSONString": json.dumps(form_body)})
        anonymous = await api.get("/books/v3/contacts", params=org, headers={"Authorization": ""})
        garbage = await api.post("/books/v3/contacts", params=org, content=b"{not json",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    assert (no_org.status_code, no_org.json()["code"]) == (400, 2)
    assert "organization_id" in no_org.json()["message"]
    body: dict[str, Any] = form.json()
    assert form.status_code == 201 and body["code"] == 0 and body["message"] == "The contact has been added."
    assert body["contact"]["contact_persons"][0]["email"] == "ada@example.com"
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, 57)
    assert (garbage.status_code, garbage.json()["code"]) == (400, 4)


async def test_a_token_books_keeps_refusing_does_not_lock_bigin_out() -> None:
    """#9.14: a refresh token consented for Bigin only: Books answers 57 to every fresh token.

    Each Books call used to invalidate the shared token and mint a new one: twelve calls went
    past Zoho's 10 refreshes in 10 minutes and the Bigin side was blocked too. Books' 401s now
    fall under the token manager's one cap on rejection refreshes, Bigin's own.
    """
    from bigin_async.auth import TokenManager

    emulator = BiginEmulator(check_scopes=True, scope="ZohoBigin.modules.ALL,ZohoBigin.org.ALL")
    async with emulator.client() as bigin:
        books = BooksClient.from_bigin(bigin, emulator.books.organization_id)
        for _ in range(12):
            with pytest.raises(BooksAuthenticationError) as refused:
                await books.contacts.search()
            assert refused.value.books_code == 57
        assert emulator.counters.refreshes == 1 + TokenManager.MAX_REJECTION_REFRESHES
        await bigin.request("GET", "/org")  # Bigin's calls go on with the token Bigin accepts
        assert emulator.counters.refreshes == 1 + TokenManager.MAX_REJECTION_REFRESHES


async def test_a_books_401_for_a_token_already_replaced_is_retried_with_the_new_one() -> None:
    """A Books call that raced a refresh: its 401 is for the old token; the retry carries the new
    one, which is neither invalidated nor refreshed again."""
    now = [1_800_000_000.0]
    emulator = BiginEmulator(clock=lambda: now[0], token_ttl=3600)
    async with emulator.client() as bigin:
        books = BooksClient.from_bigin(bigin, emulator.books.organization_id)
        tokens = bigin.transport.tokens
        await books.contacts.search()
        old = tokens.current
        assert old is not None
        await tokens.invalidate(old)
        await bigin.request("GET", "/org")  # a new token replaces the old one
        new = tokens.current
        assert await tokens.retry_after_rejection(old.access_token.get_secret_value()) is True
        assert tokens.current is new and new is not None and new.expires_at != 0.0
        await books.contacts.search()
    assert emulator.counters.refreshes == 2
