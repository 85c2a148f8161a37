"""Reading the answer to one bulk call: one result per record sent, in the order sent.

This runs once per call for up to 100 records, between an answer arriving and the worker taking
its next batch, so it is on the path that sets a bulk import's pace. Every bulk answer Bigin
gives has the plain shape ``{"data": [{"code", "status", "message", "details"}, ...]}``; that
shape is read straight from the decoded JSON, because validating a pydantic model per record
cost more than all the engine's other work for the call (about 0.3 ms of 2.3 ms per call). Any
other shape goes through :func:`~bigin_async.models.parse_write_results`, and both paths read
success and the record id the same way as :class:`~bigin_async.models.WriteResult` (a test holds
them equal on every recorded write answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bigin_async._json import decode
from bigin_async.errors import UnreadableAnswerError
from bigin_async.models import WriteResult, parse_write_results

__all__ = [
    "MAYBE_DELETED_MESSAGE",
    "Answer",
    "UnreadableAnswerError",
    "answers_in",
    "decode_answer",
    "maybe_deleted_details",
    "maybe_deleted_earlier",
    "read_answers",
]

MAYBE_DELETED_MESSAGE = (
    "not found on this attempt: deleted by an earlier attempt whose answer was lost, or it never "
    "existed (Bigin answers both alike)"
)


@dataclass
class Answer:
    """What the server said about one record."""

    ok: bool
    id: str | None
    code: str | None
    message: str | None
    details: dict[str, Any]
    action: str | None


def read_answers(content: bytes) -> list[Answer]:
    """The per-record answers in ``content``; :class:`UnreadableAnswerError` if it cannot be read."""
    return answers_in(decode_answer(content), content)


def decode_answer(content: bytes) -> Any:
    """The JSON value of a write's answer, None for no body; :class:`UnreadableAnswerError` if not JSON.

    The first half of :func:`read_answers`, apart so that the bulk engine can read the plain shape
    straight into outcomes (see ``engine._outcomes_from_body``) and hand anything else, decoded
    once, to :func:`answers_in`.
    """
    if not content.strip():
        return None
    # Raised outside the ``except``: a JSON error keeps the whole body (``.doc``), and the answer
    # may echo what was sent; nothing of it may ride along as the new error's context.
    try:
        return decode(content)
    except ValueError as error:
        problem = (
            f"the answer is not valid JSON: {type(error).__name__} at position {getattr(error, 'pos', '?')}"
        )
    except RecursionError:
        problem = "the answer is nested deeper than any write answer"
    raise UnreadableAnswerError(problem)


def answers_in(body: Any, content: bytes) -> list[Answer]:
    """The per-record answers of ``body``, the value :func:`decode_answer` read from ``content``."""
    if body is None and not content.strip():
        return []
    entries = body.get("data") if isinstance(body, dict) else None
    if isinstance(entries, list):
        answers = [_plain(entry) for entry in entries]
        if all(answer is not None for answer in answers):
            return answers  # type: ignore[return-value]
    try:
        return [
            _from_result(result)
            for result in parse_write_results(body if isinstance(body, Mapping) else content)
        ]
    except ValueError as error:
        raise UnreadableAnswerError(f"the answer is not a write result: {error}") from None


def _text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _plain(entry: Any) -> Answer | None:
    """One entry of the plain shape, or None when a value has a type only the model can judge."""
    if not isinstance(entry, dict):
        return None
    code, status, message, action = (
        entry.get("code"),
        entry.get("status"),
        entry.get("message"),
        entry.get("action"),
    )
    details = entry.get("details", {})
    if not (_text(code) and _text(status) and _text(message) and _text(action) and isinstance(details, dict)):
        return None
    record_id = entry.get("id")
    if record_id is None:
        record_id = details.get("id")
    if isinstance(record_id, bool) or not isinstance(record_id, (str, int, type(None))):
        return None
    ok = status.lower() == "success" if status is not None else code == "SUCCESS"
    return Answer(ok, str(record_id) if record_id is not None else None, code, message, details, action)


def _from_result(result: WriteResult) -> Answer:
    return Answer(result.ok, result.id, result.code, result.message, result.details, result.action)


def maybe_deleted_earlier(
    response: httpx.Response,
    record_id: str,
    ok: bool,
    code: str | None,
    details: Mapping[str, Any],
    *,
    carried_before: bool = False,
) -> bool:
    """Whether a delete's answer for ``record_id`` reads as "gone, maybe never there".

    True only for Bigin's "invalid id" (``INVALID_DATA``) about this id (or about no id), and only
    when an earlier attempt may have deleted it: the transport retried this call after an attempt
    whose answer was lost (a dropped connection, a timeout, a 5xx), or ``carried_before`` (a resumed
    bulk run re-sending what a crashed run had in flight). Bigin answers the same for an id that
    attempt deleted and for one that never existed, so the caller reports a success flagged
    ``MAYBE_ALREADY_DELETED`` with ``details["maybe_never_existed"]`` (see
    :func:`maybe_deleted_details`). Without such an attempt, not found stays the error it is.
    Shared by ``delete()`` and ``bulk_delete()``, so both read the same answers alike.
    """
    if ok or code != "INVALID_DATA":
        return False
    if not (carried_before or response.extensions.get("bigin_ambiguous_attempts")):
        return False
    named = details.get("id")
    return named is None or str(named) == record_id


def maybe_deleted_details(record_id: str) -> dict[str, Any]:
    """The ``details`` of a ``MAYBE_ALREADY_DELETED`` outcome (see :func:`maybe_deleted_earlier`)."""
    return {"id": record_id, "maybe_never_existed": True}
