"""``bigin`` as a real process against an emulator served on a loopback port.

asyncio only: the emulator's socket server is uvicorn. The test awaits the child process; the
server keeps answering it from the same event loop meanwhile.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import anyio
import pytest

from bigin_emulator import BiginEmulator
from tests.helpers.cli import read_results, write_csv


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def bigin_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "bigin_async.cli", *args]


def clean_env() -> dict[str, str]:
    """The environment without a developer's real Bigin credentials."""
    return {name: value for name, value in os.environ.items() if not name.startswith("BIGIN_")}


async def test_import_with_a_bad_row_exits_1_and_the_results_file_names_the_row(tmp_path: Path) -> None:
    rows = [["First_Name", "Last_Name", "Email"]] + [
        ["P", f"Person {i}", f"person{i}@example.com"] for i in range(150)
    ]
    rows[42] = ["P", "Person 41", "person41-at-example.com"]  # data row 42, line 43: not an email
    source = write_csv(tmp_path / "people.csv", rows)
    emulator = BiginEmulator()
    async with emulator.serve(port=0) as url:
        done = await anyio.run_process(
            bigin_argv("import", "Contacts", str(source), "--emulator", url, "--no-progress"),
            check=False,
            env=clean_env(),
        )
    assert done.returncode == 1, done.stderr.decode()
    results = read_results(tmp_path / "people.results.csv")
    failed = [row for row in results if row["status"] != "success"]
    assert [(row["row"], row["line"], row["code"], row["key"]) for row in failed] == [
        ("42", "43", "INVALID_DATA", "Email=person41-at-example.com")
    ]
    assert len(results) == 150 and len(emulator.store.table("Contacts")) == 149
    assert "results:" in done.stdout.decode()


async def test_export_writes_every_record_to_a_file(tmp_path: Path) -> None:
    emulator = BiginEmulator(seed_records=321)
    output = tmp_path / "all.csv"
    async with emulator.serve(port=0) as url:
        done = await anyio.run_process(
            bigin_argv(
                "export",
                "Contacts",
                "--fields",
                "Email",
                "-o",
                str(output),
                "--emulator",
                url,
                "--no-progress",
            ),
            check=False,
            env=clean_env(),
        )
    assert done.returncode == 0, done.stderr.decode()
    with output.open(newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 321


async def test_two_processes_in_a_row_share_one_token_refresh(tmp_path: Path) -> None:
    """The second process finds the first one's token in the per-user file (HOME is tmp_path)."""
    emulator = BiginEmulator(seed_records=5)
    async with emulator.serve(port=0) as url:
        env = {
            **clean_env(),
            "HOME": str(tmp_path),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "BIGIN_CLIENT_ID": emulator.client_id,
            "BIGIN_CLIENT_SECRET": emulator.client_secret,
            "BIGIN_REFRESH_TOKEN": emulator.refresh_token,
            "BIGIN_API_DOMAIN": url,
            "BIGIN_ACCOUNTS_URL": url,
        }
        codes = []
        for name in ("a.csv", "b.csv"):
            done = await anyio.run_process(
                bigin_argv("export", "Contacts", "-o", str(tmp_path / name), "--no-progress"),
                check=False,
                env=env,
            )
            codes.append((done.returncode, done.stderr.decode()))
    assert codes == [(0, ""), (0, "")]
    assert emulator.counters.refreshes == 1
    assert [
        path.name.startswith("token-us-") for path in (tmp_path / "cache" / "bigin-async").glob("*.json")
    ] == [True]
