"""Which records a related list holds: ``/{Module}/{id}/{Related}``.

Two kinds: lists that follow a lookup back to its record (a company's contacts, a record's notes,
its tasks/events/calls) and link lists kept in ``LinkTable`` (a contact's products, a deal's extra
contacts). Both are answered through the store's equality indexes, never by scanning a module.
"""

from __future__ import annotations

from bigin_emulator.state.links import LINKABLE
from bigin_emulator.state.store import Store

__all__ = ["RELATED_LISTS", "is_linkable", "related_ids"]

_ACTIVITY_PARENTS = ("Contacts", "Accounts", "Pipelines", "Products")
_NOTE_PARENTS = ("Contacts", "Accounts", "Pipelines", "Products", "Tasks", "Events", "Calls")

# (parent module, related list) -> lookups on the related module that point at the parent
_BACK_LOOKUPS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Accounts", "Contacts"): ("Account_Name",),
    ("Accounts", "Pipelines"): ("Account_Name",),
    ("Contacts", "Pipelines"): ("Contact_Name",),
    **{(parent, "Notes"): ("Parent_Id",) for parent in _NOTE_PARENTS},
    **{
        (parent, activity): ("What_Id",)
        for parent in _ACTIVITY_PARENTS
        for activity in ("Tasks", "Events", "Calls")
    },
}
_BACK_LOOKUPS[("Contacts", "Tasks")] = ("What_Id", "Contact_Name")
_BACK_LOOKUPS[("Contacts", "Events")] = ("What_Id", "Contact_Name")
_BACK_LOOKUPS[("Contacts", "Calls")] = ("What_Id", "Contact_Name")


def _related_lists() -> dict[str, tuple[str, ...]]:
    """Every related list name per parent module (for ``settings/related_lists`` and 400s)."""
    pairs = list(_BACK_LOOKUPS)
    for pair in LINKABLE:
        first, second = sorted(pair)
        pairs += [(first, second), (second, first)]
    result: dict[str, list[str]] = {}
    for parent, related in pairs:
        names = result.setdefault(parent, [])
        if related not in names:
            names.append(related)
    return {parent: tuple(names) for parent, names in result.items()}


RELATED_LISTS = _related_lists()


def is_linkable(module: str, related: str) -> bool:
    return frozenset({module, related}) in LINKABLE


def related_ids(store: Store, module: str, record_id: str, related: str) -> list[str]:
    """Ids of the ``related`` records of one record, oldest first."""
    found: dict[str, None] = {}
    table = store.table(related)
    for lookup in _BACK_LOOKUPS.get((module, related), ()):
        for rid in table.find_equal(lookup, record_id):
            found[rid] = None
    if is_linkable(module, related):
        for rid in store.links.linked(record_id, related):
            if table.get(rid) is not None:
                found[rid] = None
    if (module, related) == ("Pipelines", "Contacts"):
        deal = store.table("Pipelines").get(record_id)
        contact = deal.get("Contact_Name") if deal else None
        if isinstance(contact, dict) and isinstance(contact.get("id"), str) and table.get(contact["id"]):
            found[contact["id"]] = None
    return sorted(found)
