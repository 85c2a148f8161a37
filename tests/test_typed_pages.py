"""Typed pages parsed straight from the body bytes give what ``json.loads`` then validation gave.

``parse_page`` validates the bytes in one pydantic-core pass and marks the records as read by
looking only at the fields that can hold a mutable value. The old path (``json.loads``, then
validating the dict, then :func:`mark_as_read` over every value) is the reference: over a few
hundred hostile bodies both must give the same records (dump, extras, fields set, read-forms
state) or raise the same exception class, one the transport reads as a malformed answer.
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

import httpx
import pydantic
import pytest
from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from bigin_async import BiginClient
from bigin_async._transport import _PARSE_ERRORS
from bigin_async.errors import APIError
from bigin_async.models import Company, Contact, Deal, Tag, Task, common, mark_as_read, parse_page
from bigin_async.models.base import _READ_AS_ID, BiginModel, _may_hold_mutable, mark_validated_as_read
from bigin_async.models.pages import _envelope
from bigin_async.models.record import Record

MODELS: tuple[type[BaseModel], ...] = (Contact, Company, Deal, Task, Tag)


def old_parse_page(model: type[BaseModel], body: bytes | str, key: str = "data") -> Any:
    """The reference: ``json.loads``, validation of the dict, every value looked at."""
    if not body or not body.strip():
        return _envelope(model, key)()
    page = _envelope(model, key).model_validate(json.loads(body))
    mark_as_read(page.data)
    return page


def state(record: BaseModel) -> str:
    """Everything a read record holds, as text (``repr``: NaN equals NaN there)."""
    return repr(
        (
            record.model_dump(warnings=False),
            record.model_extra,
            sorted(record.model_fields_set),
            record.__pydantic_private__,
        )
    )


def outcome(parse: Any, model: type[BaseModel], body: bytes | str) -> tuple[str, Any]:
    try:
        page = parse(model, body)
    except _PARSE_ERRORS as error:  # anything else would crash the transport's retry loop
        return "error", type(error)
    info = repr(page.info.model_dump()) if page.info is not None else None
    return "ok", (info, [state(record) for record in page.data])


# ---- hostile bodies -------------------------------------------------------------------------

TEXT_VALUES = [
    '"plain"',
    '""',
    '"caf\\u00e9"',
    '"\\ud83d\\ude00"',  # an escaped surrogate pair: one emoji
    '"\\ud800"',  # a lone surrogate, as a text cut in the middle of an emoji becomes
    '"x\\udc00y"',
    '"\\u0000"',
    '"日本語"',
    "null",
    "true",
    "12",
    "-0",
    "123456789012345678901234567890",
]
ANY_VALUES = [
    *TEXT_VALUES,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1.5",
    "0.1",
    "1E+2",
    "[]",
    "{}",
    '[1, {"a": [null, NaN]}]',
    '{"api_name": "Contacts", "id": "1"}',
    '{"name": "Admin", "id": "2", "email": "a@example.com"}',
    '[{"name": "VIP"}, {"name": "Hot", "id": 3}]',
    '{"a": 1, "a": 2}',
    "[" * 50 + "]" * 50,
    "[" * 199 + "]" * 199,
    "[" * 201 + "]" * 201,
    "[" * 600 + "]" * 600,
    "[" * 5000 + "]" * 5000,
]
FIELD_VALUES: dict[str, list[str]] = {
    "id": [*TEXT_VALUES, "5545000000001020008", "1.5", "[]"],
    "Email": TEXT_VALUES,
    "Last_Name": TEXT_VALUES,
    "Account_Name": [*TEXT_VALUES, "[]", '{"id": "1", "name": "Acme"}', '{"id": 7}', '{"name": "no id"}'],
    "Owner": ['{"name": "Admin", "id": "2", "email": "a@example.com"}', '{"id": "2", "x": NaN}', '"x"'],
    "Tag": ["[]", '[{"name": "VIP"}]', '["bare"]', '[{"name": "A", "color_code": "#fff", "$x": 1}]', "{}"],
    "Created_Time": ['"2026-02-06T00:28:53-08:00"', '"2026-02-06"', '"yesterday"', "0", "null"],
    "Annual_Revenue": [
        "1.5",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "12",
        "123456789012345678901234567890",
    ],
    "Employees": ["12", "1.0", "1e2", "1.5", "123456789012345678901234567890", '"12"', "true"],
    "Amount": ["1.5", "NaN", '"1.5"', "null"],
    "Closing_Date": ['"2026-02-06"', '"2026-02-06T00:00:00"', '"x"'],
    "What_Id": ['{"id": "9", "name": "Acme"}', "null", '"9"'],
    "$se_module": ['"Accounts"', "null", "3"],
    "name": ['"VIP"', "null", "1", '"\\ud800"'],
}
EXTRA_KEYS = ["Custom_c", "$approval_state", "$layout_id", "a b", "\\u00e9", "\\ud800", "", "$", "1"]


def random_record(rng: random.Random) -> str:
    pairs = []
    for _ in range(rng.randint(0, 8)):
        # No JSON float into a text field: that one difference has its own test below.
        if rng.random() < 0.6:
            key = rng.choice(list(FIELD_VALUES))
            values = FIELD_VALUES[key]
        else:
            key = rng.choice(EXTRA_KEYS)
            values = ANY_VALUES
        pairs.append(f'"{key}": {rng.choice(values)}')
        if rng.random() < 0.1:  # the same key again, with another value: the last one counts
            pairs.append(f'"{key}": {rng.choice(values)}')
    return "{" + ", ".join(pairs) + "}"


def random_info(rng: random.Random) -> str:
    choices = [
        '"info": {"per_page": 200, "count": 2, "page": 1, "more_records": true, '
        '"next_page_token": "abc", "previous_page_token": null, "sort_by": "id"}',
        '"info": {"more_records": false}',
        '"info": null',
        '"info": {"more_records": "true", "page": "1"}',
        '"info": {"more_records": 1, "count": 1.0}',
        '"info": {"more_records": NaN}',
        '"info": {"page": 1.5}',
        '"info": "x"',
        '"info": {"next_page_token": 5, "unknown": [1]}',
        '"info": {"more_records": true, "more_records": false}',
    ]
    return rng.choice(choices)


def random_body(rng: random.Random) -> bytes:
    parts = []
    if rng.random() < 0.9:
        records = ", ".join(random_record(rng) for _ in range(rng.randint(0, 4)))
        parts.append(rng.choice([f'"data": [{records}]', '"data": null', '"data": {}', '"data": "x"']))
    if rng.random() < 0.8:
        parts.append(random_info(rng))
    if rng.random() < 0.1:
        parts.append('"data": []')  # a second envelope key: the last one counts
    text = "{" + ", ".join(parts) + "}"
    roll = rng.random()
    if roll < 0.05:
        return text.encode("utf-16")
    if roll < 0.1:
        return b"\xef\xbb\xbf" + text.encode()
    if roll < 0.15:
        return text.encode()[: rng.randint(0, len(text))]  # cut short
    if roll < 0.18:
        return text.encode() + rng.choice([b" x", b"\n\t ", b"}", b"\x00"])
    if roll < 0.21:
        return text.encode("latin-1", errors="replace").replace(b"\\u00e9", b"\xe9")
    if roll < 0.23:
        return text.encode() + b"\xff"
    return text.encode()


FIXED_BODIES: list[bytes] = [
    b"",
    b" \n",
    b"null",
    b"[]",
    b"[1, 2]",
    b'"x"',
    b"12",
    b"{}",
    b'{"data": []}',
    b"{" * 100_000,
    b"[" * 100_000,
    b'{"data": [' + b"[" * 100_000 + b"]}",
    b'{"data": [{"id": "1", "X": ' + b"[" * 100_000 + b"]}]}",
    b'{"data": [{"id": "1", "X": ' + b"{" * 5000 + b"}}]}",
    b'{"data": [{"id": "1", "X": ' + b'{"a":' * 300 + b"1" + b"}" * 300 + b"}]}",
    b'{"data": [{"id": "1"}], "data": [{"id": "2"}]}',
    b'{"data": [{"id": "1", "id": "2", "X": 1, "Y": 2, "X": 3}]}',
    b'{"data": [{"id": 5545000000001020008, "X": 123456789012345678901234567890}]}',
    b'{"data": [{"id": "1", "X": NaN, "Y": Infinity, "Z": -Infinity}]}',
    b'{"data": [{"id": "1", "X": "\\ud800", "\\udc00": "\\ud83d"}]}',
    b'{"data": [{"id": "1", "X": "\xff"}]}',
    b'{"data": [{"id": "1", "X": "a\x01b"}]}',
    b'{"data": [{"id": "1", "X": nan}]}',
    b'{"data": [{"id": "1", "X": +1}]}',
    b'{"data": [{"id": "1", "X": 01}]}',
    b'{"data": [{"id": "1", "X": .5}]}',
    b'{"data": [{"id": "1", "X": 1.}]}',
    b'{"data": [{"id": "1", "X": \'a\'}]}',
    b'{"data": [{"id": "1",}]}',
    b'{"data": [{"id": "1"},]}',
    b'\xef\xbb\xbf{"data": [{"id": "1"}]}',
    '{"data": [{"id": "1"}]}'.encode("utf-16"),
    '{"data": [{"id": "1"}]}'.encode("utf-32"),
]


def hostile_bodies() -> list[bytes]:
    rng = random.Random(15)
    return FIXED_BODIES + [random_body(rng) for _ in range(600)]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_the_one_pass_parse_gives_what_json_loads_then_validation_gave(model: type[BaseModel]) -> None:
    differ = []
    outcomes = set()
    for body in hostile_bodies():
        new, old = outcome(parse_page, model, body), outcome(old_parse_page, model, body)
        outcomes.add(new[0] if new[0] == "ok" else new[1])
        # The one deliberate change of class: json's UnicodeDecodeError (which holds the whole
        # body) becomes a plain ValueError; see test_a_body_that_is_not_text_leaves_no_copy.
        if old == ("error", UnicodeDecodeError):
            old = ("error", ValueError)
        if new != old:
            differ.append((body[:200], new, old))
    assert not differ, differ[:3]
    # The bodies reach both sides of the comparison: pages, and each kind of refusal.
    assert {"ok", ValueError, json.JSONDecodeError, RecursionError, pydantic.ValidationError} <= outcomes


def test_the_bodies_json_loads_reads_and_pydantic_core_does_not_are_still_pages() -> None:
    cases = {
        b'{"data": [{"id": "1", "Last_Name": "\\ud83d"}]}': "\ud83d",  # a lone surrogate
        b'\xef\xbb\xbf{"data": [{"id": "1", "Last_Name": "A"}]}': "A",  # a byte order mark
        '{"data": [{"id": "1", "Last_Name": "B"}]}'.encode("utf-16"): "B",
        b'{"data": [{"id": "1", "Last_Name": "C", "X": ' + b"[" * 300 + b"]" * 300 + b"}]}": "C",
    }
    for body, name in cases.items():
        with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
            _envelope(Contact, "data").model_validate_json(body)
        assert parse_page(Contact, body).data[0].Last_Name == name


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"data": [{"id": "1", "X": ' + b"[" * 100_000 + b"]}]}",
        b'{"data": [{"id": "1", "X": ' + b'{"a": ' * 50_000 + b"}]}",
    ],
    ids=["top", "in-a-record", "objects"],
)
def test_a_body_nested_thousands_deep_is_a_parse_error_not_a_crash(body: bytes) -> None:
    with pytest.raises(_PARSE_ERRORS):
        parse_page(Contact, body)


def test_duplicate_keys_keep_the_last_value_as_json_loads_does() -> None:
    body = b'{"data": [{"id": "1", "id": "2", "X": 1, "Y": 2, "X": 3}], "info": {"page": 1, "page": 2}}'
    page = parse_page(Contact, body)
    assert page.data[0].id == "2"
    assert page.data[0].model_extra == {"X": 3, "Y": 2}
    assert page.info is not None and page.info.page == 2


def test_nan_infinity_and_huge_ints_are_read_as_json_loads_reads_them() -> None:
    body = (
        b'{"data": [{"id": 123456789012345678901234567890, "Annual_Revenue": NaN, '
        b'"X": Infinity, "Y": -Infinity, "Z": 123456789012345678901234567890}]}'
    )
    record = parse_page(Company, body).data[0]
    assert record.id == "123456789012345678901234567890"
    assert record.Annual_Revenue != record.Annual_Revenue  # NaN
    assert record.model_extra == {"X": float("inf"), "Y": float("-inf"), "Z": 123456789012345678901234567890}


def test_a_json_float_read_into_a_text_field_keeps_its_json_spelling() -> None:
    """The one documented difference from json.loads: pydantic-core writes the JSON number."""
    body = b'{"data": [{"id": 1e3, "Phone": 1.0, "Email": NaN, "Mobile": 1.5}]}'
    record = parse_page(Contact, body).data[0]
    assert (record.id, record.Phone, record.Email, record.Mobile) == ("1000", "1", "NaN", "1.5")
    reference = old_parse_page(Contact, body).data[0]
    assert (reference.id, reference.Phone, reference.Email, reference.Mobile) == (
        "1000.0",
        "1.0",
        "nan",
        "1.5",
    )


def test_unknown_and_dollar_fields_and_aliases_are_kept_on_a_page() -> None:
    body = (
        b'{"data": [{"id": "1", "What_Id": {"id": "9", "name": "Acme"}, "$se_module": "Accounts", '
        b'"$approval": {"delegate": false}, "Custom_c": [1, 2], "a b": null}], '
        b'"info": {"more_records": false, "next_page_token": null}}'
    )
    page = parse_page(Task, body)
    task = page.data[0]
    assert task.se_module == "Accounts" and task.get("$se_module") == "Accounts"
    assert task.Related_To is not None and task.Related_To.module == "Accounts"
    assert task.model_extra == {"$approval": {"delegate": False}, "Custom_c": [1, 2], "a b": None}
    assert page.info is not None and page.info.more_records is False
    assert state(task) == state(old_parse_page(Task, body).data[0])


def test_an_empty_body_is_an_empty_page() -> None:
    for body in (b"", b"  \n", ""):
        page = parse_page(Contact, body)
        assert page.data == [] and page.info is None


def test_records_read_from_a_page_send_what_changed_in_place() -> None:
    body = (
        b'{"data": [{"id": "1", "Last_Name": "A", "Tag": [], "Owner": {"id": "2", "name": "Admin"}, '
        b'"Account_Name": {"id": "3", "name": "Acme"}, "Custom_c": {"k": [1]}}]}'
    )
    record = parse_page(Contact, body).data[0]
    assert record.to_wire() == {"id": "1"}
    record.Tag.append(Tag(name="VIP"))  # type: ignore[union-attr]
    record.Owner.id = "5"  # type: ignore[union-attr]
    record.model_extra["Custom_c"]["k"].append(2)  # type: ignore[index]
    assert record.to_wire() == {
        "id": "1",
        "Owner": {"id": "5"},
        "Tag": [{"name": "VIP"}],
        "Custom_c": {"k": [1, 2]},
    }


# ---- which fields a validated page looks at -------------------------------------------------


class Colour(Enum):
    RED = "red"


def _as_list(value: str | None) -> Any:
    return [value]


class Odd(Record):
    plain: str | None = None
    when: datetime | None = None
    kind: Literal["a", "b", 1, None] = None
    colour: Colour | None = None
    after: Annotated[str | None, AfterValidator(_as_list)] = None
    checked: str | None = None
    listed: list[str] | None = None
    factory: str = Field(default_factory=str)
    odd_default: str = []  # type: ignore[assignment]  # a default is not validated

    @field_validator("checked", mode="after")
    @classmethod
    def _checked(cls, value: Any) -> Any:
        return {"was": value}


class Rewritten(BiginModel):
    plain: str | None = None

    @model_validator(mode="after")
    def _rewrite(self) -> Rewritten:
        self.__dict__["plain"] = ["anything"]
        return self


def test_only_the_fields_whose_type_allows_a_mutable_value_are_looked_at() -> None:
    assert _may_hold_mutable(Contact) == (
        "Owner",
        "Created_By",
        "Modified_By",
        "Tag",
        "Account_Name",
        "Company_Name",
    )
    odd = _may_hold_mutable(Odd)
    assert {"plain", "when", "kind", "id", "Created_Time"}.isdisjoint(odd)
    assert {"colour", "after", "checked", "listed", "factory", "odd_default", "Tag"} <= set(odd)
    assert _may_hold_mutable(Rewritten) == ("plain",)  # a model validator: every field
    assert set(_may_hold_mutable(Task)) == set(Task.model_fields)


@pytest.mark.parametrize("model", [Odd, Rewritten])
def test_a_field_a_validator_fills_with_a_list_is_still_compared_at_write_time(
    model: type[BiginModel],
) -> None:
    body = (
        b'{"data": [{"id": "1", "plain": "p", "after": "a", "checked": "c", "kind": "a", "colour": "red"}]}'
    )
    new, old = parse_page(model, body), old_parse_page(model, body)
    assert state(new.data[0]) == state(old.data[0])
    record = new.data[0]
    if isinstance(record, Rewritten):
        record.plain.append("more")  # type: ignore[union-attr]
        assert record.to_wire() == {"id": "1", "plain": ["anything", "more"]}
    else:
        record.after.append("b")  # type: ignore[attr-defined]
        record.checked["was"] = "d"  # type: ignore[attr-defined]
        assert record.to_wire() == {"id": "1", "after": ["a", "b"], "checked": {"was": "d"}}


def test_a_record_of_another_class_in_a_validated_page_gets_the_full_check() -> None:
    built = Contact.model_construct(id="1", Last_Name=["not", "validated"])  # type: ignore[arg-type]
    mark_validated_as_read([built], Company)
    assert built.__pydantic_private__ is not None
    assert built.__pydantic_private__["_bigin_read_forms"] == {"Last_Name": ["not", "validated"]}


class LoudOwner(common.Owner):
    """A subclass writing more than its id: not on the inline path its base takes."""

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email}


class LoudContact(Contact):
    Owner: LoudOwner | None = None


def test_the_lookups_read_inline_as_their_id_are_exactly_those_written_as_their_id() -> None:
    assert _READ_AS_ID == {common.Lookup, common.Owner}
    for cls in _READ_AS_ID:
        lookup = cls.model_validate({"id": 7, "name": "N", "email": "e@x", "odd": [1]})
        assert lookup.to_wire() == {"id": "7"}  # type: ignore[attr-defined]


def test_a_lookup_subclass_writing_more_keeps_its_own_read_form_and_change_check() -> None:
    body = b'{"data": [{"id": "1", "Owner": {"id": "2", "name": "Admin", "email": "a@x"}}]}'
    new, old = parse_page(LoudContact, body), old_parse_page(LoudContact, body)
    record = new.data[0]
    assert state(record) == state(old.data[0])
    assert (record.__pydantic_private__ or {})["_bigin_read_forms"] == {"Owner": {"id": "2", "email": "a@x"}}
    record.Owner.email = "b@x"  # type: ignore[union-attr]
    assert record.to_wire() == {"id": "1", "Owner": {"id": "2", "email": "b@x"}}


def test_a_record_whose_validator_set_its_private_state_keeps_the_rest_of_it() -> None:
    class Noted(Record):
        @model_validator(mode="after")
        def _note(self) -> Noted:
            object.__setattr__(self, "__pydantic_private__", {"seen": True})
            return self

    page = parse_page(Noted, b'{"data": [{"id": "1", "Owner": {"id": "2"}}]}')
    private = page.data[0].__pydantic_private__
    assert private == {
        "seen": True,
        "_bigin_assigned": frozenset(),
        "_bigin_read_forms": {"Owner": {"id": "2"}},
    }
    assert page.data[0].to_wire() == {"id": "1"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [{"id": "1", "Secret_c": "token-123", "X": "\xff"}]}',
        b'{"data": [{"id": "1", "Secret_c": "token-123"}]} \x00',
        b'{"data": [{"id": "1", "Secret_c": "token-123", "X": ' + b"[" * 5000 + b"]}",
    ],
    ids=["not-utf-8", "trailing", "deep"],
)
def test_a_body_read_again_by_json_leaves_no_copy_of_it_in_the_error(body: bytes) -> None:
    """The transport scrubs a JSONDecodeError's ``.doc`` and replaces pydantic's errors; nothing
    else may hold the body: no UnicodeDecodeError (``.object``), no pydantic error as context."""
    with pytest.raises(_PARSE_ERRORS) as caught:
        parse_page(Contact, body)
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    assert not isinstance(error, (UnicodeDecodeError, pydantic.ValidationError))
    assert "token-123" not in str(error)
    held = [getattr(error, name, None) for name in ("object", "args")]
    assert all(b"token-123" not in repr(value).encode() for value in held)


def lister(body: bytes) -> httpx.MockTransport:
    """Answers every list request with ``body``."""

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [{"id": "1", "Secret_c": "token-123", "X": "\xff"}]}',
        b'{"data": [{"id": "1", "Secret_c": "token-123"}]} x',
        b'{"data": [{"id": "1", "Secret_c": "token-123", "X": ' + b"[" * 100_000 + b"]}",
        b'{"data": [{"id": "1", "Secret_c": "token-123", "Tag": "x"}]}',
    ],
    ids=["not-utf-8", "trailing", "deep", "shape"],
)
async def test_a_page_that_does_not_parse_is_a_malformed_answer_holding_no_body(body: bytes) -> None:
    async with BiginClient(
        access_token="t", api_domain="http://127.0.0.1", transport=lister(body), max_retries=0
    ) as client:
        with pytest.raises(APIError) as caught:
            await client.contacts.list().to_list(limit=10)
    assert caught.value.code == "MALFORMED_RESPONSE"
    link: BaseException | None = caught.value
    while link is not None:
        assert "token-123" not in str(link) and "token-123" not in repr(vars(link))
        link = link.__cause__ or link.__context__


async def test_a_page_json_reads_and_pydantic_core_does_not_is_listed() -> None:
    body = b'{"data": [{"id": "1", "Last_Name": "cut \\ud83d"}], "info": {"more_records": false}}'
    async with BiginClient(access_token="t", api_domain="http://127.0.0.1", transport=lister(body)) as client:
        records = await client.contacts.list().to_list(limit=10)
    assert [record.Last_Name for record in records] == ["cut \ud83d"]
