"""``link()`` and ``unlink()``: related records put in and taken out of a record's related list.

Against the emulator (its ``PUT``/``DELETE /{module}/{id}/{related}`` routes): 250 ids go in 3
calls of at most 100, one result per id in the order given, a refused id is a failed result and
not an exception, bad input sends nothing, and a lost answer is never reported as a failure
(a link is sent again; an unlink's retry flags the ids the lost attempt had already unlinked).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bigin_async import BiginClient, WriteResult
from bigin_async.errors import APIError, InvalidRequestError, ValidationError
from bigin_async.resources._links import LINK_BATCH, MAYBE_UNLINKED
from bigin_emulator import BiginEmulator
from tests.helpers.lost_answers import LoseAnswers
from tests.helpers.resources import Sent, Wire, scripted, wired_client

MISSING_ID = "5545000000999999999"  # a well-formed id of no record


async def new_ids(client: BiginClient, module: str, count: int, name_field: str) -> list[str]:
    result = await client.module(module).bulk_create({name_field: f"{module} {n}"} for n in range(count))
    assert result.failed == []
    return [outcome.id for outcome in result.outcomes if outcome.id is not None]


async def contact_and_products(client: BiginClient, products: int) -> tuple[str, list[str]]:
    contact = await client.contacts.create({"Last_Name": "Linked"})
    assert contact.id is not None
    return contact.id, await new_ids(client, "Products", products, "Product_Name")


async def linked_products(client: BiginClient, contact_id: str) -> list[str]:
    return [str(p.id) async for p in client.contacts.related(contact_id, "Products", fields=["Product_Name"])]


def ids_sent(sent: Sent) -> list[str]:
    if sent.method == "PUT":
        return [item["id"] for item in sent.body["data"]]
    return sent.params["ids"].split(",")


def assert_sent_in_3_calls(wire: Wire, method: str, path: str, ids: list[str]) -> None:
    """``ids`` went to ``path`` alone, in 3 calls of 100, 100 and 50, in the order given."""
    calls = wire.to(method, path)
    assert wire.routes() == [f"{method} {path}"] * 3
    assert [len(ids_sent(call)) for call in calls] == [LINK_BATCH, LINK_BATCH, 50]
    assert [i for call in calls for i in ids_sent(call)] == ids


def assert_results(results: list[WriteResult], ids: list[str], action: str, message: str) -> None:
    """One success per id, in the order given, each saying what was done."""
    assert [r.id for r in results] == ids
    assert all(r.ok and r.action == action and r.message == message for r in results)


async def test_250_ids_are_linked_then_unlinked_in_3_calls_each_with_one_result_per_id_in_order() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        contact_id, products = await contact_and_products(client, 250)
        path = f"/Contacts/{contact_id}/Products"
        wire.clear()
        spent = client.credits.spent_total
        counted = emulator.counters.credits

        linked = await client.contacts.link(contact_id, "Products", products)

        assert_sent_in_3_calls(wire, "PUT", path, products)
        assert_results(linked, products, "link", "relation added")
        # 1 credit per 10 ids, as for any write: counted alike by the client and by the server.
        assert client.credits.spent_total - spent == 25 == emulator.counters.credits - counted
        assert sorted(await linked_products(client, contact_id)) == sorted(products)

        wire.clear()
        unlinked = await client.contacts.unlink(contact_id, "Products", products)

        assert_sent_in_3_calls(wire, "DELETE", path, products)
        assert_results(unlinked, products, "unlink", "relation removed")
        assert await linked_products(client, contact_id) == []


async def test_a_refused_id_is_a_failed_result_in_its_place_and_the_others_are_linked() -> None:
    async with wired_client(BiginEmulator()) as (client, wire):
        contact_id, products = await contact_and_products(client, 120)
        asked = [*products[:110], MISSING_ID, *products[110:]]

        linked = await client.contacts.link(contact_id, "Products", asked)

        assert [r.id for r in linked] == asked
        refused = linked[110]
        assert not refused.ok and refused.code == "INVALID_DATA" and refused.details == {"id": MISSING_ID}
        assert all(r.ok for position, r in enumerate(linked) if position != 110)
        assert sorted(await linked_products(client, contact_id)) == sorted(products)

        # Unlinking a pair that is not linked (no lost answer): a failure, not flagged.
        unlinked = await client.contacts.unlink(contact_id, "Products", [products[0], MISSING_ID])
        assert unlinked[0].ok and not unlinked[1].ok and unlinked[1].code == "INVALID_DATA"


async def test_linking_a_pair_already_linked_is_a_success() -> None:
    async with wired_client(BiginEmulator()) as (client, _):
        contact_id, products = await contact_and_products(client, 2)
        await client.contacts.link(contact_id, "Products", products[:1])
        again = await client.contacts.link(contact_id, "Products", products)
        assert [(r.ok, r.message) for r in again] == [(True, "relation updated"), (True, "relation added")]


async def test_related_list_aliases_are_the_ones_related_accepts_and_one_id_may_stand_alone() -> None:
    async with wired_client(BiginEmulator()) as (client, wire):
        [product] = await new_ids(client, "Products", 1, "Product_Name")
        deal = await client.deals.create({"Deal_Name": "Big", "Stage": "Qualification"})
        assert deal.id is not None
        wire.clear()
        [result] = await client.products.link(product, "Deals", deal.id)
        assert result.ok and wire.routes() == [f"PUT /Products/{product}/Pipelines"]
        assert [d.id async for d in client.products.related(product, "Deals", fields=["Deal_Name"])] == [
            deal.id
        ]
        wire.clear()
        [result] = await client.products.unlink(product, "Deals", int(deal.id))
        assert result.ok and wire.routes() == [f"DELETE /Products/{product}/Pipelines"]


GOOD = "5545000000000000001"


@pytest.mark.parametrize(
    ("record_id", "related_list", "related_ids", "says"),
    [
        (GOOD, "Products", [GOOD, "5545000000000000002", GOOD], "more than once: 5545000000000000001"),
        (GOOD, "Products", [], "at least one"),
        (GOOD, "Products", ["12a"], "related id must be"),
        (GOOD, "Products", ["0123"], "related id must be"),
        (GOOD, "Products", [None], "related id must be"),
        (GOOD, "Products", {GOOD}, "or a list of them, not set"),
        (GOOD, "Products", 1.5, "or a list of them, not float"),
        (GOOD, "Products", True, "or a list of them, not bool"),
        ("../settings", "Products", [GOOD], "record_id must be"),
        (GOOD, "Products/../x", [GOOD], "module API name"),
        (GOOD, None, [GOOD], "module API name"),
    ],
)
@pytest.mark.parametrize("method", ["link", "unlink"])
async def test_bad_input_is_refused_before_anything_is_sent(
    method: str, record_id: Any, related_list: Any, related_ids: Any, says: str
) -> None:
    async with wired_client(BiginEmulator()) as (client, wire):
        with pytest.raises(ValidationError, match=says):
            await getattr(client.contacts, method)(record_id, related_list, related_ids)
        assert wire.sent == []


async def test_a_call_refused_as_a_whole_raises_its_error_after_the_calls_before_it() -> None:
    async with wired_client(BiginEmulator()) as (client, wire):
        with pytest.raises(InvalidRequestError) as missing:
            await client.contacts.link(MISSING_ID, "Products", [GOOD])
        assert missing.value.code == "INVALID_DATA" and missing.value.details["id"] == MISSING_ID
        contact = await client.contacts.create({"Last_Name": "Notes are not linked"})
        assert contact.id is not None
        with pytest.raises(InvalidRequestError, match="cannot be linked"):
            await client.contacts.unlink(contact.id, "Notes", [GOOD])


async def test_a_link_whose_answer_was_lost_is_sent_again_and_succeeds() -> None:
    emulator = BiginEmulator()
    lossy = LoseAnswers(emulator.transport(), "PUT")
    wire = Wire(lossy)
    async with emulator.client(transport=wire, retry_backoff_seconds=0) as client:
        contact_id, products = await contact_and_products(client, 3)
        linked = await client.contacts.link(contact_id, "Products", products)
        assert lossy.lost == 1 and len(wire.to("PUT", f"/Contacts/{contact_id}/Products")) == 2
        assert [(r.id, r.ok, r.message) for r in linked] == [(p, True, "relation updated") for p in products]
        assert sorted(await linked_products(client, contact_id)) == sorted(products)


async def test_an_unlink_retried_after_a_lost_answer_reports_no_false_failure() -> None:
    emulator = BiginEmulator()
    lossy = LoseAnswers(emulator.transport(), "DELETE")
    async with emulator.client(transport=lossy, retry_backoff_seconds=0) as client:
        contact_id, products = await contact_and_products(client, 3)
        await client.contacts.link(contact_id, "Products", products[:2])
        # The lost attempt unlinked the first two; the third was never linked: the retry finds
        # all three unlinked, and Bigin answers alike for both cases.
        unlinked = await client.contacts.unlink(contact_id, "Products", products)
        assert lossy.lost == 1
        assert [r.id for r in unlinked] == products
        for result, product in zip(unlinked, products, strict=True):
            assert result.ok and result.code == MAYBE_UNLINKED and result.action == "unlink"
            assert result.details == {"id": product, "maybe_never_linked": True}
            assert "never linked" in (result.message or "")
        assert await linked_products(client, contact_id) == []


async def test_an_unlink_retry_keeps_a_success_and_an_error_other_than_not_linked() -> None:
    record, first, second = "5545000000000000100", "5545000000000000101", "5545000000000000102"
    answers: list[Any] = [
        httpx.RemoteProtocolError("dropped"),
        httpx.Response(
            400,
            json={
                "data": [
                    {
                        "code": "SUCCESS",
                        "details": {"id": first},
                        "message": "relation removed",
                        "status": "success",
                    },
                    {"code": "NO_PERMISSION", "details": {"id": second}, "status": "error"},
                ]
            },
        ),
    ]
    async with scripted(*answers) as (client, requests):
        results = await client.contacts.unlink(record, "Products", [first, second])
    assert len(requests) == 2
    assert results[0].ok and results[0].code == "SUCCESS"
    assert not results[1].ok and results[1].code == "NO_PERMISSION"


# -- answers that are not what Zoho documents ---------------------------------------------------


def entry(related_id: str | None, code: str = "SUCCESS") -> dict[str, Any]:
    details = {"id": related_id} if related_id is not None else {}
    return {"code": code, "details": details, "message": "relation added", "status": "success"}


IDS = ["5545000000000000201", "5545000000000000202", "5545000000000000203"]


async def test_results_answered_in_another_order_are_put_back_in_the_order_given() -> None:
    body = {"data": [entry(IDS[2]), entry(IDS[0]), entry(IDS[1])]}
    async with scripted(httpx.Response(200, json=body)) as (client, _):
        results = await client.contacts.link("5545000000000000100", "Products", IDS)
    assert [r.id for r in results] == IDS


async def test_results_without_ids_are_matched_by_position() -> None:
    body = {"data": [entry(None), entry(None), entry(None)]}
    async with scripted(httpx.Response(200, json=body)) as (client, _):
        results = await client.contacts.link("5545000000000000100", "Products", IDS)
    assert [r.id for r in results] == IDS and all(r.ok for r in results)


@pytest.mark.parametrize(
    "body",
    [
        {"data": [entry(IDS[0]), entry(IDS[1])]},  # one result missing
        {"data": [entry(IDS[0]), entry(IDS[1]), entry("5545000000000000999")]},  # about another id
        {"code": "SUCCESS", "status": "success"},  # no per-id results at all
        [1, 2, 3],
    ],
    ids=["short", "other-id", "no-data", "not-an-object"],
)
async def test_a_2xx_answer_that_cannot_give_one_result_per_id_is_malformed(body: Any) -> None:
    async with scripted(httpx.Response(200, json=body)) as (client, requests):
        with pytest.raises(APIError) as raised:
            await client.contacts.link("5545000000000000100", "Products", IDS)
    assert raised.value.code == "MALFORMED_RESPONSE"
    assert len(requests) == 3  # a link is idempotent: retried like a read


async def test_a_request_level_refusal_about_the_record_is_not_read_as_the_one_ids_result() -> None:
    refusal = {
        "code": "INVALID_DATA",
        "details": {"id": "5545000000000000100", "resource_path_index": 1},
        "message": "the id given seems to be invalid",
        "status": "error",
    }
    for refused in (refusal, None):
        answer = httpx.Response(400, json=refusal) if refused else httpx.Response(400, content=b"<html>")
        async with scripted(answer) as (client, requests):
            with pytest.raises(APIError) as raised:
                await client.contacts.unlink("5545000000000000100", "Products", [IDS[0]])
        assert len(requests) == 1
        assert raised.value.status_code == 400
