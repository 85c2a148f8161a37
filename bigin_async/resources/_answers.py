"""How the answer of a write reads: a record or attachment deleted, a file uploaded, ids tagged or linked.

A record's delete and an attachment's delete answer alike (``{"data": [{"code", "details":
{"id"}, ...}]}``), and both can be retried after an attempt whose answer was lost; an upload, a
link and a photo answer with one result, in ``data`` or at the top level. A call about a batch
of ids (tagging records, linking related records) answers one result per id. One reading serves
each kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import httpx

from bigin_async.bulk.answers import MAYBE_DELETED_MESSAGE, maybe_deleted_details, maybe_deleted_earlier
from bigin_async.bulk.results import MAYBE_DELETED
from bigin_async.errors import APIError, NotFoundError, RecordNotFoundError, error_from_response
from bigin_async.models import WriteResult, parse_write_results
from bigin_async.resources._base import body_of, checked_results, json_object

__all__ = [
    "as_write_answer",
    "batch_results",
    "delete_result",
    "line_up_by_name",
    "maybe_deleted_result",
    "missing_record",
    "one_result",
]

_Entry = TypeVar("_Entry")

# Headers that describe the body as sent, not the one :func:`as_write_answer` rewrites.
_BODY_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "content-type"})


def as_write_answer(response: httpx.Response, key: str) -> httpx.Response:
    """An answer with its results under ``key`` (``"tags"``, ``"users"``) moved under ``"data"``.

    Tags and users answer a write as records do, under their own key: moved, the shared readers
    here read them alike. An answer that is not a JSON object, or has no ``key`` (a request-level
    error), is read as it came.
    """
    try:
        decoded = json_object(body_of(response))
    except ValueError:
        return response
    entries = decoded.get(key)
    if entries is None:
        return response
    kept = {k: v for k, v in response.headers.items() if k.lower() not in _BODY_HEADERS}
    return httpx.Response(
        response.status_code,
        headers=kept,
        json={"data": [entries] if isinstance(entries, Mapping) else entries},
        request=response.request,
        extensions=response.extensions,
    )


def maybe_deleted_result(target_id: str) -> WriteResult:
    """The success a retried delete reports when it finds ``target_id`` gone (see :func:`delete_result`)."""
    return WriteResult(
        id=target_id,
        code=MAYBE_DELETED,
        status="success",
        action="delete",
        message=MAYBE_DELETED_MESSAGE,
        details=maybe_deleted_details(target_id),
    )


# Where Zoho points at the record's own id in a one-record write (``$.data[0].id``), not at an id
# inside one of its fields (``$.data[0].Account_Name.id``, ``$.data[0].Tag[0].id``).
_RECORD_ID_PATH = re.compile(r"\$\.data\[\d+\]\.id")


def missing_record(error: APIError, module: str, record_id: str) -> APIError:
    """``error`` as a :class:`RecordNotFoundError` when it says that record ``record_id`` is not there.

    Bigin answers an update or a delete of an id it does not have (never created, or deleted)
    with ``INVALID_DATA`` "the id given seems to be invalid", as it answers a bad value, where a
    read of that id answers 204. Told apart by the details: they name the id (``{"id": ...}``,
    or ``{"api_name": "id", ...}``), not a field (a lookup to a missing company is
    ``{"api_name": "Account_Name", "id": ...}``, and so is an id inside a field,
    ``{"api_name": "id", "json_path": "$.data[0].Account_Name.id"}``: the data's fault, left as
    it is, since a 404 for a record that is there would mislead). The code, details, status and
    URL are Zoho's, kept. Any other error is returned as it is.
    """
    if isinstance(error, NotFoundError) or error.code != "INVALID_DATA":
        return error
    details = error.details
    api_name = details.get("api_name")
    json_path = details.get("json_path")
    if isinstance(json_path, str) and not _RECORD_ID_PATH.fullmatch(json_path):
        names_the_id = False  # an id inside a field (``$.data[0].Account_Name.id``): the data's
    elif api_name is not None:
        names_the_id = api_name == "id"
    elif "id" in details:
        names_the_id = str(details["id"]) == record_id
    else:  # no details at all: only the message can say it is about the id
        names_the_id = not details and "the id given" in error.message.lower()
    if not names_the_id:
        return error
    return RecordNotFoundError(
        f"no {module} record with id {record_id} ({error.message})",
        status_code=error.status_code,
        code=error.code,
        details=details,
        method=error.method,
        url=error.url,
        headers=error.headers,
    )


def one_result(response: httpx.Response) -> WriteResult:
    """The one result of a write's answer, or the typed error when it was refused.

    A 2xx without any result is not an answer (the write may or may not have happened): it is
    raised as a malformed answer, which the transport reports as such (an upload: ambiguous).
    """
    results = parse_write_results(body_of(response))
    if not results:
        raise ValueError("the server answered a write without a result")
    return checked_results(results[:1], response)[0]


def delete_result(response: httpx.Response, target_id: str) -> WriteResult:
    """The result of deleting ``target_id`` (sent with ``raise_for_status=False``).

    After an attempt whose answer was lost (retried), the id found gone may have been deleted by
    that attempt, or never have been there (Bigin answers both alike): the result is a success
    with code ``MAYBE_ALREADY_DELETED`` and ``details["maybe_never_existed"]``, as
    ``bulk_delete`` reports it.
    """
    refused = response.status_code >= 400
    try:
        results = parse_write_results(body_of(response))
    except ValueError:
        if not refused:
            raise  # a 2xx that does not parse: retried, then MALFORMED_RESPONSE
        results = []  # a refusal whose body does not parse: the HTTP error says it
    if refused and not results:
        raise error_from_response(response)
    result = results[0] if results else WriteResult(id=target_id, code="SUCCESS", status="success")
    result.action = "delete"
    if maybe_deleted_earlier(response, target_id, result.ok, result.code, result.details):
        # An earlier attempt's answer was lost and this one finds the id gone: deleted by that
        # attempt, or never there (Bigin answers both alike): a success, flagged.
        return maybe_deleted_result(target_id)
    return checked_results([result], response)[0]


def batch_results(response: httpx.Response, batch: list[str], what: str) -> list[WriteResult]:
    """One result per id of ``batch``, in its order, from one answer (sent with ``raise_for_status=False``).

    An id Zoho refuses is a failed result, not an exception; when every id of the call fails Zoho
    may answer 400 with the per-id entries, which are read the same way. An answer without one
    entry per id is refused as a whole: a refusal raises its typed error, a 2xx a ``ValueError``
    (run in the retry loop: retried when the call may be, then a malformed answer). The results
    are lined up with ``batch`` by position, or by id when Zoho answered in another order.
    ``what`` names one id in the messages ("record", "related id").
    """
    refused = response.status_code >= 400
    try:
        decoded = json_object(body_of(response))
        # Per-id entries come in "data"; anything else is about the call as a whole.
        results = parse_write_results(decoded) if isinstance(decoded.get("data"), list) else None
    except ValueError:
        if not refused:
            raise  # a 2xx that does not parse: retried when the call may be, then MALFORMED_RESPONSE
        results = None
    if results is None or len(results) != len(batch):
        if refused:
            raise error_from_response(response)  # refused as a whole (no per-id answer)
        got = "no result per id" if results is None else f"{len(results)} results"
        raise ValueError(f"the answer to a call about {len(batch)} {what}s has {got}")
    if all(result.id in (None, expected) for result, expected in zip(results, batch, strict=True)):
        for result, expected in zip(results, batch, strict=True):
            result.id = expected
        return results
    by_id = {result.id: result for result in results}
    if set(by_id) != set(batch):
        raise ValueError(f"the answer's results are about other {what}s than the ones sent")
    return [by_id[expected] for expected in batch]


def line_up_by_name(
    entries: Sequence[_Entry], names: Sequence[str], name_of: Callable[[_Entry], str | None]
) -> list[_Entry]:
    """``entries`` (one a thing sent) in the order of ``names``, the names the things were sent under.

    Zoho's answer names what it made (a tag, a stored file), but that its entries follow the
    order sent is unconfirmed. Each name sent takes the first entry left that names it; the
    things whose name no entry gives (Zoho may change a name: ``"x y.txt"`` stored as
    ``"x_y.txt"``) take the entries left, in the answer's order. So a thing never gets an entry
    that names another thing sent. ``entries`` and ``names`` are as many.
    """
    left = list(range(len(entries)))
    paired: list[int | None] = []
    for name in names:
        match = next((i for i in left if name_of(entries[i]) == name), None)
        if match is not None:
            left.remove(match)
        paired.append(match)
    rest = iter(left)
    return [entries[next(rest) if match is None else match] for match in paired]
