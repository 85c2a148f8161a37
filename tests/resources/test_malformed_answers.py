"""A 2xx whose body is not what Zoho documents (issue #9 item 9), at every place that parses one.

A read is retried like a 5xx and ends in :class:`APIError` ``MALFORMED_RESPONSE``; an insert
(the records may exist now) raises :class:`AmbiguousWriteError` at once; an idempotent write
(update, keyed upsert, delete, tags) is retried like a read. Never an untyped pydantic error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bigin_async.client import BiginClient
from bigin_async.errors import AmbiguousWriteError, APIError
from tests.helpers.resources import Scripted, answer, scripted_client

ID = "5545000000000000001"
KEYS = ("data", "org", "users", "modules", "fields", "layouts", "tags", "pipelines")
MALFORMED: dict[str, bytes] = {
    "truncated": b'{"data": [{"id": "55450000',
    "proxy page": b"<html><body>502 Bad Gateway</body></html>",
    "wrong shape": ("{" + ",".join(f'"{key}": "not a list"' for key in KEYS) + "}").encode(),
    "records not objects": ("{" + ",".join(f'"{key}": [1, 2]' for key in KEYS) + "}").encode(),
    "not an object": b"[1, 2, 3]",
}

Call = Callable[[BiginClient], Awaitable[Any]]
READS: dict[str, Call] = {
    "list": lambda c: c.contacts.list().to_list(limit=5),
    "search": lambda c: c.contacts.search(word="ada").to_list(limit=5),
    "related": lambda c: c.companies.related(ID, "Contacts").to_list(limit=5),
    "notes for a record": lambda c: c.notes.for_record("Contacts", ID).to_list(limit=5),
    "get": lambda c: c.contacts.get(ID),
    "get all fields": lambda c: c.contacts.get(ID, fields="all"),
    "settings.modules": lambda c: c.settings.modules(),
    "settings.fields": lambda c: c.settings.fields("Contacts"),
    "settings.layouts": lambda c: c.settings.layouts("Contacts"),
    "settings.tags": lambda c: c.settings.tags("Contacts"),
    "org": lambda c: c.org.get(),
    "users": lambda c: c.users.list().to_list(limit=5),
    "coql": lambda c: c.coql("select Last_Name from Contacts where Last_Name is not null").to_list(limit=5),
    "pipelines.list": lambda c: c.pipelines.list(),
    "pipelines.get": lambda c: c.pipelines.get(ID),
}
IDEMPOTENT_WRITES: dict[str, Call] = {
    "update": lambda c: c.contacts.update(ID, {"Last_Name": "x"}),
    "keyed upsert": lambda c: c.contacts.upsert({"Last_Name": "x", "Email": "a@example.com"}),
    "delete": lambda c: c.contacts.delete(ID),
    "add_tags": lambda c: c.contacts.add_tags([ID], ["VIP"]),
    "remove_tags": lambda c: c.contacts.remove_tags([ID], ["VIP"]),
    "pipelines.update": lambda c: c.pipelines.update(ID, name="Sales"),
    "pipelines.delete": lambda c: c.pipelines.delete(ID),
    "move_to_stage": lambda c: c.deals.move_to_stage(ID, "Won"),  # its first read is malformed
}
INSERTS: dict[str, Call] = {
    "create": lambda c: c.contacts.create({"Last_Name": "x"}),
    "keyless upsert": lambda c: c.contacts.upsert({"Last_Name": "x"}),
    "notes.add": lambda c: c.notes.add("Contacts", ID, "t", "content"),
    "pipelines.create": lambda c: c.pipelines.create("Sales", ["New", "Won"]),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize(
    "call", [*READS.values(), *IDEMPOTENT_WRITES.values()], ids=[*READS, *IDEMPOTENT_WRITES]
)
async def test_a_malformed_answer_to_a_safe_call_is_retried_then_a_typed_error(
    call: Call, body: bytes
) -> None:
    script = Scripted(answer(200, raw=body))
    async with scripted_client(script, max_retries=2) as client:
        with pytest.raises(APIError) as error:
            await call(client)
    assert error.value.code == "MALFORMED_RESPONSE"
    assert len(script.requests) == 3  # the first attempt and two retries


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("call", INSERTS.values(), ids=INSERTS.keys())
async def test_a_malformed_answer_to_an_insert_is_ambiguous_and_never_resent(call: Call, body: bytes) -> None:
    script = Scripted(answer(201, raw=body))
    async with scripted_client(script, max_retries=2) as client:
        with pytest.raises(AmbiguousWriteError) as error:
            await call(client)
    assert len(script.requests) == 1
    assert error.value.method == "POST"


@pytest.mark.parametrize("status", [200, 201, 202])
async def test_an_insert_answered_without_a_per_record_result_is_ambiguous(status: int) -> None:
    script = Scripted(answer(status, {"data": []}))
    async with scripted_client(script) as client:
        with pytest.raises(AmbiguousWriteError) as error:
            await client.contacts.create({"Last_Name": "x"})
    assert len(script.requests) == 1
    assert error.value.records == [{"Last_Name": "x"}]  # the record whose fate is unknown


async def test_an_update_answered_without_a_per_record_result_is_retried_then_malformed() -> None:
    script = Scripted(answer(200, {"data": []}))
    async with scripted_client(script, max_retries=1) as client:
        with pytest.raises(APIError) as error:
            await client.contacts.update(ID, {"Last_Name": "x"})
    assert error.value.code == "MALFORMED_RESPONSE" and len(script.requests) == 2


PAGE = {
    "data": [{"id": ID, "Last_Name": "Lovelace"}],
    "info": {"more_records": False, "page": 1, "per_page": 200},
}


async def test_a_page_that_parses_on_the_retry_is_used() -> None:
    script = Scripted(answer(200, raw=MALFORMED["truncated"]), answer(200, PAGE))
    async with scripted_client(script) as client:
        records = await client.contacts.list().to_list(limit=5)
    assert [r.id for r in records] == [ID] and len(script.requests) == 2


async def test_a_later_page_that_never_parses_fails_the_walk_after_the_pages_before_it() -> None:
    first = {**PAGE, "info": {"more_records": True, "page": 1, "per_page": 1}}
    script = Scripted(answer(200, first), answer(200, raw=MALFORMED["wrong shape"]))
    seen: list[str | None] = []
    async with scripted_client(script, max_retries=1) as client:
        with pytest.raises(APIError) as error:
            async for record in client.contacts.list(per_page=1):
                seen.append(record.id)
    assert seen == [ID] and error.value.code == "MALFORMED_RESPONSE"
    assert [r.url.params["page"] for r in script.requests] == ["1", "2", "2"]


async def test_a_get_whose_record_does_not_parse_is_retried_and_then_used() -> None:
    bad = {"data": [{"id": {"not": "an id"}}]}
    script = Scripted(answer(200, bad), answer(200, {"data": [{"id": ID, "Email": "a@example.com"}]}))
    async with scripted_client(script) as client:
        contact = await client.contacts.get(ID)
    assert contact.Email == "a@example.com" and len(script.requests) == 2


async def test_a_delete_refused_with_an_unreadable_body_keeps_the_servers_error() -> None:
    script = Scripted(answer(400, raw=b"<html>bad request</html>"))
    async with scripted_client(script) as client:
        with pytest.raises(APIError) as error:
            await client.contacts.delete(ID)
    assert error.value.status_code == 400 and len(script.requests) == 1
