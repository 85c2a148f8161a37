"""FaultPlan validation, reproducible fault decisions and ServerLimits."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bigin_emulator.server.faults import Fault, FaultInjector, FaultPlan, ServerLimits


@pytest.mark.parametrize(
    "kwargs",
    [{"error_500": -0.1}, {"drop_after": 1.5}, {"error_500": 0.6, "error_503": 0.5}, {"slow_seconds": -1}],
)
def test_invalid_plans_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FaultPlan(**kwargs)  # type: ignore[arg-type]


def test_methods_are_normalised_to_upper_case() -> None:
    assert FaultPlan(methods=frozenset({"post"})).methods == frozenset({"POST"})


def test_same_seed_same_sequence_other_seed_other_sequence() -> None:
    plan = FaultPlan(seed=7, error_500=0.2, drop_after=0.2, slow=0.1)
    first = [FaultInjector(plan).decide(n) for n in range(200)]
    again = FaultInjector(plan)
    assert [again.next_fault("GET", "/bigin/v2/Contacts") for _ in range(200)] == first
    other = [
        FaultInjector(FaultPlan(seed=8, error_500=0.2, drop_after=0.2, slow=0.1)).decide(n)
        for n in range(200)
    ]
    assert other != first


def test_rates_are_respected_over_many_draws() -> None:
    plan = FaultPlan(seed=1, error_500=0.1, drop_before=0.05, malformed_json=0.25)
    injector = FaultInjector(plan)
    tally = Counter(injector.decide(n) for n in range(20_000))
    assert tally[Fault.ERROR_500] / 20_000 == pytest.approx(0.10, abs=0.01)
    assert tally[Fault.DROP_BEFORE] / 20_000 == pytest.approx(0.05, abs=0.01)
    assert tally[Fault.MALFORMED_JSON] / 20_000 == pytest.approx(0.25, abs=0.01)
    assert tally[None] / 20_000 == pytest.approx(0.60, abs=0.01)
    assert set(tally) == {Fault.ERROR_500, Fault.DROP_BEFORE, Fault.MALFORMED_JSON, None}


def test_only_eligible_requests_draw_and_are_numbered() -> None:
    injector = FaultInjector(FaultPlan(error_500=1.0, methods=frozenset({"POST"})))
    assert injector.next_fault("GET", "/bigin/v2/Contacts") is None
    assert injector.next_fault("POST", "/oauth/v2/token") is None
    assert injector.eligible_seen == 0
    assert injector.next_fault("POST", "/bigin/v2/Contacts") is Fault.ERROR_500
    assert injector.eligible_seen == 1
    injector.reset()
    assert injector.eligible_seen == 0


def test_server_limits_validation_and_latency_kinds() -> None:
    with pytest.raises(ValueError):
        ServerLimits(max_concurrency=0)
    with pytest.raises(ValueError):
        ServerLimits(latency=(0.5, 0.1))
    with pytest.raises(ValueError):
        ServerLimits(latency=-1.0)
    rng = random.Random(0)
    assert ServerLimits().sample_latency(rng) == 0.0
    assert ServerLimits(latency=0.25).sample_latency(rng) == 0.25
    assert 0.1 <= ServerLimits(latency=(0.1, 0.2)).sample_latency(rng) <= 0.2
    assert ServerLimits(latency=lambda r: 0.042).sample_latency(rng) == 0.042
    assert not ServerLimits(max_concurrency=3).has_quota
    assert ServerLimits(per_minute=3).has_quota
