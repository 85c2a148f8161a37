"""Typed sentinels for keyword arguments, so mypy checks the signatures that use them.

``NOT_GIVEN`` tells "the caller did not pass this" apart from ``None`` (which is a value: no
deadline, no trigger). ``DEFAULT`` tells "let Zoho apply its default" apart from both (for
``trigger``: leave the key out of the body, so Bigin runs the workflows it runs by default).
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, TypeVar, Union

from typing_extensions import Self

__all__ = ["DEFAULT", "NOT_GIVEN", "UNCHANGED", "Default", "NotGiven", "NotGivenOr", "Unchanged"]

_T = TypeVar("_T")


class _Sentinel:
    """One instance per class (a copy or a pickle is the same object), shown by its name."""

    _instance: Any = None
    _name = ""

    def __new__(cls) -> Self:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return self._name

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    def __reduce__(self) -> str:
        return self._name


class NotGiven(_Sentinel):
    """The type of :data:`NOT_GIVEN`: an argument the caller left out. It is falsy.

    ``timeout: float | NotGiven = NOT_GIVEN`` keeps the value already set, where ``None`` could
    itself be a value to set (``deadline=None``: no deadline).
    """

    _name = "NOT_GIVEN"

    def __bool__(self) -> Literal[False]:
        return False


class Unchanged(NotGiven):
    """The type of :data:`UNCHANGED`: "keep the value this client already has" (``with_options``).

    A :class:`NotGiven` (so ``NOT_GIVEN`` works alike) whose repr says what it means, so
    ``help(client.with_options)`` reads ``timeout: float | NotGiven = <unchanged>`` rather than a
    constructor default that a view would not apply.
    """

    _instance: Any = None  # its own single instance, not NotGiven's
    _name = "UNCHANGED"

    def __repr__(self) -> str:
        return "<unchanged>"


class Default(_Sentinel):
    """The type of :data:`DEFAULT`: "let Zoho apply its default" (e.g. which workflows run).

    ``trigger=DEFAULT`` sends no ``trigger`` key, so Bigin decides; ``trigger=[]`` runs none.
    """

    _name = "DEFAULT"


NOT_GIVEN = NotGiven()
UNCHANGED = Unchanged()
DEFAULT = Default()

NotGivenOr: TypeAlias = Union[_T, NotGiven]
