"""Team pipelines and views: ``deals.list(pipeline_id=)``, ``contacts.deals()``, custom views
(``settings.custom_views``, ``list(cvid=)`` at 3 credits), and ``settings.related_lists``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bigin_async import BiginClient, CustomView, Deal, RelatedList
from bigin_async.errors import APIError, ValidationError
from bigin_emulator import BiginEmulator
from tests.helpers.resources import scripted, wired_client


async def two_pipelines_of_deals(client: BiginClient) -> tuple[str, str, list[str], list[str], str]:
    """A contact with 3 deals in the default pipeline and 2 in a second one; 1 deal of nobody."""
    [default] = await client.pipelines.list()
    created = await client.pipelines.create("Partners", ["Onboarding", "Live"])
    assert default.id is not None and created.id is not None
    contact = await client.contacts.create({"Last_Name": "Dealer"})
    assert contact.id is not None
    owner = {"id": contact.id}
    sales = [
        (
            await client.deals.create({"Deal_Name": f"S{n}", "Stage": "Qualification", "Contact_Name": owner})
        ).id
        for n in range(3)
    ]
    partners = [
        (
            await client.deals.create(
                {"Deal_Name": f"P{n}", "Stage": "Live", "Contact_Name": owner, "Layout": {"id": created.id}}
            )
        ).id
        for n in range(2)
    ]
    await client.deals.create({"Deal_Name": "Other", "Stage": "Live", "Layout": {"id": created.id}})
    return contact.id, created.id, [i for i in sales if i], [i for i in partners if i], default.id


async def test_a_contacts_deals_of_one_team_pipeline() -> None:
    async with wired_client(BiginEmulator()) as (client, wire):
        contact_id, partners_id, sales, partners, sales_id = await two_pipelines_of_deals(client)
        wire.clear()
        every = [deal async for deal in client.contacts.deals(contact_id)]
        of_partners = [deal async for deal in client.contacts.deals(contact_id, pipeline_id=partners_id)]
        of_sales = await client.contacts.deals(
            contact_id, pipeline_id=sales_id, fields=["Deal_Name"]
        ).to_list(limit=10)
    assert all(type(deal) is Deal for deal in every + of_partners)
    assert sorted(str(d.id) for d in every) == sorted(sales + partners)
    assert sorted(str(d.id) for d in of_partners) == sorted(partners)
    assert sorted(str(d.id) for d in of_sales) == sorted(sales)
    paths = {s.path for s in wire.sent}
    assert paths == {f"/Contacts/{contact_id}/Pipelines"}
    assert [s.params.get("pipeline_id") for s in wire.sent] == [None, partners_id, sales_id]
    assert wire.sent[2].params["fields"] == "Deal_Name"


@pytest.mark.parametrize("bad", ["Partners", "0", "12 3", 1.5])
async def test_a_pipeline_id_that_is_not_an_id_is_refused_before_anything_is_sent(bad: Any) -> None:
    async with wired_client(BiginEmulator()) as (client, wire):
        with pytest.raises(ValidationError, match="pipeline_id"):
            client.deals.list(pipeline_id=bad)
        with pytest.raises(ValidationError, match="pipeline_id"):
            client.contacts.deals("5545000000000000001", pipeline_id=bad)
        with pytest.raises(ValidationError, match="id must be"):
            client.contacts.deals("Dealer")
    assert wire.sent == []


async def test_deals_list_sends_pipeline_id_beside_the_other_list_parameters() -> None:
    async with scripted(httpx.Response(204)) as (client, requests):
        assert [
            d async for d in client.deals.list(pipeline_id="5545000000000000042", sort_by="Deal_Name")
        ] == []
        assert [d async for d in client.deals.list(fields=["Deal_Name"])] == []
    first, second = (dict(r.url.params) for r in requests)
    assert first["pipeline_id"] == "5545000000000000042" and first["sort_by"] == "Deal_Name"
    assert "pipeline_id" not in second and second["fields"] == "Deal_Name"


async def test_related_lists_of_a_module_name_what_related_and_link_take() -> None:
    async with wired_client(BiginEmulator()) as (client, wire):
        lists = await client.settings.related_lists("Contacts")
        of_companies = await client.settings.related_lists("Companies")
    assert all(type(entry) is RelatedList for entry in lists)
    by_name = {entry.api_name: entry for entry in lists}
    assert {"Products", "Pipelines", "Notes"} <= set(by_name)
    assert by_name["Products"].module_api_name == "Products" and by_name["Products"].sequence_number
    assert "Contacts" in {entry.api_name for entry in of_companies}
    assert [s.params["module"] for s in wire.sent] == ["Contacts", "Accounts"]


def views_page(number: int, ids: list[str], more: bool) -> httpx.Response:
    views = [
        {
            "id": view_id,
            "name": f"View {view_id}",
            "display_value": f"View {view_id}",
            "system_name": None,
            "system_defined": False,
            "default": view_id == ids[0] and number == 1,
            "category": "created_by_me",
            "favorite": None,
            "created_by": {"name": "Ann", "id": "5545000000000000007"},
            "modified_by": None,
            "modified_time": None,
            "criteria": {"comparator": "equal", "field": {"api_name": "Lead_Source"}, "value": "Web"},
            "fields": ["Last_Name", "Email"],
            "sort_by": None,
            "sort_order": None,
            "$translation": {"view_label": "x"},
        }
        for view_id in ids
    ]
    info = {"per_page": 2, "page": number, "count": len(ids), "more_records": more, "default": ids[0]}
    return httpx.Response(200, json={"custom_views": views, "info": info})


async def test_custom_views_are_read_page_after_page_into_typed_views() -> None:
    answers = [views_page(1, ["1001", "1002"], True), views_page(2, ["1003"], False)]
    async with scripted(*answers) as (client, requests):
        views = await client.settings.custom_views("Deals")
    assert all(type(view) is CustomView for view in views)
    assert [view.id for view in views] == ["1001", "1002", "1003"]
    first = views[0]
    assert (
        first.default is True and first.category == "created_by_me" and first.fields == ["Last_Name", "Email"]
    )
    assert first.created_by is not None and first.created_by.name == "Ann" and first.modified_by is None
    assert first.get("$translation") == {"view_label": "x"}
    assert [dict(r.url.params) for r in requests] == [
        {"module": "Pipelines", "page": "1"},
        {"module": "Pipelines", "page": "2"},
    ]


async def test_a_server_repeating_a_page_of_views_is_not_followed_forever() -> None:
    """Neither followed forever nor taken for the end: the list is not whole, and the error says why."""
    async with scripted(views_page(1, ["1001"], True)) as (client, requests):
        with pytest.raises(APIError, match="repeated a page") as raised:
            await client.settings.custom_views("Contacts")
    assert len(requests) == 2 and raised.value.details == {"module": "Contacts", "page": 2}


async def test_a_last_page_of_views_read_before_ends_the_list() -> None:
    async with scripted(views_page(1, ["1001"], True), views_page(2, ["1001"], False)) as (client, requests):
        views = await client.settings.custom_views("Contacts")
    assert [view.id for view in views] == ["1001"] and len(requests) == 2


async def test_a_module_without_views_has_none_and_a_bad_answer_is_malformed() -> None:
    async with scripted(httpx.Response(204)) as (client, _):
        assert await client.settings.custom_views("Contacts") == []
    async with scripted(httpx.Response(200, json={"custom_views": [{"name": "no id"}]})) as (client, _):
        with pytest.raises(APIError) as raised:
            await client.settings.custom_views("Contacts")
    assert raised.value.code == "MALFORMED_RESPONSE"
    async with scripted(httpx.Response(204)) as (client, requests):
        with pytest.raises(ValidationError):
            await client.settings.custom_views("Con/tacts")
        with pytest.raises(ValidationError):
            await client.settings.related_lists("")
    assert requests == []


# -- against the emulator's views and team pipelines ----------------------------------------------


async def test_deals_of_one_team_pipeline_through_the_list() -> None:
    async with wired_client(BiginEmulator()) as (client, wire):
        _, partners_id, sales, partners, sales_id = await two_pipelines_of_deals(client)
        wire.clear()
        of_partners = [
            deal async for deal in client.deals.list(pipeline_id=partners_id, fields=["Deal_Name"])
        ]
        of_sales = [deal async for deal in client.deals.list(pipeline_id=sales_id, per_page=2)]
        every = [deal async for deal in client.deals.list()]
    assert all(type(deal) is Deal for deal in of_partners + of_sales)
    assert len(of_partners) == 3 and set(partners) < {str(d.id) for d in of_partners}
    assert {d.Deal_Name for d in of_partners} == {"P0", "P1", "Other"}
    assert sorted(str(d.id) for d in of_sales) == sorted(sales)
    assert len(every) == 6
    assert {s.params.get("pipeline_id") for s in wire.sent} == {partners_id, sales_id, None}
    assert len(wire.to("GET", "/Pipelines")) == 1 + 2 + 1  # the sales pipeline over two pages of 2


async def test_custom_views_of_a_module_and_a_list_through_one_at_3_credits_a_page_on_both_sides() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        await client.contacts.bulk_create({"Last_Name": f"V{n}"} for n in range(5))
        views = await client.settings.custom_views("Contacts")
        assert all(type(view) is CustomView for view in views)
        by_name = {view.display_value: view for view in views}
        every = by_name["All Contacts"]
        assert every.default is True and every.id
        assert wire.sent[-1].params == {"module": "Contacts", "page": "1"}

        spent, counted = client.credits.spent_total, emulator.counters.credits
        route = emulator.counters.credits_by_route.get("GET /bigin/v2/Contacts", 0)
        one_page = [c async for c in client.contacts.list(cvid=every.id, fields=["Last_Name"])]
        assert len(one_page) == 5
        assert client.credits.spent_total - spent == 3 == emulator.counters.credits - counted
        assert emulator.counters.credits_by_route["GET /bigin/v2/Contacts"] - route == 3

        spent, counted = client.credits.spent_total, emulator.counters.credits
        three_pages = [c async for c in client.contacts.list(cvid=every.id, per_page=2)]
        assert len(three_pages) == 5 and len(wire.to("GET", "/Contacts")) == 1 + 3
        assert client.credits.spent_total - spent == 9 == emulator.counters.credits - counted

        spent = client.credits.spent_total
        assert len([c async for c in client.contacts.list()]) == 5
        assert client.credits.spent_total - spent == 1  # without a view: 1 credit a page
    assert all(s.params["cvid"] == every.id for s in wire.to("GET", "/Contacts")[:4])
