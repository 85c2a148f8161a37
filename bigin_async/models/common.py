"""Small value objects that appear inside records: lookups, owners, tags, "related to" links.

Each knows its own write form, because Bigin reads these richer than it accepts them back:
a lookup reads ``{"name", "id"}`` and is written ``{"id"}``; a tag reads ``{"name", "id",
"color_code"}`` and is written ``{"name"}``. Sending the read form back is at best ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import model_validator
from typing_extensions import Self

from bigin_async.models.base import BiginModel, Id, written_as_id

__all__ = ["Lookup", "Owner", "Participant", "RelatedTo", "Tag"]


@written_as_id
class Lookup(BiginModel):
    """A lookup: a link to another record (``Account_Name`` on Contacts, ``Contact_Name`` on deals...)."""

    id: Id
    name: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """Only the id: Bigin resolves the name itself and ignores or rejects the rest."""
        return {"id": self.id}


@written_as_id
class Owner(Lookup):
    """A user lookup (``Owner``, ``Created_By``, ``Modified_By``): ``{name, id, email}`` on read."""

    email: str | None = None


class Tag(BiginModel):
    """A tag; built from ``{"name": ...}`` or from a bare name (``"VIP"``).

    On a record it reads ``{"name", "id", "color_code"}``; the tags API (``bigin.tags``) adds
    when and by whom it was created and last changed. One class serves both, so a tag read from
    a record and one listed by ``bigin.tags.list()`` compare and are used alike.
    """

    name: str
    id: Id | None = None
    color_code: str | None = None
    created_time: datetime | None = None
    modified_time: datetime | None = None
    created_by: Owner | None = None
    modified_by: Owner | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_bare_name(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data}
        return data

    def to_wire(self) -> dict[str, Any]:
        """Only the name: that is how Bigin matches (or creates) a tag on a write."""
        return {"name": self.name}


class RelatedTo(BiginModel):
    """The record an activity or note belongs to, as ``{"module", "id"}``.

    ``module`` is usually an API name (``"Contacts"``); Zoho sometimes nests it as
    ``{"api_name": ...}``, which is kept as given so it round-trips.
    """

    id: Id
    module: str | dict[str, Any] | None = None
    name: str | None = None

    @property
    def module_api_name(self) -> str | None:
        """The module's API name whichever shape ``module`` came in."""
        if isinstance(self.module, dict):
            api_name = self.module.get("api_name")
            return api_name if isinstance(api_name, str) else None
        return self.module

    def to_wire(self) -> dict[str, Any]:
        """``{"module", "id"}`` (module only when known); the display name is read-only."""
        if self.module is None:
            return {"id": self.id}
        return {"module": self.module, "id": self.id}


class Participant(BiginModel):
    """An event participant: written as ``{"id"}``, Zoho adds type/name/Email/status."""

    id: Id | None = None
    participant: Id | None = None
    type: str | None = None
    name: str | None = None
    Email: str | None = None

    @model_validator(mode="after")
    def _id_from_participant(self) -> Self:
        # Zoho's shape names the contact ``participant``; expose it as ``id`` too (not as set).
        if self.id is None and self.participant is not None:
            self.id = self.participant
            self.__pydantic_fields_set__.discard("id")
        return self
