"""Record models: what a write sends, how values are formatted, what survives a round trip."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from bigin_async.models import (
    MODULE_MODELS,
    Call,
    Company,
    Contact,
    Deal,
    Event,
    Lookup,
    Note,
    Owner,
    Page,
    Pipeline,
    Product,
    Record,
    RelatedTo,
    Tag,
    Task,
    WriteResult,
    format_datetime,
    model_for,
    parse_page,
    parse_pipelines,
    parse_write_results,
    pipelines_from_layouts,
    record_to_wire,
)
from tests.helpers.fixtures import fixture_bytes

NAIROBI = timezone(timedelta(hours=3))


# --- unknown, custom and $-prefixed fields -------------------------------------------------------


def test_custom_and_system_fields_survive_read_modify_write() -> None:
    body = {
        "id": "7618134000000632028",
        "Last_Name": "Contact",
        "Loyalty_Tier_c": "gold",
        "Score__s": "123456789012345678",
        "$approval_state": "approved",
        "$layout_id": {"display_label": "Standard", "name": "Standard", "id": "7618134000000091033"},
        "Created_Time": "2026-10-07T03:21:34+03:00",
    }
    contact = Contact.model_validate(body)
    contact.Phone = "555-0100"
    wire = contact.to_wire()
    assert wire == {
        "id": "7618134000000632028",
        "Last_Name": "Contact",
        "Phone": "555-0100",
        "Loyalty_Tier_c": "gold",
        "Score__s": "123456789012345678",
        "$approval_state": "approved",
        "$layout_id": {"display_label": "Standard", "name": "Standard", "id": "7618134000000091033"},
    }
    assert contact.get("$approval_state") == "approved"
    assert contact.get("Last_Name") == "Contact"
    assert contact.get("Missing_Field", "default") == "default"
    dumped = contact.model_dump(mode="json", exclude_unset=True)
    assert dumped["$layout_id"]["id"] == "7618134000000091033"
    assert dumped["Created_Time"] == "2026-10-07T03:21:34+03:00"


def test_dollar_aliased_field_reads_and_writes_its_exact_key() -> None:
    by_wire_name = Task.model_validate({"Subject": "Call back", "$se_module": "Contacts"})
    by_attribute = Task(Subject="Call back", se_module="Contacts")
    assert by_wire_name.se_module == by_attribute.se_module == "Contacts"
    assert (
        by_wire_name.to_wire() == by_attribute.to_wire() == {"Subject": "Call back", "$se_module": "Contacts"}
    )
    assert by_attribute.model_dump(exclude_unset=True) == {"Subject": "Call back", "$se_module": "Contacts"}
    assert by_attribute.get("$se_module") == "Contacts"


# --- exclude_unset writes --------------------------------------------------------------------------


def test_write_sends_only_what_was_set() -> None:
    assert Contact(Last_Name="Doe").to_wire() == {"Last_Name": "Doe"}
    # An explicit None is a request to clear the field, so it is sent.
    assert Contact(id="1", Email=None).to_wire() == {"id": "1", "Email": None}
    assert Record().to_wire() == {}


def test_read_only_system_fields_are_left_out_of_writes() -> None:
    record = Contact.model_validate(
        {
            "id": "5",
            "Created_Time": "2026-10-07T03:21:34+03:00",
            "Modified_Time": "2026-10-07T03:21:34+03:00",
            "Last_Activity_Time": "2026-10-07T03:21:34+03:00",
            "Created_By": {"name": "A", "id": "9"},
            "Modified_By": {"name": "A", "id": "9"},
            "Owner": {"name": "A", "id": "9", "email": "a@example.com"},
        }
    )
    assert record.to_wire() == {"id": "5", "Owner": {"id": "9"}}


def test_lookups_owner_tags_and_related_to_take_their_write_forms() -> None:
    deal = Deal(
        Deal_Name="Website",
        Contact_Name=Lookup(id="11", name="Ann"),
        Account_Name={"id": 12, "name": "Acme"},
        Pipeline={"id": "13"},
        Owner=Owner(id="14", name="Me", email="me@example.com"),
        Tag=["VIP", {"name": "B2B", "id": "3", "color_code": "#fff"}, Tag(name="Hot")],
    )
    assert deal.to_wire() == {
        "Owner": {"id": "14"},
        "Tag": [{"name": "VIP"}, {"name": "B2B"}, {"name": "Hot"}],
        "Deal_Name": "Website",
        "Pipeline": {"id": "13"},
        "Contact_Name": {"id": "11"},
        "Account_Name": {"id": "12"},
    }
    task = Task(Related_To={"module": "Contacts", "id": "15", "name": "Ann"})
    assert task.to_wire() == {"Related_To": {"module": "Contacts", "id": "15"}}
    assert RelatedTo(id="1").to_wire() == {"id": "1"}


def test_tag_accepts_a_bare_name_a_dict_or_a_model() -> None:
    assert Tag.model_validate("VIP") == Tag(name="VIP")
    assert Tag.model_validate({"name": "VIP", "id": 7}).id == "7"
    contact = Contact.model_validate({"Tag": ["VIP", "Decision Maker"]})
    assert contact.Tag == [Tag(name="VIP"), Tag(name="Decision Maker")]
    assert contact.to_wire() == {"Tag": [{"name": "VIP"}, {"name": "Decision Maker"}]}


# --- ids and numbers -------------------------------------------------------------------------------


def test_int_ids_become_strings_and_strings_never_become_numbers() -> None:
    assert Contact(id=7618134000000632028).id == "7618134000000632028"
    assert Lookup(id=42).id == "42"
    company = Company.model_validate({"Account_Number": "0", "Zip_Code": 10001})
    assert company.Account_Number == "0"
    assert company.Zip_Code == "10001"
    big = Contact.model_validate_json(b'{"id": 7618134000000632028}')
    assert big.id == "7618134000000632028"  # no float rounding on the way
    with pytest.raises(ValueError):
        Contact.model_validate({"id": True})


def test_numbers_are_numbers() -> None:
    product = Product.model_validate({"Unit_Price": "19.99", "Qty_in_Stock": 3, "Taxable": True})
    assert product.Unit_Price == 19.99 and isinstance(product.Unit_Price, float)
    assert product.Qty_in_Stock == 3.0
    with pytest.raises(ValueError):
        Product.model_validate({"Unit_Price": "nineteen"})


# --- dates and datetimes ---------------------------------------------------------------------------


def test_dates_are_written_yyyy_mm_dd() -> None:
    deal = Deal(Closing_Date=date(2025, 2, 28), Expected_Close_Date="2025-03-01")
    assert deal.Expected_Close_Date == date(2025, 3, 1)
    assert deal.to_wire() == {"Closing_Date": "2025-02-28", "Expected_Close_Date": "2025-03-01"}
    assert Task(Due_Date=date(2025, 1, 20)).to_wire() == {"Due_Date": "2025-01-20"}


def test_datetimes_are_written_with_offset_and_without_milliseconds() -> None:
    event = Event(
        Start_DateTime=datetime(2025, 1, 20, 14, 0, 0, 123456, tzinfo=NAIROBI),
        End_DateTime=datetime(2025, 1, 20, 15, tzinfo=timezone.utc),
    )
    assert event.to_wire() == {
        "Start_DateTime": "2025-01-20T14:00:00+03:00",
        "End_DateTime": "2025-01-20T15:00:00+00:00",
    }


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-09T22:11:19+03:00",
        "2026-10-09T19:11:19Z",
        "2026-10-09T19:11:19.000Z",
        "2026-10-09T22:11:19.250+03:00",
        "2026-10-09T11:11:19-08:00",
    ],
)
def test_datetime_variants_parse_to_the_same_instant(text: str) -> None:
    event = Event.model_validate({"Start_DateTime": text})
    assert event.Start_DateTime is not None
    assert event.Start_DateTime.replace(microsecond=0) == datetime(
        2026, 10, 9, 19, 11, 19, tzinfo=timezone.utc
    )
    assert "." not in event.to_wire()["Start_DateTime"]


def test_naive_datetimes_are_refused_on_write() -> None:
    event = Event(Start_DateTime=datetime(2025, 1, 20, 14, 0))
    with pytest.raises(ValueError, match="naive datetime"):
        event.to_wire()
    with pytest.raises(ValueError, match="naive datetime"):
        record_to_wire({"Call_Start_Time": datetime(2025, 1, 20, 14, 0)})
    with pytest.raises(ValueError, match="naive datetime"):
        format_datetime(datetime(2025, 1, 20))


# --- plain dicts -----------------------------------------------------------------------------------


def test_record_to_wire_formats_plain_dict_values() -> None:
    record: dict[str, Any] = {
        "Deal_Name": "X",
        "Amount": Decimal("25000.00"),
        "Probability": Decimal("12.5"),
        "Closing_Date": date(2025, 2, 28),
        "Call_Start_Time": datetime(2025, 1, 20, 9, 30, 5, 999, tzinfo=NAIROBI),
        "Contact_Name": Lookup(id="1", name="Ann"),
        "Owner": {"id": "2"},
        "Tag": ["VIP", {"name": "B2B"}],
        "Nested": {"When": date(2025, 1, 1), "List": [Decimal("1.5")]},
        "Flag": True,
        "Nothing": None,
    }
    assert record_to_wire(record) == {
        "Deal_Name": "X",
        "Amount": 25000,
        "Probability": 12.5,
        "Closing_Date": "2025-02-28",
        "Call_Start_Time": "2025-01-20T09:30:05+03:00",
        "Contact_Name": {"id": "1"},
        "Owner": {"id": "2"},
        "Tag": [{"name": "VIP"}, {"name": "B2B"}],
        "Nested": {"When": "2025-01-01", "List": [1.5]},
        "Flag": True,
        "Nothing": None,
    }
    # A dict is sent as given: its keys are the caller's, even read-only ones.
    assert record_to_wire({"Created_Time": "x"}) == {"Created_Time": "x"}
    assert record_to_wire(Contact(Last_Name="Doe")) == {"Last_Name": "Doe"}


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), float("nan"), float("inf")])
def test_non_finite_numbers_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        record_to_wire({"Amount": bad})


# --- module records --------------------------------------------------------------------------------


def test_module_models_are_keyed_by_api_name() -> None:
    assert MODULE_MODELS["Contacts"] is Contact
    assert MODULE_MODELS["Accounts"] is Company
    assert MODULE_MODELS["Pipelines"] is Deal
    assert {"Tasks", "Events", "Notes", "Products", "Calls"} <= set(MODULE_MODELS)
    assert model_for("Calls") is Call
    assert model_for("Attachments") is Record
    assert "Companies" not in MODULE_MODELS  # the wire name is Accounts


def test_field_aliases_and_zoho_field_names_both_read_typed() -> None:
    aliased = Contact.model_validate(
        {"Company_Name": "Acme", "Job_Title": "CEO", "Address": "1 Main", "Zip_Code": "10001"}
    )
    assert aliased.Company_Name == "Acme" and aliased.Job_Title == "CEO"
    assert aliased.to_wire() == {
        "Job_Title": "CEO",
        "Company_Name": "Acme",
        "Address": "1 Main",
        "Zip_Code": "10001",
    }
    as_lookup = Contact.model_validate({"Company_Name": {"id": "5", "name": "Acme"}})
    assert isinstance(as_lookup.Company_Name, Lookup) and as_lookup.to_wire() == {"Company_Name": {"id": "5"}}
    deal = Deal.model_validate(
        {
            "Layout": {"id": "1"},
            "Sub_Pipeline": "Standard",
            "Stage": "Qualification",
            "Closing_Date": "2026-01-31",
        }
    )
    assert deal.Layout == Lookup(id="1") and deal.Closing_Date == date(2026, 1, 31)


def test_note_parent_accepts_related_to_lookup_or_id() -> None:
    parented = Note.model_validate({"Parent_Id": {"module": "Contacts", "id": "1"}, "Note_Title": "t"})
    assert isinstance(parented.Parent_Id, RelatedTo) and parented.Parent_Id.module_api_name == "Contacts"
    assert parented.to_wire()["Parent_Id"] == {"module": "Contacts", "id": "1"}
    nested = Note.model_validate({"Parent_Id": {"module": {"api_name": "Pipelines", "id": "9"}, "id": "2"}})
    assert isinstance(nested.Parent_Id, RelatedTo) and nested.Parent_Id.module_api_name == "Pipelines"
    zoho = Note.model_validate({"Parent_Id": {"name": "Ann", "id": "3"}, "$se_module": "Contacts"})
    assert zoho.to_wire() == {"Parent_Id": {"id": "3"}, "$se_module": "Contacts"}
    assert Note.model_validate({"Parent_Id": "4"}).to_wire() == {"Parent_Id": "4"}


def test_event_participants_and_reminder_are_kept() -> None:
    event = Event.model_validate(
        {
            "Event_Title": "Client Meeting",
            "Participants": [{"id": "1"}, {"type": "contact", "participant": "2", "name": "Ann"}],
            "Reminder": {"type": "email", "time": "2025-01-20T13:30:00Z"},
            "Related_To": {"module": "Pipelines", "id": "3"},
        }
    )
    assert event.Participants is not None and event.Participants[1].participant == "2"
    assert event.to_wire() == {
        "Event_Title": "Client Meeting",
        "Participants": [{"id": "1"}, {"type": "contact", "participant": "2", "name": "Ann"}],
        "Related_To": {"module": "Pipelines", "id": "3"},
        "Reminder": {"type": "email", "time": "2025-01-20T13:30:00Z"},
    }


# --- pages and write results -----------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"  \n", ""])
def test_empty_body_is_an_empty_page(body: bytes | str) -> None:
    page = parse_page(Contact, body)
    assert isinstance(page, Page) and page.data == [] and page.info is None


def test_parse_page_uses_the_envelope_key_and_ignores_other_keys() -> None:
    page = parse_page(
        Tag, b'{"tags": [{"name": "VIP", "id": 1}], "info": {"count": 1}, "other": 1}', key="tags"
    )
    assert page.data == [Tag(name="VIP", id="1")] and page.info is not None and page.info.count == 1
    # The same model under another key gets its own cached envelope.
    assert parse_page(Tag, b'{"data": [{"name": "B"}]}').data == [Tag(name="B")]


def test_write_result_errors_and_duplicates() -> None:
    results = parse_write_results(
        b'{"data": [{"code": "DUPLICATE_DATA", "details": {"api_name": "Email", "id": "77"},'
        b' "message": "duplicate data", "status": "error"},'
        b' {"code": "SUCCESS", "details": {"id": "78"}, "message": "record added", "status": "success"},'
        b' {"code": "SOMETHING_NEW", "details": {}, "message": "?", "status": "error", "action": "merge"}]}'
    )
    assert [r.ok for r in results] == [False, True, False]
    assert results[0].id == "77" and results[0].details["api_name"] == "Email"
    assert results[2].code == "SOMETHING_NEW" and results[2].action == "merge"
    request_error = parse_write_results(
        {"code": "INVALID_DATA", "details": {}, "message": "m", "status": "error"}
    )
    assert len(request_error) == 1 and not request_error[0].ok
    assert (
        parse_write_results(b"") == [] and parse_write_results(None) == [] and parse_write_results({}) == []
    )
    assert WriteResult(code="SUCCESS").ok and not WriteResult().ok


def test_a_write_result_with_lowercase_details() -> None:
    result = parse_write_results(
        {
            "data": [
                {
                    "code": "SUCCESS",
                    "details": {"id": "123", "created_time": "2025-01-15T10:30:00+00:00"},
                    "message": "record added",
                    "status": "success",
                }
            ]
        }
    )[0]
    assert result.ok and result.id == "123"


# --- pipelines -------------------------------------------------------------------------------------

SETTINGS_PIPELINES: dict[str, Any] = {
    "pipelines": [
        {
            "id": "123456000000012345",
            "display_value": "Sales Pipeline",
            "maps": [
                {
                    "display_value": "Proposal",
                    "id": "123456000000012348",
                    "sequence_number": 3,
                    "probability": 50,
                },
                {
                    "display_value": "Qualification",
                    "id": "123456000000012346",
                    "sequence_number": 1,
                    "probability": 10,
                },
            ],
            "default": True,
        }
    ]
}

# Zoho's shape (no recording exists; built from Zoho's docs): a layout per team pipeline with the
# Sub_Pipeline and Stage picklists in its sections.
LAYOUTS: dict[str, Any] = {
    "layouts": [
        {
            "id": "900",
            "name": "Sales Pipeline",
            "sections": [
                {
                    "name": "Deal Information",
                    "fields": [
                        {"api_name": "Deal_Name", "data_type": "text"},
                        {
                            "api_name": "Sub_Pipeline",
                            "data_type": "picklist",
                            "pick_list_values": [
                                {
                                    "display_value": "Standard",
                                    "actual_value": "Standard",
                                    "id": "910",
                                    "maps": [{"id": "921", "sequence_number": 1}, {"display_value": "Won"}],
                                },
                                {"display_value": "Enterprise", "actual_value": "Enterprise", "id": "911"},
                            ],
                        },
                    ],
                },
                {
                    "name": "Stage",
                    "fields": [
                        {
                            "api_name": "Stage",
                            "data_type": "picklist",
                            "pick_list_values": [
                                {
                                    "display_value": "Qualification",
                                    "actual_value": "Qualification",
                                    "id": "921",
                                    "sequence_number": 4,
                                    "probability": 10,
                                },
                                {
                                    "display_value": "Won",
                                    "actual_value": "Won",
                                    "id": "922",
                                    "sequence_number": 2,
                                    "probability": 100,
                                },
                            ],
                        }
                    ],
                },
            ],
        },
        {"id": "901", "name": "Empty", "sections": []},
    ]
}


def test_pipelines_from_a_settings_pipelines_body() -> None:
    pipelines = parse_pipelines(SETTINGS_PIPELINES)
    assert len(pipelines) == 1
    pipeline = pipelines[0]
    assert (
        pipeline.id == "123456000000012345" and pipeline.name == "Sales Pipeline" and pipeline.default is True
    )
    assert [s.display_value for s in pipeline.stages] == ["Qualification", "Proposal"]
    assert pipeline.stages[1].probability == 50
    as_page = parse_page(Pipeline, json.dumps(SETTINGS_PIPELINES).encode(), key="pipelines").data
    assert as_page == pipelines


def test_pipelines_from_layouts() -> None:
    pipelines = pipelines_from_layouts(LAYOUTS)
    assert parse_pipelines(LAYOUTS) == pipelines
    sales, empty = pipelines
    assert sales.id == "900" and sales.name == "Sales Pipeline"
    assert [s.display_value for s in sales.stages] == ["Won", "Qualification"]
    assert sales.stages[1].probability == 10
    assert sales.sub_pipelines is not None
    standard, enterprise = sales.sub_pipelines
    assert standard.id == "910" and standard.name == "Standard"
    assert [(s.id, s.display_value, s.sequence_number) for s in standard.stages] == [
        ("921", "Qualification", 1),
        ("922", "Won", 2),
    ]
    assert enterprise.maps == []
    assert empty.id == "901" and empty.maps == [] and empty.sub_pipelines == []


def test_record_fixture_still_parses_when_unknown_types_change() -> None:
    # A field Bigin adds later with any shape is kept, never a validation error.
    page = parse_page(Contact, fixture_bytes("get_contact.json"))
    contact = Contact.model_validate({**page.data[0].model_dump(), "New_Thing": [{"x": 1}], "$new": 5})
    assert contact.get("New_Thing") == [{"x": 1}] and contact.get("$new") == 5


# -- issue #9 item 23: a model built from an API answer has nothing "set" but its id ------------
def test_a_record_parsed_from_an_answer_sends_only_its_id_until_a_field_is_assigned() -> None:
    body = json.dumps(
        {
            "data": [
                {
                    "id": "5545000000000000001",
                    "Last_Name": "Lovelace",
                    "Full_Name": "Ada Lovelace",
                    "Email": "ada@example.com",
                    "$approval_state": "approved",
                    "Tag": [{"name": "VIP", "id": "1", "color_code": "#fff"}],
                    "Custom_c": "x",
                    "Owner": {"name": "Ada", "id": "2", "email": "o@example.com"},
                }
            ]
        }
    )
    [contact] = parse_page(Contact, body).data
    assert contact.Full_Name == "Ada Lovelace" and contact.get("Custom_c") == "x"  # everything was read
    assert contact.to_wire() == {"id": "5545000000000000001"}
    contact.Email = "countess@example.com"
    contact.Custom_c = "y"
    assert contact.to_wire() == {
        "id": "5545000000000000001",
        "Email": "countess@example.com",
        "Custom_c": "y",
    }
    copy = contact.model_copy(update={"Last_Name": "King"})
    assert copy.to_wire() == {
        "id": "5545000000000000001",
        "Email": "countess@example.com",
        "Custom_c": "y",
        "Last_Name": "King",
    }


def test_nested_values_of_a_read_record_keep_their_own_write_form() -> None:
    body = json.dumps(
        {
            "data": [
                {"id": "9", "Event_Title": "Demo", "Participants": [{"participant": "7", "type": "contact"}]}
            ]
        }
    )
    [event] = parse_page(Event, body).data
    event.Participants = event.Participants  # assigning the read value back sends it whole
    assert event.to_wire() == {"id": "9", "Participants": [{"participant": "7", "type": "contact"}]}


def test_set_assigns_a_field_by_its_wire_name_and_marks_it_for_sending() -> None:
    [task] = parse_page(
        Task, json.dumps({"data": [{"id": "3", "$se_module": "Contacts", "Subject": "x"}]})
    ).data
    task.set("$se_module", "Accounts")
    task.set("$custom_flag", True)
    assert task.se_module == "Accounts"
    assert task.to_wire() == {"id": "3", "$se_module": "Accounts", "$custom_flag": True}
