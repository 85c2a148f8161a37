"""Adversarial review of ``bulk_export``: hostile results, page edges, values, files and descriptors.

Each test here failed before the fix it came with (see the commit that added it).
"""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest

from bigin_async.errors import BulkJobError
from bigin_emulator import BiginEmulator
from tests.bulk.jobs.test_export_reading import FakeJobs, export_of
from tests.helpers.export_records import downloads_on_fake_time


def line_bomb(path: Path, size: int) -> Path:
    """A zip of a few kilobytes whose CSV is a header, then one line of ``size`` bytes with no end."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("1.csv", "w") as entry:
            entry.write(b"id,Last_Name\n1,")
            chunk = b"a" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    return path


async def test_a_row_without_an_end_is_refused_before_it_fills_memory(tmp_path: Path) -> None:
    # 64 MB of one cell inflate from a zip of about 64 KB: a Bulk Read result is not trusted to
    # be sane, so a row is read only up to what a row can hold, never whole into memory.
    jobs = FakeJobs([line_bomb(tmp_path / "bomb.zip", 64 * 1024 * 1024)])
    tracemalloc.start()
    try:
        with pytest.raises(BulkJobError, match="page 1"):
            [r async for r in export_of(jobs)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


async def test_a_note_with_carriage_returns_exports_as_get_reads_it(emulator: BiginEmulator) -> None:
    texts = ["old mac\rline", "dos\r\nline", "unix\nline", "trailing\r"]
    ids = [
        entry["details"]["id"]
        for entry in emulator.insert_records(
            "Contacts", [{"Last_Name": f"N{i}", "Description": text} for i, text in enumerate(texts)]
        )
    ]
    async with emulator.client() as client:
        downloads_on_fake_time(client)
        exported = [r async for r in client.contacts.bulk_export(fields=["Description"], poll_interval=0)]
        assert [r.id for r in exported] == ids
        for record in exported:
            assert record.id is not None
            rest = await client.contacts.get(record.id, fields=["Description"])
            assert record.Description == rest.Description
    assert [r.Description for r in exported] == texts
