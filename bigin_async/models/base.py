"""The base every Bigin model shares, and the id type.

Bigin records are open-ended: every org adds custom fields (``*_c`` and friends) and Zoho adds
``$``-prefixed system keys (``$approval_state``, ``$layout_id``...) over time. A model that drops
what it does not know would destroy data on a read-modify-write, so every model keeps unknown keys
(``extra="allow"``) under their exact wire name, including names that are not Python identifiers.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bigin_async.models.wire import wire_value

__all__ = ["BiginModel", "Id", "model_to_wire", "wire_keys"]

# Ids are ~19-digit strings: as JSON numbers they would lose precision in many clients, and values
# like Account_Number "0" or zgid only look numeric. An int given by a caller is turned into its
# string; a string is never turned into a number.
Id = Annotated[str, Field(coerce_numbers_to_str=True)]


class BiginModel(BaseModel):
    """Base model: keeps unknown fields, reads by field name or wire alias, dumps wire names."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        serialize_by_alias=True,
        # A number where Bigin usually sends text (a zip code, a duration, an id) must not fail
        # a whole page; the reverse (text into a number field) is never done.
        coerce_numbers_to_str=True,
        # A bare ``Contact()`` built by a caller and a record read from Bigin are the same type;
        # validating on assignment would slow reads and refuse wire values Zoho adds later.
        validate_assignment=False,
    )

    def get(self, key: str, default: Any = None) -> Any:
        """A field by its wire name, declared or not (``record.get("$approval_state")``)."""
        name = _field_name_for(type(self), key)
        if name is not None:
            return getattr(self, name)
        extra = self.__pydantic_extra__
        if extra is not None and key in extra:
            return extra[key]
        return default

    def to_wire(self) -> dict[str, Any]:
        """The fields a caller or the server set, formatted for a write (``exclude_unset``)."""
        return model_to_wire(self, frozenset())


@cache
def wire_keys(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """``(attribute name, wire key)`` for each declared field, in declaration order (cached)."""
    keys = []
    for name, info in model.model_fields.items():
        alias = info.serialization_alias or info.alias
        keys.append((name, alias if isinstance(alias, str) else name))
    return tuple(keys)


@cache
def _wire_to_attribute(model: type[BaseModel]) -> dict[str, str]:
    mapping = {key: name for name, key in wire_keys(model)}
    mapping.update({name: name for name, _ in wire_keys(model)})
    return mapping


def _field_name_for(model: type[BaseModel], key: str) -> str | None:
    return _wire_to_attribute(model).get(key)


def model_to_wire(model: BaseModel, skip: frozenset[str]) -> dict[str, Any]:
    """Set fields (declared, then extra) under their wire names, minus the keys in ``skip``."""
    fields_set = model.model_fields_set
    values = model.__dict__
    wire: dict[str, Any] = {}
    for name, key in wire_keys(type(model)):
        if name in fields_set and key not in skip:
            wire[key] = wire_value(values[name])
    extra = model.__pydantic_extra__
    if extra:
        for key, value in extra.items():
            if key not in skip:
                wire[key] = wire_value(value)
    return wire
