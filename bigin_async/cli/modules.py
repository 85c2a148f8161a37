"""A mistyped module name, said as such: ``bigin import Contcts`` is a usage error naming Contacts.

The first call every command makes anyway (``settings/fields`` for an import, the first page of
an export, the attachment list or upload) names the module, and Bigin answers ``INVALID_MODULE``
to a name it does not have. ``bigin`` turns that answer into exit 2 with the nearest module
names, so a typo costs that one call and sends no record. The names offered are the SDK's own
(:func:`bigin_async.models.modules.nearest_modules`, which the bulk jobs' module check uses too):
each module of :data:`~bigin_async.models.modules.MODULES` by its client name (``companies``), its
API name (``Accounts``) and its other name (``Companies``).
"""

from __future__ import annotations

from collections.abc import Iterable

from bigin_async.errors import UsageError
from bigin_async.models.modules import MODULES, module_spec, nearest_modules, quoted_module_name

__all__ = ["module_suggestions", "unknown_module_error"]


def module_suggestions(name: str, known: Iterable[str] | None = None) -> list[str]:
    """The module names a person most likely meant by ``name``: the SDK's :func:`nearest_modules`.

    ``known`` are the names to choose from (the module table's by default).
    """
    return nearest_modules(name, among=known)


def unknown_module_error(name: str) -> UsageError:
    """The usage error for a module Bigin answered ``INVALID_MODULE`` to, with the nearest names.

    A module the SDK knows (``Notes``, say) may still be refused by a command that does not take
    it, or by an org where it is not enabled: that is said as such, not as a typo.
    """
    shown = quoted_module_name(name)
    if module_spec(name) is not None or any(spec.name == name.casefold() for spec in MODULES):
        return UsageError(
            f"Bigin refused the module {shown} here (INVALID_MODULE): this command does not take it, "
            "or it is not enabled in this org"
        )
    near = module_suggestions(name)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    names = ", ".join(spec.alias or spec.api_name for spec in MODULES)
    return UsageError(
        f"no module {shown} in this org{hint} (modules: {names}, or a custom module's API name)"
    )
