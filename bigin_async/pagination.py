"""``AsyncPaginator``: walk any listing page by page, holding one page at a time.

Bigin's ``page``/``per_page`` reach only the first 2,000 records; past that a list must send the
previous answer's ``next_page_token`` instead (never both). The paginator switches by itself.
Search carries no tokens at all, so a search that hits the wall with ``more_records`` still true
raises :class:`PaginationLimitError` instead of stopping silently and losing records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from bigin_async.errors import PaginationLimitError, ValidationError
from bigin_async.models import Page, parse_page

__all__ = ["AsyncPaginator", "PageRequest", "PAGE_WALL"]

R = TypeVar("R", bound=BaseModel)

# Records reachable with page numbers before a page token is required.
PAGE_WALL = 2_000

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class PageRequest:
    """What the paginator needs to fetch pages: a GET of ``path`` with ``params``.

    ``supports_tokens`` is False for search (Zoho sends no tokens there); ``resolve_params`` lets a
    module client compute parameters lazily (``fields="all"`` needs the field metadata first).
    """

    path: str
    params: Mapping[str, Any]
    key: str = "data"
    supports_tokens: bool = True
    resolve_params: Callable[[], Awaitable[Mapping[str, Any]]] | None = None
    page_wall: int = PAGE_WALL


Fetch = Callable[[str, Mapping[str, Any]], Awaitable[bytes]]


class AsyncPaginator(Generic[R]):
    """Records across pages: ``async for record in paginator``.

    Also: ``async for page in paginator.pages()`` (pages with their ``info``),
    ``await paginator`` (the first page), ``await paginator.to_list(limit=...)`` (collect, with a
    mandatory limit so an export cannot fill memory by accident). ``max_records`` stops early
    without fetching pages it does not need. ``on_progress`` is called with the running count.
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
        if max_records is not None and (isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1):
            raise ValidationError(f"max_records must be a positive integer or None, got {max_records!r}")
        self._fetch = fetch
        self._request = request
        self._model = model
        # Asking for fewer than a page when fewer are wanted saves bytes; a bigger request's
        # page size stays fixed, since page numbers only line up with a constant per_page.
        self.per_page = min(per_page, max_records) if max_records is not None else per_page
        self.max_records = max_records
        self.on_progress = on_progress

    def __repr__(self) -> str:
        return f"AsyncPaginator(path={self._request.path!r}, per_page={self.per_page}, max_records={self.max_records})"

    async def pages(self) -> AsyncIterator[Page[R]]:
        """Each page in turn, trimmed to ``max_records``; only the current page is held."""
        request = self._request
        base = dict(await request.resolve_params()) if request.resolve_params else {}
        base.update({k: v for k, v in request.params.items() if v is not None})
        base["per_page"] = self.per_page
        page_number = 1
        token: str | None = None
        seen = 0
        while True:
            params = dict(base)
            if token is not None:
                params["page_token"] = token
            else:
                params["page"] = page_number
            body = await self._fetch(request.path, params)
            page = parse_page(self._model, body, request.key)
            if self.max_records is not None and seen + len(page.data) > self.max_records:
                page.data = page.data[: self.max_records - seen]
            seen += len(page.data)
            if self.on_progress is not None:
                self.on_progress(seen)
            yield page
            info = page.info
            if not page.data or info is None or not info.more_records:
                return
            if self.max_records is not None and seen >= self.max_records:
                return
            next_token = info.next_page_token
            if token is not None or (page_number + 1) * self.per_page > request.page_wall:
                # Past the wall (or already on tokens): only a token can take us further.
                if not next_token or not request.supports_tokens:
                    raise PaginationLimitError(
                        f"{request.path} has more records after {seen}, but Bigin serves only the first "
                        f"{request.page_wall} by page number and sent no page token here"
                        + (
                            " (search never does). Narrow the criteria, or use list() with sort_by, or COQL."
                            if not request.supports_tokens
                            else "."
                        )
                    )
                token = next_token
            else:
                page_number += 1

    def __aiter__(self) -> AsyncIterator[R]:
        return self._records()

    async def _records(self) -> AsyncIterator[R]:
        pages = self.pages()
        try:
            async for page in pages:
                for record in page.data:
                    yield record
        finally:
            await pages.aclose()  # type: ignore[attr-defined]

    async def first_page(self) -> Page[R]:
        pages = self.pages()
        try:
            async for page in pages:
                return page
        finally:
            await pages.aclose()  # type: ignore[attr-defined]
        raise AssertionError("unreachable: pages() always yields at least one page")

    def __await__(self) -> Generator[Any, None, Page[R]]:
        return self.first_page().__await__()

    async def to_list(self, *, limit: int) -> list[R]:
        """At most ``limit`` records in a list (the limit is mandatory on purpose)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"limit must be a positive integer, got {limit!r}")
        collected: list[R] = []
        records = self._records()
        try:
            async for record in records:
                collected.append(record)
                if len(collected) >= limit:
                    break
        finally:
            await records.aclose()  # type: ignore[attr-defined]
        return collected
