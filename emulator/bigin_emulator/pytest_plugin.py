"""The pytest plugin (entry point ``pytest11``): ``emulator`` and ``emulator_client`` fixtures.

Installing ``bigin-emulator`` makes the fixtures available in every test session, as respx gives
``respx_mock``: a test that asks for ``emulator`` gets a fresh in-process
:class:`~bigin_emulator.BiginEmulator` with no records (no sockets, no credentials)::

    def test_seeded(emulator):
        emulator.seed_data(contacts=3)

    async def test_create(emulator):
        async with emulator.client() as bigin:
            created = await bigin.contacts.create({"Last_Name": "Ng"})

``emulator_client`` is that ``emulator.client()`` already entered (it needs ``bigin-async``)::

    async def test_create(emulator_client):
        created = await emulator_client.contacts.create({"Last_Name": "Ng"})

It is an async fixture, so the test must run under an async plugin that runs async fixtures:
anyio's (installed with anyio; mark the test ``@pytest.mark.anyio`` or set ``anyio_mode = "auto"``,
which also runs it on trio with an ``anyio_backend`` fixture), or pytest-asyncio in auto mode.

Mark a test ``@pytest.mark.bigin_emulator(realism="zoho", seed_records=50)`` to pass keyword
arguments to ``BiginEmulator``. Importing this module is cheap (no Starlette, no SDK): pytest
imports it in every session of every project that has the package installed, and the emulator
loads only when a test asks for a fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bigin_async.client import BiginClient
    from bigin_emulator.emulator import BiginEmulator

__all__ = ["emulator", "emulator_client", "pytest_configure"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bigin_emulator(**kwargs): keyword arguments for the `emulator` fixture's BiginEmulator",
    )


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[BiginEmulator]:
    """A fresh in-process Bigin emulator for one test (keyword arguments from the marker)."""
    from bigin_emulator.emulator import BiginEmulator

    marker = request.node.get_closest_marker("bigin_emulator")
    kwargs: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    yield BiginEmulator(**kwargs)


@pytest.fixture
async def emulator_client(emulator: BiginEmulator) -> AsyncIterator[BiginClient]:
    """``emulator.client()``, entered for the test and closed after it (needs ``bigin-async``)."""
    async with emulator.client() as bigin:
        yield bigin
