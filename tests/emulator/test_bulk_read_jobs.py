"""Bulk Read jobs in the emulator: the query checks, JSON criteria, pages, CSV values, the result zip.

The first part drives ``ops.bulk_export`` and ``ops.json_criteria`` on the store directly; the
second part speaks plain HTTP to ``/bigin/bulk/v2/read`` (create, status, download, the download
limit, credits, callbacks, a job failing).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from typing import Any

import anyio
import httpx
import pytest

from bigin_emulator import BiginEmulator
from bigin_emulator.ops.bulk_export import (
    READ_MODULES,
    ExportPage,
    csv_value,
    parse_read_query,
    select_page,
    write_csv_zip,
    write_result_zip,
)
from bigin_emulator.ops.json_criteria import MAX_DEPTH
from bigin_emulator.ops.wire import ApiError
from bigin_emulator.state.metadata import MODULES
from tests.helpers.clock import FakeClock
from tests.helpers.receiver import Receiver  # a webhook app that keeps what it is sent

# -- helpers -------------------------------------------------------------------------------------


def inserted(emulator: BiginEmulator, module: str, *records: dict[str, Any]) -> list[str]:
    entries = emulator.insert_records(module, records)
    assert all(e["status"] == "success" for e in entries), entries
    return [e["details"]["id"] for e in entries]


def refusal(emulator: BiginEmulator, query: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_read_query(query, emulator.store)
    assert caught.value.status == 400
    return caught.value


def page_of(emulator: BiginEmulator, query: dict[str, Any], page_size: int = 200_000) -> ExportPage:
    return select_page(parse_read_query(query, emulator.store), emulator.store, page_size)


def csv_rows(data: bytes, name: str | None = None) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        [entry] = archive.infolist()
        if name is not None:
            assert entry.filename == name
        with archive.open(entry) as raw:
            return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))


def zipped(page: ExportPage, name: str = "1.csv") -> bytes:
    target = io.BytesIO()
    write_result_zip(target, name, page)
    return target.getvalue()


@pytest.fixture
def people(emulator: BiginEmulator) -> dict[str, str]:
    """Five contacts (ids by last name) with the values the criteria tests pick them by."""
    [acme, globex] = inserted(emulator, "Accounts", {"Account_Name": "Acme"}, {"Account_Name": "Globex"})
    ids = inserted(
        emulator,
        "Contacts",
        {
            "Last_Name": "Smith",
            "First_Name": "Ann",
            "Email": "ann@acme.example",
            "Account_Name": {"id": acme},
            "Email_Opt_Out": True,
            "Tag": ["VIP"],
        },
        {"Last_Name": "Smithers", "Email": "s@globex.example", "Account_Name": {"id": globex}},
        {"Last_Name": "Jones", "Email": "jones@acme.example", "Mailing_City": "Madrid"},
        {"Last_Name": "Brown", "Mailing_City": "Oslo", "Description": "prefers email"},
        {"Last_Name": "Ng", "First_Name": "Bo"},
    )
    return dict(zip(["Smith", "Smithers", "Jones", "Brown", "Ng"], ids, strict=True)) | {
        "acme": acme,
        "globex": globex,
    }


def last_names(emulator: BiginEmulator, criteria: dict[str, Any], module: str = "Contacts") -> list[str]:
    page = page_of(emulator, {"module": module, "criteria": criteria})
    name = MODULES[module].display_field if module != "Contacts" else "Last_Name"
    return [record[name] for record in page.records]


def cond(api_name: str, comparator: str, value: Any) -> dict[str, Any]:
    return {"api_name": api_name, "comparator": comparator, "value": value}


# -- the query ------------------------------------------------------------------------------------


def test_every_module_bulk_read_takes_is_accepted_by_name_and_by_api_name_object(
    emulator: BiginEmulator,
) -> None:
    for module in READ_MODULES:
        assert parse_read_query({"module": module}, emulator.store).spec.api_name == module
        assert parse_read_query({"module": {"api_name": module}}, emulator.store).spec.api_name == module


def test_notes_is_not_supported_and_an_unknown_module_is_invalid(emulator: BiginEmulator) -> None:
    notes = refusal(emulator, {"module": "Notes"})
    assert (notes.code, notes.details["api_name"]) == ("NOT_SUPPORTED", "Notes")
    assert refusal(emulator, {"module": "Deals"}).code == "INVALID_MODULE"  # the API name is Pipelines
    assert refusal(emulator, {"module": {"api_name": 7}}).code == "INVALID_MODULE"
    assert refusal(emulator, {"fields": ["Last_Name"]}).code == "REQUIRED_PARAM_MISSING"
    assert refusal(emulator, None).code == "REQUIRED_PARAM_MISSING"
    assert refusal(emulator, {"module": "Contacts", "cvid": "1"}).code == "NOT_SUPPORTED"
    assert refusal(emulator, {"module": "Events", "file_type": "ics"}).code == "NOT_SUPPORTED"


def test_an_unknown_field_is_refused_naming_it(emulator: BiginEmulator) -> None:
    error = refusal(emulator, {"module": "Contacts", "fields": ["Last_Name", "Shoe_Size"]})
    assert (error.code, error.details) == ("INVALID_DATA", {"param": "query.fields", "api_name": "Shoe_Size"})
    assert refusal(emulator, {"module": "Contacts", "fields": "Last_Name"}).code == "INVALID_DATA"
    assert refusal(emulator, {"module": "Contacts", "fields": [1]}).code == "INVALID_DATA"
    # Accounts has no Email: a field of another module is not one of this one
    assert refusal(emulator, {"module": "Accounts", "fields": ["Email"]}).details["api_name"] == "Email"


def test_fields_the_org_added_and_aliases_are_fields(emulator: BiginEmulator) -> None:
    inserted(emulator, "Contacts", {"Last_Name": "Ng", "Shoe_Size": 42})
    query = parse_read_query(
        {"module": "Contacts", "fields": ["id", "Shoe_Size", "Company_Name", "Shoe_Size"]}, emulator.store
    )
    assert query.fields == ("Shoe_Size", "Company_Name")  # id is always the first column, once


@pytest.mark.parametrize("page", [0, -1, "1", 1.0, True, None])
def test_page_must_be_a_whole_number_from_1(emulator: BiginEmulator, page: Any) -> None:
    query = {"module": "Contacts", "page": page}
    if page is None:
        assert parse_read_query(query, emulator.store).page == 1
        return
    error = refusal(emulator, query)
    assert (error.code, error.details["param"]) == ("INVALID_DATA", "query.page")


# -- JSON criteria ---------------------------------------------------------------------------------


def test_each_comparator_on_text(emulator: BiginEmulator, people: dict[str, str]) -> None:
    assert last_names(emulator, cond("Last_Name", "equal", "smith")) == ["Smith"]
    assert last_names(emulator, cond("Last_Name", "not_equal", "Smith")) == [
        "Smithers",
        "Jones",
        "Brown",
        "Ng",
    ]
    assert last_names(emulator, cond("Last_Name", "in", ["Ng", "jones"])) == ["Jones", "Ng"]
    assert last_names(emulator, cond("Last_Name", "not_in", ["Ng", "jones"])) == [
        "Smith",
        "Smithers",
        "Brown",
    ]
    assert last_names(emulator, cond("Last_Name", "starts_with", "SMI")) == ["Smith", "Smithers"]
    assert last_names(emulator, cond("Last_Name", "ends_with", "ERS")) == ["Smithers"]
    assert last_names(emulator, cond("Email", "contains", "ACME")) == ["Smith", "Jones"]
    assert last_names(emulator, cond("Email", "not_contains", "acme")) == ["Smithers", "Brown", "Ng"]


def test_each_ordering_comparator_on_numbers_and_dates(emulator: BiginEmulator) -> None:
    inserted(
        emulator,
        "Products",
        {"Product_Name": "A", "Unit_Price": 5, "Qty_in_Stock": 1.5},
        {"Product_Name": "B", "Unit_Price": 10.25},
        {"Product_Name": "C", "Unit_Price": 20},
    )
    price = "Unit_Price"
    assert last_names(emulator, cond(price, "less_than", 10.25), "Products") == ["A"]
    assert last_names(emulator, cond(price, "less_equal", 10.25), "Products") == ["A", "B"]
    assert last_names(emulator, cond(price, "greater_than", 10), "Products") == ["B", "C"]
    assert last_names(emulator, cond(price, "greater_equal", "20"), "Products") == ["C"]
    assert last_names(emulator, cond(price, "between", [5, 10.25]), "Products") == ["A", "B"]
    assert last_names(emulator, cond(price, "equal", 20), "Products") == ["C"]
    assert last_names(emulator, cond(price, "in", [5, 20]), "Products") == ["A", "C"]
    assert last_names(emulator, cond(price, "not_in", [5, 20]), "Products") == ["B"]
    assert last_names(emulator, cond("Qty_in_Stock", "greater_than", 1), "Products") == ["A"]
    stage = emulator.ctx.pipelines.default().stages[0].display_value
    deal = {"Stage": stage, "Pipeline": {"id": emulator.ctx.pipelines.default().id}}
    inserted(
        emulator,
        "Pipelines",
        {**deal, "Deal_Name": "early", "Closing_Date": "2026-01-05"},
        {**deal, "Deal_Name": "late", "Closing_Date": "2026-03-01"},
    )
    closing = "Closing_Date"
    assert last_names(emulator, cond(closing, "less_than", "2026-02-01"), "Pipelines") == ["early"]
    assert last_names(emulator, cond(closing, "between", ["2026-02-01", "2026-12-31"]), "Pipelines") == [
        "late"
    ]
    created = "Created_Time"
    now = emulator.ctx.now_iso()
    assert len(last_names(emulator, cond(created, "greater_equal", now), "Pipelines")) == 2
    assert last_names(emulator, cond(created, "greater_than", now), "Pipelines") == []


def test_lookups_match_by_id_and_booleans_and_tags(emulator: BiginEmulator, people: dict[str, str]) -> None:
    assert last_names(emulator, cond("Account_Name", "equal", people["acme"])) == ["Smith"]
    assert last_names(emulator, cond("Account_Name.id", "in", [people["acme"], people["globex"]])) == [
        "Smith",
        "Smithers",
    ]
    owner = emulator.store.table("Contacts").get(people["Ng"])
    assert owner is not None
    assert len(last_names(emulator, cond("Owner", "equal", owner["Owner"]["id"]))) == 5
    assert last_names(emulator, cond("Email_Opt_Out", "equal", True)) == ["Smith"]
    assert last_names(emulator, cond("Email_Opt_Out", "equal", "false")) == [
        "Smithers",
        "Jones",
        "Brown",
        "Ng",
    ]
    assert last_names(emulator, cond("Tag", "contains", "vi")) == ["Smith"]
    assert last_names(emulator, cond("id", "equal", people["Jones"])) == ["Jones"]


def test_empty_matches_unset_values(emulator: BiginEmulator, people: dict[str, str]) -> None:
    assert last_names(emulator, cond("Mailing_City", "equal", "${EMPTY}")) == ["Smith", "Smithers", "Ng"]
    assert last_names(emulator, cond("Mailing_City", "not_equal", "${EMPTY}")) == ["Jones", "Brown"]
    assert last_names(emulator, cond("Account_Name", "equal", "${EMPTY}")) == ["Jones", "Brown", "Ng"]
    assert last_names(emulator, cond("Mailing_City", "in", ["${EMPTY}", "Oslo"])) == [
        "Smith",
        "Smithers",
        "Brown",
        "Ng",
    ]


def test_groups_and_or_and_nested(emulator: BiginEmulator, people: dict[str, str]) -> None:
    smi = cond("Last_Name", "starts_with", "smi")
    acme = cond("Email", "contains", "acme")
    assert last_names(emulator, {"group_operator": "and", "group": [smi, acme]}) == ["Smith"]
    assert last_names(emulator, {"group_operator": "OR", "group": [smi, acme]}) == [
        "Smith",
        "Smithers",
        "Jones",
    ]
    nested = {
        "group_operator": "or",
        "group": [
            {"group_operator": "and", "group": [smi, cond("Email_Opt_Out", "equal", False)]},
            cond("Mailing_City", "equal", "Oslo"),
        ],
    }
    assert last_names(emulator, nested) == ["Smithers", "Brown"]
    assert last_names(emulator, {"group_operator": "and", "group": [smi]}) == ["Smith", "Smithers"]


@pytest.mark.parametrize(
    ("criteria", "param"),
    [
        (cond("Last_Name", "like", "x"), "criteria.comparator"),
        (cond("Last_Name", "greater_than", "x"), "criteria.comparator"),  # ordering is not for text
        (cond("Email_Opt_Out", "contains", "t"), "criteria.comparator"),
        (cond("Account_Name", "starts_with", "A"), "criteria.comparator"),
        (cond("Unit_Price", "contains", "1"), "criteria.api_name"),  # a field of Products, not Contacts
        (cond("Shoe_Size", "equal", "1"), "criteria.api_name"),
        (cond("Last_Name.id", "equal", "1"), "criteria.api_name"),  # only lookups have parts
        (cond("Account_Name.", "equal", "1"), "criteria.api_name"),
        (cond("", "equal", "1"), "criteria.api_name"),
        (cond("Last_Name", "in", "Ng"), "criteria.value"),
        (cond("Last_Name", "in", []), "criteria.value"),
        (cond("Created_Time", "between", ["2026-01-01", "2026-02-01", "2026-03-01"]), "criteria.value"),
        (cond("Last_Name", "equal", ""), "criteria.value"),
        (cond("Last_Name", "equal", None), "criteria.value"),
        (cond("Last_Name", "equal", ["Ng"]), "criteria.value"),
        (cond("Last_Name", "in", ["Ng", {"x": 1}]), "criteria.value[1]"),
        (cond("Last_Name", "starts_with", "${EMPTY}"), "criteria.value"),
        ({"api_name": "Last_Name", "comparator": "equal"}, "criteria.value"),
        ({"group_operator": "xor", "group": [cond("Last_Name", "equal", "Ng")]}, "criteria.group_operator"),
        ({"group_operator": "and", "group": []}, "criteria.group"),
        ({"group_operator": "and", "group": "x"}, "criteria.group"),
        ({"group": [cond("Last_Name", "equal", "Ng")]}, "criteria.group_operator"),
        ({"group_operator": "and", "group": [cond("Last_Name", "equal", "Ng"), 3]}, "criteria.group[1]"),
        ("(Last_Name:equals:Ng)", "criteria"),  # the text form is not Bulk Read's
    ],
)
def test_bad_criteria_are_refused_saying_where(emulator: BiginEmulator, criteria: Any, param: str) -> None:
    error = refusal(emulator, {"module": "Contacts", "criteria": criteria})
    assert error.code == "INVALID_DATA"
    assert error.details["param"] == param, error.message


def test_criteria_nest_a_bounded_depth(emulator: BiginEmulator, people: dict[str, str]) -> None:
    def nest(depth: int) -> dict[str, Any]:
        node: dict[str, Any] = cond("Last_Name", "equal", "Ng")
        for _ in range(depth):
            node = {"group_operator": "and", "group": [node]}
        return node

    assert last_names(emulator, nest(MAX_DEPTH)) == ["Ng"]
    assert "nest" in refusal(emulator, {"module": "Contacts", "criteria": nest(MAX_DEPTH + 1)}).message


# -- pages -----------------------------------------------------------------------------------------


def test_pages_hold_consecutive_slices_of_the_matches_sorted_by_id(emulator: BiginEmulator) -> None:
    ids = inserted(emulator, "Contacts", *({"Last_Name": f"N{i}"} for i in range(7)))
    pages = [page_of(emulator, {"module": "Contacts", "page": n}, page_size=3) for n in (1, 2, 3, 4)]
    assert [[r["id"] for r in p.records] for p in pages] == [ids[0:3], ids[3:6], ids[6:7], []]
    assert [(p.page, p.count, p.per_page, p.more_records) for p in pages] == [
        (1, 3, 3, True),
        (2, 3, 3, True),
        (3, 1, 3, False),
        (4, 0, 3, False),
    ]
    exact = page_of(emulator, {"module": "Contacts", "page": 1}, page_size=7)
    assert (exact.count, exact.more_records) == (7, False)
    with pytest.raises(ValueError, match="page_size"):
        page_of(emulator, {"module": "Contacts"}, page_size=0)


def test_a_page_of_criteria_matches_counts_matches_only(emulator: BiginEmulator) -> None:
    inserted(emulator, "Contacts", *({"Last_Name": "even" if i % 2 == 0 else "odd"} for i in range(9)))
    query = {"module": "Contacts", "criteria": cond("Last_Name", "equal", "even")}
    first = page_of(emulator, {**query, "page": 1}, page_size=4)
    second = page_of(emulator, {**query, "page": 2}, page_size=4)
    assert (first.count, first.more_records, second.count, second.more_records) == (4, True, 1, False)


def test_records_out_of_id_order_in_the_table_come_out_sorted(emulator: BiginEmulator) -> None:
    ids = inserted(emulator, "Contacts", *({"Last_Name": f"N{i}"} for i in range(4)))
    table = emulator.store.table("Contacts")
    records = [table.remove(record_id) for record_id in ids]
    for record in reversed(records):  # as a state import of records in another order would add them
        emulator.store.add("Contacts", record)
    assert [r["id"] for r in page_of(emulator, {"module": "Contacts"}).records] == ids


def test_a_page_keeps_the_records_as_they_were_when_it_was_taken(emulator: BiginEmulator) -> None:
    [first] = inserted(emulator, "Contacts", {"Last_Name": "Before"})
    page = page_of(emulator, {"module": "Contacts", "fields": ["Last_Name"]})
    emulator.ctx.store.table("Contacts").replace(
        first,
        {**emulator.store.table("Contacts").get(first), "Last_Name": "After"},  # type: ignore[dict-item]
    )
    inserted(emulator, "Contacts", {"Last_Name": "Later"})
    assert csv_rows(zipped(page)) == [{"id": first, "Last_Name": "Before"}]


# -- CSV values ------------------------------------------------------------------------------------


def test_csv_values_of_every_type() -> None:
    assert csv_value(None) == ""
    assert csv_value("a,b") == "a,b"
    assert (csv_value(True), csv_value(False)) == ("true", "false")
    assert (csv_value(3), csv_value(2.5), csv_value(1e16), csv_value(1e-7)) == (
        "3",
        "2.5",
        "10000000000000000",
        "0.0000001",
    )
    assert csv_value({"name": "Acme", "id": "55"}) == "55"
    assert csv_value({"ALARM": "x"}) == '{"ALARM":"x"}'
    assert csv_value(["Vat", "Sales"]) == "Vat;Sales"
    assert csv_value([{"name": "VIP", "id": "1"}, {"id": "2"}, {}]) == "VIP;2;"
    assert csv_value([]) == ""
    assert csv_value(("x",)) == "('x',)"  # anything else: as Python writes it


def test_the_csv_has_id_then_the_asked_fields_and_each_value_as_zoho_writes_it(
    emulator: BiginEmulator,
) -> None:
    [account] = inserted(emulator, "Accounts", {"Account_Name": "Acme"})
    [contact] = inserted(emulator, "Contacts", {"Last_Name": "Ng", "Account_Name": {"id": account}})
    [product] = inserted(
        emulator,
        "Products",
        {
            "Product_Name": "Widget",
            "Tax": ["Vat", "Sales"],
            "Unit_Price": 1234567.5,
            "Qty_in_Stock": 3,
            "Taxable": True,
            "Product_Active": False,
            "Tag": ["VIP", "Q3"],
        },
    )
    fields = ["Tax", "Unit_Price", "Qty_in_Stock", "Taxable", "Product_Active", "Tag", "Owner"]
    fields += ["Created_Time", "Description", "Product_Name"]
    [row] = csv_rows(zipped(page_of(emulator, {"module": "Products", "fields": fields})))
    assert list(row) == ["id", *fields]
    owner = emulator.store.table("Products").get(product)["Owner"]["id"]  # type: ignore[index]
    assert row == {
        "id": product,
        "Tax": "Vat;Sales",
        "Unit_Price": "1234567.5",
        "Qty_in_Stock": "3",
        "Taxable": "true",
        "Product_Active": "false",
        "Tag": "VIP;Q3",
        "Owner": owner,
        "Created_Time": "2026-01-01T00:00:00+00:00",
        "Description": "",
        "Product_Name": "Widget",
    }
    [event] = inserted(
        emulator,
        "Events",
        {
            "Event_Title": "Demo",
            "Start_DateTime": "2026-01-02T10:00:00+05:30",
            "End_DateTime": "2026-01-02T11:00:00+05:30",
            "All_day": False,
            "Participants": [{"type": "email", "participant": "a@b.example"}],
            "Remind_At": {
                "ALARM": "FREQ=NONE;ACTION=EMAILANDPOPUP;TRIGGER=DATE-TIME:2026-01-02T09:45:00+05:30"
            },
            "What_Id": {"id": account},
            "$se_module": "Accounts",
            "Contact_Name": {"id": contact},
        },
    )
    event_fields = ["Start_DateTime", "All_day", "Participants", "Remind_At", "What_Id", "Contact_Name"]
    [row] = csv_rows(zipped(page_of(emulator, {"module": "Events", "fields": [*event_fields, "Venue"]})))
    assert row == {
        "id": event,
        "Start_DateTime": "2026-01-02T04:30:00+00:00",
        "All_day": "false",
        "Participants": '[{"type":"email","participant":"a@b.example"}]',
        "Remind_At": '{"ALARM":"FREQ=NONE;ACTION=EMAILANDPOPUP;TRIGGER=DATE-TIME:2026-01-02T09:45:00+05:30"}',
        "What_Id": account,
        "Contact_Name": contact,
        "Venue": "",
    }
    [row] = csv_rows(
        zipped(page_of(emulator, {"module": "Contacts", "fields": ["Company_Name", "Account_Name"]}))
    )
    assert row == {"id": contact, "Company_Name": account, "Account_Name": account}


def test_dates_and_datetimes_keep_the_org_offset(clock: Any) -> None:
    from datetime import timedelta

    emulator = BiginEmulator(clock=clock, utc_offset=timedelta(hours=5, minutes=30))
    stage = emulator.ctx.pipelines.default().stages[0].display_value
    [deal] = inserted(
        emulator,
        "Pipelines",
        {"Deal_Name": "D", "Stage": stage, "Closing_Date": "2026-02-03", "Amount": 10, "Probability": 40},
    )
    fields = ["Closing_Date", "Created_Time", "Amount", "Probability", "Layout", "Stage"]
    [row] = csv_rows(zipped(page_of(emulator, {"module": "Pipelines", "fields": fields})))
    assert row == {
        "id": deal,
        "Closing_Date": "2026-02-03",
        "Created_Time": "2026-01-01T05:30:00+05:30",
        "Amount": "10",
        "Probability": "40",
        "Layout": emulator.ctx.pipelines.default().id,
        "Stage": stage,
    }


def test_no_fields_asked_gives_every_field_of_the_module_then_the_orgs_own(emulator: BiginEmulator) -> None:
    inserted(emulator, "Contacts", {"Last_Name": "Ng", "Shoe_Size": 42, "Pets": ["cat", "dog"]})
    [row] = csv_rows(zipped(page_of(emulator, {"module": "Contacts"})))
    spec = MODULES["Contacts"]
    assert list(row) == ["id", *spec.field_names, "Shoe_Size", "Pets"]
    assert (row["Last_Name"], row["Shoe_Size"], row["Pets"], row["Email_Opt_Out"]) == (
        "Ng",
        "42",
        "cat;dog",
        "false",
    )


def test_an_empty_field_list_asks_for_every_field(emulator: BiginEmulator) -> None:
    everything = page_of(emulator, {"module": "Tasks"}).columns
    assert page_of(emulator, {"module": "Tasks", "fields": []}).columns == everything
    assert everything[:2] == ("Owner", "Subject")


def test_values_stored_in_other_shapes_still_make_cells(emulator: BiginEmulator) -> None:
    """What an imported state may hold: a lookup as text, JSON fields as text or empty."""
    record_id = emulator.store.ids.next()
    stored = {
        "id": record_id,
        "Subject": "Call",
        "What_Id": "legacy text",
        "Remind_At": {},
        "Participants": "x",
    }
    emulator.store.add("Calls", {**stored, "Owner": {"name": "gone"}})
    emulator.store.add("Events", {**stored, "id": emulator.store.ids.next(), "Event_Title": "E"})
    [call] = csv_rows(zipped(page_of(emulator, {"module": "Calls", "fields": ["What_Id", "Owner"]})))
    assert call == {"id": record_id, "What_Id": "legacy text", "Owner": ""}
    [event] = csv_rows(
        zipped(page_of(emulator, {"module": "Events", "fields": ["Remind_At", "Participants"]}))
    )
    assert (event["Remind_At"], event["Participants"]) == ("", "x")
    assert csv_value({}) == ""


def test_cells_needing_quotes_round_trip(emulator: BiginEmulator) -> None:
    text = 'says "hi", then\nleaves; é ✓'
    [contact] = inserted(emulator, "Contacts", {"Last_Name": "Ng", "Description": text})
    [row] = csv_rows(
        zipped(page_of(emulator, {"module": "Contacts", "fields": ["Description"]}), "job.csv"), "job.csv"
    )
    assert row == {"id": contact, "Description": text}


def test_the_zip_is_written_in_pieces_never_as_one_string() -> None:
    class Target(io.BytesIO):
        largest = 0

        def write(self, data: Any) -> int:
            self.largest = max(self.largest, len(data))
            return super().write(data)

    rows: Sequence[Sequence[str]] = [[str(i), "x" * 200, f"{i}@example.com"] for i in range(20_000)]
    target = Target()
    write_csv_zip(target, "big.csv", ["id", "Text", "Email"], rows)
    assert target.largest < 1024 * 1024  # the CSV is about 4.5 MB
    with zipfile.ZipFile(io.BytesIO(target.getvalue())) as archive:
        [entry] = archive.infolist()
        assert (entry.filename, entry.compress_type) == ("big.csv", zipfile.ZIP_DEFLATED)
        assert entry.file_size > 4_000_000
        lines = archive.read(entry).decode().splitlines()
    assert lines[0] == "id,Text,Email" and lines[-1] == f"19999,{'x' * 200},19999@example.com"
    assert len(lines) == 20_001


def test_an_empty_page_is_a_csv_with_its_header_only(emulator: BiginEmulator) -> None:
    data = zipped(page_of(emulator, {"module": "Calls", "fields": ["Subject", "Call_Type"]}))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("1.csv") == b"id,Subject,Call_Type\r\n"


# -- over HTTP ---------------------------------------------------------------------------------------

READ = "/bigin/bulk/v2/read"


def contacts(emulator: BiginEmulator, count: int) -> list[str]:
    """``count`` small contacts put straight into the store (fast enough for a few hundred thousand)."""
    store = emulator.store
    ids = []
    for number in range(count):
        record_id = store.ids.next()
        store.add("Contacts", {"id": record_id, "Last_Name": f"N{number}", "Email_Opt_Out": number % 2 == 0})
        ids.append(record_id)
    return ids


async def create_job(http: httpx.AsyncClient, query: dict[str, Any], **extra: Any) -> str:
    response = await http.post(READ, json={"query": query, **extra})
    assert response.status_code == 201, response.text
    [entry] = response.json()["data"]
    job_id: str = entry["details"]["id"]
    return job_id


async def job_status(http: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    response = await http.get(f"{READ}/{job_id}")
    assert response.status_code == 200, response.text
    [job] = response.json()["data"]
    return job  # type: ignore[no-any-return]


async def download(http: httpx.AsyncClient, job_id: str) -> list[dict[str, str]]:
    response = await http.get(f"{READ}/{job_id}/result")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert int(response.headers["content-length"]) == len(response.content)
    return csv_rows(response.content, f"{job_id}.csv")


async def test_a_job_is_created_polled_and_downloaded(
    emulator: BiginEmulator, people: dict[str, str]
) -> None:
    async with emulator.http_client(token=emulator.issue_token()) as http:
        query = {"module": {"api_name": "Contacts"}, "fields": ["Last_Name", "Account_Name"], "page": 1}
        response = await http.post(READ, json={"query": query})
        assert response.status_code == 201, response.text
        body = response.json()
        [entry] = body["data"]
        assert (body["info"], entry["status"], entry["code"], entry["message"]) == (
            {},
            "success",
            "ADDED_SUCCESSFULLY",
            "Added successfully.",
        )
        details = entry["details"]
        job_id = details["id"]
        assert job_id.isdigit() and len(job_id) == 19
        assert (details["operation"], details["state"], details["created_time"]) == (
            "read",
            "ADDED",
            "2026-01-01T00:00:00+00:00",
        )
        assert details["created_by"]["id"] and details["created_by"]["name"]
        job = await job_status(http, job_id)
        assert (job["id"], job["operation"], job["state"]) == (job_id, "read", "COMPLETED")
        assert job["query"] == {
            "module": {"api_name": "Contacts", "id": MODULES["Contacts"].module_id},
            "fields": ["Last_Name", "Account_Name"],
            "page": 1,
        }
        assert job["result"] == {
            "page": 1,
            "count": 5,
            "download_url": f"{READ}/{job_id}/result",
            "per_page": 200_000,
            "more_records": False,
        }
        rows = await download(http, job["result"]["download_url"].rpartition("/result")[0].rpartition("/")[2])
    assert [row["Last_Name"] for row in rows] == ["Smith", "Smithers", "Jones", "Brown", "Ng"]
    assert rows[0] == {"id": people["Smith"], "Last_Name": "Smith", "Account_Name": people["acme"]}


async def test_a_criteria_job_over_http_returns_the_matches(
    emulator: BiginEmulator, people: dict[str, str]
) -> None:
    criteria = {
        "group_operator": "or",
        "group": [cond("Last_Name", "ends_with", "ers"), cond("Mailing_City", "in", ["Oslo", "Madrid"])],
    }
    async with emulator.http_client(token=emulator.issue_token()) as http:
        job_id = await create_job(http, {"module": "Contacts", "criteria": criteria, "fields": ["Last_Name"]})
        assert (await job_status(http, job_id))["query"]["criteria"] == criteria
        rows = await download(http, job_id)
    assert [row["Last_Name"] for row in rows] == ["Smithers", "Jones", "Brown"]


async def test_pages_chain_with_more_records_until_the_last(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, bulk_read_page_size=4)
    ids = contacts(emulator, 10)
    seen: list[str] = []
    results = []
    async with emulator.http_client(token=emulator.issue_token()) as http:
        page, more = 1, True
        while more:
            job_id = await create_job(http, {"module": "Contacts", "fields": ["Last_Name"], "page": page})
            result = (await job_status(http, job_id))["result"]
            results.append((result["page"], result["count"], result["per_page"], result["more_records"]))
            seen += [row["id"] for row in await download(http, job_id)]
            page, more = page + 1, result["more_records"]
    assert results == [(1, 4, 4, True), (2, 4, 4, True), (3, 2, 4, False)]
    assert seen == ids


async def test_an_org_of_450000_contacts_reads_in_three_pages_of_zohos_size(emulator: BiginEmulator) -> None:
    """The real page size (about 1.5 s a backend): 200,000 + 200,000 + 50,000, each page's ids in order."""
    ids = contacts(emulator, 450_000)
    pages = []
    async with emulator.http_client(token=emulator.issue_token()) as http:
        for page in (1, 2, 3):
            job_id = await create_job(http, {"module": "Contacts", "fields": ["Last_Name"], "page": page})
            result = (await job_status(http, job_id))["result"]
            response = await http.get(f"{READ}/{job_id}/result")
            assert response.status_code == 200
            with (
                zipfile.ZipFile(io.BytesIO(response.content)) as archive,
                archive.open(f"{job_id}.csv") as raw,
            ):
                lines = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                assert next(lines) == "id,Last_Name\r\n"
                first = last = ""
                rows = 0
                for line in lines:
                    rows += 1
                    last = line.partition(",")[0]
                    first = first or last
            pages.append((result["count"], result["more_records"], rows, first, last))
    assert pages == [
        (200_000, True, 200_000, ids[0], ids[199_999]),
        (200_000, True, 200_000, ids[200_000], ids[399_999]),
        (50_000, False, 50_000, ids[400_000], ids[-1]),
    ]


@pytest.mark.parametrize("size", [0, -1, True, 2.5])
def test_the_page_size_is_checked(size: Any) -> None:
    with pytest.raises(ValueError, match="bulk_read_page_size"):
        BiginEmulator(bulk_read_page_size=size)


async def test_a_job_moves_through_its_states_and_takes_its_page_when_it_ends(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, job_queue_delay=10.0, job_seconds_per_1000=1000.0)
    contacts(emulator, 2)  # two records: two seconds in progress
    async with emulator.http_client(token=emulator.issue_token()) as http:
        job_id = await create_job(http, {"module": "Contacts", "fields": ["Last_Name"]})
        states = []
        for step in (5.0, 5.0, 1.5, 0.5):
            job = await job_status(http, job_id)
            states.append(job["state"])
            assert "result" not in job
            early = await http.get(f"{READ}/{job_id}/result")
            assert early.status_code == 400 and early.json()["code"] == "INVALID_REQUEST"
            if step == 1.5:
                contacts(emulator, 1)  # written while the job runs, before it ends: in its page
            clock.advance(step)
        job = await job_status(http, job_id)
        assert (states, job["state"], job["result"]["count"]) == (
            ["ADDED", "ADDED", "IN PROGRESS", "IN PROGRESS"],
            "COMPLETED",
            3,
        )
        contacts(emulator, 1)  # written after it ended: not in it
        assert len(await download(http, job_id)) == 3


async def test_unknown_ids_and_write_jobs_are_not_found(emulator: BiginEmulator) -> None:
    write_job = emulator.jobs.create("write", "insert", records=1)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        for path in (
            "5545000000009999999",
            write_job.id,
            "5545000000009999999/result",
            f"{write_job.id}/result",
        ):
            response = await http.get(f"{READ}/{path}")
            assert response.status_code == 404 and response.json()["code"] == "RECORD_NOT_FOUND", path
        assert (await http.get(f"{READ}/abc")).status_code == 404
        assert (await http.delete(READ)).status_code == 405


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"query": {"module": "Notes"}}, 400, "NOT_SUPPORTED", "query.module"),
        ({"query": {"module": "Leads"}}, 400, "INVALID_MODULE", "query.module"),
        ({"query": {"module": "Contacts", "fields": ["Nope"]}}, 400, "INVALID_DATA", "query.fields"),
        ({"query": {"module": "Contacts", "page": 0}}, 400, "INVALID_DATA", "query.page"),
        (
            {"query": {"module": "Contacts", "criteria": cond("Last_Name", "near", "x")}},
            400,
            "INVALID_DATA",
            "criteria.comparator",
        ),
        ({}, 400, "REQUIRED_PARAM_MISSING", "query"),
        ([1], 400, "INVALID_DATA", "body"),
        (
            {"query": {"module": "Contacts"}, "callback": {"url": "ftp://x/y"}},
            400,
            "INVALID_DATA",
            "callback.url",
        ),
        ({"query": {"module": "Contacts"}, "callback": "http://x/y"}, 400, "INVALID_DATA", "callback.url"),
        (
            {"query": {"module": "Contacts"}, "callback": {"url": "http://x/y", "method": "get"}},
            400,
            "INVALID_DATA",
            "callback.method",
        ),
    ],
)
async def test_bad_requests_are_refused_and_make_no_job(
    emulator: BiginEmulator, body: Any, status: int, code: str, param: str
) -> None:
    async with emulator.http_client(token=emulator.issue_token()) as http:
        response = await http.post(READ, json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert (answer["status"], answer["code"], answer["details"]["param"]) == ("error", code, param)
    assert emulator.jobs.jobs == {}


async def test_no_token_no_job(emulator: BiginEmulator) -> None:
    async with emulator.http_client() as http:
        response = await http.post(READ, json={"query": {"module": "Contacts"}})
    assert response.status_code == 401 and emulator.jobs.jobs == {}


async def test_the_eleventh_download_in_a_minute_is_refused_until_the_minute_has_passed(
    emulator: BiginEmulator, clock: FakeClock
) -> None:
    contacts(emulator, 3)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        job_id = await create_job(http, {"module": "Contacts"})
        for number in range(10):
            assert len(await download(http, job_id)) == 3
            clock.advance(5.0 if number == 0 else 1.0)  # at 0 s, 5 s, 6 s ... 13 s; now 14 s
        refused = await http.get(f"{READ}/{job_id}/result")
        assert refused.status_code == 429
        assert refused.json() == {
            "code": "TOO_MANY_REQUESTS",
            "details": {"limit": 10},
            "message": "at most 10 Bulk Read results can be downloaded a minute",
            "status": "error",
        }
        assert refused.headers["retry-after"] == "46"  # the first download leaves the window at 60 s
        clock.advance(45.0)
        assert (await http.get(f"{READ}/{job_id}/result")).status_code == 429  # refusals do not count
        clock.advance(1.0)
        assert len(await download(http, job_id)) == 3
        assert (await http.get(f"{READ}/{job_id}/result")).status_code == 429  # the second left at 65 s
        clock.advance(5.0)
        assert len(await download(http, job_id)) == 3


async def test_a_429_under_bare_429s_says_no_retry_after(clock: FakeClock) -> None:
    emulator = BiginEmulator(clock=clock, bare_429s=True)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        job_id = await create_job(http, {"module": "Tasks"})
        for _ in range(10):
            assert await download(http, job_id) == []
        refused = await http.get(f"{READ}/{job_id}/result")
    assert refused.status_code == 429 and "retry-after" not in refused.headers


async def test_downloads_at_once_get_the_same_zip_built_once(emulator: BiginEmulator) -> None:
    contacts(emulator, 500)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        job_id = await create_job(http, {"module": "Contacts"})
        answers: list[bytes] = []

        async def fetch() -> None:
            response = await http.get(f"{READ}/{job_id}/result")
            assert response.status_code == 200
            answers.append(response.content)

        async with anyio.create_task_group() as tasks:
            for _ in range(4):
                tasks.start_soon(fetch)
    assert len(answers) == 4 and len(set(answers)) == 1
    assert len(csv_rows(answers[0])) == 500


async def test_a_callback_says_the_job_completed(emulator: BiginEmulator) -> None:
    receiver = Receiver()
    emulator.register_webhook_app("http://hooks.test/", receiver)
    contacts(emulator, 2)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        job_id = await create_job(
            http,
            {"module": "Contacts", "fields": ["Last_Name"]},
            callback={"url": "http://hooks.test/bulk?job=1", "method": "post"},
        )
        job = await job_status(http, job_id)
        assert job["callback"] == {"url": "http://hooks.test/bulk?job=1", "method": "post"}
    await emulator.notifier.drain()
    assert receiver.bodies == [
        {
            "job_id": job_id,
            "operation": "read",
            "state": "COMPLETED",
            "query": {
                "module": {"api_name": "Contacts", "id": MODULES["Contacts"].module_id},
                "fields": ["Last_Name"],
                "page": 1,
            },
        }
    ]


async def test_a_job_failing_says_so_in_its_status_its_result_and_its_callback(
    emulator: BiginEmulator,
) -> None:
    receiver = Receiver()
    emulator.register_webhook_app("http://hooks.test/", receiver)
    emulator.job_faults.fail_jobs = 1
    async with emulator.http_client(token=emulator.issue_token()) as http:
        job_id = await create_job(http, {"module": "Contacts"}, callback={"url": "http://hooks.test/x"})
        job = await job_status(http, job_id)
        assert job["state"] == "FAILED" and "result" not in job
        response = await http.get(f"{READ}/{job_id}/result")
        assert response.status_code == 400 and response.json()["details"]["state"] == "FAILED"
        healthy = await create_job(http, {"module": "Contacts"})
        assert (await job_status(http, healthy))["state"] == "COMPLETED"
    await emulator.notifier.drain()
    assert [(b["job_id"], b["state"]) for b in receiver.bodies] == [(job_id, "FAILED")]


async def test_a_read_job_costs_50_credits_and_its_polls_and_downloads_1_each(
    emulator: BiginEmulator,
) -> None:
    contacts(emulator, 3)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        job_id = await create_job(http, {"module": "Contacts"})
        await job_status(http, job_id)
        await download(http, job_id)
    assert emulator.counters.credits_by_route == {
        "POST /bigin/bulk/v2/read": 50,
        "GET /bigin/bulk/v2/read/{id}": 1,
        "GET /bigin/bulk/v2/read/{id}/result": 1,
    }
    assert emulator.counters.credits == 52


async def test_a_lost_create_answer_leaves_a_job_that_runs_and_a_second_post_makes_another(
    emulator: BiginEmulator,
) -> None:
    emulator.job_faults.drop_create_answers = 1
    contacts(emulator, 2)
    async with emulator.http_client(token=emulator.issue_token()) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(READ, json={"query": {"module": "Contacts"}})
        [lost] = emulator.jobs.jobs
        again = await create_job(http, {"module": "Contacts"})
        assert again != lost
        for job_id in (lost, again):
            assert (await job_status(http, job_id))["result"]["count"] == 2
