"""``async with`` for anything with an ``aclose()``: one definition for every client class."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from typing_extensions import Self

__all__ = ["AsyncClosing"]


class AsyncClosing:
    """Mixin: ``async with client:`` closes it on exit; subclasses define ``aclose()``."""

    async def aclose(self) -> None:  # pragma: no cover - always overridden
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        await self.aclose()
