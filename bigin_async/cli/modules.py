"""A mistyped module name, said as such: ``bigin import Contcts`` is a usage error naming Contacts.

The first call every command makes anyway (``settings/fields`` for an import, the first page of
an export, the attachment list or upload) names the module, and Bigin answers ``INVALID_MODULE``
to a name it does not have. ``bigin`` turns that answer into exit 2 with the nearest module
names, so a typo costs that one call and sends no record. The names offered are the SDK's module
table (:data:`bigin_async.models.modules.MODULES`): each module by its client name
(``companies``), its API name (``Accounts``) and its other name (``Companies``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bigin_async.errors import UsageError
from bigin_async.models.modules import MODULES, module_spec

__all__ = ["module_suggestions", "unknown_module_error"]


def _known_names() -> list[str]:
    names: dict[str, None] = {}
    for spec in MODULES:
        for name in (spec.api_name, spec.alias, spec.name):
            if name:
                names[name] = None
    return list(names)


def module_suggestions(name: str, known: Iterable[str] | None = None) -> list[str]:
    """The module names a person most likely meant by ``name`` (at most three, nearest first).

    Compared without case, so ``contcts`` finds ``Contacts``; a client name (``companies``) is
    offered as the API name it stands for only when that is not offered already, so ``Companis``
    suggests ``Companies`` and not also ``companies``.
    """
    candidates = list(known) if known is not None else _known_names()
    folded: dict[str, str] = {}
    for candidate in candidates:
        folded.setdefault(candidate.casefold(), candidate)
    wanted = name.casefold()
    close = difflib.get_close_matches(wanted, list(folded), n=6, cutoff=0.6)
    # Only names about as near as the nearest: ``Contcts`` is Contacts, not also Accounts.
    best = difflib.SequenceMatcher(None, wanted, close[0]).ratio() if close else 0.0
    found: list[str] = []
    for match in close:
        if difflib.SequenceMatcher(None, wanted, match).ratio() < best - 0.15:
            continue
        spelled = folded[match]
        spec = module_spec(spelled) if known is None else None
        shown = spelled if spec is None or spelled != spec.name else (spec.alias or spec.api_name)
        if shown not in found and shown != name:
            found.append(shown)
    return found[:3]


def _shown(name: str, limit: int = 60) -> str:
    """A name as an error quotes it: cut past ``limit`` characters (a pasted paragraph is no name)."""
    return repr(name if len(name) <= limit else name[:limit] + "...")


def unknown_module_error(name: str) -> UsageError:
    """The usage error for a module Bigin answered ``INVALID_MODULE`` to, with the nearest names.

    A module the SDK knows (``Notes``, say) may still be refused by a command that does not take
    it, or by an org where it is not enabled: that is said as such, not as a typo.
    """
    if module_spec(name) is not None or any(spec.name == name.casefold() for spec in MODULES):
        return UsageError(
            f"Bigin refused the module {_shown(name)} here (INVALID_MODULE): this command does not take it, "
            "or it is not enabled in this org"
        )
    near = module_suggestions(name) if len(name) <= 100 else []
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    names = ", ".join(spec.alias or spec.api_name for spec in MODULES)
    return UsageError(
        f"no module {_shown(name)} in this org{hint} (modules: {names}, or a custom module's API name)"
    )
