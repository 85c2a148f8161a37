"""What a bulk write reports: one outcome per input record, in input order, nothing left out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Literal

from bigin_async.errors import BulkAbortedError, BulkWriteError

__all__ = [
    "MAYBE_DELETED",
    "BulkAbortedError",
    "BulkProgress",
    "BulkResult",
    "BulkWriteError",
    "RecordOutcome",
    "StatusCounts",
]

OutcomeStatus = Literal["success", "error", "unknown"]
OutcomeAction = Literal["insert", "update", "delete"]

# The code of a delete that found its id gone after an attempt whose answer was lost: a success
# (the record is not there), but the id may never have existed (see engine._gone_maybe).
MAYBE_DELETED = "MAYBE_ALREADY_DELETED"


@dataclass
class RecordOutcome:
    """The fate of one input record.

    ``status`` is ``success`` (written), ``error`` (refused: by the SDK before sending, or by the
    server, with its ``code``/``message``/``details``) or ``unknown`` (an insert whose answer
    was lost; it was not re-sent, to avoid duplicates: re-send with an upsert on a unique field).
    """

    index: int
    status: OutcomeStatus
    action: OutcomeAction | None = None
    id: str | None = None
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    record: Any = None
    from_journal: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "success"


_STATUS = attrgetter("status")
_ACTION = attrgetter("action")
_FROM_JOURNAL = attrgetter("from_journal")
_CODE = attrgetter("code")


@dataclass
class Tally:
    """A batch's outcomes counted once, for :class:`BulkResult` and :class:`BulkProgress` alike."""

    statuses: Counter[str]
    actions: Counter[str]
    skipped: int = 0
    maybe_deleted: int = 0

    @classmethod
    def of(cls, outcomes: Sequence[RecordOutcome]) -> Tally:
        """The common batch (every record written, none from a journal) is counted in C; any
        other goes record by record."""
        statuses = Counter(map(_STATUS, outcomes))
        if statuses["success"] == len(outcomes) and not any(map(_FROM_JOURNAL, outcomes)):
            actions = Counter(filter(None, map(_ACTION, outcomes)))
            if MAYBE_DELETED not in map(_CODE, outcomes):
                return cls(statuses, actions)
            return cls(
                statuses, actions, 0, sum(o.code == MAYBE_DELETED and bool(o.action) for o in outcomes)
            )
        tally = cls(statuses, Counter())
        for outcome in outcomes:
            maybe_deleted, skipped = _count_action(outcome, tally.actions)
            tally.maybe_deleted += maybe_deleted
            tally.skipped += skipped
        return tally


def _count_action(outcome: RecordOutcome, actions: Counter[str]) -> tuple[int, int]:
    """Count a written record's action in ``actions``; whether it is a maybe-deleted one, and
    whether it came from a journal (1 or 0 each)."""
    maybe_deleted = 0
    if outcome.status == "success" and outcome.action:
        actions[outcome.action] += 1
        maybe_deleted = outcome.code == MAYBE_DELETED
    return maybe_deleted, 1 if outcome.from_journal else 0


@dataclass
class BulkProgress:
    """Running totals, handed to ``on_progress`` after each batch (calls) or each step of a part (jobs).

    Through Bulk Write jobs (``bulk_import``), ``phase`` says what the import is doing now:
    ``writing`` a part's CSV, ``uploading`` it, ``waiting`` on its job (``job_id``, and
    ``job_state`` as Zoho last said it), ``reading`` its result; ``part`` is that part's number
    and ``parts`` how many parts there are, once the input has been read to its end (None
    before). Call-based writes stay in phase ``calls``.
    """

    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    batches: int = 0
    phase: Literal["calls", "writing", "uploading", "waiting", "reading"] = "calls"
    part: int = 0
    parts: int | None = None
    job_id: str | None = None
    job_state: str | None = None

    def add_tally(self, tally: Tally) -> None:
        """What :meth:`add` does for each outcome of a batch, from the batch's tally."""
        statuses = tally.statuses
        self.processed += sum(statuses.values())
        self.skipped += tally.skipped
        self.succeeded += statuses["success"]
        self.failed += statuses["error"]
        self.unknown += statuses["unknown"]

    def add(self, outcome: RecordOutcome) -> None:
        self.processed += 1
        if outcome.from_journal:
            self.skipped += 1
        if outcome.status == "success":
            self.succeeded += 1
        elif outcome.status == "error":
            self.failed += 1
        else:
            self.unknown += 1


ProgressCallback = Callable[[BulkProgress], None]
ResultCallback = Callable[[RecordOutcome], None]


# The keys ``BulkResult.counts`` held before it counted statuses only, and where each went.
_MOVED_COUNTS = {
    "insert": "result.actions['insert']",
    "update": "result.actions['update']",
    "delete": "result.actions['delete']",
    "skipped": "result.skipped",
    "maybe_deleted": "result.maybe_deleted",
}


class StatusCounts(Counter[str]):
    """Records by status: ``success``, ``error``, ``unknown`` (0 for a status none had).

    A key that used to live here (``insert``, ``update``, ``delete``, ``skipped``,
    ``maybe_deleted``) raises a ``KeyError`` naming its new place instead of reading as 0, so
    code written against the old mixed counter fails loudly rather than reporting nothing done.
    """

    def __missing__(self, key: str) -> int:
        moved = _MOVED_COUNTS.get(key)
        if moved is not None:
            raise KeyError(f"counts[{key!r}] is now {moved} (counts holds statuses only)")
        return 0


@dataclass
class BulkResult:
    """Every outcome in input order (unless streamed to ``on_result``), plus counts.

    Each count answers one question:

    - ``counts``: records by **status**, ``success``, ``error`` or ``unknown``; they add up to
      ``total``.
    - ``actions``: successful records by what Bigin did, ``insert``, ``update`` or ``delete``
      (an upsert's records split between the first two).
    - ``skipped``: records a journal showed as done by an earlier run (reported from it, not sent
      again; they are in ``counts`` and ``actions`` too, with the fate the journal recorded).
    - ``maybe_deleted``: deletes that found the id gone after a lost answer (deleted then, or
      never there; code ``MAYBE_ALREADY_DELETED``).
    - ``journal_matched``: input records the journal recognised (by fingerprint, wherever they
      now stand in the input): a resumed run that matches far fewer than expected was given a
      different input, or another run's journal.
    """

    outcomes: list[RecordOutcome] = field(default_factory=list)
    counts: StatusCounts = field(default_factory=StatusCounts)
    actions: Counter[str] = field(default_factory=Counter)
    total: int = 0
    kept: bool = True
    journal_matched: int = 0
    skipped: int = 0
    maybe_deleted: int = 0

    def record(self, outcome: RecordOutcome) -> None:
        self.total += 1
        self.counts[outcome.status] += 1
        maybe_deleted, skipped = _count_action(outcome, self.actions)
        self.maybe_deleted += maybe_deleted
        self.skipped += skipped
        if self.kept:
            self.outcomes.append(outcome)

    def record_all(self, outcomes: Sequence[RecordOutcome]) -> Tally:
        """What :meth:`record` does for each of a batch's outcomes, at once; returns their tally."""
        tally = Tally.of(outcomes)
        self.total += len(outcomes)
        self.counts.update(tally.statuses)
        self.actions.update(tally.actions)
        self.skipped += tally.skipped
        self.maybe_deleted += tally.maybe_deleted
        if self.kept:
            self.outcomes.extend(outcomes)
        return tally

    def __iter__(self) -> Iterator[RecordOutcome]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return self.total

    @property
    def succeeded(self) -> list[RecordOutcome]:
        return [o for o in self.outcomes if o.status == "success"]

    @property
    def failed(self) -> list[RecordOutcome]:
        return [o for o in self.outcomes if o.status == "error"]

    @property
    def unknown(self) -> list[RecordOutcome]:
        return [o for o in self.outcomes if o.status == "unknown"]

    @property
    def ok(self) -> bool:
        return self.counts["error"] == 0 and self.counts["unknown"] == 0

    def raise_for_errors(self) -> BulkResult:
        """Raise :class:`BulkWriteError` if any record failed or has an unknown fate."""
        if not self.ok:
            raise BulkWriteError(
                f"{self.counts['error']} of {self.total} records failed and {self.counts['unknown']} have "
                "an unknown fate (inserts, or upserts without their duplicate-check value, whose answer was "
                "lost; re-send them as an upsert on a unique field)",
                self,
            )
        return self

    def summary(self) -> dict[str, int]:
        return {
            "total": self.total,
            "succeeded": self.counts["success"],
            "failed": self.counts["error"],
            "unknown": self.counts["unknown"],
            "inserted": self.actions["insert"],
            "updated": self.actions["update"],
            "deleted": self.actions["delete"],
            "skipped": self.skipped,
            "journal_matched": self.journal_matched,
        }
