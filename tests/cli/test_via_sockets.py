"""``bigin import/export --via jobs`` as real processes against an emulator served on loopback ports.

The file host of the uploads is the emulator's second port, given with ``--content-domain``.
asyncio only: the emulator's socket server is uvicorn.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import anyio
import pytest

from bigin_async.cli.common import client_from_args
from bigin_emulator import BiginEmulator
from tests.cli.test_cli_e2e import bigin_argv, clean_env
from tests.helpers.cli import read_results, write_csv


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_import_and_export_through_jobs_over_sockets(tmp_path: Path) -> None:
    rows = [["Last_Name", "Email"]] + [[f"Person {i}", f"person{i}@example.com"] for i in range(120)]
    source = write_csv(tmp_path / "people.csv", rows)
    output = tmp_path / "back.csv"
    emulator = BiginEmulator()
    async with emulator.serve(port=0) as url:
        assert emulator.content_url is not None
        connection = ["--emulator", url, "--content-domain", emulator.content_url, "--no-progress"]
        imported = await anyio.run_process(
            bigin_argv(
                "import", "Contacts", str(source), "--via", "jobs", "--poll-interval", "0", *connection
            ),
            check=False,
            env=clean_env(),
        )
        exported = await anyio.run_process(
            bigin_argv(
                "export",
                "Contacts",
                "--fields",
                "Email",
                "-o",
                str(output),
                "--via",
                "jobs",
                "--poll-interval",
                "0",
                *connection,
            ),
            check=False,
            env=clean_env(),
        )
    assert imported.returncode == 0, imported.stderr.decode()
    assert exported.returncode == 0, exported.stderr.decode()
    assert [row["status"] for row in read_results(tmp_path / "people.results.csv")] == ["success"] * 120
    with output.open(newline="") as handle:
        assert sorted(row["Email"] for row in csv.DictReader(handle)) == sorted(r[1] for r in rows[1:])
    assert emulator.counters.requests_by_route["POST /bigin/bulk/v2/write"] == 1
    assert emulator.counters.requests_by_route["POST /bigin/bulk/v2/read"] == 1
    assert "via jobs" in imported.stdout.decode() and "via jobs" in exported.stdout.decode()


def test_the_content_domain_comes_from_the_flag_or_for_an_emulator_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def args(**given: object) -> argparse.Namespace:
        options = {"emulator": "http://127.0.0.1:9999", "max_concurrency": None, "requests_per_minute": None}
        return argparse.Namespace(**(options | given))

    monkeypatch.delenv("BIGIN_CONTENT_DOMAIN", raising=False)
    flagged = client_from_args(args(content_domain="http://127.0.0.1:9998"))
    assert flagged.config.content_domain == "http://127.0.0.1:9998"
    monkeypatch.setenv("BIGIN_CONTENT_DOMAIN", "http://127.0.0.1:9997")
    assert client_from_args(args()).config.content_domain == "http://127.0.0.1:9997"
    assert client_from_args(args(content_domain="http://127.0.0.1:9998")).config.content_domain == (
        "http://127.0.0.1:9998"
    )
