"""Search in each mode against the emulator, and criteria values that try to rewrite the query."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigin_async.criteria import Field
from bigin_async.errors import InvalidRequestError
from bigin_async.models import Company, Contact
from bigin_emulator import BiginEmulator
from tests.helpers.resources import wired_client

PEOPLE = [
    {
        "First_Name": "Ada",
        "Last_Name": "Lovelace",
        "Email": "ada@example.com",
        "Phone": "+44 20 7946 0001",
        "Title": "Analyst",
    },
    {
        "First_Name": "Alan",
        "Last_Name": "Turing",
        "Email": "alan@example.com",
        "Phone": "+44 20 7946 0002",
        "Title": "Analyst",
    },
    {
        "First_Name": "Grace",
        "Last_Name": "Hopper",
        "Email": "grace@example.org",
        "Phone": "+1 202 555 0143",
        "Title": "Admiral",
    },
]


def org() -> BiginEmulator:
    emulator = BiginEmulator()
    emulator.insert_records("Contacts", PEOPLE)
    return emulator


async def test_search_by_email_phone_word_and_criteria() -> None:
    emulator = org()
    async with wired_client(emulator) as (client, wire):
        by_email = await client.contacts.search(email="ADA@example.com").to_list(limit=10)
        by_phone = await client.contacts.search(phone="+1 202 555 0143").to_list(limit=10)
        by_word = await client.contacts.search(word="analyst").to_list(limit=10)
        by_criteria = await client.contacts.search(criteria=Field("Last_Name") == "Turing").to_list(limit=10)
        combined = await client.contacts.search(
            criteria=(Field("Title") == "Analyst") & (Field("First_Name").starts_with("Al"))
        ).to_list(limit=10)
        either = await client.contacts.search(
            criteria=(Field("Last_Name") == "Hopper") | (Field("Last_Name") == "Lovelace")
        ).to_list(limit=10)
        as_text = await client.contacts.search(criteria="(Email:equals:grace@example.org)").to_list(limit=10)
        many = await client.contacts.search(criteria=Field("Last_Name").is_in(["Turing", "Hopper"])).to_list(
            limit=10
        )
    assert [c.Last_Name for c in by_email] == ["Lovelace"]
    assert [c.Last_Name for c in by_phone] == ["Hopper"]
    assert sorted(c.Last_Name or "" for c in by_word) == ["Lovelace", "Turing"]
    assert [c.Last_Name for c in by_criteria] == ["Turing"]
    assert [c.Last_Name for c in combined] == ["Turing"]
    assert sorted(c.Last_Name or "" for c in either) == ["Hopper", "Lovelace"]
    assert [c.Last_Name for c in as_text] == ["Hopper"]
    assert sorted(c.Last_Name or "" for c in many) == ["Hopper", "Turing"]
    assert all(type(c) is Contact for c in by_email + by_phone + by_word + by_criteria)
    sent = [(s.path, {k: v for k, v in s.params.items() if k not in ("page", "per_page")}) for s in wire.sent]
    assert sent[:4] == [
        ("/Contacts/search", {"email": "ADA@example.com"}),
        ("/Contacts/search", {"phone": "+1 202 555 0143"}),
        ("/Contacts/search", {"word": "analyst"}),
        ("/Contacts/search", {"criteria": "(Last_Name:equals:Turing)"}),
    ]
    assert sent[4][1]["criteria"] == "((Title:equals:Analyst)and(First_Name:starts_with:Al))"
    assert sent[7][1]["criteria"] == "(Last_Name:in:Turing,Hopper)"


async def test_search_on_companies_uses_accounts_and_returns_companies() -> None:
    emulator = BiginEmulator()
    emulator.insert_records("Accounts", [{"Account_Name": "Blue Harbor Labs"}, {"Account_Name": "Cedar Ltd"}])
    async with wired_client(emulator) as (client, wire):
        found = await client.companies.search(criteria=Field("Account_Name").starts_with("Blue")).to_list(
            limit=5
        )
    assert [type(c) for c in found] == [Company] and found[0].Account_Name == "Blue Harbor Labs"
    assert wire.sent[0].path == "/Accounts/search"


HOSTILE = [
    "a),(Email:equals:x",
    "a)or(Last_Name:starts_with:",
    "x\\",
    "\\)",
    "O'Brien, Jr. (III)",
    "((",
    "a:equals:b",
    "50%,_*",
    "émile ünïcode 名字",
]


@pytest.mark.parametrize("value", HOSTILE)
async def test_hostile_criteria_values_match_only_themselves(value: str) -> None:
    emulator = org()
    emulator.insert_records("Contacts", [{"Last_Name": value, "Email": "target@example.com"}])
    async with wired_client(emulator) as (client, wire):
        found = await client.contacts.search(criteria=Field("Last_Name") == value).to_list(limit=10)
        also_email = await client.contacts.search(
            criteria=(Field("Last_Name") == value) & (Field("Email") == "target@example.com")
        ).to_list(limit=10)
    assert [c.Last_Name for c in found] == [value]  # not every Lovelace and Turing too
    assert [c.Last_Name for c in also_email] == [value]
    assert "\\" in wire.sent[0].params["criteria"] or not any(ch in value for ch in "(),\\")


async def test_an_injection_through_a_criteria_value_finds_nothing() -> None:
    emulator = org()
    async with wired_client(emulator) as (client, _):
        hostile = await client.contacts.search(
            criteria=Field("Last_Name") == "a),(Email:equals:ada@example.com"
        ).to_list(limit=10)
        naive = "(Last_Name:equals:a),(Email:equals:ada@example.com)"  # what an f-string would send
        with pytest.raises(InvalidRequestError) as refused:
            await client.contacts.search(criteria=naive).to_list(limit=10)
    assert hostile == []
    assert refused.value.code == "INVALID_QUERY"


async def test_criteria_may_be_combined_with_max_records_and_page_size() -> None:
    emulator = BiginEmulator()
    emulator.insert_records(
        "Contacts", ({"Last_Name": "Many", "Email": f"m{i}@example.com"} for i in range(45))
    )
    async with wired_client(emulator) as (client, wire):
        found = await client.contacts.search(
            criteria=Field("Last_Name") == "Many", per_page=20, max_records=30
        ).to_list(limit=100)
    assert len(found) == 30 == len({c.id for c in found})
    assert [s.params["page"] for s in wire.sent] == ["1", "2"]


_VALUE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"), include_characters="(),\\:"),
    min_size=1,
    max_size=24,
).filter(lambda s: s.strip() == s and not "decoy".startswith(s.casefold()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_VALUE_TEXT)
def test_any_value_is_found_exactly_through_the_emulator(value: str) -> None:
    """Property: whatever the text, the rendered criteria finds the record named so, and only it."""

    async def scenario() -> tuple[list[Any], list[Any]]:
        emulator = BiginEmulator()
        emulator.insert_records(
            "Contacts", [{"Last_Name": value}, {"Last_Name": value + "x"}, {"Last_Name": "Decoy"}]
        )
        async with emulator.client() as client:
            equal = await client.contacts.search(criteria=Field("Last_Name") == value).to_list(limit=10)
            prefix = await client.contacts.search(criteria=Field("Last_Name").starts_with(value)).to_list(
                limit=10
            )
        return [c.Last_Name for c in equal], sorted(c.Last_Name or "" for c in prefix)

    equal, prefix = anyio.run(scenario)
    assert [name.casefold() for name in equal] == [value.casefold()]
    assert prefix == sorted([value, value + "x"])
