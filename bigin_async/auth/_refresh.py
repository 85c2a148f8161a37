"""The token manager: one refresh at a time, early, shared by every caller (and, through the
store, by every process); Zoho's limit of 10 refreshes per refresh token in 10 minutes kept."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence

import anyio
import anyio.from_thread
import anyio.lowlevel
import httpx
from pydantic import SecretStr

from bigin_async._redact import get_logger, redact_text, register_secret
from bigin_async._retry import Outcome, backoff_delay, classify_exception
from bigin_async.auth._endpoint import (
    PERMANENT_ERRORS,
    ZOHO_WINDOW,
    connection_error,
    form_secrets,
    in_words,
    read_answer,
    refresh_blocked,
    token_from_body,
)
from bigin_async.auth._shared_failure import SHARED, failure_record, shared_error
from bigin_async.auth._stores import MemoryTokenStore, RefreshFailures, RefreshHistory, TokenStore
from bigin_async.auth._token import Token, check_credential, unsendable
from bigin_async.errors import (
    AuthenticationError,
    BiginTimeoutError,
    ConfigurationError,
    CoordinationError,
    RateLimitError,
    RefreshBlockedError,
    ServerError,
)

logger = get_logger("auth")

__all__ = ["TokenManager"]

# How long keeping a failure for the other processes may take once the flight's bound has passed.
_RECORD_BOUND = 2.0


def _again(error: BaseException) -> BaseException:
    """A twin of ``error`` (same class, text and attributes) for one more waiter to raise: one
    instance raised in fifty tasks would collect all their tracebacks."""
    twin = error.__class__.__new__(error.__class__, *error.args)
    twin.__dict__.update(error.__dict__)
    twin.__cause__ = error.__cause__
    return twin


class _Flight:
    """One refresh and everyone waiting for it: its outcome, token or error, is all of theirs."""

    __slots__ = ("began", "done", "error", "loop", "scope", "stale", "token")

    def __init__(self, stale: Token | None, began: float) -> None:
        self.stale = stale
        # When its first caller began waiting (wall clock): a failure another process kept since
        # then happened while this process waited for it, in the same episode.
        self.began = began
        # The event loop it flies in: a flight of another loop (one that ended, say, before the
        # flight's thread got to start it) is never waited for, it may never end.
        self.loop: object = anyio.lowlevel.current_token().native_token
        self.done = anyio.Event()
        self.token: Token | None = None
        self.error: Exception | None = None
        self.scope: anyio.CancelScope | None = None  # the flight's bound, cancelled by close()


class TokenManager:
    """Hands out a valid access token; refreshes early, once at a time, and shares via the store.

    How it treats Zoho's accounts server, which lets a refresh token mint 10 access tokens in
    10 minutes and then blocks it:

    * One refresh at a time (a "flight"); every caller that needs a token meanwhile waits for
      it and gets its outcome, the token or the same error. Failures are shared, not retried
      by each waiter in turn.
    * The flight runs in a task of its own, in no caller's cancel scope, bounded by
      ``refresh_deadline``: a caller whose deadline passes, or who is cancelled, stops waiting at
      once, and the refresh goes on for the others.
    * Only requests that may have reached Zoho count towards the 10: a connect error (refused,
      DNS, connect timeout) never did, and is retried with jittered backoff inside the flight, as
      is a 5xx or 429 (``refresh_attempts`` tries in all). A read timeout or dropped connection
      after sending may have minted a token: it counts (the safe side of the limit) and is not
      retried, and it ages out of the 10-minute window like any refresh: never a lockout for good.
    * "Access Denied" blocks refreshes until Zoho's window ends (its ``Retry-After``, else 10
      minutes); meanwhile calls raise :class:`RefreshBlockedError` at once, saying when.
    * A refused refresh token or client (``invalid_code``, ``invalid_client``) is not asked about
      again for ``permanent_failure_ttl`` seconds: calls fail fast with the same error until then.
    * A store that fails (unwritable path, unreadable file) costs a warning, once; the token is
      then kept in this process's memory.
    * Zoho counts a refresh token's refreshes whichever process sends them: a store that keeps
      them (:class:`RefreshHistory`, as :class:`FileTokenStore` does in the token file) gives every
      process sharing it one count, and one "Access Denied" stops them all until Zoho's block ends.
    * A refresh that fails while other processes wait for the store's lock is not sent again by
      each of them in turn: a store that keeps failures (:class:`RefreshFailures`: the file store,
      the Redis store) hands it to every flight that was waiting when it happened, which raises it
      (the same error class, saying it was another process's). Across N processes, one attempt per
      episode; a flight that starts after it tries again. ``when`` is each process's wall clock:
      hosts whose clocks disagree by more than a flight's wait may miss (and send their own) or, for
      ``FAILURE_TTL`` seconds at most, raise a failure of just before they began waiting.
    * The wall clock (shared by processes) may be set back: no wait grows past what Zoho asked
      for, or one 10-minute window.
    """

    # Zoho: a refresh token mints at most 10 access tokens in 10 minutes, then it is blocked.
    MAX_REFRESHES = 10
    REFRESH_WINDOW = ZOHO_WINDOW
    MAX_REJECTION_REFRESHES = 3
    # How long a failed refresh is kept for the processes waiting for it, at least: they take the
    # lock in turn within moments of its release, and only those that began waiting before the
    # failure raise it, so the window only needs to outlast the hand-over of the lock. Kept short
    # (or as long as the backoff between tries, if longer: no try would have been sent sooner).
    FAILURE_TTL = 5.0

    def __init__(
        self,
        *,
        token_url: str,
        client_id: SecretStr | None = None,
        client_secret: SecretStr | None = None,
        refresh_token: SecretStr | None = None,
        access_token: SecretStr | None = None,
        expires_in: float | None = None,
        store: TokenStore | None = None,
        refresh_margin: float = 60.0,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        refresh_attempts: int = 3,
        retry_backoff: float = 0.5,
        refresh_deadline: float | None = None,
        permanent_failure_ttl: float = 60.0,
    ) -> None:
        self.token_url = token_url
        # A stray character is said now, not as a failed refresh or call; the whitespace around a
        # value (a line break read from a file) goes, as check_credential strips it.
        client_id = _checked("client_id", client_id)
        client_secret = _checked("client_secret", client_secret)
        refresh_token = _checked("refresh_token", refresh_token)
        access_token = _checked("access_token", access_token)
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        for secret in (client_secret, refresh_token):
            if secret is not None:  # an echo without a label ("bad secret ...") is scrubbed too
                register_secret(secret.get_secret_value(), lasting=True)
        self.store: TokenStore = store or MemoryTokenStore()
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        #: Tries per flight for connect errors, 5xx and 429 (a try that reached Zoho counts).
        self.refresh_attempts = max(1, refresh_attempts)
        #: Base of the full-jitter backoff between those tries, in seconds.
        self.retry_backoff = retry_backoff
        #: Bound on one whole flight (tries, backoff, the store's lock); default twice ``timeout``.
        self.refresh_deadline = refresh_deadline
        #: How long an ``invalid_code``/``invalid_client`` answer is repeated without asking Zoho.
        self.permanent_failure_ttl = permanent_failure_ttl
        self._clock = clock
        self._rng = random.Random()
        # Names this manager's failures in a shared store: its own is never raised back to it as
        # another process's (a coarse or fake clock may stamp its next flight at the same time).
        self._origin = f"{random.getrandbits(64):016x}"
        self._token: Token | None = None
        self._flight: _Flight | None = None
        self.refresh_count = 0
        self._tries = 0  # requests this manager tried to send to the accounts server
        self._refreshes: deque[float] = deque()
        self._rejections: deque[float] = deque()
        self._blocked_until: float | None = None
        self._blocked_for = ZOHO_WINDOW
        self._refused: tuple[float, AuthenticationError] | None = None
        self._store_warned = False
        self._closed = False
        if access_token is not None:
            now = clock()
            self._token = Token(access_token, now + expires_in if expires_in is not None else None)
        # One key per refresh token, without putting the secret itself in the store.
        import hashlib

        seed = (
            refresh_token.get_secret_value()
            if refresh_token
            else (client_id.get_secret_value() if client_id else "")
        )
        self.store_key = "bigin:" + hashlib.sha256(seed.encode()).hexdigest()[:16]
        self.http: httpx.AsyncClient | None = None

    @property
    def can_refresh(self) -> bool:
        return bool(self._client_id and self._client_secret and self._refresh_token)

    @property
    def current(self) -> Token | None:
        return self._token

    def __repr__(self) -> str:
        return f"TokenManager(token_url={self.token_url!r}, can_refresh={self.can_refresh})"

    def close(self) -> None:
        """No more refreshes (the client is closing): one under way ends now, and its waiters and
        every later call get :class:`ConfigurationError` instead of waiting for the refresh's bound."""
        self._closed = True
        flight = self._flight
        if flight is not None and flight.scope is not None:
            flight.scope.cancel()

    def seconds_left(self, token: Token) -> float | None:
        """How long ``token`` has before it expires, by this manager's clock (None: not known)."""
        if token.expires_at is None:
            return None
        return max(0.0, token.expires_at - self._clock())

    async def get_token(self) -> Token:
        """A token valid for at least ``refresh_margin`` more seconds (refreshing if needed).

        Cancelling the caller (its deadline) ends its wait at once; a refresh already under way
        is not cancelled with it, it completes for the other callers.
        """
        while True:
            token = self._token
            if token is not None and token.is_fresh(self._clock(), self.refresh_margin):
                return token
            if not self.can_refresh:
                return self._bare(token)
            flight = self._flight
            if flight is not None and flight.loop is not anyio.lowlevel.current_token().native_token:
                flight = None  # a flight of another event loop: this loop cannot wait for it
            if flight is None:
                refusal = self._refusal()
                if refusal is not None:
                    stored = await self._load_stored(token)  # another process may hold a fresh one
                    if stored is None:
                        raise refusal
                    self._token = stored
                    return stored
                flight = self._flight = _Flight(token, self._clock())
                self._launch(flight)
            await flight.done.wait()  # the caller's own cancellation ends this wait, not the flight
            if flight.error is not None:
                raise _again(flight.error)
            if flight.token is not None:
                return flight.token
            # A flight that ended with neither (the event loop shutting down): look again.

    def may_refresh_after_rejection(self, rejected: Token) -> bool:
        """Whether a 401 for ``rejected`` is worth a refresh.

        A token another task already replaced: yes (the retry uses the new one). Otherwise at most
        ``MAX_REJECTION_REFRESHES`` in ``REFRESH_WINDOW``: a server that keeps refusing fresh tokens
        (a pinned api_domain in another data centre, a missing scope) would otherwise make every
        call mint one, and Zoho blocks the refresh token after 10 in 10 minutes. Bigin's
        ``INVALID_TOKEN`` and Books' code 57 share this one cap.
        """
        if not self.can_refresh:
            return False
        if self._token is not rejected and self._token is not None:
            return True
        _forget_before(self._rejections, self._clock(), self.REFRESH_WINDOW)
        return len(self._rejections) < self.MAX_REJECTION_REFRESHES

    async def invalidate(self, rejected: Token) -> None:
        """The server refused ``rejected``: forget it, unless a newer token already replaced it."""
        if self._token is rejected or self._token is None:
            self._rejections.append(self._clock())
            self._token = Token(rejected.access_token, expires_at=0.0, api_domain=rejected.api_domain)

    async def retry_after_rejection(self, access_token: str) -> bool:
        """Whether to send a call again after a server refused the token sent as ``access_token``.

        For callers that only know the header they sent (Books' code 57): a token already replaced
        is retried with the new one; the current one is invalidated within the same cap as
        :meth:`may_refresh_after_rejection`.
        """
        current = self._token
        if current is None or current.access_token.get_secret_value() != access_token:
            return self.can_refresh and current is not None
        if not self.may_refresh_after_rejection(current):
            return False
        await self.invalidate(current)
        return True

    # -- the flight ----------------------------------------------------------------------------
    def _launch(self, flight: _Flight) -> None:
        """Start ``flight`` as a task of its own, outside every caller's cancel scope.

        anyio starts tasks only inside a task group, and a task group would tie the refresh to the
        caller that opened it: its cancellation would abort the refresh for everyone, or (shielded)
        hold that caller until the refresh ends. A thread can start a task in the event loop
        (``from_thread.run`` with the loop's token: a task of the loop on asyncio, a system task on
        trio) that belongs to no caller; the thread only waits for it. So every caller, the first
        one too, merely waits for the flight, and stops waiting as soon as it is cancelled.
        """
        loop = anyio.lowlevel.current_token()
        host = threading.Thread(
            target=self._host, args=(loop, flight), name="bigin-token-refresh", daemon=True
        )
        try:
            host.start()
        except Exception as exc:  # no thread to be had: fail this flight, not the next one
            flight.error = exc
            self._land(flight)

    def _host(self, loop: anyio.lowlevel.EventLoopToken, flight: _Flight) -> None:
        """The thread's whole life: run the flight in the loop and wait for it to end."""
        try:
            anyio.from_thread.run(self._fly, flight, token=loop)
        except Exception:  # the loop closed before (or while) the flight ran: nobody is waiting
            with contextlib.suppress(Exception):
                anyio.from_thread.run_sync(self._land, flight, token=loop)

    async def _fly(self, flight: _Flight) -> None:
        bound = self.refresh_deadline if self.refresh_deadline is not None else max(1.0, 2 * self.timeout)
        try:
            with anyio.move_on_after(bound) as scope:
                flight.scope = scope
                if self._closed:  # closed before this task got to run
                    scope.cancel()
                flight.token = await self._refresh_shared(flight, bound)
            if scope.cancelled_caught and self._closed:
                flight.error = self._closed_error()
            elif scope.cancelled_caught:
                flight.error = self._bound_error(bound)
        except anyio.get_cancelled_exc_class():
            # The event loop is shutting down: this task is nobody's child, so ending quietly here
            # (the waiters, if any, are being cancelled too) is all that is left to do.
            pass
        except Exception as exc:
            flight.error = exc
        finally:
            self._land(flight)

    def _bound_error(self, bound: float) -> BiginTimeoutError:
        return BiginTimeoutError(
            f"the access token refresh did not finish within {bound:g}s", method="POST", url=self.token_url
        )

    def _land(self, flight: _Flight) -> None:
        if self._flight is flight:
            self._flight = None
        flight.done.set()

    def _bare(self, stale: Token | None) -> Token:
        if stale is not None and stale.expires_at is not None and stale.expires_at > self._clock():
            return stale  # bare access-token mode: use it to the last second
        raise AuthenticationError(
            "the access token has expired (or was rejected) and no client_id/client_secret/"
            "refresh_token are configured to get a new one",
            status_code=401,
            code="INVALID_TOKEN",
        )

    def _refusal(self) -> AuthenticationError | None:
        """Why no refresh may be sent now, or None: Zoho's block, a recent permanent refusal, or
        the local count of refreshes in the window."""
        now = self._clock()
        if self._blocked_until is not None:
            # A wall clock set back (NTP) must not stretch Zoho's wait: never more than it asked.
            self._blocked_until = min(self._blocked_until, now + self._blocked_for)
        if self._refused is not None:
            self._refused = (min(self._refused[0], now + self.permanent_failure_ttl), self._refused[1])
        if self._blocked_until is not None and now < self._blocked_until:
            return refresh_blocked(
                "Zoho blocked refreshes for this refresh token (Access Denied: more than 10 in 10 minutes)",
                now=now, until=self._blocked_until, code="Access Denied", url=self.token_url,
            )  # fmt: skip
        if self._refused is not None and now < self._refused[0]:
            until, error = self._refused
            return AuthenticationError(
                f"{error.message}; not asked again for {in_words(until - now)}: fix the credentials "
                "(a new refresh token or client secret needs a new client)",
                status_code=error.status_code, code=error.code, details=error.details, method="POST",
                url=self.token_url,
            )  # fmt: skip
        _forget_before(self._refreshes, now, self.REFRESH_WINDOW)
        if len(self._refreshes) >= self.MAX_REFRESHES:
            return refresh_blocked(
                f"refusing to refresh the access token, as {self.MAX_REFRESHES} refreshes in the last "
                f"{self.REFRESH_WINDOW / 60:.0f} minutes already, and Zoho blocks a refresh token past that. "
                "Share one client (or one FileTokenStore) instead of creating clients per request",
                now=now, until=self._refreshes[0] + self.REFRESH_WINDOW, code="REFRESH_LIMIT",
                url=self.token_url,
            )  # fmt: skip
        return None

    async def _refresh_shared(self, flight: _Flight, bound: float) -> Token:
        """Under the store's lock: the token another process saved, the failure it kept while this
        flight waited, or this flight's own refresh (its failure kept for the others, also when
        the flight's ``bound`` cuts it short: a hung accounts server is one bound, not one each)."""
        async with self._store_lock():
            stored = await self._load_stored(flight.stale)
            if stored is not None:
                self._token = stored  # another process refreshed for us
                return stored
            await self._raise_shared_failure(flight.began)
            tries = self._tries
            try:
                token = await self._refresh()
            except SHARED as exc:
                if self._tries > tries:  # a refresh was tried and failed (not a refusal to send one)
                    await self._record_failure(exc)
                raise
            except anyio.get_cancelled_exc_class():
                scope = flight.scope
                if self._tries > tries and scope is not None and scope.cancel_called and not self._closed:
                    with anyio.CancelScope(shield=True) as shield:  # the bound, not the loop's end
                        shield.deadline = anyio.current_time() + _RECORD_BOUND
                        await self._record_failure(self._bound_error(bound))
                raise
            self._token = token  # before saving: a store that fails must not cost the token
            await self._save(token)
        return token

    async def _refresh(self) -> Token:
        assert self._client_id and self._client_secret and self._refresh_token
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id.get_secret_value(),
            "client_secret": self._client_secret.get_secret_value(),
            "refresh_token": self._refresh_token.get_secret_value(),
        }
        secrets = form_secrets(form)
        url = self.token_url
        for attempt in range(self.refresh_attempts):
            if self.http is None or self.http.is_closed or self._closed:
                raise self._closed_error()
            await self._share_refreshes()  # other processes' refreshes count too
            refusal = self._refusal()
            if refusal is not None:
                raise refusal
            # Booked before sending: if the flight's bound cuts the request short, it may have
            # reached Zoho, and it stays counted.
            booked = self._clock()
            self._refreshes.append(booked)
            await self._share_refreshes(add=(booked,))
            error: Exception
            not_sent: bool | None = None  # for a connection error: whether it never reached Zoho
            self._tries += 1
            try:
                # Not even a client that follows redirects takes the form to the host one names.
                response = await self.http.post(url, data=form, timeout=self.timeout, follow_redirects=False)
            except httpx.RequestError as exc:
                # Its cause is httpx's exception without the request (the form): raised outside
                # this block, so that the one with it is not kept as the context either.
                error = connection_error(exc, url, secrets=secrets)
                not_sent = classify_exception(exc) is Outcome.NOT_SENT
            else:
                try:
                    body = read_answer(response, url, secrets, self._clock())
                except (ServerError, RateLimitError) as exc:
                    error = exc
                except AuthenticationError as exc:
                    self._remember(exc)
                    if isinstance(exc, RefreshBlockedError):
                        # Zoho's window is full: say so to the processes sharing the store, as
                        # the refreshes that fill it, each leaving the window when Zoho's block ends.
                        full = exc.retry_at - self.REFRESH_WINDOW
                        await self._share_refreshes(add=[full - i * 1e-6 for i in range(self.MAX_REFRESHES)])
                    raise
                else:
                    token = token_from_body(body, self._clock(), url=url, status=response.status_code)
                    self.refresh_count += 1
                    self._refused = None
                    logger.debug(  # every hour or so: routine, so not at INFO
                        "refreshed the access token (%d refreshes by this client)",
                        self.refresh_count,
                        extra={"bigin_event": "token_refreshed", "bigin_refreshes": self.refresh_count},
                    )
                    return token
            if not_sent is False:
                raise error  # may have reached Zoho (and minted): counted, not re-sent
            if not_sent:  # it never reached Zoho: it does not count
                with contextlib.suppress(ValueError):
                    self._refreshes.remove(booked)
                await self._share_refreshes(drop=booked)
            if attempt + 1 >= self.refresh_attempts:
                raise error
            delay = backoff_delay(
                attempt, self.retry_backoff, cap=max(self.retry_backoff, 8.0), uniform=self._rng.uniform
            )
            logger.warning(
                "access token refresh failed (%s); try %d of %d in %.2fs",
                error,
                attempt + 2,
                self.refresh_attempts,
                delay,
                extra={
                    "bigin_event": "token_refresh_retry",
                    "bigin_attempt": attempt + 2,
                    "bigin_wait": delay,
                },
            )
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _closed_error(self) -> ConfigurationError:
        return ConfigurationError("no access token refresh: the token manager's client was closed")

    def _remember(self, error: AuthenticationError) -> None:
        """Keep a refusal that asking again would not change, so calls fail fast meanwhile."""
        if isinstance(error, RefreshBlockedError):
            self._blocked_until = max(self._blocked_until or 0.0, error.retry_at)
            self._blocked_for = max(error.retry_after, 1.0)
            logger.warning(
                "%s",
                error.message,
                extra={"bigin_event": "token_refresh_blocked", "bigin_wait": error.retry_after},
            )
        elif (error.code or "").lower() in PERMANENT_ERRORS:
            self._refused = (self._clock() + self.permanent_failure_ttl, error)
            logger.warning(
                "%s", error.message, extra={"bigin_event": "token_refresh_refused", "bigin_code": error.code}
            )

    async def _share_refreshes(self, *, add: Sequence[float] = (), drop: float | None = None) -> None:
        """Merge this process's refresh times with the ones the store keeps for every process that
        shares it (a :class:`RefreshHistory`; called under the store's lock), adding or dropping some.
        A store without a history, or one that fails, leaves the count to this process."""
        store = self.store
        if not isinstance(store, RefreshHistory):
            return
        now = self._clock()

        def change(kept: list[float]) -> list[float]:
            times = {min(t, now) for t in kept if t > now - self.REFRESH_WINDOW}  # min: clock set back
            times.update(min(t, now) for t in add)
            if drop is not None:
                times.discard(drop)
            return sorted(times)

        try:
            shared = await store.update_refreshes(self.store_key, change)
        except CoordinationError:
            raise  # the processes' lock was lost: another may be refreshing, so this one must not
        except Exception as exc:
            self._store_failed("keep the refresh count", exc)
            return
        merged = set(self._refreshes).union(shared)
        if drop is not None:
            merged.discard(drop)
        self._refreshes = deque(sorted(merged))

    async def _record_failure(self, error: Exception) -> None:
        """Keep ``error`` in the store (still under its lock) for the processes waiting for it."""
        store = self.store
        if not isinstance(store, RefreshFailures):
            return
        ttl = max(self.FAILURE_TTL, self.retry_backoff)
        try:
            failure = {**failure_record(error, self._clock()), "origin": self._origin}
            await store.record_failure(self.store_key, failure, ttl)
        except Exception as exc:
            self._store_failed("keep a failed refresh", exc)

    async def _raise_shared_failure(self, began: float) -> None:
        """Raise the refresh failure another process kept since this flight's first caller began
        waiting (its refresh ran meanwhile), instead of sending the same refresh again."""
        store = self.store
        if not isinstance(store, RefreshFailures):
            return
        try:
            failure = await store.recent_failure(self.store_key, began)
        except Exception as exc:
            self._store_failed("read a failed refresh", exc)
            return
        if failure is None or failure.get("origin") == self._origin:
            return
        error = shared_error(failure, url=self.token_url, now=self._clock())
        if isinstance(error, AuthenticationError):
            self._remember(error)  # a block or a refused refresh token holds here too
        raise error

    # -- the store, which may fail ---------------------------------------------------------------
    def _store_failed(self, what: str, exc: Exception) -> None:
        if not self._store_warned:
            self._store_warned = True
            logger.warning(
                "the token store could not %s (%s: %s); keeping the access token in this process's memory",
                what, type(exc).__name__, redact_text(str(exc)),
                extra={"bigin_event": "token_store_failed"},
            )  # fmt: skip

    @contextlib.asynccontextmanager
    async def _store_lock(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(self.store.lock(self.store_key))
            except CoordinationError:
                # The processes' shared lock is down and the coordination says fail: refreshing
                # alone would let every process refresh (Zoho blocks the token after 10 in 10 min).
                raise
            except Exception as exc:
                self._store_failed("lock", exc)
            yield

    async def _load_stored(self, stale: Token | None) -> Token | None:
        """A fresh token from the store other than ``stale`` (one another process refreshed)."""
        try:
            stored = await self.store.load(self.store_key)
        except Exception as exc:
            self._store_failed("be read", exc)
            return None
        if stored is None:
            return None
        problem = _unusable(stored)
        if problem is not None:  # a Token that never went through its checks (unpickled, say)
            self._store_failed("be read", ConfigurationError(f"the stored token's {problem}"))
            return None
        # Scrubbed by value like every token built (``Token.__post_init__``): one unpickled skipped it.
        register_secret(stored.access_token.get_secret_value())
        if not stored.is_fresh(self._clock(), self.refresh_margin):
            return None
        if (
            stale is not None
            and stored.access_token.get_secret_value() == stale.access_token.get_secret_value()
        ):
            return None
        return stored

    async def _save(self, token: Token) -> None:
        try:
            await self.store.save(self.store_key, token)
        except Exception as exc:
            self._store_failed("save", exc)


def _unusable(token: object) -> str | None:
    """Why a store's token could not be sent (not a Token, or one whose access token could not
    go in a header), never its value; None when it can."""
    access = getattr(token, "access_token", None)
    if not isinstance(token, Token) or not isinstance(access, SecretStr):
        return f"type is {type(token).__name__}, not a Token with a SecretStr access_token"
    value = access.get_secret_value()
    if not isinstance(value, str) or not value:
        return "access_token is not a token"
    return unsendable(value)


def _checked(name: str, value: SecretStr | None) -> SecretStr | None:
    """``value`` as :func:`check_credential` gives it back (stripped), or its ConfigurationError."""
    if value is None:
        return None
    given = value.get_secret_value()
    stripped = check_credential(name, given)
    return value if stripped == given else SecretStr(stripped)


def _forget_before(times: deque[float], now: float, window: float) -> None:
    """Drop the times that left the window ending ``now``. A time after ``now`` means the wall
    clock was set back: it counts as now, so it still ages out within one window."""
    if times and times[-1] > now:
        clamped = [min(t, now) for t in times]
        times.clear()
        times.extend(clamped)
    while times and times[0] <= now - window:
        times.popleft()
