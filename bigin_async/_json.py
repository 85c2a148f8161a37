"""Reading Bigin's JSON answers: the body unless Bigin answered 204, decoded, or why it is not JSON.

Bigin answers 204 with no body for an empty list, an empty search or a missing id. A body that
is not JSON (cut short, a proxy's HTML page) makes ``json`` raise ``ValueError``; one nested
thousands deep makes it raise ``RecursionError``. Every reader of an answer (the transport, the
resource clients, the bulk engine, the typed errors) goes through these few lines; each decides
itself what a body that is not JSON means for it (a malformed answer, an error without details).
This module imports nothing of the SDK, so :mod:`bigin_async.errors` can use it.

A body is parsed by pydantic-core's parser (about 1.5 times as quick as ``json``'s; a bulk
import reads one 100-entry answer per call) and read again by ``json`` when that parser refuses
it: an escaped lone surrogate, a byte order mark, UTF-16/32 text, nesting past 200 levels, an
int past 4,300 digits, and of course a body that is not JSON, whose error is then ``json``'s
own, as before. Every body both accept gives the same value, types and key order. pydantic-core
writes out ints of up to 4,300 digits whatever ``sys.set_int_max_str_digits`` says, so under a
lower limit ``json`` reads every body, and refuses the ints it always refused. One difference is
left, in the reader's favour: pydantic-core does not use Python's stack, so a body nested a few
hundred levels is read even by code running so deep in the stack that ``json`` would raise
``RecursionError``. Only ``bytes`` take the quicker way (every answer is); anything else is
``json``'s to read.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx
from pydantic_core import from_json

__all__ = ["NOT_JSON", "body_of", "decode", "decode_or_none", "json_unless_204"]

# What json raises for a body that is not JSON; RecursionError: a body nested thousands deep.
NOT_JSON = (ValueError, RecursionError)


def body_of(response: httpx.Response) -> bytes:
    """An answer's body, or nothing for a 204 (Bigin's empty list, empty search, missing id)."""
    return response.content if response.status_code != 204 else b""


# The longest int pydantic-core's parser reads, whatever Python's own limit is.
_PARSER_INT_DIGITS = 4300


def decode(content: bytes) -> Any:
    """The JSON value of ``content``, None for no body at all; raises one of :data:`NOT_JSON`."""
    if not content:
        return None
    limit = sys.get_int_max_str_digits()
    if type(content) is bytes and (not limit or limit >= _PARSER_INT_DIGITS):
        try:
            # Keys only are kept for reuse: a record's values (names, emails) are not cached.
            return from_json(content, cache_strings="keys")
        except ValueError:
            pass  # read by json below, outside this block: its error is not chained to this one
    return json.loads(content)


def json_unless_204(response: httpx.Response) -> Any:
    """The answer's JSON value, None for a 204 or no body; raises one of :data:`NOT_JSON`."""
    return decode(body_of(response))


def decode_or_none(content: bytes) -> Any:
    """The JSON value of ``content``, or None when there is none or it is not JSON.

    For error answers, read for whatever details they carry: one that is not JSON still gets
    its typed error, from the status alone.
    """
    try:
        return decode(content)
    except NOT_JSON:
        return None
