"""Plain-HTTP helpers for the emulator's wire-level tests: insert records, read one back (no SDK)."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["get_record", "insert"]


async def insert(api: httpx.AsyncClient, module: str, *records: dict[str, Any]) -> list[str]:
    """Insert records that must all succeed; their ids in input order."""
    response = await api.post(f"/bigin/v2/{module}", json={"data": list(records)})
    assert response.status_code == 201, response.text
    return [entry["details"]["id"] for entry in response.json()["data"]]


async def get_record(api: httpx.AsyncClient, module: str, record_id: str) -> dict[str, Any]:
    response = await api.get(f"/bigin/v2/{module}/{record_id}")
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()["data"][0]
    return record
