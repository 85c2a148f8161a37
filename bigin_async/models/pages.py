"""One page of a list, search or related-list response, parsed straight from the body bytes.

This is the read hot path: an export of a million records parses 5,000 pages. Each page is
validated in one ``model_validate_json`` call on an envelope model built once per (record class,
envelope key), so pydantic-core parses the JSON and builds the models in one pass, with no
``json.loads`` and no Python loop over the values of each record (marking the records as read
looks only at the fields that can hold a list, a dict or a model).

pydantic-core's JSON parser refuses a few bodies ``json.loads`` accepts: an escaped lone
surrogate (``"\\ud800"``, what a text cut in the middle of an emoji becomes), a byte order mark,
UTF-16/32 text and nesting past 200 levels. Such a body is read again the way ``json.loads``
reads it, so that a page is never refused for its encoding alone. Bodies both accept give the
same records, with one documented difference: a JSON *float* read into a text field is written
the way JSON wrote it (``1e3`` gives ``"1000"``, ``NaN`` gives ``"NaN"``), where ``str()`` of
Python's float would give ``"1000.0"`` and ``"nan"``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from bigin_async.models.base import BiginModel, mark_validated_as_read

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

    # cache_strings="keys": pydantic-core's default also looks every short *value* up in its
    # global 16,384-entry string cache, where a page's ids, e-mails and names (nearly all
    # unique) only churn it: that costs about a sixth of a page's validation. Keys (the
    # extras' names, repeated on every record) are still shared. The price: a text value
    # repeated across records (an owner's name, a city) is one object per record again.
    model_config = ConfigDict(extra="ignore", cache_strings="keys")

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
    envelope = _envelope(model, key)
    try:
        page = cast("Page[R]", envelope.model_validate_json(body))
    except ValidationError as error:
        if not _text_refused(error):
            raise
        page = None
    if page is None:  # outside the except: pydantic's error (which quotes the body) is not kept
        # What json.loads reads and pydantic-core's parser does not (see the module docstring):
        # read as before, json.loads raising its own ValueError or RecursionError if it cannot.
        page = cast("Page[R]", envelope.model_validate(_json_value(body)))
    mark_validated_as_read(page.data, model)
    return page


def _json_value(body: bytes | str) -> Any:
    """``json.loads(body)``, with a body that is not text refused by a ``ValueError`` of its own.

    ``UnicodeDecodeError`` holds the whole body in ``.object``, which the transport's scrubbing
    of a malformed answer's cause (it empties a ``JSONDecodeError``'s ``.doc``) does not reach.
    """
    try:
        return json.loads(body)
    except UnicodeDecodeError as error:
        where = f"{error.reason} at byte {error.start}"
    # Raised here, not in the except block, so that the UnicodeDecodeError is not its context.
    raise ValueError(f"the answer is not UTF-8 text ({where})")


def _text_refused(error: ValidationError) -> bool:
    """Whether pydantic-core refused the body's JSON text itself, not its content."""
    return all(detail["type"] in _TEXT_ERRORS for detail in error.errors(include_url=False))


# The body is not JSON to pydantic-core (``json_invalid``) or not text it can read as UTF-8.
_TEXT_ERRORS = frozenset({"json_invalid", "string_unicode"})
