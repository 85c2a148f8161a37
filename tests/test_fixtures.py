"""Every body recorded from a live Bigin org parses into the right model, losslessly.

The table below names the parser for each file; a file added to the fixture folder without an
entry fails ``test_every_fixture_has_a_parser``, so nothing recorded goes unparsed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from bigin_async.models import (
    READ_ONLY_FIELDS,
    BiginModel,
    Company,
    Contact,
    FieldInfo,
    Lookup,
    ModuleInfo,
    Org,
    Owner,
    Product,
    Record,
    User,
    WatchChannel,
    parse_page,
    parse_write_results,
    record_to_wire,
)
from tests.helpers.fixtures import FIXTURES, fixture_bytes, load_fixture

PAGES: dict[str, tuple[type[BiginModel], str]] = {
    "list_accounts.json": (Company, "data"),
    "sync_list_accounts_with_system_fields.json": (Company, "data"),
    "get_account.json": (Company, "data"),
    "search_accounts.json": (Company, "data"),
    "get_contact.json": (Contact, "data"),
    "get_contact_with_fields.json": (Contact, "data"),
    "search_contacts_by_email.json": (Contact, "data"),
    "maton_list_contacts.json": (Contact, "data"),
    "account_related_contacts.json": (Contact, "data"),
    "contact_related_products.json": (Product, "data"),
    "search_products_more_records.json": (Product, "data"),
    "search_products_equals_fuzzy.json": (Product, "data"),
    "list_users.json": (User, "users"),
    "get_org.json": (Org, "org"),
    "list_modules.json": (ModuleInfo, "modules"),
    "settings_fields_contacts.json": (FieldInfo, "fields"),
    "list_watches.json": (WatchChannel, "watch"),
}
WRITE_RESULTS = [
    "create_account_201.json",
    "update_account.json",
    "upsert_account_updated.json",
    "upsert_contact_updated.json",
    "upsert_contact_with_lookup_updated.json",
    "delete_account.json",
    "link_product_to_contact.json",
    "link_product_already_linked.json",
    "unlink_product_from_contact.json",
    "maton_create_contact.json",
    "maton_update_contacts_bulk.json",
    "maton_delete_contacts_by_ids.json",
    "subscribe_watch_201.json",
    "unsubscribe_watch.json",
]
REQUESTS: dict[str, tuple[type[BiginModel], str]] = {
    "create_account_request.json": (Company, "data"),
    "update_account_request.json": (Company, "data"),
    "upsert_account_request.json": (Company, "data"),
    "upsert_contact_request.json": (Contact, "data"),
    "upsert_contact_with_lookup_request.json": (Contact, "data"),
    "link_product_to_contact_request.json": (Record, "data"),
    "subscribe_watch_request.json": (WatchChannel, "watch"),
}
RECORD_PAGES = [name for name, (model, _) in PAGES.items() if issubclass(model, Record)]


def test_every_fixture_has_a_parser() -> None:
    on_disk = {path.name for path in FIXTURES.glob("*.json")}
    covered = set(PAGES) | set(WRITE_RESULTS) | set(REQUESTS)
    assert on_disk, "no fixtures found"
    assert on_disk - covered == set(), "fixtures without a parser in this test"
    assert covered - on_disk == set(), "table names a fixture that does not exist"


def _normalise(value: Any) -> Any:
    """JSON-equal form: floats that are whole compare like the ints Bigin sent."""
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_parses_every_record_losslessly(name: str) -> None:
    model, key = PAGES[name]
    raw = load_fixture(name)
    page = parse_page(model, fixture_bytes(name), key=key)
    assert len(page.data) == len(raw[key]) > 0
    for parsed, original in zip(page.data, raw[key], strict=True):
        assert isinstance(parsed, model)
        # model_dump of what was read is the body that was read: no key lost, none invented.
        dumped = parsed.model_dump(mode="json", exclude_unset=True)
        assert _normalise(dumped) == _normalise(original)
    if "info" in raw:
        assert page.info is not None
        assert page.info.model_dump(exclude_unset=True) == raw["info"]
    else:
        assert page.info is None


@pytest.mark.parametrize("name", RECORD_PAGES)
def test_record_ids_are_strings_and_dollar_keys_are_kept(name: str) -> None:
    model, key = PAGES[name]
    raw = load_fixture(name)
    for record, original in zip(parse_page(model, fixture_bytes(name)).data, raw[key], strict=True):
        assert isinstance(record, Record)
        assert isinstance(record.id, str) and record.id == original["id"]
        for wire_key in original:
            if wire_key.startswith("$"):
                assert record.model_extra is not None and wire_key in record.model_extra
                assert record.get(wire_key) == original[wire_key]
        for user_field in ("Owner", "Created_By", "Modified_By"):
            if original.get(user_field):
                owner = getattr(record, user_field)
                assert isinstance(owner, Owner) and owner.id == original[user_field]["id"]
        for time_field in ("Created_Time", "Modified_Time"):
            if original.get(time_field):
                stamp = getattr(record, time_field)
                assert isinstance(stamp, datetime) and stamp.utcoffset() is not None


@pytest.mark.parametrize("name", RECORD_PAGES)
def test_recorded_record_round_trips_through_to_wire(name: str) -> None:
    model, key = PAGES[name]
    raw = load_fixture(name)
    for record, original in zip(parse_page(model, fixture_bytes(name)).data, raw[key], strict=True):
        assert isinstance(record, Record)
        # Read fields are not "set" (issue #9 item 23): only the id, until fields are assigned.
        assert record.to_wire() == {"id": original["id"]}
        for wire_key in original:
            record.set(wire_key, record.get(wire_key))
        wire = record.to_wire()
        assert record_to_wire(record) == wire
        assert set(wire) == set(original) - READ_ONLY_FIELDS
        for wire_key, value in wire.items():
            sent = original[wire_key]
            if isinstance(getattr(record, wire_key, None), (Lookup, Owner)):
                assert value == {"id": sent["id"]}
            elif wire_key == "Tag":
                assert value == [{"name": tag["name"]} for tag in sent]
            else:
                assert _normalise(value) == _normalise(sent), wire_key


def test_account_name_is_a_string_on_accounts_and_a_lookup_on_contacts() -> None:
    account = parse_page(Company, fixture_bytes("get_account.json")).data[0]
    contact = parse_page(Contact, fixture_bytes("get_contact.json")).data[0]
    assert account.Account_Name == "Zylker Corp"
    assert isinstance(contact.Account_Name, Lookup)
    assert contact.Account_Name.id == account.id == "7618134000000632027"
    assert contact.Account_Name.name == "Zylker Corp"


def test_numeric_looking_values_stay_strings_and_numbers_stay_numbers() -> None:
    account = parse_page(Company, fixture_bytes("search_accounts.json")).data[0]
    assert account.Account_Number == "0"
    contact = parse_page(Contact, fixture_bytes("search_contacts_by_email.json")).data[0]
    assert contact.get("Record_Creation_Source_ID__s") == "0"
    assert contact.Email_Opt_Out is False
    assert contact.Full_Name == "Test Contact"
    assert "✍️" in (contact.Description or "")
    products = parse_page(Product, fixture_bytes("search_products_more_records.json"))
    assert [p.Unit_Price for p in products.data] == [19.99, 12.5, None, 42.5, 12.34]
    assert all(p.Qty_in_Stock == 0.0 and p.Taxable is True for p in products.data)
    assert products.data[3].Tag is not None and products.data[3].Tag[0].name == "nango-test"
    assert products.data[3].Tag[0].color_code is None


def test_info_differs_by_endpoint() -> None:
    listed = parse_page(Company, fixture_bytes("list_accounts.json")).info
    searched = parse_page(Product, fixture_bytes("search_products_more_records.json")).info
    related = parse_page(Contact, fixture_bytes("account_related_contacts.json")).info
    assert listed is not None and listed.sort_by == "id" and listed.sort_order == "desc"
    assert "next_page_token" in listed.model_fields_set and listed.next_page_token is None
    assert searched is not None and searched.more_records is True
    assert "next_page_token" not in searched.model_fields_set
    assert related is not None and related.sort_by is None and "page_token_expiry" in related.model_fields_set


def test_get_by_id_is_a_page_of_one_without_info() -> None:
    page = parse_page(Contact, fixture_bytes("get_contact_with_fields.json"))
    assert page.info is None
    assert len(page.data) == 1 and page.data[0].id == "7618134000000632028"
    assert page.data[0].Last_Activity_Time == datetime.fromisoformat("2026-10-09T22:13:04+03:00")


def test_users_org_modules_fields_and_watches() -> None:
    user = parse_page(User, fixture_bytes("list_users.json"), key="users").data[0]
    assert user.zuid == "924194079" and user.offset == 10800000
    assert user.role is not None and user.role.name == "Level 1"
    assert user.get("Isonline") is False and user.get("$current_shift") is None

    org = parse_page(Org, fixture_bytes("get_org.json"), key="org").data[0]
    assert org.zgid == "942010964" and org.primary_zuid == "924194079"
    assert org.time_zone == "Africa/Nairobi"
    assert org.license_details is not None and org.license_details.users_license_purchased == 20
    assert org.license_details.trial_type == "biginpremier"

    modules_page = parse_page(ModuleInfo, fixture_bytes("list_modules.json"), key="modules")
    modules = {m.api_name: m for m in modules_page.data}
    assert modules["Accounts"].plural_label == "Companies"
    assert modules["Associated_Products"].parent_module == {
        "api_name": "Pipelines",
        "id": "7618134000000002181",
    }
    assert modules["Contacts"].parent_module == {}
    assert modules["Social"].api_supported is False and modules["Social"].modified_by is None

    fields_page = parse_page(FieldInfo, fixture_bytes("settings_fields_contacts.json"), key="fields")
    fields = {f.api_name: f for f in fields_page.data}
    assert len(fields) == 27
    assert fields["Account_Name"].data_type == "lookup" and fields["Account_Name"].lookup_module == "Accounts"
    assert fields["Account_Name"].quick_sequence_number == "3"
    assert fields["Record_Creation_Source_ID__s"].json_type == "string"
    picklist = fields["Unsubscribed_Mode"].pick_list_values
    assert picklist is not None and [v.sequence_number for v in picklist] == [1, 2, 3, 4]
    assert fields["Email"].unique == {"casesensitive": "0"}

    channel = parse_page(WatchChannel, fixture_bytes("list_watches.json"), key="watch").data[0]
    assert channel.channel_id == "9876543210123" and channel.events == ["Contacts.create"]
    assert channel.channel_expiry == datetime.fromisoformat("2026-10-10T00:07:04+03:00")
    assert channel.resource_uri is not None and "/bigin/v1/" in channel.resource_uri


@pytest.mark.parametrize("name", WRITE_RESULTS)
def test_write_results_parse_from_bytes_and_from_dicts(name: str) -> None:
    raw = load_fixture(name)
    entries = raw.get("data", raw.get("watch"))
    from_bytes = parse_write_results(fixture_bytes(name))
    assert from_bytes == parse_write_results(raw)
    assert len(from_bytes) == len(entries) > 0
    for result, original in zip(from_bytes, entries, strict=True):
        assert result.ok and result.code == "SUCCESS" and result.status == "success"
        assert result.message == original["message"]
        assert result.details == original["details"]
        assert result.id == original["details"].get("id")
        assert result.action == original.get("action")
        assert result.duplicate_field == original.get("duplicate_field")


def test_write_result_specifics() -> None:
    upsert = parse_write_results(fixture_bytes("upsert_account_updated.json"))[0]
    assert upsert.action == "update" and upsert.duplicate_field == "Account_Name"
    assert upsert.id == "7618134000000632027"
    bulk_put = parse_write_results(fixture_bytes("maton_update_contacts_bulk.json"))[0]
    assert set(bulk_put.details) == {"Modified_Time", "id"}
    created = parse_write_results(fixture_bytes("create_account_201.json"))[0]
    assert created.details["$approval_state"] == "approved" and created.message == "record added"
    subscribed = parse_write_results(fixture_bytes("subscribe_watch_201.json"))[0]
    assert subscribed.id is None
    assert subscribed.details["events"][0]["channel_id"] == "90210"


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_recorded_request_bodies_survive_model_and_back(name: str) -> None:
    """What a live org accepted, read into models, is written back byte-for-byte the same."""
    model, key = REQUESTS[name]
    raw = load_fixture(name)
    models = [model.model_validate(item) for item in raw[key]]
    assert [record_to_wire(item) for item in models] == raw[key]
    assert [record_to_wire(item) for item in raw[key]] == raw[key]


def test_lookup_request_is_typed() -> None:
    raw = load_fixture("upsert_contact_with_lookup_request.json")
    contact = Contact.model_validate(raw["data"][0])
    assert isinstance(contact.Account_Name, Lookup) and contact.Account_Name.id == "7618134000000632027"
    assert contact.to_wire()["Account_Name"] == {"id": "7618134000000632027"}
