"""Bulk Write files and calls for the emulator's tests, over plain httpx (no SDK).

``csv_zip`` builds the zip Zoho's file host takes (or a broken one), ``upload`` sends it to the
in-process file host, ``create_write`` makes a job of it and ``result_rows`` reads a result zip.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from bigin_emulator import BiginEmulator

__all__ = [
    "UPLOAD_URL",
    "authorised",
    "ZGID",
    "create_write",
    "csv_text",
    "csv_zip",
    "result_rows",
    "upload",
    "upload_headers",
    "uploaded",
    "write_job",
]

UPLOAD_URL = "http://127.0.0.2/bigin/v2/upload"
ZGID = "900000001"


def csv_text(rows: Sequence[Sequence[Any]]) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue()


def csv_zip(
    rows: Sequence[Sequence[Any]] | None = None,
    *,
    name: str = "part.csv",
    raw: bytes | None = None,
    extra: Mapping[str, bytes] | None = None,
) -> bytes:
    """A zip holding ``name`` (the rows as CSV, or ``raw`` bytes) and any ``extra`` members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, raw if raw is not None else csv_text(rows or []).encode("utf-8"))
        for other, content in (extra or {}).items():
            archive.writestr(other, content)
    return buffer.getvalue()


def upload_headers(**overrides: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {"feature": "bulk-write", "X-CRM-ORG": ZGID, **overrides}
    return {k: v for k, v in headers.items() if v is not None}


async def upload(
    http: httpx.AsyncClient,
    data: bytes,
    *,
    url: str = UPLOAD_URL,
    filename: str = "part.zip",
    headers: Mapping[str, str | None] | None = None,
) -> httpx.Response:
    return await http.post(
        url, headers=upload_headers(**(headers or {})), files={"file": (filename, data, "application/zip")}
    )


async def uploaded(http: httpx.AsyncClient, rows: Sequence[Sequence[Any]]) -> str:
    """Upload ``rows`` (header first) and return the file_id."""
    answer = await upload(http, csv_zip(rows))
    assert answer.status_code == 200, answer.text
    file_id: str = answer.json()["details"]["file_id"]
    return file_id


async def create_write(
    http: httpx.AsyncClient,
    file_id: str,
    operation: str = "insert",
    module: Any = "Contacts",
    mappings: Sequence[str] | None = None,
    *,
    callback: Mapping[str, Any] | None = None,
    **resource: Any,
) -> httpx.Response:
    entry: dict[str, Any] = {"type": "data", "module": {"api_name": module}, "file_id": file_id, **resource}
    if mappings is not None:
        entry["field_mappings"] = [{"api_name": name, "index": i} for i, name in enumerate(mappings)]
    body: dict[str, Any] = {"operation": operation, "character_encoding": "UTF-8", "resource": [entry]}
    if callback is not None:
        body["callback"] = dict(callback)
    return await http.post("/bigin/bulk/v2/write", json=body)


async def write_job(
    http: httpx.AsyncClient,
    rows: Sequence[Sequence[Any]],
    operation: str = "insert",
    module: str = "Contacts",
    **resource: Any,
) -> str:
    """Upload ``rows`` and create a job mapping every column by the header; the job id."""
    file_id = await uploaded(http, rows)
    answer = await create_write(http, file_id, operation, module, [str(c) for c in rows[0]], **resource)
    assert answer.status_code == 201, answer.text
    job_id: str = answer.json()["details"]["id"]
    return job_id


def result_rows(data: bytes) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def authorised(emulator: BiginEmulator) -> httpx.AsyncClient:
    return emulator.http_client(token=emulator.issue_token())
