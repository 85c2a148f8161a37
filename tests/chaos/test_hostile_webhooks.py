"""Hostile webhook POSTs: whatever arrives, ``parse_notification`` answers with its one typed error.

Anyone who learns the notify URL can POST to it. A receiver must be able to write
``except InvalidNotificationError: return 400`` and nothing else: no RecursionError, no
UnicodeEncodeError, no pydantic error, no memory spent on a 50 MB body, and no module name or id
that would rewrite the URL the receiver builds to fetch the records.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigin_async.webhooks import (
    MAX_NOTIFICATION_BYTES,
    InvalidNotificationError,
    NotificationEvent,
    NotificationTokenError,
    parse_notification,
)

TOKEN = "chaos-channel-token"
GOOD: dict[str, Any] = {
    "server_time": 1531904310044,
    "query_params": {},
    "module": "Contacts",
    "resource_uri": "https://www.zohoapis.com/bigin/v1/Contacts",
    "ids": ["7618134000000632028"],
    "affected_fields": [{"7618134000000632028": ["Email"]}],
    "operation": "update",
    "channel_id": "1000000068001",
    "token": TOKEN,
}
FIELDS = [
    "module",
    "operation",
    "ids",
    "channel_id",
    "server_time",
    "resource_uri",
    "query_params",
    "affected_fields",
]
HOSTILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
# Any string a JSON body can carry, lone surrogates included (JSON escapes them as \\udXXX).
any_text = st.text(alphabet=st.characters(exclude_categories=[]), max_size=60)


def check(body: Any, token: str = TOKEN) -> NotificationEvent | None:
    """Parse; the typed error is the only failure allowed (pytest reports anything else)."""
    try:
        return parse_notification(body, token)
    except InvalidNotificationError:
        return None


def assert_event_is_safe(event: NotificationEvent) -> None:
    """What a receiver may build a URL from is what every other part of the SDK accepts."""
    assert event.module.isascii() and event.module.replace("_", "").isalnum() and event.module[0].isalpha()
    assert all(i.isascii() and i.isdigit() for i in event.ids)
    assert event.channel_id.isascii() and event.channel_id.isdigit()
    assert event.token == TOKEN and TOKEN not in repr(event)


@HOSTILE
@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_the_typed_error(body: bytes) -> None:
    event = check(body)
    if event is not None:
        assert_event_is_safe(event)


@HOSTILE
@given(json_values)
def test_arbitrary_json_gives_the_typed_error(value: Any) -> None:
    for body in (json.dumps(value), json.dumps(value).encode()):
        with pytest.raises(InvalidNotificationError):  # no token in it: never an event
            parse_notification(body, TOKEN)


@HOSTILE
@given(st.sampled_from(FIELDS), json_values)
def test_a_wrong_value_in_any_field_is_refused_or_safe(field: str, value: Any) -> None:
    body = {**GOOD, field: value}
    for raw in (body, json.dumps(body)):
        event = check(raw)
        if event is not None:
            assert_event_is_safe(event)


@HOSTILE
@given(st.sampled_from(FIELDS))
def test_a_missing_field_is_refused_or_defaulted(field: str) -> None:
    body = {k: v for k, v in GOOD.items() if k != field}
    event = check(body)
    if field in ("module", "operation", "ids", "channel_id"):
        assert event is None
    else:
        assert event is not None


@HOSTILE
@given(any_text | json_values)
def test_any_received_token_but_the_right_one_is_a_token_error(token: Any) -> None:
    body = {**GOOD, "token": token}
    for raw in (body, json.dumps(body)):
        if token == TOKEN:
            assert check(raw) is not None
        else:
            with pytest.raises(NotificationTokenError) as caught:
                parse_notification(raw, TOKEN)
            if isinstance(token, str) and len(token) > 3:
                assert token not in str(caught.value)


@HOSTILE
@given(any_text.filter(lambda t: t != TOKEN))
def test_any_expected_token_is_a_mismatch_or_a_configuration_error(expected: str) -> None:
    from bigin_async import ValidationError

    try:
        parse_notification(GOOD, expected)
    except NotificationTokenError:
        pass
    except ValidationError:  # the caller's own token is empty or not text: their mistake, said so
        assert not expected or any(0xD800 <= ord(c) <= 0xDFFF for c in expected)


@pytest.mark.parametrize("depth", [100, 1_000, 100_000])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_nesting_of_any_depth_is_the_typed_error(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    nested = opener * depth + "1" + closer * depth
    for where in ("query_params", "affected_fields", "extra_key", "ids"):
        text = json.dumps({**GOOD, where: None}).replace("null", nested)
        for body in (text, text.encode()):
            with pytest.raises(InvalidNotificationError):
                parse_notification(body, TOKEN)
    with pytest.raises(InvalidNotificationError):  # nested outside any object too
        parse_notification(nested, TOKEN)


def test_a_self_referencing_mapping_is_the_typed_error() -> None:
    loop: dict[str, Any] = {}
    loop["again"] = loop
    wide: list[Any] = []
    for _ in range(64):  # shared, not copied: 2**64 paths, 64 containers
        wide = [wide, wide]
    shallow_but_wide: list[Any] = [[]]
    for _ in range(10):  # 10 deep, 2**10 paths: fine, and walked in no time
        shallow_but_wide = [shallow_but_wide] * 2
    assert parse_notification({**GOOD, "query_params": {"x": shallow_but_wide}}, TOKEN).query_params
    for value in (loop, wide):
        with pytest.raises(InvalidNotificationError, match="nested"):
            parse_notification({**GOOD, "query_params": {"x": value}}, TOKEN)


@pytest.mark.parametrize("size", [MAX_NOTIFICATION_BYTES + 1, 50 * 2**20])
def test_a_huge_body_is_refused_whatever_it_holds(size: int) -> None:
    body = json.dumps({**GOOD, "resource_uri": "x" * size})
    for raw in (body, body.encode(), b"\xff" * size, "\ud800" * size):
        with pytest.raises(InvalidNotificationError, match="max_bytes"):
            parse_notification(raw, TOKEN)


@pytest.mark.parametrize(
    "body",
    [
        '{"token": "\\ud800"}',
        '{"token": "\\udfff\\ud800", "module": "Contacts"}',
        '{"token": "ok", "module": "\\ud800"}',
        "\ud800",
        '"\\ud800"',
        b'{"token": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8: not valid UTF-8
        "\ufeff" + json.dumps(GOOD),  # a BOM before the JSON
        b"\xff\xfe" + json.dumps(GOOD).encode("utf-16-le"),
        json.dumps(GOOD).replace(
            '"7618134000000632028"]', "9" * 5000 + "]"
        ),  # past Python's int-from-text limit
        json.dumps(GOOD).replace('"update"', "NaN"),
        json.dumps(GOOD).replace("1531904310044", "1e999"),
    ],
)
def test_surrogates_encodings_and_odd_numbers_are_typed(body: str | bytes) -> None:
    event = check(body)
    if event is not None:  # a BOM or UTF-16 that decodes to the good body is fine
        assert_event_is_safe(event)


@pytest.mark.parametrize(
    "ids",
    [
        ["1e3"],
        [" 12"],
        ["12 "],
        ["\u0661\u0662\u0663"],
        ["\uff11\uff12"],
        ["12\n"],
        ["+12"],
        ["-12"],
        ["0x1f"],
        ["1_000"],
        [""],
        ["9" * 31],
        [12.0],
        [1e3],
        [True],
        [None],
        [[]],
        [{}],
        [-1],
        [0],
        "12",
        12,
        None,
        {},
    ],
)
def test_ids_that_are_not_bigin_ids_are_refused(ids: Any) -> None:
    for raw in ({**GOOD, "ids": ids}, json.dumps({**GOOD, "ids": ids})):
        with pytest.raises(InvalidNotificationError):
            parse_notification(raw, TOKEN)


@pytest.mark.parametrize(
    "channel_id", ["1e3", " 12", "\u0661\u0662", "12\n", "1" * 20, "", 1.5, True, -3, 0, None, [], "../1"]
)
def test_channel_ids_that_are_not_bigin_ids_are_refused(channel_id: Any) -> None:
    with pytest.raises(InvalidNotificationError):
        parse_notification({**GOOD, "channel_id": channel_id}, TOKEN)


@pytest.mark.parametrize(
    "module",
    [
        "../settings",
        "..",
        "Contacts/../settings",
        "Contacts?x=1",
        "Contacts#",
        "Contacts\n",
        " Contacts",
        "%2e%2e",
        "Cöntacts",
        "1Contacts",
        "_Contacts",
        "",
        "a" * 101,
        5,
        None,
        ["Contacts"],
        {"api_name": "Contacts"},
    ],
)
def test_module_names_that_could_rewrite_a_url_are_refused(module: Any) -> None:
    with pytest.raises(InvalidNotificationError):
        parse_notification({**GOOD, "module": module}, TOKEN)


def test_ints_for_ids_are_the_same_ids() -> None:
    event = parse_notification({**GOOD, "ids": [7618134000000632028], "channel_id": 1000000068001}, TOKEN)
    assert event.ids == ["7618134000000632028"] and event.channel_id == "1000000068001"


@pytest.mark.parametrize("max_bytes", [0, -1, True, 1.5, "1024", None])
def test_a_nonsense_max_bytes_is_a_configuration_error(max_bytes: Any) -> None:
    from bigin_async import ValidationError

    with pytest.raises(ValidationError, match="max_bytes"):
        parse_notification(GOOD, TOKEN, max_bytes=max_bytes)


@pytest.mark.parametrize("body", [None, 5, 1.5, ["a"], bytearray(b"{}"), memoryview(b"{}"), object()])
def test_a_body_of_the_wrong_type_is_the_typed_error(body: Any) -> None:
    with pytest.raises(InvalidNotificationError):
        parse_notification(body, TOKEN)
