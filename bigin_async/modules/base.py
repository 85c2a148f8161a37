"""``ModuleClient``: the one base class behind every module (Contacts, Accounts, Pipelines, ...).

A module file only names its API module, its record class and its default fields; reading,
searching, writing, related lists, tags and bulk writes all live here once. Every call goes
through the client's single transport, so pooling, limits and retries apply everywhere alike.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, Union

from bigin_async.bulk.engine import BATCH_LIMIT, BulkMode, BulkPlan, run_bulk
from bigin_async.bulk.results import BulkResult, ResultCallback
from bigin_async.bulk.results import ProgressCallback as BulkProgressCallback
from bigin_async.bulk.writer import BulkWriter
from bigin_async.criteria import Criteria, criteria_to_str
from bigin_async.errors import (
    APIError,
    NotFoundError,
    RecordError,
    ValidationError,
    error_class,
    error_from_response,
)
from bigin_async.inputs import FIELD_NAME, check_field_names, check_id, check_module_name, check_record
from bigin_async.models import Record, WriteResult, model_for, parse_page, parse_write_results
from bigin_async.pagination import AsyncPaginator, PageRequest, ProgressCallback

if TYPE_CHECKING:
    from bigin_async.client import BiginClient

__all__ = ["DEFAULT", "REFERENCE_NAMES", "ModuleClient", "RecordInput", "api_name"]

# The reference's module names, where Bigin's API names differ ("/Companies" is INVALID_MODULE).
REFERENCE_NAMES = {"Companies": "Accounts", "Deals": "Pipelines"}


def api_name(module: str) -> str:
    """Bigin's API name for a module, accepting the reference's "Companies" and "Deals"."""
    return REFERENCE_NAMES.get(module, module)

R = TypeVar("R", bound=Record)
RecordInput = Union[Mapping[str, Any], Record]
FieldsSpec = Union[None, str, Sequence[str]]
BulkInput = Union[Iterable[Any], AsyncIterable[Any]]


class _Default:
    """Marker for "let Zoho apply its default" (e.g. workflow triggers)."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()

SEARCH_WALL_ADVICE = (
    "search pages by number only (Zoho sends it no tokens). Narrow the criteria, or use list() "
    "with sort_by, or COQL"
)

def record_error(result: WriteResult, *, method: str, url: str, status: int) -> APIError:
    """The typed error for one failed record, keeping the server's code, message and details."""
    # By the code's meaning when Zoho's code is known; the HTTP status says nothing about one
    # record of a 2xx batch answer, so an unknown code is a plain RecordError.
    cls = error_class(result.code, 200)
    if cls is APIError or result.code is None:
        cls = RecordError
    return cls(
        result.message or "record failed",
        status_code=status,
        code=result.code,
        details=result.details,
        method=method,
        url=url,
    )


class ModuleClient(Generic[R]):
    """Operations on one Bigin module. Get one from the client: ``bigin.contacts``, ``bigin.module("X")``."""

    module_api_name: ClassVar[str] = ""
    model: type[R]
    default_fields: ClassVar[tuple[str, ...]] = ("Owner", "Created_Time", "Modified_Time")

    def __init__(self, client: BiginClient, module_api_name: str | None = None, model: type[R] | None = None) -> None:
        self._client = client
        self._transport = client.transport
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
    async def _fetch(self, path: str, params: Mapping[str, Any]) -> bytes:
        response = await self._transport.send("GET", path, params=params)
        return response.content if response.status_code != 204 else b""

    async def resolve_fields(self, fields: FieldsSpec, module: str | None = None) -> str:
        """The ``fields`` parameter: given names, the module's defaults, or ``"all"`` (metadata)."""
        module = module or self.module_api_name
        if fields is None:
            names: Sequence[str] = self._defaults_for(module)
        elif fields == "all":
            names = await self._client.settings.field_names(module)
        elif isinstance(fields, str):
            names = [f.strip() for f in fields.split(",") if f.strip()]
        else:
            names = list(fields)
        if not names:
            raise ValidationError("fields must name at least one field")
        for name in names:
            if not isinstance(name, str) or not FIELD_NAME.match(name):
                raise ValidationError(f"invalid field name {name!r}")
        return ",".join(dict.fromkeys(names))

    def _defaults_for(self, module: str) -> Sequence[str]:
        if module == self.module_api_name:
            return self.default_fields
        from bigin_async.modules.registry import default_fields_for

        return default_fields_for(module)

    async def get(self, id: str, fields: FieldsSpec = None) -> R:
        """One record by id; a missing or deleted id raises :class:`NotFoundError` (Bigin answers 204)."""
        record_id = check_id(id)
        params = {"fields": await self.resolve_fields(fields)} if fields is not None else None
        path = f"{self._path}/{record_id}"
        response = await self._transport.send("GET", path, params=params)
        page = parse_page(self.model, response.content if response.status_code != 204 else b"")
        if not page.data:
            raise NotFoundError(
                f"no {self.module_api_name} record with id {record_id}",
                status_code=response.status_code,
                code="RECORD_NOT_FOUND",
                method="GET",
                url=str(response.request.url),
            )
        return page.data[0]

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
        """All records, page after page (past record 2,000 through page tokens)."""
        if sort_order is not None and sort_order not in ("asc", "desc"):
            raise ValidationError(f"sort_order must be 'asc' or 'desc', got {sort_order!r}")
        if sort_by is not None and not FIELD_NAME.match(sort_by):
            raise ValidationError(f"invalid sort_by field {sort_by!r}")
        params = {"sort_by": sort_by, "sort_order": sort_order, "cvid": check_id(cvid, "cvid") if cvid else None}
        return self._paginate(self._path, params, fields, per_page=per_page, max_records=max_records, on_progress=on_progress)

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
        raises :class:`PaginationLimitError` rather than silently stopping.
        """
        modes = {"criteria": criteria, "email": email, "phone": phone, "word": word}
        given = [name for name, value in modes.items() if value is not None]
        if len(given) != 1:
            raise ValidationError(f"search needs exactly one of criteria, email, phone, word; got {given or 'none'}")
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

        The reference's "Companies" and "Deals" name the ``Accounts`` and ``Pipelines`` lists.
        """
        record_id = check_id(id)
        name = check_module_name(api_name(related_list) if isinstance(related_list, str) else related_list)
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
            return {"fields": await self.resolve_fields(fields, fields_module)}

        request = PageRequest(
            path=path, params=params, supports_tokens=supports_tokens, resolve_params=resolve, wall_advice=wall_advice
        )
        return AsyncPaginator(
            self._fetch, request, model or self.model, per_page=per_page, max_records=max_records, on_progress=on_progress
        )

    # -- writing ------------------------------------------------------------------------------
    async def _write_one(
        self, method: str, path: str, body: dict[str, Any], *, action: str, params: Mapping[str, Any] | None = None
    ) -> WriteResult:
        response = await self._transport.send(method, path, json=body, params=params)
        results = parse_write_results(response.content)
        if not results:
            raise APIError(
                "the server answered a write without a per-record result",
                status_code=response.status_code,
                code="MALFORMED_RESPONSE",
                method=method,
                url=str(response.request.url),
            )
        result = results[0]
        if result.action is None:
            result.action = action
        if not result.ok:
            raise record_error(result, method=method, url=str(response.request.url), status=response.status_code)
        return result

    @staticmethod
    def _body(records: builtins.list[dict[str, Any]], trigger: Sequence[str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"data": records}
        if trigger is not DEFAULT:
            if trigger is None:
                trigger = []
            if isinstance(trigger, str) or not all(isinstance(t, str) for t in trigger):
                raise ValidationError("trigger must be a list of names such as ['workflow'] (or [] for none)")
            body["trigger"] = list(trigger)
        return body

    async def create(self, record: RecordInput, *, trigger: Sequence[str] | None = DEFAULT) -> WriteResult:
        """Insert one record. ``trigger=[]`` suppresses workflows; the default is Zoho's."""
        wire = check_record(record, self.module_api_name)
        return await self._write_one("POST", self._path, self._body([wire], trigger), action="insert")

    async def update(self, id: str, changes: RecordInput, *, trigger: Sequence[str] | None = DEFAULT) -> WriteResult:
        """Change fields of one record; only the fields given are sent."""
        record_id = check_id(id)
        wire = check_record(changes, self.module_api_name)
        if "id" in wire and str(wire["id"]) != record_id:
            raise ValidationError(f"changes carry id {wire['id']!r} but the update targets {record_id}")
        wire.pop("id", None)
        if not wire:
            raise ValidationError("empty changes: nothing to update")
        return await self._write_one("PUT", f"{self._path}/{record_id}", self._body([wire], trigger), action="update")

    async def upsert(
        self,
        record: RecordInput,
        duplicate_check_fields: Sequence[str] | None = None,
        *,
        trigger: Sequence[str] | None = DEFAULT,
    ) -> WriteResult:
        """Insert, or update the record that matches on ``duplicate_check_fields`` (default: the module's unique field)."""
        body = self._body([check_record(record, self.module_api_name)], trigger)
        if duplicate_check_fields is not None:
            body["duplicate_check_fields"] = check_field_names(duplicate_check_fields)
        return await self._write_one("POST", f"{self._path}/upsert", body, action="upsert")

    async def delete(self, id: str) -> WriteResult:
        """Delete one record. Deleting an already-deleted id is an error in Bigin."""
        record_id = check_id(id)
        response = await self._transport.send("DELETE", f"{self._path}/{record_id}", raise_for_status=False)
        results = parse_write_results(response.content) if response.content.strip() else []
        result = results[0] if results else WriteResult(id=record_id, code="SUCCESS", status="success")
        result.action = "delete"
        if not result.ok and result.code == "INVALID_DATA" and response.extensions.get("bigin_ambiguous_attempts"):
            # An earlier attempt's answer was lost and this one finds the id gone: that attempt worked.
            return WriteResult(id=record_id, code="ALREADY_DELETED", status="success", action="delete",
                               message="deleted by an earlier attempt whose answer was lost")
        if response.status_code >= 400 and not results:
            raise error_from_response(response)
        if not result.ok:
            raise record_error(result, method="DELETE", url=str(response.request.url), status=response.status_code)
        return result

    # -- bulk ---------------------------------------------------------------------------------
    def _plan(
        self, mode: BulkMode, trigger: Sequence[str] | None, duplicate_check_fields: Sequence[str] | None = None,
        batch_size: int = BATCH_LIMIT, retry_failed: bool = False,
    ) -> BulkPlan:
        return BulkPlan(
            module=self.module_api_name,
            mode=mode,
            duplicate_check_fields=check_field_names(duplicate_check_fields) if duplicate_check_fields is not None else None,
            trigger=None if trigger is DEFAULT else trigger,
            send_trigger=trigger is not DEFAULT,
            batch_size=batch_size,
            retry_failed=retry_failed,
        )

    async def _bulk(self, plan: BulkPlan, records: BulkInput, options: dict[str, Any]) -> BulkResult:
        return await run_bulk(self._transport, plan, records, **options)

    async def bulk_create(
        self, records: BulkInput, *, trigger: Sequence[str] | None = DEFAULT, journal: str | None = None,
        on_result: ResultCallback | None = None, on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None, batch_size: int = BATCH_LIMIT,
    ) -> BulkResult:
        """Insert any number of records (any iterable or async iterable), 100 per call, every one accounted for.

        An insert whose answer is lost is never re-sent (it could duplicate): it is reported as
        ``unknown``. ``journal=`` makes a crashed run resumable without duplicates.
        """
        options = {"journal_path": journal, "on_result": on_result, "on_progress": on_progress, "keep_outcomes": keep_outcomes}
        return await self._bulk(self._plan("create", trigger, batch_size=batch_size), records, options)

    async def bulk_update(
        self, records: BulkInput, *, trigger: Sequence[str] | None = DEFAULT, journal: str | None = None,
        on_result: ResultCallback | None = None, on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None, batch_size: int = BATCH_LIMIT,
    ) -> BulkResult:
        """Update any number of records; each must carry its ``id``."""
        options = {"journal_path": journal, "on_result": on_result, "on_progress": on_progress, "keep_outcomes": keep_outcomes}
        return await self._bulk(self._plan("update", trigger, batch_size=batch_size), records, options)

    async def bulk_upsert(
        self, records: BulkInput, duplicate_check_fields: Sequence[str] | None = None, *,
        trigger: Sequence[str] | None = DEFAULT, journal: str | None = None,
        on_result: ResultCallback | None = None, on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None, batch_size: int = BATCH_LIMIT,
    ) -> BulkResult:
        """Insert-or-update any number of records on ``duplicate_check_fields`` (safe to retry and resume)."""
        options = {"journal_path": journal, "on_result": on_result, "on_progress": on_progress, "keep_outcomes": keep_outcomes}
        plan = self._plan("upsert", trigger, duplicate_check_fields, batch_size=batch_size)
        return await self._bulk(plan, records, options)

    async def bulk_delete(
        self, ids: Iterable[str] | AsyncIterable[str], *, journal: str | None = None,
        on_result: ResultCallback | None = None, on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None, batch_size: int = BATCH_LIMIT,
    ) -> BulkResult:
        """Delete any number of records by id, 100 ids per call."""
        options = {"journal_path": journal, "on_result": on_result, "on_progress": on_progress, "keep_outcomes": keep_outcomes}
        return await self._bulk(self._plan("delete", DEFAULT, batch_size=batch_size), ids, options)

    def bulk_writer(
        self, mode: BulkMode = "create", duplicate_check_fields: Sequence[str] | None = None, *,
        trigger: Sequence[str] | None = DEFAULT, journal: str | None = None,
        on_result: ResultCallback | None = None, on_progress: BulkProgressCallback | None = None,
        keep_outcomes: bool | None = None, batch_size: int = BATCH_LIMIT,
    ) -> BulkWriter:
        """A writer for producers that make records over time: ``async with ... as w: await w.add(r)``."""
        if mode not in ("create", "update", "upsert", "delete"):
            raise ValidationError(f"mode must be create, update, upsert or delete, got {mode!r}")
        plan = self._plan(mode, trigger, duplicate_check_fields, batch_size=batch_size)
        return BulkWriter(
            self._transport, plan, journal=journal, on_result=on_result, on_progress=on_progress, keep_outcomes=keep_outcomes
        )

    # -- tags ---------------------------------------------------------------------------------
    async def add_tags(self, ids: Sequence[str], tags: Sequence[str]) -> builtins.list[WriteResult]:
        """Attach tags (by name) to records; Bigin creates tags it does not know yet."""
        return await self._tags("add_tags", ids, tags)

    async def remove_tags(self, ids: Sequence[str], tags: Sequence[str]) -> builtins.list[WriteResult]:
        """Detach tags (by name) from records; the tags themselves stay defined."""
        return await self._tags("remove_tags", ids, tags)

    async def _tags(self, action: str, ids: Sequence[str], tags: Sequence[str]) -> builtins.list[WriteResult]:
        if isinstance(ids, str):
            ids = [ids]
        if isinstance(tags, str):
            tags = [tags]
        record_ids = [check_id(i) for i in ids]
        if not record_ids or len(record_ids) > 100:
            raise ValidationError("tag 1 to 100 records at a time")
        names = [t.strip() for t in tags if isinstance(t, str) and t.strip() and "," not in t]
        if not names or len(names) != len(tags):
            # A comma would split one name into two in the ``tag_names`` parameter.
            raise ValidationError(f"tags must be non-empty names without commas, got {tags!r}")
        response = await self._transport.send(
            "POST",
            f"{self._path}/actions/{action}",
            params={"ids": ",".join(record_ids), "tag_names": ",".join(names)},
            json={"tags": [{"name": n} for n in names], "ids": record_ids},
        )
        return parse_write_results(response.content)
