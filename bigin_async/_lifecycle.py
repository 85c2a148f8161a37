"""``async with`` for anything with an ``aclose()``, and the warning for a client never closed.

One definition for every client class (``BiginClient``, ``BooksClient``): ``async with client:``
closes it on exit, and a client that sent calls and was dropped without ``aclose()`` tells the
developer so with a :class:`ResourceWarning` when it is garbage collected.
"""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import Any, ClassVar

from typing_extensions import Self

__all__ = ["AsyncClosing"]


class AsyncClosing:
    """Mixin: ``async with client:`` closes it on exit; subclasses define ``aclose()``.

    A subclass that owns a connection pool also defines :meth:`_left_open` (it sent calls, owns
    its pool and was not closed) and ``_close_advice`` (how to close it), for the warning.
    """

    _close_advice: ClassVar[str] = "call `await client.aclose()` when done"

    async def aclose(self) -> None:  # pragma: no cover - always overridden
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        await self.aclose()

    def _left_open(self) -> bool:
        """True when the client sent calls on a pool it owns and was never closed."""
        return False

    def __del__(self) -> None:
        # No I/O here (the event loop may be gone): only tell the developer they forgot aclose().
        try:
            left_open = self._left_open()
        except AttributeError:  # the constructor raised before the client was whole
            return
        if left_open:
            warnings.warn(
                f"{type(self).__name__} was used and never closed; {self._close_advice}",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )
