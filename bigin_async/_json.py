"""Reading Bigin's JSON answers: the body unless Bigin answered 204, decoded, or why it is not JSON.

Bigin answers 204 with no body for an empty list, an empty search or a missing id. A body that
is not JSON (cut short, a proxy's HTML page) makes ``json`` raise ``ValueError``; one nested
thousands deep makes it raise ``RecursionError``. Every reader of an answer (the transport, the
resource clients, the bulk engine, the typed errors) goes through these few lines; each decides
itself what a body that is not JSON means for it (a malformed answer, an error without details).
This module imports nothing of the SDK, so :mod:`bigin_async.errors` can use it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

__all__ = ["NOT_JSON", "body_of", "decode", "decode_or_none", "json_unless_204"]

# What json raises for a body that is not JSON; RecursionError: a body nested thousands deep.
NOT_JSON = (ValueError, RecursionError)


def body_of(response: httpx.Response) -> bytes:
    """An answer's body, or nothing for a 204 (Bigin's empty list, empty search, missing id)."""
    return response.content if response.status_code != 204 else b""


def decode(content: bytes) -> Any:
    """The JSON value of ``content``, None for no body at all; raises one of :data:`NOT_JSON`."""
    return json.loads(content) if content else None


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
