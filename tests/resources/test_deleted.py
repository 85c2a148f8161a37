"""``deleted()``: the deleted records of a module (recycle bin, permanently deleted, or both).

The shape is Zoho's (``GET /{module}/deleted?type=``, page numbers only); these tests read it from
a fake Bigin, Zoho's own sample included (``Created_By`` capitalised, ids as strings), and check
what goes on the wire: the type, page numbers (never a page token), and nothing at all for a type
Zoho does not know.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from bigin_async import DeletedRecord
from bigin_async.errors import APIError, ValidationError
from tests.helpers.resources import Scripted, scripted, scripted_client

ZOHO_SAMPLE = {
    "data": [
        {
            "deleted_by": {"name": "Bruce Wills", "id": "1386586000000078001"},
            "id": "1386586000002572002",
            "display_name": "Deb",
            "type": "recycle",
            "Created_By": {"name": "Bruce Wills", "id": "1386586000000078001"},
            "deleted_time": "2018-02-13T15:48:13+05:30",
        },
        {
            "deleted_by": None,
            "id": 1386586000002025064,
            "display_name": "Cold2",
            "type": "permanent",
            "created_by": {"name": "Ann", "id": "1386586000000078002"},
            "deleted_time": "2018-02-13T15:48:13+05:30",
            "$restorable": False,
        },
    ],
    "info": {"per_page": 200, "count": 2, "page": 1, "more_records": False},
}


async def test_zohos_sample_reads_into_typed_entries() -> None:
    async with scripted(httpx.Response(200, json=ZOHO_SAMPLE)) as (client, requests):
        entries = [entry async for entry in client.contacts.deleted()]
    first, second = entries
    assert all(type(entry) is DeletedRecord for entry in entries)
    assert (first.id, first.display_name, first.type, first.in_recycle_bin) == (
        "1386586000002572002",
        "Deb",
        "recycle",
        True,
    )
    assert first.deleted_by is not None and first.deleted_by.name == "Bruce Wills"
    assert first.created_by is not None and first.created_by.id == "1386586000000078001"
    assert first.deleted_time == datetime(
        2018, 2, 13, 15, 48, 13, tzinfo=timezone(timedelta(hours=5, minutes=30))
    )
    assert second.id == "1386586000002025064" and not second.in_recycle_bin
    assert second.deleted_by is None and second.created_by is not None and second.created_by.name == "Ann"
    assert second.get("$restorable") is False  # a key Zoho adds later is kept
    [request] = requests
    assert request.method == "GET" and request.url.path == "/bigin/v2/Contacts/deleted"
    assert dict(request.url.params) == {"type": "all", "page": "1", "per_page": "200"}


@pytest.mark.parametrize("lookup", [{}, {"id": None, "name": None}, {"name": "System"}, {"id": ""}])
async def test_a_user_lookup_without_an_id_reads_as_none_not_as_a_failed_page(lookup: Any) -> None:
    body = {"data": [{"id": "5545000000000000001", "deleted_by": lookup, "created_by": lookup}]}
    async with scripted(httpx.Response(200, json=body)) as (client, _):
        [entry] = [entry async for entry in client.companies.deleted("permanent")]
    assert entry.deleted_by is None and entry.created_by is None


@pytest.mark.parametrize("kind", ["all", "recycle", "permanent"])
async def test_the_type_goes_on_the_wire_for_every_module_alias_included(kind: Any) -> None:
    async with scripted(httpx.Response(204)) as (client, requests):
        assert [entry async for entry in client.deals.deleted(kind)] == []
        assert [entry async for entry in client.module("Companies").deleted(type=kind)] == []
    assert [r.url.path for r in requests] == ["/bigin/v2/Pipelines/deleted", "/bigin/v2/Accounts/deleted"]
    assert {r.url.params["type"] for r in requests} == {kind}


@pytest.mark.parametrize("kind", ["ALL", "recycled", "", None, 1])
def test_a_type_zoho_does_not_know_is_refused_before_anything_is_sent(kind: Any) -> None:
    script = Scripted(httpx.Response(204))
    client = scripted_client(script)
    with pytest.raises(ValidationError, match="all, recycle, permanent"):
        client.contacts.deleted(kind)
    with pytest.raises(ValidationError, match="per_page"):
        client.contacts.deleted(per_page=201)
    assert script.requests == []


def page_of(number: int, per_page: int, total: int) -> dict[str, Any]:
    first = (number - 1) * per_page
    ids = range(first, min(first + per_page, total))
    return {
        "data": [{"id": str(5545000000000100000 + i), "type": "recycle"} for i in ids],
        "info": {
            "per_page": per_page,
            "page": number,
            "count": len(ids),
            "more_records": first + per_page < total,
        },
    }


async def test_pages_go_by_number_past_2000_entries_without_a_page_token() -> None:
    total = 2_150

    def answer(request: httpx.Request) -> httpx.Response:
        assert "page_token" not in request.url.params
        params = request.url.params
        return httpx.Response(200, json=page_of(int(params["page"]), int(params["per_page"]), total))

    async with scripted(answer) as (client, requests):
        seen: list[int] = []
        entries = [entry async for entry in client.contacts.deleted("recycle", on_progress=seen.append)]
    assert len(entries) == total and len({entry.id for entry in entries}) == total
    assert [int(r.url.params["page"]) for r in requests] == list(range(1, 12))
    assert seen[-1] == total


async def test_max_records_stops_early_and_asks_a_smaller_page() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        return httpx.Response(200, json=page_of(int(params["page"]), int(params["per_page"]), 1_000))

    async with scripted(answer) as (client, requests):
        entries = [entry async for entry in client.contacts.deleted(max_records=30)]
        page = await client.contacts.deleted(per_page=5)
    assert len(entries) == 30 and requests[0].url.params["per_page"] == "30"
    assert len(page.data) == 5 and page.info is not None and page.info.more_records is True


async def test_a_page_that_is_not_zohos_shape_is_retried_then_malformed() -> None:
    async with scripted(httpx.Response(200, json={"data": [{"display_name": "no id"}]})) as (
        client,
        requests,
    ):
        with pytest.raises(APIError) as raised:
            [entry async for entry in client.contacts.deleted()]
    assert raised.value.code == "MALFORMED_RESPONSE" and len(requests) == 3
