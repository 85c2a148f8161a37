"""The module table (``bigin_async.models.modules.MODULES``) is what every part reads.

Adding a module is one entry there (plus its record class, client class and typed attribute):
the client's attributes, ``model_for``, ``default_fields_for``, the module aliases accepted on
write and the emulator's metadata are all read from it or checked against it here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from typing_extensions import assert_type

from bigin_async._field_aliases import RENAMES, to_bigin_names
from bigin_async.client import BiginClient, module_client_classes
from bigin_async.models import MODULE_MODELS, Record, default_fields_for, model_for
from bigin_async.models.modules import (
    BASE_DEFAULT_FIELDS,
    MODULE_ALIASES,
    MODULES,
    ModuleSpec,
    api_name,
    module_spec,
)
from bigin_async.resources.base import REFERENCE_NAMES, ModuleClient
from bigin_async.resources.contacts import ContactsClient
from bigin_async.resources.deals import DealsClient
from bigin_async.resources.registry import MODULE_CLIENTS
from bigin_async.resources.registry import default_fields_for as registry_default_fields_for
from bigin_emulator.state.metadata import MODULES as EMULATOR_MODULES

SPECS = {spec.api_name: spec for spec in MODULES}


def _client() -> BiginClient:
    return BiginClient(access_token="token", api_domain="http://127.0.0.1:9")


def test_each_entry_is_named_once() -> None:
    names = [spec.name for spec in MODULES]
    wire = [spec.api_name for spec in MODULES]
    aliases = [spec.alias for spec in MODULES if spec.alias]
    assert len(set(names)) == len(names) and len(set(wire)) == len(wire)
    assert not set(aliases) & set(wire)  # an alias never hides a real module name
    assert MODULE_ALIASES == {"Companies": "Accounts", "Deals": "Pipelines"}
    assert REFERENCE_NAMES is MODULE_ALIASES


@pytest.mark.parametrize("spec", MODULES, ids=[spec.name for spec in MODULES])
def test_the_emulator_serves_every_module_of_the_table_and_its_default_fields(spec: ModuleSpec) -> None:
    emulated = EMULATOR_MODULES.get(spec.api_name)
    assert emulated is not None, f"the emulator has no {spec.api_name} module"
    # A default field is a field of the module, or a field alias accepted on write (the emulator
    # reads those as Bigin's names too, and so does the SDK when it writes).
    known = {field.api_name for field in emulated.fields} | set(emulated.extra_fields)
    aliases = set(emulated.aliases) | set(RENAMES.get(spec.api_name, {}))
    unknown = [name for name in spec.default_fields if name not in known | aliases]
    assert unknown == [], f"{spec.api_name} default fields the emulator does not know: {unknown}"


def test_the_emulator_s_record_modules_are_all_in_the_table() -> None:
    assert set(EMULATOR_MODULES) == set(SPECS)


def test_field_aliases_on_write_name_modules_of_the_table() -> None:
    assert set(RENAMES) <= set(SPECS)


@pytest.mark.parametrize(("alias", "wire"), sorted(MODULE_ALIASES.items()))
def test_a_parent_given_under_a_module_alias_is_written_under_its_api_name(alias: str, wire: str) -> None:
    written = to_bigin_names("Tasks", {"Subject": "Call", "Related_To": {"module": alias, "id": "7"}})
    assert written == {"Subject": "Call", "What_Id": {"id": "7"}, "$se_module": wire}


@pytest.mark.parametrize("spec", MODULES, ids=[spec.name for spec in MODULES])
def test_models_and_default_fields_come_from_the_table(spec: ModuleSpec) -> None:
    assert model_for(spec.api_name) is spec.model
    assert MODULE_MODELS[spec.api_name] is spec.model
    assert default_fields_for(spec.api_name) == spec.default_fields
    assert registry_default_fields_for(spec.api_name) == spec.default_fields
    if spec.alias:
        assert api_name(spec.alias) == spec.api_name
        assert module_spec(spec.alias) is spec
        assert default_fields_for(spec.alias) == spec.default_fields


def test_modules_outside_the_table_read_the_system_fields_as_plain_records() -> None:
    assert model_for("Custom_Things") is Record
    assert model_for("Companies") is Record  # an alias is not an API name: the wire name is Accounts
    assert default_fields_for("Custom_Things") == BASE_DEFAULT_FIELDS
    assert module_spec("Custom_Things") is None


def test_every_entry_keeps_the_system_fields_among_its_defaults() -> None:
    with pytest.raises(ValueError, match="default fields must include"):
        ModuleSpec("widgets", "Widgets", Record, ("Name",))


@pytest.mark.parametrize("spec", MODULES, ids=[spec.name for spec in MODULES])
async def test_every_entry_has_its_typed_attribute_on_the_client(spec: ModuleSpec) -> None:
    async with _client() as bigin:
        module = getattr(bigin, spec.name)
        assert isinstance(module, ModuleClient)
        assert type(module).module_api_name == spec.api_name
        assert module.model is spec.model
        assert type(module).default_fields == spec.default_fields
        assert getattr(bigin, spec.name) is module  # one per client
        assert bigin.module(spec.api_name) is module
        if spec.alias:
            assert bigin.module(spec.alias) is module
        assert isinstance(vars(BiginClient)[spec.name].__doc__, str)


def test_the_client_classes_by_api_name_are_the_table_s() -> None:
    assert set(module_client_classes()) == set(SPECS)
    assert MODULE_CLIENTS == module_client_classes()
    assert MODULE_CLIENTS["Pipelines"] is DealsClient


async def test_a_custom_module_gets_a_plain_client_with_the_system_fields() -> None:
    async with _client() as bigin:
        custom = bigin.module("Custom_Things")
        assert type(custom) is ModuleClient
        assert custom.module_api_name == "Custom_Things"
        assert custom.model is Record
        assert custom.default_fields == BASE_DEFAULT_FIELDS
        assert bigin.module("Custom_Things") is custom


async def test_module_attributes_are_typed_for_mypy() -> None:
    async with _client() as bigin:
        assert_type(bigin.contacts, ContactsClient)
        assert_type(bigin.deals, DealsClient)
        assert isinstance(bigin.contacts, ContactsClient)


async def test_a_client_class_of_a_custom_module_reads_plain_records_and_the_system_fields() -> None:
    class WidgetsClient(ModuleClient[Record]):
        module_api_name: ClassVar[str] = "Widgets"

    class GadgetsClient(ModuleClient[Record]):
        module_api_name: ClassVar[str] = "Gadgets"
        default_fields: ClassVar[tuple[str, ...]] = ("Name", *BASE_DEFAULT_FIELDS)

    async with _client() as bigin:
        widgets = WidgetsClient(bigin.transport, bigin)
        assert (widgets.module_api_name, widgets.model, widgets.default_fields) == (
            "Widgets",
            Record,
            BASE_DEFAULT_FIELDS,
        )
        assert GadgetsClient(bigin.transport, bigin).default_fields == ("Name", *BASE_DEFAULT_FIELDS)
    # Only a module of the table can be an attribute of the client.
    from bigin_async.client import _ModuleAttribute

    with pytest.raises((TypeError, RuntimeError)) as raised:

        class Wrong:
            widgets: Any = _ModuleAttribute(WidgetsClient)

    error = raised.value.__cause__ if isinstance(raised.value, RuntimeError) else raised.value
    assert "whose module table entry is 'missing'" in str(error)


def test_a_client_attribute_whose_name_is_not_its_table_entry_s_is_refused() -> None:
    from bigin_async.client import _ModuleAttribute

    # Python 3.11 wraps an error of __set_name__ in a RuntimeError; later versions raise it as is.
    with pytest.raises((TypeError, RuntimeError)) as raised:

        class Wrong:
            people: Any = _ModuleAttribute(ContactsClient)

    error = raised.value.__cause__ if isinstance(raised.value, RuntimeError) else raised.value
    assert isinstance(error, TypeError)
    assert "whose module table entry is 'contacts'" in str(error)
