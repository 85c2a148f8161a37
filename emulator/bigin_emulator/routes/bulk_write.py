"""Bulk Write jobs: ``POST /bigin/bulk/v2/write``, ``GET .../write/{job_id}`` and ``.../result``.

Creating a job checks the whole request before anything happens (a refused request leaves the
uploaded file unused): ``operation`` insert, update or upsert; the module (unknown: 400
``INVALID_MODULE``; one Bulk Write does not take, such as Notes, Users or Attachments: 400
``NOT_SUPPORTED``); ``file_id`` (unknown or already used by a job: ``INVALID_DATA``); every field
mapping (a known field of the module, ``Account_Name.id``-style for a lookup by id, a column index
inside the file's header; without ``field_mappings`` the file's header maps every column);
``find_by`` (required for update and upsert, a mapped field; update may use ``id``). A refusal is
400 ``INVALID_DATA`` whose ``details`` name the key (``api_name``) and where it is
(``json_path``). An accepted request takes the file and answers 201 with the job id; creating is
not idempotent (each POST is a new job).

The job runs on the org's job registry (``state.jobs``): the file is applied once, when the job
ends, through the REST writes' own writer (``ops.bulk_csv.apply_write``). The status answer
carries the counts once the job is over and ``result.download_url`` once it is ``COMPLETED``; the
result is the zip ``ops.bulk_csv`` writes, its rows shuffled under ``Realism.shuffle_write_results``,
its echoed columns cut to ``Realism.write_results_echo_columns`` and ``Realism.drop_write_result_rows``
of its rows left out.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.bulk_csv import FieldMapping, WriteOutcome, WritePlan, apply_write
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.ops.writes import RecordWriter
from bigin_emulator.routes import convertors  # noqa: F401  (registers the path convertors used below)
from bigin_emulator.routes.bulk_jobs import added_answer, completed_job, found_job, job_callback, job_request
from bigin_emulator.routes.responses import json_response
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.jobs import COMPLETED, FileStore, Job, JobRegistry, StoredFile
from bigin_emulator.state.metadata import ModuleSpec, get_module
from bigin_emulator.state.org_data import current_user

__all__ = ["BULK_WRITE_BASE", "NOT_SUPPORTED_MODULES", "OPERATIONS", "bulk_write_routes"]

BULK_WRITE_BASE = "/bigin/bulk/v2/write"
OPERATIONS = ("insert", "update", "upsert")
# Modules (and non-modules) Bulk Write refuses with NOT_SUPPORTED rather than INVALID_MODULE.
NOT_SUPPORTED_MODULES = frozenset({"Notes", "Users", "Attachments"})
_LOOKUP_KEYS = ("id", "name")


def _invalid(key: str, path: str, message: str) -> ApiError:
    return ApiError(400, "INVALID_DATA", message, {"api_name": key, "json_path": path})


def _module(raw: Any) -> ModuleSpec:
    name = raw.get("api_name") if isinstance(raw, Mapping) else raw
    if not isinstance(name, str) or not name:
        raise _invalid("module", "$.resource[0].module", "module.api_name must name a module")
    if name in NOT_SUPPORTED_MODULES:
        raise ApiError(
            400, "NOT_SUPPORTED", f"Bulk Write does not support the module {name!r}", {"api_name": name}
        )
    spec = get_module(name)
    if spec is None:
        raise ApiError(400, "INVALID_MODULE", details={"api_name": name})
    return spec


class _Checker:
    """Checks one create request's resource against its module and its uploaded file."""

    def __init__(self, ctx: EmulatorContext, spec: ModuleSpec, header: Sequence[str]) -> None:
        self.spec = spec
        self.header = header
        self.custom = ctx.store.table(spec.api_name).custom_fields

    def _is_lookup(self, name: str) -> bool:
        field = self.spec.by_name.get(name)
        return field is not None and (field.lookup_module is not None or field.data_type == "ownerlookup")

    def mapping(self, raw: Any, path: str) -> FieldMapping:
        if not isinstance(raw, Mapping):
            raise _invalid("field_mappings", path, "each field mapping must be an object")
        api_name, index, find_by = raw.get("api_name"), raw.get("index"), raw.get("find_by")
        if not isinstance(api_name, str) or not api_name:
            raise _invalid("api_name", f"{path}.api_name", "a field mapping must name a field")
        name, dot, key = api_name.partition(".")
        known = name == "id" or name in self.spec.by_name or name in self.spec.aliases or name in self.custom
        if not known or (dot and (key not in _LOOKUP_KEYS or not self._is_lookup(name))):
            raise _invalid(api_name, f"{path}.api_name", f"the module has no field {api_name!r}")
        if find_by is not None and (find_by not in _LOOKUP_KEYS or not self._is_lookup(name) or dot):
            raise _invalid("find_by", f"{path}.find_by", "a lookup's find_by must be id or name")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.header):
            message = f"index must be a column of the file (0 to {len(self.header) - 1})"
            raise _invalid("index", f"{path}.index", message)
        return FieldMapping(api_name, index, find_by)

    def mappings(self, raw: Any) -> tuple[FieldMapping, ...]:
        path = "$.resource[0].field_mappings"
        if raw is None:
            raw = [{"api_name": name, "index": index} for index, name in enumerate(self.header)]
        if not isinstance(raw, list) or not raw:
            raise _invalid("field_mappings", path, "field_mappings must be a non-empty array")
        mappings = tuple(self.mapping(item, f"{path}[{i}]") for i, item in enumerate(raw))
        names = [m.api_name.partition(".")[0] for m in mappings]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _invalid(name, f"{path}[{i}].api_name", f"the field {name!r} is mapped twice")
        return mappings

    @staticmethod
    def find_by(operation: str, raw: Any, mappings: Sequence[FieldMapping]) -> str | None:
        path = "$.resource[0].find_by"
        if operation == "insert":
            return None
        if not isinstance(raw, str) or not raw:
            raise _invalid("find_by", path, f"find_by is required to {operation}")
        if raw == "id" and operation != "update":
            raise _invalid("find_by", path, "only update may find records by id")
        if raw not in {m.api_name for m in mappings}:
            raise _invalid("find_by", path, f"find_by {raw!r} must be one of the mapped fields")
        return raw


def _resource_body(job: Job) -> list[dict[str, Any]]:
    """The job's ``resource`` as its status and callback show it."""
    plan: WritePlan = job.data["plan"]
    stored: StoredFile = job.data["file"]
    outcome: WriteOutcome | None = job.result if job.state == COMPLETED else None
    file: dict[str, Any] = {
        "status": job.state,
        "name": stored.name,
        "added_count": outcome.added if outcome else 0,
        "skipped_count": outcome.skipped if outcome else 0,
        "updated_count": outcome.updated if outcome else 0,
        "total_count": outcome.total if outcome else stored.records,
    }
    resource: dict[str, Any] = {
        "type": "data",
        "module": {"api_name": plan.spec.api_name, "id": plan.spec.module_id},
        "status": job.state,
        "file_id": stored.file_id,
        "ignore_empty": plan.ignore_empty,
        "field_mappings": [_mapping_body(m) for m in plan.mappings],
        "file": file,
    }
    if plan.find_by is not None:
        resource["find_by"] = plan.find_by
    return [resource]


def _event(job: Job) -> dict[str, Any]:
    """What a finished job's callback says beside its id, operation and state."""
    return {"resource": _resource_body(job)}


def _mapping_body(mapping: FieldMapping) -> dict[str, Any]:
    body: dict[str, Any] = {"api_name": mapping.api_name, "index": mapping.index}
    if mapping.find_by is not None:
        body["find_by"] = mapping.find_by
    return body


def _status_body(job: Job) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": job.id,
        "operation": job.operation,
        "status": job.state,
        "character_encoding": "UTF-8",
        "created_by": current_user().short_lookup(),
        "created_time": job.created_time,
        "resource": _resource_body(job),
    }
    if job.callback is not None:
        body["callback"] = dict(job.callback)
    if job.state == COMPLETED:
        body["result"] = {"download_url": f"{BULK_WRITE_BASE}/{job.id}/result"}
    return body


def bulk_write_routes(ctx: EmulatorContext, jobs: JobRegistry, files: FileStore) -> list[Route]:
    """The Bulk Write routes of one org, applying files through ``RecordWriter``."""
    writer = RecordWriter(ctx)
    realism = ctx.config.realism
    shuffled = realism.shuffle_write_results

    async def create(request: Request) -> Response:
        body = await job_request(request)
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise _invalid("operation", "$.operation", "operation must be insert, update or upsert")
        encoding = body.get("character_encoding", "UTF-8")
        if not isinstance(encoding, str) or encoding.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
            raise _invalid("character_encoding", "$.character_encoding", "character_encoding must be UTF-8")
        callback = job_callback(body.get("callback"))
        resources = body.get("resource")
        if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], Mapping):
            raise _invalid("resource", "$.resource", "resource must be an array of one object")
        resource = resources[0]
        if resource.get("type", "data") != "data":
            raise _invalid("type", "$.resource[0].type", "the resource type must be data")
        spec = _module(resource.get("module"))
        file_id = resource.get("file_id")
        stored = files.unused(file_id) if isinstance(file_id, str) else None
        if stored is None:
            raise _invalid("file_id", "$.resource[0].file_id", "no unused uploaded file has that file_id")
        checker = _Checker(ctx, spec, stored.header)
        mappings = checker.mappings(resource.get("field_mappings"))
        find_by = checker.find_by(operation, resource.get("find_by"), mappings)
        ignore_empty = resource.get("ignore_empty", False)
        if not isinstance(ignore_empty, bool):
            raise _invalid("ignore_empty", "$.resource[0].ignore_empty", "ignore_empty must be true or false")
        plan = WritePlan(spec, operation, mappings, find_by, ignore_empty)
        data = files.take(stored)
        rng = random.Random(stored.file_id) if shuffled else None

        def work() -> WriteOutcome:
            return apply_write(
                writer,
                plan,
                data,
                stored.name,
                shuffle=rng,
                echo_columns=realism.write_results_echo_columns,
                drop_rows=realism.drop_write_result_rows,
                drop_seed=stored.file_id,
            )

        job = jobs.create(
            "write",
            operation,
            records=stored.records,
            work=work,
            callback=callback,
            event=_event,
            data={"plan": plan, "file": stored},
        )
        return json_response(added_answer({"id": job.id, "created_by": current_user().short_lookup()}), 201)

    async def status(request: Request) -> Response:
        return json_response({"data": [_status_body(found_job(jobs, request, "write"))]})

    async def result(request: Request) -> Response:
        job = completed_job(jobs, request, "write")
        outcome: WriteOutcome = job.result
        headers = {"content-disposition": f'attachment; filename="{job.id}.zip"'}
        return Response(outcome.result_zip, media_type="application/zip", headers=headers)

    return [
        Route(BULK_WRITE_BASE, create, methods=["POST"]),
        Route(BULK_WRITE_BASE + "/{job_id:record_id}", status, methods=["GET"]),
        Route(BULK_WRITE_BASE + "/{job_id:record_id}/result", result, methods=["GET"]),
    ]
