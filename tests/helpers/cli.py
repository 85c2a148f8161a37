"""Running ``bigin`` commands in-process against an emulator, with the output captured."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from bigin_async.cli import build_parser, run_command
from bigin_emulator import BiginEmulator


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
