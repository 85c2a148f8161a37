"""A refresh that failed in one process is not sent again by the others waiting for it.

Processes sharing a token store wait for its lock while one of them refreshes. When that refresh
fails (the accounts server down, a 500, "Access Denied", a refused refresh token), the store keeps
the failure for a moment (:class:`RefreshFailures`), and every flight that was already waiting
raises it instead of sending a refresh of its own: across N processes one attempt per episode,
as within one process. Here the "processes" are token managers that share nothing but the store
(a :class:`FileTokenStore` on one file, each with its own store object), against a loopback
accounts server; tests/redis/test_tokens.py runs the same episodes with the Redis store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from pydantic import SecretStr

from bigin_async import (
    AuthenticationError,
    BiginConnectionError,
    BiginTimeoutError,
    FileTokenStore,
    RateLimitError,
    RefreshFailures,
    ServerError,
    TokenStore,
)
from bigin_async.auth import MemoryTokenStore, RefreshBlockedError, Token, TokenManager
from bigin_async.auth import RefreshFailures as FromAuth
from tests.auth.test_auth import NOW, FakeAccounts, manager, ok
from tests.helpers.accounts_server import AccountsServer
from tests.helpers.transport import SECRET_STRINGS

Outcome = Token | BaseException


class Watched:
    """A store as one process's token manager sees it, saying when its flight asks for the lock
    (from then on, while another process holds it, the flight is waiting)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.locking = anyio.Event()

    async def load(self, key: str) -> Token | None:
        token: Token | None = await self.inner.load(key)
        return token

    async def save(self, key: str, token: Token) -> None:
        await self.inner.save(key, token)

    async def clear(self, key: str) -> None:
        await self.inner.clear(key)

    def lock(self, key: str) -> Any:
        self.locking.set()
        return self.inner.lock(key)

    async def update_refreshes(self, key: str, change: Callable[[list[float]], list[float]]) -> list[float]:
        times: list[float] = await self.inner.update_refreshes(key, change)
        return times

    async def record_failure(self, key: str, failure: Mapping[str, Any], ttl: float) -> None:
        await self.inner.record_failure(key, failure, ttl)

    async def recent_failure(self, key: str, since: float) -> Mapping[str, Any] | None:
        found: Mapping[str, Any] | None = await self.inner.recent_failure(key, since)
        return found


def process(server: AccountsServer, store: TokenStore, **options: Any) -> TokenManager:
    """One "process": a token manager of its own, with a stale token, sharing only ``store``."""
    tokens = TokenManager(
        token_url=server.url,
        client_id=SecretStr("1000.SHARED"),
        client_secret=SecretStr("shared-secret"),
        refresh_token=SecretStr("1000.shared-refresh"),
        access_token=SecretStr("1000.expired-access"),
        expires_in=-10.0,
        store=store,
        retry_backoff=0.0,
        **options,
    )
    return tokens


async def episode_across(
    server: AccountsServer,
    stores: Sequence[TokenStore],
    *,
    mode: str,
    tasks_each: int = 1,
    transport: httpx.AsyncBaseTransport | None = None,
    **options: Any,
) -> list[list[Outcome]]:
    """Every process's ``tasks_each`` callers need a token while the accounts server answers as
    ``mode`` says. The first process's refresh is held at the server until every other process's
    flight is waiting for the store's lock: one episode, everyone in it. What each process's
    callers got, in order of the stores."""
    watched = [Watched(store) for store in stores]
    managers = [process(server, store, **options) for store in watched]
    server.mode = mode
    server.hold = release = anyio.Event()
    results: list[list[Outcome]] = [[] for _ in managers]

    async def caller(number: int) -> None:
        try:
            results[number].append(await managers[number].get_token())
        except Exception as exc:
            results[number].append(exc)

    async with httpx.AsyncClient(transport=transport) as http:
        for tokens in managers:
            tokens.http = http
        with anyio.fail_after(30):  # a safety bound only: the episode ends on its own
            async with anyio.create_task_group() as tasks:
                for _ in range(tasks_each):
                    tasks.start_soon(caller, 0)
                await server.arrived.wait()  # the first process's refresh is at the server
                for number in range(1, len(managers)):
                    for _ in range(tasks_each):
                        tasks.start_soon(caller, number)
                for store in watched:
                    await store.locking.wait()  # every other process waits for the lock
                release.set()
    return results


class Refusing(httpx.AsyncBaseTransport):
    """The accounts server's port refusing connections (nothing reaches it), its first refusal
    held as :class:`AccountsServer` holds its first answer; ``attempts`` counts the tries."""

    def __init__(self, server: AccountsServer) -> None:
        self.server = server
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        first = not self.server.arrived.is_set()
        self.server.arrived.set()
        if first and self.server.hold is not None:
            await self.server.hold.wait()
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def kinds(results: Sequence[Sequence[Outcome]]) -> set[str]:
    return {type(r).__name__ for outcomes in results for r in outcomes}


# -- the protocol --------------------------------------------------------------------------------
def test_the_file_store_keeps_failures_and_the_memory_store_does_not(tmp_path: Path) -> None:
    assert FromAuth is RefreshFailures
    assert isinstance(FileTokenStore(tmp_path / "t.json"), RefreshFailures)
    assert not isinstance(MemoryTokenStore(), RefreshFailures)


# -- one attempt per episode across processes ----------------------------------------------------
async def test_two_processes_on_one_token_file_send_one_refresh_while_the_endpoint_fails(
    tmp_path: Path,
) -> None:
    """The accounts server answers 500. The first process's refresh fails while the second waits
    for the file's lock; the second raises that failure rather than sending its own."""
    path = tmp_path / "tokens.json"
    async with AccountsServer.running() as server:
        results = await episode_across(
            server, [FileTokenStore(path), FileTokenStore(path)], mode="500", refresh_attempts=1
        )
    assert server.received == 1
    assert kinds(results) == {"ServerError"}
    mine, theirs = results[0][0], results[1][0]
    assert "another process" not in str(mine)
    assert "another process" in str(theirs) and "moments ago" in str(theirs)
    assert isinstance(theirs, ServerError) and theirs.status_code == 500


async def test_a_flights_retries_are_the_one_attempt_the_other_processes_share(tmp_path: Path) -> None:
    """With the default tries (a 500 is tried three times), the first process's flight sends three
    and the other two processes none: one flight per episode, as within a process."""
    path = tmp_path / "tokens.json"
    async with AccountsServer.running() as server:
        results = await episode_across(
            server, [FileTokenStore(path) for _ in range(3)], mode="500", tasks_each=5
        )
    assert server.received == 3
    assert kinds(results) == {"ServerError"}
    assert [len(r) for r in results] == [5, 5, 5]


async def test_a_refused_refresh_token_is_raised_to_the_waiting_process_and_remembered(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tokens.json"
    async with AccountsServer.running() as server:
        results = await episode_across(
            server, [FileTokenStore(path), FileTokenStore(path)], mode="invalid_code"
        )
        assert server.received == 1
        theirs = results[1][0]
        assert type(theirs) is AuthenticationError and theirs.code == "invalid_code"
        assert "another process" in theirs.message


async def test_access_denied_raised_to_the_waiting_process_keeps_zohos_retry_time(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    async with AccountsServer.running() as server:
        results = await episode_across(
            server, [FileTokenStore(path), FileTokenStore(path)], mode="access_denied"
        )
    assert server.received == 1
    mine, theirs = results[0][0], results[1][0]
    assert isinstance(mine, RefreshBlockedError) and isinstance(theirs, RefreshBlockedError)
    assert theirs.code == "Access Denied"
    assert theirs.retry_at == pytest.approx(mine.retry_at)


async def test_a_later_flight_tries_again_the_failure_is_not_a_lockout(tmp_path: Path) -> None:
    """The failure only answers flights that were waiting when it happened: a process that needs a
    token afterwards (the server has recovered) sends its own refresh."""
    path = tmp_path / "tokens.json"
    async with AccountsServer.running() as server:
        await episode_across(
            server, [FileTokenStore(path), FileTokenStore(path)], mode="500", refresh_attempts=1
        )
        later = process(server, FileTokenStore(path))
        server.mode = "ok"
        async with httpx.AsyncClient() as http:
            later.http = http
            token = await later.get_token()
    assert token.access_token.get_secret_value().startswith("1000.minted-")
    assert server.received == 2


async def test_without_a_store_that_keeps_failures_each_process_sends_its_own(tmp_path: Path) -> None:
    """A store that only locks and keeps tokens (no :class:`RefreshFailures`) behaves as before: the
    waiting process, finding no token, refreshes itself."""

    class OnlyTokens:
        def __init__(self, inner: FileTokenStore) -> None:
            self.inner = inner

        async def load(self, key: str) -> Token | None:
            return await self.inner.load(key)

        async def save(self, key: str, token: Token) -> None:
            await self.inner.save(key, token)

        async def clear(self, key: str) -> None:
            await self.inner.clear(key)

        def lock(self, key: str) -> Any:
            return self.inner.lock(key)

    path = tmp_path / "tokens.json"
    stores = [OnlyTokens(FileTokenStore(path)), OnlyTokens(FileTokenStore(path))]
    async with AccountsServer.running() as server:
        results = await episode_across(server, stores, mode="500", refresh_attempts=1)
    assert server.received == 2
    assert all("another process" not in str(r) for outcomes in results for r in outcomes)


async def bound_episode(server: AccountsServer, stores: Sequence[TokenStore]) -> list[list[Outcome]]:
    """The accounts server drips its answer (no read ever times out): the first process's flight
    is cut by its own bound while the others wait for the lock, each with a bound of its own."""
    watched = [Watched(store) for store in stores]
    managers = [process(server, store, refresh_deadline=5.0) for store in watched]
    server.mode = "slow"
    server.hold = release = anyio.Event()
    results: list[list[Outcome]] = [[] for _ in managers]

    async def caller(number: int) -> None:
        try:
            results[number].append(await managers[number].get_token())
        except Exception as exc:
            results[number].append(exc)

    async with httpx.AsyncClient() as http:
        for tokens in managers:
            tokens.http = http
        with anyio.fail_after(30):  # a safety bound only
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(caller, 0)
                await server.arrived.wait()
                for number in range(1, len(managers)):
                    tasks.start_soon(caller, number)
                for store in watched:
                    await store.locking.wait()
                flight = managers[0]._flight
                assert flight is not None and flight.scope is not None
                flight.scope.deadline = anyio.current_time()  # the first process's bound passes now
                release.set()
    return results


async def test_a_refresh_cut_by_its_bound_is_not_sent_again_by_the_waiting_process(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    async with AccountsServer.running() as server:
        results = await bound_episode(server, [FileTokenStore(path), FileTokenStore(path)])
    assert server.received == 1
    mine, theirs = results[0][0], results[1][0]
    assert isinstance(mine, BiginTimeoutError) and "did not finish within" in str(mine)
    assert isinstance(theirs, BiginTimeoutError) and "another process" in str(theirs)
    assert "did not finish within" in str(theirs)


# -- what is kept, and what is not ---------------------------------------------------------------
async def test_the_kept_failure_names_no_secret_even_when_the_server_echoed_them(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    echo = httpx.Response(
        200,
        json={
            "error": "invalid_client",
            "error_description": f"bad {' '.join(SECRET_STRINGS)} and client_secret=s3cr3t-client",
        },
    )
    tokens = manager(FakeAccounts(echo), store=FileTokenStore(path))
    with pytest.raises(AuthenticationError):
        await tokens.get_token()
    text = path.read_text()
    kept = json.loads(text)[tokens.store_key + "#failure"]
    assert kept["class"] == "AuthenticationError" and kept["code"] == "invalid_client"
    assert kept["status"] == 200 and kept["when"] == NOW
    for secret in SECRET_STRINGS:
        assert secret not in text


async def test_a_failure_kept_before_the_flight_began_waiting_is_not_raised(tmp_path: Path) -> None:
    clock = [NOW]
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    await store.record_failure("k", {"class": "ServerError", "message": "m", "when": NOW - 1}, ttl=60.0)
    assert await store.recent_failure("k", since=NOW) is None
    assert (await store.recent_failure("k", since=NOW - 1) or {})["message"] == "m"
    tokens = manager(FakeAccounts(ok()), clock, store=FileTokenStore(path))
    await store.record_failure(
        tokens.store_key, {"class": "ServerError", "message": "m", "when": NOW - 1}, 60.0
    )
    assert (await tokens.get_token()).access_token.get_secret_value() == "1000.access-SECRET"


async def test_a_process_never_takes_its_own_failure_for_another_processes(tmp_path: Path) -> None:
    """A clock that does not move (or moves in coarse ticks) stamps the next flight at the time of
    the last failure: the manager's own failure is not raised back to it, it tries again."""
    clock = [NOW]
    accounts = FakeAccounts(httpx.Response(500, json={"error": "x"}), ok())
    tokens = manager(accounts, clock, store=FileTokenStore(tmp_path / "tokens.json"))
    tokens.refresh_attempts = 1
    with pytest.raises(ServerError):
        await tokens.get_token()
    assert (await tokens.get_token()).access_token.get_secret_value() == "1000.access-SECRET"
    assert accounts.sent == 2


@pytest.mark.parametrize(
    "entry",
    [None, "text", 7, [], {"class": "ServerError"}, {"when": "yesterday"}, {"when": True, "class": "X"}],
)
async def test_a_hand_edited_failure_entry_reads_as_none(tmp_path: Path, entry: Any) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"k#failure": entry}))
    assert await FileTokenStore(path).recent_failure("k", since=0.0) is None


async def test_a_kept_failure_expires_after_its_ttl(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    await store.record_failure("k", {"class": "ServerError", "message": "m", "when": 5.0}, ttl=-1.0)
    assert await store.recent_failure("k", since=0.0) is None
    await store.record_failure("k", {"class": "ServerError", "message": "m", "when": 5.0}, ttl=60.0)
    assert await store.recent_failure("k", since=0.0) is not None
    await store.save("k", Token(SecretStr("1000.a"), expires_at=None))
    assert await store.recent_failure("k", since=0.0) is not None  # tokens and failures live apart


# -- the failure as the waiting process raises it ------------------------------------------------
class Prefilled(MemoryTokenStore):
    """A store whose lock finds ``failure`` already kept by "another process" (stamped now)."""

    def __init__(self, failure: dict[str, Any], clock: list[float]) -> None:
        super().__init__()
        self.failure = failure
        self.clock = clock
        self.recorded: list[tuple[Mapping[str, Any], float]] = []

    async def record_failure(self, key: str, failure: Mapping[str, Any], ttl: float) -> None:
        self.recorded.append((failure, ttl))

    async def recent_failure(self, key: str, since: float) -> Mapping[str, Any] | None:
        return {**self.failure, "when": self.clock[0]}


@pytest.mark.parametrize(
    ("kept", "cls"),
    [
        ({"class": "ServerError", "status": 503, "code": "x"}, ServerError),
        ({"class": "RateLimitError", "status": 429, "retry_after": 7.0}, RateLimitError),
        ({"class": "AuthenticationError", "status": 200, "code": "invalid_code"}, AuthenticationError),
        ({"class": "BiginTimeoutError"}, BiginTimeoutError),
        ({"class": "BiginConnectionError"}, BiginConnectionError),
        ({"class": "KeyError", "status": "?", "code": 5}, BiginConnectionError),
        (
            {"class": "RefreshBlockedError", "status": 400, "code": "Access Denied", "retry_at": NOW + 90},
            RefreshBlockedError,
        ),
        ({"class": "RefreshBlockedError", "retry_at": "soon"}, BiginConnectionError),
    ],
)  # fmt: skip
async def test_each_kept_failure_is_raised_as_its_own_class(kept: dict[str, Any], cls: type) -> None:
    clock = [NOW]
    accounts = FakeAccounts(ok())
    store = Prefilled({"message": "the server failed", **kept}, clock)
    tokens = manager(accounts, clock, store=store)
    with pytest.raises(Exception) as raised:
        await tokens.get_token()
    error = raised.value
    assert type(error) is cls
    assert accounts.sent == 0 and store.recorded == []  # nothing sent, nothing recorded again
    assert "another process" in str(error) and "the server failed" in str(error)
    if isinstance(error, RefreshBlockedError):
        assert error.retry_at == NOW + 90 and error.retry_after == pytest.approx(90)
        with pytest.raises(RefreshBlockedError):  # remembered: the next call fails fast
            await tokens.get_token()
        assert accounts.sent == 0
    if isinstance(error, RateLimitError):
        assert error.retry_after == 7.0


async def test_a_recorded_failure_has_a_short_ttl_and_the_redacted_message() -> None:
    clock = [NOW]
    store = Prefilled({}, clock)
    store.recent_failure = lambda key, since: _none()  # type: ignore[method-assign]
    tokens = manager(FakeAccounts(httpx.Response(500, json={"error": "x"})), clock, store=store)
    tokens.refresh_attempts = 1
    with pytest.raises(ServerError) as raised:
        await tokens.get_token()
    [(failure, ttl)] = store.recorded
    assert ttl == 5.0
    assert failure["class"] == "ServerError" and failure["status"] == 500 and failure["when"] == NOW
    assert failure["origin"] == tokens._origin  # whose it is: never raised back to this manager
    assert failure["message"] == raised.value.message


async def _none() -> None:
    return None


async def test_no_failure_is_recorded_for_a_refusal_nothing_was_sent_for() -> None:
    clock = [NOW]
    store = Prefilled({}, clock)
    store.recent_failure = lambda key, since: _none()  # type: ignore[method-assign]
    tokens = manager(FakeAccounts(ok()), clock, store=store)
    tokens._refreshes.extend(NOW - i for i in range(TokenManager.MAX_REFRESHES))  # the window is full
    with pytest.raises(RefreshBlockedError):
        await tokens.get_token()
    assert store.recorded == []


async def test_a_store_that_fails_to_keep_or_read_failures_costs_a_warning_not_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [NOW]

    class Broken(MemoryTokenStore):
        async def record_failure(self, key: str, failure: Mapping[str, Any], ttl: float) -> None:
            raise OSError("disk full")

        async def recent_failure(self, key: str, since: float) -> Mapping[str, Any] | None:
            raise OSError("disk gone")

    tokens = manager(FakeAccounts(httpx.Response(500, json={"error": "x"}), ok()), clock, store=Broken())
    tokens.refresh_attempts = 1
    with caplog.at_level(logging.WARNING, logger="bigin_async"):
        with pytest.raises(ServerError):
            await tokens.get_token()
        assert (await tokens.get_token()).access_token.get_secret_value() == "1000.access-SECRET"
    assert sum("token store could not" in r.getMessage() for r in caplog.records) == 1


def test_a_failure_is_kept_as_the_nearest_class_the_other_processes_know() -> None:
    from bigin_async.auth._shared_failure import failure_record
    from bigin_async.errors import BooksAuthenticationError

    limited = RateLimitError("slow down", retry_after=12.0, status_code=429, code="x", url=TOKEN)
    assert failure_record(limited, NOW) == {
        "class": "RateLimitError", "message": "slow down", "when": NOW, "code": "x", "status": 429,
        "retry_after": 12.0,
    }  # fmt: skip
    books = BooksAuthenticationError("refused", status_code=401, code="57")
    assert failure_record(books, NOW)["class"] == "AuthenticationError"
    assert failure_record(BiginTimeoutError("read timeout"), NOW)["class"] == "BiginTimeoutError"
    odd = failure_record(RuntimeError("client_secret=s3cr3t-client"), NOW)
    assert odd["class"] == "BiginConnectionError" and "s3cr3t-client" not in odd["message"]


TOKEN = "https://accounts.zoho.com/oauth/v2/token"
