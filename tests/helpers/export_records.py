"""What a Bulk Read CSV carries of a REST record, for tests that compare the two reads.

A Bulk Read CSV holds a lookup as the linked record's id and a tag as its name, so a record
exported through a job equals the same record read through ``get()`` once the REST record is cut
down to what the CSV carries: :func:`as_csv_carries`. :func:`csv_cell` writes one REST value the
way Zoho writes it in a Bulk Read CSV (the emulator's format, spec section 7).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from bigin_async.models import Record

__all__ = ["as_csv_carries", "csv_cell", "csv_row"]


def csv_cell(value: Any) -> str:
    """One REST value as a Bulk Read CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return str(value["id"]) if "id" in value else json.dumps(value)
    if isinstance(value, list):
        return ";".join(str(item["name"]) if isinstance(item, dict) else str(item) for item in value)
    return str(value)


def csv_row(record: Mapping[str, Any], header: Iterable[str]) -> list[str]:
    return [csv_cell(record.get(name)) for name in header]


def _carried(value: Any) -> Any:
    if isinstance(value, dict) and "id" in value:
        return {"id": value["id"]}
    if isinstance(value, list):
        return [
            {"name": item["name"]} if isinstance(item, dict) and "name" in item else item for item in value
        ]
    return value


def as_csv_carries(record: Record | Mapping[str, Any], fields: Iterable[str], model: type[Record]) -> Record:
    """``record`` with only ``fields`` (and its id), lookups cut to their id and tags to their name."""
    wire = record.model_dump(by_alias=True) if isinstance(record, Record) else dict(record)
    names = {"id", *fields}
    return model.model_validate({name: _carried(value) for name, value in wire.items() if name in names})
