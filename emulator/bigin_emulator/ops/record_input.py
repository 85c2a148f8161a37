"""Turn one written record (as a client sends it) into the changes the store applies, or refuse it.

This is where Zoho's write rules live: field aliases accepted on write (``Company_Name`` for
``Account_Name``, ``Related_To`` for ``What_Id``, ``Pipeline``/``Expected_Close_Date`` on deals),
lookups resolved to ``{"name", "id"}`` from the looked-up record (a missing id is INVALID_DATA),
an Owner that must be a user, tags created on first use, a deal's stage checked against its team
pipeline, file-upload fields filled from Files API ids, mandatory fields. Unknown fields are kept
verbatim. Refusals raise ``RecordRejected`` carrying the per-record error entry; nothing is written
until the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bigin_emulator.ops.validation import FieldError, coerce_value, plain_text_limit
from bigin_emulator.ops.wire import record_error
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import ANY_MODULE, LAYOUT_LOOKUP, FieldSpec, ModuleSpec, display_value
from bigin_emulator.state.pipelines import TeamPipeline
from bigin_emulator.state.store import Record
from bigin_emulator.state.tags import tag_names

__all__ = ["Prepared", "RecordPreparer", "RecordRejected"]

# What a multi-module lookup may point at.
_ACTIVITY_PARENTS = frozenset({"Contacts", "Accounts", "Pipelines", "Products"})
_NOTE_PARENTS = frozenset({"Contacts", "Accounts", "Pipelines", "Products", "Tasks", "Events", "Calls"})


class RecordRejected(Exception):
    """The record cannot be written; ``entry`` is its error entry in the write result."""

    def __init__(self, code: str, details: dict[str, Any], message: str | None = None) -> None:
        super().__init__(code)
        self.entry = record_error(code, details, message)


@dataclass
class Prepared:
    """Validated changes; ``new_company`` is a company to create for a plain-string Account_Name."""

    changes: Record = field(default_factory=dict)
    new_company: str | None = None


def _invalid(details: dict[str, Any], message: str | None = None) -> RecordRejected:
    return RecordRejected("INVALID_DATA", details, message)


def _lookup_id(value: Any) -> str | None:
    """The id inside a written lookup (``{"id": ...}``; ints tolerated), or None."""
    if isinstance(value, dict):
        raw = value.get("id")
        if isinstance(raw, int) and not isinstance(raw, bool):
            return str(raw)
        if isinstance(raw, str) and raw.strip():
            return raw.strip()
    return None


def _module_name(value: Any) -> str | None:
    """A module named as ``"Contacts"`` or ``{"api_name": "Contacts"}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("api_name"), str):
        return str(value["api_name"])
    return None


def _full_name(first: Any, last: Any) -> str:
    """A contact's Full_Name: its first and last names that are non-empty strings, space-joined."""
    first = first if isinstance(first, str) else ""
    last = last if isinstance(last, str) else ""
    return f"{first} {last}" if first and last else first or last


def _text_limits(spec: ModuleSpec) -> dict[str, int]:
    """Writable plain text fields of a module and their maximum lengths.

    A string no longer than that is stored exactly as sent (what ``coerce_value`` would return),
    so ``prepare`` takes it without the general per-field dispatch: most written values are such
    strings, and a bulk call writes thousands of them.
    """
    limits: dict[str, int] = {}
    for field_spec in spec.fields:
        if (
            field_spec.read_only
            or field_spec.lookup_module is not None
            or field_spec.api_name.startswith("$")
        ):
            continue
        limit = plain_text_limit(field_spec)
        if limit is not None:
            limits[field_spec.api_name] = limit
    return limits


class RecordPreparer:
    """Validates written records against one org's metadata and data."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self._text_limits: dict[str, tuple[ModuleSpec, dict[str, int]]] = {}

    def _text_limits_of(self, spec: ModuleSpec) -> dict[str, int]:
        """``_text_limits(spec)``, worked out once per module."""
        cached = self._text_limits.get(spec.api_name)
        if cached is None or cached[0] is not spec:
            cached = self._text_limits[spec.api_name] = (spec, _text_limits(spec))
        return cached[1]

    def prepare(self, spec: ModuleSpec, raw: Any, existing: Record | None) -> Prepared:
        if not isinstance(raw, dict):
            raise _invalid({"expected_data_type": "jsonobject"}, "each record must be a JSON object")
        prepared = Prepared()
        changes = prepared.changes
        canonical_input = self._apply_aliases(spec, raw, changes)
        text_limits = self._text_limits_of(spec)
        for key, value in canonical_input.items():
            limit = text_limits.get(key)
            if limit is not None and type(value) is str and len(value) <= limit:
                changes[key] = value  # the common case, decided without the general path below
                continue
            if key == "id" or (key.startswith("$") and key != "$se_module"):
                continue
            field_spec = spec.by_name.get(key)
            if field_spec is None:
                changes[key] = value  # custom or unknown field: kept verbatim
            elif field_spec.read_only:
                continue
            elif field_spec.data_type == "fileupload":
                changes[key] = self._file_upload(key, value, existing)
            else:
                self._set_field(spec, field_spec, value, canonical_input, prepared)
        merged = {**existing, **changes} if existing is not None else changes
        if spec.api_name == "Pipelines":
            self._place_deal(changes, merged, existing)
        if spec.api_name == "Contacts" and ("First_Name" in changes or "Last_Name" in changes):
            changes["Full_Name"] = _full_name(merged.get("First_Name"), merged.get("Last_Name"))
        for name in spec.mandatory_fields:
            value = merged.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise RecordRejected("MANDATORY_NOT_FOUND", {"api_name": name})
        return prepared

    # -- aliases ------------------------------------------------------------------------------

    def _apply_aliases(self, spec: ModuleSpec, raw: dict[str, Any], changes: Record) -> dict[str, Any]:
        """Map alias keys to their canonical field; the alias key is remembered (value computed on read)."""
        if not spec.aliases or raw.keys().isdisjoint(spec.aliases):
            return raw
        result = dict(raw)
        for alias, canonical in spec.aliases.items():
            if alias in raw:
                value = result.pop(alias)
                changes[alias] = None
                if canonical not in raw:
                    result[canonical] = value
                if alias == "Related_To" and isinstance(value, dict) and "$se_module" not in raw:
                    module = _module_name(value.get("module"))
                    if module is not None:
                        result["$se_module"] = module
        return result

    # -- one field ----------------------------------------------------------------------------

    def _set_field(
        self, spec: ModuleSpec, field_spec: FieldSpec, value: Any, raw: dict[str, Any], prepared: Prepared
    ) -> None:
        name = field_spec.api_name
        changes = prepared.changes
        try:
            if field_spec.data_type == "ownerlookup":
                changes[name] = self._owner(name, value)
            elif field_spec.data_type == "tag":
                changes[name] = self._tags(spec, value)
            elif field_spec.lookup_module == ANY_MODULE:
                self._multi_lookup(spec, name, value, raw, changes)
            elif field_spec.lookup_module == LAYOUT_LOOKUP:
                changes[name] = self._layout(name, value)
            elif field_spec.lookup_module is not None:
                self._lookup(field_spec, value, prepared)
            elif name == "$se_module":
                return  # set together with its lookup
            else:
                changes[name] = coerce_value(field_spec, value, self.ctx.config.utc_offset)
        except FieldError as error:
            raise _invalid(error.details) from None

    def _file_upload(self, name: str, value: Any, existing: Record | None) -> list[dict[str, Any]] | None:
        """A file-upload field: ``[{"file_id": <Files API id>}]`` adds files to those it holds,
        ``[{"attachment_id": <entry id>, "_delete": null}]`` removes one, null empties it.

        A file already in the field is not added twice (a write sent again changes nothing).
        Each entry reads back as ``{"file_Name", "file_Size", "File_Id__s", "attachment_Id", "id"}``.
        """
        if value is None:
            return None
        if not isinstance(value, list):
            raise _invalid({"api_name": name, "expected_data_type": "jsonarray"})
        held = [dict(entry) for entry in (existing or {}).get(name) or []]
        for item in value:
            if not isinstance(item, dict):
                raise _invalid({"api_name": name, "expected_data_type": "jsonobject"})
            if "_delete" in item:
                entry_id = item.get("attachment_id") or item.get("attachment_Id") or item.get("id")
                kept = [entry for entry in held if entry_id not in (entry["attachment_Id"], entry["id"])]
                if len(kept) == len(held):
                    raise _invalid({"api_name": name, "id": entry_id}, "the field holds no such file")
                held = kept
                continue
            file_id = item.get("file_id")
            body = self.ctx.uploads.files.get(file_id) if isinstance(file_id, str) else None
            if body is None:
                raise _invalid(
                    {"api_name": name, "id": file_id}, "the file_id is not a file of the Files API"
                )
            if any(entry["File_Id__s"] == file_id for entry in held):
                continue
            held.append(
                {
                    "file_Name": body.name,
                    "file_Size": str(body.size),
                    "File_Id__s": file_id,
                    "attachment_Id": self.ctx.store.ids.next(),
                    "id": self.ctx.store.ids.next(),
                }
            )
        return held

    def _owner(self, name: str, value: Any) -> dict[str, str]:
        user_id = _lookup_id(value)
        user = self.ctx.users.active(user_id)
        if user is None:
            raise FieldError(name, expected_data_type="ownerlookup")
        return user.lookup()

    def _tags(self, spec: ModuleSpec, value: Any) -> list[dict[str, Any]]:
        if value is None:
            return []
        names = tag_names(value)
        if names is None:
            raise FieldError("Tag", expected_data_type="jsonarray")
        seen: dict[str, dict[str, Any]] = {}
        for name in names:
            tag = self.ctx.tags.ensure(spec.api_name, name)
            seen.setdefault(tag.id, tag.on_record())
        return list(seen.values())

    def _lookup(self, field_spec: FieldSpec, value: Any, prepared: Prepared) -> None:
        name = field_spec.api_name
        target_module = str(field_spec.lookup_module)
        if value is None:
            prepared.changes[name] = None
            return
        if target_module == "Accounts" and _lookup_id(value) is None:
            company = value.get("name") if isinstance(value, dict) else value
            if isinstance(company, str):
                self._company_by_name(name, company, prepared)
                return
        target_id = _lookup_id(value)
        table = self.ctx.store.table(target_module)
        target = table.get(target_id) if target_id is not None else None
        if target is None:
            raise _invalid({"api_name": name, "id": target_id}, "the related id given seems to be invalid")
        prepared.changes[name] = {"name": display_value(table.spec, target), "id": target["id"]}

    def _company_by_name(self, name: str, company: str, prepared: Prepared) -> None:
        """A plain-string company makes Bigin use (or create) the company of that name."""
        if not company.strip():
            prepared.changes[name] = None
            return
        accounts = self.ctx.store.table("Accounts")
        found = accounts.find_equal("Account_Name", company)
        if found:
            prepared.changes[name] = {"name": accounts.records[found[0]]["Account_Name"], "id": found[0]}
        else:
            prepared.new_company = company.strip()
            prepared.changes[name] = {"name": company.strip(), "id": None}

    def _multi_lookup(
        self, spec: ModuleSpec, name: str, value: Any, raw: dict[str, Any], changes: Record
    ) -> None:
        """What_Id / Parent_Id: a lookup into one of several modules, named by ``$se_module``."""
        if value is None:
            changes[name] = None
            changes["$se_module"] = None
            return
        target_id = _lookup_id(value)
        found = self.ctx.store.locate(target_id) if target_id is not None else None
        allowed = _NOTE_PARENTS if spec.api_name == "Notes" else _ACTIVITY_PARENTS
        named = _module_name(raw.get("$se_module")) or _module_name(value.get("module"))
        if (
            found is None
            or found[0].spec.api_name not in allowed
            or (named is not None and named != found[0].spec.api_name)
        ):
            raise _invalid({"api_name": name, "id": target_id}, "the related id given seems to be invalid")
        table, target = found
        changes[name] = {"name": display_value(table.spec, target), "id": target["id"]}
        changes["$se_module"] = table.spec.api_name

    def _layout(self, name: str, value: Any) -> dict[str, str]:
        pipeline = self._pipeline_of(value)
        if pipeline is None:
            raise FieldError(name, expected_data_type="lookup")
        return {"name": pipeline.display_value, "id": pipeline.id}

    def _pipeline_of(self, value: Any) -> TeamPipeline | None:
        pipelines = self.ctx.pipelines
        pipeline_id = _lookup_id(value)
        if pipeline_id is not None:
            return pipelines.get(pipeline_id)
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            return pipelines.by_name(value["name"])
        if isinstance(value, str):
            return pipelines.get(value) or pipelines.by_name(value)
        return None

    # -- deals --------------------------------------------------------------------------------

    def _place_deal(self, changes: Record, merged: Record, existing: Record | None) -> None:
        """Put a deal in its team pipeline: Layout and Sub_Pipeline agree, Stage is one of its stages."""
        pipelines = self.ctx.pipelines
        pipeline: TeamPipeline | None = None
        if isinstance(changes.get("Layout"), dict):
            pipeline = pipelines.get(changes["Layout"]["id"])
        elif "Sub_Pipeline" in changes and changes["Sub_Pipeline"] is not None:
            pipeline = pipelines.by_name(str(changes["Sub_Pipeline"]))
            if pipeline is None:
                raise _invalid({"api_name": "Sub_Pipeline"}, "invalid sub-pipeline")
        elif existing is not None and isinstance(existing.get("Layout"), dict):
            pipeline = pipelines.get(existing["Layout"]["id"])
        if pipeline is None:
            pipeline = pipelines.default()
        sub = changes.get("Sub_Pipeline")
        if sub is not None and pipelines.by_name(str(sub)) is not pipeline:
            raise _invalid(
                {"api_name": "Sub_Pipeline"}, "the sub-pipeline does not belong to the team pipeline"
            )
        changes["Layout"] = {"name": pipeline.display_value, "id": pipeline.id}
        changes["Sub_Pipeline"] = pipeline.sub_pipeline
        stage_name = merged.get("Stage")
        if isinstance(stage_name, str) and stage_name.strip():
            stage = pipeline.stage(stage_name)
            if stage is None:
                raise _invalid(
                    {"api_name": "Stage"}, f"the stage is not a stage of pipeline {pipeline.display_value!r}"
                )
            if "Stage" in changes:
                changes["Stage"] = stage.display_value
                if "Probability" not in changes:
                    changes["Probability"] = stage.probability
