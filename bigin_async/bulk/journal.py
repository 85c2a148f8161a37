"""A durable log of a bulk write, so a re-run after a crash neither loses nor doubles records.

Before a batch is sent, its records are logged as *pending*; after the answer, each record's
outcome is logged; both writes are flushed and fsynced. On a re-run with the same input:

- records with a logged outcome (success or error) are skipped and reported from the journal;
- records logged *unsent* (their call failed as a whole and certainly applied nothing, e.g. the
  token was refused or a 4xx about the call) were not judged by the server: they are sent again.
  An idempotent call that kept failing with 5xx or lost answers past the retries stays pending
  instead: it may have been applied, and the resumed run must know that (see below);
- records logged pending with no outcome were in flight when the process died: the server may
  have applied them. Idempotent writes (updates, deletes, upserts of records that carry their
  duplicate-check value) simply go again; inserts are *not* re-sent (that could duplicate them)
  and are reported as ``unknown``.

Records are matched by a fingerprint of what they are, not by where they stand: a re-run whose
input was reordered, filtered or given new records in front still skips exactly the records
already confirmed. Identical records are counted: three identical input records need three
confirmations. The fingerprint is canonical (dict keys and sets sorted, ``1``, ``1.0`` and
``Decimal("1.0")`` alike), so it is the same in every process whatever ``PYTHONHASHSEED`` is.

A crash can tear the last line. Loading reads up to the last complete line, and that torn tail is
cut off before anything is appended (otherwise the next line would be glued to the fragment and
lost). Anything else that is not a journal record (a damaged header, a line of another shape) is a
:class:`~bigin_async.errors.JournalError` naming the line: resuming from a misread journal could
double or skip records, so the SDK never guesses. Journals written by version 1 of this format
(before fingerprints were canonical) are still read, with their own fingerprint.

One run at a time: two runs resuming the same journal at once would both send its pending
batches (duplicates). A run holds an exclusive lock on ``<journal>.lock`` from before it reads the
journal until it ends (``flock``; ``msvcrt.locking`` on Windows, the lock the token file uses); a
second run, in another process or the same one, gets :class:`~bigin_async.errors.JournalError`
before sending anything. The system drops the lock of a process that dies, so a crashed run
never blocks its resume. (A lock file apart from the journal: a Windows lock on the journal itself
would also stop its own reads.) The lock file is left in place: removing it could let a run
waiting to lock the removed file and a new run locking a new one both go.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bigin_async._redact import get_logger
from bigin_async.bulk.logfile import AppendOnlyLog, dump_line
from bigin_async.bulk.results import OutcomeAction, OutcomeStatus, RecordOutcome
from bigin_async.models.wire import PLAIN_JSON_TYPES, format_decimal, wire_value

logger = get_logger("bulk")

__all__ = ["JOURNAL_VERSION", "Journal", "JournalEntry", "record_hash"]

JOURNAL_VERSION = 3
# Fingerprint width by format: 64 bits until version 2. Two distinct records sharing a fingerprint
# could take each other's logged outcome (one reported done and never sent: lost); at 64 bits the
# odds reach about 1 in 40 million for a journal of a million records, at 128 bits they are nil.
_DIGEST_BYTES = {1: 8, 2: 8, 3: 16}
_STATUSES: frozenset[str] = frozenset({"success", "error", "unknown"})
_ACTIONS: frozenset[str | None] = frozenset({"insert", "update", "delete", None})
# Which logged outcome of a fingerprint a re-run takes first: a confirmation beats everything.
_RANK = {"success": 0, "unknown": 1, "error": 2}

# An outcome as held in memory between load and the re-run taking it: (status, action, id, code,
# message, details). Tuples of shared strings, ids as ints where that is exact: a journal of a
# million records is held in a fraction of what a million RecordOutcome objects would take.
_Packed = tuple[str, str | None, "int | str | None", str | None, str | None, "dict[str, Any] | None"]


# The text every fingerprint is taken of, built once: ``json.dumps`` with these options makes a new
# encoder on every call, which cost about a third of a fingerprint. Same options, same text.
_CANONICAL_TEXT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode
_TEXT_KEYS: frozenset[type] = frozenset({str})


def _flat_text_encoder() -> Callable[[dict[str, Any]], str]:
    """:data:`_CANONICAL_TEXT` for a flat dict of plain values, by json's C encoder made once.

    ``JSONEncoder.encode`` makes a C encoder (and a dict to detect cycles) on each call; a flat
    dict of plain values holds no cycle, so one encoder without that dict serves them all: the
    same C code and options, hence the same text, for a quarter less time. Where the C encoder is
    missing or takes other arguments (another Python), :data:`_CANONICAL_TEXT` itself.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _CANONICAL_TEXT
    try:
        encode = make(None, str, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True)
    except TypeError:
        return _CANONICAL_TEXT
    return lambda wire: "".join(encode(wire, 0))


_FLAT_TEXT = _flat_text_encoder()


def record_hash(wire: Any, *, version: int = JOURNAL_VERSION) -> str:
    """A fingerprint of a record's wire form, the same in every process for equal records.

    Canonical: dict keys sorted, sets sorted, numbers by value (``1 == 1.0 == Decimal("1.0")``;
    ``True`` stays apart from ``1``), so a record built again by another process, from a CSV read
    again, or with its fields in another order, gives the same fingerprint. 128 bits (journal
    format 3; ``version=2`` gives the 64 bits of format 2): distinct records never share one.

    A flat record of text keys and plain values (str, int, bool, None: most records of a bulk
    import) is its own canonical form, so it is encoded as it is, without the copy
    :func:`_canonical` would make of it: the two checks run in C, and the text, hence the
    fingerprint, is the one the canonical copy gives (a test holds the two paths equal).
    """
    if (
        type(wire) is dict
        and _TEXT_KEYS.issuperset(map(type, wire))
        and PLAIN_JSON_TYPES.issuperset(map(type, wire.values()))
    ):
        canonical = _FLAT_TEXT(wire)
    else:
        canonical = _CANONICAL_TEXT(_canonical(wire))
    return hashlib.blake2b(canonical.encode(), digest_size=_DIGEST_BYTES[version]).hexdigest()


def _legacy_hash(wire: Any) -> str:
    """The fingerprint of journal format 1, kept to resume journals written before version 2."""
    canonical = _CANONICAL_TEXT(wire)
    return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict or isinstance(value, Mapping):
        return {key if type(key) is str else str(key): _canonical(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_canonical(item) for item in value]
    if kind is float:
        return int(value) if value.is_integer() else value  # NaN and infinities are not integers
    if isinstance(value, Decimal):
        return _canonical(format_decimal(value)) if value.is_finite() else str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(
            (_canonical(item) for item in value),
            key=lambda item: json.dumps(item, sort_keys=True, default=str),
        )
    try:
        formatted = wire_value(value)  # dates, models, enums, subclasses of plain types
    except ValueError:
        return str(value)
    return formatted if type(formatted) is str else _canonical(formatted)


@dataclass
class JournalEntry:
    """What the journal knew of one record: ``outcome`` None means logged pending, no answer."""

    hash: str
    outcome: RecordOutcome | None


class Journal(AppendOnlyLog):
    """Append-only JSON-lines file; one instance per bulk run (the file machinery: :mod:`~.logfile`)."""

    def __init__(self, path: str | os.PathLike[str], *, module: str, mode: str) -> None:
        super().__init__(path)
        self.module = module
        self.mode = mode
        self.version = JOURNAL_VERSION
        #: How many input records this run matched to something the journal held.
        self.matched = 0
        self._done: dict[int, _Packed | list[_Packed]] = {}
        self._pending: dict[int, int] = {}
        self._strings: dict[str, str] = {}

    def fingerprint(self, wire: Any) -> str:
        """The fingerprint this journal's format uses (version 1 journals keep their own)."""
        return record_hash(wire, version=self.version) if self.version >= 2 else _legacy_hash(wire)

    def __len__(self) -> int:
        """Outcomes and in-flight records held and not yet taken by this run."""
        held = sum(len(value) if isinstance(value, list) else 1 for value in self._done.values())
        return held + sum(self._pending.values())

    def __bool__(self) -> bool:
        """Whether anything is held: ``len(self) > 0`` without counting (the engine asks per record).

        Exact because no list of outcomes held is ever empty (one of two collapses to the one
        left) and no pending count is zero (loading drops those, :meth:`take` drops the one it
        takes last).
        """
        return bool(self._done or self._pending)

    # -- reading ---------------------------------------------------------------------------------
    def load(self) -> None:
        """Read what earlier runs logged; a torn last line (a crash mid-write) is set aside to be cut."""
        super().load()
        for key in [key for key, count in self._pending.items() if count <= 0]:
            del self._pending[key]

    def _headers(self) -> list[bytes]:
        return [dump_line(self._header_line(version)) for version in _DIGEST_BYTES]

    def _new_header(self) -> dict[str, Any]:
        self.version = JOURNAL_VERSION
        return self._header_line(JOURNAL_VERSION)

    def _header_line(self, version: int) -> dict[str, Any]:
        return {"t": "header", "module": self.module, "mode": self.mode, "v": version}

    def _parse(self, number: int, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: a line nested past the parser
            pass
        # Journals of format 1 could glue a run's first line onto the torn tail of the run before:
        # the glued line is complete and is kept; the fragment before it was never a record.
        start = raw.rfind(b'{"t":')
        if number > 1 and self.version == 1 and start > 0:
            try:
                line = json.loads(raw[start:])
            except ValueError:
                pass
            else:
                logger.warning(
                    "journal %s: line %d starts with a torn fragment; reading the line after it",
                    self.path,
                    number,
                    extra={"bigin_event": "journal_torn_line"},
                )
                return line
        return super()._parse(number, raw)

    def _header(self, line: Any) -> None:
        if not (
            isinstance(line, dict)
            and line.get("t") == "header"
            and isinstance(line.get("module"), str)
            and isinstance(line.get("mode"), str)
            and type(line.get("v")) is int
            and line["v"] in _DIGEST_BYTES
        ):
            if (
                isinstance(line, dict)
                and line.get("t") == "header"
                and isinstance(line.get("v"), int)
                and line["v"] > JOURNAL_VERSION
            ):
                raise self._error(
                    1, f"is a header of journal format {line['v']}, newer than this bigin-async reads"
                )
            raise self._error(
                1, "is not a journal header: this file is not a journal, or its header is damaged"
            )
        if (line["module"], line["mode"]) != (self.module, self.mode):
            raise self._error(
                1,
                f"belongs to a {line['mode']} of {line['module']}, not a {self.mode} of {self.module}: "
                "use another journal file",
            )
        self.version = line["v"]

    def _apply(self, number: int, line: Any) -> None:
        kind = line.get("t") if isinstance(line, dict) else None
        try:
            if kind == "pending":
                for key in self._keys(line, "h"):
                    self._pending[key] = self._pending.get(key, 0) + 1
            elif kind == "unsent":
                for key in self._keys(line, "h"):
                    self._resolve(key)
            elif kind == "done":
                items = line["o"]
                if not isinstance(items, list):
                    raise TypeError("o is not a list")
                for key, status in self._superseded(line):  # before this line's own outcomes
                    self._drop(key, status)
                for item in items:
                    key, packed = self._pack(item)
                    self._resolve(key)
                    held = self._done.get(key)
                    if held is None:
                        self._done[key] = packed
                    elif isinstance(held, list):
                        held.append(packed)
                    else:
                        self._done[key] = [held, packed]
                for key in self._keys(
                    line, "r", required=False
                ):  # re-sent records an earlier run left in flight
                    self._resolve(key)
            else:
                raise TypeError(f"unknown kind {kind!r}")
        except (KeyError, TypeError, ValueError) as error:
            raise self._error(number, f"is not a journal record ({error})") from None

    def _keys(self, line: dict[str, Any], name: str, *, required: bool = True) -> list[int]:
        hashes = line[name] if required else line.get(name, [])
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise TypeError(f"{name} is not a list of fingerprints")
        if required and (not isinstance(line.get("i"), list) or len(line["i"]) != len(hashes)):
            raise TypeError("i and h differ in length")
        return [int(h, 16) for h in hashes]

    @staticmethod
    def _superseded(line: dict[str, Any]) -> list[tuple[int, str]]:
        pairs = line.get("x", [])
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and p[1] in _STATUSES for p in pairs
        ):
            raise TypeError("x is not a list of [fingerprint, status]")
        return [(int(digest, 16), status) for digest, status in pairs]

    def _drop(self, key: int, status: str) -> None:
        """Forget one logged outcome with ``status``: a later send of that record replaced it."""
        held = self._done.get(key)
        if held is None:
            return
        if not isinstance(held, list):
            if held[0] == status:
                del self._done[key]
            return
        for position, packed in enumerate(held):
            if packed[0] == status:
                del held[position]
                if len(held) == 1:
                    self._done[key] = held[0]
                return

    def _resolve(self, key: int) -> None:
        count = self._pending.get(key, 0)
        if count > 0:
            self._pending[key] = count - 1

    def _pack(self, item: Any) -> tuple[int, _Packed]:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("i"), int)
            or not isinstance(item.get("h"), str)
        ):
            raise TypeError("an outcome needs i and h")
        status, action, record_id = item.get("s"), item.get("a"), item.get("id")
        code, message, details = item.get("c"), item.get("m"), item.get("d")
        if status not in _STATUSES or action not in _ACTIONS:
            raise ValueError(f"status {status!r} / action {action!r}")
        if not all(v is None or isinstance(v, str) for v in (record_id, code, message)):
            raise TypeError("id, c and m must be text")
        if details is not None and not isinstance(details, dict):
            raise TypeError("d must be an object")
        intern = self._strings.setdefault
        packed_id: int | str | None = record_id
        if record_id is not None and record_id.isdigit() and record_id[0] != "0" and record_id.isascii():
            packed_id = int(record_id)
        return int(item["h"], 16), (
            intern(status, status),
            intern(action, action) if action else None,
            packed_id,
            intern(code, code) if code else code,
            intern(message, message) if message else message,
            details or None,
        )

    # -- matching --------------------------------------------------------------------------------
    def take(self, fingerprint: str) -> JournalEntry | None:
        """Take what the journal holds for one more input record with this fingerprint.

        A confirmed success first, then a record in flight when an earlier run died, then any
        other outcome; each is taken once, so N identical input records need N logged entries.
        """
        key = int(fingerprint, 16)
        held = self._done.get(key)
        best: _Packed | None = None
        if held is not None:
            best = min(held, key=lambda p: _RANK[p[0]]) if isinstance(held, list) else held
        if best is None or best[0] != "success":
            count = self._pending.get(key, 0)
            if count:
                if count > 1:
                    self._pending[key] = count - 1
                else:
                    del self._pending[key]  # none left: gone, so that bool(self) stays len(self) > 0
                self.matched += 1
                return JournalEntry(fingerprint, None)
        if best is None:
            return None
        if isinstance(held, list):
            held.remove(best)
            if len(held) == 1:
                self._done[key] = held[0]
        else:
            del self._done[key]
        self.matched += 1
        status, action, record_id, code, message, details = best
        outcome = RecordOutcome(
            -1,
            _status(status),
            _action(action),
            id=str(record_id) if record_id is not None else None,
            code=code,
            message=message,
            details=dict(details) if details else {},
            from_journal=True,
        )
        return JournalEntry(fingerprint, outcome)

    # -- writing ---------------------------------------------------------------------------------
    async def log_pending(self, indexes: Sequence[int], hashes: Sequence[str]) -> None:
        await self._append({"t": "pending", "i": list(indexes), "h": list(hashes)})

    async def log_unsent(self, indexes: Sequence[int], hashes: Sequence[str]) -> None:
        """The call carrying these records failed as a whole and applied nothing: send them again."""
        await self._append({"t": "unsent", "i": list(indexes), "h": list(hashes)})

    async def log_outcomes(
        self,
        outcomes: Sequence[RecordOutcome],
        hashes: Sequence[str],
        resent: Iterable[str] = (),
        superseded: Iterable[tuple[str, str]] = (),
    ) -> None:
        """The answers for a batch; ``resent`` are fingerprints an earlier run had left in flight,
        settled now. (Logged with the answer, not before sending: if this send fails as a whole,
        the earlier attempt may still have been applied, and the journal must go on saying so.)
        ``superseded`` are (fingerprint, status) of logged outcomes these answers replace (an error
        sent again with ``retry_failed``, an update of unknown fate sent again): forgotten on load,
        so an old error never stands in for another identical record of a later input."""
        items = []
        for outcome, digest in zip(outcomes, hashes, strict=True):  # 100 a call: spelled out, no inner loop
            item: dict[str, Any] = {"i": outcome.index, "h": digest, "s": outcome.status}
            if outcome.action is not None:
                item["a"] = outcome.action
            if outcome.id is not None:
                item["id"] = outcome.id
            if outcome.code is not None:
                item["c"] = outcome.code
            if outcome.message is not None:
                item["m"] = outcome.message
            if outcome.details and outcome.status != "success":
                item["d"] = outcome.details
            items.append(item)
        line: dict[str, Any] = {"t": "done", "o": items}
        again = list(resent)
        if again:
            line["r"] = again
        replaced = [[digest, status] for digest, status in superseded]
        if replaced:
            line["x"] = replaced
        await self._append(line)


def _status(value: str) -> OutcomeStatus:
    return "success" if value == "success" else "error" if value == "error" else "unknown"


def _action(value: str | None) -> OutcomeAction | None:
    return (
        "insert"
        if value == "insert"
        else "update"
        if value == "update"
        else "delete"
        if value == "delete"
        else None
    )
