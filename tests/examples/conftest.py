"""Fixtures for the examples' tests: a fresh emulator per test and a client on it.

Loading an example file is ``tests.helpers.examples.load_example``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bigin_async import BiginClient
from bigin_emulator import BiginEmulator


@pytest.fixture
def emulator() -> BiginEmulator:
    return BiginEmulator()


@pytest.fixture
async def bigin(emulator: BiginEmulator) -> AsyncIterator[BiginClient]:
    async with emulator.client() as client:
        yield client
