"""Insert, update, upsert and delete: one result entry per input record, in input order.

Each record is prepared, checked and committed on its own, so one bad record fails alone (Zoho's
partial success) and a later record in the same batch sees an earlier one (a duplicate within a
batch is a DUPLICATE_DATA, an upsert of the same key twice updates the first). Result entries copy
the recorded shapes: insert details carry ``$approval_state`` (``create_account_201.json``), update
by id and upsert carry created/modified stamps (``update_account.json``, ``upsert_*_updated.json``),
a bulk ``PUT`` only ``Modified_Time`` and ``id`` (``maton_update_contacts_bulk.json``), delete only
``id`` (``delete_account.json``).

Deleting follows Zoho: deleting a company deletes its contacts, deleting any record deletes its
notes, other lookups pointing at a deleted record are emptied; deleting a deleted id is an error.
Every deleted record, cascaded ones too, goes to the org's recycle bin (``/{Module}/deleted``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from bigin_emulator.ops.record_input import Prepared, RecordPreparer, RecordRejected
from bigin_emulator.ops.wire import record_error
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import ANY_MODULE, MODULES, ModuleSpec, display_value
from bigin_emulator.state.org_data import current_user
from bigin_emulator.state.store import Record

__all__ = ["RecordWriter", "WriteStyle"]

WriteStyle = Literal["by_id", "bulk"]

_DEFAULTS: dict[str, dict[str, Any]] = {
    "Contacts": {"Email_Opt_Out": False, "Record_Creation_Source_ID__s": "0"},
    "Accounts": {"Account_Number": "0"},
    "Products": {
        "Product_Active": True,
        "Taxable": False,
        "Tax": [],
        "Qty_in_Stock": 0,
        "Qty_in_Demand": 0,
        "Qty_Ordered": 0,
        "Reorder_Level": 0,
    },
}

_NO_DEFAULTS: dict[str, Any] = {}

# (module, lookup field) pairs whose looked-up record's deletion deletes the record too.
_CASCADES = frozenset({("Contacts", "Account_Name"), ("Notes", "Parent_Id")})


class RecordWriter:
    """Applies write requests to one org's store."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.preparer = RecordPreparer(ctx)

    # -- insert -------------------------------------------------------------------------------

    def insert(self, spec: ModuleSpec, items: list[Any]) -> list[dict[str, Any]]:
        return [self._guarded(self._insert_one, spec, raw) for raw in items]

    def _insert_one(self, spec: ModuleSpec, raw: Any) -> dict[str, Any]:
        prepared = self.preparer.prepare(spec, raw, None)
        self._check_unique(spec, prepared.changes, None)
        record = self._create(spec, prepared)
        details = self._stamps(record)
        details["$approval_state"] = "approved"
        return {"code": "SUCCESS", "details": details, "message": "record added", "status": "success"}

    # -- update -------------------------------------------------------------------------------

    def update(
        self, spec: ModuleSpec, items: list[Any], style: WriteStyle, path_id: str | None = None
    ) -> list[dict[str, Any]]:
        entries = []
        for raw in items:
            record_id = path_id if path_id is not None else (raw.get("id") if isinstance(raw, dict) else None)
            entries.append(self._guarded(self._update_one, spec, raw, record_id, style))
        return entries

    def _update_one(self, spec: ModuleSpec, raw: Any, record_id: Any, style: WriteStyle) -> dict[str, Any]:
        if record_id is None:
            raise RecordRejected("MANDATORY_NOT_FOUND", {"api_name": "id"})
        record = self.ctx.store.table(spec.api_name).get(str(record_id))
        if record is None:
            raise RecordRejected(
                "INVALID_DATA", {"api_name": "id", "id": str(record_id)}, "the id given seems to be invalid"
            )
        updated = self._modify(spec, record, self.preparer.prepare(spec, raw, record))
        details: dict[str, Any]
        if style == "bulk":
            details = {"Modified_Time": updated["Modified_Time"], "id": updated["id"]}
        else:
            details = self._stamps(updated)
        return {"code": "SUCCESS", "details": details, "message": "record updated", "status": "success"}

    # -- upsert -------------------------------------------------------------------------------

    def upsert(
        self, spec: ModuleSpec, items: list[Any], duplicate_check_fields: list[str]
    ) -> list[dict[str, Any]]:
        names = duplicate_check_fields or list(spec.unique_fields)
        # Each check field with the alias keys that may carry its value, worked out once per call.
        check_fields = [(name, [a for a, c in spec.aliases.items() if c == name]) for name in names]
        return [self._guarded(self._upsert_one, spec, raw, check_fields) for raw in items]

    def _upsert_one(
        self, spec: ModuleSpec, raw: Any, check_fields: list[tuple[str, list[str]]]
    ) -> dict[str, Any]:
        table = self.ctx.store.table(spec.api_name)
        if isinstance(raw, dict):
            for name, aliases in check_fields:
                value = raw.get(name)
                if value is None:
                    value = next((raw[alias] for alias in aliases if alias in raw), None)
                match = table.first_equal(name, value) if value is not None else None
                if match is not None:
                    record = table.records[match]
                    updated = self._modify(spec, record, self.preparer.prepare(spec, raw, record))
                    return self._upsert_entry("update", name, updated, "record updated")
        prepared = self.preparer.prepare(spec, raw, None)
        self._check_unique(spec, prepared.changes, None)
        record = self._create(spec, prepared)
        return self._upsert_entry("insert", None, record, "record added")

    def _upsert_entry(self, action: str, field: str | None, record: Record, message: str) -> dict[str, Any]:
        return {
            "code": "SUCCESS",
            "duplicate_field": field,
            "action": action,
            "details": self._stamps(record),
            "message": message,
            "status": "success",
        }

    # -- delete -------------------------------------------------------------------------------

    def delete(self, spec: ModuleSpec, ids: list[str]) -> list[dict[str, Any]]:
        entries = []
        table = self.ctx.store.table(spec.api_name)
        for record_id in ids:
            if table.get(record_id) is None:
                entries.append(
                    record_error("INVALID_DATA", {"id": record_id}, "the id given seems to be invalid")
                )
                continue
            self.remove(spec.api_name, record_id)
            entries.append(
                {
                    "code": "SUCCESS",
                    "details": {"id": record_id},
                    "message": "record deleted",
                    "status": "success",
                }
            )
        return entries

    def remove(self, module: str, record_id: str) -> None:
        """Delete a record, then cascade to or clear what pointed at it."""
        store = self.ctx.store
        if store.tables[module].get(record_id) is None:
            return
        record = store.remove(module, record_id)
        self.ctx.uploads.forget_record(module, record_id)  # its attachments and photo go with it
        self.ctx.recycle_bin.add(
            module,
            record_id,
            display_value(MODULES[module], record),
            current_user().short_lookup(),
            _short_user(record.get("Created_By")),
        )
        for other in MODULES.values():
            for lookup in other.lookup_fields:
                if lookup.lookup_module not in (module, ANY_MODULE):
                    continue
                table = store.table(other.api_name)
                for pointing_id in table.find_equal(lookup.api_name, record_id):
                    if (other.api_name, lookup.api_name) in _CASCADES:
                        self.remove(other.api_name, pointing_id)
                    else:
                        cleared = {**table.records[pointing_id], lookup.api_name: None}
                        if lookup.lookup_module == ANY_MODULE:
                            cleared["$se_module"] = None
                        table.replace(pointing_id, cleared)

    # -- shared -------------------------------------------------------------------------------

    @staticmethod
    def _guarded(write: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        """Run one record's write; a refusal becomes that record's error entry."""
        try:
            return write(*args)
        except RecordRejected as rejected:
            return rejected.entry

    def _check_unique(self, spec: ModuleSpec, values: Record, own_id: str | None) -> None:
        table = self.ctx.store.table(spec.api_name)
        for name in spec.unique_fields:
            if name not in values or values[name] is None:
                continue
            clash = table.first_equal(name, values[name], other_than=own_id)
            if clash is not None:
                raise RecordRejected("DUPLICATE_DATA", {"api_name": name, "id": clash}, "duplicate data")

    def _create(self, spec: ModuleSpec, prepared: Prepared) -> Record:
        store = self.ctx.store
        changes = prepared.changes
        if prepared.new_company is not None:
            changes["Account_Name"] = self._new_company(prepared.new_company)
        now = self.ctx.now_iso()
        user = current_user().lookup()
        record: Record = {"id": store.ids.next()}
        fields = spec.by_name
        if "Tag" in fields:
            record["Tag"] = []
        for name, default in _DEFAULTS.get(spec.api_name, _NO_DEFAULTS).items():
            record[name] = list(default) if isinstance(default, list) else default
        record["Owner"] = user
        record.update(changes)
        record["Created_By"] = record["Modified_By"] = user
        record["Created_Time"] = record["Modified_Time"] = now
        if "Last_Activity_Time" in fields:
            record["Last_Activity_Time"] = now
        store.add(spec.api_name, record)
        return record

    def _new_company(self, name: str) -> dict[str, Any]:
        accounts = MODULES["Accounts"]
        company = self._create(accounts, Prepared({"Account_Name": name}))
        return {"name": name, "id": company["id"]}

    def _modify(self, spec: ModuleSpec, record: Record, prepared: Prepared) -> Record:
        self._check_unique(spec, prepared.changes, record["id"])
        if prepared.new_company is not None:
            prepared.changes["Account_Name"] = self._new_company(prepared.new_company)
        updated = {**record, **prepared.changes}
        updated["Modified_By"] = current_user().lookup()
        updated["Modified_Time"] = self.ctx.now_iso()
        if spec.field("Last_Activity_Time") is not None:
            updated["Last_Activity_Time"] = updated["Modified_Time"]
        self.ctx.store.table(spec.api_name).replace(record["id"], updated)
        return updated

    @staticmethod
    def _stamps(record: Record) -> dict[str, Any]:
        """Created/modified stamps as write results show them: users as ``{name, id}``."""
        return {
            "Modified_Time": record["Modified_Time"],
            "Modified_By": _short_user(record["Modified_By"]),
            "Created_Time": record["Created_Time"],
            "id": record["id"],
            "Created_By": _short_user(record["Created_By"]),
        }


def _short_user(user: Any) -> Any:
    """A stored user as write results show it: ``{name, id}``."""
    return {"name": user.get("name"), "id": user.get("id")} if isinstance(user, dict) else user
