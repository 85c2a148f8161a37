"""Issue 14, item 5: deleting or updating an id that is not there raises ``NotFoundError``, as ``get``
does, keeping Zoho's code (``INVALID_DATA``, "the id given seems to be invalid") and details.

Bulk deletes and updates are not changed: a missing id is one failed outcome among the others.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bigin_async import BiginClient, InvalidRequestError, NotFoundError
from bigin_emulator import BiginEmulator
from tests.helpers.resources import wired_client

MISSING = "4150868000000999999"


async def _contact(bigin: BiginClient, name: str = "Lovelace") -> str:
    created = await bigin.contacts.create({"Last_Name": name})
    assert created.id is not None
    return created.id


async def test_deleting_a_missing_id_raises_not_found_with_zohos_code() -> None:
    async with wired_client(BiginEmulator()) as (bigin, wire):
        with pytest.raises(NotFoundError) as caught:
            await bigin.contacts.delete(MISSING)
    error = caught.value
    assert error.code == "INVALID_DATA" and error.details == {"id": MISSING}
    assert error.method == "DELETE" and MISSING in str(error)
    assert wire.routes() == [f"DELETE /Contacts/{MISSING}"]  # one call, not retried


async def test_updating_a_missing_id_raises_not_found_with_zohos_code() -> None:
    async with wired_client(BiginEmulator()) as (bigin, wire):
        with pytest.raises(NotFoundError) as caught:
            await bigin.contacts.update(MISSING, {"Last_Name": "Byron"})
    error = caught.value
    assert error.code == "INVALID_DATA" and error.details.get("id") == MISSING
    assert error.method == "PUT"
    assert wire.routes() == [f"PUT /Contacts/{MISSING}"]


async def test_a_deleted_record_is_not_found_by_get_update_or_delete_alike() -> None:
    async with BiginEmulator().client() as bigin:
        record_id = await _contact(bigin)
        deleted = await bigin.contacts.delete(record_id)
        assert deleted.ok and deleted.action == "delete"
        with pytest.raises(NotFoundError):
            await bigin.contacts.get(record_id)
        with pytest.raises(NotFoundError):
            await bigin.contacts.update(record_id, {"Last_Name": "Byron"})
        with pytest.raises(NotFoundError):
            await bigin.contacts.delete(record_id)


async def test_a_bad_lookup_id_in_an_update_is_still_invalid_data_not_a_missing_record() -> None:
    """The record is there; the company it points at is not: that is the request's data."""
    async with BiginEmulator().client() as bigin:
        record_id = await _contact(bigin)
        with pytest.raises(InvalidRequestError) as caught:
            await bigin.contacts.update(record_id, {"Account_Name": {"id": MISSING}})
    assert not isinstance(caught.value, NotFoundError)
    assert caught.value.details.get("api_name") == "Account_Name"


async def test_bulk_deletes_and_updates_report_a_missing_id_as_one_outcome() -> None:
    async with BiginEmulator().client() as bigin:
        kept = await _contact(bigin, "Kept")
        gone = await _contact(bigin, "Gone")
        updated = await bigin.contacts.bulk_update(
            [{"id": kept, "Last_Name": "Still"}, {"id": MISSING, "Last_Name": "Nobody"}]
        )
        removed = await bigin.contacts.bulk_delete([gone, MISSING])
    for result in (updated, removed):
        assert (result.counts["success"], result.counts["error"]) == (1, 1)
        failed = [outcome for outcome in result.outcomes if not outcome.ok]
        assert [(outcome.index, outcome.code, outcome.details.get("id")) for outcome in failed] == [
            (1, "INVALID_DATA", MISSING)
        ]


# -- the same reading of Zoho's answers, whatever their HTTP status ---------------------------
def _answer(status: int, entry: dict[str, Any]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"data": [entry]})

    return httpx.MockTransport(handler)


INVALID_ID = {"code": "INVALID_DATA", "message": "the id given seems to be invalid", "status": "error"}


@pytest.mark.parametrize("status", [200, 202, 400])
@pytest.mark.parametrize(
    ("method", "details"),
    [
        ("delete", {"id": MISSING}),
        ("update", {"api_name": "id", "id": MISSING}),
        ("update", {"api_name": "id", "json_path": "$.data[0].id"}),
    ],
)
async def test_zohos_invalid_id_answer_is_not_found_at_any_status(
    status: int, method: str, details: dict[str, Any]
) -> None:
    transport = _answer(status, {**INVALID_ID, "details": details})
    async with BiginClient(access_token="1000.t", transport=transport, max_retries=0) as bigin:
        with pytest.raises(NotFoundError) as caught:
            if method == "delete":
                await bigin.contacts.delete(MISSING)
            else:
                await bigin.contacts.update(MISSING, {"Last_Name": "Byron"})
    assert caught.value.code == "INVALID_DATA" and caught.value.details == details


@pytest.mark.parametrize(
    "details",
    [{"api_name": "Email", "expected_data_type": "email"}, {"api_name": "Account_Name", "id": MISSING}],
)
async def test_other_invalid_data_of_an_update_stays_an_invalid_request(details: dict[str, Any]) -> None:
    entry = {"code": "INVALID_DATA", "message": "invalid data", "status": "error", "details": details}
    async with BiginClient(access_token="1000.t", transport=_answer(400, entry), max_retries=0) as bigin:
        with pytest.raises(InvalidRequestError) as caught:
            await bigin.contacts.update(MISSING, {"Email": "not an email"})
    assert not isinstance(caught.value, NotFoundError) and caught.value.details == details
