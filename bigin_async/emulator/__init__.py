"""An offline Bigin v2 server (Starlette ASGI app) that behaves like Zoho on the wire.

``BiginEmulator`` is the entry point. Importing this package is cheap and does not need Starlette
or uvicorn: the emulator is loaded on first use of ``BiginEmulator``, and uvicorn only when
``serve()`` runs. ``bigin_async.emulator.criteria_parser`` is pure Python on purpose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import BiginEmulator
    from .faults import FaultPlan, ServerLimits

__all__ = ["BiginEmulator", "FaultPlan", "ServerLimits"]


def __getattr__(name: str) -> Any:
    if name == "BiginEmulator":
        from .emulator import BiginEmulator

        return BiginEmulator
    if name in ("FaultPlan", "ServerLimits"):
        from . import faults

        return getattr(faults, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
