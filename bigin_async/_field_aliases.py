"""Field aliases accepted on write: ``Company_Name`` -> ``Account_Name``, and the like.

Records are often written with names Bigin does not use: ``Company_Name`` where Bigin's field is
``Account_Name``, ``Related_To: {module, id}`` where Bigin has ``What_Id`` + ``$se_module``,
``Pipeline``/``Expected_Close_Date`` on deals where Bigin has ``Layout``/``Closing_Date``. Live Bigin
drops unknown fields silently, so such a record would lose data without a word: the SDK accepts
these aliases on every write and sends the names Zoho documents. An alias is translated only when
the record does not also carry Bigin's own name, so an explicit name wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bigin_async.models.modules import MODULE_ALIASES

__all__ = ["RENAMES", "rename_fields", "to_bigin_names"]

# module -> {alias accepted on write: Bigin's name}
RENAMES: dict[str, dict[str, str]] = {
    "Contacts": {"Company_Name": "Account_Name", "Job_Title": "Title"},
    "Accounts": {"Company_Name": "Account_Name"},
    "Pipelines": {
        "Company_Name": "Account_Name",
        "Expected_Close_Date": "Closing_Date",
        "Pipeline": "Layout",
    },
    "Events": {"Location": "Venue"},
}

# Modules whose parent record may be written as {"module", "id"} (Related_To, Parent_Id).
_PARENT_FIELDS = {"Tasks": "Related_To", "Events": "Related_To", "Calls": "Related_To", "Notes": "Parent_Id"}
_MODULE_ALIASES = MODULE_ALIASES  # Companies -> Accounts, Deals -> Pipelines (the module table)


def _parent(module: str, wire: dict[str, Any]) -> None:
    """``Related_To``/``Parent_Id`` ``{"module", "id"}`` → a lookup plus ``$se_module``."""
    name = _PARENT_FIELDS.get(module)
    value = wire.get(name) if name else None
    if not isinstance(value, Mapping) or "module" not in value or "id" not in value:
        return
    parent_module = value["module"]
    if isinstance(parent_module, Mapping):
        parent_module = parent_module.get("api_name")
    if not isinstance(parent_module, str):
        return
    target = "What_Id" if name == "Related_To" else "Parent_Id"
    if target != name and target in wire:
        return
    del wire[name]  # type: ignore[arg-type]
    wire[target] = {"id": value["id"]}
    wire.setdefault("$se_module", _MODULE_ALIASES.get(parent_module, parent_module))


def _participants(wire: dict[str, Any]) -> None:
    """Events: ``Participants`` as ``[{"id"}]`` → Bigin's ``[{"type": "contact", "participant"}]``."""
    value = wire.get("Participants")
    if not isinstance(value, list):
        return
    converted = []
    for item in value:
        if isinstance(item, Mapping) and "participant" not in item and "id" in item:
            converted.append({"type": item.get("type", "contact"), "participant": item["id"]})
        else:
            converted.append(item)
    wire["Participants"] = converted


def rename_fields(renames: Mapping[str, str], wire: dict[str, Any]) -> None:
    """Rename ``wire``'s aliases (``renames``, one module's entry of :data:`RENAMES`) in place.

    The whole translation for a record of plain values (no lookup, no list): the bulk engine
    calls it alone for such records, with the module's entry looked up once per run.
    """
    for old, new in renames.items():
        if old in wire and new not in wire:
            wire[new] = wire.pop(old)


def to_bigin_names(module: str, wire: dict[str, Any]) -> dict[str, Any]:
    """Rename the field aliases of one write body to Bigin's names, in place (and return it)."""
    renames = RENAMES.get(module)
    if renames:
        rename_fields(renames, wire)
    if module in _PARENT_FIELDS:
        _parent(module, wire)
    if module == "Events":
        _participants(wire)
    return wire
