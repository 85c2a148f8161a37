"""Running ``bigin`` commands against an emulator: in-process with the output captured, or the argv
of a real ``python -m bigin_async.cli`` process pointed at a served one."""

from __future__ import annotations

import csv
import io
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bigin_async.cli import build_parser, run_command
from bigin_emulator import BiginEmulator
from tests.helpers.lost_answers import LoseAnswers


@dataclass
class Run:
    code: int
    out: str
    err: str


async def bigin(emulator: BiginEmulator, *argv: str, **client_options: Any) -> Run:
    """``bigin ARGV...`` with the client wired to ``emulator`` in-process."""
    args = build_parser().parse_args([*argv, "--no-progress"])
    out, err = io.StringIO(), io.StringIO()
    code = await run_command(
        args,
        connect=lambda _: emulator.client(**client_options),
        out=Console(file=out, width=200),
        err=Console(file=err, width=200),
    )
    return Run(code, out.getvalue(), err.getvalue())


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def read_results(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def contact_emails(emulator: BiginEmulator) -> Counter[str]:
    """How many contacts the org holds with each email (a doubled record shows as 2)."""
    return Counter(str(record["Email"]) for record in emulator.store.table("Contacts"))


async def import_losing_answers(emulator: BiginEmulator, source: Path, calls: int = 1) -> Run:
    """``bigin import Contacts SOURCE``, one call at a time, with the first ``calls`` answers lost:
    Bigin holds those calls' records but the rows end ``unknown``."""
    lose = LoseAnswers(emulator.transport(), "POST", "/bigin/v2/Contacts", count=calls)
    return await bigin(emulator, "import", "Contacts", str(source), "--max-concurrency", "1", transport=lose)


def process_argv(*argv: str, emulator_url: str) -> list[str]:
    """The command line of a real ``bigin ARGV...`` process logged in to the emulator at ``emulator_url``."""
    return [sys.executable, "-m", "bigin_async.cli", *argv, "--emulator", emulator_url, "--no-progress"]


def clear_bigin_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every ``BIGIN_*`` variable for the test, so nothing of the developer's shell (a real
    org's credentials, a token file, a Redis) is read."""
    for name in [name for name in os.environ if name.startswith("BIGIN_")]:
        monkeypatch.delenv(name)
