"""One page of a list, search or related-list response, parsed straight from the body bytes.

This is the read hot path: an export of a million records parses 5,000 pages. Each page is
validated in one ``model_validate_json`` call on an envelope model built once per (record class,
envelope key), so pydantic-core parses the JSON and builds the models in one pass, with no
``json.loads`` and no per-record Python loop.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from bigin_async.models.base import BiginModel, mark_as_read

__all__ = ["Page", "PageInfo", "parse_page"]

R = TypeVar("R", bound=BaseModel)


class PageInfo(BiginModel):
    """The ``info`` block. Its keys differ by endpoint, so all are optional.

    Lists carry the page tokens (null on a single page) and ``sort_by``/``sort_order``; related
    lists carry tokens but no sort keys; search carries no tokens even when ``more_records`` is
    true; users and watch carry only ``per_page, count, page, more_records``.
    """

    per_page: int | None = None
    count: int | None = None
    page: int | None = None
    more_records: bool | None = None
    sort_by: str | None = None
    sort_order: str | None = None
    next_page_token: str | None = None
    previous_page_token: str | None = None
    page_token_expiry: str | None = None


class Page(BaseModel, Generic[R]):
    """Records of one page (``data``) and the page's ``info`` (None where Bigin sends none)."""

    model_config = ConfigDict(extra="ignore")

    data: list[R] = Field(default_factory=list)
    info: PageInfo | None = None


@cache
def _envelope(model: type[BaseModel], key: str) -> type[Page[Any]]:
    """A ``Page[model]`` subclass that reads its records from ``key`` (cached: built once)."""
    if key == "data":
        return Page[model]  # type: ignore[valid-type]
    return cast(
        "type[Page[Any]]",
        create_model(
            f"Page_{model.__name__}_{key}",
            __base__=Page[model],  # type: ignore[valid-type]
            data=(list[model], Field(default_factory=list, validation_alias=key)),  # type: ignore[valid-type]
        ),
    )


def parse_page(model: type[R], body: bytes | str, key: str = "data") -> Page[R]:
    """Parse a response body into a page of ``model`` instances.

    ``key`` is the envelope key: ``data`` for records, ``users``, ``modules``, ``fields``,
    ``org``, ``watch``, ``pipelines``, ``layouts`` elsewhere. An empty body (Bigin's 204 for an
    empty list or search) is an empty page with no ``info``. The models come "as read": sent
    back in a write, they carry their id and only the fields assigned after this.
    """
    if not body or not body.strip():
        return Page[model]()  # type: ignore[valid-type]
    page = cast("Page[R]", _envelope(model, key).model_validate_json(body))
    mark_as_read(page.data)
    return page
