"""Save and restore an emulated org as plain JSON: records, deleted ids, links, tags, pipelines, tokens.

The recycle bin (and the permanently deleted) and the org's users are kept too; a state saved
before they were has none of them, and imports as an empty bin and the org's first users.

Used to keep an emulator's data between runs (the CLI) and to start tests from a known org. The
export is JSON-serialisable as is; an import replaces everything the export covers.
"""

from __future__ import annotations

from typing import Any

from bigin_emulator.state.context import EmulatorContext

__all__ = ["STATE_VERSION", "export_state", "import_state"]

STATE_VERSION = 1


def export_state(ctx: EmulatorContext) -> dict[str, Any]:
    store = ctx.store
    return {
        "version": STATE_VERSION,
        "last_id": store.ids.last,
        "records": {name: list(table.records.values()) for name, table in store.tables.items()},
        "deleted": {name: sorted(table.deleted) for name, table in store.tables.items()},
        "links": store.links.export(),
        "tags": ctx.tags.export(),
        "recycle_bin": ctx.recycle_bin.export(),
        "users": ctx.users.export(),
        "pipelines": ctx.pipelines.export(),
        "oauth": ctx.oauth.export(),
    }


def import_state(ctx: EmulatorContext, state: dict[str, Any]) -> None:
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"unsupported emulator state version {state.get('version')!r}")
    store = ctx.store  # cleared in place: routes hold on to this object
    store.clear()
    store.ids.last = int(state["last_id"])
    for module, records in state["records"].items():
        # Ids only grow, so sorting restores insertion order = id order, which the store relies on.
        for record in sorted(records, key=lambda r: r["id"]):
            store.add(module, dict(record))
            store.ids.observe(record["id"])
    for module, deleted in state.get("deleted", {}).items():
        store.tables[module].deleted.update(deleted)
    for id_a, module_b, id_b in state.get("links", []):
        module_a = store.module_of.get(id_a)
        if module_a is not None and id_b in store.module_of:
            store.links.link(module_a, id_a, module_b, id_b)
    ctx.pipelines.restore(state["pipelines"])
    ctx.tags.restore(state.get("tags", {}))
    ctx.recycle_bin.restore(state.get("recycle_bin", {}))
    ctx.users.restore(state.get("users", {}))
    ctx.oauth.restore(state["oauth"])
