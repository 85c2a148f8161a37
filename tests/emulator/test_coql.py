"""``POST /bigin/v2/coql``: the supported SELECT subset, limits and errors."""

from __future__ import annotations

import httpx
import pytest

from bigin_emulator import BiginEmulator
from bigin_emulator.ops.coql import CoqlError, parse_coql
from tests.helpers.emulator_api import insert

COQL = "/bigin/v2/coql"


async def rows(api: httpx.AsyncClient, query: str) -> list[dict[str, object]]:
    response = await api.post(COQL, json={"select_query": query})
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


@pytest.fixture
async def deals(api: httpx.AsyncClient) -> list[str]:
    [acme] = await insert(api, "Accounts", {"Account_Name": "Acme", "Phone": "555"})
    return await insert(
        api,
        "Pipelines",
        {"Deal_Name": "Alpha deal", "Stage": "Proposal", "Amount": 100, "Account_Name": {"id": acme}},
        {"Deal_Name": "Beta", "Stage": "Negotiation", "Amount": 5000, "Closing_Date": "2026-05-01"},
        {"Deal_Name": "Gamma", "Stage": "Closed Won", "Amount": 250.5, "Closing_Date": "2026-02-01"},
    )


async def test_select_where_order_limit(api: httpx.AsyncClient, deals: list[str]) -> None:
    data = await rows(api, "select Deal_Name, Amount from Pipelines where Amount > 200 order by Amount desc")
    assert data == [
        {"Deal_Name": "Beta", "Amount": 5000, "id": deals[1]},
        {"Deal_Name": "Gamma", "Amount": 250.5, "id": deals[2]},
    ]
    response = await api.post(
        COQL,
        json={
            "select_query": "SELECT Deal_Name FROM Pipelines WHERE Amount >= 100"
            " ORDER BY Deal_Name ASC LIMIT 2"
        },
    )
    body = response.json()
    assert [r["Deal_Name"] for r in body["data"]] == ["Alpha deal", "Beta"]
    assert body["info"] == {"count": 2, "more_records": True}
    assert [
        r["Deal_Name"]
        for r in await rows(api, "select Deal_Name from Pipelines order by Deal_Name limit 1, 2")
    ] == ["Beta", "Gamma"]
    assert [
        r["Deal_Name"]
        for r in await rows(api, "select Deal_Name from Pipelines order by Deal_Name limit 2 offset 2")
    ] == ["Gamma"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Deal_Name like '%deal%'", ["Alpha deal"]),
        ("Deal_Name not like 'A%'", ["Beta", "Gamma"]),
        ("Stage in ('Proposal', 'Closed Won')", ["Alpha deal", "Gamma"]),
        ("Stage not in ('Proposal')", ["Beta", "Gamma"]),
        ("Closing_Date is null", ["Alpha deal"]),
        ("Closing_Date is not null", ["Beta", "Gamma"]),
        ("Amount between 200 and 1000", ["Gamma"]),
        ("(Amount < 200 or Amount > 1000) and Deal_Name != 'Beta'", ["Alpha deal"]),
        ("Closing_Date < '2026-03-01'", ["Gamma"]),
        ("Deal_Name = 'beta'", ["Beta"]),
        ("Account_Name.Account_Name = 'Acme'", ["Alpha deal"]),
    ],
)
async def test_where_operators(
    api: httpx.AsyncClient, deals: list[str], where: str, expected: list[str]
) -> None:
    data = await rows(api, f"select Deal_Name from Pipelines where {where} order by Deal_Name")
    assert [r["Deal_Name"] for r in data] == expected


async def test_dotted_fields_read_the_looked_up_record(api: httpx.AsyncClient, deals: list[str]) -> None:
    data = await rows(
        api,
        "select Deal_Name, Account_Name.Phone, Account_Name.id from Pipelines where Deal_Name = 'Alpha deal'",
    )
    assert data[0]["Account_Name.Phone"] == "555"
    assert isinstance(data[0]["Account_Name.id"], str)


async def test_no_match_is_204(api: httpx.AsyncClient, deals: list[str]) -> None:
    response = await api.post(
        COQL, json={"select_query": "select Deal_Name from Pipelines where Amount > 10000000"}
    )
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("selct Deal_Name from Pipelines", "SYNTAX_ERROR"),
        ("select from Pipelines", "SYNTAX_ERROR"),
        ("select Deal_Name from Pipelines where", "SYNTAX_ERROR"),
        ("select Deal_Name from Pipelines where Amount >", "SYNTAX_ERROR"),
        ("select Deal_Name from Pipelines limit 10 garbage", "SYNTAX_ERROR"),
        ("select Deal_Name from Pipelines where Deal_Name = 'open", "SYNTAX_ERROR"),
        ("select Deal_Name from Pipelines limit 201", "INVALID_QUERY"),
        ("select Deal_Name from Pipelines limit 200 offset 9801", "INVALID_QUERY"),
        ("select Deal_Name from Companies", "INVALID_QUERY"),
        ("select Nope from Pipelines", "INVALID_QUERY"),
        ("select Deal_Name from Pipelines where Nope = 1", "INVALID_QUERY"),
        ("select Deal_Name.id from Pipelines", "INVALID_QUERY"),
    ],
)
async def test_errors(api: httpx.AsyncClient, query: str, code: str) -> None:
    response = await api.post(COQL, json={"select_query": query})
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["status"] == "error"


async def test_missing_select_query(api: httpx.AsyncClient) -> None:
    response = await api.post(COQL, json={"query": "select"})
    assert response.status_code == 400 and response.json()["code"] == "REQUIRED_PARAM_MISSING"


def test_limits_at_the_edge_parse() -> None:
    query = parse_coql("select Last_Name from Contacts limit 200 offset 9800;")
    assert (query.limit, query.offset) == (200, 9800)
    with pytest.raises(CoqlError):
        parse_coql("select Last_Name from Contacts limit 0")


def test_quotes_in_strings() -> None:
    query = parse_coql(
        "select Last_Name from Contacts where Last_Name = 'O''Brien' or Last_Name = 'D\\'Arcy'"
    )
    assert "Last_Name" in query.fields_used()


async def test_field_alias_in_where(api: httpx.AsyncClient, emulator: BiginEmulator) -> None:
    [contact] = await insert(api, "Contacts", {"Last_Name": "C"})
    [task] = await insert(api, "Tasks", {"Subject": "t", "Related_To": {"module": "Contacts", "id": contact}})
    data = await rows(api, f"select Subject, Related_To from Tasks where Related_To.id = '{contact}'")
    assert data == [
        {"Subject": "t", "Related_To": {"name": "C", "id": contact, "module": "Contacts"}, "id": task}
    ]
