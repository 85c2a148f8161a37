"""``fields="all"`` and field lists longer than Bigin's 50 a read (issue #9 item 22).

A get splits the fields over several reads of the same id and merges them; a list, search or
related list cannot (a page read twice may not hold the same records), so it refuses with a
message that says so instead of dropping columns without a word.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bigin_async.errors import APIError, NotFoundError, ValidationError
from bigin_async.resources.base import MAX_FIELDS_PER_READ
from tests.helpers.resources import Scripted, scripted_client

RECORD_ID = "5545000000000000001"
FIELD_COUNT = 120
NAMES = [f"Field_{n:03d}" for n in range(FIELD_COUNT)]


def fake_org(*, deleted_after: int | None = None, other_id_on: int | None = None) -> Scripted:
    """/settings/fields lists 120 fields; a get answers each requested field with its own value."""
    reads = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal reads
        if request.url.path.endswith("/settings/fields"):
            fields = [{"api_name": name, "field_label": name, "data_type": "text"} for name in NAMES]
            return httpx.Response(200, json={"fields": fields})
        reads += 1
        if deleted_after is not None and reads > deleted_after:
            return httpx.Response(204)
        asked = request.url.params["fields"].split(",")
        record_id = "999" if other_id_on == reads else RECORD_ID
        record: dict[str, Any] = {"id": record_id, "$approval_state": "approved"}
        record.update({name: f"value of {name}" for name in asked if name in NAMES})
        return httpx.Response(200, json={"data": [record]})

    return Scripted(handle)


def record_reads(script: Scripted) -> list[list[str]]:
    return [r.url.params["fields"].split(",") for r in script.requests if "/settings/" not in r.url.path]


async def test_get_with_all_fields_reads_every_field_in_chunks_and_merges_them() -> None:
    script = fake_org()
    async with scripted_client(script) as client:
        contact = await client.contacts.get(RECORD_ID, fields="all")
    chunks = record_reads(script)
    assert len(chunks) == 3 and all(len(chunk) <= MAX_FIELDS_PER_READ for chunk in chunks)
    # Each field asked once; Modified_Time by every read, to tell they read one version.
    assert sorted(name for chunk in chunks for name in chunk if name != "Modified_Time") == NAMES
    assert all(chunk[-1] == "Modified_Time" for chunk in chunks)
    assert all(contact.get(name) == f"value of {name}" for name in NAMES)
    assert contact.id == RECORD_ID and contact.get("$approval_state") == "approved"
    assert contact.to_wire() == {"id": RECORD_ID}  # merged from reads: nothing is "set"


async def test_get_with_a_long_explicit_field_list_splits_too() -> None:
    script = fake_org()
    async with scripted_client(script) as client:
        contact = await client.contacts.get(RECORD_ID, fields=NAMES[:51])
    assert [len(chunk) for chunk in record_reads(script)] == [50, 3]  # 49 + 2, each with Modified_Time
    assert contact.get("Field_050") == "value of Field_050"


async def test_get_with_at_most_fifty_fields_is_one_read() -> None:
    script = fake_org()
    async with scripted_client(script) as client:
        await client.contacts.get(RECORD_ID, fields=NAMES[:50])
    assert [len(chunk) for chunk in record_reads(script)] == [50]


async def test_a_record_deleted_between_the_chunk_reads_is_not_found_not_half_a_record() -> None:
    script = fake_org(deleted_after=1)
    async with scripted_client(script) as client:
        with pytest.raises(NotFoundError):
            await client.contacts.get(RECORD_ID, fields="all")


async def test_a_chunk_answering_another_record_is_a_typed_error() -> None:
    script = fake_org(other_id_on=2)
    async with scripted_client(script, max_retries=0) as client:
        with pytest.raises(APIError) as error:
            await client.contacts.get(RECORD_ID, fields="all")
    assert error.value.code == "MALFORMED_RESPONSE"


@pytest.mark.parametrize("fields", ["all", NAMES[:51]], ids=["all", "51 names"])
async def test_lists_refuse_more_than_fifty_fields_instead_of_dropping_columns(fields: Any) -> None:
    script = fake_org()
    async with scripted_client(script) as client:
        for call in (
            lambda: client.contacts.list(fields=fields).to_list(limit=1),
            lambda: client.contacts.search(word="ada", fields=fields).to_list(limit=1),
            lambda: client.companies.related(RECORD_ID, "Contacts", fields=fields).to_list(limit=1),
        ):
            with pytest.raises(ValidationError, match="50 fields") as error:
                await call()
            assert "get()" in str(error.value)
    assert record_reads(script) == []  # no page was read with columns missing


async def test_field_names_lists_every_field() -> None:
    script = fake_org()
    async with scripted_client(script) as client:
        assert await client.settings.field_names("Contacts") == NAMES
    assert json.loads(script.requests[0].content or b"null") is None
