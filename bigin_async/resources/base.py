"""``ModuleClient``: the one client class behind every module (Contacts, Accounts, Pipelines, ...).

A module's client file only names its API module (its record class and default fields come from
the module table, :mod:`bigin_async.models.modules`); reading, searching, writing, related lists,
tags and bulk writes all live here once, on :class:`~bigin_async.resources._base.APIResource`.
Every call goes through the client's single transport, so pooling, limits and retries apply
everywhere alike.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, Union, overload

import httpx

from bigin_async._inputs import (
    FIELD_NAME,
    check_field_list,
    check_field_names,
    check_id,
    check_id_list,
    check_module_name,
    check_new_record,
    check_record,
)
from bigin_async._types import DEFAULT, Default
from bigin_async.bulk.engine import BATCH_LIMIT, BulkMode, BulkPlan, run_bulk, tell_batch_done
from bigin_async.bulk.jobs.read import BulkExport, ExportProgressCallback, ExportSource
from bigin_async.bulk.jobs.via import Via, write_via
from bigin_async.bulk.jobs.write import ImportPlan, Operation, run_import
from bigin_async.bulk.keys import carries_upsert_key, upsert_key_fields
from bigin_async.bulk.results import BulkResult, RecordOutcome, ResultCallback
from bigin_async.bulk.results import ProgressCallback as BulkProgressCallback
from bigin_async.bulk.writer import BulkWriter
from bigin_async.criteria import Criteria, criteria_to_str
from bigin_async.errors import APIError, InvalidRequestError, NotFoundError, ValidationError
from bigin_async.models import FieldInfo, Pipeline, Record, WriteResult, mark_as_read, parse_write_results
from bigin_async.models.deleted import DELETED_TYPES, DeletedRecord, DeletedType
from bigin_async.models.modules import (
    BASE_DEFAULT_FIELDS,
    MODULE_ALIASES,
    api_name,
    default_fields_for,
    model_for,
    module_spec,
)
from bigin_async.pagination import AsyncPaginator, PageRequest, ProgressCallback
from bigin_async.resources._answers import delete_result, missing_record
from bigin_async.resources._base import (
    APIResource,
    body_of,
    checked_results,
    json_body,
    json_object,
    record_error,
    send_and_parse,
)
from bigin_async.resources._links import related_list_name, send_links
from bigin_async.resources.attachments import AttachmentsClient
from bigin_async.resources.coql import coql_paginator
from bigin_async.resources.tags import send_tag_action

if TYPE_CHECKING:
    from bigin_async._transport import Transport
    from bigin_async.resources.bulk_jobs import BulkJobsClient

__all__ = [
    "DEFAULT",
    "MAX_FIELDS_PER_READ",
    "REFERENCE_NAMES",
    "Default",
    "FieldMetadata",
    "FieldsSpec",
    "ModuleClient",
    "ModuleContext",
    "ModuleOwner",
    "RecordInput",
    "RelatedIds",
    "TeamPipelines",
    "Trigger",
    "api_name",
    "body_of",
    "json_body",
    "json_object",
    "record_error",
    "send_and_parse",
]

# Module names accepted as aliases: Companies -> Accounts, Deals -> Pipelines ("/Companies" is
# INVALID_MODULE in Bigin). The module table (``bigin_async.models.modules``) says which.
REFERENCE_NAMES = MODULE_ALIASES

R = TypeVar("R", bound=Record)
T = TypeVar("T")
RecordInput = Union[Mapping[str, Any], Record]
FieldsSpec = Union[None, str, Sequence[str]]
BulkInput = Union[Iterable[Any], AsyncIterable[Any]]
# Which workflows a write runs: names (``["workflow"]``), ``[]``/None for none, DEFAULT for Zoho's.
Trigger = Union[Sequence[str], None, Default]

# Bigin answers at most this many fields a read (unconfirmed; the emulator enforces it).
MAX_FIELDS_PER_READ = 50
# What tells two reads of one record are of the same version (every module has it), and how
# many times a get() split over several reads reads a record again that changed meanwhile.
VERSION_FIELD = "Modified_Time"
WHOLE_READS = 3
# One related id, or a list of them, for link() and unlink() (ints are taken as their digits).
RelatedIds = Union[str, int, Sequence[Union[str, int]]]
# Past any record count a list could reach: for listings Zoho pages by number without a wall.
NO_PAGE_WALL = sys.maxsize

SEARCH_WALL_ADVICE = (
    "search pages by number only (Zoho sends it no tokens). Narrow the criteria, or use list() "
    "with sort_by, or COQL"
)


class FieldMetadata(Protocol):
    """Field metadata of the org, read once per client (``bigin.settings``)."""

    async def field_names(self, module: str, *, refresh: bool = False) -> builtins.list[str]: ...

    async def fields(self, module: str, *, refresh: bool = False) -> builtins.list[FieldInfo]: ...


class TeamPipelines(Protocol):
    """The org's team pipelines and their stages (``bigin.pipelines``)."""

    async def list(self) -> builtins.list[Pipeline]: ...


class ModuleContext(Protocol):
    """What a module client asks of the client that made it, besides the transport.

    ``fields="all"`` needs the module's field metadata (cached per client), moving a deal needs
    the team pipelines, the notes of a record need that record's module client, and writes and
    reads through Bulk jobs need the client's one ``bulk_jobs`` (its org id and download pacing).
    """

    @property
    def settings(self) -> FieldMetadata: ...

    @property
    def bulk_jobs(self) -> BulkJobsClient: ...

    @property
    def pipelines(self) -> TeamPipelines: ...

    def module(self, name: str) -> ModuleClient[Record]: ...


class ModuleOwner(ModuleContext, Protocol):
    """A client that is its module clients' context and owns their transport (``BiginClient``)."""

    @property
    def transport(self) -> Transport: ...


def _one_record(body: bytes, record_id: str) -> dict[str, Any] | None:
    """The record of a get-by-id answer (``{"data": [record]}``), None when there is none."""
    data = json_object(body).get("data")
    if data is None or data == []:
        return None
    if not isinstance(data, list) or not isinstance(data[0], dict):
        raise ValueError("the answer's data is not a list of records")
    record = data[0]
    if str(record.get("id")) != record_id:
        raise ValueError(f"asked for record {record_id}, the answer is about {record.get('id')!r}")
    return record


# What bulk_import's operations are as call-based bulk modes.
_IMPORT_MODES: dict[str, BulkMode] = {"insert": "create", "update": "update", "upsert": "upsert"}


def _path_text(path: str | os.PathLike[str] | None) -> str | None:
    return os.fspath(path) if path is not None else None


def _too_many_fields(module: str, count: int, asked_all: bool) -> ValidationError:
    what = f'fields="all" names {count} fields of {module}' if asked_all else f"{count} fields were asked"
    return ValidationError(
        f"{what}, but Bigin reads at most {MAX_FIELDS_PER_READ} fields a request. A list, search or related "
        "list is not split into several reads (pages read twice need not hold the same records, so columns "
        f"could be joined to the wrong rows): name at most {MAX_FIELDS_PER_READ} fields, and read the others "
        "per record with get() (which splits a long field list into several reads of one id by itself)"
    )


def _module_client_arguments(
    transport: Any = None,
    context: Any = None,
    module_api_name: Any = None,
    model: Any = None,
    *,
    client: Any = None,
) -> tuple[Transport, ModuleContext, str | None, Any]:
    """``ModuleClient``'s arguments in either form: ``(transport, context, ...)``, or the client
    alone as before module clients took the transport (``LeadsClient(bigin)``,
    ``ModuleClient(bigin, "Leads", Lead)``), whose transport and context it is."""
    if client is None and (context is None or isinstance(context, str)):
        client = transport
        if isinstance(module_api_name, type):  # (client, module_api_name, model) by position
            model, module_api_name = module_api_name if model is None else model, None
        if context is not None:
            module_api_name = context
    if client is not None:
        return client.transport, client, module_api_name, model
    return transport, context, module_api_name, model


class ModuleClient(APIResource, Generic[R]):
    """Operations on one Bigin module. Get one from the client: ``bigin.contacts``, ``bigin.module("X")``.

    A subclass names its module (``module_api_name = "Contacts"``); its record class and default
    fields are the module table's entry for that name. A subclass for a module the table does not
    list (a custom module) reads plain records and the system fields unless it sets its own.
    """

    module_api_name: ClassVar[str] = ""
    model: type[R]
    default_fields: ClassVar[tuple[str, ...]] = BASE_DEFAULT_FIELDS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("module_api_name")
        if own is None:
            return
        spec = module_spec(own)
        if spec is None or spec.api_name != own:
            return  # a custom module: the class's own attributes (or the base's) serve it
        if "default_fields" not in cls.__dict__:
            cls.default_fields = spec.default_fields
        if "model" not in cls.__dict__:
            cls.model = spec.model  # type: ignore[assignment]

    @overload
    def __init__(
        self,
        transport: Transport,
        context: ModuleContext,
        module_api_name: str | None = None,
        model: type[R] | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self, client: ModuleOwner, module_api_name: str | None = None, model: type[R] | None = None
    ) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        transport, context, module_api_name, model = _module_client_arguments(*args, **kwargs)
        super().__init__(transport)
        self._context = context
        if module_api_name is not None:
            self.module_api_name = check_module_name(module_api_name)  # type: ignore[misc]
        if model is not None:
            self.model = model
        elif not hasattr(self, "model"):
            self.model = model_for(self.module_api_name)  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(module_api_name={self.module_api_name!r})"

    @property
    def _path(self) -> str:
        return f"/{self.module_api_name}"

    # -- reading ------------------------------------------------------------------------------
    async def resolve_fields(self, fields: FieldsSpec, module: str | None = None) -> str:
        """The ``fields`` parameter: given names, the module's defaults, or ``"all"`` (metadata).

        ``"all"`` names every field of the module, which may be more than the 50 Bigin reads at a
        time: :meth:`get` then splits the read, lists and searches refuse (see :meth:`list`).
        """
        return ",".join(await self._field_list(fields, module))

    async def _field_list(self, fields: FieldsSpec, module: str | None = None) -> builtins.list[str]:
        module = module or self.module_api_name
        if fields is None:
            return check_field_list(self._defaults_for(module))
        if fields == "all":
            return check_field_list(await self._context.settings.field_names(module))
        return check_field_list(fields)

    def _defaults_for(self, module: str) -> Sequence[str]:
        if module == self.module_api_name:
            return self.default_fields
        return default_fields_for(module)

    async def get(self, id: str, fields: FieldsSpec = None) -> R:
        """One record by id; a missing or deleted id raises :class:`NotFoundError` (Bigin answers 204).

        Bigin reads at most 50 fields a request: more (``fields="all"`` on a large module) are
        read 50 at a time from the same id and merged into one record, each read also asking
        ``Modified_Time``: a record edited between those reads is read again whole (three times at
        most, then :class:`APIError` ``RECORD_CHANGED_DURING_READ``), so its columns are never of
        two versions. A record deleted between them raises :class:`NotFoundError` rather than
        coming back with columns missing.
        """
        record_id = check_id(id)
        path = f"{self._path}/{record_id}"
        names = await self._field_list(fields) if fields is not None else []
        if len(names) <= MAX_FIELDS_PER_READ:  # one read (no fields: Zoho's default fields)
            record = (await self._read_parts(path, record_id, [names] if names else [None]))[1]
        else:
            # Each part also asks Modified_Time: parts of one version all carry the same one. A
            # record edited between the parts is read again whole, a few times at most.
            others = [name for name in names if name != VERSION_FIELD]
            size = MAX_FIELDS_PER_READ - 1
            parts: builtins.list[builtins.list[str] | None] = [
                [*others[start : start + size], VERSION_FIELD] for start in range(0, len(others), size)
            ]
            for _ in range(WHOLE_READS):
                merged, record, versions = await self._read_parts(path, record_id, parts)
                if len(set(versions)) == 1:
                    break
            else:
                raise APIError(
                    f"{self.module_api_name} record {record_id} changed between the {len(parts)} reads "
                    f"of its {len(names)} fields, {WHOLE_READS} times: its columns would mix versions of "
                    "the record. Read it again later, or ask at most 50 fields",
                    status_code=200,
                    code="RECORD_CHANGED_DURING_READ",
                    method="GET",
                    url=self._transport.url_for(path),
                )
            if VERSION_FIELD not in names:  # asked only to check the parts: not returned
                merged.pop(VERSION_FIELD, None)
                record = self.model.model_validate(merged)
        mark_as_read([record])
        return record

    async def _read_parts(
        self, path: str, record_id: str, parts: Sequence[Sequence[str] | None]
    ) -> tuple[dict[str, Any], R, builtins.list[Any]]:
        """Read ``parts`` (field lists, None for Zoho's defaults) of one record and merge them.

        Returns the merged fields, the record they make and each part's Modified_Time. A part
        that finds no record raises :class:`NotFoundError`, never half a record.
        """
        merged: dict[str, Any] = {}
        versions: builtins.list[Any] = []
        record: R | None = None
        for part in parts:
            params = {"fields": ",".join(part)} if part is not None else None

            def parse(body: bytes, before: dict[str, Any] = merged) -> tuple[dict[str, Any], R, Any] | None:
                # The whole record so far is validated here, inside the retry loop of this read.
                found = _one_record(body, record_id)
                if found is None:
                    return None
                combined = {**before, **found}
                return combined, self.model.model_validate(combined), found.get(VERSION_FIELD)

            answer = await self._get(path, parse, params=params)
            if answer is None:
                raise NotFoundError(
                    f"no {self.module_api_name} record with id {record_id}",
                    status_code=204,
                    code="RECORD_NOT_FOUND",
                    method="GET",
                    url=self._transport.url_for(path),
                )
            merged, record, version = answer
            versions.append(version)
        assert record is not None
        return merged, record, versions

    def list(
        self,
        fields: FieldsSpec = None,
        per_page: int = 200,
        sort_by: str | None = None,
        sort_order: str | None = None,
        cvid: str | None = None,
        max_records: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> AsyncPaginator[R]:
        """All records, page after page (past record 2,000 through page tokens).

        At most 50 fields (Bigin's cap a read): a longer list, or ``fields="all"`` on a module with
        more fields, raises :class:`ValidationError` when the walk starts, rather than dropping
        columns; read the others per record with :meth:`get`.
        """
        return self._list(fields, per_page, sort_by, sort_order, cvid, max_records, on_progress, {})

    def _list(
        self,
        fields: FieldsSpec,
        per_page: int,
        sort_by: str | None,
        sort_order: str | None,
        cvid: str | None,
        max_records: int | None,
        on_progress: ProgressCallback | None,
        more_params: Mapping[str, Any],
    ) -> AsyncPaginator[R]:
        """:meth:`list`'s walk, with a module's own filters (``pipeline_id`` on deals) added."""
        if sort_order is not None and sort_order not in ("asc", "desc"):
            raise ValidationError(f"sort_order must be 'asc' or 'desc', got {sort_order!r}")
        if sort_by is not None and not FIELD_NAME.match(sort_by):
            raise ValidationError(f"invalid sort_by field {sort_by!r}")
        params = {
            "sort_by": sort_by,
            "sort_order": sort_order,
            # A list through a custom view costs 3 credits a page (counted: credits_for).
            "cvid": check_id(cvid, "cvid") if cvid else None,
            **more_params,
        }
        return self._paginate(
            self._path, params, fields, per_page=per_page, max_records=max_records, on_progress=on_progress
        )

    def search(
        self,
        criteria: Criteria | str | None = None,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        per_page: int = 200,
        max_records: int | None = None,
        fields: FieldsSpec = None,
        on_progress: ProgressCallback | None = None,
    ) -> AsyncPaginator[R]:
        """Records matching exactly one of ``criteria``, ``email``, ``phone`` or ``word``.

        Search pages by number only and reaches at most 2,000 records: past that the paginator
        raises :class:`PaginationLimitError` rather than silently ending.
        """
        modes = {"criteria": criteria, "email": email, "phone": phone, "word": word}
        given = [name for name, value in modes.items() if value is not None]
        if len(given) != 1:
            raise ValidationError(
                f"search needs exactly one of criteria, email, phone, word; got {given or 'none'}"
            )
        params: dict[str, Any] = {}
        if criteria is not None:
            params["criteria"] = criteria_to_str(criteria)
        for name in ("email", "phone", "word"):
            value = modes[name]
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise ValidationError(f"{name} must be a non-empty string")
            params[name] = value.strip()
        if word is not None and len(word.strip()) < 2:
            raise ValidationError("word search needs at least 2 characters")
        request_fields = fields
        return self._paginate(
            f"{self._path}/search",
            params,
            request_fields,
            per_page=per_page,
            max_records=max_records,
            supports_tokens=False,
            fields_optional=True,
            on_progress=on_progress,
            wall_advice=SEARCH_WALL_ADVICE,
        )

    def related(
        self,
        id: str,
        related_list: str,
        fields: FieldsSpec = None,
        per_page: int = 200,
        max_records: int | None = None,
        params: Mapping[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> AsyncPaginator[Record]:
        """A related list of one record (``/Contacts/{id}/Notes``, ``/Accounts/{id}/Contacts``...).

        "Companies" and "Deals" are accepted as aliases of the ``Accounts`` and ``Pipelines`` lists.
        """
        record_id = check_id(id)
        name = related_list_name(related_list)
        model = model_for(name)
        return self._paginate(
            f"{self._path}/{record_id}/{name}",
            dict(params or {}),
            fields,
            per_page=per_page,
            max_records=max_records,
            model=model,
            fields_module=name,
            on_progress=on_progress,
        )

    async def link(
        self, record_id: str, related_list: str, related_ids: RelatedIds
    ) -> builtins.list[WriteResult]:
        """Link records to one record through a related list (a contact's ``Products``...).

        One :class:`WriteResult` per related id, in the order given (``.ok`` on each: a refused
        id does not raise). At most 100 ids go in a call; more are cut into calls of 100 (250 ids:
        3 calls). Duplicate or malformed ids are refused before anything is sent. A link is
        idempotent: a pair already linked answers success ("relation updated"), so a call whose
        answer was lost is sent again. ``related_list`` accepts the aliases :meth:`related` does.
        """
        path, ids = self._link_target(record_id, related_list, related_ids)
        return await send_links(self._transport, path, ids, "link")

    async def unlink(
        self, record_id: str, related_list: str, related_ids: RelatedIds
    ) -> builtins.list[WriteResult]:
        """Remove links made by :meth:`link`; the records themselves stay. Same batching and results.

        A call whose answer was lost is sent again; an id the lost attempt already unlinked then
        comes back a success with code ``MAYBE_ALREADY_UNLINKED`` and
        ``details["maybe_never_linked"]`` (Bigin answers alike for a pair never linked), not a
        false failure. See :mod:`bigin_async.resources._links`.
        """
        path, ids = self._link_target(record_id, related_list, related_ids)
        return await send_links(self._transport, path, ids, "unlink")

    def _link_target(
        self, record_id: str, related_list: str, related_ids: RelatedIds
    ) -> tuple[str, builtins.list[str]]:
        parent = check_id(record_id, "record_id")
        return f"{self._path}/{parent}/{related_list_name(related_list)}", check_id_list(
            related_ids, "related id"
        )

    def deleted(
        self,
        type: DeletedType = "all",
        *,
        per_page: int = 200,
        max_records: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> AsyncPaginator[DeletedRecord]:
        """The module's deleted records: ``"recycle"`` (the recycle bin), ``"permanent"``, or ``"all"``.

        Each is a :class:`~bigin_async.models.DeletedRecord` (id, display name, who deleted it
        and when), not the record: its fields are gone. Pages by number only (Zoho sends no page
        tokens here); Zoho documents no 2,000-record wall for this list, so none is assumed: the
        walk goes on while the server says there are more (unconfirmed on Bigin).
        """
        if type not in DELETED_TYPES:
            raise ValidationError(f"type must be one of {', '.join(DELETED_TYPES)}, got {type!r}")
        request = PageRequest(
            path=f"{self._path}/deleted",
            params={"type": type},
            supports_tokens=False,
            page_wall=NO_PAGE_WALL,
        )
        return self._paginator(
            request, DeletedRecord, per_page=per_page, max_records=max_records, on_progress=on_progress
        )

    def _paginate(
        self,
        path: str,
        params: Mapping[str, Any],
        fields: FieldsSpec,
        *,
        per_page: int,
        max_records: int | None,
        model: type[Any] | None = None,
        supports_tokens: bool = True,
        fields_optional: bool = False,
        fields_module: str | None = None,
        on_progress: ProgressCallback | None = None,
        wall_advice: str = "",
    ) -> AsyncPaginator[Any]:
        async def resolve() -> Mapping[str, Any]:
            if fields is None and fields_optional:
                return {}
            names = await self._field_list(fields, fields_module)
            if len(names) > MAX_FIELDS_PER_READ:
                raise _too_many_fields(fields_module or self.module_api_name, len(names), fields == "all")
            return {"fields": ",".join(names)}

        request = PageRequest(
            path=path,
            params=params,
            supports_tokens=supports_tokens,
            resolve_params=resolve,
            wall_advice=wall_advice,
        )
        return self._paginator(
            request, model or self.model, per_page=per_page, max_records=max_records, on_progress=on_progress
        )

    # -- writing ------------------------------------------------------------------------------
    async def _write_one(
        self, method: str, path: str, body: dict[str, Any], *, action: str, idempotent: bool | None = None
    ) -> WriteResult:
        def parse(response: httpx.Response) -> WriteResult:
            results = parse_write_results(body_of(response))
            if not results:
                # Not a result at all: the record may or may not have been written.
                raise ValueError("the server answered a write without a per-record result")
            result = results[0]
            if result.action is None:
                result.action = action
            return checked_results([result], response)[0]

        return await self._send_response(method, path, parse, json=body, idempotent=idempotent)

    def _record_wire(self, record: RecordInput, *, new: bool = False) -> dict[str, Any]:
        """The wire form of one record to write; a value Bigin cannot store is refused here.

        ``new`` (create, upsert): a record read from Bigin is refused (see :func:`check_new_record`).
        """
        try:
            return (check_new_record if new else check_record)(record, self.module_api_name)
        except ValidationError:
            raise
        except ValueError as error:  # NaN, infinity, a naive datetime: nothing is sent
            raise ValidationError(str(error)) from error

    @staticmethod
    def _body(records: builtins.list[dict[str, Any]], trigger: Trigger) -> dict[str, Any]:
        body: dict[str, Any] = {"data": records}
        if not isinstance(trigger, Default):
            if trigger is None:
                trigger = []
            if isinstance(trigger, str) or not all(isinstance(t, str) for t in trigger):
                raise ValidationError("trigger must be a list of names such as ['workflow'] (or [] for none)")
            body["trigger"] = list(trigger)
        return body

    async def create(self, record: RecordInput, *, trigger: Trigger = DEFAULT) -> WriteResult:
        """Insert one record. ``trigger=[]`` suppresses workflows; the default is Zoho's.

        A record read from Bigin is refused (:class:`ValidationError`): :meth:`update` changes
        it; a copy is created from the fields to copy (see :class:`~bigin_async.models.Record`).
        """
        wire = self._record_wire(record, new=True)
        return await self._write_one("POST", self._path, self._body([wire], trigger), action="insert")

    async def update(self, id: str, changes: RecordInput, *, trigger: Trigger = DEFAULT) -> WriteResult:
        """Change fields of one record; only the fields given are sent.

        ``changes`` may be a record read from Bigin: only the fields assigned since the read go
        out, so fields others edited meanwhile are left as they are. An id that is not there (never
        created, or deleted) raises :class:`~bigin_async.errors.RecordNotFoundError`, a
        :class:`NotFoundError` as :meth:`get` raises, with Zoho's code (``INVALID_DATA``) and details.
        """
        record_id = check_id(id)
        wire = self._record_wire(changes)
        if "id" in wire and str(wire["id"]) != record_id:
            raise ValidationError(f"changes carry id {wire['id']!r} but the update targets {record_id}")
        wire.pop("id", None)
        if not wire:
            raise ValidationError("empty changes: nothing to update")
        try:
            return await self._write_one(
                "PUT", f"{self._path}/{record_id}", self._body([wire], trigger), action="update"
            )
        except InvalidRequestError as error:
            missing = missing_record(error, self.module_api_name, record_id)
            if missing is error:
                raise
            raise missing from None

    async def upsert(
        self,
        record: RecordInput,
        duplicate_check_fields: Sequence[str] | None = None,
        *,
        trigger: Trigger = DEFAULT,
    ) -> WriteResult:
        """Insert, or update the record matching on ``duplicate_check_fields`` (default: the unique field).

        Retried after a lost answer only when the record has a value in one of those fields:
        without one Bigin cannot find it again and inserts, so a second send would insert a second
        record; then a lost answer raises :class:`AmbiguousWriteError` instead. A record read
        from Bigin is refused, as by :meth:`create` (upserting it would be an update by id).
        """
        wire = self._record_wire(record, new=True)
        # Under Bigin's names on the wire too: the alias "Company_Name" is Account_Name there.
        check = (
            list(upsert_key_fields(self.module_api_name, check_field_names(duplicate_check_fields)))
            if duplicate_check_fields is not None
            else None
        )
        body = self._body([wire], trigger)
        if check is not None:
            body["duplicate_check_fields"] = check
        keyed = carries_upsert_key(wire, self.module_api_name, check)
        return await self._write_one("POST", f"{self._path}/upsert", body, action="upsert", idempotent=keyed)

    async def delete(self, id: str) -> WriteResult:
        """Delete one record. An id that is not there (never created, or deleted) raises
        :class:`~bigin_async.errors.RecordNotFoundError`, a :class:`NotFoundError` as :meth:`get`
        raises, with Zoho's code (``INVALID_DATA``) and details.

        Except after an attempt whose answer was lost (retried): that attempt may have deleted
        the record, and Bigin answers "not found" alike for it and for an id that never existed,
        so the result is a success with code ``MAYBE_ALREADY_DELETED`` and
        ``details["maybe_never_existed"]``, as ``bulk_delete`` reports it.
        """
        record_id = check_id(id)

        def parse(response: httpx.Response) -> WriteResult:
            return delete_result(response, record_id)

        try:
            return await self._send_response(
                "DELETE", f"{self._path}/{record_id}", parse, raise_for_status=False
            )
        except InvalidRequestError as error:
            missing = missing_record(error, self.module_api_name, record_id)
            if missing is error:
                raise
            raise missing from None

    # -- attachments --------------------------------------------------------------------------
    def attachments(self, record_id: str) -> AttachmentsClient:
        """The files and links attached to one record: ``list``, ``upload``, ``attach_link``,
        ``download``, ``delete`` (see :class:`~bigin_async.resources.attachments.AttachmentsClient`).

        Notes take no attachments in Bigin: ``bigin.notes.attachments(id)`` raises
        :class:`ValidationError`.
        """
        return AttachmentsClient(self._transport, self.module_api_name, record_id)

    # -- bulk ---------------------------------------------------------------------------------
    def _plan(
        self,
        mode: BulkMode,
        trigger: Trigger,
        duplicate_check_fields: Sequence[str] | None = None,
        batch_size: int = BATCH_LIMIT,
        retry_failed: bool = False,
    ) -> BulkPlan:
        return BulkPlan(
            module=self.module_api_name,
            mode=mode,
            duplicate_check_fields=check_field_names(duplicate_check_fields)
            if duplicate_check_fields is not None
            else None,
            trigger=None if isinstance(trigger, Default) else trigger,
            send_trigger=not isinstance(trigger, Default),
            batch_size=batch_size,
            retry_failed=retry_failed,
        )

    async def _bulk(
        self,
        plan: BulkPlan,
        records: BulkInput,
        journal: str | None,
        on_result: ResultCallback | None,
        on_progress: BulkProgressCallback | None,
        keep_outcomes: bool | None,
        via: Via = "calls",
        importing: ImportPlan | None = None,
        workdir: str | os.PathLike[str] | None = None,
    ) -> BulkResult:
        """One bulk run of ``plan`` on this client's transport (the four ``bulk_*`` methods and
        ``bulk_import`` share it): through calls, or through Bulk Write jobs (``importing``, else
        derived from ``plan``) as ``via`` says (:mod:`bigin_async.bulk.jobs.via`)."""

        async def calls(chosen: BulkInput) -> BulkResult:
            return await run_bulk(
                self._transport,
                plan,
                chosen,
                journal_path=journal,
                on_result=on_result,
                on_progress=on_progress,
                keep_outcomes=keep_outcomes,
            )

        if via == "calls":
            return await calls(records)
        if importing is None:
            importing, why = self._jobs_plan(plan)
            if importing is None:
                if via == "jobs":
                    raise ValidationError(f"this write cannot go through Bulk Write jobs: {why}")
                return await calls(records)
        jobs_plan = importing

        async def field_names() -> builtins.list[str]:
            return await self._context.settings.field_names(jobs_plan.module)

        async def fresh_field_names() -> builtins.list[str]:  # past the client's cache
            return await self._context.settings.field_names(jobs_plan.module, refresh=True)

        async def jobs(chosen: BulkInput) -> BulkResult:
            return await run_import(
                self._context.bulk_jobs,
                jobs_plan,
                chosen,
                journal_path=journal,
                workdir=workdir,
                on_result=on_result,
                on_progress=on_progress,
                keep_outcomes=keep_outcomes,
                field_names=field_names,
                fresh_field_names=fresh_field_names,
                on_batch_done=batch_done,
            )

        async def batch_done(number: int, outcomes: Sequence[RecordOutcome]) -> None:
            await tell_batch_done(self._transport, plan, number, outcomes)

        return await write_via(via, records, calls=calls, jobs=jobs, journal=journal)

    def _jobs_plan(self, plan: BulkPlan) -> tuple[ImportPlan | None, str]:
        """The Bulk Write job doing what ``plan`` does, or None and why no job can."""
        if plan.send_trigger:
            return None, "a job runs no workflows (trigger=), use via='calls'"
        if plan.mode == "delete":
            return None, "Bulk Write does not delete"
        if plan.mode == "upsert":
            keys = upsert_key_fields(plan.module, plan.duplicate_check_fields)
            if len(keys) != 1:
                return (
                    None,
                    "a job's upsert finds records by exactly one unique field (duplicate_check_fields)",
                )
            operation: Operation = "upsert"
            find_by: str | None = keys[0]
        else:
            operation, find_by = ("update", "id") if plan.mode == "update" else ("insert", None)
        try:
            return ImportPlan(plan.module, operation, find_by).checked(), ""
        except ValidationError as error:
            return None, str(error)

    async def bulk_create(
        self,
        records: BulkInput,
        *,
        trigger: Trigger = DEFAULT,
        journal: str | None = None,
        on_result: ResultCallback | None = None,
        on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None,
        batch_size: int = BATCH_LIMIT,
        via: Via = "calls",
    ) -> BulkResult:
        """Insert any number of records (any iterable or async iterable), 100 a call, each accounted for.

        An insert whose answer is lost is never re-sent (it could duplicate): it is reported as
        ``unknown``. ``journal=`` makes a crashed run resumable without duplicates. ``via="jobs"``
        (or ``"auto"``, jobs above 5,000 records) goes through Bulk Write jobs: see :meth:`bulk_import`.
        """
        return await self._bulk(
            self._plan("create", trigger, batch_size=batch_size),
            records,
            journal,
            on_result,
            on_progress,
            keep_outcomes,
            via,
        )

    async def bulk_update(
        self,
        records: BulkInput,
        *,
        trigger: Trigger = DEFAULT,
        journal: str | None = None,
        on_result: ResultCallback | None = None,
        on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None,
        batch_size: int = BATCH_LIMIT,
        via: Via = "calls",
    ) -> BulkResult:
        """Update any number of records; each must carry its ``id`` (``via``: see :meth:`bulk_create`)."""
        return await self._bulk(
            self._plan("update", trigger, batch_size=batch_size),
            records,
            journal,
            on_result,
            on_progress,
            keep_outcomes,
            via,
        )

    async def bulk_upsert(
        self,
        records: BulkInput,
        duplicate_check_fields: Sequence[str] | None = None,
        *,
        trigger: Trigger = DEFAULT,
        journal: str | None = None,
        on_result: ResultCallback | None = None,
        on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None,
        batch_size: int = BATCH_LIMIT,
        via: Via = "calls",
    ) -> BulkResult:
        """Insert-or-update any number of records on ``duplicate_check_fields`` (safe to retry and resume).

        ``via="jobs"`` needs one duplicate-check field (the job's ``find_by``; without
        ``duplicate_check_fields``, the module's unique field).
        """
        plan = self._plan("upsert", trigger, duplicate_check_fields, batch_size=batch_size)
        return await self._bulk(plan, records, journal, on_result, on_progress, keep_outcomes, via)

    async def bulk_import(
        self,
        records: BulkInput,
        *,
        operation: Operation = "insert",
        find_by: str | None = None,
        journal: str | os.PathLike[str] | None = None,
        on_progress: BulkProgressCallback | None = None,
        on_result: ResultCallback | None = None,
        keep_outcomes: bool | None = None,
        via: Via = "auto",
        workdir: str | os.PathLike[str] | None = None,
        poll_interval: float = 5.0,
        max_parallel_jobs: int = 1,
        callback_url: str | None = None,
    ) -> BulkResult:
        """Import any number of records through Bulk Write jobs: 500 credits per 25,000 records.

        Records stream into zipped CSV parts of at most 25,000 records and 25 MB, written in
        ``workdir`` (default: beside the journal, else a temporary directory removed at the end);
        each part is uploaded, its job created and waited on (``poll_interval`` seconds between
        polls, slower while the job stays in one state), and its result read back: the same
        :class:`~bigin_async.bulk.BulkResult` as :meth:`bulk_create`, one outcome per record in
        input order (``SKIPPED`` rows are errors with the row's code). ``operation`` is
        ``insert``, ``update`` (``find_by="id"`` or a unique field) or ``upsert`` (``find_by``: a
        unique field, default the module's). Empty values are left out (a job leaves those
        fields as they are), so an update or upsert through a job that clears a field with
        ``None`` is refused, with its own ``INVALID_INPUT`` error naming the field, rather than
        reported done with the field kept; an upsert's ``None`` in a mandatory field is the
        ``MANDATORY_NOT_FOUND`` the calls would get (insert or update alike), and ``None`` in its
        ``find_by`` field is no key (the record is inserted). A record naming a field the module
        lacks (checked against its field metadata, read once per run) gets its own
        ``INVALID_DATA`` error: sent, it would fail every record of its job. An ``ADDED`` or
        ``UPDATED`` result row without a record id is ``unknown`` (unless the record was updated
        by id), as is a record whose result row is missing or cannot be told apart from
        another's. Text is imported raw, formula-looking text included.

        ``journal=`` logs every stage of every part, so a re-run with the same input after a
        crash never creates a job twice: see :mod:`bigin_async.bulk.jobs.write`. ``via="auto"``
        (the default) goes through 100-record calls for 5,000 records or fewer, ``"calls"``
        always does (insert → :meth:`bulk_create`, update → :meth:`bulk_update`, upsert →
        :meth:`bulk_upsert` on ``find_by``). Notes and other modules Bulk Write does not take
        are refused before anything is sent, unless ``via="calls"``. ``on_progress`` gets
        :class:`~bigin_async.bulk.BulkProgress` at each phase (writing, uploading, waiting,
        reading) of each part.
        """
        if operation not in _IMPORT_MODES:
            raise ValidationError(f"operation must be insert, update or upsert, got {operation!r}")
        if operation == "upsert" and find_by is None:
            unique = upsert_key_fields(self.module_api_name)
            find_by = unique[0] if len(unique) == 1 else None
        if operation == "update" and find_by is None:
            find_by = "id"
        plan = self._plan(
            _IMPORT_MODES[operation], DEFAULT, [find_by] if operation == "upsert" and find_by else None
        )
        if via == "auto" and operation == "update" and find_by != "id":
            via = "jobs"  # calls update by id only: records found by another field go through jobs
        if via == "calls":
            if operation == "update" and find_by != "id":
                raise ValidationError(
                    "an update through calls finds records by id: use find_by='id' or via='jobs'"
                )
            return await self._bulk(plan, records, _path_text(journal), on_result, on_progress, keep_outcomes)
        importing = ImportPlan(
            self.module_api_name,
            operation,
            find_by,
            callback_url=callback_url,
            poll_interval=poll_interval,
            max_parallel_jobs=max_parallel_jobs,
        ).checked()  # refused before anything is sent: Notes, a missing find_by...
        return await self._bulk(
            plan,
            records,
            _path_text(journal),
            on_result,
            on_progress,
            keep_outcomes,
            via,
            importing,
            workdir,
        )

    async def bulk_delete(
        self,
        ids: Iterable[str] | AsyncIterable[str],
        *,
        journal: str | None = None,
        on_result: ResultCallback | None = None,
        on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None,
        batch_size: int = BATCH_LIMIT,
    ) -> BulkResult:
        """Delete any number of records by id, 100 ids per call."""
        return await self._bulk(
            self._plan("delete", DEFAULT, batch_size=batch_size),
            ids,
            journal,
            on_result,
            on_progress,
            keep_outcomes,
        )

    def bulk_writer(
        self,
        mode: BulkMode = "create",
        duplicate_check_fields: Sequence[str] | None = None,
        *,
        trigger: Trigger = DEFAULT,
        journal: str | None = None,
        on_result: ResultCallback | None = None,
        on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None,
        batch_size: int = BATCH_LIMIT,
    ) -> BulkWriter:
        """A writer for producers that make records over time: ``async with ... as w: await w.add(r)``."""
        if mode not in ("create", "update", "upsert", "delete"):
            raise ValidationError(f"mode must be create, update, upsert or delete, got {mode!r}")
        plan = self._plan(mode, trigger, duplicate_check_fields, batch_size=batch_size)
        return BulkWriter(
            self._transport,
            plan,
            journal=journal,
            on_result=on_result,
            on_progress=on_progress,
            keep_outcomes=keep_outcomes,
        )

    def bulk_export(
        self,
        *,
        fields: Sequence[str] | None = None,
        criteria: Criteria | Mapping[str, Any] | None = None,
        to: str | os.PathLike[str] | None = None,
        via: Via = "jobs",
        poll_interval: float = 5.0,
        on_progress: ExportProgressCallback | None = None,
        workdir: str | os.PathLike[str] | None = None,
    ) -> BulkExport[R]:
        """Every record (or those matching ``criteria``) through Bulk Read jobs: ``async for r in ...``.

        50 credits a page of 200,000 records, read row by row from the downloaded CSV (memory
        flat in the record count); ``fields`` None reads all the module's fields. ``to="x.csv"``
        keeps each page's CSV (``x.csv``, ``x-2.csv``...). ``via="calls"`` reads pages of 200
        instead, ``"auto"`` picks calls below ``AUTO_JOBS_THRESHOLD_READ`` (10,000) records.
        See :class:`~bigin_async.bulk.jobs.read.BulkExport`.
        """
        module, context = self.module_api_name, self._context

        def records(names: Sequence[str], where: Criteria | None) -> AsyncPaginator[R]:
            if where is None:
                return self.list(fields=list(names), sort_by="id", sort_order="asc")
            return self.search(criteria=where, fields=list(names))

        source = ExportSource(
            module=module,
            model=self.model,
            jobs=context.bulk_jobs,
            field_metadata=lambda: context.settings.fields(module),
            records=records,
            coql=lambda query: coql_paginator(self._transport, query),
            calls_max_fields=MAX_FIELDS_PER_READ,
        )
        return BulkExport(
            source,
            fields=fields,
            criteria=criteria,
            to=to,
            via=via,
            poll_interval=poll_interval,
            on_progress=on_progress,
            workdir=workdir,
        )

    # -- tags ---------------------------------------------------------------------------------
    async def add_tags(self, ids: Sequence[str], tags: Sequence[str]) -> builtins.list[WriteResult]:
        """Attach tags (by name) to records; Bigin creates tags it does not know yet.

        Any number of records: Zoho takes 500 a call, so more are cut into calls (1,200 records:
        3 calls), and the answer is one result per record, in the order given, each with ``.ok``.
        See :func:`~bigin_async.resources.tags.send_tag_action`.
        """
        return await self._tags("add_tags", ids, tags)

    async def remove_tags(self, ids: Sequence[str], tags: Sequence[str]) -> builtins.list[WriteResult]:
        """Detach tags (by name) from records, 500 a call like ``add_tags``; the tags stay defined."""
        return await self._tags("remove_tags", ids, tags)

    async def _tags(self, action: str, ids: Sequence[str], tags: Sequence[str]) -> builtins.list[WriteResult]:
        return await send_tag_action(self._transport, self._path, action, ids, tags)
