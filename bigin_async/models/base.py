"""The base every Bigin model shares, and the id and module-name types.

Bigin records are open-ended: every org adds custom fields (``*_c`` and friends) and Zoho adds
``$``-prefixed system keys (``$approval_state``, ``$layout_id``...) over time. A model that drops
what it does not know would destroy data on a read-modify-write, so every model keeps unknown keys
(``extra="allow"``) under their exact wire name, including names that are not Python identifiers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from typing_extensions import Self

from bigin_async.models.wire import wire_value

__all__ = [
    "BiginModel",
    "Id",
    "ModuleName",
    "assigned_fields",
    "mark_as_read",
    "model_to_wire",
    "wire_keys",
]

# The keys, in pydantic's per-instance private dict, of the fields assigned since a model was read
# and of the wire form, at the read, of each value that can change in place (a list, a dict, a
# nested model): ``record.Tag.append(...)`` or ``record.Owner.id = ...`` assigns nothing.
_ASSIGNED = "_bigin_assigned"
_READ_FORMS = "_bigin_read_forms"
# Values no in-place change can alter: a field holding one changes only by an assignment.
_IMMUTABLE = (str, int, float, bool, type(None), date, Decimal)  # datetime is a date
_IMMUTABLE_TYPES = frozenset((*_IMMUTABLE, datetime))
_NOTHING_ASSIGNED: frozenset[str] = frozenset()

# Ids are ~19-digit strings: as JSON numbers they would lose precision in many clients, and values
# like Account_Number "0" or zgid only look numeric. An int given by a caller is turned into its
# string; a string is never turned into a number.
Id = Annotated[str, Field(coerce_numbers_to_str=True)]


def _module_api_name(value: object) -> object:
    # Some answers nest a module as ``{"api_name": "Contacts"}``: the name is what anyone reads.
    if isinstance(value, Mapping):
        return value.get("api_name")
    return value


# A module named by its API name, read from a plain name or Zoho's ``{"api_name": ...}``.
ModuleName = Annotated[str | None, BeforeValidator(_module_api_name)]


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
        # Assignments are still tracked (``__setattr__``): for a record read from Bigin, they are
        # what a write sends (see ``mark_as_read``).
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

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        _note_assigned(self, (name,))

    def __eq__(self, other: object) -> bool:
        # By value, as pydantic compares, but blind to the "read, then assigned" bookkeeping: a
        # record read from Bigin equals the same record built by hand.
        if isinstance(other, BiginModel) and type(other) is type(self):
            return self.__dict__ == other.__dict__ and self.__pydantic_extra__ == other.__pydantic_extra__
        return super().__eq__(other)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """pydantic's copy; keys in ``update`` count as assigned, so a write sends them."""
        copied = super().model_copy(update=update, deep=deep)
        if update:
            _note_assigned(copied, update.keys())
        return copied

    def set(self, key: str, value: Any) -> None:
        """Assign a field by its wire name, declared or not (``record.set("$se_module", "Accounts")``).

        Like an attribute assignment, it marks the field for the next write; use it for wire
        names that are not Python identifiers or that a declared field carries under an alias.
        """
        setattr(self, _field_name_for(type(self), key) or key, value)

    def to_wire(self) -> dict[str, Any]:
        """The fields set (given at construction or assigned since), formatted for a write."""
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
    """Set fields (declared, then extra) under their wire names, minus the keys in ``skip``.

    Extra fields count as set like declared ones: given at construction or assigned since. For
    a model read from an answer (:func:`mark_as_read`) "set" means its id, what was assigned
    after the read, and the lists, dicts and nested models changed in place since.
    """
    fields_set: Set[str] = model.model_fields_set
    assigned = assigned_fields(model)
    values = model.__dict__
    if assigned is not None:  # read from an answer: its id, and what was assigned or changed since
        fields_set = assigned | ({"id"} & fields_set) | _changed_in_place(model, values)
    wire: dict[str, Any] = {}
    for name, key in wire_keys(type(model)):
        # ``name in values``: a field deleted (``del record.Phone``) is absent, as in model_dump;
        # a field is cleared in Bigin by assigning None.
        if name in fields_set and key not in skip and name in values:
            wire[key] = wire_value(values[name])
    extra = model.__pydantic_extra__
    if extra:
        for key, value in extra.items():
            if key in fields_set and key not in skip:
                wire[key] = wire_value(value)
    return wire


def mark_as_read(models: list[Any]) -> None:
    """Mark models parsed from a server answer as "read": a write then sends only what changes.

    pydantic's fields set of a parsed model holds every field the answer carried (what an
    export dumps: ``model_dump(exclude_unset=True)`` stays exactly what Bigin sent). Sent back in
    an update, those would overwrite what others changed since the read and resend ``Full_Name``,
    ``$approval_state``... So a read model's write form is its ``id`` plus the fields assigned
    after reading (an equal value assigned is still sent: an assignment says "write this"), plus
    the lists, dicts and nested models changed in place (``record.Tag.append(tag)``), which are
    compared at write time with their wire form as read. A changed value is written whole, as
    Zoho replaces a field's value, it does not merge it.
    """
    for model in models:
        if isinstance(model, BiginModel):
            state = {_ASSIGNED: _NOTHING_ASSIGNED, _READ_FORMS: _read_forms(model)}
            private = model.__pydantic_private__
            if private is None:
                object.__setattr__(model, "__pydantic_private__", state)
            else:
                private.update(state)


def assigned_fields(model: BaseModel) -> frozenset[str] | None:
    """The fields assigned since ``model`` was read from an answer; None if it was not read."""
    private = model.__pydantic_private__
    if private is None:
        return None
    assigned = private.get(_ASSIGNED)
    return assigned if isinstance(assigned, frozenset) else None


def _note_assigned(model: BaseModel, names: Iterable[str]) -> None:
    private = model.__pydantic_private__
    if private is not None and _ASSIGNED in private:
        # A new frozenset each time: a shallow copy of the model shares the old one.
        private[_ASSIGNED] = private[_ASSIGNED] | frozenset(names)


def _read_forms(model: BaseModel) -> dict[str, Any]:
    """The wire form of each value of ``model`` that could change in place, by field name.

    The read hot path (200 records a page, each with dozens of mostly empty fields): a value of
    an exact immutable type is passed over by one set lookup, without ``isinstance``.
    """
    forms: dict[str, Any] = {}
    for values in (model.__dict__, model.__pydantic_extra__):
        if not values:
            continue
        for name, value in values.items():
            if value.__class__ in _IMMUTABLE_TYPES or isinstance(value, _IMMUTABLE):
                continue
            try:
                forms[name] = wire_value(value)
            except ValueError:  # not storable as read: only an assignment can make it sent
                continue
    return forms


def _changed_in_place(model: BaseModel, values: Mapping[str, Any]) -> frozenset[str]:
    """The fields whose list, dict or nested model differs now from its wire form as read."""
    private = model.__pydantic_private__
    forms = private.get(_READ_FORMS) if private is not None else None
    if not forms:
        return frozenset()
    extra = model.__pydantic_extra__ or {}
    changed = []
    for name, form in forms.items():
        if name in values:
            current = values[name]
        elif name in extra:
            current = extra[name]
        else:  # deleted since the read: nothing to send
            continue
        if wire_value(current) != form:
            changed.append(name)
    return frozenset(changed)
