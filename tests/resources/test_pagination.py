"""``AsyncPaginator`` end to end: every record once, page tokens past 2,000, early stops, one page held."""

from __future__ import annotations

import gc
import json
import warnings
import weakref
from typing import Any

import httpx
import pytest

from bigin_async.client import BiginClient
from bigin_async.errors import PaginationLimitError
from bigin_async.models import Contact, Page
from bigin_async.resources.contacts import ContactsClient
from bigin_emulator import BiginEmulator
from tests.helpers.orgs import fresh, seeded_state
from tests.helpers.resources import Wire, wired_client

RECORDS = 2_500


@pytest.fixture(scope="module")
def big_org() -> dict[str, Any]:
    """One company with 2,500 contacts, built once and imported into a fresh emulator per test."""
    return seeded_state(companies=1, contacts=RECORDS)


def assert_page_or_token(wire: Wire) -> None:
    for sent in wire.sent:
        assert not ("page" in sent.params and "page_token" in sent.params), sent


async def test_a_2500_record_list_is_walked_completely_switching_to_page_tokens(
    big_org: dict[str, Any],
) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        ids = [contact.id async for contact in client.contacts.list()]
    assert len(ids) == RECORDS
    assert set(ids) == set(emulator.store.table("Contacts").records)
    assert ids == sorted(ids, key=str, reverse=True)  # Bigin's default order, id desc: none twice or skipped
    lists = wire.to("GET", "/Contacts")
    assert len(lists) == 13 == len(wire.sent)  # ceil(2500 / 200)
    assert [s.params.get("page") for s in lists[:10]] == [str(n) for n in range(1, 11)]
    assert all("page_token" in s.params and "page" not in s.params for s in lists[10:])
    assert all(s.params["per_page"] == "200" for s in lists)
    assert all(s.params["fields"] == ",".join(ContactsClient.default_fields) for s in lists)
    assert_page_or_token(wire)


async def test_a_sorted_walk_also_reaches_every_record_past_the_wall(big_org: dict[str, Any]) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        contacts = [
            c
            async for c in client.contacts.list(
                fields=["Last_Name"], sort_by="Last_Name", sort_order="asc", per_page=150
            )
        ]
    assert {c.id for c in contacts} == set(emulator.store.table("Contacts").records)
    assert len(contacts) == RECORDS
    names = [c.Last_Name or "" for c in contacts]
    assert names == sorted(names, key=str.casefold)
    assert wire.sent[0].params["sort_by"] == "Last_Name" and wire.sent[0].params["sort_order"] == "asc"
    # page numbers while the next page lies within the first 2,000 (13 x 150 = 1,950), then tokens
    assert sum("page" in s.params for s in wire.sent) == 13
    assert_page_or_token(wire)


@pytest.mark.parametrize(
    ("max_records", "per_page", "requests"),
    [(250, 200, 2), (200, 200, 1), (1, 200, 1), (2_001, 200, 11), (2_300, 200, 12), (30, 20, 2)],
)
async def test_max_records_stops_without_fetching_extra_pages(
    big_org: dict[str, Any], max_records: int, per_page: int, requests: int
) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        ids = [c.id async for c in client.contacts.list(per_page=per_page, max_records=max_records)]
    assert len(ids) == len(set(ids)) == max_records
    assert len(wire.sent) == requests == emulator.counters.requests_by_route["GET /bigin/v2/Contacts"]
    assert_page_or_token(wire)


async def test_a_small_max_records_asks_for_a_smaller_page(big_org: dict[str, Any]) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        ids = await client.contacts.list(max_records=7).to_list(limit=100)
    assert len(ids) == 7 and wire.sent[0].params["per_page"] == "7"


async def test_pages_carry_their_info_and_await_gives_the_first_page(big_org: dict[str, Any]) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        first = await client.contacts.list(per_page=100)
        assert isinstance(first, Page) and len(first.data) == 100
        assert first.info is not None and first.info.page == 1 and first.info.more_records is True
        assert first.info.next_page_token and first.info.sort_by == "id"
        assert len(wire.sent) == 1  # awaiting fetched one page only

        wire.clear()
        pages = [page async for page in client.contacts.list(per_page=200, max_records=700).pages()]
    assert [len(p.data) for p in pages] == [200, 200, 200, 100]
    assert [p.info.page for p in pages if p.info] == [1, 2, 3, 4]
    assert all(type(r) is Contact for p in pages for r in p.data)
    assert len(wire.sent) == 4


async def test_the_last_page_says_no_more_records(big_org: dict[str, Any]) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, _):
        pages = [page async for page in client.contacts.list().pages()]
    assert len(pages) == 13
    assert pages[-1].info is not None and pages[-1].info.more_records is False
    assert sum(len(p.data) for p in pages) == RECORDS


async def test_to_list_needs_a_limit_and_stops_at_it(big_org: dict[str, Any]) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        paginator = client.contacts.list()
        with pytest.raises(TypeError):
            await paginator.to_list()  # type: ignore[call-arg]
        records = await paginator.to_list(limit=250)
        assert len(records) == 250 and len(wire.sent) == 2
        all_of_them = await client.contacts.list().to_list(limit=10_000)
    assert len(all_of_them) == RECORDS


async def test_breaking_out_of_a_walk_fetches_nothing_more_and_leaves_nothing_to_finalize(
    big_org: dict[str, Any],
) -> None:
    """An abandoned async generator would be finalized by the GC: trio warns about that."""
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seen = 0
            async for _ in client.contacts.list():
                seen += 1
                if seen == 201:
                    break
            async for page in client.contacts.list().pages():
                assert page.data
                break
            gc.collect()
    assert len(wire.sent) == 3
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_progress_is_reported_per_page(big_org: dict[str, Any]) -> None:
    emulator = fresh(big_org)
    counts: list[int] = []
    async with wired_client(emulator) as (client, _):
        await client.contacts.list(max_records=450, on_progress=counts.append).to_list(limit=1_000)
    assert counts == [200, 400, 450]


async def test_only_the_current_page_is_held_while_walking(big_org: dict[str, Any]) -> None:
    emulator = fresh(big_org)
    first_page: list[weakref.ref[Contact]] = []
    async with wired_client(emulator) as (client, _):
        index = 0
        async for contact in client.contacts.list():
            if index < 200:
                first_page.append(weakref.ref(contact))
            elif index == 450:  # on the third page
                del contact
                gc.collect()
                assert sum(ref() is not None for ref in first_page) == 0
            index += 1
    assert len(first_page) == 200


async def test_a_related_list_past_2000_uses_page_tokens(big_org: dict[str, Any]) -> None:
    emulator = fresh(big_org)
    account_id = next(iter(emulator.store.table("Accounts").records))
    async with wired_client(emulator) as (client, wire):
        contacts = [c async for c in client.companies.related(account_id, "Contacts", fields=["Last_Name"])]
    assert len(contacts) == RECORDS and all(type(c) is Contact for c in contacts)
    assert {c.id for c in contacts} == set(emulator.store.table("Contacts").records)
    assert {s.path for s in wire.sent} == {f"/Accounts/{account_id}/Contacts"}
    assert sum("page_token" in s.params for s in wire.sent) == 3
    assert_page_or_token(wire)


async def test_a_search_past_2000_raises_instead_of_losing_records() -> None:
    emulator = BiginEmulator()
    emulator.insert_records(
        "Contacts", ({"Last_Name": "Same", "Email": f"s{i}@example.com"} for i in range(2_050))
    )
    async with wired_client(emulator) as (client, wire):
        seen: list[str] = []
        with pytest.raises(PaginationLimitError) as error:
            async for contact in client.contacts.search(word="Same"):
                seen.append(contact.id)  # type: ignore[arg-type]
        within = await client.contacts.search(word="Same", max_records=2_000).to_list(limit=5_000)
    assert len(seen) == len(set(seen)) == 2_000  # everything reachable was delivered first
    assert "after 2000" in str(error.value) and "COQL" in str(error.value)
    assert len(within) == 2_000
    assert not any("page_token" in s.params for s in wire.sent)  # search has no tokens to send


async def test_a_search_with_an_odd_page_size_reads_up_to_the_wall() -> None:
    emulator = BiginEmulator()
    emulator.insert_records(
        "Contacts", ({"Last_Name": "Same", "Email": f"s{i}@example.com"} for i in range(2_050))
    )
    async with wired_client(emulator) as (client, wire):
        seen = 0
        with pytest.raises(PaginationLimitError):
            async for _ in client.contacts.search(word="Same", per_page=150):
                seen += 1
    assert seen == 2_000  # 13 pages of 150, then the 50 left before the wall
    assert [s.params["page"] for s in wire.sent] == [str(n) for n in range(1, 15)]


def token_less_server(total: int) -> httpx.MockTransport:
    """A list endpoint that never sends page tokens (as a misbehaving proxy might)."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert "page_token" not in request.url.params
        per_page = int(request.url.params["per_page"])
        page = int(request.url.params["page"])
        start = (page - 1) * per_page
        ids = range(start, min(start + per_page, total))
        body = {
            "data": [{"id": str(10_000 + i), "Last_Name": f"N{i}"} for i in ids],
            "info": {
                "per_page": per_page,
                "page": page,
                "count": len(ids),
                "more_records": start + per_page < total,
            },
        }
        return httpx.Response(200, content=json.dumps(body).encode())

    return httpx.MockTransport(handler)


async def test_a_list_without_page_tokens_raises_at_the_wall() -> None:
    async with BiginClient(
        access_token="t", api_domain="http://127.0.0.1", transport=token_less_server(2_300)
    ) as client:
        seen = 0
        with pytest.raises(PaginationLimitError) as error:
            async for _ in client.contacts.list():
                seen += 1
        short = await client.contacts.list().to_list(limit=100)
    assert seen == 2_000 and "no page token" in str(error.value)
    assert len(short) == 100


async def test_fields_all_reads_field_metadata_once_per_client() -> None:
    emulator = BiginEmulator(seed_records=5)
    async with wired_client(emulator) as (client, wire):
        first = await client.contacts.list(fields="all").to_list(limit=5)
        await client.contacts.list(fields="all").to_list(limit=5)
        await client.contacts.get(first[0].id, fields="all")  # type: ignore[arg-type]
        assert len(wire.to("GET", "/settings/fields")) == 1
        await client.companies.list(fields="all").to_list(limit=1)
        assert [s.params["module"] for s in wire.to("GET", "/settings/fields")] == ["Contacts", "Accounts"]
        view = client.with_options(timeout=5.0)
        await view.contacts.list(fields="all").to_list(limit=1)  # views share the cache
        assert len(wire.to("GET", "/settings/fields")) == 2
    names = wire.sent[1].params["fields"].split(",")
    assert "Email" in names and "Last_Name" in names and len(names) <= 50
    assert first[0].Email is not None and first[0].Mailing_City is not None

    async with wired_client(emulator) as (other, other_wire):
        await other.contacts.list(fields="all").to_list(limit=1)
    assert len(other_wire.to("GET", "/settings/fields")) == 1  # cached per client, not per process


async def test_default_fields_are_per_module() -> None:
    emulator = BiginEmulator(seed_records=2)
    async with wired_client(emulator) as (client, wire):
        await client.contacts.list().to_list(limit=1)
        await client.deals.list().to_list(limit=1)
        await client.contacts.search(word="xyz").to_list(limit=1)
    assert wire.sent[0].params["fields"].split(",")[:2] == ["First_Name", "Last_Name"]
    assert "Deal_Name" in wire.sent[1].params["fields"].split(",")
    assert "fields" not in wire.sent[2].params  # search answers every field by default
