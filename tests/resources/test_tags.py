"""``bigin.tags`` and ``add_tags``/``remove_tags`` against a scripted Bigin: wire shapes, answers, faults.

The scripted server answers with Zoho's documented shapes (Zoho CRM v2's, which Bigin shares),
so these tests pin what is sent and how every answer, lost answer and refusal is read. The same
calls against the emulator are in ``test_tags_emulator.py``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from bigin_async import BiginClient
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    DuplicateRecordError,
    InvalidRequestError,
    NotFoundError,
    ValidationError,
)
from bigin_async.models import Tag
from bigin_async.models.tags import (
    check_color_code,
    check_tag_names,
    parse_records_count,
    parse_tag_results,
    parse_tags,
)
from bigin_async.resources.tags import TagsClient
from tests.helpers.resources import Scripted, answer, scripted_client

ADMIN = {"name": "Patricia Boyle", "id": "4876876000000327001"}
TAG_ID = "4876876000001140123"
TAG: dict[str, Any] = {
    "id": TAG_ID,
    "name": "VIP",
    "color_code": "#F17574",
    "created_time": "2022-05-10T18:52:45+05:30",
    "modified_time": "2022-05-19T20:10:35+05:30",
    "created_by": ADMIN,
    "modified_by": ADMIN,
}
OTHER_ID = "4876876000001140999"


def success(details: dict[str, Any], message: str = "tags updated successfully") -> dict[str, Any]:
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}


def query(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.url.query.decode()).items()}


def body(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def api_path(request: httpx.Request) -> str:
    return request.url.path.removeprefix("/bigin/v2")


async def test_the_client_has_a_tags_client() -> None:
    async with scripted_client(Scripted(answer(200, {"tags": []}))) as client:
        assert isinstance(client.tags, TagsClient) and client.tags is client.tags
        assert await client.tags.list("Contacts") == []


async def test_list_reads_typed_tags_and_keeps_unknown_keys() -> None:
    script = Scripted(
        answer(200, {"tags": [{**TAG, "$new_key": 1}], "info": {"count": 1, "allowed_count": 100}})
    )
    async with scripted_client(script) as client:
        tags = await client.tags.list("Companies")
        raw = await client.settings.tags("Deals")  # the old call still answers Zoho's dicts
    assert [(t.id, t.name, t.color_code) for t in tags] == [(TAG_ID, "VIP", "#F17574")]
    assert tags[0].created_by is not None and tags[0].created_by.name == "Patricia Boyle"
    assert tags[0].modified_time is not None and tags[0].modified_time.year == 2022
    assert tags[0].get("$new_key") == 1
    assert raw == [{**TAG, "$new_key": 1}] and isinstance(raw[0], dict)
    assert [(api_path(r), query(r)) for r in script.requests] == [
        ("/settings/tags", {"module": "Accounts"}),
        ("/settings/tags", {"module": "Pipelines"}),
    ]


async def test_a_record_tag_and_a_listed_tag_are_one_class() -> None:
    listed = parse_tags(json.dumps({"tags": [TAG]}).encode())[0]
    assert type(listed) is Tag and Tag(name="VIP").to_wire() == {"name": "VIP"} == listed.to_wire()
    assert parse_tags(b"") == []  # an empty 204 is no tags
    with pytest.raises(ValueError):
        parse_tags(b'{"tags": {"name": "x"}}')


async def test_create_sends_names_and_colours_and_returns_the_new_tags_in_order() -> None:
    details = [
        {"id": "11", "created_time": TAG["created_time"], "created_by": ADMIN},
        {"id": "12", "created_time": TAG["created_time"], "created_by": ADMIN},
        {"id": "13", "created_time": TAG["created_time"], "created_by": ADMIN},
    ]
    script = Scripted(answer(200, {"tags": [success(d, "tags created successfully") for d in details]}))
    async with scripted_client(script) as client:
        created = await client.tags.create(
            "Deals",
            ["Hot", Tag(name="Cold", color_code="#57B1FD"), {"name": " Warm ", "color_code": "#E7A826"}],
        )
    sent = script.requests[0]
    assert (sent.method, api_path(sent), query(sent)) == ("POST", "/settings/tags", {"module": "Pipelines"})
    assert body(sent) == {
        "tags": [
            {"name": "Hot"},
            {"name": "Cold", "color_code": "#57B1FD"},
            {"name": "Warm", "color_code": "#E7A826"},
        ]
    }
    assert [(t.id, t.name, t.color_code) for t in created] == [
        ("11", "Hot", None),
        ("12", "Cold", "#57B1FD"),
        ("13", "Warm", "#E7A826"),
    ]
    assert all(t.created_by is not None and t.created_by.id == ADMIN["id"] for t in created)


async def test_create_of_one_name_and_a_duplicate_refused_by_bigin() -> None:
    duplicate = {
        "code": "DUPLICATE_DATA",
        "details": {"id": "9"},
        "message": "duplicate data",
        "status": "error",
    }
    script = Scripted(
        answer(200, {"tags": [success({"id": "21"}, "tags created successfully")]}),
        answer(200, {"tags": [success({"id": "22"}), duplicate]}),
    )
    async with scripted_client(script) as client:
        (one,) = await client.tags.create("Contacts", "Solo")
        with pytest.raises(DuplicateRecordError) as refused:
            await client.tags.create("Contacts", ["New", "Old"])
    assert (one.id, one.name) == ("21", "Solo")
    assert refused.value.code == "DUPLICATE_DATA"


async def test_a_create_whose_answer_is_lost_is_not_sent_again() -> None:
    script = Scripted(httpx.ReadTimeout("lost"), answer(200, {"tags": [success({"id": "1"})]}))
    async with scripted_client(script) as client:
        with pytest.raises(AmbiguousWriteError):
            await client.tags.create("Contacts", ["Once"])
    assert len(script.requests) == 1


async def test_a_create_answer_with_the_wrong_number_of_results_is_ambiguous() -> None:
    script = Scripted(answer(200, {"tags": [success({"id": "1"})]}))
    async with scripted_client(script) as client:
        with pytest.raises(AmbiguousWriteError):
            await client.tags.create("Contacts", ["A", "B"])
    assert len(script.requests) == 1


async def test_update_with_both_values_sends_one_put() -> None:
    updated = {**TAG, "name": None, "color_code": "#63C57E"}
    script = Scripted(answer(200, {"tags": [success(updated)]}))
    async with scripted_client(script) as client:
        tag = await client.tags.update("Contacts", TAG_ID, name="Gold", color_code="#63C57E")
    (sent,) = script.requests
    assert (sent.method, api_path(sent), query(sent)) == (
        "PUT",
        f"/settings/tags/{TAG_ID}",
        {"module": "Contacts"},
    )
    assert body(sent) == {"tags": [{"id": TAG_ID, "name": "Gold", "color_code": "#63C57E"}]}
    assert (tag.id, tag.name, tag.color_code) == (
        TAG_ID,
        "Gold",
        "#63C57E",
    )  # a None in details is not taken


@pytest.mark.parametrize(
    ("changes", "sent"),
    [
        ({"name": "Platinum"}, {"name": "Platinum", "color_code": "#F17574"}),
        ({"color_code": "#969696"}, {"name": "VIP", "color_code": "#969696"}),
    ],
)
async def test_update_of_one_value_sends_the_other_as_it_is(
    changes: dict[str, str], sent: dict[str, str]
) -> None:
    # Bigin needs the name with every change, and Zoho sets a colour left out to none.
    script = Scripted(answer(200, {"tags": [TAG]}), answer(200, {"tags": [success({"id": TAG_ID})]}))
    async with scripted_client(script) as client:
        tag = await client.tags.update("Contacts", TAG_ID, **changes)
    assert [r.method for r in script.requests] == ["GET", "PUT"]
    assert body(script.requests[1]) == {"tags": [{"id": TAG_ID, **sent}]}
    assert (tag.name, tag.color_code) == (sent["name"], sent["color_code"])


async def test_a_rename_of_a_tag_without_colour_sends_no_colour() -> None:
    script = Scripted(
        answer(200, {"tags": [{**TAG, "color_code": None}]}),
        answer(200, {"tags": [success({"id": TAG_ID})]}),
    )
    async with scripted_client(script) as client:
        await client.tags.update("Contacts", TAG_ID, name="Plain")
    assert body(script.requests[1]) == {"tags": [{"id": TAG_ID, "name": "Plain"}]}


async def test_update_of_a_tag_not_in_the_module_raises_not_found_and_puts_nothing() -> None:
    script = Scripted(answer(200, {"tags": [TAG]}))
    async with scripted_client(script) as client:
        with pytest.raises(NotFoundError):
            await client.tags.update("Contacts", OTHER_ID, name="Ghost")
    assert [r.method for r in script.requests] == ["GET"]


async def test_update_refused_by_bigin_raises_its_error() -> None:
    refusal = {
        "code": "INVALID_DATA",
        "details": {"api_name": "color_code"},
        "message": "The color is not supported",
    }
    script = Scripted(answer(200, {"tags": [{**refusal, "status": "error"}]}))
    async with scripted_client(script) as client:
        with pytest.raises(InvalidRequestError) as refused:
            await client.tags.update("Contacts", TAG_ID, name="X", color_code="#000000")
    assert refused.value.details == {"api_name": "color_code"}


async def test_delete_reads_a_list_or_an_object_answer() -> None:
    deleted = success({"id": TAG_ID}, "tags deleted successfully")
    script = Scripted(answer(200, {"tags": [deleted]}), answer(200, {"tags": deleted}), answer(204))
    async with scripted_client(script) as client:
        results = [await client.tags.delete(TAG_ID) for _ in range(3)]
    assert [(r.id, r.ok, r.action) for r in results] == [(TAG_ID, True, "delete")] * 3
    assert [(r.method, api_path(r)) for r in script.requests] == [("DELETE", f"/settings/tags/{TAG_ID}")] * 3


NOT_FOUND = {"code": "INVALID_DATA", "details": {}, "message": "tags not found", "status": "error"}


@pytest.mark.parametrize(
    "lost",
    [
        httpx.ReadTimeout("lost"),
        httpx.RemoteProtocolError("dropped"),
        answer(500, {"code": "INTERNAL_ERROR"}),
    ],
    ids=["timeout", "dropped", "500"],
)
async def test_a_retried_delete_that_finds_the_tag_gone_is_a_flagged_success(lost: Any) -> None:
    # The first attempt may have deleted the tag; Bigin answers "tags not found" alike for that
    # and for a tag that never existed: not a failure, but flagged.
    script = Scripted(lost, answer(400, NOT_FOUND))
    async with scripted_client(script) as client:
        result = await client.tags.delete(TAG_ID)
    assert len(script.requests) == 2
    assert result.ok and result.code == "MAYBE_ALREADY_DELETED" and result.action == "delete"
    assert result.details == {"id": TAG_ID, "maybe_never_existed": True}


async def test_deleting_a_tag_that_is_not_there_is_an_error_without_a_lost_attempt() -> None:
    script = Scripted(answer(400, NOT_FOUND), answer(403, {"code": "NO_PERMISSION", "message": "no"}))
    async with scripted_client(script) as client:
        with pytest.raises(InvalidRequestError) as gone:
            await client.tags.delete(TAG_ID)
        with pytest.raises(APIError) as denied:
            await client.tags.delete(TAG_ID)
    assert gone.value.code == "INVALID_DATA" and denied.value.status_code == 403


async def test_a_retried_delete_refused_for_another_reason_stays_refused() -> None:
    script = Scripted(httpx.ReadTimeout("lost"), answer(400, {**NOT_FOUND, "code": "AUTHORIZATION_FAILED"}))
    async with scripted_client(script) as client:
        with pytest.raises(APIError) as refused:
            await client.tags.delete(TAG_ID)
    assert refused.value.code == "AUTHORIZATION_FAILED"


async def test_a_delete_answer_that_cannot_be_read_is_reported_as_such() -> None:
    script = Scripted(answer(400, raw=b"<html>bad gateway</html>"), answer(200, {"tags": "nope"}))
    async with scripted_client(script) as client:
        with pytest.raises(APIError) as refused:
            await client.tags.delete(TAG_ID)
        assert refused.value.status_code == 400 and len(script.requests) == 1
        with pytest.raises(APIError) as malformed:
            await client.tags.delete(TAG_ID)
    assert malformed.value.code == "MALFORMED_RESPONSE" and len(script.requests) == 4


async def test_merge_posts_the_tag_as_the_conflict_of_the_one_kept() -> None:
    script = Scripted(answer(200, {"tags": [success(TAG, "tags merge successfully")]}))
    async with scripted_client(script) as client:
        result = await client.tags.merge(OTHER_ID, TAG_ID)
    (sent,) = script.requests
    assert (sent.method, api_path(sent)) == ("POST", f"/settings/tags/{TAG_ID}/actions/merge")
    assert body(sent) == {"tags": [{"conflict_id": OTHER_ID}]}
    assert result.ok and result.id == TAG_ID and result.action == "merge"


async def test_a_merge_whose_answer_is_lost_is_not_sent_again() -> None:
    script = Scripted(httpx.ReadTimeout("lost"))
    async with scripted_client(script) as client:
        with pytest.raises(AmbiguousWriteError):
            await client.tags.merge(OTHER_ID, TAG_ID)
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("answered", "count"),
    [(answer(200, {"count": "3"}), 3), (answer(200, {"count": 0}), 0), (answer(204), 0)],
)
async def test_records_count_reads_a_string_a_number_or_no_content(
    answered: httpx.Response, count: int
) -> None:
    script = Scripted(answered)
    async with scripted_client(script) as client:
        assert await client.tags.records_count("Deals", TAG_ID) == count
    (sent,) = script.requests
    assert (api_path(sent), query(sent)) == (
        f"/settings/tags/{TAG_ID}/actions/records_count",
        {"module": "Pipelines"},
    )


@pytest.mark.parametrize(
    "bad", [{"count": "-1"}, {"count": "three"}, {"count": True}, {"count": 2.5}, {}, {"count": "٣"}]
)
def test_a_count_that_is_not_a_whole_number_is_a_malformed_answer(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_records_count(json.dumps(bad).encode())


async def test_a_malformed_count_is_retried_then_reported() -> None:
    script = Scripted(answer(200, {"count": "lots"}))
    async with scripted_client(script) as client:
        with pytest.raises(APIError) as malformed:
            await client.tags.records_count("Contacts", TAG_ID)
    assert malformed.value.code == "MALFORMED_RESPONSE" and len(script.requests) == 3


def test_tag_results_read_every_shape_zoho_shows() -> None:
    assert [r.id for r in parse_tag_results(b'{"tags": [{"code": "SUCCESS", "details": {"id": "1"}}]}')] == [
        "1"
    ]
    assert [r.code for r in parse_tag_results(json.dumps(NOT_FOUND).encode())] == ["INVALID_DATA"]
    assert parse_tag_results(b"") == []
    with pytest.raises(ValueError):
        parse_tag_results(b'{"tags": "nope"}')
    with pytest.raises(ValueError):
        parse_tag_results(b"[1]")


# -- add_tags / remove_tags -------------------------------------------------------------------


def tagging_server(
    fail: frozenset[str] | set[str] = frozenset(), order: Callable[[list[str]], list[str]] | None = None
) -> Scripted:
    """Answers each add/remove call with one entry per record id it was sent (query ``ids``)."""

    def reply(request: httpx.Request) -> httpx.Response:
        ids = query(request)["ids"].split(",")
        entries = [
            {"code": "INVALID_DATA", "details": {"id": i}, "message": "invalid id", "status": "error"}
            if i in fail
            else success({"id": i, "tags": query(request)["tag_names"].split(",")})
            for i in (order(ids) if order else ids)
        ]
        failed = sum(e["status"] == "error" for e in entries)
        return answer(400 if failed == len(entries) else 207 if failed else 200, {"data": entries})

    return Scripted(reply)


def record_ids(count: int) -> list[str]:
    return [str(5545000000001000000 + n) for n in range(count)]


async def test_1200_records_are_tagged_in_three_calls_with_one_result_each_in_order() -> None:
    ids = record_ids(1200)
    script = tagging_server()
    async with scripted_client(script) as client:
        results = await client.contacts.add_tags(ids, ["VIP", "Hot lead"])
    assert [len(query(r)["ids"].split(",")) for r in script.requests] == [500, 500, 200]
    assert [r.id for r in results] == ids and all(r.ok for r in results)
    first = script.requests[0]
    assert (first.method, api_path(first)) == ("POST", "/Contacts/actions/add_tags")
    assert query(first)["tag_names"] == "VIP,Hot lead"
    assert body(first) == {"tags": [{"name": "VIP"}, {"name": "Hot lead"}], "ids": ids[:500]}
    assert [body(r)["ids"] for r in script.requests] == [ids[:500], ids[500:1000], ids[1000:]]


async def test_remove_tags_cuts_the_same_way_and_answers_out_of_order_are_lined_up() -> None:
    ids = record_ids(501)
    script = tagging_server(order=lambda sent: list(reversed(sent)))
    async with scripted_client(script) as client:
        results = await client.deals.remove_tags(ids, "VIP")
    assert [api_path(r) for r in script.requests] == ["/Pipelines/actions/remove_tags"] * 2
    assert [r.id for r in results] == ids


async def test_records_refused_are_failed_results_even_when_a_whole_call_fails() -> None:
    ids = record_ids(600)
    bad = set(ids[500:])  # every record of the second call: a 400 with per-record entries
    script = tagging_server(fail=bad | {ids[3]})
    async with scripted_client(script) as client:
        results = await client.contacts.add_tags(ids, ["VIP"])
    assert [r.id for r in results] == ids
    assert [r.id for r in results if not r.ok] == [ids[3], *ids[500:]]
    assert results[3].code == "INVALID_DATA"


async def test_a_call_refused_as_a_whole_raises_and_the_earlier_calls_stay_applied() -> None:
    limit = {
        "code": "LIMIT_EXCEEDED",
        "details": {"param": "tag_names"},
        "message": "too many",
        "status": "error",
    }
    ids = record_ids(501)
    script = Scripted(tagging_server().answers[0], answer(400, limit))
    async with scripted_client(script) as client:
        with pytest.raises(InvalidRequestError) as refused:
            await client.contacts.add_tags(ids, ["VIP"])
    assert refused.value.code == "LIMIT_EXCEEDED" and len(script.requests) == 2


async def test_a_tagging_call_whose_answer_is_lost_is_sent_again() -> None:
    ids = record_ids(3)
    script = Scripted(httpx.ReadTimeout("lost"), tagging_server().answers[0])
    async with scripted_client(script) as client:
        results = await client.contacts.add_tags(ids, ["VIP"])
    assert len(script.requests) == 2 and [r.id for r in results] == ids


@pytest.mark.parametrize(
    "bad_answer",
    [
        {"data": [success({"id": "1"})]},  # fewer results than records
        {"data": [success({"id": "7"}), success({"id": "8"})]},  # about other records
        {"nothing": True},
    ],
    ids=["too-few", "other-ids", "no-data"],
)
async def test_an_answer_that_does_not_line_up_with_the_records_is_malformed(
    bad_answer: dict[str, Any],
) -> None:
    script = Scripted(answer(200, bad_answer))
    async with scripted_client(script) as client:
        with pytest.raises(APIError) as malformed:
            await client.contacts.add_tags(["1", "2"], ["VIP"])
    assert malformed.value.code == "MALFORMED_RESPONSE" and len(script.requests) == 3


async def test_one_record_id_may_be_given_alone_and_a_2xx_that_is_not_json_is_malformed() -> None:
    script = Scripted(tagging_server().answers[0], answer(200, raw=b"<html>proxy</html>"))
    async with scripted_client(script) as client:
        (one,) = await client.contacts.add_tags("5545000000001000001", "VIP")
        with pytest.raises(APIError) as malformed:
            await client.contacts.remove_tags("5545000000001000001", "VIP")
    assert one.id == "5545000000001000001" and one.ok
    assert query(script.requests[0])["ids"] == "5545000000001000001"
    assert malformed.value.code == "MALFORMED_RESPONSE" and len(script.requests) == 4


async def test_a_refusal_whose_body_is_not_json_raises_the_http_error() -> None:
    script = Scripted(answer(400, raw=b"<html>bad gateway</html>"))
    async with scripted_client(script) as client:
        with pytest.raises(APIError) as refused:
            await client.contacts.add_tags(["1"], ["VIP"])
    assert refused.value.status_code == 400 and len(script.requests) == 1


# -- bad input: refused before anything is sent ------------------------------------------------

BAD_CALLS: dict[str, Callable[[BiginClient], Awaitable[Any]]] = {
    "tag-no-records": lambda c: c.contacts.add_tags([], ["VIP"]),
    "tag-bad-id": lambda c: c.contacts.add_tags(["12/34"], ["VIP"]),
    "tag-id-twice": lambda c: c.contacts.add_tags(["1", "2", "1"], ["VIP"]),
    "tag-ids-not-a-list": lambda c: c.contacts.add_tags({"1": 1}, ["VIP"]),  # type: ignore[arg-type]
    "tag-no-names": lambda c: c.contacts.remove_tags(["1"], []),
    "tag-comma": lambda c: c.contacts.add_tags(["1"], ["a,b"]),
    "tag-blank": lambda c: c.contacts.add_tags(["1"], ["  "]),
    "tag-not-text": lambda c: c.contacts.add_tags(["1"], [5]),  # type: ignore[list-item]
    "tag-name-twice": lambda c: c.contacts.add_tags(["1"], ["VIP", "vip"]),
    "tag-names-not-a-list": lambda c: c.contacts.add_tags(["1"], 5),  # type: ignore[arg-type]
    "list-bad-module": lambda c: c.tags.list("../x"),
    "list-module-not-text": lambda c: c.tags.list(["Contacts"]),  # type: ignore[arg-type]
    "create-nothing": lambda c: c.tags.create("Contacts", []),
    "create-comma": lambda c: c.tags.create("Contacts", ["a,b"]),
    "create-twice": lambda c: c.tags.create("Contacts", ["A", {"name": "a"}]),
    "create-bad-colour": lambda c: c.tags.create("Contacts", [{"name": "A", "color_code": "red"}]),
    "create-short-colour": lambda c: c.tags.create("Contacts", [Tag(name="A", color_code="#FFF")]),
    "create-unknown-key": lambda c: c.tags.create("Contacts", [{"name": "A", "id": "1"}]),
    "create-not-a-tag": lambda c: c.tags.create("Contacts", [5]),  # type: ignore[list-item]
    "update-nothing": lambda c: c.tags.update("Contacts", "1"),
    "update-bad-id": lambda c: c.tags.update("Contacts", "../1", name="x"),
    "update-comma": lambda c: c.tags.update("Contacts", "1", name="a,b"),
    "update-bad-colour": lambda c: c.tags.update("Contacts", "1", color_code="#12345G"),
    "update-colour-newline": lambda c: c.tags.update("Contacts", "1", color_code="#123456\n"),
    "delete-bad-id": lambda c: c.tags.delete("0"),
    "merge-into-itself": lambda c: c.tags.merge("12", "12"),
    "merge-bad-id": lambda c: c.tags.merge("12", "x"),
    "count-bad-id": lambda c: c.tags.records_count("Contacts", "1 OR 1"),
    "count-bad-module": lambda c: c.tags.records_count("Con tacts", "1"),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
async def test_bad_input_is_refused_with_nothing_sent(call: Callable[[BiginClient], Awaitable[Any]]) -> None:
    script = Scripted(answer(500))
    async with scripted_client(script) as client:
        with pytest.raises(ValidationError):
            await call(client)
    assert script.requests == []


def test_checks_keep_what_is_good() -> None:
    assert check_tag_names(" VIP ") == ["VIP"]
    assert check_tag_names([Tag(name="A"), "B"]) == ["A", "B"]
    assert check_color_code("#a8c026") == "#a8c026"
