"""Org metadata: modules, fields (cached per client: ``fields="all"`` reads it), layouts, tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from bigin_async.inputs import check_module_name
from bigin_async.models import FieldInfo, Layout, ModuleInfo, parse_page
from bigin_async.modules.base import api_name

if TYPE_CHECKING:
    from bigin_async.transport import Transport

__all__ = ["SettingsClient"]


class SettingsClient:
    """``/settings/*``: what modules, fields and layouts the org has."""

    def __init__(self, transport: Transport, field_cache: dict[str, list[FieldInfo]]) -> None:
        self._transport = transport
        self._field_cache = field_cache
        self._field_lock = anyio.Lock()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        response = await self._transport.send("GET", path, params=params)
        return response.content if response.status_code != 204 else b""

    async def modules(self) -> list[ModuleInfo]:
        return parse_page(ModuleInfo, await self._get("/settings/modules"), "modules").data

    async def fields(self, module: str, *, refresh: bool = False) -> list[FieldInfo]:
        """A module's field metadata, fetched once per client (``refresh=True`` to re-read)."""
        name = check_module_name(api_name(module))
        async with self._field_lock:
            if refresh or name not in self._field_cache:
                body = await self._get("/settings/fields", {"module": name})
                self._field_cache[name] = parse_page(FieldInfo, body, "fields").data
            return self._field_cache[name]

    async def field_names(self, module: str) -> list[str]:
        """API names of every field (what ``fields="all"`` sends; Bigin caps a request at 50)."""
        names = [f.api_name for f in await self.fields(module) if f.api_name]
        return names[:50]

    async def layouts(self, module: str) -> list[Layout]:
        name = check_module_name(api_name(module))
        return parse_page(Layout, await self._get("/settings/layouts", {"module": name}), "layouts").data

    async def tags(self, module: str) -> list[dict[str, Any]]:
        """The tags defined for a module."""
        import json

        name = check_module_name(api_name(module))
        body = await self._get("/settings/tags", {"module": name})
        decoded = json.loads(body) if body else {}
        tags = decoded.get("tags") if isinstance(decoded, dict) else None
        return list(tags) if isinstance(tags, list) else []
