"""Bodies of ``settings/modules``, ``settings/fields`` and ``settings/layouts``, in Zoho's shapes.

Module and field entries carry every key the recordings show (``list_modules.json``,
``settings_fields_contacts.json``), so a client's models see the same key sets offline as online.
Pipelines layouts are rendered from the team pipelines (one layout per pipeline, its stages as the
``Stage`` picklist) so they always agree with ``/settings/pipelines``.
"""

from __future__ import annotations

from typing import Any

from bigin_emulator.state.ids import static_id
from bigin_emulator.state.metadata import MODULES, FieldSpec, ModuleSpec
from bigin_emulator.state.org_data import USERS
from bigin_emulator.state.pipelines import TeamPipeline

__all__ = ["field_body", "layout_bodies", "module_bodies"]

_PROFILES = [{"name": "Administrator", "id": static_id(30)}, {"name": "Standard", "id": static_id(31)}]
_UI_TYPES = {
    "ownerlookup": 8,
    "text": 1,
    "lookup": 133,
    "email": 25,
    "phone": 33,
    "datetime": 200,
    "textarea": 3,
    "boolean": 301,
    "profileimage": 66,
    "picklist": 2,
    "bigint": 52,
    "date": 24,
    "currency": 36,
    "integer": 32,
    "double": 38,
    "website": 21,
    "tag": 209,
    "multiselectpicklist": 100,
    "jsonarray": 100,
}

# Modules the org lists that are not record modules of the emulator (shapes from list_modules.json).
_OTHER_MODULES: list[dict[str, Any]] = [
    {
        "api_name": "Social",
        "module_name": "Social",
        "number": 90,
        "singular": "Social",
        "plural": "Social",
        "sequence_number": 24,
        "api_supported": False,
        "creatable": False,
        "generated_type": "default",
    },
    {
        "api_name": "Associated_Products",
        "module_name": "LinkingModule1",
        "number": 91,
        "singular": "Associated Products",
        "plural": "Associated Products",
        "sequence_number": 25,
        "api_supported": True,
        "creatable": True,
        "generated_type": "subform",
        "parent_module": {"api_name": "Pipelines", "id": MODULES["Pipelines"].module_id},
    },
    {
        "api_name": "Attachments",
        "module_name": "Attachments",
        "number": 92,
        "singular": "Attachment",
        "plural": "Attachments",
        "sequence_number": 33,
        "api_supported": True,
        "creatable": True,
        "generated_type": "default",
    },
]


def _module_body(
    api_name: str,
    module_id: str,
    singular: str,
    plural: str,
    sequence_number: int,
    modified_time: str,
    **extra: Any,
) -> dict[str, Any]:
    admin = USERS[0].short_lookup()
    api_supported = extra.get("api_supported", True)
    return {
        "has_more_profiles": False,
        "access_type": "org_based",
        "private_profile": None,
        "global_search_supported": True,
        "deletable": True,
        "description": None,
        "creatable": extra.get("creatable", True),
        "email_parser_supported": True,
        "inventory_template_supported": False,
        "modified_time": modified_time if api_supported else None,
        "plural_label": plural,
        "presence_sub_menu": True,
        "actual_plural_label": plural,
        "triggers_supported": True,
        "id": module_id,
        "isBlueprintSupported": True,
        "visible": True,
        "visibility": 1,
        "convertable": False,
        "editable": True,
        "emailTemplate_support": True,
        "actual_singular_label": singular,
        "profiles": list(_PROFILES),
        "filter_supported": True,
        "show_as_tab": True,
        "web_link": None,
        "sequence_number": sequence_number,
        "singular_label": singular,
        "viewable": True,
        "api_supported": api_supported,
        "api_name": api_name,
        "quick_create": True,
        "modified_by": admin if api_supported else None,
        "generated_type": extra.get("generated_type", "default"),
        "feeds_required": True,
        "scoring_supported": True,
        "webform_supported": api_name in ("Contacts",),
        "public_fields_configured": False,
        "arguments": [],
        "module_name": extra.get("module_name", api_name),
        "profile_count": 2,
        "business_card_field_limit": 5,
        "parent_module": extra.get("parent_module", {}),
    }


def module_bodies(modified_time: str) -> list[dict[str, Any]]:
    """Every module of the org in ``sequence_number`` order, as ``GET /settings/modules`` lists them."""
    bodies = [
        _module_body(s.api_name, s.module_id, s.singular, s.plural, s.sequence_number, modified_time)
        for s in MODULES.values()
    ]
    for other in _OTHER_MODULES:
        extra = {
            k: v
            for k, v in other.items()
            if k not in ("api_name", "number", "singular", "plural", "sequence_number")
        }
        bodies.append(
            _module_body(
                other["api_name"],
                static_id(1000 + other["number"]),
                other["singular"],
                other["plural"],
                other["sequence_number"],
                modified_time,
                **extra,
            )
        )
    bodies.sort(key=lambda b: (b["sequence_number"], b["id"]))
    return bodies


def _picklist_values(values: list[str], ids: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "display_value": value,
            "sequence_number": position,
            "reference_value": value,
            "colour_code": None,
            "actual_value": value,
            "id": value_id,
            "type": "used",
        }
        for position, (value, value_id) in enumerate(zip(values, ids, strict=True), start=1)
    ]


def field_body(
    spec: ModuleSpec, field: FieldSpec, pipelines: list[TeamPipeline], *, custom_index: int | None = None
) -> dict[str, Any]:
    """One ``settings/fields`` entry with the recorded key set.

    ``custom_index`` numbers a field the org added (the table's ``custom_fields``, in order): it
    has an id past the module's own and says ``custom_field: true``.
    """
    if custom_index is None:
        field_id = spec.field_id(field.api_name)
    else:
        field_id = static_id(100_000 + spec.number * 1000 + len(spec.field_names) + custom_index)
    system = field.read_only
    permission = "read_only" if system else "read_write"
    lookup: dict[str, Any] = {}
    if field.lookup_module in MODULES:
        target = MODULES[str(field.lookup_module)]
        lookup = {
            "display_label": spec.plural,
            "api_name": spec.api_name,
            "module": {"api_name": target.api_name, "crypt": False, "id": target.module_id},
            "id": static_id(500_000 + int(field_id[-6:])),
        }
    values = list(field.picklist)
    if spec.api_name == "Pipelines" and field.api_name == "Stage":
        seen = dict.fromkeys(s.display_value for p in pipelines for s in p.stages)
        values = list(seen)
    elif spec.api_name == "Pipelines" and field.api_name == "Sub_Pipeline":
        values = [p.sub_pipeline for p in pipelines]
    value_ids = [static_id(600_000 + (int(field_id[-6:]) * 50 + i) % 300_000) for i in range(len(values))]
    body: dict[str, Any] = {
        "webhook": True,
        "colour_code_enabled_by_system": False,
        "field_label": field.label,
        "tooltip": None,
        "display_format_properties": None,
        "type": "used",
        "field_read_only": system,
        "display_label": field.label,
        "read_only": system,
        "association_details": None,
        "businesscard_supported": False,
        "multi_module_lookup": {},
        "id": field_id,
        "created_time": None,
        "filterable": True,
        "visible": True,
        "profiles": [{"permission_type": permission, **p} for p in _PROFILES],
        "view_type": {
            "view": True,
            "edit": not system,
            "quick_create": field.mandatory,
            "create": not system,
        },
        "subform": None,
        "separator": False,
        "searchable": True,
        "external": None,
        "api_name": field.api_name,
        "parent_field": None,
        "unique": {"casesensitive": "0"} if field.unique else {},
        "enable_colour_code": False,
        "child_fields": None,
        "pick_list_values": _picklist_values(values, value_ids),
        "system_mandatory": field.mandatory,
        "virtual_field": False,
        "json_type": field.json_type,
        "crypt": None,
        "range": None,
        "created_source": "default",
        "display_type": -1,
        "ui_type": _UI_TYPES.get(field.data_type, 1),
        "modified_time": None,
        "email_parser": {"fields_update_supported": False, "record_operations_supported": not system},
        "currency": {},
        "custom_field": custom_index is not None,
        "lookup": lookup,
        "address": None,
        "length": field.length,
        "display_field": field.api_name == spec.display_field,
        "pick_list_values_sorted_lexically": False,
        "sortable": True,
        "global_picklist": None,
        "display_format": None,
        "history_tracking": None,
        "data_type": "text" if field.data_type == "tag" else field.data_type,
        "formula": {},
        "decimal_place": 2 if field.data_type == "currency" else None,
        "mass_update": False,
        "multiselectlookup": {},
        "auto_number": {},
    }
    if field.api_name in spec.quick_create_fields:
        body["quick_sequence_number"] = str(spec.quick_create_fields.index(field.api_name) + 1)
    if field.data_type == "textarea":
        body["textarea"] = {"type": "large"}
    if field.data_type == "picklist":
        body["blueprint_supported"] = False
    return body


def _layout_body(
    layout_id: str, name: str, fields: list[dict[str, Any]], created_time: str
) -> dict[str, Any]:
    admin = USERS[0].short_lookup()
    return {
        "id": layout_id,
        "name": name,
        "display_label": name,
        "status": "active",
        "visible": True,
        "created_time": created_time,
        "modified_time": created_time,
        "created_by": admin,
        "modified_by": admin,
        "profiles": [{"default": True, **p} for p in _PROFILES],
        "sections": [
            {
                "display_label": f"{name} Information",
                "sequence_number": 1,
                "api_name": f"{name} Information",
                "column_count": 2,
                "tab_traversal": 1,
                "fields": fields,
            }
        ],
    }


def layout_bodies(spec: ModuleSpec, pipelines: list[TeamPipeline], created_time: str) -> list[dict[str, Any]]:
    """A module's layouts: "Standard", or for Pipelines one layout per team pipeline."""
    usable = [f for f in spec.fields if not f.api_name.startswith("$")]
    if spec.api_name != "Pipelines":
        fields = [field_body(spec, f, pipelines) for f in usable]
        return [_layout_body(spec.layout_id, "Standard", fields, created_time)]
    layouts = []
    for pipeline in pipelines:
        fields = []
        for field in usable:
            body = field_body(spec, field, [pipeline])
            if field.api_name == "Stage":
                body["pick_list_values"] = [s.as_pick_list_value() for s in pipeline.stages]
            elif field.api_name == "Sub_Pipeline":
                body["pick_list_values"] = [
                    {
                        "display_value": pipeline.sub_pipeline,
                        "actual_value": pipeline.sub_pipeline,
                        "sequence_number": 1,
                        "id": pipeline.sub_pipeline_id,
                    }
                ]
            fields.append(body)
        layouts.append(_layout_body(pipeline.id, pipeline.display_value, fields, created_time))
    return layouts
