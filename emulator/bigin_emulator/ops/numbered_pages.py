"""Pages of a short list by page number only: ``page`` and ``per_page``, no page tokens, no sort.

``GET /users``, ``GET /{Module}/deleted`` and ``/settings/custom_views`` page this way; their
``info`` is ``{"per_page", "count", "page", "more_records"}`` (``list_users.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from bigin_emulator.ops.paging import PageParams

__all__ = ["numbered_page"]

T = TypeVar("T")


def numbered_page(items: Sequence[T], params: PageParams) -> tuple[list[T], dict[str, Any]]:
    """The items of page ``params.page`` and its ``info``; an empty list past the last page."""
    start = (params.page - 1) * params.per_page
    page = list(items[start : start + params.per_page])
    info = {
        "per_page": params.per_page,
        "count": len(page),
        "page": params.page,
        "more_records": start + params.per_page < len(items),
    }
    return page, info
