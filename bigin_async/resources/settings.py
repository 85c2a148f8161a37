"""Org metadata: modules, fields (cached per client: ``fields="all"`` reads it), layouts, tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from bigin_async._inputs import check_module_name
from bigin_async.models import FieldInfo, Layout, ModuleInfo, parse_page
from bigin_async.models.modules import api_name
from bigin_async.models.tags import tag_entries
from bigin_async.resources._base import APIResource

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = ["SettingsClient"]


class SettingsClient(APIResource):
    """``/settings/*``: what modules, fields and layouts the org has."""

    def __init__(self, transport: Transport, field_cache: dict[str, list[FieldInfo]]) -> None:
        super().__init__(transport)
        self._field_cache = field_cache
        self._field_lock = anyio.Lock()

    async def modules(self) -> list[ModuleInfo]:
        return await self._get("/settings/modules", lambda body: parse_page(ModuleInfo, body, "modules").data)

    async def fields(self, module: str, *, refresh: bool = False) -> list[FieldInfo]:
        """A module's field metadata, fetched once per client (``refresh=True`` to re-read)."""
        name = check_module_name(api_name(module))
        async with self._field_lock:
            if refresh or name not in self._field_cache:
                self._field_cache[name] = await self._get(
                    "/settings/fields",
                    lambda body: parse_page(FieldInfo, body, "fields").data,
                    {"module": name},
                )
            return self._field_cache[name]

    async def field_names(self, module: str, *, refresh: bool = False) -> list[str]:
        """API names of every field: what ``fields="all"`` asks for (all of them, even past 50).

        Bigin reads at most 50 fields a request, so ``get(id, fields="all")`` splits longer
        lists into several reads and lists refuse them; none is dropped without a word.
        ``refresh=True`` re-reads them (a custom field created since they were cached).
        """
        return [f.api_name for f in await self.fields(module, refresh=refresh) if f.api_name]

    async def layouts(self, module: str) -> list[Layout]:
        name = check_module_name(api_name(module))
        return await self._get(
            "/settings/layouts", lambda body: parse_page(Layout, body, "layouts").data, {"module": name}
        )

    async def tags(self, module: str) -> list[dict[str, Any]]:
        """The tags defined for a module, as Zoho sent them; ``bigin.tags.list()`` gives :class:`Tag`."""
        name = check_module_name(api_name(module))
        return await self._get("/settings/tags", tag_entries, {"module": name})
