"""The bulk engine: cut any stream of records into calls of at most 100, run them at the server's
pace, and account for every record.

Shape: one producer reads the input lazily (a million-row generator is never held in memory),
checks each record (a bad one gets its own error outcome and does not sink its batch), and
hands batches of 100 to as many workers as the client's concurrency gate has slots. Outcomes are
released strictly in input order through a window of at most ``workers * 2`` batches, which also
bounds memory: the producer cannot run further ahead than that.

Exceptions of the caller's own (raised by ``on_result``, ``on_progress`` or the input iterator)
stop the run: no further input is read and no further batch is sent, the batches already in
flight finish and are journaled (cancelling them would turn known outcomes into unknown ones),
then the exception is raised as itself, not wrapped in an ``ExceptionGroup``. A journal that cannot
be written (disk full, I/O error) stops the run the same way, with a
:class:`~bigin_async.errors.JournalError`: no batch is ever sent before its *pending* line is on disk.

Upserts: a record with no value in the duplicate-check fields cannot match an existing record,
so for it the upsert is an insert (see :mod:`bigin_async.bulk.keys`). A batch's keyless records
go in a call of their own, sent as non-idempotent: after a lost answer they are ``unknown``,
never re-sent; the records that carry their key stay retryable. (Making the whole batch
non-idempotent instead would turn a lost answer into up to 100 unknowns where a second call
costs one more request.)
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal

import anyio
import httpx
from anyio.abc import ObjectReceiveStream

from bigin_async._field_aliases import RENAMES, rename_fields
from bigin_async._inputs import check_id, check_new_record, check_record
from bigin_async._json import decode_or_none
from bigin_async._redact import get_logger
from bigin_async._tasks import unwrapping_task_group
from bigin_async._transport import Transport, encode_plain
from bigin_async.bulk.answers import (
    MAYBE_DELETED_MESSAGE,
    Answer,
    UnreadableAnswerError,
    answers_in,
    decode_answer,
    maybe_deleted_details,
    maybe_deleted_earlier,
    read_answers,
)
from bigin_async.bulk.journal import Journal
from bigin_async.bulk.keys import carries_upsert_key
from bigin_async.bulk.results import (
    MAYBE_DELETED,
    BulkAbortedError,
    BulkProgress,
    BulkResult,
    ProgressCallback,
    RecordOutcome,
    ResultCallback,
)
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BiginError,
    BudgetExhaustedError,
    InvalidModuleError,
    JournalError,
    PermissionDeniedError,
    ValidationError,
    error_from_response,
)
from bigin_async.hooks import BulkBatchDone
from bigin_async.models.wire import PLAIN_JSON_TYPES

logger = get_logger("bulk")

__all__ = ["BATCH_LIMIT", "BulkMode", "BulkPlan", "MANDATORY_FIELDS", "run_bulk"]

BATCH_LIMIT = 100
BulkMode = Literal["create", "update", "upsert", "delete"]

# Fields Bigin refuses an insert without (checked before sending, per record).
MANDATORY_FIELDS: dict[str, tuple[str, ...]] = {
    "Contacts": ("Last_Name",),
    "Accounts": ("Account_Name",),
    "Products": ("Product_Name",),
    "Pipelines": ("Deal_Name", "Stage"),
    "Tasks": ("Subject",),
    "Events": ("Event_Title", "Start_DateTime", "End_DateTime"),
    "Notes": ("Note_Content",),
}

# What each mode does to a record (an upsert learns it per record from the server).
_ACTIONS: dict[str, Literal["insert", "update", "delete"]] = {
    "create": "insert",
    "update": "update",
    "delete": "delete",
}

# An idempotent call whose 2xx answer could not be read is sent again this many times.
_UNREADABLE_RETRIES = 2

# Errors after which no further call can succeed: stop reading input instead of failing each batch
# (a mistyped module would otherwise spend a call, and its credits, on every 100 records).
_FATAL = (AuthenticationError, PermissionDeniedError, BudgetExhaustedError, InvalidModuleError)


@dataclass
class BulkPlan:
    """What to do: the module, the mode, and the options of the write."""

    module: str
    mode: BulkMode
    duplicate_check_fields: Sequence[str] | None = None
    trigger: Sequence[str] | None = None
    send_trigger: bool = False
    batch_size: int = BATCH_LIMIT
    retry_failed: bool = False

    @property
    def action(self) -> Literal["insert", "update", "delete"] | None:
        return _ACTIONS.get(self.mode)

    @property
    def idempotent(self) -> bool:
        return self.mode != "create"


@dataclass(slots=True)  # one per record: slots make it smaller and quicker to build
class _Item:
    index: int
    record: Any
    wire: Any = None  # dict for writes, id string for deletes
    hash: str = ""
    # Safe to send twice: an update, a delete, an upsert carrying its key (not an insert).
    idempotent: bool = True
    # An earlier run sent it and died before the answer: this run sends it again.
    resent: bool = False
    # An earlier attempt may have applied it (in flight at a crash, or its answer unreadable).
    maybe_applied: bool = False
    # The status of the logged outcome this send replaces (an error retried, an unknown update).
    supersedes: str | None = None
    # The wire is a dict of str keys and exact str/int/bool/None values (see _plain_wire): its
    # call's body may be encoded by the quicker serializer (see _call).
    plain: bool = False
    # A plain record held an int (an update's int id is sent as text): the wire's ints are
    # checked for length when the body is written.
    ints: bool = False


@dataclass
class _Batch:
    items: list[_Item] = field(default_factory=list)
    # Outcomes decided without sending (bad input, journal), by index.
    settled: dict[int, RecordOutcome] = field(default_factory=dict)
    done: anyio.Event = field(default_factory=anyio.Event)
    outcomes: list[RecordOutcome] = field(default_factory=list)
    first_index: int = 0
    size: int = 0
    # Its place in the input, from 1 (for ``BulkBatchDone``).
    number: int = 0


class Preparer:
    """:func:`prepare` for one plan: what depends on the plan alone is worked out once, not per record.

    A bulk run prepares every record it reads with the same plan; a million-record import spends
    its client time here and in encoding, so the plan's mode, module, required fields and
    aliases are looked up when the run starts. Calling it with ``(index, record)`` gives what
    :func:`prepare` gives.
    """

    __slots__ = ("_action", "_check", "_fingerprint", "_keys", "_mandatory", "_mode", "_module", "_renames")

    def __init__(self, plan: BulkPlan, fingerprint: Callable[[Any], str] | None = None) -> None:
        self._mode = plan.mode
        self._module = plan.module
        self._action = plan.action
        self._fingerprint = fingerprint
        self._renames: Mapping[str, str] = RENAMES.get(plan.module, {}) if plan.module else {}
        self._check = check_record if plan.mode == "update" else check_new_record
        self._mandatory = MANDATORY_FIELDS.get(plan.module, ()) if plan.mode == "create" else ()
        # An upsert is safe to send twice only with a value to match on; see _Item.idempotent.
        self._keys = plan.duplicate_check_fields if plan.mode == "upsert" else None

    def __call__(self, index: int, record: Any) -> _Item | RecordOutcome:
        mode = self._mode
        plain = ints = False
        try:
            if mode == "delete":
                wire: Any = check_id(record.get("id") if isinstance(record, Mapping) else record)
            else:
                # An insert or upsert of a record read from Bigin is refused, as create()/upsert() refuse it.
                quick = _plain_wire(self._renames, record)
                if quick is None:
                    wire = self._check(record, self._module)
                else:
                    wire, ints = quick
                    plain = _STR.issuperset(map(type, wire))
                if mode == "update":
                    wire["id"] = check_id(wire.get("id"), "id (bulk_update needs each record's id)")
                for name in self._mandatory:
                    value = wire.get(name)
                    if value is None or (isinstance(value, str) and not value.strip()):
                        return RecordOutcome(
                            index,
                            "error",
                            self._action,
                            code="MANDATORY_NOT_FOUND",
                            message=f"required field {name} is missing (checked before sending)",
                            details={"api_name": name},
                            record=record,
                        )
        except (ValidationError, ValueError, TypeError) as error:
            return RecordOutcome(
                index, "error", self._action, code="INVALID_INPUT", message=str(error), record=record
            )
        if mode == "create":
            idempotent = False
        elif mode == "upsert":
            idempotent = carries_upsert_key(wire, self._module, self._keys)
        else:
            idempotent = True
        fingerprint = self._fingerprint
        # Positional (index, record, wire, hash, idempotent, resent, maybe_applied, supersedes,
        # plain, ints): a third quicker than keywords, once per record.
        return _Item(
            index,
            record,
            wire,
            fingerprint(wire) if fingerprint else "",
            idempotent,
            False,
            False,
            None,
            plain,
            ints,
        )


def prepare(
    plan: BulkPlan, index: int, record: Any, *, fingerprint: Callable[[Any], str] | None = None
) -> _Item | RecordOutcome:
    """Check and format one input record; a refusal becomes that record's own error outcome.

    For many records of one plan, build one :class:`Preparer` and call it for each.
    """
    return Preparer(plan, fingerprint)(index, record)


def _plain_wire(renames: Mapping[str, str], record: Any) -> tuple[dict[str, Any], bool] | None:
    """The wire form of a plain dict of plain values (str, int, bool, None) and whether it holds an
    int, or None for any other record.

    Most bulk input is such a dict, and for it :func:`check_record` (a dict, not a model, not
    empty; each value formatted) comes down to a copy with the field aliases (``renames``, the
    module's entry of ``RENAMES``) renamed: the copy is made here in one step, after one check of
    the values' types that runs in C. No alias but a rename applies to plain values (a parent or
    participant alias holds a dict or a list). Anything else (an empty dict, a model, a date, a
    nested lookup, a float that may be NaN) goes the general way, which formats or refuses it.
    """
    if type(record) is not dict or not record:
        return None
    types = {*map(type, record.values())}  # one pass, for both questions
    if not PLAIN_JSON_TYPES.issuperset(types):
        return None
    wire = record.copy()  # what record_to_wire builds of plain values, key by key, in the same order
    if renames:
        rename_fields(renames, wire)
    return wire, int in types


_STR = frozenset({str})
_PLAIN = attrgetter("plain")
_INTS = attrgetter("ints")
_LOG10_2 = math.log10(2)


def _short_ints(wire: dict[str, Any], limit: int | None = None) -> bool:
    """Whether every int of a plain wire is short enough for json to write it.

    Python refuses to print an int longer than ``sys.get_int_max_str_digits()`` digits (4,300
    unless set otherwise), and json with it: the body is refused, unsent. The quicker serializer
    would write it, so such a record (or one near the limit) goes the strict way.
    """
    if int not in map(type, wire.values()):
        return True
    if limit is None:
        limit = sys.get_int_max_str_digits()
    return not limit or all(
        value.bit_length() * _LOG10_2 < limit - 1 for value in wire.values() if type(value) is int
    )


def _plain_body(items: Sequence[_Item], body: dict[str, Any]) -> bytes | None:
    """The body of a call whose records are all plain (see :class:`_Item`), encoded; None otherwise.

    Such a body holds nothing the strict encoder would refuse or write another way, so
    pydantic-core's serializer (about twice as quick as json's) writes the same JSON, in UTF-8
    rather than ``\\u`` escapes. The trigger and duplicate-check names are the caller's: they
    count as plain only when each is a str.
    """
    if not all(map(_PLAIN, items)):
        return None
    # The ints are checked now, against the limit json will be held to when it writes the body.
    if any(map(_INTS, items)):
        limit = sys.get_int_max_str_digits()
        if limit and not all(_short_ints(item.wire, limit) for item in items if item.ints):
            return None
    for names in (body.get("trigger"), body.get("duplicate_check_fields")):
        if names and not _STR.issuperset(map(type, names)):
            return None
    return encode_plain(body)


def _groups(plan: BulkPlan, items: list[_Item]) -> list[list[_Item]]:
    """The calls one batch takes: one, or for an upsert, its keyed records apart from its keyless ones."""
    if plan.mode != "upsert":
        return [items]
    keyed = [item for item in items if item.idempotent]
    if len(keyed) == len(items) or not keyed:
        return [items]
    return [keyed, [item for item in items if not item.idempotent]]


async def _aiter(records: Iterable[Any] | AsyncIterable[Any]) -> AsyncGenerator[Any, None]:
    if isinstance(records, AsyncIterable):
        async for record in records:
            yield record
    else:
        for record in records:
            yield record


def _outcomes_from_answers(
    plan: BulkPlan, items: Sequence[_Item], results: Sequence[Answer]
) -> list[RecordOutcome]:
    # Runs once per call for 100 records, on the path between an answer and the next send: kept lean.
    outcomes = []
    fixed_action = plan.action
    deleting = plan.mode == "delete"
    answered = len(results)
    for position, item in enumerate(items):
        if position >= answered:
            # The server answered for fewer records than it got: those have no known fate.
            status: Literal["success", "error", "unknown"] = "error" if item.idempotent else "unknown"
            outcomes.append(
                RecordOutcome(
                    item.index,
                    status,
                    fixed_action,
                    code="NO_RESULT",
                    message="the server returned no result for this record",
                    record=item.record,
                )
            )
            continue
        result = results[position]
        ok = result.ok
        action = fixed_action or (result.action if result.action in ("insert", "update") else None)
        record_id = result.id or (item.wire if deleting else None)
        outcomes.append(
            RecordOutcome(
                item.index,
                "success" if ok else "error",
                action,  # type: ignore[arg-type]
                id=record_id if ok or result.code == "DUPLICATE_DATA" else None,
                code=result.code,
                message=result.message,
                details=result.details,  # freshly parsed for this answer: no copy needed
                record=item.record,
            )
        )
    return outcomes


# The types a plain answer's texts may have: json.loads makes exact types, so an exact-type check
# is the isinstance() check of answers._plain.
_TEXT = frozenset({str, type(None)})
_ANSWER_ID = frozenset({str, int, type(None)})


def _outcomes_from_body(plan: BulkPlan, items: Sequence[_Item], body: Any) -> list[RecordOutcome] | None:
    """The outcomes of a decoded answer of the plain shape, in one pass; None for any other answer.

    The common answer (one plain entry per record sent, see :mod:`~bigin_async.bulk.answers`) is read
    straight into outcomes, without an intermediate :class:`Answer` per record: the same reading as
    ``answers._plain`` followed by :func:`_outcomes_from_answers`, and a test holds the two equal.
    Anything else (an entry with a value of another type, more or fewer entries than records, a
    body of another shape) returns None before any outcome is built and goes the general way. Not
    for deletes, whose answers :func:`_gone_maybe` may rewrite.
    """
    entries = body.get("data") if type(body) is dict else None
    if type(entries) is not list or len(entries) != len(items):
        return None
    fixed_action = plan.action
    text, answer_id = _TEXT, _ANSWER_ID
    outcomes: list[RecordOutcome] = []
    append = outcomes.append
    for item, entry in zip(items, entries, strict=True):  # lengths checked above
        if type(entry) is not dict:
            return None
        get = entry.get
        code, status, message, action = get("code"), get("status"), get("message"), get("action")
        details = get("details", {})
        if not (
            type(code) in text
            and type(status) in text
            and type(message) in text
            and type(action) in text
            and type(details) is dict
        ):
            return None
        record_id = get("id")
        if record_id is None:
            record_id = details.get("id")
        if type(record_id) not in answer_id:  # bool is not int here: not an id
            return None
        ok = status.lower() == "success" if status is not None else code == "SUCCESS"
        append(
            RecordOutcome(
                item.index,
                "success" if ok else "error",
                fixed_action or (action if action == "insert" or action == "update" else None),
                # ``or None``: an empty id is no id (Answer.id "" read as None by the general path)
                (str(record_id) or None)
                if record_id is not None and (ok or code == "DUPLICATE_DATA")
                else None,
                code,
                message,
                details,  # freshly parsed for this answer: no copy needed
                item.record,
            )
        )
    return outcomes


def _outcomes_unreadable(
    plan: BulkPlan, items: Sequence[_Item], error: UnreadableAnswerError, resendable: bool
) -> tuple[list[RecordOutcome], bool]:
    """The call succeeded (2xx) but its answer cannot be read: the records were most likely written.

    Inserts (keyless upserts included) and deletes are not sent again (a second insert could
    duplicate, a second delete fails), so their fate is unknown; keyed upserts and updates were
    already re-sent and are left for a resumed run to send once more (not final).
    """
    message = f"the server accepted the call but its answer could not be read ({error})"
    if not resendable:
        outcomes = [
            RecordOutcome(
                item.index,
                "unknown",
                plan.action,
                code="MALFORMED_RESPONSE",
                message=message + "; not re-sent",
                record=item.record,
            )
            for item in items
        ]
        return outcomes, True
    outcomes = [
        RecordOutcome(
            item.index, "error", plan.action, code="MALFORMED_RESPONSE", message=message, record=item.record
        )
        for item in items
    ]
    return outcomes, False


def _outcomes_for_error(plan: BulkPlan, items: Sequence[_Item], error: Exception) -> list[RecordOutcome]:
    if isinstance(error, AmbiguousWriteError):
        return [
            RecordOutcome(
                item.index,
                "unknown",
                plan.action,
                code="UNKNOWN_FATE",
                message=str(error),
                record=item.record,
            )
            for item in items
        ]
    code = error.code if isinstance(error, APIError) else type(error).__name__
    details = error.details if isinstance(error, APIError) else {}
    message = error.message if isinstance(error, APIError) else str(error)
    return [
        RecordOutcome(
            item.index,
            "error",
            plan.action,
            code=code,
            message=message,
            details=dict(details),
            record=item.record,
        )
        for item in items
    ]


async def _send(
    transport: Transport, plan: BulkPlan, items: Sequence[_Item]
) -> tuple[list[RecordOutcome], bool, bool]:
    """Send one batch: its outcomes, whether they are final (worth journaling as done), and
    whether the server may have applied the call.

    Per-record answers and unknown fates are final. A failure of the call as a whole (server
    errors or connection failures that outlasted the retries, a request-level 4xx) is not: the
    records themselves were not judged, so a resumed run sends them again.
    """
    idempotent = items[0].idempotent  # a call's records are all alike (see _groups)
    resendable = idempotent and plan.mode in ("upsert", "update")
    for attempt in range(_UNREADABLE_RETRIES + 1):
        try:
            response = await _call(transport, plan, items, idempotent)
            if response.status_code >= 400:
                answers = _per_record(response, items)
            elif plan.mode == "delete":
                answers = read_answers(response.content)
            else:
                body = decode_answer(response.content)
                outcomes = _outcomes_from_body(plan, items, body)
                if outcomes is not None:  # the plain answer, read in one pass
                    return outcomes, True, True
                answers = answers_in(body, response.content)
            if plan.mode == "delete":
                answers = [
                    _gone_maybe(response, answer, item) for answer, item in zip(answers, items, strict=False)
                ]
        except _FATAL:
            raise  # the run stops (see send_group): not a failure of these records
        except UnreadableAnswerError as error:
            logger.warning(
                "bulk %s of %d %s records: unreadable answer (%s)",
                plan.mode,
                len(items),
                plan.module,
                error,
                extra={
                    "bigin_event": "bulk_batch_unreadable",
                    "bigin_module": plan.module,
                    "bigin_records": len(items),
                },
            )
            unreadable = error
            if not resendable or attempt == _UNREADABLE_RETRIES:
                break
            continue
        except (BiginError, ValueError) as error:
            logger.warning(
                "bulk %s of %d %s records failed as a whole: %s",
                plan.mode,
                len(items),
                plan.module,
                error,
                extra={
                    "bigin_event": "bulk_batch_failed",
                    "bigin_module": plan.module,
                    "bigin_records": len(items),
                },
            )
            return (
                _outcomes_for_error(plan, items, error),
                isinstance(error, AmbiguousWriteError),
                _maybe_applied(error),
            )
        return _outcomes_from_answers(plan, items, answers), True, True
    return (*_outcomes_unreadable(plan, items, unreadable, resendable), True)  # a 2xx: most likely applied


def _maybe_applied(error: Exception) -> bool:
    """Whether a call that failed as a whole may still have been applied by Bigin.

    A 5xx, or a lost connection or a timeout after the retries: the server may have acted. Only a
    4xx about the call (or a body that could not even be built) certainly applied nothing.
    """
    if isinstance(error, APIError):
        return error.status_code >= 500
    return isinstance(error, BiginError) and not isinstance(error, ValidationError)


def _gone_maybe(response: httpx.Response, answer: Answer, item: _Item) -> Answer:
    """ "Invalid id" on a delete that an earlier attempt may have applied: gone, but maybe never there.

    Used only for ids an earlier attempt carried and got no answer for (a retry after a lost
    answer or a 5xx, or a resumed run re-sending what a crashed run had in flight); the decision
    is :func:`~bigin_async.bulk.answers.maybe_deleted_earlier`, the one ``delete()`` uses too. The
    id is certainly gone now, so the outcome is a success, flagged: code ``MAYBE_ALREADY_DELETED``,
    ``details["maybe_never_existed"]``, and counted as ``maybe_deleted``. Any other error, or an
    answer about another id, stands.
    """
    if not maybe_deleted_earlier(
        response, item.wire, answer.ok, answer.code, answer.details, carried_before=item.maybe_applied
    ):
        return answer
    return Answer(
        True, item.wire, MAYBE_DELETED, MAYBE_DELETED_MESSAGE, maybe_deleted_details(item.wire), "delete"
    )


def _per_record(response: httpx.Response, items: Sequence[_Item]) -> list[Answer]:
    """A 4xx that still judges each record (Bigin answers 400 when *every* record failed).

    Each record keeps its own code; a 4xx about the call itself raises its typed error.
    """
    body = decode_or_none(response.content)  # garbage, or nested past the parser: about the call
    entries = body.get("data") if isinstance(body, dict) else None
    if not isinstance(entries, list) or len(entries) != len(items):
        raise error_from_response(response)  # about the call itself (scope, module, limits)
    answers = read_answers(response.content)
    if any(answer.ok for answer in answers):
        raise error_from_response(response)
    return answers


async def _call(
    transport: Transport, plan: BulkPlan, items: Sequence[_Item], idempotent: bool
) -> httpx.Response:
    """One bulk call; a 4xx comes back as a response (see :func:`_per_record`), not an error."""
    path = f"/{plan.module}"
    if plan.mode == "delete":
        ids = ",".join(i.wire for i in items)
        return await transport.send("DELETE", path, params={"ids": ids}, bulk=True, raise_for_status=False)
    body: dict[str, Any] = {"data": [i.wire for i in items]}
    if plan.send_trigger:
        body["trigger"] = list(plan.trigger or [])
    if plan.mode == "upsert":
        if plan.duplicate_check_fields:
            body["duplicate_check_fields"] = list(plan.duplicate_check_fields)
        # Keyless records are inserts: never retried after an answer that may have been lost.
        return await transport.send(
            "POST",
            f"{path}/upsert",
            json=body,
            content=_plain_body(items, body),
            bulk=True,
            raise_for_status=False,
            idempotent=None if idempotent else False,
        )
    method = "PUT" if plan.mode == "update" else "POST"
    return await transport.send(
        method, path, json=body, content=_plain_body(items, body), bulk=True, raise_for_status=False
    )


async def run_bulk(
    transport: Transport,
    plan: BulkPlan,
    records: Iterable[Any] | AsyncIterable[Any],
    *,
    journal_path: str | None = None,
    on_result: ResultCallback | None = None,
    on_progress: ProgressCallback | None = None,
    keep_outcomes: bool | None = None,
    workers: int | None = None,
) -> BulkResult:
    """Run a bulk write to the end and return every record's outcome (see module docstring)."""
    if not 1 <= plan.batch_size <= BATCH_LIMIT:
        raise ValidationError(f"batch_size must be between 1 and {BATCH_LIMIT}")
    if isinstance(records, (str, bytes, Mapping)):
        raise ValidationError(
            "records must be an iterable of records (a list, a generator...), not a single value"
        )
    result = BulkResult(kept=keep_outcomes if keep_outcomes is not None else on_result is None)
    progress = BulkProgress()
    journal = Journal(journal_path, module=plan.module, mode=plan.mode) if journal_path else None
    if journal is not None:
        # Locked before it is read: another run resuming it now would send its pending batches too.
        await anyio.to_thread.run_sync(journal.lock_and_load)
    worker_count = workers or transport.gate.limit
    window = anyio.Semaphore(worker_count * 2)
    send_batches, receive_batches = anyio.create_memory_object_stream[_Batch](worker_count)
    release_order, receive_order = anyio.create_memory_object_stream[_Batch](worker_count * 2 + 1)
    aborted: list[BiginError] = []
    # The caller's own exception (a callback, the input), or a journal that cannot be written:
    # raised as itself.
    failed: list[Exception] = []

    def from_journal(item: _Item) -> RecordOutcome | None:
        entry = journal.take(item.hash) if journal else None
        if entry is None:
            return None
        outcome = entry.outcome
        if outcome is not None:
            final = (
                outcome.status == "success"
                or (outcome.status == "error" and not plan.retry_failed)
                or (outcome.status == "unknown" and not item.idempotent)
            )
            if not final:  # sent again (an error with retry_failed, an idempotent write of unknown fate)
                item.maybe_applied = outcome.status == "unknown"
                item.supersedes = outcome.status
                return None
            outcome.index = item.index
            outcome.record = item.record
            return outcome
        if not item.idempotent:  # pending insert: sending it again could duplicate it
            return RecordOutcome(
                item.index,
                "unknown",
                plan.action,
                code="UNKNOWN_FATE",
                record=item.record,
                from_journal=True,
                message="an earlier run sent this insert and got no answer; not re-sent to avoid a duplicate "
                "(re-send it as an upsert on a unique field)",
            )
        item.resent = item.maybe_applied = True  # in flight when an earlier run died: idempotent, sent again
        return None

    async def journaled(write: Awaitable[None]) -> bool:
        """Run one journal write; a journal that cannot be written stops the run (once, as itself)
        like the caller's own exception: nothing more is sent, what is at the server finishes."""
        try:
            await write
        except JournalError as error:
            if not failed:
                failed.append(error)
            return False
        return True

    async def send_group(items: list[_Item]) -> list[RecordOutcome]:
        if aborted:
            return _outcomes_for_error(plan, items, aborted[0])
        indexes, hashes = [i.index for i in items], [i.hash for i in items]
        if journal is not None and (failed or not await journaled(journal.log_pending(indexes, hashes))):
            return []  # never sent without its pending line on disk; the run is ending
        try:
            sent, final, maybe_applied = await _send(transport, plan, items)
        except _FATAL as cause:  # a revoked token, a lost scope, the daily budget: the run stops
            if not aborted:
                aborted.append(cause)
            if journal is not None:
                # Not the records' fault (and not applied): a resumed run sends them again.
                await journaled(journal.log_unsent(indexes, hashes))
            return _outcomes_for_error(plan, items, cause)
        if journal is not None:
            if final:
                await journaled(
                    journal.log_outcomes(
                        sent,
                        hashes,
                        [i.hash for i in items if i.resent],
                        [(i.hash, i.supersedes) for i in items if i.supersedes],
                    )
                )
            elif not (maybe_applied and items[0].idempotent):
                await journaled(journal.log_unsent(indexes, hashes))
            # else: left pending, which is the truth (a 5xx, a lost answer: maybe applied). A resumed
            # run sends these idempotent writes again, knowing an earlier attempt may have applied
            # them (a delete then reads "invalid id" as MAYBE_ALREADY_DELETED, not as an error).
        return sent

    async def worker(batches: ObjectReceiveStream[_Batch]) -> None:
        async with batches:
            async for batch in batches:
                if failed:
                    batch.outcomes = []  # the run ends on the caller's exception: not sent
                elif aborted:
                    # A fatal error (token revoked, budget spent) already stopped the run: the
                    # batches queued behind it would only fail the same way, so none is sent.
                    batch.outcomes = _outcomes_for_error(plan, batch.items, aborted[0])
                else:
                    outcomes: list[RecordOutcome] = []
                    for group in _groups(plan, batch.items):
                        outcomes += await send_group(group)  # [] once a journal write failed
                    batch.outcomes = outcomes
                if not failed:  # else the run ends on that exception, with no result to sum up
                    await tell_batch(batch)
                progress.batches += 1
                batch.done.set()

    async def producer() -> None:
        async with send_batches, release_order:
            try:
                await batch_up()
            except Exception as error:  # the caller's input failed: stop, let what is in flight finish
                failed.append(error)

    async def batch_up() -> None:
        batch = _Batch()
        index = -1
        prepare = Preparer(plan, journal.fingerprint if journal is not None else None)
        limit = plan.batch_size

        def take(record: Any) -> bool:
            """Put one record in the batch; whether the batch is now full."""
            nonlocal index
            index += 1
            prepared = prepare(index, record)
            if isinstance(prepared, _Item):
                known = from_journal(prepared) if journal is not None else None
            else:
                known = prepared
            if known is None:
                batch.items.append(prepared)  # type: ignore[arg-type]
            else:
                batch.settled[index] = known
            batch.size += 1
            # Settled records (bad input, journal skips) ride along; cap them so memory stays bounded.
            return len(batch.items) >= limit or batch.size >= limit * 10

        # A list or a generator is read as it is: no async generator step per record.
        if isinstance(records, AsyncIterable):
            async with contextlib.aclosing(_aiter(records)) as stream:
                async for record in stream:
                    full = take(record)
                    if aborted or failed:
                        break  # a fatal error: stop reading (the record just read is reported, not lost)
                    if full:
                        await dispatch(batch)
                        batch = _Batch(first_index=index + 1)
        else:
            iterator = iter(records)
            while True:
                try:
                    record = next(iterator)
                except StopIteration:
                    break
                except StopAsyncIteration as error:
                    # What an async generator step made of it, as before: raised as itself, it would
                    # quietly end a caller's own ``async for`` that awaits this run.
                    raise RuntimeError("the input raised StopAsyncIteration") from error
                full = take(record)
                if aborted or failed:
                    break
                if full:
                    await dispatch(batch)
                    batch = _Batch(first_index=index + 1)
        if batch.size and not failed:
            await dispatch(batch)

    numbered = 0  # batches of the input, for BulkBatchDone

    async def tell_batch(batch: _Batch) -> None:
        await tell_batch_done(transport, plan, batch.number, batch.outcomes, batch.settled.values())

    async def dispatch(batch: _Batch) -> None:
        nonlocal numbered
        await window.acquire()
        await release_order.send(batch)
        numbered += 1
        batch.number = numbered
        if batch.items:
            await send_batches.send(batch)
        else:  # every record settled without sending (bad input, written by an earlier run)
            if not failed:  # on_result may have raised while this waited for a place: the run ends
                await tell_batch(batch)
            batch.done.set()

    def release(batch: _Batch) -> None:
        settled, ordered = batch.settled, batch.outcomes
        indexes = range(batch.first_index, batch.first_index + batch.size)
        # Most batches were sent whole and answered in order: their outcomes are already the
        # input order. Others (records settled without sending, an upsert split in two calls)
        # are put in input order by index, one record at a time as before.
        if settled or [outcome.index for outcome in ordered] != list(indexes):
            sent = {o.index: o for o in ordered}
            ordered = (settled.get(index) or sent[index] for index in indexes)  # type: ignore[assignment]
        if on_result is None:
            progress.add_tally(result.record_all(ordered if isinstance(ordered, list) else list(ordered)))
        else:
            # Each outcome counted just before it is told: a BulkProgress kept from on_progress
            # reads, in on_result or after it raised, the records told so far.
            record, add = result.record, progress.add
            for outcome in ordered:
                record(outcome)
                add(outcome)
                on_result(outcome)
        if on_progress is not None:
            on_progress(progress)

    async def releaser() -> None:
        async with receive_order:
            async for batch in receive_order:
                await batch.done.wait()
                if not failed:
                    try:
                        release(batch)
                    except Exception as error:  # on_result / on_progress: stop, let what is in flight finish
                        failed.append(error)
                window.release()

    try:
        async with unwrapping_task_group() as tg:
            tg.start_soon(releaser)
            for _ in range(worker_count):
                tg.start_soon(worker, receive_batches.clone())
            receive_batches.close()
            await producer()
    finally:
        if journal is not None:
            journal.close()
            result.journal_matched = journal.matched
    if failed:
        raise failed[0]
    if aborted:
        raise BulkAbortedError(
            f"bulk {plan.mode} of {plan.module} stopped after {result.total} records: {aborted[0]}", result
        ) from aborted[0]
    return result


async def tell_batch_done(
    transport: Transport, plan: BulkPlan, number: int, *outcomes: Iterable[RecordOutcome]
) -> None:
    """``BulkBatchDone`` (``bigin_async.hooks``) for batch ``number`` of a write, calls or jobs:
    every record of it, those settled without sending (bad input, a journal's) with the rest."""
    counts = {"success": 0, "error": 0, "unknown": 0}
    for group in outcomes:
        for outcome in group:
            counts[outcome.status] += 1
    await transport.events.emit(
        BulkBatchDone(
            module=plan.module,
            operation=f"bulk_{plan.mode}",
            batch=number,
            records=sum(counts.values()),
            succeeded=counts["success"],
            failed=counts["error"],
            unknown=counts["unknown"],
        ),
        hook_timeout=transport.settings.timeout,
    )


def batches_needed(count: int, batch_size: int = BATCH_LIMIT) -> int:
    return math.ceil(count / batch_size)
