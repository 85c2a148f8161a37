"""Total ordering of field values, so any field can be a ``sort_by`` and a page-token position.

Zoho values mix types (null, numbers, strings, lookups, booleans); ``value_key`` maps each to a
``(rank, comparable)`` pair so they never compare across types, and ``record_key`` appends the id
so every key is unique (ties in a field broken by id, as keyset pagination needs). Keys are made
of JSON-friendly parts only, which lets a page token carry the last key and ``restore_key`` turn
the decoded lists back into tuples.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any

__all__ = ["SortedView", "record_key", "restore_key", "value_key"]

ValueKey = tuple[int, Any]
RecordKey = Any  # the id itself for an id sort, else (ValueKey, id)


def value_key(value: Any) -> ValueKey:
    """Null first, then numbers and booleans, then text (case-insensitive), then anything else."""
    if value is None or value == "" or value == []:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value.casefold())
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str):
            return (2, name.casefold())
    if isinstance(value, list):
        names = [item.get("name") if isinstance(item, dict) else item for item in value]
        return (2, ",".join(str(n).casefold() for n in names))
    return (3, json.dumps(value, sort_keys=True, default=str))


def record_key(sort_by: str, record: dict[str, Any]) -> RecordKey:
    if sort_by == "id":
        return record["id"]
    return (value_key(record.get(sort_by)), record["id"])


def restore_key(raw: Any) -> RecordKey:
    """Turn a key decoded from JSON (lists) back into the tuple form ``record_key`` builds."""
    if isinstance(raw, list):
        return tuple(restore_key(part) for part in raw)
    return raw


@dataclass
class SortedView:
    """One table's records in ascending key order; descending pages walk it backwards.

    ``keys[i]`` is the key of ``ids[i]``; for an id sort both are the same list. Built once per
    (table version, sort field), so paging through 100,000 records costs a bisect per page.
    """

    keys: list[RecordKey]
    ids: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def page_after(self, last_key: RecordKey | None, size: int, descending: bool) -> tuple[list[str], bool]:
        """The ``size`` ids that follow ``last_key`` in the walk order, and whether more follow."""
        if descending:
            end = len(self.keys) if last_key is None else bisect_left(self.keys, last_key)
            start = max(0, end - size)
            return self.ids[start:end][::-1], start > 0
        start = 0 if last_key is None else bisect_right(self.keys, last_key)
        end = min(len(self.keys), start + size)
        return self.ids[start:end], end < len(self.keys)

    def page_at(self, offset: int, size: int, descending: bool) -> tuple[list[str], bool]:
        """The ``size`` ids starting ``offset`` places into the walk order, and whether more follow."""
        total = len(self.ids)
        if descending:
            end = max(0, total - offset)
            start = max(0, end - size)
            return self.ids[start:end][::-1], start > 0
        start = min(total, offset)
        end = min(total, start + size)
        return self.ids[start:end], end < total
