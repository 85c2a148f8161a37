"""The base every Bigin model shares, and the id and module-name types.

Bigin records are open-ended: every org adds custom fields (``*_c`` and friends) and Zoho adds
``$``-prefixed system keys (``$approval_state``, ``$layout_id``...) over time. A model that drops
what it does not know would destroy data on a read-modify-write, so every model keeps unknown keys
(``extra="allow"``) under their exact wire name, including names that are not Python identifiers.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping, Set
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from typing_extensions import Self

from bigin_async.models.wire import wire_value

M = TypeVar("M", bound=BaseModel)

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
# The model classes whose write form is ``{"id": self.id}`` (see ``written_as_id``).
_READ_AS_ID: set[type[BaseModel]] = set()
# Annotations whose validated value is always of one of the immutable types above, and the
# metadata an ``Annotated`` may carry without changing that (constraints, aliases, a validator
# run *before* the type's own). Anything else (an after/wrap/plain validator, a custom type) may
# give any value, so such a field is checked value by value (see ``_may_hold_mutable``).
_IMMUTABLE_ANNOTATIONS = frozenset((*_IMMUTABLE_TYPES, None))
_KEEPS_THE_TYPE = (FieldInfo, BeforeValidator, annotated_types.BaseMetadata)

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
            _set_read(model, _read_forms(model))


def mark_validated_as_read(models: list[Any], model: type[BaseModel]) -> None:
    """:func:`mark_as_read` for models that pydantic has just validated as ``model`` (a page).

    The read hot path: the read forms are the same, but only the declared fields whose type
    allows a value that can change in place (a list, a dict, a nested model: 6 of a Contact's
    33) are looked at, plus the extras. A field declared ``str | None`` or ``datetime | None``
    holds, just after validation, a value no in-place change can alter, whose read form
    :func:`mark_as_read` skips anyway. A model of another class than ``model`` goes through the
    full check; one built with ``model_construct`` (never validated, so it may hold anything
    anywhere) must be marked with :func:`mark_as_read` instead.
    """
    if not issubclass(model, BiginModel):
        return
    names = _may_hold_mutable(model)
    immutable = _IMMUTABLE_TYPES
    read_as_id = _READ_AS_ID
    add_form = _add_form
    set_private = object.__setattr__
    for record in models:
        if record.__class__ is not model:
            if isinstance(record, BiginModel):
                _set_read(record, _read_forms(record))
            continue
        # _read_forms over ``names`` only, inlined: this loop runs for every record of an export.
        forms: dict[str, Any] = {}
        values = record.__dict__
        for name in names:
            value: Any = values.get(name)
            kind = value.__class__
            if kind in immutable:
                continue
            if kind is list and not value:  # ``Tag: []`` on most records
                forms[name] = []
            elif kind in read_as_id:  # ``Owner`` on every record: its write form, inlined
                forms[name] = {"id": value.id}
            else:
                add_form(forms, name, value)
        extra = record.__pydantic_extra__
        if extra:
            for name, value in extra.items():
                if value.__class__ not in immutable:
                    add_form(forms, name, value)
        if record.__pydantic_private__ is None:  # just validated: always, unless a validator set it
            set_private(record, "__pydantic_private__", {_ASSIGNED: _NOTHING_ASSIGNED, _READ_FORMS: forms})
        else:
            _set_read(record, forms)


def written_as_id(cls: type[M]) -> type[M]:
    """Class decorator: ``cls.to_wire()`` is exactly ``{"id": self.id}``, whatever else it holds.

    For the lookups every record carries (``Owner``, ``Account_Name``...), whose read form a
    page's read hot path then builds inline. Only the class itself is registered, not its
    subclasses, which may write themselves otherwise.
    """
    _READ_AS_ID.add(cls)
    return cls


def _set_read(model: BaseModel, forms: dict[str, Any]) -> None:
    state = {_ASSIGNED: _NOTHING_ASSIGNED, _READ_FORMS: forms}
    private = model.__pydantic_private__
    if private is None:
        object.__setattr__(model, "__pydantic_private__", state)
    else:
        private.update(state)


def _only_immutable_values(annotation: Any) -> bool:
    """Whether validation against ``annotation`` can only give a value of an immutable type."""
    try:
        if annotation in _IMMUTABLE_ANNOTATIONS:
            return True
    except TypeError:  # an unhashable annotation: not one of the plain types
        return False
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        keeps_the_type = all(isinstance(meta, _KEEPS_THE_TYPE) for meta in args[1:])
        return keeps_the_type and _only_immutable_values(args[0])
    if origin is Union or origin is types.UnionType:
        return all(_only_immutable_values(arg) for arg in args)
    if origin is Literal:
        return all(arg is None or arg.__class__ in (str, int, bool) for arg in args)
    return False


def _own_schema(model: type[BaseModel]) -> bool:
    """Whether ``model`` (or a base) builds its own core schema instead of pydantic's."""
    method = getattr(model.__get_pydantic_core_schema__, "__func__", None)
    return method is not getattr(BaseModel.__get_pydantic_core_schema__, "__func__", None)


@cache
def _may_hold_mutable(model: type[BaseModel]) -> tuple[str, ...]:
    """The declared fields of ``model`` that may hold a mutable value just after validation.

    Conservative: every field when a model validator (other than ``before``), a
    ``model_post_init`` or a custom schema could put anything anywhere; otherwise every field
    but those whose annotation is made of ``str, int, float, bool, None, date, datetime,
    Decimal`` and literals (through unions, ``Annotated`` constraints and before-validators),
    with no after/wrap/plain field validator and an immutable default. Cached per class: a
    class's fields do not change once it is built.
    """
    fields = model.model_fields
    decorators = model.__pydantic_decorators__
    if (
        any(validator.info.mode != "before" for validator in decorators.model_validators.values())
        or model.model_post_init is not BaseModel.model_post_init
        or _own_schema(model)
    ):
        return tuple(fields)
    validated_after: set[str] = set()
    for validator in decorators.field_validators.values():
        if validator.info.mode != "before":
            validated_after.update(validator.info.fields)
    if "*" in validated_after:
        return tuple(fields)
    return tuple(
        name
        for name, info in fields.items()
        if name in validated_after
        or info.default_factory is not None
        or not (info.default is PydanticUndefined or info.default.__class__ in _IMMUTABLE_TYPES)
        or not all(isinstance(meta, _KEEPS_THE_TYPE) for meta in info.metadata)
        or not _only_immutable_values(info.annotation)
    )


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

    Every value, declared or extra, is looked at (:func:`mark_validated_as_read` looks at
    fewer); a value of an exact immutable type is passed over by one set lookup.
    """
    forms: dict[str, Any] = {}
    for values in (model.__dict__, model.__pydantic_extra__):
        if not values:
            continue
        for name, value in values.items():
            if value.__class__ not in _IMMUTABLE_TYPES:
                _add_form(forms, name, value)
    return forms


def _add_form(forms: dict[str, Any], name: str, value: Any) -> None:
    """Store the wire form of ``value`` as read, unless it cannot change in place.

    The two mutable values every record carries (``Tag: []`` and the ``Owner`` lookup) get
    their form without :func:`wire_value`'s dispatch, which would give the same.
    """
    try:
        if value.__class__ is list and not value:
            forms[name] = []
        elif isinstance(value, BiginModel):
            forms[name] = value.to_wire()
        elif not isinstance(value, _IMMUTABLE):
            forms[name] = wire_value(value)
    except ValueError:  # not storable as read: only an assignment can make it sent
        pass


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
