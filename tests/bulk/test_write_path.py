"""The lighter write path gives exactly what the general one gives, on hostile input too.

Three shortcuts serve the common bulk write: a plain dict of plain values is copied in one step
(``engine._plain_wire``), a flat record is fingerprinted without a canonical copy
(``journal.record_hash``), and the plain answer is read straight into outcomes
(``engine._outcomes_from_body``). Each is held here equal to the general path it stands in for,
and the fingerprints to the values journals written before the shortcuts hold.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import sys
from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigin_async._transport import _encode, encode_plain
from bigin_async.bulk import engine
from bigin_async.bulk import journal as journal_module
from bigin_async.bulk.answers import answers_in, decode_answer, read_answers
from bigin_async.bulk.engine import BulkPlan, prepare
from bigin_async.bulk.journal import Journal, _canonical, _legacy_hash, record_hash
from bigin_async.bulk.results import RecordOutcome
from bigin_async.errors import UnreadableAnswerError
from tests.helpers.sink import CountingSink, success


class Colour(Enum):
    RED = "red"


class Text(str):
    def __str__(self) -> str:
        return "not what it holds"


class Number(int):
    pass


PARIS = timezone(timedelta(hours=1))

# Records a bulk write may be given: plain ones (the shortcut) and every kind the general path
# formats or refuses, so both sides of each shortcut's check are exercised.
HOSTILE: list[Any] = [
    {"Last_Name": "Doe", "Email": "doe@example.com"},
    {"Email": "doe@example.com", "Last_Name": "Doe"},  # same record, other key order
    {"Last_Name": "Łódź 東京 🎉 \u202e\u0000\"\\'", "Description": "\ud800 lone surrogate"},
    {"Last_Name": "None values", "Phone": None, "Email": None},
    {"Last_Name": "bools", "Active": True, "Deleted": False, "Count": 1},
    {"Last_Name": "huge", "Big": 10**40, "Negative": -(10**25), "Zero": 0},
    {"Last_Name": "float", "Score": 1.0, "Half": 0.5},
    {"Last_Name": "nan", "Score": float("nan")},
    {"Last_Name": "inf", "Score": float("inf")},
    {"Last_Name": "decimal", "Amount": Decimal("10.50"), "Whole": Decimal("3")},
    {"Last_Name": "bad decimal", "Amount": Decimal("NaN")},
    {"Last_Name": "dates", "When": date(2026, 2, 6), "At": datetime(2026, 2, 6, 0, 28, 53, 999, PARIS)},
    {"Last_Name": "naive", "At": datetime(2026, 2, 6, 0, 28, 53)},
    {"Last_Name": "nested", "Account_Name": {"id": "5545000000001000010", "name": "Zylker"}},
    {"Last_Name": "deep", "X": {"a": {"b": [1, {"c": None}]}}},
    {"Last_Name": "tags", "Tag": ["VIP", {"name": "Gold"}]},
    {"Last_Name": "set", "Tags": {"b", "a", "c"}},
    {"Last_Name": "enum", "Colour": Colour.RED},
    {"Last_Name": Text("subclass"), "N": Number(5)},
    {Text("Last_Name"): "subclass key"},
    {"Last_Name": "int key", 1: "one", None: "none", 2.5: "float"},
    {"Last_Name": "bool key", True: "yes"},
    {"Last_Name": "collide", 1: "int", "1": "str"},
    {"Last_Name": "bytes", "Blob": b"\x00\x01"},
    {"Last_Name": "object", "Thing": object()},
    {"Last_Name": "   "},  # blank mandatory field
    {"Email": "no-last-name@example.com"},
    {},
    {"Company_Name": "Zylker", "Last_Name": "alias", "Job_Title": "CEO"},
    {"Company_Name": "Zylker", "Account_Name": "explicit wins", "Last_Name": "alias"},
    {"Related_To": {"module": "Contacts", "id": "1"}, "Subject": "parent"},
    {"Participants": [{"id": "1"}], "Event_Title": "t", "Start_DateTime": "a", "End_DateTime": "b"},
    {"Location": "room", "Event_Title": "t", "Start_DateTime": "a", "End_DateTime": "b"},
    {"id": "5545000000001000010", "Last_Name": "update"},
    {"id": 5545000000001000010, "Last_Name": "int id"},
    {"id": "0123", "Last_Name": "leading zero"},
    {"id": True, "Last_Name": "bool id"},
    {"id": 10**40, "Last_Name": "huge id"},
    OrderedDict([("Last_Name", "ordered dict")]),
    "not a record",
    None,
    ["Last_Name", "Doe"],
]


def _old_record_hash(wire: Any, version: int = 3) -> str:
    """The fingerprint as computed before the shortcut: always through the canonical copy."""
    canonical = json.dumps(_canonical(wire), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size={2: 8, 3: 16}[version]).hexdigest()


def _outcome_or_error(call: Any) -> Any:
    try:
        return ("ok", call())
    except Exception as error:  # the same failure either way: its type and text
        return ("raised", type(error), str(error))


# -- fingerprints -------------------------------------------------------------------------------


# Fingerprints computed by the version before this one: journals on disk hold these.
PINNED = [
    (
        {"Last_Name": "Doe", "Email": "doe@example.com"},
        "652c287fe2d82b3a84c405f09ea8b1f7",
        "3e2991fb6734c1ba",
    ),
    (
        {"Last_Name": "Łódź 東京 🎉 \u202e", "Phone": None, "Active": True, "Count": 12345678901234567890123},
        "c22aaa8c82a6bfa445c1417a802895ae",
        "dae2eaa7b6a791a4",
    ),
    (
        {
            "Last_Name": "Nested",
            "Account_Name": {"id": "5545000000001000010", "name": "Zylker"},
            "Tag": [{"name": "VIP"}],
        },
        "cbe1a06be5f44cbe5f3c77dfc827c53d",
        "70ff1407735bf6d8",
    ),
    (
        {
            "Last_Name": "Numbers",
            "Amount": Decimal("10.50"),
            "Whole": 3.0,
            "When": date(2026, 2, 6),
            "At": datetime(2026, 2, 6, 0, 28, 53, tzinfo=timezone.utc),
        },
        "2172e0aeeb7e77974941067de7e26412",
        "32e1643925961260",
    ),
    ({"Last_Name": "Set", "Tags": {"b", "a", "c"}}, "1d48a9944255523bccc3df115436e416", "5a52c38a23822f83"),
]


@pytest.mark.parametrize(("record", "v3", "v2"), PINNED)
def test_fingerprints_are_the_ones_earlier_journals_hold(record: dict[str, Any], v3: str, v2: str) -> None:
    assert record_hash(record) == v3
    assert record_hash(record, version=2) == v2


def test_format_1_fingerprints_are_unchanged() -> None:
    record = {"Last_Name": "Doe", "Email": "doe@example.com"}
    assert _legacy_hash(record) == "3e2991fb6734c1ba"
    for wire in HOSTILE:
        expected = _outcome_or_error(
            lambda wire=wire: hashlib.blake2b(
                json.dumps(wire, sort_keys=True, separators=(",", ":"), default=str).encode(), digest_size=8
            ).hexdigest()
        )
        assert _outcome_or_error(lambda wire=wire: _legacy_hash(wire)) == expected


@pytest.mark.parametrize("record", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("version", [2, 3])
def test_the_flat_record_shortcut_gives_the_canonical_fingerprint(record: Any, version: int) -> None:
    expected = _outcome_or_error(lambda: _old_record_hash(record, version))
    assert _outcome_or_error(lambda: record_hash(record, version=version)) == expected


@pytest.mark.parametrize("record", HOSTILE, ids=range(len(HOSTILE)))
def test_the_fingerprint_of_each_wire_form_is_the_canonical_one(record: Any) -> None:
    """What the journal really fingerprints: the wire form ``prepare`` makes of each record."""
    for mode in ("create", "update", "upsert"):
        item = prepare(BulkPlan("Contacts", mode), 0, record, fingerprint=record_hash)
        if isinstance(item, engine._Item):
            assert item.hash == _old_record_hash(item.wire)


FLAT: list[dict[str, Any]] = [
    {"Last_Name": "Łódź 東京 🎉 \u202e\u0000\"\\'", "Description": "\ud800", "é": "key"},
    {"b": None, "a": True, "c": False, "d": 0, "e": -(10**30), "f": ""},
    {"Z": "z", "a": "a", "_": "_", "$se_module": "Accounts", "": "empty key"},
]


def test_the_flat_encoder_writes_the_text_of_the_canonical_encoder() -> None:
    for wire in FLAT:
        assert journal_module._FLAT_TEXT(wire) == journal_module._CANONICAL_TEXT(wire)


def test_without_json_s_c_encoder_the_fingerprint_text_is_the_canonical_encoder_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    assert journal_module._flat_text_encoder() is journal_module._CANONICAL_TEXT

    def other_arguments(*args: Any) -> Any:
        raise TypeError("c_make_encoder() takes other arguments")

    monkeypatch.setattr(json.encoder, "c_make_encoder", other_arguments)
    assert journal_module._flat_text_encoder() is journal_module._CANONICAL_TEXT


def test_a_huge_int_fails_the_fingerprint_alike_either_way() -> None:
    record = {"Last_Name": "huge", "N": 10**5000}  # past the digits Python prints
    with pytest.raises(ValueError):
        _old_record_hash(record)
    with pytest.raises(ValueError):
        record_hash(record)


async def test_a_journal_written_before_the_shortcut_resumes_without_sending(tmp_path: Path) -> None:
    record = {"Last_Name": "Doe", "Email": "doe@example.com"}
    path = tmp_path / "journal.jsonl"
    lines = [
        {"t": "header", "module": "Contacts", "mode": "create", "v": 3},
        {"t": "pending", "i": [0], "h": ["652c287fe2d82b3a84c405f09ea8b1f7"]},
        {
            "t": "done",
            "o": [
                {"i": 0, "h": "652c287fe2d82b3a84c405f09ea8b1f7", "s": "success", "a": "insert", "id": "42"}
            ],
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    sink = CountingSink()
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create([record, {"Last_Name": "New"}], journal=str(path))
    assert sink.batch_sizes == [1]  # only the new record went out
    first = result.outcomes[0]
    assert (first.status, first.id, first.from_journal, first.record) == ("success", "42", True, record)
    assert result.journal_matched == 1


def test_a_journal_is_true_exactly_while_it_holds_something(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    digests = [f"{n:032x}" for n in (1, 1, 2, 3)]
    lines = [
        {"t": "header", "module": "Contacts", "mode": "create", "v": 3},
        {"t": "pending", "i": [0, 1, 2, 3], "h": digests},
        {"t": "done", "o": [{"i": 3, "h": digests[3], "s": "error", "c": "X"}]},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    journal = Journal(path, module="Contacts", mode="create")
    try:
        journal.lock_and_load()
        seen = []
        for digest in (digests[3], digests[0], digests[2], "f" * 32, digests[0], digests[0]):
            seen.append((bool(journal), len(journal) > 0))
            journal.take(digest)
        seen.append((bool(journal), len(journal) > 0))
        assert all(truth == counted for truth, counted in seen)
        assert seen[0] == (True, True) and seen[-1] == (False, False)
    finally:
        journal.close()


# -- preparing records ----------------------------------------------------------------------------


def _item_view(prepared: Any) -> Any:
    if isinstance(prepared, RecordOutcome):
        return prepared
    return (
        prepared.index,
        prepared.record,
        list(prepared.wire.items()) if isinstance(prepared.wire, dict) else prepared.wire,
        prepared.hash,
        prepared.idempotent,
    )


@pytest.mark.parametrize("module", ["Contacts", "Accounts", "Pipelines", "Tasks", "Events", "Notes", ""])
@pytest.mark.parametrize("mode", ["create", "update", "upsert", "delete"])
def test_the_plain_dict_shortcut_prepares_as_the_general_path(
    module: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = [
        BulkPlan(module, mode),  # type: ignore[arg-type]
        BulkPlan(module, mode, duplicate_check_fields=["Email", "Company_Name"]),  # type: ignore[arg-type]
    ]
    for plan in plans:
        fast = [_item_view(prepare(plan, n, r, fingerprint=record_hash)) for n, r in enumerate(HOSTILE)]
        with monkeypatch.context() as patched:
            patched.setattr(engine, "_plain_wire", lambda renames, record: None)
            general = [
                _item_view(prepare(plan, n, r, fingerprint=_old_record_hash)) for n, r in enumerate(HOSTILE)
            ]
        assert fast == general


def test_the_shortcut_copies_the_record_and_leaves_it_untouched() -> None:
    record = {"Company_Name": "Zylker", "Last_Name": "Doe"}
    item = prepare(BulkPlan("Contacts", "create"), 0, record)
    assert isinstance(item, engine._Item)
    assert item.wire == {"Last_Name": "Doe", "Account_Name": "Zylker"}
    assert item.wire is not record and record == {"Company_Name": "Zylker", "Last_Name": "Doe"}
    assert item.record is record


# -- encoding the body ----------------------------------------------------------------------------


class _Recorder:
    """Records what ``_call`` hands the transport, and answers nothing of interest."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.sent.append(kwargs)
        return httpx.Response(201, content=b"{}", request=httpx.Request(method, "https://x.test" + path))


def _strict(body: Any) -> Any:
    return _outcome_or_error(lambda: _encode(body))


@pytest.mark.parametrize("module", ["Contacts", "Accounts", "Pipelines", "Tasks", "Events", "Notes", ""])
@pytest.mark.parametrize("mode", ["create", "update", "upsert"])
async def test_each_call_s_body_is_the_json_the_strict_encoder_writes(module: str, mode: str) -> None:
    plans = [
        BulkPlan(module, mode),  # type: ignore[arg-type]
        BulkPlan(module, mode, duplicate_check_fields=["Email"], trigger=["workflow"], send_trigger=True),  # type: ignore[arg-type]
        BulkPlan(module, mode, duplicate_check_fields=[Text("Email")]),  # type: ignore[arg-type]
    ]
    for plan in plans:
        # Ints near and past the length Python prints (json refuses those: nothing is sent).
        records = [
            *HOSTILE,
            {"Last_Name": "long", "Big": 10**4299},
            {"Last_Name": "too long", "Big": -(10**4300)},
        ]
        items = [item for n, r in enumerate(records) if isinstance(item := prepare(plan, n, r), engine._Item)]
        recorder = _Recorder()
        batches = [[item] for item in items] + [items, [i for i in items if i.plain]]
        for batch in batches:
            await engine._call(recorder, plan, batch, True)  # type: ignore[arg-type]
        for batch, sent in zip(batches, recorder.sent, strict=True):
            strict = _strict(sent["json"])
            names = [*sent["json"].get("duplicate_check_fields", ()), *sent["json"].get("trigger", ())]
            quick = all(i.plain and engine._short_ints(i.wire) for i in batch)
            quick = quick and all(type(name) is str for name in names)
            assert (sent.get("content") is not None) == quick
            if not quick:  # the strict way: the transport encodes (or refuses) it
                continue
            # The quicker way only for what the strict encoder writes alike, and it writes that.
            assert strict[0] == "ok" and json.loads(sent["content"]) == json.loads(strict[1])
            assert all(i.plain for i in batch) and sent["content"].decode("utf-8")


def test_plain_records_are_the_common_case_and_the_odd_ones_are_not() -> None:
    plan = BulkPlan("Contacts", "create")
    plain = prepare(plan, 0, {"Last_Name": "Łódź 東京 🎉", "Phone": None, "Active": True, "Big": 10**40})
    assert isinstance(plain, engine._Item) and plain.plain
    for odd in (
        {"Last_Name": "int key", 1: "one"},
        {"Last_Name": "none key", None: "none"},  # json writes "null", the quicker way "None"
        {"Last_Name": "float", "Score": 1.5},
        {"Last_Name": Text("subclass")},
        {"Last_Name": "nested", "Account_Name": {"id": "1"}},
        OrderedDict([("Last_Name", "ordered dict")]),
    ):
        item = prepare(plan, 0, odd)
        assert not isinstance(item, engine._Item) or not item.plain, odd


@pytest.mark.parametrize("mode", ["create", "update", "upsert"])
def test_a_plain_item_knows_whether_it_holds_an_int(mode: str) -> None:
    plan = BulkPlan("Contacts", mode)  # type: ignore[arg-type]
    records = [*HOSTILE, {"id": "1", "Last_Name": "n", "Active": True}, {"id": "1", "Last_Name": "n", "N": 0}]
    seen = set()
    for n, record in enumerate(records):
        item = prepare(plan, n, record)
        if isinstance(item, engine._Item) and item.plain:
            # bool is not int here: json and the quicker serializer write True alike. An update's
            # int id is sent as text: the flag may stay (the check then finds no int), never lack.
            holds = int in map(type, item.wire.values())
            int_id = mode == "update" and type(record["id"]) is int
            assert item.ints == holds or (item.ints and int_id), record
            seen.add(holds)
    assert seen == {True, False}


def _quick(item: Any) -> bool:
    assert isinstance(item, engine._Item)
    return engine._plain_body([item], {"data": [item.wire]}) is not None


@pytest.mark.parametrize("limit", [0, 640, 4300])
def test_an_int_json_would_refuse_is_never_written_the_quick_way(
    limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "get_int_max_str_digits", lambda: limit)
    plan = BulkPlan("Contacts", "create")
    for digits in (1, 20, 638, 639, 640, 641, 4299, 4300, 4301, 5000):
        for sign in (1, -1):
            quick = _quick(prepare(plan, 0, {"Last_Name": "n", "Big": sign * (10 ** (digits - 1))}))
            assert not quick or not limit or digits <= limit, (digits, limit)
    assert _quick(prepare(plan, 0, {"Last_Name": "n", "Big": 10**19}))


def test_the_int_limit_is_the_one_in_force_when_the_body_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    item = prepare(BulkPlan("Contacts", "create"), 0, {"Last_Name": "n", "Big": 10**1000})
    assert _quick(item)
    monkeypatch.setattr(sys, "get_int_max_str_digits", lambda: 640)  # lowered after the record was read
    assert not _quick(item)


async def test_a_kept_progress_counts_the_records_told_so_far() -> None:
    seen: list[tuple[int, int, int]] = []
    kept: list[Any] = []

    def told(outcome: RecordOutcome) -> None:
        if kept:
            seen.append((outcome.index, kept[0].processed, kept[0].succeeded))
        if outcome.index == 150:
            raise RuntimeError("the caller's own failure")

    sink = CountingSink()
    async with sink.client() as bigin:
        with pytest.raises(RuntimeError):
            await bigin.contacts.bulk_create(
                [{"Last_Name": f"n{n}"} for n in range(300)], on_result=told, on_progress=kept.append
            )
    assert seen and all(processed == index + 1 == succeeded for index, processed, succeeded in seen)
    assert kept[0].processed == 151


def test_a_lone_surrogate_is_written_escaped_as_the_strict_encoder_writes_it() -> None:
    body = {"data": [{"Last_Name": "\ud800 lone", "Description": "Łódź \u0000 \u2028 </script>"}]}
    assert encode_plain(body) == _encode(body)
    assert json.loads(encode_plain({"data": [{"Last_Name": "Łódź \u0000 \u2028"}]}) or b"") == {
        "data": [{"Last_Name": "Łódź \u0000 \u2028"}]
    }


async def test_plain_records_reach_the_server_as_they_were_given() -> None:
    records = [
        {"Last_Name": f'Łódź 東京 🎉 \u202e"\\ {n}', "Email": f"u{n}@example.com", "Big": 10**20 + n}
        for n in range(5)
    ] + [{"Last_Name": "\ud800 lone"}]
    received: list[dict[str, Any]] = []

    def entry(position: int, record: dict[str, Any]) -> dict[str, Any]:
        received.append(record)
        return success(position, record)

    sink = CountingSink(entry)
    async with sink.client() as bigin:
        result = await bigin.contacts.bulk_create(records)
    assert result.counts["success"] == len(records)
    assert received == records


# -- reading answers ------------------------------------------------------------------------------

SUCCESS = {"code": "SUCCESS", "status": "success", "message": "record added", "details": {"id": "1"}}

# Answers for two records, as raw JSON text: duplicate keys and escapes survive only that way.
ANSWERS: list[str] = [
    json.dumps({"data": [SUCCESS, {**SUCCESS, "details": {"id": "2"}}]}),
    json.dumps({"data": [{**SUCCESS, "details": {"id": 5545000000001000010}}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "details": {"id": 10**40}}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "details": {"id": ""}}, {**SUCCESS, "id": ""}]}),
    json.dumps({"data": [{**SUCCESS, "id": "7", "details": {"id": "8"}}, {**SUCCESS, "id": None}]}),
    json.dumps({"data": [{**SUCCESS, "details": {"id": True}}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "details": {"id": 1.5}}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "details": {"id": {"nested": 1}}}, SUCCESS]}),
    json.dumps({"data": [{"code": "SUCCESS", "details": {"id": "1"}}, {"status": "SUCCESS"}]}),
    json.dumps({"data": [{"code": "SUCCESS"}, {"code": None, "status": None}]}),
    json.dumps(
        {
            "data": [
                {"code": "DUPLICATE_DATA", "status": "error", "message": "dup", "details": {"id": "9"}},
                {"code": "INVALID_DATA", "status": "error", "message": "bad", "details": {"id": "9"}},
            ]
        }
    ),
    json.dumps(
        {
            "data": [
                {**SUCCESS, "action": "insert"},
                {**SUCCESS, "action": "update", "duplicate_field": "Email"},
            ]
        }
    ),
    json.dumps({"data": [{**SUCCESS, "action": "delete"}, {**SUCCESS, "action": 5}]}),
    json.dumps({"data": [{**SUCCESS, "code": 200}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "message": ["a"]}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "details": None}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "details": ["id"]}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "details": {"id": "1", "deep": {"x": [1, {"y": None}]}}}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "message": "Łódź 東京 🎉 \u202e\u0000"}, SUCCESS]}),
    json.dumps({"data": [{**SUCCESS, "message": "Łódź 東京 🎉"}, SUCCESS]}, ensure_ascii=False),
    '{"data": [{"code": "SUCCESS", "code": "ERROR", "status": "success", "status": "error"}, '
    '{"code": "SUCCESS", "details": {"id": "1", "id": "2"}}]}',
    json.dumps({"data": [SUCCESS]}),  # fewer entries than records
    json.dumps({"data": [SUCCESS, SUCCESS, SUCCESS]}),  # more
    json.dumps({"data": [SUCCESS, SUCCESS, {"code": 1}]}),  # more, and the extra one odd
    json.dumps({"data": []}),
    json.dumps({"data": [SUCCESS, "not an entry"]}),
    json.dumps({"data": [SUCCESS, None]}),
    json.dumps({"data": {"code": "SUCCESS"}}),
    json.dumps({"data": None}),
    json.dumps({"code": "SUCCESS", "details": {"id": "1"}, "status": "success"}),
    json.dumps([SUCCESS, SUCCESS]),
    "null",
    "5",
    '"text"',
    "",
    "   \n",
    "{",
    "<html>",
]


def _items(plan: BulkPlan, count: int = 2) -> list[engine._Item]:
    records = [
        {"id": f"55450000000010000{n}", "Last_Name": f"Doe {n}", "Email": f"d{n}@example.com"}
        for n in range(count)
    ]
    items = [prepare(plan, 10 + n, record) for n, record in enumerate(records)]
    assert all(isinstance(item, engine._Item) for item in items)
    return items  # type: ignore[return-value]


def _general(plan: BulkPlan, items: list[engine._Item], content: bytes) -> Any:
    return _outcome_or_error(lambda: engine._outcomes_from_answers(plan, items, read_answers(content)))


@pytest.mark.parametrize("text", ANSWERS, ids=range(len(ANSWERS)))
@pytest.mark.parametrize("mode", ["create", "update", "upsert"])
def test_the_one_pass_reading_gives_the_outcomes_of_the_general_path(text: str, mode: str) -> None:
    plan = BulkPlan("Contacts", mode)  # type: ignore[arg-type]
    items = _items(plan)
    content = text.encode()
    expected = _general(plan, items, content)

    def fast() -> list[RecordOutcome]:
        body = decode_answer(content)
        outcomes = engine._outcomes_from_body(plan, items, body)
        return (
            outcomes
            if outcomes is not None
            else engine._outcomes_from_answers(plan, items, answers_in(body, content))
        )

    assert _outcome_or_error(fast) == expected


def test_the_plain_answer_takes_the_one_pass_reading() -> None:
    plan = BulkPlan("Contacts", "create")
    items = _items(plan)
    body = decode_answer(ANSWERS[0].encode())
    outcomes = engine._outcomes_from_body(plan, items, body)
    assert outcomes is not None
    assert [(o.index, o.status, o.action, o.id) for o in outcomes] == [
        (10, "success", "insert", "1"),
        (11, "success", "insert", "2"),
    ]
    assert outcomes[0].details is body["data"][0]["details"]  # freshly parsed: not copied


def test_unreadable_answers_raise_as_before() -> None:
    for content in (b"{", b"<html>", b'{"data": [1]}', b"[[[[" * 10_000):
        with pytest.raises(UnreadableAnswerError):
            answers_in(decode_answer(content), content)
    assert answers_in(decode_answer(b"  "), b"  ") == []


class _Stub:
    """A transport that answers each call with ``content`` (status ``status``)."""

    def __init__(self, content: bytes, status: int = 201) -> None:
        self.content = content
        self.status = status

    async def send(self, method: str, path: str, **_: Any) -> httpx.Response:
        request = httpx.Request(method, "https://www.zohoapis.com/bigin/v2" + path)
        return httpx.Response(self.status, content=self.content, request=request)


@pytest.mark.parametrize("text", ANSWERS, ids=range(len(ANSWERS)))
@pytest.mark.parametrize("mode", ["create", "update", "upsert", "delete"])
async def test_a_call_ends_alike_with_and_without_the_one_pass_reading(
    text: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = BulkPlan("Contacts", mode)  # type: ignore[arg-type]
    if mode == "delete":
        items: list[Any] = [prepare(plan, n, r) for n, r in enumerate(["5545000000001000010", "5"])]
    else:
        items = _items(plan)
    stub: Any = _Stub(text.encode())
    fast = await engine._send(stub, plan, items)
    monkeypatch.setattr(engine, "_outcomes_from_body", lambda plan, items, body: None)
    general = await engine._send(stub, plan, items)
    assert fast == general


async def test_mixed_upsert_batches_and_settled_records_are_released_in_input_order() -> None:
    records: list[Any] = []
    for n in range(30):
        if n % 7 == 3:
            records.append("not a record")  # refused before sending: settled in its batch
        elif n % 3:
            records.append({"Last_Name": f"keyed {n}", "Email": f"k{n}@example.com"})
        else:
            records.append({"Last_Name": f"keyless {n}"})
    sink = CountingSink()
    async with sink.client() as bigin:
        seen: list[int] = []
        result = await bigin.contacts.bulk_upsert(
            records, duplicate_check_fields=["Email"], batch_size=10, on_result=lambda o: seen.append(o.index)
        )
    assert seen == list(range(30))
    assert result.total == 30 and result.counts["error"] == 4
    assert sink.calls > 3  # the batches were split into keyed and keyless calls


async def test_a_done_line_is_written_as_before(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl", module="Contacts", mode="create")
    outcomes = [
        RecordOutcome(0, "success", "insert", id="1", code="SUCCESS", message="added", details={"id": "1"}),
        RecordOutcome(1, "error", None, code="INVALID_DATA", message="bad", details={"api_name": "Email"}),
        RecordOutcome(2, "unknown", "insert"),
        RecordOutcome(3, "error", "insert", id="5", code="", message="", details={}),
    ]
    try:
        journal.lock_and_load()
        await journal.log_outcomes(outcomes, ["a", "b", "c", "d"], ["r"], [("b", "error")])
    finally:
        journal.close()
    last = (tmp_path / "journal.jsonl").read_bytes().splitlines()[-1]
    assert last == (
        b'{"t":"done","o":[{"i":0,"h":"a","s":"success","a":"insert","id":"1","c":"SUCCESS","m":"added"},'
        b'{"i":1,"h":"b","s":"error","c":"INVALID_DATA","m":"bad","d":{"api_name":"Email"}},'
        b'{"i":2,"h":"c","s":"unknown","a":"insert"},'
        b'{"i":3,"h":"d","s":"error","a":"insert","id":"5","c":"","m":""}],"r":["r"],"x":[["b","error"]]}'
    )


# -- counting outcomes ----------------------------------------------------------------------------

_KINDS: list[dict[str, Any]] = [
    {"status": "success", "action": "insert"},
    {"status": "success", "action": "update"},
    {"status": "success", "action": "delete"},
    {"status": "success", "action": "delete", "code": "MAYBE_ALREADY_DELETED"},
    {"status": "success", "action": None, "code": "MAYBE_ALREADY_DELETED"},
    {"status": "success", "action": None},
    {"status": "success", "action": "insert", "from_journal": True},
    {"status": "error", "action": "insert", "code": "INVALID_DATA"},
    {"status": "error", "action": None, "code": "MAYBE_ALREADY_DELETED"},
    {"status": "unknown", "action": "insert", "from_journal": True},
    {"status": "unknown", "action": "update"},
]


@pytest.mark.parametrize("kept", [True, False])
@pytest.mark.parametrize("seed", range(60))
def test_a_batch_counted_at_once_counts_as_record_by_record(seed: int, kept: bool) -> None:
    import random

    from bigin_async.bulk.results import BulkProgress, BulkResult

    rng = random.Random(seed)
    # Some batches of one kind only (the quick count), the others mixed.
    pool = [rng.choice(_KINDS)] if seed % 3 == 0 else _KINDS
    batches = [[RecordOutcome(n, **rng.choice(pool)) for n in range(rng.randrange(0, 120))] for _ in range(3)]
    one, progress_one = BulkResult(kept=kept), BulkProgress()
    at_once, progress_at_once = BulkResult(kept=kept), BulkProgress()
    for batch in batches:
        for outcome in batch:
            one.record(outcome)
            progress_one.add(outcome)
        progress_at_once.add_tally(at_once.record_all(batch))
    assert at_once == one and progress_at_once == progress_one
    assert dict(at_once.counts) == dict(one.counts) and dict(at_once.actions) == dict(one.actions)
