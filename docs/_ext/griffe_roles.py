"""A griffe extension for the API reference (mkdocs.yml loads it): the library's docstrings are
written in reST, for readers of the source and of ``help()``, and cite names with Sphinx roles
(``:class:`BulkResult```, ``:meth:`~ModuleClient.search```). Markdown has no roles, so each becomes
inline code with the name as a reader would type it (the ``~`` form keeps the last part only),
linked to the name's entry when the reference renders one (an optional autorefs link: a name the
site does not document stays plain code, and never fails the strict build). A paragraph ending in
reST's ``::`` before an indented block ends in one colon (the block is code in Markdown too).
reST's double backticks, which Markdown already reads as code, are left alone."""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

# :class:`X`, :py:meth:`~a.b.C.d`, :data:`!X`; Markdown would show the role's name as text.
# reST's "text::" before an indented block: the block is code in Markdown too; the "::" is one colon.
LITERAL_BLOCK = re.compile(r"(\S) ?::\n\n(?=[ \t]+\S)")
ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj|const|ref|term):`([!~]?)([^`]+)`")


def _target(obj: griffe.Object, name: str) -> str | None:
    """The full path ``name`` means where ``obj`` is written, or None."""
    first, _, rest = name.partition(".")
    for scope in (obj, *_parents(obj)):
        try:
            path = scope.resolve(first)
        except (griffe.NameResolutionError, AttributeError, KeyError):
            continue
        return f"{path}.{rest}" if rest else path
    return name if name.startswith(("bigin_async.", "bigin_emulator.")) else None


def _parents(obj: griffe.Object) -> list[griffe.Object]:
    parents: list[griffe.Object] = []
    parent = obj.parent
    while parent is not None:
        parents.append(parent)
        parent = parent.parent
    return parents


def strip_roles(text: str, obj: griffe.Object | None = None) -> str:
    """The docstring with every Sphinx role turned into inline code (linked when ``obj`` is given
    and the name resolves from it)."""

    def replace(match: re.Match[str]) -> str:
        prefix, name = match.group(1), match.group(2).strip()
        if "<" in name and name.endswith(">"):  # :ref:`text <target>` shows its text
            name = name.split("<", 1)[0].strip()
        shown = name.rsplit(".", 1)[-1] if prefix == "~" else name
        shown = shown.removesuffix("()")
        path = _target(obj, name.removesuffix("()")) if obj is not None and prefix != "!" else None
        if path is None:
            return f"``{shown}``"
        code = html.escape(shown)
        return f'<autoref identifier="{html.escape(path)}" optional><code>{code}</code></autoref>'

    return LITERAL_BLOCK.sub(r"\1:\n\n", ROLE.sub(replace, text))


class SphinxRoles(griffe.Extension):
    """Rewrites the roles of every docstring griffe loads, before mkdocstrings renders it."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = strip_roles(obj.docstring.value, obj)
