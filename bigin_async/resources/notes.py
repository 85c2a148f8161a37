"""Notes: text attached to a contact, company or deal (``Parent_Id``)."""

from __future__ import annotations

from typing import ClassVar

from bigin_async._inputs import check_id, check_module_name
from bigin_async.errors import ValidationError
from bigin_async.models import Note, Record, WriteResult
from bigin_async.pagination import AsyncPaginator
from bigin_async.resources.base import DEFAULT, ModuleClient, Trigger, api_name

__all__ = ["NotesClient"]


class NotesClient(ModuleClient[Note]):
    """Notes; ``add`` attaches one to a record (``Parent_Id: {module, id}`` plus ``$se_module``)."""

    module_api_name: ClassVar[str] = "Notes"

    async def add(
        self,
        parent_module: str,
        parent_id: str,
        title: str | None,
        content: str,
        *,
        trigger: Trigger = DEFAULT,
    ) -> WriteResult:
        """Attach a note to a record; ``parent_module`` is an API name ("Contacts", "Accounts", ...)."""
        module = check_module_name(api_name(parent_module))
        record_id = check_id(parent_id, "parent_id")
        if not isinstance(content, str) or not content.strip():
            raise ValidationError("a note needs non-empty content")
        note: dict[str, object] = {
            "Note_Content": content,
            "Parent_Id": {"module": module, "id": record_id},
            "$se_module": module,
        }
        if title:
            note["Note_Title"] = title
        return await self.create(note, trigger=trigger)

    def for_record(self, module: str, id: str, *, max_records: int | None = None) -> AsyncPaginator[Record]:
        """The notes of one record (its ``Notes`` related list)."""
        return self._context.module(api_name(module)).related(id, "Notes", max_records=max_records)
