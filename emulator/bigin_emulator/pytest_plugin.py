"""The pytest plugin (entry point ``pytest11``): an ``emulator`` fixture, as respx gives ``respx_mock``.

Installing ``bigin-emulator`` makes the fixture available in every test session; a test that asks
for ``emulator`` gets a fresh in-process :class:`~bigin_emulator.BiginEmulator` with no records, and
``emulator.client()`` gives a ``BiginClient`` wired to it (no sockets, no credentials)::

    async def test_create(emulator):
        async with emulator.client() as bigin:
            created = await bigin.contacts.create({"Last_Name": "Ng"})

Mark a test ``@pytest.mark.bigin_emulator(realism="zoho", seed_records=50)`` to pass keyword
arguments to ``BiginEmulator``. Importing this module is cheap: the emulator loads when the fixture
is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bigin_emulator.emulator import BiginEmulator

__all__ = ["emulator", "pytest_configure"]


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
