"""``Attachment``: a file or a link attached to a record (a contract on a deal, a contact's CV).

Zoho lists a record's attachments as ``{"data": [...], "info": {...}}`` with Zoho CRM's v2 keys
(Bigin shares them; the list below is Zoho CRM's, unconfirmed for Bigin): ``File_Name``, a
``Size`` in bytes sent as a string (``"2048"``), who created and changed it and when, the
``Parent_Id`` record, and ``$``-keys saying what it is: ``$type`` (``"Attachment"`` for a file,
``"Link URL"`` for a link), ``$link_url``, ``$file_id`` and ``$se_module`` (the parent's module).
Keys Zoho adds later are kept, as on every model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from bigin_async.models import common
from bigin_async.models.base import BiginModel, Id, ModuleName

__all__ = ["LINK_TYPE", "Attachment"]

# ``$type`` of a link attached with ``attach_link`` (a file is "Attachment").
LINK_TYPE = "Link URL"
FILE_TYPE = "Attachment"


class Attachment(BiginModel):
    """One attachment of a record: a file (``type == "Attachment"``) or a link (``"Link URL"``).

    ``Size`` is an int of bytes (Zoho sends it as text; a value that is no count of bytes is
    None rather than failing the page). ``type``, ``link_url``, ``file_id`` and ``module`` are
    Zoho's ``$type``, ``$link_url``, ``$file_id`` and ``$se_module``: read and written under those
    names (``attachment.get("$type")`` works too).
    """

    id: Id
    File_Name: str | None = None
    Size: int | None = None
    Created_Time: datetime | None = None
    Modified_Time: datetime | None = None
    Created_By: common.Owner | None = None
    Modified_By: common.Owner | None = None
    Owner: common.Owner | None = None
    Parent_Id: common.RelatedTo | None = None
    type: str | None = Field(default=None, alias="$type")
    link_url: str | None = Field(default=None, alias="$link_url")
    file_id: str | None = Field(default=None, alias="$file_id")
    module: ModuleName = Field(default=None, alias="$se_module")

    @field_validator("Size", mode="before")
    @classmethod
    def _size_in_bytes(cls, value: Any) -> int | None:
        # "2048" (Zoho's text) or 2048; a float, a negative or "1.2 MB" is no count of bytes.
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value if value >= 0 else None
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return int(value.strip())
        return None

    @property
    def is_link(self) -> bool:
        """True for a link (``attach_link``), False for a file: a link has nothing to download."""
        return self.type == LINK_TYPE or (self.type is None and self.link_url is not None)
