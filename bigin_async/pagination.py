"""``AsyncPaginator``: walk any listing page by page, holding one page at a time.

Bigin's ``page``/``per_page`` reach only the first 2,000 records; past that a list must send the
previous answer's ``next_page_token`` instead (never both). The paginator switches by itself.
Search carries no tokens at all, so a search that hits the wall with ``more_records`` still true
raises :class:`PaginationLimitError` instead of ending silently and losing records.

A walk can be continued in another process: ``pages().position`` (a :class:`PagePosition`) says
what the next request would send, and ``pages(start=position)`` starts there (``bigin export
--resume`` continues an interrupted export this way).

The iterators are small classes rather than async generators on purpose: leaving an
``async for`` early (``break``, an exception) must leave nothing behind to finalize. An abandoned
async generator is closed by the garbage collector, which trio reports as a ResourceWarning and
asyncio defers to the loop; an object with ``__anext__`` has no such state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel

from bigin_async.errors import PaginationLimitError, ValidationError
from bigin_async.models import Page, PageInfo, parse_page

__all__ = [
    "AsyncPaginator",
    "Fetch",
    "PageIterator",
    "PageParser",
    "PagePosition",
    "PageRequest",
    "PAGE_WALL",
    "ProgressCallback",
]

R = TypeVar("R", bound=BaseModel)

# Records reachable with page numbers before a page token is required.
PAGE_WALL = 2_000

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class PageRequest:
    """What the paginator needs to fetch pages: a GET of ``path`` with ``params``.

    ``supports_tokens`` is False for search (Zoho sends no tokens there); ``resolve_params`` lets a
    module client compute parameters lazily (``fields="all"`` needs the field metadata first).
    ``wall_advice`` ends the error raised at ``page_wall``: what the caller can do instead.
    """

    path: str
    params: Mapping[str, Any]
    key: str = "data"
    supports_tokens: bool = True
    resolve_params: Callable[[], Awaitable[Mapping[str, Any]]] | None = None
    page_wall: int = PAGE_WALL
    wall_advice: str = ""


@dataclass(frozen=True)
class PagePosition:
    """Where a walk stands between two pages: what its next request sends.

    ``page`` is the next page number (Bigin's ``page``, within the first 2,000 records);
    ``page_token`` the ``next_page_token`` to send instead past them (Zoho never takes both);
    ``records`` how many records the walk handed out before it (``max_records`` counts them);
    ``per_page`` the page size the position belongs to (page numbers line up only with the same
    one); ``done`` that there is no next page. Plain values, so it can be saved as JSON between
    processes. Zoho's page tokens expire (``page_token_expiry`` in a page's ``info``): a position
    holding an expired token is refused by Bigin when the walk continues.
    """

    page: int = 1
    page_token: str | None = None
    records: int = 0
    per_page: int = 200
    done: bool = False


# Turns one answer's body into a page; raises (ValueError, pydantic's error) when it cannot.
PageParser = Callable[[bytes], Page[Any]]

# Sends the GET (or COQL POST) of one page and returns ``parse(body)``, running the parser inside
# the transport's retry loop: a page whose body does not parse is retried like a 5xx, then
# raised as APIError "MALFORMED_RESPONSE" (see ``bigin_async.resources.base.send_and_parse``).
Fetch = Callable[[str, Mapping[str, Any], PageParser], Awaitable[Page[Any]]]


class AsyncPaginator(Generic[R]):
    """Records across pages: ``async for record in paginator``.

    Also: ``async for page in paginator.pages()`` (pages with their ``info``),
    ``await paginator`` (the first page), ``await paginator.to_list(limit=...)`` (collect, with a
    mandatory limit so an export cannot fill memory by accident). ``max_records`` stops early
    without fetching pages it does not need. ``on_progress`` is called with the running count.
    Each ``async for`` starts a fresh walk from the first page.
    """

    def __init__(
        self,
        fetch: Fetch,
        request: PageRequest,
        model: type[R],
        *,
        per_page: int = 200,
        max_records: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= 200:
            raise ValidationError(f"per_page must be an integer from 1 to 200, got {per_page!r}")
        if max_records is not None and (
            isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1
        ):
            raise ValidationError(f"max_records must be a positive integer or None, got {max_records!r}")
        self._fetch = fetch
        self._request = request
        self._model = model
        self._parse: PageParser = partial(parse_page, model, key=request.key)
        # Asking for fewer than a page when fewer are wanted saves bytes; a bigger request's
        # page size stays fixed, since page numbers only line up with a constant per_page.
        self.per_page = min(per_page, max_records) if max_records is not None else per_page
        self.max_records = max_records
        self.on_progress = on_progress

    def __repr__(self) -> str:
        return (
            f"AsyncPaginator(path={self._request.path!r}, per_page={self.per_page}, "
            f"max_records={self.max_records})"
        )

    def pages(self, *, start: PagePosition | None = None) -> PageIterator[R]:
        """Each page in turn, trimmed to ``max_records``; only the current page is held.

        ``start`` continues a walk from a :class:`PagePosition` a previous walk's
        :attr:`PageIterator.position` gave (saved after the page before it was used); it must
        have this paginator's ``per_page``, and the paginator the same parameters (fields, sort,
        criteria) as the one that walked before, or the pages would not line up.
        """
        return PageIterator(_Walk(self, start))

    def __aiter__(self) -> AsyncIterator[R]:
        return _Records(_Walk(self))

    async def first_page(self) -> Page[R]:
        page = await _Walk(self).next_page()
        assert page is not None, "the first request of a walk always gives a page"
        return page

    def __await__(self) -> Generator[Any, None, Page[R]]:
        return self.first_page().__await__()

    async def to_list(self, *, limit: int) -> list[R]:
        """At most ``limit`` records in a list (the limit is mandatory on purpose)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"limit must be a positive integer, got {limit!r}")
        collected: list[R] = []
        async for record in self:
            collected.append(record)
            if len(collected) >= limit:
                break
        return collected


def _the_page_asked(parse: PageParser, number: int, body: bytes) -> Page[Any]:
    """``parse(body)``, refused (ValueError: read as a bad answer, so the page is asked again)
    when its ``info.page`` names another page than the one asked: a cache or proxy that answers
    page 1 again for page 2 would hand the same records out twice."""
    page = parse(body)
    told = page.info.page if page.info is not None else None
    if told is not None and told != number:
        raise ValueError(f"page {number} was asked for and the answer is page {told}")
    return page


class _Walk(Generic[R]):
    """One walk's position: the parameters of the next request, or that there is none.

    The previous page (body and models) is no longer held while the next one is requested, so an
    export's memory stays at about one page however many records it walks.
    """

    def __init__(self, paginator: AsyncPaginator[R], start: PagePosition | None = None) -> None:
        self._paginator = paginator
        self._base: dict[str, Any] | None = None
        self._page_number = 1
        self._token: str | None = None
        self._seen = 0
        self._done = False
        # Raised on the request after the page that revealed it, so every reachable record
        # has been handed out before the walk fails.
        self._pending_error: PaginationLimitError | None = None
        if start is not None:
            self._start_at(start)

    def _start_at(self, start: PagePosition) -> None:
        paginator = self._paginator
        if not isinstance(start, PagePosition):
            raise ValidationError(f"start must be a PagePosition, got {start!r}")
        if start.per_page != paginator.per_page:
            raise ValidationError(
                f"start is a position in pages of {start.per_page} records and this paginator asks "
                f"for {paginator.per_page}: page numbers would not line up"
            )
        if isinstance(start.page, bool) or not isinstance(start.page, int) or start.page < 1:
            raise ValidationError(f"start.page must be a positive integer, got {start.page!r}")
        if isinstance(start.records, bool) or not isinstance(start.records, int) or start.records < 0:
            raise ValidationError(f"start.records must be an integer >= 0, got {start.records!r}")
        if start.page_token is not None and not (isinstance(start.page_token, str) and start.page_token):
            raise ValidationError("start.page_token must be a page token (a non-empty string) or None")
        if not isinstance(start.done, bool):
            raise ValidationError(f"start.done must be True or False, got {start.done!r}")
        self._page_number, self._token, self._seen, self._done = (
            start.page,
            start.page_token,
            start.records,
            start.done,
        )
        request = paginator._request
        if (
            not self._done
            and self._token is None
            and (self._page_number - 1) * paginator.per_page >= (request.page_wall)
        ):
            self._done = True  # no page number reaches there: the walk stopped at the wall before
            self._pending_error = PaginationLimitError(self._wall_message())
        elif paginator.max_records is not None and self._seen >= paginator.max_records:
            self._done = True

    @property
    def position(self) -> PagePosition:
        """What the next request would send (see :class:`PagePosition`)."""
        per_page = self._paginator.per_page
        if self._pending_error is not None:  # the next request raises: a position past the wall
            return PagePosition(self._page_number + 1, None, self._seen, per_page)
        return PagePosition(self._page_number, self._token, self._seen, per_page, self._done)

    async def next_page(self) -> Page[R] | None:
        if self._pending_error is not None:
            raise self._pending_error
        if self._done:
            return None
        paginator = self._paginator
        request = paginator._request
        params = dict(await self._base_params())
        parse = paginator._parse
        if self._token is not None:
            params["page_token"] = self._token
        else:
            params["page"] = self._page_number
            parse = partial(_the_page_asked, parse, self._page_number)
        page = cast("Page[R]", await paginator._fetch(request.path, params, parse))
        limit = paginator.max_records
        if limit is not None and self._seen + len(page.data) > limit:
            page.data = page.data[: limit - self._seen]
        self._seen += len(page.data)
        if paginator.on_progress is not None:
            paginator.on_progress(self._seen)
        self._advance(page.info, bool(page.data))
        return page

    async def _base_params(self) -> dict[str, Any]:
        if self._base is None:
            paginator = self._paginator
            request = paginator._request
            base = dict(await request.resolve_params()) if request.resolve_params else {}
            base.update({k: v for k, v in request.params.items() if v is not None})
            base["per_page"] = paginator.per_page
            self._base = base
        return self._base

    def _advance(self, info: PageInfo | None, got_records: bool) -> None:
        """Decide the next request: the next page number, the page token, the end, or the wall."""
        paginator = self._paginator
        request = paginator._request
        per_page = paginator.per_page
        if not got_records or info is None or not info.more_records:
            self._done = True
        elif paginator.max_records is not None and self._seen >= paginator.max_records:
            self._done = True
        elif self._token is None and (self._page_number + 1) * per_page <= request.page_wall:
            self._page_number += 1  # the next page still lies within reach of page numbers
        elif request.supports_tokens and info.next_page_token:
            self._token = info.next_page_token  # past the wall: only a token goes further
        elif self._token is None and self._page_number * per_page < request.page_wall:
            self._page_number += 1  # no token, but a last page straddles the wall
        else:
            self._done = True
            self._pending_error = PaginationLimitError(self._wall_message())

    def _wall_message(self) -> str:
        request = self._paginator._request
        message = (
            f"{request.path} has more records after {self._seen}, but Bigin serves only the first "
            f"{request.page_wall} by page number and sent no page token to go further"
        )
        return f"{message}: {request.wall_advice}" if request.wall_advice else f"{message}."


class PageIterator(AsyncIterator[Page[R]]):
    """``async for page in paginator.pages()``; :attr:`position` says where the walk stands."""

    def __init__(self, walk: _Walk[R]) -> None:
        self._walk = walk

    @property
    def position(self) -> PagePosition:
        """Where the next page would be asked: after a page was used, save this to continue the
        walk later with ``paginator.pages(start=position)``. It moves only when a page arrived,
        so after a failed request it still names the page that failed."""
        return self._walk.position

    async def __anext__(self) -> Page[R]:
        page = await self._walk.next_page()
        if page is None:
            raise StopAsyncIteration
        return page

    async def aclose(self) -> None:
        """Nothing to release (kept so code written for async generators still works)."""


class _Records(AsyncIterator[R]):
    """``async for record in paginator``: the records of one page, then the next page's."""

    def __init__(self, walk: _Walk[R]) -> None:
        self._walk = walk
        self._records: Iterator[R] = iter(())

    async def __anext__(self) -> R:
        record = next(self._records, None)
        while record is None:
            self._records = iter(())  # drop the finished page before fetching the next
            page = await self._walk.next_page()
            if page is None:
                raise StopAsyncIteration
            self._records = iter(page.data)
            del page
            record = next(self._records, None)
        return record

    async def aclose(self) -> None:
        """Nothing to release (kept so code written for async generators still works)."""
