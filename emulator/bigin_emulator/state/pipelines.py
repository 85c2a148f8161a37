"""Team pipelines and their stages: one source for ``/settings/pipelines`` and the Pipelines layouts.

Zoho models a team pipeline as a layout of the Pipelines module (the layout id is the pipeline id,
``Sub_Pipeline`` and ``Stage`` are picklists in its sections); the SDK's ``bigin.pipelines`` also
speaks a ``/settings/pipelines`` resource with ``maps`` of stages. Both views are rendered here
from the same ``TeamPipeline`` objects, so creating a pipeline through that endpoint makes a
layout, and a deal's ``Stage`` is checked against the stages of the pipeline it sits in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_STAGES", "PipelineRegistry", "Stage", "TeamPipeline"]

DEFAULT_STAGES: tuple[tuple[str, int], ...] = (
    ("Qualification", 10),
    ("Needs Analysis", 25),
    ("Proposal", 50),
    ("Negotiation", 75),
    ("Closed Won", 100),
    ("Closed Lost", 0),
)


@dataclass
class Stage:
    """One stage of a team pipeline, as the Pipelines layout's ``Stage`` picklist shows it."""

    id: str
    display_value: str
    sequence_number: int
    probability: int

    @property
    def forecast_type(self) -> str:
        if self.probability >= 100:
            return "Closed Won"
        if self.probability == 0 and "lost" in self.display_value.casefold():
            return "Closed Lost"
        return "Open"

    def as_map(self) -> dict[str, Any]:
        return {
            "display_value": self.display_value,
            "id": self.id,
            "sequence_number": self.sequence_number,
            "probability": self.probability,
        }

    def as_pick_list_value(self) -> dict[str, Any]:
        return {
            "display_value": self.display_value,
            "actual_value": self.display_value,
            "sequence_number": self.sequence_number,
            "id": self.id,
            "probability": self.probability,
            "forecast_type": self.forecast_type,
        }


@dataclass
class TeamPipeline:
    """A team pipeline: the Pipelines layout with this id, and its ordered stages."""

    id: str
    display_value: str
    default: bool
    stages: list[Stage] = field(default_factory=list)
    sub_pipeline_id: str = ""

    @property
    def sub_pipeline(self) -> str:
        """Bigin names a pipeline's one sub-pipeline after it, e.g. "Sales Pipeline Standard"."""
        return f"{self.display_value} Standard"

    def stage(self, name: str) -> Stage | None:
        wanted = name.casefold()
        return next((s for s in self.stages if s.display_value.casefold() == wanted), None)

    def as_settings(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "display_value": self.display_value,
            "default": self.default,
            "maps": [s.as_map() for s in self.stages],
        }


class PipelineRegistry:
    """The org's team pipelines, in creation order; exactly one is the default."""

    def __init__(self, new_id: Callable[[], str]) -> None:
        self._new_id = new_id
        self.pipelines: dict[str, TeamPipeline] = {}

    def create_default(self) -> TeamPipeline:
        return self.create(
            "Sales Pipeline", [{"display_value": n, "probability": p} for n, p in DEFAULT_STAGES], True
        )

    def create(self, display_value: str, maps: list[dict[str, Any]], default: bool = False) -> TeamPipeline:
        pipeline = TeamPipeline(self._new_id(), display_value, default, sub_pipeline_id=self._new_id())
        pipeline.stages = self._stages(maps)
        if default or not self.pipelines:
            self._make_default(pipeline)
        self.pipelines[pipeline.id] = pipeline
        return pipeline

    def update(self, pipeline: TeamPipeline, changes: dict[str, Any]) -> None:
        if isinstance(changes.get("display_value"), str):
            pipeline.display_value = changes["display_value"]
        if isinstance(changes.get("maps"), list):
            pipeline.stages = self._stages(changes["maps"], keep=pipeline.stages)
        if changes.get("default") is True:
            self._make_default(pipeline)

    def delete(self, pipeline_id: str) -> None:
        del self.pipelines[pipeline_id]

    def get(self, pipeline_id: str) -> TeamPipeline | None:
        return self.pipelines.get(pipeline_id)

    def default(self) -> TeamPipeline:
        return next(p for p in self.pipelines.values() if p.default)

    def by_name(self, name: str) -> TeamPipeline | None:
        """Find a pipeline by its name or its sub-pipeline's name (what a deal's Sub_Pipeline holds)."""
        wanted = name.casefold()
        for pipeline in self.pipelines.values():
            if wanted in (pipeline.display_value.casefold(), pipeline.sub_pipeline.casefold()):
                return pipeline
        return None

    def _make_default(self, chosen: TeamPipeline) -> None:
        for pipeline in self.pipelines.values():
            pipeline.default = False
        chosen.default = True

    def _stages(self, maps: list[dict[str, Any]], keep: list[Stage] | None = None) -> list[Stage]:
        """Build stages from ``maps``; a map naming an existing stage keeps that stage's id."""
        existing = {s.display_value.casefold(): s for s in keep or []}
        stages: list[Stage] = []
        for position, item in enumerate(maps, start=1):
            name = str(item["display_value"])
            old = existing.get(name.casefold())
            probability = item.get("probability", old.probability if old else 0)
            sequence = item.get("sequence_number", position)
            stages.append(Stage(old.id if old else self._new_id(), name, int(sequence), int(probability)))
        stages.sort(key=lambda s: s.sequence_number)
        return stages

    def export(self) -> list[dict[str, Any]]:
        return [{**p.as_settings(), "sub_pipeline_id": p.sub_pipeline_id} for p in self.pipelines.values()]

    def restore(self, rows: list[dict[str, Any]]) -> None:
        self.pipelines.clear()
        for row in rows:
            stages = [
                Stage(m["id"], m["display_value"], m["sequence_number"], m["probability"])
                for m in row["maps"]
            ]
            pipeline = TeamPipeline(
                row["id"], row["display_value"], bool(row["default"]), stages, row["sub_pipeline_id"]
            )
            self.pipelines[pipeline.id] = pipeline
