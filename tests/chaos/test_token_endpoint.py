"""Chaos: Zoho's accounts server failing under fifty waiters, over a real loopback socket.

Per failure episode, exactly one flight reaches the server (one request, or the flight's bounded
retries for a 500 or a refused connection), every waiter gets the same typed error, and after the
server recovers the client refreshes again at once: no lockout, except after "Access Denied"
(and a revoked refresh token), which wait their window on a fake clock and then recover too.
"""

from __future__ import annotations

import anyio
import httpx
import pytest
from pydantic import SecretStr

from bigin_async.auth import TokenManager
from tests.helpers.accounts_server import MODES, START, AccountsServer, CountingTransport, episode

ATTEMPTS = 3  # TokenManager's default refresh_attempts

# mode: (requests that reach the server, connection attempts, what every waiter sees, next call)
EXPECTED = {
    "500": (ATTEMPTS, ATTEMPTS, "ServerError", "token"),
    "invalid_code": (1, 1, "AuthenticationError(invalid_code)", "AuthenticationError(invalid_code)"),
    "access_denied": (1, 1, "RefreshBlockedError(Access Denied)", "RefreshBlockedError(Access Denied)"),
    "hang": (1, 1, "BiginTimeoutError", "token"),
    "slow": (1, 1, "BiginTimeoutError", "token"),
    "refused": (0, ATTEMPTS, "BiginConnectionError", "token"),
}


@pytest.mark.parametrize("mode", MODES)
async def test_fifty_waiters_one_flight_one_error_then_recovery(mode: str) -> None:
    reached, attempts, seen, next_call = EXPECTED[mode]
    report = await episode(mode, waiters=50)
    assert report["refresh_requests_reached_endpoint"] == reached
    assert report["connection_attempts"] == attempts
    assert report["seen_by_waiters"] == {seen: 50}
    assert report["one_error_for_all"]
    assert report["next_call"] == next_call
    # a call that fails fast sends nothing; one that recovers sends exactly one refresh
    assert report["next_call_requests"] == (1 if next_call == "token" else 0)
    assert report["recovered"] and report["requests_to_recover"] == 1


async def test_a_cancelled_first_caller_leaves_the_refresh_to_the_others_over_a_socket() -> None:
    """The caller that started the refresh is cancelled while the server is slow to answer: it is
    gone at once, the one request completes, and the other waiters get its token."""
    async with AccountsServer.running() as server, httpx.AsyncClient(transport=CountingTransport()) as http:
        tokens = TokenManager(
            token_url=server.url,
            client_id=SecretStr("1000.CHAOS"),
            client_secret=SecretStr("chaos-secret"),
            refresh_token=SecretStr("1000.chaos-refresh"),
            clock=lambda: START,
        )
        tokens.http = http
        server.hold = release = anyio.Event()
        gone = anyio.Event()
        got: list[str] = []

        async def impatient(scope: anyio.CancelScope) -> None:
            with scope:
                await tokens.get_token()
            gone.set()

        async def patient() -> None:
            got.append((await tokens.get_token()).access_token.get_secret_value())

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                first = anyio.CancelScope()
                tasks.start_soon(impatient, first)
                await server.arrived.wait()
                for _ in range(20):
                    tasks.start_soon(patient)
                first.cancel()
                await gone.wait()
                assert not release.is_set()  # it left while the refresh was still at the server
                release.set()
        assert first.cancelled_caught
        assert server.received == 1
        assert got == ["1000.minted-1"] * 20
