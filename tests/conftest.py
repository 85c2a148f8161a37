"""Shared test set-up: every async test runs on asyncio and on trio (anyio_mode = "auto")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Bodies recorded against a live Bigin org, copied into the repository so a clone tests on its own.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bigin-recorded"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def load_fixture(name: str) -> Any:
    """A body recorded against a live Bigin org (see tests/fixtures/bigin-recorded/INDEX.md)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
