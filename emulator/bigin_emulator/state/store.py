"""The emulator's records: one table per module, kept in memory with the indexes reads need.

Each ``Table`` keeps its records in an insertion-ordered dict; ids only grow, so that order is the
ascending id order and the default ``id desc`` listing needs no sort at all. Other sort orders are
built once and cached until the next write (``SortedView``). Equality indexes (unique fields,
lookups for related lists, upsert's duplicate-check fields) are built on first use and then kept
up to date on every write, so an upsert of 100,000 records or a related list on a large table
never scans the table.

Records are stored in their wire shape (lookups as ``{"name", "id"}``, times as strings) and are
never mutated in place: a write replaces the dict, so a response being encoded never sees a
half-applied change.

A ``WriteHistory`` (the lagging search index) may watch every table's writes; without one a write
pays a single ``is None`` test for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from bigin_emulator.state.ids import IdSequence
from bigin_emulator.state.links import LinkTable
from bigin_emulator.state.metadata import MODULES, ModuleSpec
from bigin_emulator.state.sorting import SortedView, record_key

__all__ = ["Record", "Store", "Table", "WriteHistory", "index_key"]

Record = dict[str, Any]


class WriteHistory(Protocol):
    """Told of every record a table adds, replaces or removes."""

    def written(self, record_id: str, before: Record | None, after: Record) -> None: ...

    def removed(self, record_id: str) -> None: ...


def index_key(value: Any) -> str | None:
    """The equality key of a value: case-insensitive text, a lookup's id, a number's canonical form."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict):
        record_id = value.get("id")
        return str(record_id) if record_id is not None else None
    return None


class Table:
    """The records of one module."""

    def __init__(self, spec: ModuleSpec, history: WriteHistory | None = None) -> None:
        self.spec = spec
        self.history = history
        self.records: dict[str, Record] = {}
        self.deleted: set[str] = set()
        self.custom_fields: dict[str, None] = {}
        self._indexes: dict[str, dict[str, dict[str, None]]] = {}
        self._views: dict[str, SortedView] = {}
        # Record keys that need no note in ``custom_fields``: the fields, ``id`` and those noted.
        self._noted_keys: set[str] = {*spec.by_name, "id"}
        for name in spec.unique_fields:
            self._indexes[name] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records.values())

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def newest_first(self) -> Iterator[Record]:
        return reversed(self.records.values())

    def find_equal(self, field: str, value: Any) -> list[str]:
        """Ids of records whose ``field`` equals ``value`` (see ``index_key``), oldest first."""
        key = index_key(value)
        if key is None:
            return []
        index = self._indexes.get(field)
        if index is None:
            index = self._build_index(field)
        return list(index.get(key, ()))

    def first_equal(self, field: str, value: Any, *, other_than: str | None = None) -> str | None:
        """The oldest id ``find_equal`` would list, ``other_than`` left out; None if there is none.

        The uniqueness check of every written record asks this; it copies nothing.
        """
        key = index_key(value)
        if key is None:
            return None
        index = self._indexes.get(field)
        if index is None:
            index = self._build_index(field)
        for record_id in index.get(key, ()):
            if record_id != other_than:
                return record_id
        return None

    def add(self, record: Record) -> None:
        record_id = record["id"]
        self.records[record_id] = record
        self._index(record_id, record)
        self._note_custom(record)
        self._views.clear()
        if self.history is not None:
            self.history.written(record_id, None, record)

    def replace(self, record_id: str, record: Record) -> None:
        old = self.records[record_id]
        self._unindex(record_id, old)
        self.records[record_id] = record
        self._index(record_id, record)
        self._note_custom(record)
        self._views.clear()
        if self.history is not None:
            self.history.written(record_id, old, record)

    def remove(self, record_id: str) -> Record:
        record = self.records.pop(record_id)
        self._unindex(record_id, record)
        self.deleted.add(record_id)
        self._views.clear()
        if self.history is not None:
            self.history.removed(record_id)
        return record

    def sorted_view(self, sort_by: str) -> SortedView:
        """The records in ascending ``sort_by`` order (ties by id), cached until the next write."""
        view = self._views.get(sort_by)
        if view is None:
            if sort_by == "id":
                ids = list(self.records)
                view = SortedView(ids, ids)
            else:
                pairs = sorted((record_key(sort_by, r), rid) for rid, r in self.records.items())
                view = SortedView([k for k, _ in pairs], [rid for _, rid in pairs])
            self._views[sort_by] = view
        return view

    def _build_index(self, field: str) -> dict[str, dict[str, None]]:
        index: dict[str, dict[str, None]] = {}
        for record_id, record in self.records.items():
            key = index_key(record.get(field))
            if key is not None:
                index.setdefault(key, {})[record_id] = None
        self._indexes[field] = index
        return index

    def _index(self, record_id: str, record: Record) -> None:
        for field, index in self._indexes.items():
            key = index_key(record.get(field))
            if key is not None:
                bucket = index.get(key)
                if bucket is None:
                    index[key] = {record_id: None}
                else:
                    bucket[record_id] = None

    def _unindex(self, record_id: str, record: Record) -> None:
        for field, index in self._indexes.items():
            key = index_key(record.get(field))
            if key is not None:
                bucket = index.get(key)
                if bucket is not None:
                    bucket.pop(record_id, None)
                    if not bucket:
                        del index[key]

    def _note_custom(self, record: Record) -> None:
        """Remember keys that are not fields of the module (in first-seen order), for reads."""
        if record.keys() <= self._noted_keys:
            return  # the usual case, checked at C speed: every key is a field, ``id`` or already noted
        for name in record:
            if name not in self._noted_keys:
                self.custom_fields[name] = None
                self._noted_keys.add(name)


class Store:
    """All tables, the id sequence, the global id → module map and related-list links."""

    def __init__(self, history: WriteHistory | None = None) -> None:
        self.history = history
        self.ids = IdSequence()
        self.tables: dict[str, Table] = {}
        self.module_of: dict[str, str] = {}
        self.links = LinkTable()
        self.clear()

    def clear(self) -> None:
        """Forget every record and link (the id sequence is left alone)."""
        self.tables = {name: Table(spec, self.history) for name, spec in MODULES.items()}
        self.module_of = {}
        self.links = LinkTable()

    def table(self, module: str) -> Table:
        return self.tables[module]

    def locate(self, record_id: str) -> tuple[Table, Record] | None:
        """Find a live record by id in any module (ids are unique across the org)."""
        module = self.module_of.get(record_id)
        if module is None:
            return None
        table = self.tables[module]
        record = table.get(record_id)
        return (table, record) if record is not None else None

    def add(self, module: str, record: Record) -> None:
        self.tables[module].add(record)
        self.module_of[record["id"]] = module

    def remove(self, module: str, record_id: str) -> Record:
        record = self.tables[module].remove(record_id)
        self.module_of.pop(record_id, None)
        self.links.forget(record_id)
        return record
