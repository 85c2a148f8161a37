"""Typed Bulk Read and Bulk Write jobs, and which modules Bigin's bulk jobs take.

A bulk job is cheaper than calls by far (a Bulk Write job takes up to 25,000 records for 500
credits where calls cost 1 per 10 records, 2,500; a Bulk Read job returns up to 200,000 records for
50 credits where 200-record pages cost 1,000), but it runs on Zoho's side, so what the SDK holds is
the job's last known status. Zoho adds states and keys over time: every state is kept as the string
Zoho sent (``job.state``), with :attr:`~_JobStatus.state_enum` for the four it documents, and every
model keeps keys it does not declare.

The module tables are derived from the one module table (:mod:`bigin_async.models.modules`):
Bulk Write and Bulk Read take every module of it but Notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator
from typing_extensions import Self

from bigin_async.errors import ValidationError
from bigin_async.models.base import BiginModel, Id, ModuleName
from bigin_async.models.common import Owner
from bigin_async.models.modules import MODULES, api_name, nearest_modules, quoted_module_name

__all__ = [
    "BULK_READ_MODULES",
    "BULK_WRITE_MODULES",
    "MAX_UPLOAD_BYTES",
    "READ_PAGE_SIZE",
    "WRITE_JOB_MAX_RECORDS",
    "BulkReadJob",
    "BulkReadResult",
    "BulkWriteFile",
    "BulkWriteJob",
    "BulkWriteResource",
    "BulkWriteResult",
    "FieldMapping",
    "JobEvent",
    "JobState",
    "UploadedFile",
    "check_bulk_module",
    "job_entry",
]

# Zoho's limits of a Bulk Write upload: one zip of at most 25 MB holding one CSV of at most
# 25,000 records; a Bulk Read page holds at most 200,000 records.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
WRITE_JOB_MAX_RECORDS = 25_000
READ_PAGE_SIZE = 200_000

# Modules of the module table Bigin's bulk jobs refuse (NOT_SUPPORTED): notes belong to a parent
# record and are written with calls. Users, Attachments and linking modules are not in the table.
_NOT_BULK_WRITE = frozenset({"Notes"})
_NOT_BULK_READ = frozenset({"Notes"})

BULK_WRITE_MODULES: tuple[str, ...] = tuple(
    spec.api_name for spec in MODULES if spec.api_name not in _NOT_BULK_WRITE
)
BULK_READ_MODULES: tuple[str, ...] = tuple(
    spec.api_name for spec in MODULES if spec.api_name not in _NOT_BULK_READ
)


def check_bulk_module(module: object, kind: Literal["write", "read"]) -> str:
    """The API name of a module Bulk Write (or Bulk Read) takes; aliases Companies/Deals accepted.

    Checked before anything is sent: Zoho would refuse the job (``NOT_SUPPORTED``) only after
    the upload, and a write job refused late still leaves its uploaded file behind.
    """
    table = BULK_WRITE_MODULES if kind == "write" else BULK_READ_MODULES
    job = "Bulk Write" if kind == "write" else "Bulk Read"
    if not isinstance(module, str):
        raise ValidationError(f"module must be a module API name, not {type(module).__name__}")
    name = api_name(module)
    if name in table:
        return name
    listed = ", ".join(table)
    if any(spec.api_name == name for spec in MODULES):
        raise ValidationError(
            f"Bigin's {job} does not take {name} (it takes {listed}); use the module's calls instead"
        )
    # Only the names this job takes: a typo of Notes is not pointed at a module it would refuse.
    taken = [key for spec in MODULES if spec.api_name in table for key in (spec.api_name, spec.alias) if key]
    near = nearest_modules(module, among=taken)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    raise ValidationError(
        f"{quoted_module_name(module)} is not a module Bigin's {job} takes{hint} (it takes {listed})"
    )


class JobState(str, Enum):
    """The states Zoho documents for a bulk job; Zoho may send others (kept as strings)."""

    ADDED = "ADDED"
    IN_PROGRESS = "IN PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


def job_entry(answer: object) -> Mapping[str, Any]:
    """The job object of a status answer, with or without Bigin's ``{"data": [job]}`` wrapper.

    Bigin wraps it in ``data``; Zoho CRM's bulk API sends the object itself. Both are read, so a
    change between the two on Zoho's side does not break polling.
    """
    if not isinstance(answer, Mapping):
        raise ValueError(f"a job answer is a JSON object, not {type(answer).__name__}")
    if "data" not in answer:
        return answer
    data = answer["data"]
    if not isinstance(data, list) or not data or not isinstance(data[0], Mapping):
        raise ValueError("the job answer's data is not a list holding the job")
    entry: Mapping[str, Any] = data[0]
    return entry


class _JobStatus(BiginModel):
    """What every job status carries: its state, as Zoho sent it."""

    state: str = Field(validation_alias=AliasChoices("state", "status"))

    @property
    def state_enum(self) -> JobState | None:
        """The state as a :class:`JobState`, or None for a state Zoho added since."""
        try:
            return JobState(self.state)
        except ValueError:
            return None

    @property
    def done(self) -> bool:
        """Whether the job completed: its result can be downloaded."""
        return self.state == JobState.COMPLETED.value

    @property
    def failed(self) -> bool:
        """Whether the job ended FAILED: it will not move again, create a new one."""
        return self.state == JobState.FAILED.value

    @classmethod
    def from_answer(cls, answer: object) -> Self:
        """The job of a status answer (``{"data": [job]}`` or the job object itself)."""
        return cls.model_validate(job_entry(answer))


class UploadedFile(BiginModel):
    """A file stored on Zoho's side, as an upload's answer names it.

    Two uploads give one: a Bulk Write zip on the file host (``{"file_id", "created_time"}``: the
    ``file_id`` a write job names) and a file of the Files API (``client.files.upload``:
    ``{"name", "id"}``, an encrypted id to put in a file-upload field on create or update). Both
    are read into ``file_id``; :attr:`id` is the same value under the Files API's name.
    """

    file_id: Id = Field(validation_alias=AliasChoices("file_id", "id"))
    name: str | None = None
    created_time: datetime | None = None

    @property
    def id(self) -> str:
        """The file's id (the Files API's name for :attr:`file_id`)."""
        return self.file_id


class FieldMapping(BiginModel):
    """Which CSV column (``index``, from 0) fills which field (``api_name``).

    ``format`` is a date or datetime column's format when it is not ISO 8601; ``find_by`` is how a
    lookup column finds the linked record (``"id"``, or a unique field of that module).
    """

    api_name: str
    index: int = Field(ge=0)
    format: str | None = None
    find_by: str | None = None

    def __init__(
        self,
        api_name: str,
        index: int,
        format: str | None = None,
        find_by: str | None = None,
        **extra: Any,
    ) -> None:
        # Positional as well (``FieldMapping("Last_Name", 0)``): a mapping is a name and a column.
        super().__init__(api_name=api_name, index=index, format=format, find_by=find_by, **extra)

    def to_wire(self) -> dict[str, Any]:
        """The mapping as the write job's ``field_mappings`` entry (unset keys left out)."""
        return self.model_dump(exclude_none=True)


class BulkWriteFile(BiginModel):
    """The counts of one write job's file: how many rows were added, updated or skipped."""

    status: str | None = None
    name: str | None = None
    added_count: int | None = None
    skipped_count: int | None = None
    updated_count: int | None = None
    total_count: int | None = None


class BulkWriteResource(BiginModel):
    """One resource of a write job: the module, the file and how its columns map to fields."""

    type: str | None = None
    module: ModuleName = None
    status: str | None = None
    file_id: Id | None = None
    find_by: str | None = None
    ignore_empty: bool | None = None
    field_mappings: list[FieldMapping] = Field(default_factory=list)
    file: BulkWriteFile | None = None

    def to_wire(self) -> dict[str, Any]:
        """The resource as a create-write body sends it (``module`` as ``{"api_name"}``)."""
        wire: dict[str, Any] = {"type": self.type or "data", "module": {"api_name": self.module}}
        if self.file_id is not None:
            wire["file_id"] = self.file_id
        if self.ignore_empty is not None:
            wire["ignore_empty"] = self.ignore_empty
        if self.find_by is not None:
            wire["find_by"] = self.find_by
        wire["field_mappings"] = [mapping.to_wire() for mapping in self.field_mappings]
        return wire


class BulkWriteResult(BiginModel):
    """Where a completed write job's result zip is (a path on the API host)."""

    download_url: str | None = None


class BulkWriteJob(_JobStatus):
    """A Bulk Write job as last read: ``state`` (Zoho's ``status``), per-file counts, result URL.

    ``download_url`` is set once the job is COMPLETED: its zip holds a CSV of the first mapped
    columns plus ``STATUS``, ``RECORD_ID`` and ``ERRORS`` for each input row.
    """

    id: Id
    state: str = Field(validation_alias=AliasChoices("status", "state"), serialization_alias="status")
    operation: str | None = None
    character_encoding: str | None = None
    created_by: Owner | None = None
    created_time: datetime | None = None
    resources: list[BulkWriteResource] = Field(
        default_factory=list,
        validation_alias=AliasChoices("resource", "resources"),
        serialization_alias="resource",
    )
    # Kept out of the repr: a callback URL often carries its receiver's secret (``?token=...``).
    callback: dict[str, Any] | None = Field(default=None, repr=False)
    result: BulkWriteResult | None = None

    @property
    def download_url(self) -> str | None:
        """The result zip's URL (relative to the API host), None until the job COMPLETED."""
        return self.result.download_url if self.result is not None else None


class BulkReadResult(BiginModel):
    """A completed read job's page: its record ``count`` and whether ``more_records`` follow.

    A page holds at most ``per_page`` (200,000) records; the next page is a new job with
    ``page + 1``.
    """

    page: int | None = None
    count: int | None = None
    download_url: str | None = None
    per_page: int | None = None
    more_records: bool | None = None


class BulkReadJob(_JobStatus):
    """A Bulk Read job as last read: ``state``, the ``query`` it runs, and its ``result`` when done."""

    id: Id
    operation: str | None = None
    query: dict[str, Any] | None = None
    created_by: Owner | None = None
    created_time: datetime | None = None
    # Kept out of the repr: a callback URL often carries its receiver's secret (``?token=...``).
    callback: dict[str, Any] | None = Field(default=None, repr=False)
    result: BulkReadResult | None = None

    @property
    def download_url(self) -> str | None:
        """The CSV zip's URL (relative to the API host), None until the job COMPLETED."""
        return self.result.download_url if self.result is not None else None


class JobEvent(_JobStatus):
    """A job's callback: Zoho POSTs it to the job's ``callback_url`` when the job ends.

    It says which job ended and how; read the job (``get_write`` / ``get_read``) for its result.
    The body's ``query`` or ``resource`` is kept as given. Parse an incoming body with
    ``BulkJobsClient.job_event``, which also checks ``job_id`` is an id.
    """

    job_id: Id
    operation: str | None = None

    @field_validator("state", "operation", mode="before")
    @classmethod
    def _words(cls, value: object) -> object:
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 40):
            raise ValueError("must be a word such as COMPLETED or insert")
        return value
