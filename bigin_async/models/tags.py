"""Bigin's tags API as data: what a tag name and a colour may be, and how its answers read.

Tags are defined per module (``/settings/tags?module=``) and carried by records (``Tag``). The
answers are Zoho CRM's v2 shapes, which Bigin v2 shares (Bigin's own pages show fewer of them):

- list: ``{"tags": [{"id", "name", "color_code", "created_time", "modified_time", "created_by",
  "modified_by"}], "info": {"count", "allowed_count"}}``;
- create, update, merge, delete: ``{"tags": [{"code", "details", "message", "status"}]}``, one
  entry a tag; Zoho's delete page also shows ``"tags"`` as one object rather than a list, so both
  are read. A create's ``details`` has the new id and times but not the name or the colour;
- records count: ``{"count": "3"}`` (a string on Zoho's pages, a number in their key table).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bigin_async._json import decode
from bigin_async.errors import ValidationError
from bigin_async.models.common import Tag
from bigin_async.models.results import WriteResult, parse_write_results

__all__ = [
    "MAX_TAG_RECORDS",
    "Tag",
    "check_color_code",
    "check_tag_name",
    "check_tag_names",
    "parse_records_count",
    "parse_tag_results",
    "parse_tags",
    "tag_entries",
]

# Records one add_tags or remove_tags call takes: Zoho's add-tags page says "a maximum of 500
# record IDs"; the remove-tags page gives no figure and is held to the same.
MAX_TAG_RECORDS = 500

_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


def check_tag_name(name: object) -> str:
    """A tag name as sent: text, not blank, no comma; surrounding spaces are dropped.

    A comma would cut one name in two in ``tag_names=a,b``. Zoho documents no length limit for a
    tag name, so none is checked here (a name Zoho finds too long is its error to answer).
    """
    if isinstance(name, Tag):
        name = name.name
    if not isinstance(name, str) or not name.strip() or "," in name:
        raise ValidationError(f"a tag name must be non-empty text without a comma, got {name!r}")
    return name.strip()


def check_tag_names(tags: object) -> list[str]:
    """Tag names (one name, or a list of names or :class:`Tag`), at least one, none twice.

    Names are matched without regard to case (as Bigin does), so ``"VIP"`` and ``"vip"`` are the
    same name given twice.
    """
    if isinstance(tags, (str, Tag)):
        tags = [tags]
    if not isinstance(tags, Sequence):
        raise ValidationError(f"tags must be a tag name or a list of them, not {type(tags).__name__}")
    names = [check_tag_name(tag) for tag in tags]
    if not names:
        raise ValidationError("give at least one tag name")
    folded = [name.casefold() for name in names]
    twice = sorted({name for name, key in zip(names, folded, strict=True) if folded.count(key) > 1})
    if twice:
        raise ValidationError(f"tag names given more than once: {', '.join(twice)}")
    return names


def check_color_code(color: object) -> str:
    """A colour as ``#RRGGBB`` (six hex digits).

    Zoho CRM's pages list the 13 colours its tags accept (``#F17574``, ``#F48435``, ``#E7A826``,
    ``#A8C026``, ``#63C57E``, ``#1DB9B4``, ``#57B1FD``, ``#879BFC``, ``#D297EE``, ``#FD87BD``,
    ``#969696``, ``#658BA8``, ``#B88562``); whether Bigin holds to the same palette is unconfirmed,
    so only the form is checked here.
    """
    if not isinstance(color, str) or not _COLOR.fullmatch(color):
        raise ValidationError(f"a tag colour must be #RRGGBB (six hex digits), got {color!r}")
    return color


def _answer(body: bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    decoded = body if isinstance(body, Mapping) else (decode(body) if body.strip() else {})
    if not isinstance(decoded, Mapping):
        raise ValueError(f"the answer is a JSON {type(decoded).__name__}, not an object")
    return decoded


def tag_entries(body: bytes | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The tags of a list answer as Zoho sent them (an empty answer, a 204, is no tags)."""
    tags = _answer(body).get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, dict) for tag in tags):
        raise ValueError("the answer's tags are not a list of tags")
    return tags


def parse_tags(body: bytes | Mapping[str, Any]) -> list[Tag]:
    """The tags of a list answer as :class:`Tag` models (unknown keys kept)."""
    return [Tag.model_validate(entry) for entry in tag_entries(body)]


def parse_tag_results(body: bytes | Mapping[str, Any]) -> list[WriteResult]:
    """One result a tag of a create, update, merge or delete answer, in the order sent.

    ``"tags"`` may be a list or one object; an answer that is itself one result (a request-level
    error such as ``{"code": "INVALID_DATA", "message": "tags not found", ...}``) is that result.
    """
    decoded = _answer(body)
    entries = decoded.get("tags")
    if isinstance(entries, Mapping):
        entries = [entries]
    if entries is None:
        return parse_write_results(decoded)
    if not isinstance(entries, list):
        raise ValueError("the answer's tags are not a list of results")
    return parse_write_results({"data": entries})


def parse_records_count(body: bytes | Mapping[str, Any]) -> int:
    """The ``count`` of a records-count answer, a whole number read from a string or a number."""
    count = _answer(body).get("count")
    if isinstance(count, str) and count.strip().isdigit() and count.strip().isascii():
        return int(count)
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count
    raise ValueError(f"the answer's count is not a whole number: {count!r}")
