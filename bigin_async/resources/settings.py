"""Org metadata: modules, fields (cached per client: ``fields="all"`` reads it), layouts, tags,
custom views and related lists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from bigin_async._inputs import check_module_name
from bigin_async.errors import APIError
from bigin_async.models import CustomView, FieldInfo, Layout, ModuleInfo, RelatedList, parse_page
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

    async def custom_views(self, module: str) -> list[CustomView]:
        """The module's custom views (saved list views), every page of them.

        A view's ``id`` is the ``cvid`` of ``list(cvid=...)``, which reads the records the view
        shows (3 credits a page). Zoho pages this list (``info.more_records``); the pages are read
        one after the other until the last. A page of views all read already while Zoho says more
        follow (a server repeating a page) raises :class:`APIError`: following it could loop
        forever, and stopping there would return part of the list as if it were all of it.
        """
        name = check_module_name(api_name(module))
        views: dict[str, CustomView] = {}
        number = 1
        while True:
            page = await self._get(
                "/settings/custom_views",
                lambda body: parse_page(CustomView, body, "custom_views"),
                {"module": name, "page": number},
            )
            new = [view for view in page.data if view.id not in views]
            views.update((view.id, view) for view in new)
            if page.info is None or not page.info.more_records:
                return list(views.values())
            if not new:
                raise APIError(
                    f"the server repeated a page of custom views (page {number} has no view not read "
                    "before, yet more are said to follow): the list cannot be read whole",
                    status_code=200,
                    details={"module": name, "page": number},
                    method="GET",
                    url="/settings/custom_views",
                )
            number += 1

    async def related_lists(self, module: str) -> list[RelatedList]:
        """The related lists of the module's records: their ``api_name`` is what ``related()``,
        ``link()`` and ``unlink()`` take (a contact's ``Products``, a company's ``Contacts``...)."""
        name = check_module_name(api_name(module))
        return await self._get(
            "/settings/related_lists",
            lambda body: parse_page(RelatedList, body, "related_lists").data,
            {"module": name},
        )

    async def tags(self, module: str) -> list[dict[str, Any]]:
        """The tags defined for a module, as Zoho sent them; ``bigin.tags.list()`` gives :class:`Tag`."""
        name = check_module_name(api_name(module))
        return await self._get("/settings/tags", tag_entries, {"module": name})
