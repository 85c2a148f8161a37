"""``BiginClient(coordination=...)``: the pipeline takes every limit and the token store from it.

A coordination that records what the transport asks of it shows the three moments of each attempt
(slot, pace, finish), what a 429 shares (its cooldown, its credits back), that a limit past the
deadline refuses the call unsent, and that the store it gives keeps the token.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import respx

from bigin_async import BiginClient, BiginTimeoutError, ConfigurationError, MemoryTokenStore, Settings
from bigin_async._coordination import Answer, Ask, Coordination, Limits, LocalLimits, PastDeadline
from bigin_async.auth import TokenStore
from tests.helpers.transport import API, SECRETS, TOKEN_URL, token_body


class RecordingLimits(LocalLimits):
    """This process's limits, with a log of what the pipeline asked."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.log: list[tuple[str, Any]] = []
        self.refuse_with: float | None = None
        self.closed = False

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[object]:
        self.log.append(("slot", None))
        async with self.gate:
            yield "the-slot"

    def slot(self) -> Any:
        return self._slot()

    async def pace(self, slot: object, ask: Ask) -> bool:
        self.log.append(("pace", (slot, ask.cost, ask.bulk)))
        if self.refuse_with is not None:
            raise PastDeadline(self.refuse_with, "a coordinator's pace lets the next call go only after")
        return await super().pace(slot, ask)

    async def finish(self, slot: object, ask: Ask, answer: Answer) -> None:
        self.log.append(("finish", (slot, answer.uncounted, answer.headers is not None)))
        await super().finish(slot, ask, answer)

    async def open_cooldown(self, seconds: float) -> None:
        self.log.append(("cooldown", seconds))
        await super().open_cooldown(seconds)

    async def aclose(self) -> None:
        self.closed = True


class RecordingCoordination:
    def __init__(self) -> None:
        self.made: list[RecordingLimits] = []
        self.store = MemoryTokenStore()

    def limits(self, settings: Settings) -> Limits:
        limits = RecordingLimits(settings)
        self.made.append(limits)
        return limits

    def token_store(self) -> TokenStore:
        return self.store

    def describe(self) -> str:
        return "recording://coordinator"


def client(coordination: Any, **overrides: Any) -> BiginClient:
    return BiginClient(
        **SECRETS, coordination=coordination, max_retries=2, retry_backoff_seconds=0, **overrides
    )


def test_the_recording_coordination_is_a_coordination() -> None:
    assert isinstance(RecordingCoordination(), Coordination)
    assert isinstance(RecordingLimits(Settings(*_us())), Limits)


def _us() -> tuple[Any, str, str]:
    from bigin_async import resolve_region

    region = resolve_region("us")
    return region, region.api_domain, region.accounts_url


@respx.mock
async def test_every_attempt_takes_a_slot_paces_and_finishes_in_it_and_a_429_shares_its_cooldown() -> None:
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))
    respx.get(f"{API}/org").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0"}, json={"code": "TOO_MANY_REQUESTS"}),
            httpx.Response(200, json={"org": [{"id": "1"}]}),
        ]
    )
    coordination = RecordingCoordination()
    async with client(coordination) as bigin:
        assert "recording://coordinator" in repr(bigin)
        await bigin.request("GET", "/org")
        limits = coordination.made[0]
        assert bigin.transport.limits is limits
        assert bigin.with_options(timeout=5).transport.limits is limits  # views share them
    assert limits.closed  # closing the client lets go of the coordinator's limits
    kinds = [kind for kind, _ in limits.log]
    assert kinds == ["slot", "pace", "finish", "cooldown", "slot", "pace", "finish"]
    assert limits.log[2] == ("finish", ("the-slot", True, True))  # the 429: uncounted, headers read
    assert limits.log[6] == ("finish", ("the-slot", False, True))
    assert limits.log[3] == ("cooldown", 0.0)
    # The 429 cost nothing: only the call that went through is counted.
    assert bigin.credits.spent_total == 1
    # The token went to the coordination's store.
    assert await coordination.store.load(bigin.transport.tokens.store_key) is not None


@respx.mock
async def test_a_pace_past_the_deadline_refuses_the_call_unsent() -> None:
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))
    route = respx.get(f"{API}/org").mock(return_value=httpx.Response(200, json={"org": []}))
    coordination = RecordingCoordination()
    async with client(coordination, deadline=5.0) as bigin:
        coordination.made[0].refuse_with = 60.0
        with pytest.raises(BiginTimeoutError, match="coordinator's pace .* 60.00s, past the deadline"):
            await bigin.request("GET", "/org")
    assert route.call_count == 0


@respx.mock
async def test_a_call_cancelled_mid_exchange_still_finishes_its_attempt() -> None:
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))
    started = anyio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    respx.get(f"{API}/org").mock(side_effect=slow)
    coordination = RecordingCoordination()
    async with client(coordination) as bigin:
        async with anyio.create_task_group() as tg:
            tg.start_soon(bigin.request, "GET", "/org")
            await started.wait()
            tg.cancel_scope.cancel()
        limits = coordination.made[0]
        assert limits.log[-1] == ("finish", ("the-slot", False, False))
        assert limits.gate.in_flight == 0
        assert limits.budget._in_flight == 0  # settled, though the exchange never ended


def test_a_token_store_given_too_wins_over_the_coordinations() -> None:
    coordination = RecordingCoordination()
    mine = MemoryTokenStore()
    bigin = BiginClient(**SECRETS, coordination=coordination, token_store=mine)
    assert bigin.transport.tokens.store is mine


def test_a_coordination_that_is_not_one_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ConfigurationError, match="coordination must share limits"):
        BiginClient(**SECRETS, coordination="redis://localhost")  # type: ignore[arg-type]


def test_from_env_without_redis_py_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def no_redis(name: str, *args: Any) -> Any:
        if name == "bigin_async.integrations.redis":
            raise ImportError("No module named 'redis'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_redis)
    env = {"BIGIN_ACCESS_TOKEN": "1000.x", "BIGIN_REDIS_URL": "redis://127.0.0.1:1/0"}
    with pytest.raises(ConfigurationError, match=r"pip install 'bigin-async\[redis\]'"):
        BiginClient.from_env(env)


class _BudgetOfItsOwn:
    """A budget written to BudgetView before ``allowance`` was part of it (the local one beneath)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "allowance":
            raise AttributeError(name)
        return getattr(self._inner, name)


class _LimitsWithAnOlderBudget(LocalLimits):
    """One's own limits: the local ones, with a budget that has no ``allowance``."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.budget = _BudgetOfItsOwn(self.budget)  # type: ignore[assignment]


async def test_a_budget_without_allowance_is_measured_by_its_limit_and_never_breaks_a_call() -> None:
    """Review: reading ``budget.allowance`` raised AttributeError after the answer had come (a
    write applied, reported failed) for a coordination whose budget predates the attribute."""
    low: list[Any] = []

    class Older(RecordingCoordination):
        def limits(self, settings: Settings) -> Limits:
            made = _LimitsWithAnOlderBudget(settings)
            assert isinstance(made, Limits)
            return made

    headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "25"}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"org": [{}]}, headers=headers))
    async with BiginClient(
        access_token="t",
        transport=transport,
        daily_limit=300,
        coordination=Older(),
        event_hooks={"budget_low": [low.append]},
    ) as bigin:
        await bigin.request("GET", "/org")
    assert [(e.remaining, e.threshold, e.limit) for e in low] == [(25, 30, 300)]
