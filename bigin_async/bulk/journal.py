"""A durable log of a bulk write, so a re-run after a crash neither loses nor doubles records.

Before a batch is sent, its records are logged as *pending*; after the answer, each record's
outcome is logged; both writes are flushed and fsynced. On a re-run with the same input:

- records with a logged outcome (success or error) are skipped and reported from the journal;
- records logged *unsent* (their call failed as a whole, e.g. the token was refused or the
  server kept failing past the retries) were not judged by the server: they are sent again;
- records logged pending with no outcome were in flight when the process died: the server may
  have applied them. Idempotent modes (upsert, update, delete) simply send them again; plain
  inserts are *not* re-sent (that could duplicate them) and are reported as ``unknown``.

Records are matched by position and a hash of their content, so an edited input is noticed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import anyio.to_thread

from bigin_async._redact import logger
from bigin_async.bulk.results import RecordOutcome
from bigin_async.errors import ConfigurationError

__all__ = ["Journal", "JournalEntry", "record_hash"]


def record_hash(wire: Any) -> str:
    """A short, stable fingerprint of a record's wire form."""
    canonical = json.dumps(wire, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest()


@dataclass
class JournalEntry:
    hash: str
    outcome: RecordOutcome | None  # None: logged pending, no answer recorded


class Journal:
    """Append-only JSON-lines file; one instance per bulk run."""

    def __init__(self, path: str | os.PathLike[str], *, module: str, mode: str) -> None:
        self.path = Path(path)
        self.module = module
        self.mode = mode
        self.entries: dict[int, JournalEntry] = {}
        self._handle: BinaryIO | None = None
        self._lock = anyio.Lock()

    def load(self) -> None:
        """Read what an earlier run logged (a torn last line from a crash is ignored)."""
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = json.loads(raw)
                except ValueError:
                    logger.warning("journal %s: ignoring unreadable line %d (torn write?)", self.path, number)
                    continue
                kind = line.get("t")
                if kind == "header":
                    if (line.get("module"), line.get("mode")) != (self.module, self.mode):
                        raise ConfigurationError(
                            f"journal {self.path} belongs to a {line.get('mode')} of {line.get('module')}, "
                            f"not a {self.mode} of {self.module}: use another journal file"
                        )
                elif kind == "pending":
                    for index, digest in zip(line["i"], line["h"], strict=True):
                        entry = self.entries.get(index)
                        if entry is None or entry.hash != digest:
                            self.entries[index] = JournalEntry(digest, None)
                elif kind == "unsent":
                    for index, digest in zip(line["i"], line["h"], strict=True):
                        entry = self.entries.get(index)
                        if entry is not None and entry.hash == digest and entry.outcome is None:
                            del self.entries[index]
                elif kind == "done":
                    for item in line["o"]:
                        self.entries[item["i"]] = JournalEntry(
                            item["h"],
                            RecordOutcome(
                                index=item["i"],
                                status=item["s"],
                                action=item.get("a"),
                                id=item.get("id"),
                                code=item.get("c"),
                                message=item.get("m"),
                                details=item.get("d") or {},
                                from_journal=True,
                            ),
                        )

    def _open(self) -> BinaryIO:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists() or self.path.stat().st_size == 0
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._handle = os.fdopen(fd, "ab")
            if new:
                self._write_now([{"t": "header", "module": self.module, "mode": self.mode, "v": 1}])
        return self._handle

    def _write_now(self, lines: Sequence[dict[str, Any]]) -> None:
        handle = self._open()
        handle.write(b"".join(json.dumps(line, separators=(",", ":"), default=str).encode() + b"\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())

    async def _append(self, line: dict[str, Any]) -> None:
        async with self._lock:
            await anyio.to_thread.run_sync(self._write_now, [line])

    async def log_pending(self, indexes: Sequence[int], hashes: Sequence[str]) -> None:
        await self._append({"t": "pending", "i": list(indexes), "h": list(hashes)})

    async def log_unsent(self, indexes: Sequence[int], hashes: Sequence[str]) -> None:
        """The call carrying these records failed as a whole and applied nothing: send them again."""
        await self._append({"t": "unsent", "i": list(indexes), "h": list(hashes)})

    async def log_outcomes(self, outcomes: Sequence[RecordOutcome], hashes: Sequence[str]) -> None:
        items = []
        for outcome, digest in zip(outcomes, hashes, strict=True):
            item: dict[str, Any] = {"i": outcome.index, "h": digest, "s": outcome.status}
            for key, value in (("a", outcome.action), ("id", outcome.id), ("c", outcome.code), ("m", outcome.message)):
                if value is not None:
                    item[key] = value
            if outcome.details and outcome.status != "success":
                item["d"] = outcome.details
            items.append(item)
        await self._append({"t": "done", "o": items})

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
