"""A user lookup in a metadata answer (``deleted_by``, ``created_by``...), or None when it names no user.

Zoho sends these as ``{"name", "id"}``, ``null`` when there is none (a view never modified), and,
in answers we have not seen, maybe ``{}`` or an id of ``null``. One unreadable lookup must not
fail the whole page it came in, so anything without a usable id reads as None.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from bigin_async.models.common import Owner

__all__ = ["UserLookup"]


def _user_or_none(value: Any) -> Any:
    if isinstance(value, dict):
        user_id = value.get("id")
        if isinstance(user_id, bool) or not isinstance(user_id, (str, int)) or user_id == "":
            return None
    return value


UserLookup = Annotated[Owner | None, BeforeValidator(_user_or_none)]
