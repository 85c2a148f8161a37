"""``BooksClient``: Zoho Books contacts over the same request pipeline and OAuth token as Bigin.

The Bigin-to-Books contact sync needs one Zoho refresh token consented for both products' scopes
(``ZohoBigin.modules.ALL`` and ``ZohoBooks.contacts.ALL``) and one token manager shared by both
clients: :meth:`BooksClient.from_bigin` takes the Bigin client's token manager and connection
pool, so a refresh serves both and no second pool is opened. Books gets its own concurrency gate
and, if asked, its own per-minute limiter (Books allows ``BOOKS_REQUESTS_PER_MINUTE`` = 100 calls
a minute per organization; pass ``requests_per_minute=100`` to pace to it instead of meeting
429s), since the two products count calls separately. Like Bigin's, the default paces nothing.

Books speaks differently from Bigin: ``{"code": 0, "message", "contact"|"contacts"}`` on success,
a non-zero ``code`` on failure (typed in :mod:`bigin_async.books.errors`), an
``organization_id`` on every call, and code 57 (not ``INVALID_TOKEN``) for a refused token.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, overload

from bigin_async._inputs import check_id
from bigin_async._lifecycle import AsyncClosing
from bigin_async._transport import Transport
from bigin_async.books.errors import books_error
from bigin_async.books.models import BooksContact, BooksContactPerson, BooksPageContext, books_wire
from bigin_async.errors import APIError, ConfigurationError, ValidationError
from bigin_async.resources._base import APIResource, body_of, json_body

if TYPE_CHECKING:
    from bigin_async.client import BiginClient

__all__ = ["BOOKS_REQUESTS_PER_MINUTE", "BooksClient", "BooksContactsClient", "BooksRequester"]

BOOKS_REQUESTS_PER_MINUTE = 100
_AUTH_SCHEME = "Zoho-oauthtoken "


def _organization(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if not isinstance(value, str) or not value.strip().isdigit():
        raise ConfigurationError(f"organization_id must be the Books organization's number, got {value!r}")
    return value.strip()


class BooksClient(AsyncClosing):
    """The Zoho Books API v3 (contacts), for one organization.

    ``BooksClient.from_bigin(bigin, organization_id)`` shares the Bigin client's token and pool
    (close the Bigin client last). ``BooksClient(organization_id, client_id=..., ...)`` takes
    the same keyword arguments as :class:`~bigin_async.BiginClient` and owns its own pool.
    """

    def __init__(
        self,
        organization_id: str | int,
        *,
        bigin: BiginClient | None = None,
        requests_per_minute: int | None = None,
        max_concurrency: int = 4,
        **client_options: Any,
    ) -> None:
        from bigin_async.client import BiginClient

        self.organization_id = _organization(organization_id)
        if bigin is not None and client_options:
            raise ConfigurationError(
                "pass either bigin= (to share its token and pool) or credentials, not both"
            )
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ConfigurationError(f"max_concurrency must be a positive integer, got {max_concurrency!r}")
        if requests_per_minute is not None and (
            isinstance(requests_per_minute, bool)
            or not isinstance(requests_per_minute, int)
            or requests_per_minute < 1
        ):
            raise ConfigurationError(
                f"requests_per_minute must be a positive integer, got {requests_per_minute!r}"
            )
        self._owns_bigin = bigin is None
        # Stand-alone, a private BiginClient builds the pool and the token manager exactly as the
        # Bigin side would (same validation, regions, token stores); only its pool is used.
        self._bigin = bigin if bigin is not None else BiginClient(**client_options)
        shared = self._bigin.transport
        settings = dataclasses.replace(
            self._bigin.config,
            max_concurrency=max_concurrency,
            requests_per_minute=requests_per_minute,
            daily_limit=None,
            bulk_operations_per_minute=None,
            intercall_delay=0.0,
            edition=None,
        )
        # One event bus with the Bigin client: its hooks, stats and traces see the Books calls too.
        self._transport = Transport.create(
            settings, shared.tokens, http_client=shared.http, events=shared.events
        )

    @classmethod
    def from_bigin(
        cls,
        bigin: BiginClient,
        organization_id: str | int,
        *,
        requests_per_minute: int | None = None,
        max_concurrency: int = 4,
    ) -> BooksClient:
        """A Books client on ``bigin``'s token manager and connection pool (one refresh serves both)."""
        return cls(
            organization_id,
            bigin=bigin,
            requests_per_minute=requests_per_minute,
            max_concurrency=max_concurrency,
        )

    # -- lifecycle -------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Stop using the pool; a stand-alone client closes it, a shared one leaves it to Bigin."""
        await self._transport.aclose()
        if self._owns_bigin:
            await self._bigin.aclose()

    @property
    def closed(self) -> bool:
        return self._transport.closed or self._bigin.closed

    _close_advice = "use `async with BooksClient(...)` or `await books.aclose()`"

    def _left_open(self) -> bool:
        return self._owns_bigin and self._transport.used and not self.closed

    def __repr__(self) -> str:
        return (
            f"BooksClient(organization_id={self.organization_id!r}, shared={not self._owns_bigin}, "
            f"closed={self.closed})"
        )

    @property
    def transport(self) -> Transport:
        """The Books pipeline (its own gate and limiter; the token manager and pool are shared)."""
        return self._transport

    @functools.cached_property
    def contacts(self) -> BooksContactsClient:
        return BooksContactsClient(self._transport, self)

    # -- the call ------------------------------------------------------------------------------
    async def base_url(self) -> str:
        """``{api_domain}/books/v3``; the token's ``api_domain`` wins unless one was pinned."""
        token = await self._transport.tokens.get_token()
        settings = self._transport.settings
        domain = (
            token.api_domain
            if token.api_domain and not settings.api_domain_overridden
            else settings.api_domain
        )
        return f"{domain}/books/v3"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Call any Books endpoint (``path`` relative to ``/books/v3``); the body of a ``code: 0`` answer.

        Retries, limits and pooling are the Bigin pipeline's. A refused token (Books' code 57,
        not Bigin's ``INVALID_TOKEN``) is refreshed once and the call sent again, within the token
        manager's one cap on such refreshes (shared with Bigin's calls).
        """
        query = {"organization_id": self.organization_id, **(params or {})}
        tokens = self._transport.tokens
        refreshed = False
        while True:
            url = await self.base_url() + (path if path.startswith("/") else "/" + path)
            response = await self._transport.send(
                method, url, params=query, json=json, idempotent=idempotent, raise_for_status=False
            )
            try:
                body = json_body(body_of(response))
            except ValueError:  # garbage, or nested past the parser
                body = None
            if response.status_code == 401 and not refreshed:
                # The token manager's cap on rejection refreshes is Bigin's too: a Books token that
                # keeps being refused must not mint a token per call and get the refresh token blocked.
                sent = response.request.headers.get("Authorization", "").removeprefix(_AUTH_SCHEME)
                if await tokens.retry_after_rejection(sent):
                    refreshed = True
                    continue
            if isinstance(body, dict) and body.get("code") == 0 and response.status_code < 400:
                return body
            raise books_error(
                response.status_code,
                body if isinstance(body, dict) else None,
                method=method.upper(),
                url=str(response.request.url),
                fallback=response.text[:200] if body is None else "",
            )


def _contact(body: Mapping[str, Any], method: str) -> BooksContact:
    contact = body.get("contact")
    if not isinstance(contact, Mapping):
        raise APIError(
            "Zoho Books answered without a contact", status_code=200, code="MALFORMED_RESPONSE", method=method
        )
    return BooksContact.model_validate(contact)


def _wire(value: BooksContact | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of a write; persons given as models inside a dict are dumped too."""
    wire = books_wire(value if isinstance(value, BooksContact) else dict(value))
    persons = wire.get("contact_persons")
    if isinstance(persons, list):
        wire["contact_persons"] = [
            books_wire(p if isinstance(p, BooksContactPerson) else dict(p)) for p in persons
        ]
    return wire


class BooksRequester(Protocol):
    """What a Books resource asks of its client: one Books call (``organization_id``, code 57)."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]: ...


class BooksContactsClient(APIResource):
    """``/contacts``: search, get, create, update. Get it as ``books.contacts``.

    Books answers in its own envelope (``code``, ``message``), so its calls go through
    :meth:`BooksClient.request` on the Books transport rather than Bigin's body readers.
    """

    @overload
    def __init__(self, transport: Transport, books: BooksRequester) -> None: ...

    @overload
    def __init__(self, books: BooksClient, /) -> None: ...

    def __init__(self, transport: Transport | BooksClient, books: BooksRequester | None = None) -> None:
        if not isinstance(transport, Transport):  # BooksContactsClient(books), the form before
            books = transport
            transport = transport.transport
        if books is None:
            raise TypeError("BooksContactsClient needs its Books client: get it as books.contacts")
        super().__init__(transport)
        self._books = books

    async def search(
        self,
        *,
        email: str | None = None,
        search_text: str | None = None,
        contact_name: str | None = None,
        per_page: int = 200,
        max_results: int | None = None,
    ) -> list[BooksContact]:
        """Contacts matching every filter given (none: all contacts), page after page.

        ``email`` matches a contact's email (any of its persons'), ``search_text`` the name,
        company or email as Books' search box does. Results are summaries without
        ``contact_persons``: :meth:`get` a contact for those.
        """
        params: dict[str, Any] = {}
        for name, value in (("email", email), ("search_text", search_text), ("contact_name", contact_name)):
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(f"{name} must be a non-empty string")
            params[name] = value.strip()
        if not 1 <= per_page <= 200:
            raise ValidationError(f"per_page must be 1..200, got {per_page}")
        found: list[BooksContact] = []
        page = 1
        while True:
            body = await self._books.request(
                "GET", "/contacts", params={**params, "page": page, "per_page": per_page}
            )
            contacts = body.get("contacts") or []
            found.extend(BooksContact.model_validate(c) for c in contacts if isinstance(c, Mapping))
            if max_results is not None and len(found) >= max_results:
                return found[:max_results]
            context = BooksPageContext.model_validate(body.get("page_context") or {})
            if not context.has_more_page or not contacts:
                return found
            page += 1

    async def get(self, contact_id: str) -> BooksContact:
        """One contact with its contact persons; a missing id raises ``BooksNotFoundError``."""
        body = await self._books.request("GET", f"/contacts/{check_id(contact_id, 'contact_id')}")
        return _contact(body, "GET")

    async def create(self, contact: BooksContact | Mapping[str, Any]) -> BooksContact:
        """Create a contact (``contact_name`` is required and unique in Books).

        Not retried after an ambiguous failure (it is an insert): a duplicate-name error on a
        second try tells you the first one landed.
        """
        wire = _wire(contact)
        if not isinstance(wire.get("contact_name"), str) or not wire["contact_name"].strip():
            raise ValidationError("a Books contact needs a contact_name")
        body = await self._books.request("POST", "/contacts", json=wire)
        return _contact(body, "POST")

    async def update(self, contact_id: str, changes: BooksContact | Mapping[str, Any]) -> BooksContact:
        """Change the given fields. A contact person with a ``contact_person_id`` is updated;
        one without is added (so send the id to change the primary person, not a copy of it)."""
        wire = _wire(changes)
        wire.pop("contact_id", None)
        if not wire:
            raise ValidationError("update needs at least one field to change")
        body = await self._books.request("PUT", f"/contacts/{check_id(contact_id, 'contact_id')}", json=wire)
        return _contact(body, "PUT")
