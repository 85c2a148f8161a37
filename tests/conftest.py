"""Shared test set-up: every async test runs on asyncio and on trio through anyio's plugin."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "bigin-recorded"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and inspect.iscoroutinefunction(function):
            if not any(m.name in ("asyncio", "anyio") for m in item.iter_markers()):
                item.add_marker(pytest.mark.anyio)


def load_fixture(name: str) -> Any:
    """A body recorded against a live Bigin org (see ../shared/fixtures/bigin-recorded/INDEX.md)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
