"""Tags as first-class objects (``bigin.tags``), and tagging records 500 at a time.

``/settings/tags`` defines a module's tags: list, create, update (rename, recolour), delete, merge
one into another, count the records carrying one. ``add_tags``/``remove_tags`` on the module
clients put tags on records and take them off; they send :func:`send_tag_action`, which cuts a
long list of records into calls of Zoho's 500 and gives one result per record, in input order.

What a lost answer means, call by call:

- ``add_tags``/``remove_tags``, update: the same call sent twice leaves the records or the tag as
  one would, so the transport retries them;
- delete: retried too, and the retry may find the tag gone because the lost attempt deleted it.
  Zoho answers ``INVALID_DATA`` "tags not found" alike for that and for an id that never
  existed, so after such a retry the result is a success with code ``MAYBE_ALREADY_DELETED`` and
  ``details["maybe_never_existed"]`` (as a record's ``delete()``), never a false failure;
- create, merge: POSTs treated as inserts; a lost answer raises :class:`AmbiguousWriteError`
  (the tags may have been created, or merged) rather than being sent again.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import httpx

from bigin_async._inputs import check_id, check_id_list, check_module_name
from bigin_async.errors import NotFoundError, ValidationError
from bigin_async.models import Tag, WriteResult
from bigin_async.models.modules import api_name
from bigin_async.models.tags import (
    MAX_TAG_RECORDS,
    check_color_code,
    check_tag_name,
    check_tag_names,
    parse_records_count,
    parse_tag_results,
    parse_tags,
)
from bigin_async.resources._answers import as_write_answer, batch_results, delete_result, line_up_by_name
from bigin_async.resources._base import APIResource, body_of, checked_results

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = ["MAX_TAG_RECORDS", "NewTag", "TagsClient", "check_tag_record_ids", "send_tag_action"]

# A tag to create: a name, a Tag, or a mapping with "name" and maybe "color_code".
NewTag = Union[str, Tag, Mapping[str, Any]]


def _module(module: object) -> str:
    if not isinstance(module, str):
        raise ValidationError(f"module must be a module's API name, not {type(module).__name__}")
    return check_module_name(api_name(module))


def _new_tag(tag: object) -> dict[str, Any]:
    """The wire form of one tag to create: ``{"name"}``, with ``"color_code"`` when one is given."""
    name: object
    color: object
    if isinstance(tag, (str, Tag)):
        name, color = (tag, None) if isinstance(tag, str) else (tag.name, tag.color_code)
    elif isinstance(tag, Mapping):
        unknown = set(tag) - {"name", "color_code"}
        if unknown:
            raise ValidationError(f"a new tag has a name and a color_code only, got {sorted(unknown)}")
        name, color = tag.get("name"), tag.get("color_code")
    else:
        raise ValidationError(f"a new tag is a name, a Tag or a mapping, not {type(tag).__name__}")
    wire: dict[str, Any] = {"name": check_tag_name(name)}
    if color is not None:
        wire["color_code"] = check_color_code(color)
    return wire


def _tag_from(result: WriteResult, sent: Mapping[str, Any]) -> Tag:
    """The tag a create or update made: what was sent, overlaid with what Zoho's details say."""
    return Tag.model_validate({**sent, **{k: v for k, v in result.details.items() if v is not None}})


def _created_name(result: WriteResult) -> str | None:
    """The name a create's answer gives the tag it made, when it gives one."""
    name = result.details.get("name")
    return name if isinstance(name, str) else None


def _results(response: httpx.Response, count: int) -> builtins.list[WriteResult]:
    """``count`` results of a tag write, or the typed error of the first one refused."""
    results = parse_tag_results(body_of(response))
    if len(results) != count:
        raise ValueError(f"the answer to a call about {count} tag(s) has {len(results)} results")
    return checked_results(results, response)


def check_tag_record_ids(ids: object) -> builtins.list[str]:
    """The record ids to tag: one id or a list, each a valid id, none twice, at least one.

    A duplicate is refused rather than dropped (see :func:`~bigin_async._inputs.check_id_list`):
    one result per record given could no longer be lined up with the input.
    """
    return check_id_list(ids, "record id")


async def send_tag_action(
    transport: Transport, module_path: str, action: str, ids: object, tags: object
) -> builtins.list[WriteResult]:
    """``add_tags``/``remove_tags`` on ``ids``: 500 records a call, one result per record, in order.

    ``ids`` and ``tags`` are checked before anything is sent (see :func:`check_tag_record_ids` and
    :func:`~bigin_async.models.tags.check_tag_names`). The calls go one after the other; a call
    refused as a whole (a bad tag name, a 401...) raises its typed error, and the calls before it
    stay applied (sending the same call again is harmless: tagging converges).

    Each call carries the ids and names both in the query (``ids``, ``tag_names``: Bigin's
    remove-tags page) and in the body (``{"tags": [{"name"}], "ids"}``: its add-tags page).
    """
    record_ids = check_tag_record_ids(ids)
    names = check_tag_names(tags)
    path = f"{module_path}/actions/{action}"
    results: builtins.list[WriteResult] = []
    for start in range(0, len(record_ids), MAX_TAG_RECORDS):
        batch = record_ids[start : start + MAX_TAG_RECORDS]

        def parse(response: httpx.Response, batch: builtins.list[str] = batch) -> builtins.list[WriteResult]:
            return batch_results(response, batch, "record")

        results.extend(
            await transport.send_parsed(
                "POST",
                path,
                parse,
                params={"ids": ",".join(batch), "tag_names": ",".join(names)},
                json={"tags": [{"name": name} for name in names], "ids": batch},
                raise_for_status=False,
            )
        )
    return results


class TagsClient(APIResource):
    """A module's tags (``/settings/tags``): list, create, update, delete, merge, count records.

    Modules take their API names or the aliases ``"Companies"`` and ``"Deals"``. To put tags on
    records use the module clients' ``add_tags``/``remove_tags``; a tag named there for the first
    time is created by Bigin on the way.
    """

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)

    async def list(self, module: str) -> builtins.list[Tag]:
        """The tags defined for ``module``, with their colours and who made and changed them."""
        return await self._get("/settings/tags", parse_tags, {"module": _module(module)})

    async def create(self, module: str, names_or_tags: NewTag | Sequence[NewTag]) -> builtins.list[Tag]:
        """Create tags in ``module``: names, :class:`Tag` objects or ``{"name", "color_code"}``.

        One call for them all; the tags come back in the order given, with their new ids. A name
        Bigin already has (names are matched without regard to case) is refused by Bigin
        (``DUPLICATE_DATA``), raising :class:`DuplicateRecordError`; the other tags of the call
        may have been created (``list()`` shows them). A name given twice is refused before
        sending. Zoho documents no limit on how many tags one call creates. The call is not
        sent again after a lost answer (:class:`AmbiguousWriteError`).
        """
        many = isinstance(names_or_tags, Sequence) and not isinstance(names_or_tags, str)
        items = names_or_tags if many else [names_or_tags]
        wire = [_new_tag(item) for item in items]
        names = [tag["name"] for tag in wire]
        check_tag_names(names)
        name = _module(module)

        def parse(response: httpx.Response) -> builtins.list[Tag]:
            # Zoho names each tag it made: lined up by name, so each keeps the colour it was sent with.
            results = line_up_by_name(_results(response, len(wire)), names, _created_name)
            return [_tag_from(result, sent) for result, sent in zip(results, wire, strict=True)]

        return await self._send_response(
            "POST", "/settings/tags", parse, params={"module": name}, json={"tags": wire}
        )

    async def update(
        self, module: str, tag_id: str, name: str | None = None, color_code: str | None = None
    ) -> Tag:
        """Rename or recolour one tag; what is not given stays as it is.

        Bigin's update needs the name with every change, and Zoho's pages say a ``color_code``
        left out is set to none, so when only one of the two is given the tag is read first
        (one more call, ``list(module)``) and its current value sent again. A tag that is not
        in ``module`` raises :class:`NotFoundError`. Giving neither is refused.
        """
        tag_id = check_id(tag_id, "a tag id")
        module_name = _module(module)
        if name is None and color_code is None:
            raise ValidationError("give a new name, a new color_code, or both")
        wire: dict[str, Any] = {"id": tag_id}
        if name is not None:
            wire["name"] = check_tag_name(name)
        if color_code is not None:
            wire["color_code"] = check_color_code(color_code)
        if name is None or color_code is None:
            current = next((tag for tag in await self.list(module_name) if tag.id == tag_id), None)
            if current is None:
                raise NotFoundError(f"no tag {tag_id} in {module_name}", status_code=404, code="INVALID_DATA")
            wire.setdefault("name", current.name)
            if current.color_code is not None:
                wire.setdefault("color_code", current.color_code)

        def parse(response: httpx.Response) -> Tag:
            return _tag_from(_results(response, 1)[0], wire)

        return await self._send_response(
            "PUT", f"/settings/tags/{tag_id}", parse, params={"module": module_name}, json={"tags": [wire]}
        )

    async def delete(self, tag_id: str) -> WriteResult:
        """Delete a tag: it leaves every record that carried it.

        Retried after a lost answer; a retry that finds the tag gone is a success with code
        ``MAYBE_ALREADY_DELETED`` and ``details["maybe_never_existed"]`` (see the module's
        docstring). Deleting a tag that is not there otherwise raises Zoho's error.
        """
        tag_id = check_id(tag_id, "a tag id")

        def parse(response: httpx.Response) -> WriteResult:
            return delete_result(as_write_answer(response, "tags"), tag_id)

        return await self._send_response("DELETE", f"/settings/tags/{tag_id}", parse, raise_for_status=False)

    async def merge(self, tag_id: str, into_tag_id: str) -> WriteResult:
        """Merge tag ``tag_id`` into ``into_tag_id``: its records carry ``into_tag_id`` and it is gone.

        Wire (Zoho CRM's shape; Bigin's pages do not show it, unconfirmed):
        ``POST /settings/tags/{into_tag_id}/actions/merge`` with ``{"tags": [{"conflict_id":
        tag_id}]}``; the result's ``details`` describe the tag that stays. Both tags must be of
        the same module. Not sent again after a lost answer (:class:`AmbiguousWriteError`).
        """
        merged, kept = check_id(tag_id, "a tag id"), check_id(into_tag_id, "a tag id")
        if merged == kept:
            raise ValidationError(f"a tag cannot be merged into itself ({merged})")

        def parse(response: httpx.Response) -> WriteResult:
            result = _results(response, 1)[0]
            result.action = "merge"
            return result

        return await self._send_response(
            "POST",
            f"/settings/tags/{kept}/actions/merge",
            parse,
            json={"tags": [{"conflict_id": merged}]},
        )

    async def records_count(self, module: str, tag_id: str) -> int:
        """How many records of ``module`` carry the tag (an empty 204 answer counts none)."""
        tag_id = check_id(tag_id, "a tag id")

        def parse(response: httpx.Response) -> int:
            return 0 if response.status_code == 204 else parse_records_count(body_of(response))

        return await self._send_response(
            "GET",
            f"/settings/tags/{tag_id}/actions/records_count",
            parse,
            params={"module": _module(module)},
        )
