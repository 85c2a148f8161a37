"""Team pipelines and their stages.

Some servers answer ``/settings/pipelines`` (list, get, create, update, delete). Zoho's own docs
have no such endpoint: team pipelines are layouts of the Pipelines module. ``list``/``get`` try
``/settings/pipelines`` and, when the server says that URL does not exist, build the same
``Pipeline``/``Stage`` models from ``/settings/layouts?module=Pipelines`` (and remember that).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from bigin_async._inputs import check_id
from bigin_async.errors import InvalidRequestError, NotFoundError, ValidationError
from bigin_async.models import Pipeline, Stage, WriteResult, parse_pipelines, pipelines_from_layouts
from bigin_async.resources._base import APIResource, body_of, json_object

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = ["PipelinesClient", "StageInput"]

StageInput = str | Stage | Mapping[str, Any]
_MISSING_ENDPOINT_CODES = frozenset({"INVALID_URL_PATTERN", "INVALID_MODULE", "INVALID_REQUEST", None})


class PipelinesClient(APIResource):
    """``client.pipelines``: ``await list()``, ``get(id)``, ``create``, ``update``, ``delete``."""

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self._use_layouts = False

    async def _read(self, path: str, params: Mapping[str, Any] | None = None) -> list[Pipeline]:
        # Both shapes are parsed inside the retry loop: an answer that does not parse is retried.
        layouts = path == "/settings/layouts"

        def parse(body: bytes) -> list[Pipeline]:
            decoded = json_object(body)
            return pipelines_from_layouts(decoded) if layouts else parse_pipelines(decoded)

        return await self._get(path, parse, params)

    async def list(self) -> list[Pipeline]:
        """Every team pipeline with its stages in sequence order."""
        if not self._use_layouts:
            try:
                return await self._read("/settings/pipelines")
            except (NotFoundError, InvalidRequestError) as error:
                if error.code not in _MISSING_ENDPOINT_CODES:
                    raise
                self._use_layouts = True  # this server has no such endpoint: Zoho's documented shape
        return await self._read("/settings/layouts", {"module": "Pipelines"})

    async def get(self, id: str) -> Pipeline:
        """One team pipeline by id; an unknown id raises :class:`NotFoundError`."""
        pipeline_id = check_id(id)
        if not self._use_layouts:
            try:
                found = await self._read(f"/settings/pipelines/{pipeline_id}")
            except (NotFoundError, InvalidRequestError) as error:
                if error.code not in _MISSING_ENDPOINT_CODES:
                    raise
                self._use_layouts = True
            else:
                if found:
                    return found[0]
                raise _no_pipeline(pipeline_id)  # the endpoint exists and has no such pipeline
        for pipeline in await self.list():
            if pipeline.id == pipeline_id:
                return pipeline
        raise _no_pipeline(pipeline_id)

    async def create(self, name: str, stages: Sequence[StageInput], *, default: bool = False) -> WriteResult:
        """Create a pipeline with ordered stages (names, or dicts/``Stage`` with ``probability``)."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("a pipeline needs a name")
        body = {"pipelines": [{"display_value": name.strip(), "default": default, "maps": _maps(stages)}]}
        return await self._write("POST", "/settings/pipelines", body)

    async def update(
        self,
        id: str,
        *,
        name: str | None = None,
        stages: Sequence[StageInput] | None = None,
        default: bool | None = None,
    ) -> WriteResult:
        pipeline_id = check_id(id)
        change: dict[str, Any] = {"id": pipeline_id}
        if name is not None:
            if not name.strip():
                raise ValidationError("a pipeline name cannot be empty")
            change["display_value"] = name.strip()
        if stages is not None:
            change["maps"] = _maps(stages)
        if default is not None:
            change["default"] = default
        if len(change) == 1:
            raise ValidationError("nothing to update: give name, stages or default")
        return await self._write("PUT", f"/settings/pipelines/{pipeline_id}", {"pipelines": [change]})

    async def delete(self, id: str) -> WriteResult:
        return await self._write("DELETE", f"/settings/pipelines/{check_id(id)}", None)

    async def _write(self, method: str, path: str, body: dict[str, Any] | None) -> WriteResult:
        def parse(response: httpx.Response) -> WriteResult:
            decoded = json_object(body_of(response))
            entries = decoded.get("pipelines") or decoded.get("data") or [decoded]
            result = WriteResult.model_validate(entries[0])
            if not result.ok:
                raise InvalidRequestError(
                    result.message or "pipeline write failed",
                    status_code=response.status_code,
                    code=result.code,
                    details=result.details,
                    method=method,
                    url=path,
                )
            return result

        try:
            return await self._send_response(method, path, parse, json=body, idempotent=method != "POST")
        except NotFoundError as error:
            if error.code not in _MISSING_ENDPOINT_CODES:
                raise
            raise NotFoundError(
                f"this server has no {path} endpoint: in Zoho's Bigin API team pipelines are layouts "
                "of the Pipelines module and are created and edited in Bigin's settings, not through "
                "the API (list() and get() still work, from /settings/layouts)",
                status_code=error.status_code,
                code=error.code,
                details=error.details,
                method=method,
                url=path,
            ) from error


def _no_pipeline(pipeline_id: str) -> NotFoundError:
    return NotFoundError(f"no pipeline with id {pipeline_id}", status_code=404, code="RECORD_NOT_FOUND")


def _maps(stages: Sequence[StageInput]) -> list[dict[str, Any]]:
    if isinstance(stages, str) or not stages:
        raise ValidationError("a pipeline needs a non-empty list of stages")
    maps = []
    for position, stage in enumerate(stages, start=1):
        if isinstance(stage, str):
            item: dict[str, Any] = {"display_value": stage}
        elif isinstance(stage, Stage):
            item = stage.model_dump(exclude_none=True)
        elif isinstance(stage, Mapping):
            item = dict(stage)
        else:
            raise ValidationError(f"a stage is a name, a dict or a Stage, not {type(stage).__name__}")
        if not isinstance(item.get("display_value"), str) or not item["display_value"].strip():
            raise ValidationError(f"stage {position} has no display_value (its name)")
        item.setdefault("sequence_number", position)
        maps.append(item)
    names = [m["display_value"].casefold() for m in maps]
    if len(set(names)) != len(names):
        raise ValidationError("stage names must be unique within a pipeline")
    return maps
