"""Zoho Books (the contacts the Bigin-to-Books contact sync needs), on the Bigin pipeline.

async with BiginClient.from_env() as bigin:
    books = BooksClient.from_bigin(bigin, organization_id="10234695")
    found = await books.contacts.search(email="ada@example.com")
"""

from bigin_async.books.client import BooksClient, BooksContactsClient
from bigin_async.books.errors import (
    BooksAuthenticationError,
    BooksDuplicateError,
    BooksError,
    BooksNotFoundError,
    BooksOrganizationError,
    BooksPermissionError,
    BooksValidationError,
)
from bigin_async.books.models import BooksContact, BooksContactPerson

__all__ = [
    "BooksAuthenticationError",
    "BooksClient",
    "BooksContact",
    "BooksContactPerson",
    "BooksContactsClient",
    "BooksDuplicateError",
    "BooksError",
    "BooksNotFoundError",
    "BooksOrganizationError",
    "BooksPermissionError",
    "BooksValidationError",
]
