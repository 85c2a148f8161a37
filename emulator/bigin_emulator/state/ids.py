"""Record ids and timestamps in Zoho's formats.

Ids are 19-digit strings: a fixed 7-digit org prefix and a 12-digit counter. All ids share one
width, so comparing them as strings orders them numerically, and a counter that only grows makes
insertion order equal id order (the store relies on both for cheap ``id`` sorting). Metadata
(modules, fields, users, layouts) uses ``static_id`` below the first record id, so those ids are
stable between runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["ORG_PREFIX", "FIRST_RECORD_NUMBER", "IdSequence", "format_datetime", "static_id"]

ORG_PREFIX = "5545000"
FIRST_RECORD_NUMBER = 1_000_000


def static_id(number: int) -> str:
    """A fixed id for metadata; ``number`` must stay below ``FIRST_RECORD_NUMBER``."""
    if not 0 <= number < FIRST_RECORD_NUMBER:
        raise ValueError("static ids live below the first record id")
    return f"{ORG_PREFIX}{number:012d}"


class IdSequence:
    """Hands out unique, strictly increasing ids; ``last`` is saved and restored with the state."""

    def __init__(self, last: int = FIRST_RECORD_NUMBER) -> None:
        self.last = last

    def next(self) -> str:
        self.last += 1
        return f"{ORG_PREFIX}{self.last:012d}"

    def observe(self, existing_id: str) -> None:
        """Make sure ids handed out later sort after ``existing_id`` (used on state import)."""
        if existing_id.startswith(ORG_PREFIX) and existing_id.isdigit() and len(existing_id) == 19:
            self.last = max(self.last, int(existing_id[len(ORG_PREFIX) :]))


def format_datetime(epoch_seconds: float, utc_offset: timedelta = timedelta(0)) -> str:
    """ISO 8601 with an explicit offset and no fractions: ``2026-02-06T00:28:53+00:00``."""
    zone = timezone(utc_offset)
    return datetime.fromtimestamp(int(epoch_seconds), zone).isoformat(timespec="seconds")
