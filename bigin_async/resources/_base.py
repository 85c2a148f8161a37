"""``APIResource``: the one base of every resource client, and the helpers they share.

Every client (a module's records, pipelines, settings, users, the org, COQL, notification
channels, Zoho Books contacts) is built as ``SomeClient(transport, ...)`` and reads every answer
the same way: a 204 is an empty body (Bigin's empty list, empty search, missing id), the body is
parsed inside the transport's retry loop (a 2xx that is not what Zoho documents is a failed
attempt), and a write's per-record results raise the typed error of the first record refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import BaseModel

from bigin_async._json import body_of, decode
from bigin_async.errors import APIError, RecordError, error_class
from bigin_async.models import Page, WriteResult, parse_write_results
from bigin_async.pagination import AsyncPaginator, Fetch, PageParser, PageRequest, ProgressCallback

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = [
    "APIResource",
    "body_of",
    "checked_results",
    "json_body",
    "json_object",
    "record_error",
    "send_and_parse",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


async def send_and_parse(
    transport: Transport, method: str, path: str, parse: Callable[[bytes], T], **send: Any
) -> T:
    """Send a call and turn its body into ``T`` inside the transport's retry loop.

    Every answer this SDK reads goes through here: a 2xx whose body is not what Zoho documents
    (cut short, a proxy's HTML page, another shape) is a failed attempt, so a read is retried and
    ends in :class:`APIError` ``MALFORMED_RESPONSE``, and an insert raises
    :class:`AmbiguousWriteError` (its records may exist now) instead of an untyped pydantic error.
    """
    return await transport.send_parsed(method, path, lambda response: parse(body_of(response)), **send)


def json_body(body: bytes) -> Any:
    """A decoded JSON body, None when empty; a body that is not JSON raises ``ValueError``."""
    if not body.strip():
        return None
    try:
        return decode(body)
    except RecursionError as error:  # a body nested thousands deep
        raise ValueError("the answer nests too deep to be a Bigin body") from error


def json_object(body: bytes) -> dict[str, Any]:
    """A body that must be a JSON object (``{}`` when empty); anything else is a malformed answer."""
    decoded = json_body(body)
    if decoded is None:
        return {}
    if not isinstance(decoded, dict):
        raise ValueError(f"the answer is a JSON {type(decoded).__name__}, not an object")
    return decoded


def record_error(result: WriteResult, *, method: str, url: str, status: int) -> APIError:
    """The typed error for one failed record, keeping the server's code, message and details."""
    # By the code's meaning when Zoho's code is known; the HTTP status says nothing about one
    # record of a 2xx batch answer, so an unknown code is a plain RecordError.
    cls = error_class(result.code, 200)
    if cls is APIError or result.code is None:
        cls = RecordError
    return cls(
        result.message or "record failed",
        status_code=status,
        code=result.code,
        details=result.details,
        method=method,
        url=url,
    )


def checked_results(results: Iterable[WriteResult], response: httpx.Response) -> list[WriteResult]:
    """``results`` as a list, or the typed error (:func:`record_error`) of the first one refused."""
    checked = list(results)
    for result in checked:
        if not result.ok:
            raise record_error(
                result,
                method=response.request.method,
                url=str(response.request.url),
                status=response.status_code,
            )
    return checked


class APIResource:
    """The base of every resource client: one transport, and one way to send and read a call.

    ``transport`` is the client's request pipeline (pool, limits, retries, token); a resource
    never opens its own. The methods here are the only way the resources send a call.
    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    async def _send(self, method: str, path: str, parse: Callable[[bytes], T], **send: Any) -> T:
        """Send a call; ``parse`` reads its body (empty for a 204) inside the retry loop."""
        return await send_and_parse(self._transport, method, path, parse, **send)

    async def _get(
        self, path: str, parse: Callable[[bytes], T], params: Mapping[str, Any] | None = None
    ) -> T:
        """A ``GET``, its body read by ``parse`` inside the retry loop."""
        return await send_and_parse(self._transport, "GET", path, parse, params=params)

    async def _send_response(
        self, method: str, path: str, parse: Callable[[httpx.Response], T], **send: Any
    ) -> T:
        """Send a call; ``parse`` reads the whole response (status, request) in the retry loop."""
        return await self._transport.send_parsed(method, path, parse, **send)

    async def _send_write(self, method: str, path: str, **send: Any) -> list[WriteResult]:
        """Send a write; its per-record results, or the typed error of the first one refused."""

        def parse(response: httpx.Response) -> list[WriteResult]:
            return checked_results(parse_write_results(body_of(response)), response)

        return await self._transport.send_parsed(method, path, parse, **send)

    async def _fetch_page(self, path: str, params: Mapping[str, Any], parse: PageParser) -> Page[Any]:
        """One page of a paginated ``GET`` (the paginator's fetch)."""
        return await send_and_parse(self._transport, "GET", path, parse, params=params)

    def _paginator(
        self,
        request: PageRequest,
        model: type[M],
        *,
        per_page: int,
        max_records: int | None,
        on_progress: ProgressCallback | None,
        fetch: Fetch | None = None,
    ) -> AsyncPaginator[M]:
        """A paginator over ``request``'s pages, each fetched with :meth:`_fetch_page` (or ``fetch``)."""
        return AsyncPaginator(
            fetch or self._fetch_page,
            request,
            model,
            per_page=per_page,
            max_records=max_records,
            on_progress=on_progress,
        )
