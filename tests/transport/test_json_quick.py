"""``_json.decode`` reads a body with pydantic-core's parser when it can: every body gives what
``json.loads`` gives (value, exact types, key order) or the error ``json.loads`` raises, with
the same message, over hostile bodies, random JSON and a lowered int limit."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bigin_async._json import decode

HOSTILE = [
    b'{"a": 1, "b": 2, "a": 3}',  # a repeated key: the last value, at the first key's place
    b"[NaN, Infinity, -Infinity, -0, -0.0, 1E2, 1e400, -1e400, 5e-324, 2.5e-324]",
    b"[1.7976931348623157e308, 0.1, 0.30000000000000004, 123456789012345678901234567890]",
    b"[" + b"1" * 4300 + b"]",  # the longest int json prints unless told otherwise
    b"[" + b"1" * 4301 + b"]",  # one digit past it: json refuses it
    b"[1." + b"0" * 5000 + b"1]",  # a long float is no int
    b'"\\ud800"',  # an escaped lone surrogate: json reads it, pydantic-core does not
    b'"\\ud83d\\ude00 \\u00e9 \\u0000"',
    '"Łódź 東京 🎉"'.encode(),
    b"\xef\xbb\xbf{}",  # a byte order mark
    '{"a": "é"}'.encode("utf-16"),  # UTF-16, which json detects
    '{"a": "é"}'.encode("utf-32-le"),
    b'{"a": "\xff"}',  # not UTF-8
    b"[" * 150 + b"]" * 150,
    b"[" * 300 + b"]" * 300,  # deeper than pydantic-core reads, not than json does
    b"[" * 100_000 + b"]" * 100_000,  # deeper than json reads
    b" {} \n",
    b"{}x",
    b"[1,]",
    b'{"a" 1}',
    b'"\x01"',
    b"<html>",
    b"tru",
    *(
        b"[%s]" % n
        for n in (b"-NaN", b"+1", b"inf", b"nan", b".5", b"1.", b"01", b"1e", b"-", b"1e+", b"0x1")
    ),
    *(b"[%s]" % n for n in (b"Infinity1", b"NaNa", b"-Infinityx", b"1_000", b"\xa01", b"1 2")),
    b'{"a": 1,}',
    b"{'a': 1}",
    b'{"a": 1}\x00',
    b"\t[\r\n1\t]\r\n",
    b"\x0b[1]",  # a vertical tab is not JSON whitespace
    b"0123",
    b"-",
    b'{"data": [{"code": "SUCCESS", "details": {"id": "1"}, "message": "ok", "status": "success"}]}',
]


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same exact types all the way down, NaN equal to NaN, keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _reading(read: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "ok", read(body)
    except (ValueError, RecursionError) as error:
        return type(error).__name__, str(error)


def _check(body: bytes) -> None:
    if not body:
        assert decode(body) is None  # no body at all: no JSON, as before
        return
    expected, got = _reading(json.loads, body), _reading(decode, body)
    assert expected[0] == got[0], (body[:60], expected, got)
    if expected[0] == "ok":
        assert _same(expected[1], got[1]), body[:60]
    else:
        assert expected[1] == got[1]  # json's own error and message


@pytest.mark.parametrize("limit", [0, 640, 4300, 10_000])
def test_every_hostile_body_reads_as_json_reads_it(limit: int) -> None:
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(limit)
    try:
        for body in HOSTILE:
            _check(body)
        for digits in (639, 640, 641, 4300, 4301, 5000):
            _check(b'{"id": ' + b"7" * digits + b"}")
    finally:
        sys.set_int_max_str_digits(previous)


def test_the_quick_parser_reads_the_common_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not the fallback: json.loads is not called for a body pydantic-core reads.
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("json.loads was called"))
    assert decode(HOSTILE[-1]) == {
        "data": [{"code": "SUCCESS", "details": {"id": "1"}, "message": "ok", "status": "success"}]
    }


def test_with_a_lowered_int_limit_json_reads_every_body(monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic-core prints ints up to 4,300 digits whatever the limit: below it, json decides.
    calls: list[bytes] = []
    loads = json.loads

    def counted(body: bytes) -> Any:
        calls.append(body)
        return loads(body)

    monkeypatch.setattr(json, "loads", counted)
    monkeypatch.setattr(sys, "get_int_max_str_digits", lambda: 640)
    assert decode(b'{"a": 1}') == {"a": 1} and calls == [b'{"a": 1}']


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8")),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON, ascii_only=st.booleans(), indent=st.sampled_from([None, 0, 2]))
def test_random_json_reads_as_json_reads_it(value: Any, ascii_only: bool, indent: int | None) -> None:
    _check(json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode("utf-8"))


# Bodies one step from valid JSON, most of them broken, some still valid: each read as json reads it.
_BASES = [
    b'{"data": [{"code": "SUCCESS", "details": {"id": "12"}, "status": "success"}], "info": {"more": true}}',
    b'[1, -2.5e3, null, false, "\\u00e9\\n", {"": []}]',
]
_STEPS = b' \t\n\r,:[]{}"\\/0123456789.eE+-nultrfasNIy\x00\x7f\xff'


def test_bodies_one_edit_from_valid_json_read_as_json_reads_them() -> None:
    read = 0
    for base in _BASES:
        for at in range(len(base) + 1):
            bodies = [base[:at] + base[at + 1 :]]  # one byte dropped
            bodies += [base[:at] + bytes([step]) + base[at:] for step in _STEPS]  # one byte added
            for body in bodies:
                _check(body)
                read += _reading(json.loads, body)[0] == "ok"
    assert read > 200  # the quicker parser read (and was compared on) hundreds of them


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=40) | st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_random_bytes_read_as_json_reads_them(body: bytes) -> None:
    _check(body)  # almost all refused: json's error and message, whichever parser tried first


def test_only_bytes_take_the_quicker_way() -> None:
    # A str holding a lone surrogate: pydantic-core raises TypeError for it, json reads it.
    text: Any = '"\ud800"'
    assert decode(text) == json.loads(text) == "\ud800"
