"""A search index that lags writes, as Bigin's does (by about 10-20 s: docs/zoho-api-facts.md, Search).

A client that writes a record and searches for it straight away does not find it on Zoho; one
that updates a field and searches by the new value finds nothing, and by the old value finds the
record. ``LaggingIndex`` gives search that view: the org as it was ``lag`` seconds ago on the
emulator's clock. It only remembers records written within the lag (each with the versions it
went through), so it costs nothing for the rest; a deleted record leaves search at once (its
stored version is gone, and Zoho does not answer with records that no longer exist).

The tables report their writes here (``Table.history``) only when a lag is configured.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LaggingIndex"]

Record = dict[str, Any]


@dataclass
class _Recent:
    indexed: Record | None  # the version search sees; None: the record is not in the index yet
    versions: deque[tuple[float, Record]] = field(default_factory=deque)  # (written at, version)


class LaggingIndex:
    """Which version of a record search sees, ``lag`` seconds behind the writes."""

    def __init__(self, lag: float, clock: Callable[[], float]) -> None:
        self.lag = lag
        self.clock = clock
        self._recent: dict[str, _Recent] = {}

    def __len__(self) -> int:
        """Records written within the lag whose newest version search does not see yet."""
        return len(self._recent)

    def written(self, record_id: str, before: Record | None, after: Record) -> None:
        """A record was inserted (``before`` None) or replaced."""
        entry = self._recent.get(record_id)
        if entry is None:
            entry = self._recent[record_id] = _Recent(before)
        entry.versions.append((self.clock(), after))

    def removed(self, record_id: str) -> None:
        self._recent.pop(record_id, None)

    def settle(self, record_ids: Iterable[str] | None = None) -> None:
        """Let search see these records (every record when None) as they are now."""
        if record_ids is None:
            self._recent.clear()
            return
        for record_id in record_ids:
            self._recent.pop(record_id, None)

    def visible(self, record: Record) -> Record | None:
        """The version of ``record`` search finds now, or None while it is not indexed yet."""
        entry = self._recent.get(record["id"])
        if entry is None:
            return record
        horizon = self.clock() - self.lag
        versions = entry.versions
        while versions and versions[0][0] <= horizon:
            entry.indexed = versions.popleft()[1]
        if not versions:
            del self._recent[record["id"]]
            return record
        return entry.indexed
