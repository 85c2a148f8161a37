"""Zoho's API credits as the client counts them (``client.credits``) and the editions' figures."""

from __future__ import annotations

import pytest
import respx

import bigin_async
from bigin_async import (
    BiginClient,
    BudgetExhaustedError,
    ConfigurationError,
    CreditsReport,
    Edition,
    EditionLimits,
)
from bigin_async._limits import DailyBudget
from tests.helpers.transport import API, make_client, mock_token


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_what_was_spent_is_counted_without_a_limit_and_leaves_the_window_after_a_day() -> None:
    clock = Clock()
    budget = DailyBudget(None, clock=clock)
    budget.spend(500)
    clock.now = 3600.0
    budget.spend(50)
    assert (budget.spent(), budget.spent_total, budget.remaining()) == (550, 550, None)
    clock.now = 86_400.0  # the first spend is a day old
    assert (budget.spent(), budget.spent_total) == (50, 550)
    clock.now = 3600.0 + 86_400.0
    assert (budget.spent(), budget.spent_total) == (0, 550)


def test_spends_close_together_share_an_entry_that_leaves_after_its_last_spend() -> None:
    clock = Clock()
    budget = DailyBudget(100, min_remaining=0, clock=clock)
    budget.spend(10)
    clock.now = 59.0
    budget.spend(10)  # within a minute of the first: one entry, leaving a day after t=59
    clock.now = 86_400.0 + 30.0  # the first spend alone would be gone: never given back early
    assert budget.spent() == 20 and budget.remaining() == 80
    clock.now = 86_400.0 + 59.0
    assert budget.spent() == 0 and budget.remaining() == 100


def test_a_day_of_calls_keeps_a_small_record() -> None:
    clock = Clock()
    budget = DailyBudget(None, clock=clock)
    for second in range(0, 86_400, 3):  # a call every 3 s, all day
        clock.now = float(second)
        budget.spend(1)
    assert budget.spent() == budget.spent_total == 28_800
    assert len(budget._spent) <= 1_441


def test_a_refused_call_is_not_counted() -> None:
    clock = Clock()
    budget = DailyBudget(10, min_remaining=1, clock=clock)
    budget.spend(5)
    with pytest.raises(BudgetExhaustedError) as info:
        budget.spend(500)
    assert info.value.resets_in == pytest.approx(86_400.0)
    assert budget.report() == CreditsReport(spent_24h=5, spent_total=5, remaining=5, limit=10)


async def test_client_credits_reports_job_credits_as_zoho_counts_them() -> None:
    with respx.mock() as router:
        mock_token(router)
        router.get(f"{API}/org").respond(json={"org": []})
        router.post(f"{API}/Contacts").respond(201, json={"data": []})
        router.post("https://www.zohoapis.com/bigin/bulk/v2/write").respond(201, json={"status": "success"})
        router.get("https://www.zohoapis.com/bigin/bulk/v2/read/1").respond(
            json={"data": []}, headers={"X-RateLimit-Remaining": "90000"}
        )
        async with make_client(daily_limit=100_000) as bigin:
            assert bigin.credits == CreditsReport(0, 0, 100_000, 100_000)
            await bigin.request("GET", "/org")  # 1
            await bigin.request(
                "POST", "/Contacts", json={"data": [{"Last_Name": str(i)} for i in range(25)]}
            )  # 3
            view = bigin.with_options(timeout=60.0)
            await view.transport.send("POST", "/write", service="bulk", json={}, credits=500)  # a write job
            assert bigin.credits == CreditsReport(504, 504, 100_000 - 504, 100_000)
            assert view.credits == bigin.credits  # one count for the client and its views
            await bigin.transport.send("GET", "/read/1", service="bulk")  # a status poll: 1
            # The server's count is stricter than the limit here: it also sees the org's other apps.
            assert bigin.credits == CreditsReport(505, 505, 90_000, 100_000)
            assert isinstance(bigin.credits, bigin_async.CreditsReport)


def test_credits_report_and_upload_are_exported() -> None:
    assert {"CreditsReport", "Upload"} <= set(bigin_async.__all__)
    assert bigin_async.Upload("x.zip").field == "file"


@pytest.mark.parametrize(
    ("edition", "users", "credits"),
    [
        (Edition.FREE, 0, 5_000),
        (Edition.FREE, 10, 5_000),
        (Edition.EXPRESS, 0, 50_000),
        (Edition.EXPRESS, 10, 52_500),
        (Edition.PREMIER, 100, 75_000),
        (Edition.PREMIER, 200, 100_000),
        (Edition.PREMIER, 1_000, 100_000),  # at most 100,000
        (Edition.ENTERPRISE, 40, 60_000),
    ],
)
def test_each_edition_states_zoho_s_credits_per_day(edition: Edition, users: int, credits: int) -> None:
    assert edition.limits.zoho_credits(users) == credits


@pytest.mark.parametrize("users", [-1, 1.5, True, "3"])
def test_zoho_credits_need_a_whole_number_of_users(users: object) -> None:
    with pytest.raises(ConfigurationError, match="users"):
        Edition.EXPRESS.limits.zoho_credits(users)  # type: ignore[arg-type]


def test_the_free_edition_preset_paces_to_zoho_s_5000_credits() -> None:
    config = BiginClient(access_token="t", edition="free").config
    assert (config.edition, config.daily_limit, config.requests_per_minute) == (Edition.FREE, 5_000, 10)
    with pytest.raises(ConfigurationError, match="free, express, premier, enterprise"):
        BiginClient(access_token="t", edition="gold")


def test_edition_limits_built_as_before_get_the_paid_editions_credits() -> None:
    limits = EditionLimits(10, 5_000, 10)
    assert (limits.zoho_daily_credits, limits.zoho_credits_per_user, limits.zoho_credits_cap) == (
        50_000,
        250,
        100_000,
    )
