"""``DuplicateRecordError.existing_id`` names the clashing record in both shapes Zoho answers.

Defect: ``existing_id`` read ``details["id"]`` only. Zoho's newer ``DUPLICATE_DATA`` answers put the
record inside ``details["duplicate_record"]`` (``{"module": {...}, "id": ..., "Owner": {...}}``),
so ``existing_id`` was ``None`` exactly when the server had said which record it was.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bigin_async import BiginClient, DuplicateRecordError
from bigin_async.errors import error_from_response

API = "https://www.zohoapis.com/bigin/v2"
EXISTING = "7618134000000632028"
MODULE_ID = "7618134000000002179"

# The shape Bigin's v2 reference shows: the existing record's id beside the field's name.
FLAT = {"api_name": "Email", "id": EXISTING}
# Zoho's newer shape: the field's JSON path, and the existing record (its module, id and owner).
NESTED = {
    "api_name": "Email",
    "json_path": "$.data[0].Email",
    "duplicate_record": {
        "module": {"api_name": "Contacts", "id": MODULE_ID},
        "id": EXISTING,
        "Owner": {"name": "Patricia Boyle", "id": "7618134000000590001", "zuid": "873640000"},
    },
}


def entry(details: Any) -> dict[str, Any]:
    return {"code": "DUPLICATE_DATA", "details": details, "message": "duplicate data", "status": "error"}


def duplicate_from(details: Any) -> DuplicateRecordError:
    response = httpx.Response(
        400, json={"data": [entry(details)]}, request=httpx.Request("POST", f"{API}/Contacts")
    )
    error = error_from_response(response)
    assert isinstance(error, DuplicateRecordError)
    return error


@pytest.mark.parametrize("details", [FLAT, NESTED], ids=["details.id", "details.duplicate_record.id"])
def test_existing_id_is_read_from_either_shape(details: dict[str, Any]) -> None:
    assert duplicate_from(details).existing_id == EXISTING


def test_details_id_comes_first_when_both_are_there() -> None:
    both = {**NESTED, "id": "7618134000000999999"}
    assert duplicate_from(both).existing_id == "7618134000000999999"


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"api_name": "Email"}, None),
        (
            {"api_name": "Email", "duplicate_record": {"module": {"api_name": "Contacts", "id": MODULE_ID}}},
            None,
        ),
        ({"api_name": "Email", "duplicate_record": "7618134000000632028"}, None),
        ({"api_name": "Email", "duplicate_record": None}, None),
        ({"api_name": "Email", "duplicate_record": {"id": 7618134000000632028}}, EXISTING),
    ],
    ids=["no-id", "module-id-only", "not-a-mapping", "null", "int-id"],
)
def test_an_answer_without_the_records_id_gives_none_never_another_id(
    details: dict[str, Any], expected: str | None
) -> None:
    """The module's id is not the record's, and an odd ``duplicate_record`` is no crash."""
    assert duplicate_from(details).existing_id == expected


async def test_a_create_answered_with_the_nested_shape_names_the_existing_record() -> None:
    """The per-record entry of a write answer (HTTP 201 with an error entry) goes the same way."""
    transport = httpx.MockTransport(
        lambda request: httpx.Response(201, content=json.dumps({"data": [entry(NESTED)]}).encode())
    )
    async with BiginClient(access_token="t", api_domain="http://127.0.0.1", transport=transport) as client:
        with pytest.raises(DuplicateRecordError) as duplicate:
            await client.contacts.create({"Last_Name": "Boyle", "Email": "p.boyle@example.com"})
    assert duplicate.value.existing_id == EXISTING
    assert duplicate.value.details["duplicate_record"]["module"]["api_name"] == "Contacts"
