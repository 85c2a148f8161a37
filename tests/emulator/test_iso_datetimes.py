"""Zoho's date-times as clients send them parse alike on every Python we support (3.10 refuses ``Z``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bigin_emulator.ops.comparisons import parse_iso_datetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T10:00:00Z", datetime(2026, 1, 2, 10, tzinfo=timezone.utc)),
        ("2026-01-02T10:00:00z", datetime(2026, 1, 2, 10, tzinfo=timezone.utc)),
        (
            "2026-01-02T10:00:00+05:30",
            datetime(2026, 1, 2, 10, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2026-01-02T10:00:00", datetime(2026, 1, 2, 10)),
    ],
)
def test_a_trailing_z_is_utc_and_offsets_are_kept(text: str, expected: datetime) -> None:
    assert parse_iso_datetime(text) == expected
    assert parse_iso_datetime(text).tzinfo == expected.tzinfo


@pytest.mark.parametrize("text", ["", "Z", "2026-13-02T10:00:00Z", "yesterday"])
def test_what_is_not_a_date_time_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso_datetime(text)
