"""ServerCounters and RollingWindow: the server's own view, checked against brute force."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bigin_emulator.server.counters import RollingWindow, ServerCounters, route_key


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/bigin/v2/Contacts/7618134000000632028", "GET /bigin/v2/Contacts/{id}"),
        ("GET", "/bigin/v2/Contacts", "GET /bigin/v2/Contacts"),
        ("PUT", "/bigin/v2/Accounts/12/Contacts/34", "PUT /bigin/v2/Accounts/{id}/Contacts/{id}"),
        ("GET", "/bigin/v2/Contacts/search", "GET /bigin/v2/Contacts/search"),
        ("GET", "/books/v3/contacts/99", "GET /books/v3/contacts/{id}"),
    ],
)
def test_route_key_folds_numeric_ids(method: str, path: str, expected: str) -> None:
    assert route_key(method, path) == expected


def _brute_force_max_in_minute(times: list[float]) -> int:
    return max((sum(1 for u in times if t <= u < t + 60.0) for t in times), default=0)


@given(st.lists(st.floats(min_value=0, max_value=300, allow_nan=False), max_size=60))
def test_rolling_minute_maximum_matches_brute_force(offsets: list[float]) -> None:
    times = sorted(offsets)
    counters = ServerCounters()
    for t in times:
        counters.request_started("GET /x", t)
        counters.request_finished()
    assert counters.max_requests_in_rolling_minute == _brute_force_max_in_minute(times)


def test_rolling_minute_window_is_half_open() -> None:
    counters = ServerCounters()
    for t in (0.0, 30.0, 59.999):
        counters.request_started("GET /x", t)
    assert counters.max_requests_in_rolling_minute == 3
    counters.request_started("GET /x", 60.0)  # the arrival at 0.0 has left the window
    assert counters.max_requests_in_rolling_minute == 3
    counters.request_started("GET /x", 60.5)
    assert counters.max_requests_in_rolling_minute == 4


def test_peak_in_flight_and_routes() -> None:
    counters = ServerCounters()
    counters.request_started("GET /a", 0.0)
    counters.request_started("GET /a", 0.0)
    counters.request_finished()
    counters.request_started("POST /b", 0.0)
    assert counters.in_flight == 2
    assert counters.peak_concurrency == 2
    assert counters.requests_by_route == {"GET /a": 2, "POST /b": 1}
    assert counters.requests_total == 3


def test_snapshot_is_json_and_reset_keeps_live_in_flight() -> None:
    counters = ServerCounters()
    counters.request_started("GET /a", 0.0)
    counters.response_sent(429)
    counters.fault_injected("drop_after")
    counters.limit_rejected("per_minute")
    counters.refresh()
    snapshot = json.loads(json.dumps(counters.snapshot()))
    assert snapshot["rate_limited"] == 1
    assert snapshot["responses_by_status"] == {"429": 1}
    assert snapshot["faults_injected"] == {"drop_after": 1}
    assert snapshot["rejected_by_limit"] == {"per_minute": 1}
    assert snapshot["refreshes"] == 1
    counters.reset()
    assert counters.requests_total == 0 and counters.rate_limited == 0
    assert counters.in_flight == 1 and counters.peak_concurrency == 1
    counters.request_finished()
    assert counters.in_flight == 0


def test_rolling_window_room_and_expiry() -> None:
    window = RollingWindow(10.0)
    window.add(0.0, 4)
    window.add(3.0, 4)
    assert window.total(5.0) == 8
    assert window.seconds_until_room(5.0, 2, 10) == 0.0
    assert window.seconds_until_room(5.0, 3, 10) == pytest.approx(5.0)  # when the 4 from t=0 expire
    assert window.seconds_until_room(5.0, 7, 10) == pytest.approx(8.0)  # both entries must go
    assert window.seconds_until_room(5.0, 11, 10) == 10.0  # never fits: the whole span
    assert window.oldest_expiry(5.0) == 10.0
    assert window.total(10.0) == 4
    assert window.total(13.0) == 0
    assert window.oldest_expiry(13.0) is None


def test_a_clock_stepping_back_keeps_the_window_ordered() -> None:
    window = RollingWindow(60.0)
    window.add(100.0)
    window.add(90.0)  # counted as if at 100.0
    assert window.total(159.0) == 2
    assert window.total(160.0) == 0
