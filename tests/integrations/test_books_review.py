"""``BooksContactsClient`` built as before it took the transport: from the Books client alone."""

from __future__ import annotations

import httpx

from bigin_async.books import BooksClient, BooksContactsClient


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "message": "success", "contact": {"contact_id": "9"}})


async def test_a_books_contacts_client_built_from_the_books_client_alone_still_reads() -> None:
    async with BooksClient(
        "10234695", access_token="1000.given", transport=httpx.MockTransport(_answer)
    ) as books:
        contacts = BooksContactsClient(books)
        contact = await contacts.get("9")
        assert contact.contact_id == "9"
        assert repr(contacts) == repr(books.contacts) == "BooksContactsClient()"
        assert BooksContactsClient(books.transport, books)._books is books
