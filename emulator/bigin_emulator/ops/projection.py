"""What a read returns of a stored record: the requested ``fields`` or the full record.

Zoho's reading rules (recordings item 10): only requested fields come back, plus ``id``; requested
fields that are unset come back as ``null``; requested fields that do not exist are dropped
silently; ``$``-prefixed system fields can be requested. A full record (no ``fields``, as search
returns it) carries every used field, the module's extra null keys and the system keys.

Values computed on read rather than stored: lookup names (a renamed company shows its new name on
its contacts), the field aliases accepted on write (``Related_To``, ``Company_Name``, ``Pipeline``,
``Expected_Close_Date``) and the constant system keys.
"""

from __future__ import annotations

from typing import Any

from bigin_emulator.ops.wire import ApiError
from bigin_emulator.state.metadata import ANY_MODULE, LAYOUT_LOOKUP, ModuleSpec, display_value
from bigin_emulator.state.store import Record, Store

__all__ = ["MAX_FIELDS", "Projector", "parse_fields"]

MAX_FIELDS = 50

_APPROVAL = {"delegate": False, "takeover": False, "approve": False, "reject": False, "resubmit": False}
_REVIEW = {"approve": False, "reject": False, "resubmit": False}

SYSTEM_VALUES: dict[str, Any] = {
    "$currency_symbol": "$",
    "$field_states": None,
    "$sharing_permission": "full_access",
    "$state": "save",
    "$process_flow": False,
    "$locked_for_me": False,
    "$approval": _APPROVAL,
    "$editable": True,
    "$zia_owner_assignment": "owner_recommendation_unavailable",
    "$is_duplicate": False,
    "$review_process": _REVIEW,
    "$review": None,
    "$zia_visions": None,
    "$orchestration": None,
    "$in_merge": False,
    "$approval_state": "approved",
    "$pathfinder": None,
}


# Non-"used" keys a full record shows with a value rather than null (search_accounts.json).
EXTRA_DEFAULTS: dict[str, Any] = {"Locked__s": False}


def parse_fields(raw: str | None, *, required: bool) -> list[str] | None:
    """The ``fields`` parameter as a list, or None when absent and optional."""
    if raw is None or not raw.strip():
        if required:
            raise ApiError(400, "REQUIRED_PARAM_MISSING", details={"param": "fields"})
        return None
    names = list(dict.fromkeys(name.strip() for name in raw.split(",") if name.strip()))
    if len(names) > MAX_FIELDS:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"at most {MAX_FIELDS} fields can be requested at a time",
            {"param": "fields", "limit": MAX_FIELDS},
        )
    return names


class Projector:
    """Renders records of one module for one request."""

    def __init__(self, spec: ModuleSpec, store: Store, requested: list[str] | None) -> None:
        self.spec = spec
        self.store = store
        self.full = requested is None
        custom = store.table(spec.api_name).custom_fields
        if requested is None:
            self.names = self._full_names(custom)
        else:
            self.names = [n for n in requested if n != "id" and self._exists(n, custom)]

    def _system_names(self) -> list[str]:
        names = [*SYSTEM_VALUES, "$layout_id"]
        if self.spec.api_name == "Products":
            names.append("$taxable")
        return names

    def _exists(self, name: str, custom: dict[str, None]) -> bool:
        spec = self.spec
        return name in spec.by_name or name in spec.aliases or name in custom or name in self._system_names()

    def _full_names(self, custom: dict[str, None]) -> list[str]:
        names = [f.api_name for f in self.spec.fields]
        names += [n for n in self.spec.extra_fields if n not in self.spec.by_name]
        names += self._system_names()
        names += [n for n in custom if n not in self.spec.aliases]
        return names

    def render(self, record: Record) -> dict[str, Any]:
        out = {name: self.value(record, name) for name in self.names}
        if self.full:
            for alias in self.spec.aliases:
                if alias in record:
                    out[alias] = self._alias(record, alias)
        out["id"] = record["id"]
        return out

    def value(self, record: Record, name: str) -> Any:
        if name in self.spec.aliases:
            return self._alias(record, name)
        if name in record:
            value = record[name]
            field = self.spec.by_name.get(name)
            if field is not None and field.lookup_module is not None and isinstance(value, dict):
                return self._fresh_lookup(value, field.lookup_module)
            return value
        if name in SYSTEM_VALUES:
            return SYSTEM_VALUES[name]
        if name == "$layout_id":
            return self._layout(record)
        if name == "$taxable":
            return record.get("Taxable")
        return EXTRA_DEFAULTS.get(name)

    def _fresh_lookup(self, value: dict[str, Any], target_module: str) -> dict[str, Any]:
        """A lookup with its target's current name (the stored one if the target is gone)."""
        target_id = value.get("id")
        if target_module == LAYOUT_LOOKUP or not isinstance(target_id, str):
            return value
        if target_module == ANY_MODULE:
            found = self.store.locate(target_id)
        else:
            table = self.store.table(target_module)
            target = table.get(target_id)
            found = (table, target) if target is not None else None
        if found is None:
            return value
        name = display_value(found[0].spec, found[1])
        return value if name == value.get("name") else {**value, "name": name}

    def _alias(self, record: Record, alias: str) -> Any:
        canonical = self.spec.aliases[alias]
        value = self.value(record, canonical)
        if alias == "Related_To" and isinstance(value, dict):
            return {**value, "module": record.get("$se_module")}
        return value

    def _layout(self, record: Record) -> dict[str, Any]:
        layout = record.get("Layout")
        if self.spec.api_name == "Pipelines" and isinstance(layout, dict):
            return {"display_label": layout.get("name"), "name": layout.get("name"), "id": layout.get("id")}
        return {"display_label": "Standard", "name": "Standard", "id": self.spec.layout_id}
