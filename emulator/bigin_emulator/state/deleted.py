"""The org's deleted records: the recycle bin and, once purged from it, the permanently deleted.

Zoho keeps a deleted record in the recycle bin (``type`` "recycle") until the bin is emptied or
the record has sat there ``retention`` seconds (Zoho's 60 days by default); it is then listed
as "permanent" (``GET /{Module}/deleted?type=permanent``). Entries keep what Zoho's list shows:
the record's id and display name, who deleted it and when, and who created it. Records deleted
along with another (a company's contacts, a record's notes) are entries of their own modules.
Purging by age happens whenever the bin is read, on the org's clock, so a test moves a fake
clock forward instead of waiting.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["DEFAULT_RETENTION", "DeletedEntry", "DeletedKind", "RecycleBin"]

DeletedKind = Literal["recycle", "permanent"]
DEFAULT_RETENTION = 60 * 86_400.0  # Zoho's recycle bin keeps records 60 days


@dataclass
class DeletedEntry:
    """One deleted record as ``/{Module}/deleted`` lists it (``deleted_at`` is epoch seconds)."""

    id: str
    module: str
    display_name: str | None
    type: DeletedKind
    deleted_by: dict[str, Any]
    deleted_time: str
    created_by: dict[str, Any] | None
    deleted_at: float

    def body(self) -> dict[str, Any]:
        """The entry in Zoho's shape (CRM's older sample spells ``created_by`` as ``Created_By``)."""
        return {
            "deleted_by": dict(self.deleted_by),
            "id": self.id,
            "display_name": self.display_name,
            "type": self.type,
            "created_by": dict(self.created_by) if self.created_by is not None else None,
            "deleted_time": self.deleted_time,
        }


class RecycleBin:
    """Deleted records by module, oldest first; the bin's own clock decides when one expires."""

    def __init__(
        self,
        clock: Callable[[], float],
        format_time: Callable[[float], str],
        retention: float = DEFAULT_RETENTION,
    ) -> None:
        self._clock = clock
        self._format_time = format_time
        self.retention = retention
        self.by_module: dict[str, list[DeletedEntry]] = {}
        # Per module, how many of the oldest entries are known to be past the retention already:
        # entries are kept in deletion-time order, so expiring walks on from there, never back.
        self._expired_upto: dict[str, int] = {}

    def add(
        self,
        module: str,
        record_id: str,
        display_name: str | None,
        deleted_by: dict[str, Any],
        created_by: dict[str, Any] | None,
    ) -> DeletedEntry:
        now = self._clock()
        entry = DeletedEntry(
            record_id, module, display_name, "recycle", deleted_by, self._format_time(now), created_by, now
        )
        entries = self.by_module.setdefault(module, [])
        if entries and now < entries[-1].deleted_at:  # the clock went back: keep deletion-time order
            position = bisect_right([e.deleted_at for e in entries], now)
            entries.insert(position, entry)
            self._expired_upto[module] = min(self._expired_upto.get(module, 0), position)
        else:
            entries.append(entry)
        return entry

    def entries(self, module: str, kind: Literal["all", "recycle", "permanent"]) -> list[DeletedEntry]:
        """A module's entries of one kind ("all" for both), the most recently deleted first."""
        self._expire(module)
        found = self.by_module.get(module, [])
        chosen = found if kind == "all" else [e for e in found if e.type == kind]
        return chosen[::-1]

    def purge(self, module: str | None = None) -> int:
        """Empty the recycle bin (of one module, or all): its entries become permanent; how many."""
        modules: Iterable[str] = self.by_module if module is None else [module]
        moved = 0
        for name in modules:
            for entry in self.by_module.get(name, []):
                if entry.type == "recycle":
                    entry.type = "permanent"
                    moved += 1
        return moved

    def _expire(self, module: str) -> None:
        entries = self.by_module.get(module, [])
        cutoff = self._clock() - self.retention
        position = self._expired_upto.get(module, 0)
        while position < len(entries) and entries[position].deleted_at <= cutoff:
            entries[position].type = "permanent"
            position += 1
        self._expired_upto[module] = position

    def export(self) -> dict[str, list[dict[str, Any]]]:
        return {module: [asdict(e) for e in entries] for module, entries in self.by_module.items()}

    def restore(self, data: dict[str, list[dict[str, Any]]]) -> None:
        self.by_module = {module: [DeletedEntry(**row) for row in rows] for module, rows in data.items()}
        self._expired_upto = {}
