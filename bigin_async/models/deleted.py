"""Deleted records: one entry of ``GET /{module}/deleted`` (the recycle bin and the permanently deleted).

Zoho's shape (CRM v2's, which Bigin v2 shares; unconfirmed on Bigin itself)::

    {"data": [{"id", "display_name", "type": "recycle" | "permanent",
               "deleted_by": {"name", "id"}, "deleted_time", "created_by": {"name", "id"}}],
     "info": {"per_page", "count", "page", "more_records"}}

Zoho's own sample spells the creator ``Created_By``: both spellings are read into ``created_by``.
An entry is not a record: it carries no fields of the record, only who deleted it and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field

from bigin_async.models._lookups import UserLookup
from bigin_async.models.base import BiginModel, Id

__all__ = ["DELETED_TYPES", "DeletedRecord", "DeletedType"]

# Which deleted records to list: both bins, the recycle bin (restorable in Bigin's UI), or the
# permanently deleted (emptied from the bin, or deleted past it).
DeletedType = Literal["all", "recycle", "permanent"]
DELETED_TYPES: tuple[str, ...] = ("all", "recycle", "permanent")


class DeletedRecord(BiginModel):
    """A deleted record: its ``id``, ``display_name``, ``type`` (``recycle``/``permanent``), who and when."""

    id: Id
    display_name: str | None = None
    type: str | None = None
    deleted_by: UserLookup = None
    deleted_time: datetime | None = None
    created_by: UserLookup = Field(default=None, validation_alias=AliasChoices("created_by", "Created_By"))

    @property
    def in_recycle_bin(self) -> bool:
        """True while the record can still be restored from Bigin's recycle bin."""
        return self.type == "recycle"
