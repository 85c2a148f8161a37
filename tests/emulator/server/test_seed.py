"""SeedGenerator: deterministic, unique where Bigin requires it, and streaming."""

from __future__ import annotations

import datetime as dt
import itertools
import tracemalloc
import types

import pytest

from bigin_emulator.seed import SeedGenerator


def test_same_seed_same_records_other_seed_other_records() -> None:
    assert list(SeedGenerator(3).contacts(50)) == list(SeedGenerator(3).contacts(50))
    assert list(SeedGenerator(3).companies(50)) == list(SeedGenerator(3).companies(50))
    assert list(SeedGenerator(3).contacts(50)) != list(SeedGenerator(4).contacts(50))
    assert list(SeedGenerator(3).companies(50)) != list(SeedGenerator(4).companies(50))


def test_a_record_does_not_depend_on_how_many_are_asked_for() -> None:
    assert list(SeedGenerator(1).contacts(10)) == list(SeedGenerator(1).contacts(1000))[:10]


def test_emails_and_company_names_are_unique() -> None:
    emails = [c["Email"] for c in SeedGenerator(9).contacts(20_000)]
    names = [a["Account_Name"] for a in SeedGenerator(9).companies(20_000)]  # past all word combinations
    assert len(set(emails)) == len(emails)
    assert len(set(names)) == len(names)


def test_contacts_have_the_fields_bigin_needs_and_link_to_accounts() -> None:
    accounts = [{"id": "7618134000000632027", "Account_Name": "Zylker Corp"}, {"Account_Name": "New Co"}]
    contacts = list(SeedGenerator(2).contacts(40, with_accounts=accounts))
    required = {
        "First_Name",
        "Last_Name",
        "Email",
        "Phone",
        "Mobile",
        "Title",
        "Mailing_City",
        "Mailing_Country",
    }
    assert all(required <= contact.keys() for contact in contacts)
    links = {str(contact["Account_Name"]) for contact in contacts}
    assert links == {str({"id": "7618134000000632027"}), "New Co"}


def test_deals_use_the_given_stages_and_pipeline() -> None:
    deals = list(
        SeedGenerator(5).deals(
            100, stages=["Qualification", "Closed Won"], pipeline_id="42", sub_pipeline="Sales"
        )
    )
    assert {deal["Stage"] for deal in deals} == {"Qualification", "Closed Won"}
    assert all(deal["Layout"] == {"id": "42"} and deal["Pipeline"] == {"id": "42"} for deal in deals)
    assert all(deal["Sub_Pipeline"] == "Sales" for deal in deals)
    assert all(dt.date.fromisoformat(deal["Closing_Date"]) for deal in deals)
    assert all(isinstance(deal["Amount"], float) and deal["Amount"] > 0 for deal in deals)
    assert len({deal["Deal_Name"] for deal in deals}) == 100
    with pytest.raises(ValueError):
        next(SeedGenerator().deals(1, stages=[]))


def test_a_million_records_stream_in_constant_memory() -> None:
    stream = SeedGenerator().contacts(1_000_000)
    assert isinstance(stream, types.GeneratorType)
    tracemalloc.start()
    try:
        for _ in itertools.islice(stream, 5_000):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024  # a handful of live records, not thousands
