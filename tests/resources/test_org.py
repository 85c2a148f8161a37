"""Users, the org, settings metadata and COQL through the client, against the emulator."""

from __future__ import annotations

import pytest

from bigin_async.errors import InvalidRequestError, PaginationLimitError
from bigin_async.models import Contact, FieldInfo, Layout, ModuleInfo, Org, Record, User
from bigin_emulator import BiginEmulator
from tests.helpers.resources import wired_client


async def test_users_by_type() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        everyone = await client.users.list().to_list(limit=100)
        active = await client.users.list(type="ActiveUsers").to_list(limit=100)
        admins = [u async for u in client.users.list(type="AdminUsers")]
        first = await client.users.list(per_page=1)
    assert all(type(u) is User for u in everyone)
    assert {u.id for u in active} < {u.id for u in everyone}
    assert all(u.status == "active" for u in active)
    assert [u.email for u in admins] == ["admin@example.com"]
    assert len(first.data) == 1 and first.info is not None and first.info.more_records is True
    assert [s.params["type"] for s in wire.sent] == ["AllUsers", "ActiveUsers", "AdminUsers", "AllUsers"]
    assert {s.path for s in wire.sent} == {"/users"}


async def test_org_details() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        org = await client.org.get()
    assert type(org) is Org and org.id and org.company_name == "Bigin Emulator"
    assert org.license_details is not None
    assert wire.routes() == ["GET /org"]


async def test_settings_modules_fields_and_layouts() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        modules = await client.settings.modules()
        fields = await client.settings.fields("Contacts")
        again = await client.settings.fields("Contacts")
        refreshed = await client.settings.fields("Contacts", refresh=True)
        company_fields = await client.settings.fields("Companies")
        layouts = await client.settings.layouts("Deals")
    assert all(type(m) is ModuleInfo for m in modules)
    by_name = {m.api_name: m for m in modules}
    assert {"Contacts", "Accounts", "Pipelines", "Tasks", "Events", "Notes", "Products"} <= set(by_name)
    assert by_name["Accounts"].plural_label == "Companies"
    assert all(type(f) is FieldInfo for f in fields) and again is fields and refreshed is not fields
    names = {f.api_name for f in fields}
    assert {"Last_Name", "Email", "Account_Name"} <= names
    assert "Account_Name" in {f.api_name for f in company_fields}
    assert all(type(layout) is Layout for layout in layouts) and layouts[0].name == "Sales Pipeline"
    assert "Stage" in {f.api_name for f in layouts[0].all_fields()}
    assert wire.routes() == [
        "GET /settings/modules",
        "GET /settings/fields",
        "GET /settings/fields",
        "GET /settings/fields",
        "GET /settings/layouts",
    ]
    assert [s.params.get("module") for s in wire.sent] == [
        None,
        "Contacts",
        "Contacts",
        "Accounts",
        "Pipelines",
    ]


async def test_coql_walks_200_rows_a_call_with_typed_rows() -> None:
    emulator = BiginEmulator()
    emulator.insert_records(
        "Contacts", ({"Last_Name": f"N{i:03}", "Email": f"n{i}@example.com"} for i in range(450))
    )
    async with wired_client(emulator) as (client, wire):
        rows = [
            r
            async for r in client.coql(
                "select Last_Name, Email from Contacts where Last_Name is not null order by Last_Name"
            )
        ]
        window = await client.coql(
            "select Last_Name from Contacts where Last_Name like 'N1%' limit 5, 30"
        ).to_list(limit=1_000)
        capped = await client.coql(
            "select Last_Name from Contacts where Last_Name is not null", max_records=250
        ).to_list(limit=1_000)
        first = await client.coql("SELECT Last_Name FROM Contacts WHERE Last_Name IS NOT NULL;")
    assert len(rows) == 450 and all(type(r) is Contact for r in rows)
    assert [r.get("Last_Name") for r in rows] == sorted(r.get("Last_Name") or "" for r in rows)
    assert rows[0].get("Email") == "n0@example.com" and rows[0].id is not None
    assert len(window) == 30 and len(capped) == 250 and len(first.data) == 200
    queries = [s.body["select_query"] for s in wire.sent]
    assert queries[:3] == [
        "select Last_Name, Email from Contacts where Last_Name is not null"
        f" order by Last_Name limit {offset}, 200"
        for offset in (0, 200, 400)
    ]
    assert queries[3] == "select Last_Name from Contacts where Last_Name like 'N1%' limit 5, 30"
    assert queries[4:6] == [
        "select Last_Name from Contacts where Last_Name is not null limit 0, 200",
        "select Last_Name from Contacts where Last_Name is not null limit 200, 200",
    ]
    assert {s.route for s in wire.sent} == {"POST /coql"}


async def test_coql_stops_at_10000_rows_and_says_what_to_do() -> None:
    emulator = BiginEmulator()
    emulator.insert_records("Contacts", ({"Last_Name": f"N{i}"} for i in range(10_050)))
    async with wired_client(emulator) as (client, wire):
        seen = 0
        with pytest.raises(PaginationLimitError) as error:
            async for _ in client.coql("select Last_Name from Contacts where Last_Name is not null"):
                seen += 1
        assert seen == 10_000 and len(wire.sent) == 50
        assert "COQL reaches at most 10000" in str(error.value) and "search" not in str(error.value)
        exactly = await client.coql(
            "select Last_Name from Contacts where id is not null", max_records=10_000
        ).to_list(limit=20_000)
    assert len(exactly) == 10_000


async def test_coql_on_another_module_and_bad_queries() -> None:
    emulator = BiginEmulator()
    emulator.seed_data(companies=3)
    async with wired_client(emulator) as (client, _):
        companies = await client.coql(
            "select Account_Name from Accounts where Account_Name is not null"
        ).to_list(limit=10)
        with pytest.raises(InvalidRequestError) as unknown_module:
            await client.coql("select Name from Unknown_Module where id is not null")
        with pytest.raises(InvalidRequestError) as bad:
            await client.coql("select Nope from Contacts where id is not null").to_list(limit=1)
    assert len(companies) == 3 and {type(c).__name__ for c in companies} == {"Company"}
    assert unknown_module.value.code == bad.value.code == "INVALID_QUERY"


def test_coql_rows_of_modules_without_a_class_are_plain_records() -> None:
    from bigin_async.resources.coql import coql_paginator

    paginator = coql_paginator(None, "select Name from Custom_Things where id is not null")  # type: ignore[arg-type]
    assert paginator._model is Record
