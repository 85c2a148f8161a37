"""The bodies recorded against a live Bigin org, read from inside the repository.

They were copied into ``tests/fixtures/bigin-recorded/`` (with ``INDEX.md`` saying what each one is)
so that a clone on its own, as users get it, runs every test that needs them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["FIXTURES", "fixture_bytes", "load_fixture"]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bigin-recorded"


def load_fixture(name: str) -> Any:
    """A recorded body, parsed from JSON (see tests/fixtures/bigin-recorded/INDEX.md)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_bytes(name: str) -> bytes:
    """A recorded body as Bigin sent it, byte for byte."""
    return (FIXTURES / name).read_bytes()
