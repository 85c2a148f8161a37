"""Second reading of the OAuth token work (issue #9 items 11-15): what an adversary finds.

Processes sharing a token file share Zoho's 10-in-10 count too; a flight whose event loop died
never holds the next loop; absurd ``expires_in`` values do not make every call refresh; a clock
that jumps back does not lock the client out for longer than Zoho's window; the file lock is
portable; the client's backoff setting reaches the token manager; no secret ever shows.
"""

from __future__ import annotations

import logging
import sys
import threading
import types
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from pydantic import SecretStr

from bigin_async import AuthenticationError, BiginClient, FileTokenStore
from bigin_async.auth import MemoryTokenStore, RefreshBlockedError, Token, TokenManager
from tests.auth.test_auth import NOW, FakeAccounts, manager, ok
from tests.helpers.transport import SECRET_STRINGS, SECRETS, token_body


def _fresh_for(seconds: int) -> httpx.Response:
    return httpx.Response(200, json=token_body("1000.access-SECRET", expires_in=seconds))


# -- the 10-in-10 count across processes ------------------------------------------------------------
async def test_three_processes_sharing_a_token_file_share_one_count_of_refreshes(tmp_path: Path) -> None:
    """Three processes (three managers, three stores on one file: nothing shared in memory) each
    need four refreshes within ten minutes: twelve in all, and Zoho blocks the refresh token at
    eleven. The token file carries the count, so the eleventh is refused locally."""
    clock = [NOW]
    accounts = FakeAccounts(_fresh_for(61))  # fresh for one second past the refresh margin
    path = tmp_path / "tokens.json"
    processes = [manager(accounts, clock, store=FileTokenStore(path)) for _ in range(3)]
    outcomes: list[str] = []
    for _ in range(4):
        for tokens in processes:
            clock[0] += 31.0  # the token every process sees in the file has gone stale
            try:
                await tokens.get_token()
                outcomes.append("token")
            except RefreshBlockedError as exc:
                outcomes.append(exc.code or "")
    assert accounts.sent == TokenManager.MAX_REFRESHES
    assert outcomes == ["token"] * 10 + ["REFRESH_LIMIT"] * 2


def test_three_real_processes_refreshing_four_times_each_send_ten_between_them(tmp_path: Path) -> None:
    """The same with real processes at once: each needs four refreshes (its tokens never last past
    the refresh margin), twelve in all; ten reach the accounts server, two are refused locally."""
    import subprocess
    import textwrap

    counter = tmp_path / "sent.txt"
    script = textwrap.dedent(
        f"""
        import anyio, httpx
        from pydantic import SecretStr
        from bigin_async.auth import FileTokenStore, RefreshBlockedError, TokenManager

        def handler(request):
            with open({str(counter)!r}, "a") as f:
                f.write("x")
            # Stale a microsecond later: every call of every process needs a refresh.
            return httpx.Response(200, json={{"access_token": "a-token", "expires_in": 1e-6}})

        async def main():
            tokens = TokenManager(token_url="https://accounts.zoho.com/oauth/v2/token",
                                  client_id=SecretStr("cid-1"), client_secret=SecretStr("secret-1"),
                                  refresh_token=SecretStr("refresh-1"),
                                  store=FileTokenStore({str(tmp_path / "tokens.json")!r}))
            tokens.http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
            for _ in range(4):
                try:
                    await tokens.get_token()
                    print("token")
                except RefreshBlockedError as exc:
                    print(exc.code)

        anyio.run(main)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert counter.read_text() == "x" * TokenManager.MAX_REFRESHES
    seen = sorted(word for output in outputs for word in output)
    assert seen == ["REFRESH_LIMIT"] * 2 + ["token"] * 10


async def test_a_garbled_refresh_history_in_the_file_is_ignored_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    accounts = FakeAccounts(ok())
    first = manager(accounts, store=FileTokenStore(path))
    await first.get_token()
    text = path.read_text()
    assert "refreshes" in text  # the history is in the file
    import json

    data = json.loads(text)
    for key in data:
        if key.endswith("#refreshes"):
            data[key] = ["yesterday", None, {"x": 1}]
    path.write_text(json.dumps(data))
    second = manager(accounts, [NOW + 4000.0], store=FileTokenStore(path))
    await second.get_token()
    assert accounts.sent == 2


async def test_access_denied_seen_by_one_process_stops_the_others_sending_until_zohos_window_ends(
    tmp_path: Path,
) -> None:
    """One process gets "Access Denied" (Retry-After 120 s); another sharing the token file, its
    token stale, must not ask Zoho again before then (each request would keep the block going)."""
    clock = [NOW]
    path = tmp_path / "tokens.json"
    denied = httpx.Response(400, json={"error": "Access Denied"}, headers={"Retry-After": "120"})
    accounts = FakeAccounts(denied, ok())
    first = manager(accounts, clock, store=FileTokenStore(path))
    second = manager(accounts, clock, store=FileTokenStore(path))
    with pytest.raises(RefreshBlockedError):
        await first.get_token()
    assert accounts.sent == 1
    clock[0] += 60.0
    with pytest.raises(RefreshBlockedError) as blocked:
        await second.get_token()
    assert accounts.sent == 1  # nothing more was sent
    assert blocked.value.retry_after == pytest.approx(60.0, abs=0.01)
    clock[0] += 60.0
    token = await second.get_token()
    assert token.access_token.get_secret_value() == "1000.access-SECRET"
    assert (await first.get_token()) == token  # the first process reads it from the file
    assert accounts.sent == 2


# -- a flight whose event loop died --------------------------------------------------------------
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_flight_launched_as_its_loop_ended_does_not_hold_the_next_loop(backend: str) -> None:
    """A script that calls ``anyio.run`` per job (or a sync wrapper) shares one manager: the first
    run ends (its caller gave up) before the refresh's helper thread got going. The next run must
    refresh, not wait forever for a flight of a loop that is gone."""
    accounts = FakeAccounts(ok())
    tokens = manager(accounts)
    go = threading.Event()
    hosts: list[threading.Thread] = []
    real_host = TokenManager._host

    def late_host(self: TokenManager, loop: Any, flight: Any) -> None:
        hosts.append(threading.current_thread())
        go.wait(30)  # the OS schedules this thread only after the loop has ended
        real_host(self, loop, flight)

    async def give_up() -> None:
        with anyio.move_on_after(0):
            await tokens.get_token()

    async def again() -> Token:
        with anyio.fail_after(20):
            return await tokens.get_token()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TokenManager, "_host", late_host)
        anyio.run(give_up, backend=backend)
    try:
        token = anyio.run(again, backend=backend)
    finally:
        go.set()  # the first run's helper thread gets going only now, against a loop that is gone
    for host in hosts:
        host.join(30)
    assert hosts and not any(host.is_alive() for host in hosts)  # no helper thread left behind
    assert token.access_token.get_secret_value() == "1000.access-SECRET"
    assert accounts.sent == 1
    assert tokens.current is token  # the late thread of the dead loop changed nothing


# -- expires_in that Zoho would never send ---------------------------------------------------------
@pytest.mark.parametrize("expires_in", [-5, 0, "NaN", "-Infinity", "soon"])
async def test_an_absurd_expires_in_does_not_make_every_call_refresh(expires_in: Any) -> None:
    accounts = FakeAccounts(
        httpx.Response(200, json={"access_token": "1000.access-SECRET", "expires_in": expires_in})
    )
    tokens = manager(accounts)
    for _ in range(5):
        await tokens.get_token()
    assert accounts.sent == 1


async def test_legacy_expires_in_milliseconds_next_to_expires_in_sec() -> None:
    """realism='zoho': ``expires_in_sec`` in seconds, ``expires_in`` in milliseconds."""
    body = {"access_token": "1000.access-SECRET", "expires_in_sec": 3600, "expires_in": 3_600_000}
    tokens = manager(FakeAccounts(httpx.Response(200, json=body)))
    token = await tokens.get_token()
    assert token.expires_at == pytest.approx(NOW + 3600)
    only_ms = manager(
        FakeAccounts(httpx.Response(200, json={"access_token": "x-token", "expires_in": 3_600_000}))
    )
    assert (await only_ms.get_token()).expires_at == pytest.approx(NOW + 3600)


# -- clock jumps -----------------------------------------------------------------------------------
async def test_a_clock_that_jumps_back_does_not_stretch_the_lockout_past_zohos_window() -> None:
    clock = [NOW]
    accounts = FakeAccounts(_fresh_for(61))
    tokens = manager(accounts, clock)
    for _ in range(TokenManager.MAX_REFRESHES):
        clock[0] += 31.0
        await tokens.get_token()
    clock[0] -= 3600.0  # NTP corrects the wall clock by an hour
    assert tokens.current is not None
    await tokens.invalidate(tokens.current)  # the API refused it: a new one is needed
    with pytest.raises(RefreshBlockedError) as blocked:
        await tokens.get_token()
    assert blocked.value.retry_after <= TokenManager.REFRESH_WINDOW
    clock[0] += TokenManager.REFRESH_WINDOW
    await tokens.get_token()
    assert accounts.sent == TokenManager.MAX_REFRESHES + 1


async def test_an_access_denied_block_survives_no_longer_than_zoho_asked_after_a_clock_jump() -> None:
    clock = [NOW]
    denied = httpx.Response(400, json={"error": "Access Denied"}, headers={"Retry-After": "120"})
    accounts = FakeAccounts(denied, ok())
    tokens = manager(accounts, clock)
    with pytest.raises(RefreshBlockedError):
        await tokens.get_token()
    clock[0] -= 3600.0
    with pytest.raises(RefreshBlockedError) as blocked:
        await tokens.get_token()
    assert blocked.value.retry_after <= 120
    clock[0] += 120
    await tokens.get_token()
    assert accounts.sent == 2


# -- a refresh that lands after its caller gave up --------------------------------------------------
async def test_a_refresh_that_succeeds_after_its_callers_deadline_is_kept() -> None:
    release = anyio.Event()
    arrived = anyio.Event()
    requests: list[httpx.Request] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        arrived.set()
        await release.wait()
        return ok()

    tokens = manager(FakeAccounts(ok()))
    tokens.http = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    with anyio.move_on_after(5) as scope:
        async with anyio.create_task_group() as tasks:

            async def caller() -> None:
                await tokens.get_token()

            tasks.start_soon(caller)
            await arrived.wait()
            tasks.cancel_scope.cancel()
    assert not scope.cancelled_caught
    release.set()
    with anyio.fail_after(10):
        token = await tokens.get_token()  # the flight's token (kept, or joined): no second request
    assert token.access_token.get_secret_value() == "1000.access-SECRET"
    assert len(requests) == 1
    assert tokens.current is token


# -- the file lock on Windows -----------------------------------------------------------------------
async def test_the_file_lock_uses_msvcrt_where_there_is_no_fcntl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows there is no ``fcntl``: the lock takes ``msvcrt.locking`` on the lock file's first
    byte, tries again while another process holds it (EACCES), and releases it. Simulated here by
    hiding ``fcntl`` and providing a recording msvcrt that is busy twice."""
    import errno

    from bigin_async import _filelock
    from bigin_async.auth import _stores

    calls: list[tuple[int, int]] = []
    busy = [2]
    fake = types.ModuleType("msvcrt")
    fake.LK_NBLCK = 2  # type: ignore[attr-defined]
    fake.LK_UNLCK = 0  # type: ignore[attr-defined]

    def locking(fd: int, mode: int, nbytes: int) -> None:
        calls.append((mode, nbytes))
        if mode == 2 and busy[0]:
            busy[0] -= 1
            raise PermissionError(errno.EACCES, "Permission denied")

    fake.locking = locking  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # import fcntl -> ImportError, as on Windows
    monkeypatch.setattr(_filelock, "_WINDOWS", True)
    monkeypatch.setattr(_stores, "_LOCK_POLL", 0.0)
    store = FileTokenStore(tmp_path / "tokens.json")
    with anyio.fail_after(20):
        async with store.lock("k"):
            assert calls == [(2, 1)] * 3
            await store.save("k", Token(SecretStr("a-token"), expires_at=None))
    assert calls == [(2, 1)] * 3 + [(0, 1)]
    assert (await store.load("k")) is not None


async def test_the_file_lock_is_held_against_another_process_on_posix(tmp_path: Path) -> None:
    import fcntl
    import os

    store = FileTokenStore(tmp_path / "t.json")
    async with store.lock("k"):
        fd = os.open(tmp_path / "t.json.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another open file: as another process
        finally:
            os.close(fd)
    fd = os.open(tmp_path / "t.json.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on the way out
    finally:
        os.close(fd)


async def test_a_lock_held_by_a_stuck_process_costs_the_flights_bound_not_forever(tmp_path: Path) -> None:
    """Another process holds the token file's lock and hangs (stopped, or its disk froze): the
    refresh ends at its own bound with a timeout, and once the lock is free the next call works."""
    import fcntl
    import os

    from bigin_async import BiginTimeoutError

    path = tmp_path / "t.json"
    accounts = FakeAccounts(ok())
    tokens = manager(accounts, store=FileTokenStore(path), refresh_deadline=0.3)
    fd = os.open(tmp_path / "t.json.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the stuck process
        with anyio.fail_after(20):
            with pytest.raises(BiginTimeoutError):
                await tokens.get_token()
        assert accounts.sent == 0
    finally:
        os.close(fd)  # the stuck process dies: its lock goes with it
    with anyio.fail_after(20):
        await tokens.get_token()
    assert accounts.sent == 1


# -- the client's backoff setting ----------------------------------------------------------------
def test_the_clients_retry_backoff_reaches_the_token_manager() -> None:
    client = BiginClient(**SECRETS, retry_backoff_seconds=0.0)
    assert client.transport.tokens.retry_backoff == 0.0
    client = BiginClient(**SECRETS, retry_backoff_seconds=2.5)
    assert client.transport.tokens.retry_backoff == 2.5


# -- no secret ever shows --------------------------------------------------------------------------
SECRET_VALUES = (*SECRET_STRINGS, "1000.access-SECRET")


def _assert_hidden(text: str) -> None:
    for secret in SECRET_VALUES:
        assert secret not in text, f"{secret!r} shows in {text!r}"


async def test_reprs_of_manager_stores_and_tokens_hide_the_secrets(tmp_path: Path) -> None:
    tokens = manager(FakeAccounts(ok()), store=FileTokenStore(tmp_path / "t.json"))
    token = await tokens.get_token()
    memory = MemoryTokenStore()
    await memory.save("k", token)
    for thing in (tokens, tokens.store, memory, token, tokens.current):
        _assert_hidden(repr(thing))
        _assert_hidden(str(thing))
    _assert_hidden(repr(vars(tokens)))


ECHO = "client_id=1000.CLIENTID&client_secret=s3cr3t-client&refresh_token=1000.refresh-SECRET"
FAILURES: list[tuple[str, list[httpx.Response | Exception]]] = [
    ("connect error", [httpx.ConnectError("[Errno 111] Connection refused")]),
    ("read timeout", [httpx.ReadTimeout("The read operation timed out")]),
    ("500 echoing the form", [httpx.Response(500, text=ECHO)]),
    ("429 echoing the form", [httpx.Response(429, text=ECHO)]),
    (
        "invalid_code echoing",
        [httpx.Response(200, json={"error": "invalid_code", "error_description": ECHO})],
    ),
    (
        "invalid_client echoing",
        [httpx.Response(200, json={"error": "invalid_client", "error_description": ECHO})],
    ),
    (
        "access denied echoing",
        [httpx.Response(400, json={"error": "Access Denied", "error_description": ECHO})],
    ),
    ("error code echoing", [httpx.Response(200, json={"error": f"bad {SECRETS['refresh_token']}"})]),
    ("html page", [httpx.Response(400, text=f"<html>{ECHO}</html>")]),
    ("json list", [httpx.Response(200, json=[ECHO])]),
    ("no access token", [httpx.Response(200, json={"note": ECHO})]),
]


def _error_texts(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), repr(getattr(exc, "details", None)), str(getattr(exc, "url", ""))]
    seen: BaseException | None = exc.__cause__ or exc.__context__
    while seen is not None and len(texts) < 40:
        texts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return texts


@pytest.mark.parametrize(("name", "answers"), FAILURES, ids=[name for name, _ in FAILURES])
async def test_no_failure_mode_shows_a_secret_in_its_error_or_logs(
    name: str, answers: list[httpx.Response | Exception], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for logger_name in ("httpx", "httpcore", "bigin_async"):
        caplog.set_level(logging.DEBUG, logger=logger_name)
    clock = [NOW]
    tokens = manager(FakeAccounts(*answers), clock)
    errors: list[BaseException] = []
    for _ in range(TokenManager.MAX_REFRESHES + 2):  # the first failure, the cached/limited ones after
        try:
            await tokens.get_token()
        except Exception as exc:
            errors.append(exc)
        clock[0] += 1.0
    assert errors
    for error in errors:
        assert (
            isinstance(error, AuthenticationError)
            or "Connection" in type(error).__name__
            or "Error" in type(error).__name__
        )
        for text in _error_texts(error):
            _assert_hidden(text)
    for record in caplog.records:
        _assert_hidden(record.getMessage())
        _assert_hidden(repr(record.args))


async def test_the_flights_own_bound_hides_secrets_and_a_real_socket_logs_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Over a real loopback socket (httpcore logs at DEBUG): a hang cut by the flight's bound, then
    a token; no log line, no error carries a secret."""
    from tests.helpers.accounts_server import AccountsServer

    caplog.set_level(logging.DEBUG)
    for logger_name in ("httpx", "httpcore", "bigin_async"):
        caplog.set_level(logging.DEBUG, logger=logger_name)
    async with AccountsServer.running() as server:
        server.mode = "hang"
        tokens = TokenManager(
            token_url=server.url,
            client_id=SecretStr(SECRETS["client_id"]),
            client_secret=SecretStr(SECRETS["client_secret"]),
            refresh_token=SecretStr(SECRETS["refresh_token"]),
            refresh_deadline=0.3,
            timeout=10.0,
            retry_backoff=0.0,
        )
        async with httpx.AsyncClient() as http:
            tokens.http = http
            with pytest.raises(Exception) as hung:
                with anyio.fail_after(20):
                    await tokens.get_token()
            for text in _error_texts(hung.value):
                _assert_hidden(text)
            server.mode = "ok"
            with anyio.fail_after(20):
                await tokens.get_token()
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    for record in caplog.records:
        _assert_hidden(record.getMessage())
        _assert_hidden(repr(record.args))


async def test_a_token_file_refresh_needs_no_worker_thread_the_app_may_have_taken_all_of(
    tmp_path: Path,
) -> None:
    """A web app whose sync endpoints hold every worker thread of anyio's default limiter (40 under
    FastAPI; 2 here), each waiting for an SDK call (``from_thread.run``): the refresh those calls
    need must not wait for a worker thread too, or all of them wait until the refresh's bound."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    saved = limiter.total_tokens
    limiter.total_tokens = 2
    hold = threading.Event()
    holding = 0
    started = anyio.Event()
    try:
        async with anyio.create_task_group() as tasks:

            async def endpoint() -> None:
                nonlocal holding
                holding += 1
                if holding == 2:
                    started.set()
                await anyio.to_thread.run_sync(hold.wait, 30)

            for _ in range(2):
                tasks.start_soon(endpoint)
            try:
                await started.wait()
                tokens = manager(
                    FakeAccounts(ok()), store=FileTokenStore(tmp_path / "t.json"), refresh_deadline=5.0
                )
                with anyio.fail_after(20):
                    token = await tokens.get_token()
                assert token.access_token.get_secret_value() == "1000.access-SECRET"
                assert limiter.borrowed_tokens == 2  # the app's threads were all taken throughout
            finally:
                hold.set()
    finally:
        limiter.total_tokens = saved


# -- after the client is closed -------------------------------------------------------------------
async def test_a_token_manager_whose_http_client_was_closed_raises_the_typed_error() -> None:
    from bigin_async.errors import ConfigurationError

    tokens = manager(FakeAccounts(ok()))
    assert tokens.http is not None
    await tokens.http.aclose()  # what BiginClient.aclose does to a pool it owns
    with pytest.raises(ConfigurationError, match="closed"):
        await tokens.get_token()


async def test_closing_the_token_manager_ends_a_hanging_refresh_for_its_waiters() -> None:
    """``aclose`` of the client while the accounts server hangs: the waiters do not wait for the
    refresh's bound (here 1000 s), they get a typed error at once."""
    from bigin_async.errors import ConfigurationError

    arrived = anyio.Event()
    never = anyio.Event()

    async def hung(request: httpx.Request) -> httpx.Response:
        arrived.set()
        await never.wait()
        raise AssertionError("unreachable")

    tokens = manager(FakeAccounts(ok()), refresh_deadline=1000.0)
    tokens.http = httpx.AsyncClient(transport=httpx.MockTransport(hung))
    errors: list[BaseException] = []

    async def waiter() -> None:
        try:
            await tokens.get_token()
        except Exception as exc:
            errors.append(exc)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tasks:
            for _ in range(3):
                tasks.start_soon(waiter)
            await arrived.wait()
            tokens.close()
    assert len(errors) == 3 and all(isinstance(e, ConfigurationError) for e in errors)
    with pytest.raises(ConfigurationError):
        await tokens.get_token()
