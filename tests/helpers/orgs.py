"""An emulated org built once per test module and handed to each test fresh.

Seeding thousands of records takes a while; a module's fixture builds the org once with
:func:`seeded_state` and each test gets its own copy with :func:`fresh`, so no test sees another's
changes.
"""

from __future__ import annotations

from typing import Any

from bigin_emulator import BiginEmulator

__all__ = ["fresh", "seeded_state"]


def seeded_state(**counts: int) -> dict[str, Any]:
    """The state of an org seeded with ``counts`` (``contacts=2_500``, ``companies=1``...)."""
    emulator = BiginEmulator()
    emulator.seed_data(**counts)
    return emulator.export_state()


def fresh(state: dict[str, Any]) -> BiginEmulator:
    """An emulator holding ``state`` (an ``export_state()`` result)."""
    emulator = BiginEmulator()
    emulator.import_state(state)
    return emulator
