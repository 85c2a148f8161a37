"""Every reader of an answer's JSON (transport, resource clients, bulk engine, typed errors) goes
through ``bigin_async._json``; each keeps its own reading of a 204, a blank body, garbage and a
body nested thousands deep."""

from __future__ import annotations

import httpx
import pytest

from bigin_async import APIError, UnreadableAnswerError
from bigin_async._json import body_of, decode, decode_or_none, json_unless_204
from bigin_async._transport import decode_json
from bigin_async.bulk.answers import read_answers
from bigin_async.errors import error_from_response
from bigin_async.resources._base import json_body, json_object

REQUEST = httpx.Request("GET", "https://www.zohoapis.com/bigin/v2/org")
DEEP = b"[" * 100_000 + b"]" * 100_000


def answer(status: int, content: bytes) -> httpx.Response:
    return httpx.Response(status, content=content, request=REQUEST)


def test_a_204_has_no_body_and_no_json_even_if_something_came() -> None:
    assert body_of(answer(204, b'{"data": []}')) == b""
    assert json_unless_204(answer(204, b"garbage")) is None
    assert decode_json(answer(204, b"garbage")) is None
    assert json_unless_204(answer(200, b'{"a": 1}')) == {"a": 1}


def test_decode_raises_json_errors_and_decode_or_none_swallows_them() -> None:
    assert decode(b"") is None
    with pytest.raises(ValueError):
        decode(b"<html>")
    with pytest.raises(RecursionError):
        decode(DEEP)
    assert decode_or_none(b"<html>") is None and decode_or_none(DEEP) is None
    assert decode_or_none(b"[1]") == [1]


def test_each_reader_keeps_its_meaning_of_a_blank_or_broken_body() -> None:
    # The transport: a blank 200 is not JSON (as before); deep nesting is named in the message.
    with pytest.raises(APIError) as blank:
        decode_json(answer(200, b"  "))
    assert blank.value.code == "MALFORMED_RESPONSE"
    with pytest.raises(APIError) as deep:
        decode_json(answer(200, DEEP))
    assert "RecursionError" in str(deep.value)
    # The resource clients: a blank body is no body; deep nesting is a ValueError.
    assert json_body(b" \n") is None and json_object(b"") == {}
    with pytest.raises(ValueError, match="nests too deep"):
        json_body(DEEP)
    # The bulk answers: blank is no answers; the two failures keep their own words.
    assert read_answers(b"  ") == []
    with pytest.raises(UnreadableAnswerError, match="not valid JSON: JSONDecodeError at position 0"):
        read_answers(b"<html>")
    with pytest.raises(UnreadableAnswerError, match="nested deeper than any write answer"):
        read_answers(DEEP)
    # The typed errors: a body that is not JSON still gives the status's error.
    assert error_from_response(answer(500, DEEP)).status_code == 500
    assert error_from_response(answer(404, b"")).status_code == 404
