"""Typed models of Bigin's records, pages, write results and metadata (pydantic v2).

Every model keeps fields it does not declare (custom ``*_c`` fields, ``$``-prefixed system keys)
under their exact wire names, so a read-modify-write never loses data.
"""

from bigin_async.models.attachments import Attachment
from bigin_async.models.base import BiginModel, Id, mark_as_read, model_to_wire
from bigin_async.models.common import Lookup, Owner, Participant, RelatedTo, Tag
from bigin_async.models.deleted import DELETED_TYPES, DeletedRecord, DeletedType
from bigin_async.models.jobs import (
    BULK_READ_MODULES,
    BULK_WRITE_MODULES,
    BulkReadJob,
    BulkReadResult,
    BulkWriteFile,
    BulkWriteJob,
    BulkWriteResource,
    BulkWriteResult,
    FieldMapping,
    JobEvent,
    JobState,
    UploadedFile,
)
from bigin_async.models.modules import (
    MODULE_MODELS,
    MODULES,
    ModuleSpec,
    default_fields_for,
    model_for,
)
from bigin_async.models.org import LicenseDetails, Org, User, WatchChannel
from bigin_async.models.pages import Page, PageInfo, parse_page
from bigin_async.models.record import READ_ONLY_FIELDS, Record, record_to_wire
from bigin_async.models.records import (
    Call,
    Company,
    Contact,
    Deal,
    Event,
    Note,
    Product,
    Task,
)
from bigin_async.models.results import WriteAction, WriteResult, parse_write_results
from bigin_async.models.settings import (
    CustomView,
    FieldInfo,
    Layout,
    LayoutSection,
    ModuleInfo,
    PicklistValue,
    Pipeline,
    RelatedList,
    Stage,
    parse_pipelines,
    pipeline_from_layout,
    pipelines_from_layouts,
)
from bigin_async.models.uploads import file_upload_value
from bigin_async.models.wire import format_date, format_datetime, format_decimal, wire_value

__all__ = [
    "Attachment",
    "BULK_READ_MODULES",
    "BULK_WRITE_MODULES",
    "DELETED_TYPES",
    "MODULES",
    "MODULE_MODELS",
    "READ_ONLY_FIELDS",
    "BiginModel",
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
    "Call",
    "Company",
    "Contact",
    "CustomView",
    "Deal",
    "DeletedRecord",
    "DeletedType",
    "Event",
    "FieldInfo",
    "Id",
    "Layout",
    "LayoutSection",
    "LicenseDetails",
    "Lookup",
    "ModuleInfo",
    "ModuleSpec",
    "Note",
    "Org",
    "Owner",
    "Page",
    "PageInfo",
    "Participant",
    "PicklistValue",
    "Pipeline",
    "Product",
    "Record",
    "RelatedList",
    "RelatedTo",
    "Stage",
    "Tag",
    "Task",
    "User",
    "WatchChannel",
    "WriteAction",
    "WriteResult",
    "format_date",
    "format_datetime",
    "default_fields_for",
    "file_upload_value",
    "format_decimal",
    "model_for",
    "mark_as_read",
    "model_to_wire",
    "parse_page",
    "parse_pipelines",
    "pipeline_from_layout",
    "pipelines_from_layouts",
    "parse_write_results",
    "record_to_wire",
    "wire_value",
]
