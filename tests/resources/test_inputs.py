"""Bad input is refused before anything is sent: the wire stays empty."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bigin_async._inputs import check_field_names, check_id, check_module_name
from bigin_async.client import BiginClient
from bigin_async.errors import ValidationError
from bigin_async.models import Contact
from bigin_emulator import BiginEmulator
from tests.helpers.resources import wired_client

HOSTILE_IDS: list[Any] = [
    "../settings",
    "12 34",
    "",
    None,
    "123\n",
    "12/34",
    "12?fields=Email",
    "%2e%2e",
    "١٢٣",  # Arabic-Indic digits: str.isdigit() says yes, Bigin says no
    "1" * 31,
    1.5,
    True,
    ["123"],
    -5,
]


async def _refused(call: Callable[[BiginClient], Awaitable[Any]], *, seed: int = 0) -> ValidationError:
    emulator = BiginEmulator(seed_records=seed)
    async with wired_client(emulator) as (client, wire):
        with pytest.raises(ValidationError) as error:
            await call(client)
    assert wire.sent == []
    assert emulator.counters.requests_total == 0
    return error.value


@pytest.mark.parametrize("bad_id", HOSTILE_IDS, ids=repr)
async def test_ids_that_are_not_digit_strings_never_reach_the_url(bad_id: Any) -> None:
    async def every_id_taking_call(client: BiginClient) -> None:
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: client.contacts.get(bad_id),
            lambda: client.contacts.update(bad_id, {"Last_Name": "x"}),
            lambda: client.contacts.delete(bad_id),
            lambda: client.contacts.related(bad_id, "Notes").to_list(limit=1),
            lambda: client.deals.move_to_stage(bad_id, "Proposal"),
            lambda: client.notes.add("Contacts", bad_id, "t", "c"),
            lambda: client.notes.for_record("Contacts", bad_id).to_list(limit=1),
            lambda: client.contacts.add_tags([bad_id], ["VIP"]),
            lambda: client.pipelines.get(bad_id),
            lambda: client.pipelines.delete(bad_id),
        ]
        refused = 0
        for call in calls:
            try:
                await call()
            except ValidationError:
                refused += 1
        assert refused == len(calls)
        raise ValidationError("all refused")

    await _refused(every_id_taking_call)


def test_ids_are_digit_strings_up_to_thirty_digits() -> None:
    assert check_id("5545000000001000009") == "5545000000001000009"
    assert check_id(5545000000001000009) == "5545000000001000009"  # an exact int is unambiguous
    assert check_id("1" * 30) == "1" * 30
    for bad in HOSTILE_IDS:
        with pytest.raises(ValidationError):
            check_id(bad)


def test_module_and_field_names_refuse_trailing_newlines_and_path_characters() -> None:
    for bad in ("Contacts\n", "Contacts/../settings", "", "1Contacts", "Con tacts", None):
        with pytest.raises(ValidationError):
            check_module_name(bad)
    for bad_fields in (["Email\n"], ["Email", "a,b"], [], ["Email;drop"], "Email\n"):
        with pytest.raises(ValidationError):
            check_field_names(bad_fields)
    assert check_field_names("Email") == ["Email"]
    assert check_field_names(["$approval_state", "Account_Name.id"]) == ["$approval_state", "Account_Name.id"]


@pytest.mark.parametrize("record", [{}, Contact(), 42, "Last_Name=x", None, [{"Last_Name": "x"}]], ids=repr)
async def test_empty_or_non_records_are_refused(record: Any) -> None:
    await _refused(lambda client: client.contacts.create(record))


async def test_updates_without_changes_or_with_a_different_id_are_refused() -> None:
    await _refused(lambda client: client.contacts.update("123", {}))
    await _refused(lambda client: client.contacts.update("123", {"id": "123"}))
    error = await _refused(lambda client: client.contacts.update("123", {"id": "456", "Last_Name": "x"}))
    assert "456" in str(error)


@pytest.mark.parametrize("per_page", [0, 201, -1, 1.5, "200", True, None])
async def test_per_page_outside_1_to_200_is_refused(per_page: Any) -> None:
    await _refused(lambda client: client.contacts.list(per_page=per_page).to_list(limit=1))
    await _refused(lambda client: client.contacts.search(word="ab", per_page=per_page).to_list(limit=1))
    await _refused(lambda client: client.contacts.related("123", "Notes", per_page=per_page).to_list(limit=1))


@pytest.mark.parametrize("per_page", [1, 200])
async def test_per_page_bounds_are_accepted(per_page: int) -> None:
    emulator = BiginEmulator(seed_records=3)
    async with wired_client(emulator) as (client, wire):
        page = await client.contacts.list(per_page=per_page)
    assert wire.sent[0].params["per_page"] == str(per_page)
    assert len(page.data) == min(per_page, 3)


@pytest.mark.parametrize(
    "modes",
    [
        {"email": "a@example.com", "phone": "555"},
        {"criteria": "(Last_Name:equals:x)", "word": "xy"},
        {"email": "a@example.com", "word": "xy", "phone": "1", "criteria": "(A:equals:b)"},
        {},
    ],
    ids=["email+phone", "criteria+word", "all four", "none"],
)
async def test_search_needs_exactly_one_mode(modes: dict[str, Any]) -> None:
    error = await _refused(lambda client: client.contacts.search(**modes).to_list(limit=1))
    assert "exactly one" in str(error)


@pytest.mark.parametrize("word", ["a", " a ", "", "  "])
async def test_search_words_need_two_characters(word: str) -> None:
    await _refused(lambda client: client.contacts.search(word=word).to_list(limit=1))


@pytest.mark.parametrize("value", ["", "   ", 5])
async def test_search_email_and_phone_must_be_text(value: Any) -> None:
    await _refused(lambda client: client.contacts.search(email=value).to_list(limit=1))
    await _refused(lambda client: client.contacts.search(phone=value).to_list(limit=1))


async def test_bad_list_options_are_refused() -> None:
    await _refused(lambda client: client.contacts.list(sort_order="up").to_list(limit=1))
    await _refused(lambda client: client.contacts.list(sort_by="Email;x").to_list(limit=1))
    await _refused(lambda client: client.contacts.list(cvid="../x").to_list(limit=1))
    await _refused(lambda client: client.contacts.list(max_records=0).to_list(limit=1))
    await _refused(lambda client: client.contacts.list(fields=["Email", "bad field"]).to_list(limit=1))
    await _refused(lambda client: client.contacts.list(fields=[]).to_list(limit=1))
    await _refused(lambda client: client.contacts.list().to_list(limit=0))
    await _refused(lambda client: client.contacts.related("123", "../settings").to_list(limit=1))


async def test_bad_writes_are_refused() -> None:
    await _refused(lambda client: client.contacts.create({"Last_Name": "x"}, trigger="workflow"))
    await _refused(lambda client: client.contacts.upsert({"Last_Name": "x"}, ["Email", "no good"]))
    await _refused(lambda client: client.contacts.add_tags(["123"], [""]))
    await _refused(lambda client: client.contacts.add_tags([], ["VIP"]))
    await _refused(lambda client: client.contacts.add_tags(["123"], ["a,b"]))
    await _refused(lambda client: client.contacts.add_tags(["123", "123"], ["VIP"]))  # one result per record
    await _refused(lambda client: client.notes.add("Contacts", "123", "title", "  "))
    await _refused(lambda client: client.notes.add("../x", "123", "title", "content"))
    await _refused(lambda client: client.deals.move_to_stage("123", " "))
    await _refused(lambda client: client.users.list(type="Everyone").to_list(limit=1))
    await _refused(lambda client: client.coql("delete from Contacts").to_list(limit=1))
    await _refused(lambda client: client.pipelines.create("", ["A"]))
    await _refused(lambda client: client.pipelines.create("P", []))
    await _refused(lambda client: client.pipelines.create("P", ["A", "a"]))
    await _refused(lambda client: client.pipelines.update("123"))


# -- issue #9 item 29: an int id is checked like a str id ----------------------------------------
@pytest.mark.parametrize(
    "bad",
    [10**40, 10**30, 10**5000, -1, 0, False, True, "0", "000", 0.0, -(10**20)],
    ids=lambda v: f"{type(v).__name__}:{v.bit_length()}bits" if isinstance(v, int) else repr(v),
)
def test_int_ids_obey_the_same_rule_as_string_ids(bad: Any) -> None:
    with pytest.raises(ValidationError):
        check_id(bad)


def test_an_int_id_of_thirty_digits_is_accepted_like_its_string() -> None:
    assert check_id(10**29) == str(10**29) == check_id(str(10**29))
    assert check_id(1) == "1"


async def test_a_huge_int_id_never_reaches_the_url() -> None:
    await _refused(lambda client: client.contacts.get(10**40))  # type: ignore[arg-type]
    await _refused(lambda client: client.contacts.update(10**40, {"Last_Name": "x"}))  # type: ignore[arg-type]
