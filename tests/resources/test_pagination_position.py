"""``pages().position`` and ``pages(start=...)``: a walk continued by another paginator (another process).

``bigin export --resume`` saves the position after each page it wrote and starts the next run's
walk there; these tests check that the two walks together hand out every record once, by page
number before record 2,000 and by page token past it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest

from bigin_async.errors import PaginationLimitError, ValidationError
from bigin_async.pagination import PagePosition
from bigin_emulator import BiginEmulator
from tests.helpers.orgs import fresh, seeded_state
from tests.helpers.resources import wired_client

RECORDS = 2_500


@pytest.fixture(scope="module")
def big_org() -> dict[str, Any]:
    return seeded_state(companies=1, contacts=RECORDS)


@pytest.mark.parametrize(("pages_first", "by_token"), [(3, False), (10, True), (11, True), (12, True)])
async def test_a_walk_continued_from_its_position_hands_out_every_record_once(
    big_org: dict[str, Any], pages_first: int, by_token: bool
) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        first: list[str | None] = []
        walk = client.contacts.list(fields=["Email"]).pages()
        assert walk.position == PagePosition(1, None, 0, 200, False)
        async for page in walk:
            first.extend(record.id for record in page.data)
            if len(first) == pages_first * 200:
                break
        saved = json.dumps(asdict(walk.position))  # kept between processes as plain JSON
        wire.clear()
        rest: list[str | None] = []
        progress: list[int] = []
        start = PagePosition(**json.loads(saved))
        again = client.contacts.list(fields=["Email"], on_progress=progress.append).pages(start=start)
        async for page in again:
            rest.extend(record.id for record in page.data)
    assert start.records == pages_first * 200 and (start.page_token is not None) == by_token
    if not by_token:
        assert start.page == pages_first + 1
    ids = first + rest
    assert len(ids) == RECORDS and set(ids) == set(emulator.store.table("Contacts").records)
    assert len(wire.sent) == 13 - pages_first  # nothing asked twice
    sent = wire.sent[0].params
    assert ("page_token" in sent, "page" in sent) == (by_token, not by_token)
    assert progress[-1] == RECORDS  # the running count goes on from the records before
    assert again.position.done


async def test_max_records_counts_the_records_before_the_position(big_org: dict[str, Any]) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        start = PagePosition(page=3, records=400)
        ids = [r.id async for p in client.contacts.list(max_records=500).pages(start=start) for r in p.data]
    assert len(ids) == 100 and len(wire.sent) == 1 and wire.sent[0].params["page"] == "3"
    async with wired_client(emulator) as (client, wire):
        reached = PagePosition(page=3, records=500)
        assert [p async for p in client.contacts.list(max_records=500).pages(start=reached)] == []
    assert wire.sent == []


async def test_a_done_position_fetches_nothing_and_a_mismatched_one_is_refused(
    big_org: dict[str, Any],
) -> None:
    emulator = fresh(big_org)
    async with wired_client(emulator) as (client, wire):
        done = PagePosition(page=13, records=RECORDS, done=True)
        assert [p async for p in client.contacts.list().pages(start=done)] == []
        with pytest.raises(ValidationError, match="pages of 200"):
            client.contacts.list(per_page=100).pages(start=PagePosition(page=2, records=200))
        with pytest.raises(ValidationError, match="positive"):
            client.contacts.list().pages(start=PagePosition(page=0))
    assert wire.sent == []


async def test_a_search_stopped_at_its_wall_raises_again_from_its_position() -> None:
    emulator = BiginEmulator()
    emulator.insert_records(
        "Contacts", ({"Last_Name": "Same", "Email": f"s{i}@example.com"} for i in range(2_050))
    )
    async with wired_client(emulator) as (client, wire):
        walk = client.contacts.search(criteria="(Last_Name:equals:Same)").pages()
        seen = 0
        with pytest.raises(PaginationLimitError):
            async for page in walk:
                seen += len(page.data)
        position = walk.position
        assert seen == 2_000 and position.page == 11 and position.page_token is None
        wire.clear()
        with pytest.raises(PaginationLimitError):
            async for _ in client.contacts.search(criteria="(Last_Name:equals:Same)").pages(start=position):
                pass
    assert wire.sent == []  # no page number reaches there: refused before a request
