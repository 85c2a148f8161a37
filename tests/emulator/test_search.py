"""``GET /{Module}/search``: the four modes, escaping, malformed criteria, 204s and the 2,000 wall."""

from __future__ import annotations

import httpx
import pytest

from bigin_emulator import BiginEmulator
from tests.helpers.emulator_api import insert
from tests.helpers.fixtures import load_fixture

SEARCH = "/bigin/v2/Contacts/search"


def escape(value: str) -> str:
    return "".join("\\" + c if c in "(),\\" else c for c in value)


async def names(api: httpx.AsyncClient, **params: str) -> list[str]:
    response = await api.get(SEARCH, params=params)
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    return [r["Last_Name"] for r in response.json()["data"]]


@pytest.fixture
async def people(api: httpx.AsyncClient) -> list[str]:
    [acme] = await insert(api, "Accounts", {"Account_Name": "Acme"})
    return await insert(
        api,
        "Contacts",
        {
            "Last_Name": "Smith",
            "Email": "smith@example.com",
            "Phone": "+1 (555) 010-0001",
            "Account_Name": {"id": acme},
        },
        {"Last_Name": "Smithers", "Email": "s2@example.com", "Mobile": "555-010-0002", "Tag": ["VIP"]},
        {"Last_Name": "Jones", "Email": "jones@example.com", "Description": "likes SMITHING"},
    )


async def test_modes(api: httpx.AsyncClient, people: list[str]) -> None:
    assert await names(api, criteria="(Last_Name:equals:smith)") == ["Smith"]
    assert await names(api, criteria="(Last_Name:starts_with:smi)") == ["Smithers", "Smith"]
    assert await names(api, email="SMITH@example.com") == ["Smith"]
    assert await names(api, phone="15550100001") == ["Smith"]
    assert await names(api, phone="555-010-0002") == ["Smithers"]
    assert await names(api, word="smith") == ["Jones", "Smithers", "Smith"]
    assert await names(api, criteria="(Tag:equals:vip)") == ["Smithers"]
    assert await names(api, criteria="(Account_Name:equals:Acme)") == ["Smith"]
    smith = (await api.get(SEARCH, params={"email": "smith@example.com"})).json()["data"][0]
    assert await names(api, criteria=f"(Account_Name.id:equals:{smith['Account_Name']['id']})") == ["Smith"]


async def test_boolean_groups_and_operators(api: httpx.AsyncClient, people: list[str]) -> None:
    assert await names(api, criteria="((Last_Name:starts_with:Smi)and(Email:not_equal:s2@example.com))") == [
        "Smith"
    ]
    assert await names(api, criteria="((Last_Name:equals:Jones)or(Last_Name:equals:Smith))") == [
        "Jones",
        "Smith",
    ]
    assert await names(api, criteria="(Last_Name:in:Jones,Smithers)") == ["Jones", "Smithers"]
    assert await names(
        api, criteria="(((Last_Name:equals:Jones)or(Last_Name:equals:Smith))and(Email:starts_with:j))"
    ) == ["Jones"]
    assert await names(api, criteria=f"(id:between:{people[0]},{people[1]})") == ["Smithers", "Smith"]


async def test_search_info_and_204(api: httpx.AsyncClient, people: list[str]) -> None:
    response = await api.get(SEARCH, params={"criteria": "(Last_Name:equals:Smith)"})
    recorded = load_fixture("search_accounts.json")
    assert list(response.json()["info"]) == list(recorded["info"])
    assert "next_page_token" not in response.json()["info"]
    record = response.json()["data"][0]
    assert set(load_fixture("search_contacts_by_email.json")["data"][0]) <= set(record)
    nothing = await api.get(SEARCH, params={"criteria": "(Last_Name:equals:Nobody)"})
    assert nothing.status_code == 204 and nothing.content == b""
    with_fields = await api.get(SEARCH, params={"criteria": "(Last_Name:equals:Smith)", "fields": "Email"})
    assert with_fields.json()["data"] == [{"Email": "smith@example.com", "id": people[0]}]


@pytest.mark.parametrize(
    "value",
    [
        "a),(Email:equals:x",
        "back\\slash",
        "a,b",
        "trailing\\",
        "x\\(y",
        "((",
        "))",
        ",",
        "\\\\",
        "O'Brien & Sons",
    ],
)
async def test_hostile_values_match_exactly_when_escaped(api: httpx.AsyncClient, value: str) -> None:
    [target] = await insert(api, "Contacts", {"Last_Name": value, "Email": "x@example.com"})
    await insert(api, "Contacts", {"Last_Name": "x", "Email": "y@example.com"})
    response = await api.get(SEARCH, params={"criteria": f"(Last_Name:equals:{escape(value)})"})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["data"]] == [target]


@pytest.mark.parametrize(
    ("criteria", "fragment"),
    [
        ("(Last_Name:equals:a),(Email:equals:x)", "unexpected ','"),
        ("(Last_Name:equals:a(b)", "unescaped '('"),
        ("(Last_Name:equals:abc", "missing ')'"),
        ("(Last_Name:resembles:abc)", "unknown operator"),
        ("(Last_Name equals abc)", "missing ':'"),
        ("((A:equals:1)and(B:equals:2)or(C:equals:3))", "mixed"),
        ("(Last_Name:between:1)", "exactly 2"),
        ("(Last_Name:equals:)", "empty value"),
        ("Last_Name:equals:x", "expected '('"),
        ("(Bad-Field:equals:x)", "invalid field name"),
    ],
)
async def test_malformed_criteria(api: httpx.AsyncClient, criteria: str, fragment: str) -> None:
    response = await api.get(SEARCH, params={"criteria": criteria})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_QUERY"
    assert fragment in response.json()["message"]


async def test_unknown_search_field(api: httpx.AsyncClient) -> None:
    response = await api.get(SEARCH, params={"criteria": "(Nope:equals:x)"})
    assert response.status_code == 400 and response.json()["details"] == {"api_name": "Nope"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "REQUIRED_PARAM_MISSING"),
        ({"email": "a@b.c", "word": "abc"}, "INVALID_REQUEST"),
        ({"word": "a"}, "INVALID_DATA"),
    ],
)
async def test_exactly_one_mode(api: httpx.AsyncClient, params: dict[str, str], code: str) -> None:
    response = await api.get(SEARCH, params=params)
    assert response.status_code == 400 and response.json()["code"] == code


async def test_field_aliases_in_criteria(api: httpx.AsyncClient) -> None:
    [contact] = await insert(api, "Contacts", {"Last_Name": "C"})
    [task] = await insert(
        api, "Tasks", {"Subject": "call", "Related_To": {"module": "Contacts", "id": contact}}
    )
    [note] = await insert(
        api, "Notes", {"Note_Content": "n", "Parent_Id": {"module": "Contacts", "id": contact}}
    )
    tasks = await api.get("/bigin/v2/Tasks/search", params={"criteria": f"(Related_To.id:equals:{contact})"})
    assert [r["id"] for r in tasks.json()["data"]] == [task]
    notes = await api.get("/bigin/v2/Notes/search", params={"criteria": f"(Parent_Id.id:equals:{contact})"})
    assert [r["id"] for r in notes.json()["data"]] == [note]


async def test_search_stops_at_2000_records(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    for start in range(0, 2100, 500):
        emulator.insert_records(
            "Contacts", [{"Last_Name": f"Same{i}"} for i in range(start, min(2100, start + 500))]
        )
    page10 = (await api.get(SEARCH, params={"criteria": "(Last_Name:starts_with:Same)", "page": "10"})).json()
    assert page10["info"]["more_records"] is True and page10["info"]["count"] == 200
    assert "next_page_token" not in page10["info"]
    page11 = await api.get(SEARCH, params={"criteria": "(Last_Name:starts_with:Same)", "page": "11"})
    assert page11.status_code == 400 and page11.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    sorted_page = (
        await api.get(
            SEARCH, params={"word": "Same", "sort_by": "Last_Name", "sort_order": "asc", "per_page": "3"}
        )
    ).json()
    assert [r["Last_Name"] for r in sorted_page["data"]] == ["Same0", "Same1", "Same10"]
