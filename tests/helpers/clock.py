"""A wall clock the test moves by hand, for the emulator's timestamps and token expiries."""

from __future__ import annotations

__all__ = ["FakeClock", "SleepingClock"]


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SleepingClock:
    """Event-loop seconds from 0 for a limiter under test: its ``sleep_until`` moves the clock
    there at once, so a test of 10^4 paced calls waits for none of them."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep_until(self, deadline: float) -> None:
        self.now = max(self.now, deadline)
