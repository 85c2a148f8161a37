"""The org's custom views: a few system views per module, what ``cvid`` on a list keeps.

Every module with a list view (all but Notes) has the system views Zoho ships: "All Contacts"
(the default, every record), "My Contacts" (records the current user owns) and "Recently Created
Contacts" (created in the last 7 days, on the org's clock). ``/settings/custom_views`` lists
them in Zoho's shape; ``GET /{Module}?cvid=`` keeps only the records its view's criteria match
(and costs 3 credits, counted by the server's middleware).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bigin_emulator.ops.comparisons import parse_iso_datetime
from bigin_emulator.state.ids import static_id
from bigin_emulator.state.metadata import MODULES, ModuleSpec
from bigin_emulator.state.org_data import current_user
from bigin_emulator.state.store import Record

__all__ = ["RECENT_DAYS", "CustomView", "find_view", "module_views", "view_body"]

RECENT_DAYS = 7
# (now in epoch seconds) -> does this record belong in the view?
RecordTest = Callable[[Record, float], bool]


@dataclass(frozen=True)
class CustomView:
    """One system view of one module: its id, names, criteria (Zoho's shape) and record test."""

    id: str
    module: str
    display_value: str
    system_name: str
    default: bool
    criteria: dict[str, Any] | None
    keeps: RecordTest


def _everything(record: Record, now: float) -> bool:
    return True


def _mine(record: Record, now: float) -> bool:
    owner = record.get("Owner")
    return isinstance(owner, dict) and owner.get("id") == current_user().id


def _recent(record: Record, now: float) -> bool:
    created = record.get("Created_Time")
    if not isinstance(created, str):
        return False
    try:
        moment = parse_iso_datetime(created)
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment >= datetime.fromtimestamp(now - RECENT_DAYS * 86_400, timezone.utc)


def _views(spec: ModuleSpec) -> tuple[CustomView, ...]:
    base = 800_000 + spec.number * 10
    plural, upper = spec.plural, spec.plural.upper().replace(" ", "")
    owner = {"api_name": "Owner", "id": spec.field_id("Owner")}
    created = {"api_name": "Created_Time", "id": spec.field_id("Created_Time")}
    return (
        CustomView(static_id(base), spec.api_name, f"All {plural}", "ALLVIEWS", True, None, _everything),
        CustomView(
            static_id(base + 1),
            spec.api_name,
            f"My {plural}",
            f"MY{upper}",
            False,
            {"comparator": "equal", "field": owner, "value": "${CURRENTUSER}"},
            _mine,
        ),
        CustomView(
            static_id(base + 2),
            spec.api_name,
            f"Recently Created {plural}",
            "RECENTLYCREATED",
            False,
            {"comparator": "greater_equal", "field": created, "value": f"${{LAST{RECENT_DAYS}DAYS}}"},
            _recent,
        ),
    )


_VIEWS: dict[str, tuple[CustomView, ...]] = {
    name: _views(spec) for name, spec in MODULES.items() if name != "Notes"
}


def module_views(module: str) -> tuple[CustomView, ...]:
    """The module's views, the default first (none for Notes)."""
    return _VIEWS.get(module, ())


def find_view(module: str, cvid: str) -> CustomView | None:
    """The module's view with this id; None when the id is not one of the module's views."""
    return next((v for v in module_views(module) if v.id == cvid), None)


def view_body(view: CustomView, created_time: str, *, detailed: bool = False) -> dict[str, Any]:
    """A view as ``/settings/custom_views`` lists it; ``detailed`` adds its criteria and sort."""
    admin = current_user().short_lookup()
    body: dict[str, Any] = {
        "display_value": view.display_value,
        "created_time": created_time,
        "offline": False,
        "default": view.default,
        "modified_time": None,
        "system_name": view.system_name,
        "system_defined": True,
        "name": view.display_value,
        "modified_by": None,
        "id": view.id,
        "category": "public_views",
        "last_accessed_time": None,
        "favorite": None,
        "created_by": admin,
    }
    if detailed:
        body |= {"criteria": view.criteria, "sort_by": None, "sort_order": None}
    return body
