"""The one request pipeline every call goes through.

Per attempt: wait out a shared 429 cooldown → enter the FIFO concurrency gate → take a slot from
the per-minute limiter (after the gate, so the reserved time is the real send time) → spend daily
credits (refusing instead of sending when too few would remain) → add the ``Zoho-oauthtoken``
header → send through the one pooled ``httpx.AsyncClient`` → read the body and leave the gate →
classify, and if retrying, back off *outside* the gate so a waiting call holds no slot.
"""

from __future__ import annotations

import dataclasses
import json as jsonlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from bigin_async._redact import logger, redact_url
from bigin_async.auth import Token, TokenManager
from bigin_async.config import Settings
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    BiginConnectionError,
    BiginTimeoutError,
    ConfigurationError,
    RateLimitError,
    error_from_response,
    parse_retry_after,
)
from bigin_async.limits import ConcurrencyGate, Cooldown, DailyBudget, RateLimiter
from bigin_async.retry import Outcome, backoff_delay, classify_exception, classify_status, is_idempotent

__all__ = ["Transport", "credits_for", "make_http_client"]

USER_AGENT = "bigin-async/0.1"


def make_http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """One pooled client for the client's whole life; the pool is larger than the gate so token
    refreshes and keep-alive churn never starve a call that already holds a gate slot."""
    pool = settings.max_concurrency + 5
    return httpx.AsyncClient(
        transport=transport,
        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool, keepalive_expiry=60.0),
        timeout=httpx.Timeout(settings.timeout),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def credits_for(method: str, params: Mapping[str, Any] | None, json: Any) -> int:
    """Zoho's credit cost of one call: 1, writes 1 per 10 records, ``cvid`` lists 3."""
    cost = 1
    if method.upper() in ("POST", "PUT", "PATCH") and isinstance(json, Mapping):
        data = json.get("data")
        if isinstance(data, list) and data:
            cost = math.ceil(len(data) / 10)
    elif method.upper() == "DELETE" and params and params.get("ids"):
        ids = params["ids"]
        count = len(ids) if isinstance(ids, (list, tuple)) else len(str(ids).split(","))
        cost = math.ceil(count / 10)
    if params and params.get("cvid"):
        cost = max(cost, 3)
    return cost


@dataclass
class _Shared:
    """State every view of one client shares: the pool, the limits, the tokens."""

    http: httpx.AsyncClient
    owns_http: bool
    tokens: TokenManager
    gate: ConcurrencyGate
    minute_limiter: RateLimiter | None
    bulk_limiter: RateLimiter | None
    intercall: RateLimiter | None
    budget: DailyBudget
    cooldown: Cooldown
    closed: bool = False
    used: bool = False
    calls: int = 0
    rng: random.Random = field(default_factory=random.Random)


class Transport:
    """Sends requests for a :class:`~bigin_async.BiginClient`; views share one ``_Shared``."""

    def __init__(self, settings: Settings, shared: _Shared) -> None:
        self.settings = settings
        self._shared = shared

    @classmethod
    def create(
        cls,
        settings: Settings,
        tokens: TokenManager,
        *,
        http_client: httpx.AsyncClient | None = None,
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> Transport:
        if http_client is not None and http_transport is not None:
            raise ConfigurationError("pass either http_client or transport, not both")
        http = http_client or make_http_client(settings, http_transport)
        tokens.http = http
        shared = _Shared(
            http=http,
            owns_http=http_client is None,
            tokens=tokens,
            gate=ConcurrencyGate(settings.max_concurrency),
            minute_limiter=(
                RateLimiter.per_minute(settings.requests_per_minute, latency_allowance=settings.latency_allowance)
                if settings.requests_per_minute
                else None
            ),
            bulk_limiter=(
                RateLimiter.per_minute(settings.bulk_operations_per_minute, latency_allowance=settings.latency_allowance)
                if settings.bulk_operations_per_minute
                else None
            ),
            intercall=RateLimiter(settings.intercall_delay) if settings.intercall_delay > 0 else None,
            budget=DailyBudget(settings.daily_limit, min_remaining=settings.min_calls_remaining),
            cooldown=Cooldown(),
        )
        return cls(settings, shared)

    def with_settings(self, **changes: Any) -> Transport:
        """A view with other per-call settings (timeout, retries) over the same pool and limits."""
        return Transport(dataclasses.replace(self.settings, **changes), self._shared)

    # -- state -------------------------------------------------------------------------------
    @property
    def gate(self) -> ConcurrencyGate:
        return self._shared.gate

    @property
    def tokens(self) -> TokenManager:
        return self._shared.tokens

    @property
    def budget(self) -> DailyBudget:
        return self._shared.budget

    @property
    def http(self) -> httpx.AsyncClient:
        return self._shared.http

    @property
    def closed(self) -> bool:
        return self._shared.closed

    @property
    def used(self) -> bool:
        return self._shared.used

    @property
    def calls(self) -> int:
        """Attempts sent over the wire (for metrics and tests)."""
        return self._shared.calls

    async def aclose(self) -> None:
        shared = self._shared
        if shared.closed:
            return
        shared.closed = True
        if shared.owns_http:
            await shared.http.aclose()

    def api_base(self) -> str:
        """The token's ``api_domain`` decides the host unless the user pinned ``api_domain``."""
        token = self._shared.tokens.current
        if token is not None and token.api_domain and not self.settings.api_domain_overridden:
            return f"{token.api_domain}/bigin/v2"
        return self.settings.api_base

    def url_for(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/"):
            path = "/" + path
        return self.api_base() + path

    # -- the pipeline --------------------------------------------------------------------------
    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        bulk: bool = False,
        credits: int | None = None,
        raise_for_status: bool = True,
    ) -> httpx.Response:
        """Send one logical call with retries; return the final response or raise a typed error.

        ``idempotent`` overrides the method-based guess of the retry table; ``bulk`` marks a
        multi-record write, which also takes a slot from the bulk-operations limiter.
        """
        shared = self._shared
        if shared.closed:
            raise ConfigurationError("this BiginClient is closed; create a new one")
        shared.used = True
        method = method.upper()
        settings = self.settings
        safe = is_idempotent(method, path, idempotent)
        cost = credits if credits is not None else credits_for(method, params, json)
        body = content if content is not None else (jsonlib.dumps(json, separators=(",", ":")).encode() if json is not None else None)
        clean_params = _clean_params(params)
        attempt = 0
        refreshed = False
        started: float | None = None
        last_error: Exception | None = None

        while True:
            await shared.cooldown.wait()
            timeout = settings.timeout
            if started is not None and settings.deadline is not None:
                left = started + settings.deadline - anyio.current_time()
                if left <= 0:
                    raise BiginTimeoutError(
                        f"deadline of {settings.deadline}s over all attempts passed ({attempt} attempts)",
                        method=method,
                        url=self.url_for(path),
                    ) from last_error
                timeout = min(timeout, left)
            response: httpx.Response | None = None
            failure: Exception | None = None
            async with shared.gate:
                if shared.minute_limiter is not None:
                    await shared.minute_limiter.acquire()
                if bulk and shared.bulk_limiter is not None:
                    await shared.bulk_limiter.acquire()
                if shared.intercall is not None:
                    await shared.intercall.acquire()
                shared.budget.spend(cost)
                token = await shared.tokens.get_token()
                url = self.url_for(path)
                request_headers = {"Authorization": "Zoho-oauthtoken " + token.access_token.get_secret_value()}
                if body is not None:
                    request_headers["Content-Type"] = "application/json"
                if headers:
                    request_headers.update(headers)
                if started is None:
                    started = anyio.current_time()
                shared.calls += 1
                try:
                    response = await shared.http.request(
                        method, url, params=clean_params, content=body, headers=request_headers, timeout=timeout
                    )
                except httpx.TransportError as exc:  # includes every httpx timeout
                    failure = exc
            # Out of the gate: decide, and back off without holding a slot.
            if response is not None:
                shared.budget.sync(response.headers, reset_in=_reset_in(response.headers))
                code = _error_code(response) if response.status_code >= 400 else None
                outcome = classify_status(response.status_code, code)
                if outcome is Outcome.SUCCESS or (not raise_for_status and outcome is Outcome.FATAL):
                    return response
                error = error_from_response(response)
                last_error = error
                if outcome is Outcome.TOKEN_REJECTED:
                    if refreshed or not shared.tokens.can_refresh:
                        raise error
                    refreshed = True
                    logger.info("token rejected (%s); refreshing once and retrying", code)
                    await shared.tokens.invalidate(token)
                    continue
                if outcome is Outcome.FATAL:
                    raise error
                if outcome is Outcome.RATE_LIMITED:
                    assert isinstance(error, RateLimitError)
                    wait = error.retry_after
                    if wait is not None and wait > settings.max_retry_after:
                        raise error
                    if attempt >= settings.max_retries:
                        raise error
                    attempt += 1
                    if wait is not None:
                        # The server said how long: everyone waits, not just this call.
                        logger.warning("429 from %s %s; all calls pause %.2fs (retry %d)", method, redact_url(url), wait, attempt)
                        shared.cooldown.open_for(wait)
                    else:
                        delay = self._backoff(attempt - 1)
                        logger.warning("429 from %s %s; retry %d after %.2fs", method, redact_url(url), attempt, delay)
                        await anyio.sleep(delay)
                    continue
                # 5xx: ambiguous
                if not safe:
                    raise _ambiguous(method, url, json, error)
                if attempt >= settings.max_retries:
                    raise error
                await anyio.sleep(self._backoff(attempt))
                attempt += 1
                logger.warning("HTTP %d from %s %s; retry %d", response.status_code, method, redact_url(url), attempt)
                continue

            assert failure is not None
            last_error = failure
            outcome = classify_exception(failure)
            if outcome is Outcome.AMBIGUOUS and not safe:
                raise _ambiguous(method, url, json, failure) from failure
            if attempt >= settings.max_retries or outcome is Outcome.FATAL:
                raise _wrap_transport_error(failure, method, url) from failure
            await anyio.sleep(self._backoff(attempt))
            attempt += 1
            logger.warning("%s on %s %s; retry %d", type(failure).__name__, method, redact_url(url), attempt)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(
            attempt,
            self.settings.retry_backoff_seconds,
            cap=max(self.settings.retry_backoff_seconds, min(30.0, self.settings.max_retry_after)),
            uniform=self._shared.rng.uniform,
        )


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Drop ``None`` values and join lists with commas, as Zoho expects (``fields=a,b``)."""
    if not params:
        return None
    clean: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            clean[key] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            clean[key] = "true" if value else "false"
        else:
            clean[key] = str(value)
    return clean


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, Mapping):
        code = body.get("code")
        return str(code) if code is not None else None
    return None


def _reset_in(headers: Mapping[str, str]) -> float | None:
    if "x-ratelimit-reset" not in headers:
        return None
    return parse_retry_after({"x-ratelimit-reset": headers["x-ratelimit-reset"]})


def _records_of(json: Any) -> Sequence[Any]:
    if isinstance(json, Mapping) and isinstance(json.get("data"), list):
        return list(json["data"])
    return []


def _ambiguous(method: str, url: str, json: Any, cause: Exception) -> AmbiguousWriteError:
    records = _records_of(json)
    reason = cause.message if isinstance(cause, APIError) else type(cause).__name__
    return AmbiguousWriteError(
        f"{method} {redact_url(url)} may or may not have been applied ({reason}); it was not re-sent "
        f"because an insert is not idempotent: {len(records)} record(s) have an unknown fate. "
        "Re-send them with an upsert on a unique field (e.g. Email) to be safe.",
        records=records,
        method=method,
        url=url,
    )


def _wrap_transport_error(exc: Exception, method: str, url: str) -> BiginConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return BiginTimeoutError(f"{type(exc).__name__} on {method} {redact_url(url)}", method=method, url=url)
    return BiginConnectionError(f"{type(exc).__name__} on {method} {redact_url(url)}: {exc}", method=method, url=url)


def decode_json(response: httpx.Response) -> Any:
    """The decoded body, or None for a 204/empty body; garbage raises a typed error."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        return jsonlib.loads(response.content)
    except ValueError as exc:
        raise APIError(
            "the server answered with a body that is not valid JSON",
            status_code=response.status_code,
            code="MALFORMED_RESPONSE",
            method=response.request.method,
            url=str(response.request.url),
        ) from exc


# Re-exported for client.py
__all__ += ["decode_json", "Token"]
