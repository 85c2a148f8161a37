"""Second reading of the module-client work of issue #9 (items 5, 7, 9, 22, 23, 29): the traps left.

A record read from Bigin sends its id and what changed since the read: an in-place change (a tag
appended, a lookup's id changed) is a change too, never lost without a word. ``create()`` and
``upsert()`` refuse a read record (it would send its id and a few fields, not a copy). Ids are
plain digit strings whatever type they come in. ``bigin export --fields all`` past Bigin's 50
fields a read is a usage error that says how many and what to do.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigin_async._inputs import check_id
from bigin_async.errors import APIError, ValidationError
from bigin_async.models import Contact, Tag, mark_as_read
from bigin_async.resources.settings import SettingsClient
from bigin_emulator import BiginEmulator
from tests.helpers.cli import bigin
from tests.helpers.resources import Scripted, scripted_client, wired_client

READ = {
    "id": "5545000000000000001",
    "Last_Name": "Lovelace",
    "Email": "ada@example.com",
    "Full_Name": "Ada Lovelace",
    "Tag": [{"name": "vip", "id": "5545000000000000900"}],
    "Owner": {"id": "5545000000000000100", "name": "Owner One"},
    "Custom_c": {"nested": [1, 2]},
    "$approval_state": "approved",
}


def read_contact() -> Contact:
    contact = Contact.model_validate(READ)
    mark_as_read([contact])
    return contact


# -- in-place changes of a read record ---------------------------------------------------------
def test_a_tag_appended_in_place_to_a_read_record_is_sent() -> None:
    contact = read_contact()
    assert contact.Tag is not None
    contact.Tag.append(Tag(name="new"))
    wire = contact.to_wire()
    assert [t["name"] for t in wire["Tag"]] == ["vip", "new"]
    assert set(wire) == {"id", "Tag"}  # nothing else that was read


def test_a_nested_lookup_changed_in_place_is_sent_whole() -> None:
    contact = read_contact()
    assert contact.Owner is not None
    contact.Owner.name = "Renamed"  # a lookup is written by its id: its name alone is no change
    assert contact.to_wire() == {"id": READ["id"]}
    contact.Owner.id = "5545000000000000200"
    wire = contact.to_wire()
    assert wire["Owner"]["id"] == "5545000000000000200"
    assert set(wire) == {"id", "Owner"}


def test_an_extra_field_changed_in_place_is_sent() -> None:
    contact = read_contact()
    contact.get("Custom_c")["nested"].append(3)
    assert contact.to_wire() == {"id": READ["id"], "Custom_c": {"nested": [1, 2, 3]}}


def test_a_read_record_left_alone_sends_only_its_id_and_an_equal_assignment_is_sent() -> None:
    contact = read_contact()
    assert contact.to_wire() == {"id": READ["id"]}
    contact.Last_Name = "Lovelace"  # the same value, assigned: an instruction, so it is sent
    assert contact.to_wire() == {"id": READ["id"], "Last_Name": "Lovelace"}


def test_copies_and_pickles_of_a_read_record_keep_what_changed_apart() -> None:
    contact = read_contact()
    deep = copy.deepcopy(contact)
    assert deep.Tag is not None
    deep.Tag.append(Tag(name="deep"))
    revived = pickle.loads(pickle.dumps(contact))
    assert revived.Owner is not None
    revived.Owner.id = "5545000000000000200"
    assert revived.Owner.name == "Owner One"
    assert contact.to_wire() == {"id": READ["id"]}  # neither copy touched the original
    assert set(deep.to_wire()) == {"id", "Tag"}
    assert set(revived.to_wire()) == {"id", "Owner"}
    assert set(contact.model_copy(update={"Phone": "555"}).to_wire()) == {"id", "Phone"}
    assert deep != contact and revived != contact and copy.deepcopy(contact) == contact


# -- create()/upsert() of a read record ------------------------------------------------------------
@pytest.mark.parametrize("call", ["create", "upsert"])
async def test_create_or_upsert_of_a_record_read_from_bigin_is_refused_before_sending(call: str) -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        made = await client.contacts.create({"Last_Name": "Lovelace", "Email": "ada@example.com"})
        assert made.id is not None
        read = await client.contacts.get(made.id, fields=["Last_Name", "Email"])
        read.Phone = "555"
        wire.clear()
        with pytest.raises(
            ValidationError, match=r"read from Bigin.*update\(record\.id, record\)"
        ) as refused:
            await getattr(client.contacts, call)(read)
        assert wire.sent == []
        assert "model_dump(by_alias=True, include=" in str(refused.value)
        # The ways the message gives: update() sends the change alone; a copy names its fields.
        await client.contacts.update(made.id, read)
        assert wire.sent[-1].body["data"] == [{"Phone": "555"}]
        copied = await client.contacts.create(read.model_dump(by_alias=True, include={"Last_Name", "Phone"}))
        assert wire.sent[-1].body["data"] == [{"Last_Name": "Lovelace", "Phone": "555"}]
    assert {r["id"] for r in emulator.store.table("Contacts")} == {made.id, copied.id}


# -- ids ---------------------------------------------------------------------------------------------
class Sly(str):
    """A str subclass that prints itself as something else: a URL built from it must not follow."""

    def __str__(self) -> str:
        return "../settings"

    def __format__(self, spec: str) -> str:
        return "../settings"


def test_check_id_of_a_str_subclass_is_a_plain_str_of_its_digits() -> None:
    checked = check_id(Sly("5545000000000000001"))
    assert type(checked) is str
    assert f"/Contacts/{checked}" == "/Contacts/5545000000000000001"


async def test_an_id_that_prints_as_a_path_does_not_leave_the_record_url() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        made = await client.contacts.create({"Last_Name": "Lovelace"})
        assert made.id is not None
        await client.contacts.get(Sly(made.id))
    assert [s.path for s in wire.sent if s.method == "GET"] == [f"/Contacts/{made.id}"]


@pytest.mark.parametrize(
    "value",
    ["0123", "00000000000000000001", "\u0661\u0662\u0663", "\uff11\uff12", " 123", "123 ", "12_3", "+123"],
)
def test_check_id_refuses_what_no_int_id_could_print_as(value: str) -> None:
    # Ids are checked the same way whatever their type: a str is an id when it is what an int id prints as.
    with pytest.raises(ValidationError):
        check_id(value)


def test_check_id_accepts_the_same_id_as_int_and_str() -> None:
    assert check_id(5545000000000000001) == check_id("5545000000000000001") == "5545000000000000001"
    assert check_id(10**29 + 1) == str(10**29 + 1)


# -- bigin export --fields all past 50 fields ---------------------------------------------------------
async def test_export_of_all_fields_past_fifty_is_a_usage_error_naming_the_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["Last_Name", "Email", *(f"Field_{n:02d}_c" for n in range(70))]

    async def many_fields(self: SettingsClient, module: str, *args: Any, **kwargs: Any) -> list[str]:
        return names

    monkeypatch.setattr(SettingsClient, "field_names", many_fields)
    emulator = BiginEmulator(seed_records=3)
    output = tmp_path / "all.csv"
    # Through calls (a record read takes at most 50 fields); --via auto takes a Bulk Read job
    # for more (tests/cli/test_via_choices.py: export_via).
    calls = ("--via", "calls")
    run = await bigin(emulator, "export", "Contacts", *calls, "--fields", "all", "-o", str(output))
    named = await bigin(
        emulator, "export", "Contacts", *calls, "--fields", ",".join(names[:51]), "-o", str(output)
    )
    searched = await bigin(
        emulator,
        "export",
        "Contacts",
        *calls,
        "--fields",
        "all",
        "--criteria",
        "(Last_Name:equals:x)",
        "-o",
        str(output),
    )
    assert (run.code, named.code, searched.code) == (2, 2, 2)
    assert "--fields all names 72 fields" in run.err and "50" in run.err and "export does not join" in run.err
    assert "--fields names 51 fields" in named.err and "72 fields" in searched.err
    assert not output.exists() and not (tmp_path / "all.csv.part").exists()
    assert not any(
        route.startswith("GET /bigin/v2/Contacts") for route in emulator.counters.requests_by_route
    )
    fifty = await bigin(emulator, "export", "Contacts", "--fields", ",".join(names[:50]), "-o", str(output))
    assert fifty.code == 0 and output.exists()  # at the cap: one walk, every column


@pytest.mark.parametrize("read", [False, True], ids=["built", "read"])
def test_a_deleted_field_is_not_sent_and_is_no_key_error(read: bool) -> None:
    contact = Contact.model_validate(READ)
    if read:
        mark_as_read([contact])
    contact.Phone = "555"
    contact.set("Other_c", "x")
    contact.Mobile = "1"
    del contact.Phone  # deleted: absent, as in model_dump; None is how a field is cleared in Bigin
    del contact.Tag
    delattr(contact, "Other_c")
    wire = contact.to_wire()
    assert "Phone" not in wire and "Tag" not in wire and "Other_c" not in wire
    assert wire["Mobile"] == "1"
    assert set(wire) == {"id", "Mobile"} if read else "Last_Name" in wire


def test_a_value_of_a_str_or_int_subclass_is_sent_as_its_plain_value() -> None:
    class Loud(int):
        def __int__(self) -> int:
            return 0

    wire = Contact(Last_Name=Sly("Lovelace"), Custom_c=Loud(7)).to_wire()
    assert wire == {"Last_Name": "Lovelace", "Custom_c": 7}
    assert type(wire["Last_Name"]) is str and type(wire["Custom_c"]) is int


# -- get() of more than 50 fields: one version of the record, not columns of two -----------------
def edited_between_reads(*, edits: int, field_count: int = 120) -> tuple[Scripted, list[list[str]]]:
    """A record whose Modified_Time (and values) change after each of its first ``edits`` reads."""
    names = [f"Field_{n:03d}" for n in range(field_count)]
    reads: list[list[str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/settings/fields"):
            return httpx.Response(200, json={"fields": [{"api_name": n, "data_type": "text"} for n in names]})
        asked = request.url.params["fields"].split(",")
        reads.append(asked)
        version = min(len(reads) - 1, edits)
        record: dict[str, Any] = {"id": RECORD_ID, "Modified_Time": f"2026-12-01T10:00:{version:02d}+00:00"}
        record.update({n: f"v{version}" for n in asked if n in names})
        return httpx.Response(200, json={"data": [record]})

    return Scripted(handle), reads


RECORD_ID = "5545000000000000001"


async def test_a_split_get_of_a_record_edited_between_its_reads_is_read_again_whole() -> None:
    script, reads = edited_between_reads(edits=1)
    async with scripted_client(script) as client:
        contact = await client.contacts.get(RECORD_ID, fields="all")
    values = {contact.get(f"Field_{n:03d}") for n in range(120)}
    assert values == {"v1"}  # every column from one version of the record
    assert all("Modified_Time" in asked and len(asked) <= 50 for asked in reads)
    assert len(reads) == 2 * 3  # the first whole read (3 parts) was torn, the second is not


async def test_a_split_get_of_a_record_that_keeps_changing_is_a_typed_error_not_a_torn_record() -> None:
    script, reads = edited_between_reads(edits=1_000)
    async with scripted_client(script) as client:
        with pytest.raises(APIError) as error:
            await client.contacts.get(RECORD_ID, fields="all")
    assert error.value.code == "RECORD_CHANGED_DURING_READ"
    assert len(reads) <= 3 * 3  # bounded: a few whole reads, then the error


async def test_a_split_get_without_modified_time_asked_does_not_return_it() -> None:
    script, reads = edited_between_reads(edits=0)
    names = [f"Field_{n:03d}" for n in range(60)]
    async with scripted_client(script) as client:
        contact = await client.contacts.get(RECORD_ID, fields=names)
    assert "Modified_Time" not in contact.model_fields_set  # used to check the reads, not asked for
    assert sorted(n for asked in reads for n in asked if n != "Modified_Time") == names


async def test_update_of_a_read_record_sends_its_tag_appended_in_place_with_what_was_assigned() -> None:
    emulator = BiginEmulator()
    async with wired_client(emulator) as (client, wire):
        made = await client.contacts.create({"Last_Name": "Lovelace", "Tag": [{"name": "vip"}]})
        assert made.id is not None
        read = await client.contacts.get(made.id, fields=["Last_Name", "Tag", "Created_Time"])
        assert read.Tag is not None and read.Created_Time is not None
        read.Tag.append(Tag(name="speaker"))
        read.Phone = "555"
        wire.clear()
        await client.contacts.update(made.id, read)
        (sent,) = wire.sent
        assert sent.body["data"] == [{"Tag": [{"name": "vip"}, {"name": "speaker"}], "Phone": "555"}]
        again = await client.contacts.get(made.id, fields=["Tag", "Phone"])
    assert again.Tag is not None and {t.name for t in again.Tag} == {"vip", "speaker"}
    assert again.Phone == "555"
