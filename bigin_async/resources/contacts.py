"""Contacts: people, with Email as their default unique field."""

from __future__ import annotations

from typing import ClassVar, cast

from bigin_async._inputs import check_id
from bigin_async.models import Contact, Deal
from bigin_async.pagination import AsyncPaginator, ProgressCallback
from bigin_async.resources.base import FieldsSpec, ModuleClient
from bigin_async.resources.photos import RecordPhotos

__all__ = ["ContactsClient"]


class ContactsClient(RecordPhotos, ModuleClient[Contact]):
    """Contacts: people, with Email as their default unique field."""

    module_api_name: ClassVar[str] = "Contacts"

    def deals(
        self,
        contact_id: str,
        *,
        pipeline_id: str | None = None,
        fields: FieldsSpec = None,
        per_page: int = 200,
        max_records: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> AsyncPaginator[Deal]:
        """The deals of one contact (its ``Pipelines`` related list), or only one team pipeline's.

        ``pipeline_id`` is a team pipeline's id (``client.pipelines.list()``); without it, deals of
        every pipeline. ``fields`` defaults to the deals' default fields, as ``client.deals.list``.
        """
        params = {"pipeline_id": check_id(pipeline_id, "pipeline_id")} if pipeline_id is not None else {}
        deals = self.related(
            contact_id,
            "Pipelines",
            fields,
            per_page=per_page,
            max_records=max_records,
            params=params,
            on_progress=on_progress,
        )
        return cast("AsyncPaginator[Deal]", deals)  # related() reads Pipelines records as Deal
