"""Many-to-many related-list links (a contact's products, a deal's extra contacts...).

Zoho links records through related lists with ``PUT /{Module}/{id}/{Related}/{related_id}`` and
unlinks them with ``DELETE``; the pair is symmetric, so ``/Products/{id}/Contacts`` lists the same
link from the other side. Only the pairs in ``LINKABLE`` can be linked.
"""

from __future__ import annotations

__all__ = ["LINKABLE", "LinkTable"]

LINKABLE: frozenset[frozenset[str]] = frozenset(
    {
        frozenset({"Contacts", "Products"}),
        frozenset({"Pipelines", "Products"}),
        frozenset({"Accounts", "Products"}),
        frozenset({"Pipelines", "Contacts"}),
    }
)


class LinkTable:
    """Links kept from both ends: record id → related module → ordered set of linked ids."""

    def __init__(self) -> None:
        self._by_record: dict[str, dict[str, dict[str, None]]] = {}

    def link(self, module_a: str, id_a: str, module_b: str, id_b: str) -> bool:
        """Link two records; False when they were already linked (Zoho: "relation updated")."""
        side = self._by_record.setdefault(id_a, {}).setdefault(module_b, {})
        if id_b in side:
            return False
        side[id_b] = None
        self._by_record.setdefault(id_b, {}).setdefault(module_a, {})[id_a] = None
        return True

    def unlink(self, module_a: str, id_a: str, module_b: str, id_b: str) -> bool:
        """Remove a link; False when there was none."""
        side = self._by_record.get(id_a, {}).get(module_b)
        if side is None or id_b not in side:
            return False
        del side[id_b]
        self._by_record.get(id_b, {}).get(module_a, {}).pop(id_a, None)
        return True

    def linked(self, record_id: str, module: str) -> list[str]:
        """Ids of ``module`` records linked to ``record_id``, in link order."""
        return list(self._by_record.get(record_id, {}).get(module, ()))

    def forget(self, record_id: str) -> None:
        """Drop every link of a deleted record, from both ends."""
        sides = self._by_record.pop(record_id, {})
        for linked_ids in sides.values():
            for other in linked_ids:
                for bucket in self._by_record.get(other, {}).values():
                    bucket.pop(record_id, None)

    def export(self) -> list[list[str]]:
        """Each link once as ``[id_a, module_b, id_b]`` (the other end is implied)."""
        seen: set[tuple[str, str]] = set()
        rows: list[list[str]] = []
        for id_a, sides in self._by_record.items():
            for module_b, ids in sides.items():
                for id_b in ids:
                    if (id_b, id_a) not in seen:
                        seen.add((id_a, id_b))
                        rows.append([id_a, module_b, id_b])
        return rows
