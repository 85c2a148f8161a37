"""Metadata models: modules, fields, layouts, custom views, related lists, team pipelines and stages.

Some servers answer ``/settings/pipelines`` (``pipelines[].maps[]`` = stages). Zoho documents no
such endpoint: a team pipeline is a layout of the Pipelines module, and its sub-pipelines and
stages are the ``Sub_Pipeline`` and ``Stage`` picklists of that layout. Both shapes are turned
into the same ``Pipeline``/``Stage`` objects, so callers do not care which one the server spoke.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field

from bigin_async.models import common
from bigin_async.models._lookups import UserLookup
from bigin_async.models.base import BiginModel, Id

__all__ = [
    "CustomView",
    "FieldInfo",
    "Layout",
    "LayoutSection",
    "ModuleInfo",
    "Pipeline",
    "PicklistValue",
    "RelatedList",
    "Stage",
    "parse_pipelines",
    "pipeline_from_layout",
    "pipelines_from_layouts",
]


class ModuleInfo(BiginModel):
    """One entry of ``/settings/modules`` (``api_name`` "Accounts" is labelled "Companies")."""

    id: Id | None = None
    api_name: str | None = None
    module_name: str | None = None
    singular_label: str | None = None
    plural_label: str | None = None
    api_supported: bool | None = None
    creatable: bool | None = None
    editable: bool | None = None
    deletable: bool | None = None
    viewable: bool | None = None
    visible: bool | None = None
    generated_type: str | None = None
    sequence_number: int | None = None
    parent_module: dict[str, Any] | None = None  # ``{}`` when there is none, not null
    profiles: list[common.Lookup] | None = None
    modified_by: common.Owner | None = None
    modified_time: datetime | None = None


class PicklistValue(BiginModel):
    """One option of a picklist field; Zoho-side ``maps`` link a sub-pipeline to its stages."""

    id: Id | None = None
    display_value: str | None = None
    actual_value: str | None = None
    reference_value: str | None = None
    sequence_number: int | None = None
    colour_code: str | None = None
    type: str | None = None
    maps: list[dict[str, Any]] | None = None


class FieldInfo(BiginModel):
    """One field of ``/settings/fields?module=`` (lists only "used" fields, not every key)."""

    id: Id | None = None
    api_name: str | None = None
    field_label: str | None = None
    display_label: str | None = None
    data_type: str | None = None
    json_type: str | None = None
    length: int | None = None
    ui_type: int | None = None
    read_only: bool | None = None
    field_read_only: bool | None = None
    system_mandatory: bool | None = None
    custom_field: bool | None = None
    visible: bool | None = None
    quick_sequence_number: Id | None = None  # a string on the wire ("1")
    lookup: dict[str, Any] | None = None  # ``{}`` unless data_type is lookup
    unique: dict[str, Any] | None = None
    pick_list_values: list[PicklistValue] | None = None

    @property
    def lookup_module(self) -> str | None:
        """The API name of the module a lookup field points at (``Accounts`` for Account_Name)."""
        module = (self.lookup or {}).get("module")
        api_name = module.get("api_name") if isinstance(module, dict) else None
        return api_name if isinstance(api_name, str) else None


class LayoutSection(BiginModel):
    """A section of a layout, holding its fields."""

    id: Id | None = None
    name: str | None = None
    display_label: str | None = None
    sequence_number: int | None = None
    fields: list[FieldInfo] | None = None


class Layout(BiginModel):
    """One entry of ``/settings/layouts?module=``; for Pipelines, one team pipeline."""

    id: Id | None = None
    name: str | None = None
    display_label: str | None = None
    sections: list[LayoutSection] | None = None

    def all_fields(self) -> list[FieldInfo]:
        """Every field of every section, in section order."""
        return [field for section in self.sections or [] for field in section.fields or []]


class Stage(BiginModel):
    """A deal stage: ``display_value`` is its name, ``probability`` a percentage."""

    id: Id | None = None
    display_value: str | None = None
    actual_value: str | None = None
    sequence_number: int | None = None
    probability: float | None = None


class Pipeline(BiginModel):
    """A team pipeline and its stages (``maps`` in a ``/settings/pipelines`` answer).

    Built from ``/settings/layouts`` it also lists ``sub_pipelines``: the layout's
    ``Sub_Pipeline`` picklist values, each with the stages Zoho maps to it (when it does).
    """

    id: Id | None = None
    display_value: str | None = None
    default: bool | None = None
    maps: list[Stage] = Field(default_factory=list)
    sub_pipelines: list[Pipeline] | None = None

    @property
    def name(self) -> str | None:
        """The pipeline's name (``display_value`` on the wire)."""
        return self.display_value

    @property
    def stages(self) -> list[Stage]:
        """The stages in sequence order."""
        return sorted(
            self.maps, key=lambda stage: (stage.sequence_number is None, stage.sequence_number or 0)
        )


def _stage_from(value: Mapping[str, Any] | PicklistValue) -> Stage:
    data = value.model_dump() if isinstance(value, PicklistValue) else dict(value)
    return Stage.model_validate(data)


def _sub_pipeline(value: PicklistValue, stages: list[Stage]) -> Pipeline:
    # A map entry may be a full stage or only point at one of the layout's Stage values.
    known_stages: dict[Any, Stage] = {}
    for stage in stages:
        known_stages.setdefault(stage.actual_value or stage.display_value, stage)
        if stage.id is not None:
            known_stages[stage.id] = stage
    mapped: list[Stage] = []
    for item in value.maps or []:
        known = known_stages.get(item.get("id")) or known_stages.get(
            item.get("actual_value") or item.get("display_value")
        )
        stage = known.model_copy() if known is not None else _stage_from(item)
        if item.get("sequence_number") is not None:
            stage.sequence_number = int(item["sequence_number"])
        mapped.append(stage)
    return Pipeline(id=value.id, display_value=value.display_value or value.actual_value, maps=mapped)


def pipeline_from_layout(layout: Layout) -> Pipeline:
    """A team pipeline from one Pipelines layout: its Stage and Sub_Pipeline picklists."""
    fields = {field.api_name: field for field in layout.all_fields()}
    stage_field = fields.get("Stage")
    stages = [_stage_from(value) for value in (stage_field.pick_list_values or [] if stage_field else [])]
    sub_field = fields.get("Sub_Pipeline")
    subs = [_sub_pipeline(value, stages) for value in (sub_field.pick_list_values or [] if sub_field else [])]
    return Pipeline(
        id=layout.id,
        display_value=layout.display_label or layout.name,
        default=layout.get("default"),
        maps=stages,
        sub_pipelines=subs,
    )


def pipelines_from_layouts(body: Mapping[str, Any]) -> list[Pipeline]:
    """Team pipelines from a decoded ``/settings/layouts?module=Pipelines`` body."""
    return [pipeline_from_layout(Layout.model_validate(layout)) for layout in body.get("layouts") or []]


def parse_pipelines(body: Mapping[str, Any]) -> list[Pipeline]:
    """Pipelines from either shape: ``/settings/pipelines``' ``{"pipelines"}`` or Zoho's ``{"layouts"}``."""
    if "pipelines" in body:
        return [Pipeline.model_validate(item) for item in body.get("pipelines") or []]
    return pipelines_from_layouts(body)


class CustomView(BiginModel):
    """One entry of ``/settings/custom_views?module=``: a saved list view; its ``id`` is the ``cvid``.

    ``list(cvid=view.id)`` reads the records the view shows (3 credits a page instead of 1).
    Keys as Zoho CRM v2 documents them (unconfirmed on Bigin): ``category`` is one of
    ``created_by_me``, ``shared_with_me``, ``public_views``, ``other_users_views``; ``fields``
    and ``criteria`` change shape between API versions, so they are kept as sent.
    """

    id: Id
    name: str | None = None
    display_value: str | None = None
    system_name: str | None = None
    system_defined: bool | None = None
    default: bool | None = None
    category: str | None = None
    favorite: int | None = None
    locked: bool | None = None
    offline: bool | None = None
    access_type: str | None = None
    sort_by: Any = None
    sort_order: str | None = None
    fields: list[Any] | None = None
    criteria: Any = None
    created_by: UserLookup = None
    modified_by: UserLookup = None
    created_time: datetime | None = None
    modified_time: datetime | None = None
    last_accessed_time: datetime | None = None


class RelatedList(BiginModel):
    """One entry of ``/settings/related_lists?module=``: a related list of the module's records.

    ``api_name`` is what ``related()``, ``link()`` and ``unlink()`` take as ``related_list``;
    ``module`` is the module its records are in (``{"api_name", "id"}``, null for lists that are
    not records of a module). ``sequence_number`` is a string on the wire (``"1"``).
    """

    id: Id | None = None
    api_name: str | None = None
    name: str | None = None
    display_label: str | None = None
    sequence_number: Id | None = None
    module: dict[str, Any] | None = None
    type: str | None = None
    href: str | None = None
    action: Any = None
    connectedmodule: Any = None
    linkingmodule: Any = None
    visible: bool | None = None

    @property
    def module_api_name(self) -> str | None:
        """The API name of the module the list's records are in (``Products``), if it names one."""
        name = (self.module or {}).get("api_name")
        return name if isinstance(name, str) else None
