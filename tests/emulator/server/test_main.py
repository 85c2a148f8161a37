"""The command line: options map onto ServerLimits/FaultPlan, and run() serves and prints access."""

from __future__ import annotations

import argparse
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from bigin_emulator.cli import build_emulator, faults_from, limits_from, parse_args, run
from bigin_emulator.server.faults import FaultPlan, ServerLimits
from bigin_emulator.server.middleware import EmulatorMiddleware
from bigin_emulator.server.serving import serve
from tests.helpers.emulator_server import RecordingApp


def test_options_become_limits_and_faults() -> None:
    args = parse_args(
        [
            "--seed", "5", "--latency", "0.01,0.2", "--max-concurrency", "10", "--per-minute", "100",
            "--daily-credits", "5000", "--faults", "error_500=0.01, drop_after=0.02", "--slow-seconds", "9",
        ]
    )  # fmt: skip
    assert limits_from(args) == ServerLimits(
        latency=(0.01, 0.2), max_concurrency=10, per_minute=100, daily_credits=5000, seed=5
    )
    assert faults_from(args) == FaultPlan(seed=5, error_500=0.01, drop_after=0.02, slow_seconds=9.0)


def test_defaults_are_limit_free_and_fault_free() -> None:
    args = parse_args([])
    assert (args.port, args.content_port, args.seed_records) == (8787, 0, 1000)
    assert limits_from(args) == ServerLimits()
    assert faults_from(args).total_rate == 0


def test_realism_option_builds_a_zoho_emulator() -> None:
    args = parse_args(["--realism", "zoho", "--seed-records", "0"])
    emulator = build_emulator(args, limits_from(args), faults_from(args))
    assert emulator.realism.bare_429s and emulator.realism.hang_up_after == 7
    assert emulator.middleware.limits.max_concurrency == 10  # Zoho's cap, as --max-concurrency was not given
    kind = parse_args(["--seed-records", "0"])
    assert build_emulator(kind, limits_from(kind), faults_from(kind)).realism.bare_429s is False
    with pytest.raises(SystemExit):
        parse_args(["--realism", "harsh"])


@pytest.mark.parametrize(
    "option", [["--faults", "meteor=0.1"], ["--faults", "error_500"], ["--latency", "1,2,3"]]
)
def test_bad_options_are_refused(option: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(option)


class _FakeEmulator:
    client_id = "emulator-client-id"
    client_secret = "emulator-client-secret"
    refresh_token = "emulator-refresh-token"

    def __init__(self, limits: ServerLimits, faults: FaultPlan) -> None:
        self.app = EmulatorMiddleware(RecordingApp(), limits=limits, faults=faults)
        self.content_url: str | None = None

    def issue_token(self) -> str:
        return "ready-access-token"

    @asynccontextmanager
    async def serve(self, *, host: str, port: int, content_port: int) -> AsyncIterator[str]:
        assert content_port == 0
        async with serve(self.app, host=host, port=port) as url:
            self.content_url = url + "/files"  # where a BiginEmulator's file host would be
            yield url


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_run_serves_and_prints_how_to_connect() -> None:
    args = parse_args(["--port", "0", "--per-minute", "50"])
    built: list[Any] = []

    def build(options: argparse.Namespace, limits: ServerLimits, faults: FaultPlan) -> _FakeEmulator:
        built.append((options.seed_records, limits, faults))
        return _FakeEmulator(limits, faults)

    out = io.StringIO()
    urls: list[str] = []
    started = anyio.Event()

    def ready(url: str) -> None:
        urls.append(url)
        started.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: run(args, build=build, out=out, ready=ready))
        await started.wait()
        async with httpx.AsyncClient(base_url=urls[0]) as client:
            response = await client.get("/bigin/v2/Contacts")
        tasks.cancel_scope.cancel()
    assert response.status_code == 200 and response.headers["x-ratelimit-limit"] == "50"
    assert built == [(1000, ServerLimits(per_minute=50), FaultPlan())]
    text = out.getvalue()
    assert f"listening on {urls[0]}" in text
    assert "ready-access-token" in text and "emulator-client-secret" in text
    assert f"api_domain={urls[0]!r}" in text
    assert f"file host      {urls[0]}/files/bigin/v2/upload" in text
    assert f"content_domain={urls[0] + '/files'!r}" in text
