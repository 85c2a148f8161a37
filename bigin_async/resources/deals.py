"""Deals: Bigin's ``Pipelines`` module (the records), and moving a deal through its stages."""

from __future__ import annotations

import builtins
from typing import ClassVar

from bigin_async._inputs import check_id
from bigin_async.errors import ValidationError
from bigin_async.models import Deal, Pipeline, WriteResult
from bigin_async.pagination import AsyncPaginator, ProgressCallback
from bigin_async.resources.base import DEFAULT, FieldsSpec, ModuleClient, Trigger

__all__ = ["DealsClient"]


class DealsClient(ModuleClient[Deal]):
    """Deals live in the module whose API name is ``Pipelines``; team pipelines are its layouts."""

    module_api_name: ClassVar[str] = "Pipelines"

    def list(
        self,
        fields: FieldsSpec = None,
        per_page: int = 200,
        sort_by: str | None = None,
        sort_order: str | None = None,
        cvid: str | None = None,
        max_records: int | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        pipeline_id: str | None = None,
    ) -> AsyncPaginator[Deal]:
        """All deals, or only those of one team pipeline (``pipeline_id``: a ``client.pipelines`` id).

        The rest is :meth:`ModuleClient.list <bigin_async.resources.base.ModuleClient.list>`'s.
        """
        more = {"pipeline_id": check_id(pipeline_id, "pipeline_id")} if pipeline_id is not None else {}
        return self._list(fields, per_page, sort_by, sort_order, cvid, max_records, on_progress, more)

    async def move_to_stage(self, deal_id: str, stage: str, *, trigger: Trigger = DEFAULT) -> WriteResult:
        """Set the deal's ``Stage`` after checking the stage exists in the deal's own pipeline.

        A stage name that belongs to another pipeline (or to none) is refused before anything is
        written, with the valid names in the message.
        """
        record_id = check_id(deal_id, "deal_id")
        if not isinstance(stage, str) or not stage.strip():
            raise ValidationError("stage must be a non-empty stage name")
        deal = await self.get(record_id, fields=["Deal_Name", "Stage", "Sub_Pipeline", "Layout", "Pipeline"])
        pipeline = self._pipeline_of(deal, await self._context.pipelines.list())
        names = [s.display_value or s.actual_value or "" for s in pipeline.stages]
        wanted = stage.strip().casefold()
        match = next((name for name in names if name.casefold() == wanted), None)
        if match is None:
            raise ValidationError(
                f"stage {stage!r} is not in pipeline {pipeline.name!r}; valid stages: {', '.join(names)}"
            )
        return await self.update(record_id, {"Stage": match}, trigger=trigger)

    @staticmethod
    def _pipeline_of(deal: Deal, pipelines: builtins.list[Pipeline]) -> Pipeline:
        if not pipelines:
            raise ValidationError("the org has no pipelines to validate the stage against")
        lookup = deal.Layout or deal.Pipeline
        if lookup is not None:
            for pipeline in pipelines:
                if pipeline.id == lookup.id:
                    return pipeline
        if deal.Sub_Pipeline:
            wanted = deal.Sub_Pipeline.casefold()
            for pipeline in pipelines:
                names = {(pipeline.name or "").casefold(), f"{pipeline.name or ''} standard".casefold()}
                names.update((sub.name or "").casefold() for sub in pipeline.sub_pipelines or [])
                if wanted in names:
                    return pipeline
        return next((p for p in pipelines if p.default), pipelines[0])
