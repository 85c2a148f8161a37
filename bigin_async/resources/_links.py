"""Linking and unlinking related records: ``PUT`` and ``DELETE /{module}/{id}/{related_list}``.

Zoho takes at most 100 related ids a call, so longer lists are cut into calls of 100, sent one
after the other; the answer is one :class:`~bigin_async.models.WriteResult` per id, in the order
given, each with ``.ok`` (a related id Zoho refuses is a failed result, not an exception).

What a lost answer means differs. A link (``PUT {"data": [{"id"}, ...]}``) is idempotent: sent
again, Zoho answers "relation updated" for a pair already linked, so the transport retries it like
any update. An unlink (``DELETE ?ids=a,b``) is retried too, but the retry may find ids the lost
attempt already unlinked: Zoho's answer for a pair that is not linked (unconfirmed; the emulator
answers ``INVALID_DATA`` about that id) reads like a failure. After such a retry that answer is
reported as a success with code :data:`MAYBE_UNLINKED` and ``details["maybe_never_linked"]``
(the id may never have been linked, or may not exist: Zoho answers those alike), as
``delete()`` does with ``MAYBE_ALREADY_DELETED``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import httpx

from bigin_async._inputs import check_module_name
from bigin_async.bulk.answers import maybe_deleted_earlier
from bigin_async.models import WriteResult
from bigin_async.models.modules import api_name
from bigin_async.resources._answers import batch_results

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = [
    "LINK_BATCH",
    "MAYBE_UNLINKED",
    "MAYBE_UNLINKED_MESSAGE",
    "related_list_name",
    "send_links",
]

# Related ids Zoho takes in one link or unlink call.
LINK_BATCH = 100
MAYBE_UNLINKED = "MAYBE_ALREADY_UNLINKED"
MAYBE_UNLINKED_MESSAGE = (
    "not linked on this attempt: unlinked by an earlier attempt whose answer was lost, or it was "
    "never linked (Bigin answers both alike)"
)

LinkAction = Literal["link", "unlink"]


def related_list_name(related_list: object) -> str:
    """A related list's API name; "Companies" and "Deals" are aliases of ``Accounts``, ``Pipelines``."""
    return check_module_name(api_name(related_list) if isinstance(related_list, str) else related_list)


async def send_links(
    transport: Transport, path: str, related_ids: Sequence[str], action: LinkAction
) -> list[WriteResult]:
    """Link (``PUT``) or unlink (``DELETE``) ``related_ids`` to the record at ``path``, 100 a call.

    A call refused as a whole (the record id does not exist, the related list cannot be linked, a
    401...) raises its typed error; the calls before it were applied.
    """
    results: list[WriteResult] = []
    for start in range(0, len(related_ids), LINK_BATCH):
        batch = list(related_ids[start : start + LINK_BATCH])
        results.extend(await _send_batch(transport, path, batch, action))
    return results


async def _send_batch(
    transport: Transport, path: str, batch: list[str], action: LinkAction
) -> list[WriteResult]:
    def parse(response: httpx.Response) -> list[WriteResult]:
        return _batch_results(response, batch, action)

    if action == "link":
        return await transport.send_parsed(
            "PUT", path, parse, json={"data": [{"id": i} for i in batch]}, raise_for_status=False
        )
    return await transport.send_parsed(
        "DELETE", path, parse, params={"ids": ",".join(batch)}, raise_for_status=False
    )


def _batch_results(response: httpx.Response, batch: list[str], action: LinkAction) -> list[WriteResult]:
    """One result per id of ``batch``, in its order, from one answer (run in the retry loop)."""
    ordered = batch_results(response, batch, "related id")
    for result in ordered:
        result.action = action
    if action == "link":
        return ordered
    return [
        _unlinked(response, related_id, result) for related_id, result in zip(batch, ordered, strict=True)
    ]


def _unlinked(response: httpx.Response, related_id: str, result: WriteResult) -> WriteResult:
    """An unlink's result, or a flagged success when a retry finds the pair no longer linked."""
    if not maybe_deleted_earlier(response, related_id, result.ok, result.code, result.details):
        return result
    return WriteResult(
        id=related_id,
        code=MAYBE_UNLINKED,
        status="success",
        action="unlink",
        message=MAYBE_UNLINKED_MESSAGE,
        details={"id": related_id, "maybe_never_linked": True},
    )
