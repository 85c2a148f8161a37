"""Path convertors for the routes: ``{x:record_id}`` matches digits only, ``{x:module}`` a module segment.

Registered once, at import, in Starlette's global convertor table (hence the distinctive names).
Ids matching only digits keeps ``/Contacts/search`` and ``/Contacts/upsert`` from reading as ids;
module segments exclude the fixed top-level paths, so ``DELETE /org`` is a 405, not a module.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

__all__ = ["ModuleNameConvertor", "RecordIdConvertor"]


class RecordIdConvertor(Convertor[str]):
    """Only all-digit path segments are record ids, so ``/Contacts/search`` never reads as one."""

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class ModuleNameConvertor(Convertor[str]):
    """A module path segment; the fixed top-level paths are not modules, so ``DELETE /org`` is a 405."""

    regex = "(?!(?:org|users|coql|settings|actions)(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("record_id", RecordIdConvertor())
register_url_convertor("module", ModuleNameConvertor())
