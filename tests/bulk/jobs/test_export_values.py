"""Bulk Read CSV cells become the values REST records carry, typed by the field metadata."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bigin_async.bulk.jobs.csv_values import cell_reader, row_reader
from bigin_async.models import FieldInfo
from bigin_async.models.records import Contact, Product
from tests.helpers.export_records import as_csv_carries, csv_row
from tests.helpers.fixtures import load_fixture

CONTACT_FIELDS = [
    FieldInfo.model_validate(f) for f in load_fixture("settings_fields_contacts.json")["fields"]
]


def field(api_name: str, data_type: str, json_type: str) -> FieldInfo:
    return FieldInfo(api_name=api_name, data_type=data_type, json_type=json_type)


def test_a_recorded_contact_read_from_a_csv_row_equals_it_read_through_rest() -> None:
    rest = load_fixture("search_contacts_by_email.json")["data"][0]
    header = ["id", *(f.api_name for f in CONTACT_FIELDS if f.api_name)]
    read = row_reader(header, CONTACT_FIELDS)
    exported = Contact.model_validate(read(csv_row(rest, header)))
    assert exported == as_csv_carries(rest, header, Contact)
    assert exported.id == "7618134000000632028"
    assert exported.Owner is not None and exported.Owner.id == "7618134000000627001"
    assert exported.Account_Name is not None and exported.Account_Name.id == "7618134000000632027"
    assert exported.Email_Opt_Out is False
    assert exported.Created_Time == datetime(2026, 10, 7, 0, 21, 34, tzinfo=timezone.utc)
    assert exported.get("Record_Creation_Source_ID__s") == "0"  # bigint: a string, as in REST
    assert exported.Tag == []
    assert exported.Description == rest["Description"]  # newlines and emoji kept


def test_a_recorded_product_with_numbers_booleans_and_a_multi_select() -> None:
    rest = load_fixture("search_products_more_records.json")["data"][0]
    fields = [
        field("Unit_Price", "currency", "double"),
        field("Qty_in_Stock", "double", "double"),
        field("Product_Active", "boolean", "boolean"),
        field("Tax", "multiselectpicklist", "jsonarray"),
        field("Tag", "text", "jsonarray"),
        field("Owner", "ownerlookup", "jsonobject"),
    ]
    header = ["id", "Product_Name", *(f.api_name or "" for f in fields)]
    exported = Product.model_validate(row_reader(header, fields)(csv_row(rest, header)))
    assert exported == as_csv_carries(rest, header, Product)
    assert exported.Unit_Price == 19.99 and exported.Qty_in_Stock == 0 and exported.Product_Active is True


@pytest.mark.parametrize(
    ("data_type", "json_type", "cell", "value"),
    [
        ("integer", "integer", "25", 25),
        ("integer", "integer", "-3", -3),
        ("currency", "double", "47505.33", 47505.33),
        ("double", "double", "12", 12),
        ("double", "double", "1e3", 1000.0),
        ("double", "double", "n/a", "n/a"),  # not a number: kept, never guessed
        ("integer", "integer", "", None),
        ("boolean", "boolean", "true", True),
        ("boolean", "boolean", "FALSE", False),
        ("boolean", "boolean", "", None),
        ("lookup", "jsonobject", "5545000000001000009", {"id": "5545000000001000009"}),
        ("ownerlookup", "jsonobject", "", None),
        ("userlookup", "jsonobject", "77", {"id": "77"}),
        ("multiselectpicklist", "jsonarray", "VAT;Sales tax", ["VAT", "Sales tax"]),
        ("multiselectpicklist", "jsonarray", "", []),
        ("tag", "jsonarray", "VIP;Hot", [{"name": "VIP"}, {"name": "Hot"}]),
        (
            "jsonarray",
            "jsonarray",
            '[{"participant": "1", "type": "contact"}]',
            [{"participant": "1", "type": "contact"}],
        ),
        ("jsonarray", "jsonarray", "[not json", "[not json"),
        ("jsonarray", "jsonarray", "a;b", ["a", "b"]),
        ("jsonarray", "jsonarray", "", []),
        ("fileupload", "jsonarray", "", None),
        ("fileupload", "jsonarray", '[{"File_Id__s": "enc1"}]', [{"File_Id__s": "enc1"}]),
        ("jsonobject", "jsonobject", '{"ALARM": "TRIGGER:-PT15M"}', {"ALARM": "TRIGGER:-PT15M"}),
        ("jsonobject", "jsonobject", "{broken", "{broken"),
        ("jsonobject", "jsonobject", "text", "text"),
        ("jsonobject", "string", '{"ALARM": "TRIGGER:-PT15M"}', {"ALARM": "TRIGGER:-PT15M"}),
        ("bigint", "string", "0001234567890123456789", "0001234567890123456789"),
        ("date", "string", "2026-12-20", "2026-12-20"),
        ("datetime", "string", "2026-12-01T15:39:07+00:00", "2026-12-01T15:39:07+00:00"),
        ("text", "string", "", None),
        ("text", "string", "a;b", "a;b"),
    ],
)
def test_each_field_type_reads_as_its_rest_value(
    data_type: str, json_type: str, cell: str, value: object
) -> None:
    assert cell_reader(field("F", data_type, json_type))(cell) == value


def test_tags_are_told_by_their_name_whatever_type_the_metadata_gives() -> None:
    # The recorded metadata calls Tag "text" with json_type "jsonarray".
    assert cell_reader(field("Tag", "text", "jsonarray"))("VIP") == [{"name": "VIP"}]


def test_a_column_the_metadata_does_not_describe_stays_text_and_ids_stay_strings() -> None:
    read = row_reader(
        ["id", "Custom_c", "Amount"], [field("id", "bigint", "long"), field("Amount", "currency", "double")]
    )
    assert read(["0012", "42", "42"]) == {"id": "0012", "Custom_c": "42", "Amount": 42}
    assert read.header == ("id", "Custom_c", "Amount")
    assert cell_reader(None)("7") == "7"


@pytest.mark.parametrize("header", [[], ["id", ""], ["id", "Email", "Email"], ["Email"]])
def test_a_header_that_cannot_name_the_fields_is_refused(header: list[str]) -> None:
    with pytest.raises(ValueError, match="header"):
        row_reader(header, CONTACT_FIELDS)


@pytest.mark.parametrize("row", [["1"], ["1", "a", "b"]])
def test_a_torn_row_is_refused_rather_than_shifted_into_other_fields(row: list[str]) -> None:
    with pytest.raises(ValueError, match="cells"):
        row_reader(["id", "Email"], CONTACT_FIELDS)(row)
