"""The org's tags, per module, as ``/settings/tags`` shows them and records carry them.

Records read tags as ``[{"name", "id", "color_code"}]``; writers send ``[{"name"}]`` or plain
strings (``["VIP"]``), which Bigin accepts too. A tag named for the first time is created on the
fly, as Bigin does. Tags are looked up case-insensitively by name within their module and by id
across the org (ids are unique org-wide). Renaming, recolouring, merging and deleting change the
registry only; ``routes.tags`` carries the change to the records that carry the tag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Tag", "TagRegistry", "tag_names"]


@dataclass
class Tag:
    """One tag of one module, as ``/settings/tags`` lists it (``modified_time`` None: never)."""

    id: str
    name: str
    color_code: str | None
    created_time: str
    modified_time: str | None = None

    def on_record(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "color_code": self.color_code}


def tag_names(value: Any) -> list[str] | None:
    """Names from a written ``Tag`` value or a ``tag_names`` list; None when the shape is wrong."""
    if not isinstance(value, list):
        return None
    names: list[str] = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            return None
        names.append(name.strip())
    return names


class TagRegistry:
    """Tags by module, looked up case-insensitively by name, or by id."""

    def __init__(self, new_id: Callable[[], str], now: Callable[[], str]) -> None:
        self._new_id = new_id
        self._now = now
        self.by_module: dict[str, dict[str, Tag]] = {}

    def ensure(self, module: str, name: str, color_code: str | None = None) -> Tag:
        tags = self.by_module.setdefault(module, {})
        tag = tags.get(name.casefold())
        if tag is None:
            tag = Tag(self._new_id(), name, color_code, self._now())
            tags[name.casefold()] = tag
        return tag

    def find(self, module: str, name: str) -> Tag | None:
        return self.by_module.get(module, {}).get(name.casefold())

    def by_id(self, tag_id: str) -> tuple[str, Tag] | None:
        """The module and tag with this id, or None."""
        for module, tags in self.by_module.items():
            for tag in tags.values():
                if tag.id == tag_id:
                    return module, tag
        return None

    def all(self, module: str) -> list[Tag]:
        return list(self.by_module.get(module, {}).values())

    def change(self, module: str, tag: Tag, name: str | None, color_code: str | None) -> None:
        """Rename and/or recolour a tag (the caller has checked the new name is free)."""
        tags = self.by_module[module]
        if name is not None:
            del tags[tag.name.casefold()]
            tag.name = name
            tags[name.casefold()] = tag
        if color_code is not None:
            tag.color_code = color_code
        tag.modified_time = self._now()

    def remove(self, module: str, tag: Tag) -> None:
        del self.by_module[module][tag.name.casefold()]

    def touch(self, tag: Tag) -> None:
        tag.modified_time = self._now()

    def export(self) -> dict[str, list[dict[str, Any]]]:
        return {module: [asdict(t) for t in tags.values()] for module, tags in self.by_module.items()}

    def restore(self, data: dict[str, list[dict[str, Any]]]) -> None:
        self.by_module = {
            module: {row["name"].casefold(): Tag(**row) for row in rows} for module, rows in data.items()
        }
