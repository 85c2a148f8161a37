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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import httpx
import pydantic

from bigin_async._redact import logger, redact_url
from bigin_async.auth import Token, TokenManager
from bigin_async.config import Settings
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    BiginConnectionError,
    BiginError,
    BiginTimeoutError,
    ConfigurationError,
    error_from_response,
    parse_retry_after,
)
from bigin_async.limits import ConcurrencyGate, Cooldown, DailyBudget, RateLimiter, pace
from bigin_async.retry import Outcome, backoff_delay, classify_exception, classify_status, is_idempotent

__all__ = ["Transport", "credits_for", "make_http_client"]

USER_AGENT = "bigin-async/0.1"

T = TypeVar("T")

# What a parser raises when the body is not the shape it expects (json errors are ValueErrors).
_PARSE_ERRORS = (ValueError, TypeError, KeyError, pydantic.ValidationError)


def _response(response: httpx.Response) -> httpx.Response:
    return response


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
        """The URL for ``path``; an absolute URL must stay on the API's own origin.

        The token travels with every request, so a caller-supplied absolute URL pointing at another
        host (or at plain http) would hand the token away.
        """
        base = self.api_base()
        if path.startswith(("http://", "https://")):
            if _origin(path) != _origin(base):
                raise ConfigurationError(
                    f"refusing to send the access token to {redact_url(path)}: absolute URLs must be on "
                    f"the API origin {_origin(base)}"
                )
            return path
        if not path.startswith("/"):
            path = "/" + path
        return base + path

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
        multi-record write, which also takes a slot from the bulk-operations limiter. With
        ``raise_for_status=False`` a final 4xx is returned instead of raised. The response's
        ``extensions["bigin_ambiguous_attempts"]`` counts earlier attempts whose fate was unknown
        (a retried DELETE may then find its records already gone).
        """
        return await self._run(
            method, path, _response, params=params, json=json, content=content, headers=headers,
            idempotent=idempotent, bulk=bulk, credits=credits, raise_for_status=raise_for_status,
        )

    async def send_parsed(self, method: str, path: str, parse: Callable[[httpx.Response], T], **kwargs: Any) -> T:
        """Like :meth:`send`, but ``parse`` turns the final answer into what the caller wants.

        ``parse`` runs inside the retry loop, because a 200 whose body is cut short or is not the
        shape Zoho documents (a proxy's page, a truncated JSON) is a failed attempt, not a result:
        a read is retried like a 5xx; an insert raises :class:`AmbiguousWriteError` (the records
        may have been created); when the retries run out the error is an :class:`APIError` with
        code ``MALFORMED_RESPONSE``. A :class:`BiginError` raised by ``parse`` passes through as is.
        """
        return await self._run(method, path, parse, **kwargs)

    async def _run(
        self,
        method: str,
        path: str,
        parse: Callable[[httpx.Response], T],
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        bulk: bool = False,
        credits: int | None = None,
        raise_for_status: bool = True,
    ) -> T:
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
        url = self.url_for(path)
        pacers = [p for p in (shared.minute_limiter, shared.bulk_limiter if bulk else None, shared.intercall) if p is not None]
        attempt = 0
        ambiguous_attempts = 0
        refreshed = False
        deadline_at: float | None = None
        last_error: Exception | None = None

        while True:
            await shared.cooldown.wait()
            timeout = settings.timeout
            if deadline_at is not None:
                left = deadline_at - anyio.current_time()
                if left <= 0:
                    raise self._deadline_error(method, url, attempt) from last_error
                timeout = min(timeout, left)
            response: httpx.Response | None = None
            failure: Exception | None = None
            async with shared.gate:
                # The token first (a refresh may take a moment), then one send time booked on every
                # limiter at once: the request leaves at the time all of them reserved.
                token = await shared.tokens.get_token()
                await pace(pacers)
                shared.budget.spend(cost)
                request_headers = {"Authorization": "Zoho-oauthtoken " + token.access_token.get_secret_value()}
                if body is not None:
                    request_headers["Content-Type"] = "application/json"
                if headers:
                    request_headers.update(headers)
                if deadline_at is None and settings.deadline is not None:
                    deadline_at = anyio.current_time() + settings.deadline
                shared.calls += 1
                try:
                    response = await shared.http.request(
                        method, url, params=clean_params, content=body, headers=request_headers, timeout=timeout
                    )
                except httpx.RequestError as exc:  # every timeout, transport and decoding error
                    failure = exc
                finally:
                    shared.budget.settle(cost)
            # Out of the gate: decide, and back off without holding a slot.
            if response is not None:
                shared.budget.sync(response.headers, reset_in=_reset_in(response.headers))
                code = _error_code(response) if response.status_code >= 400 else None
                outcome = classify_status(response.status_code, code)
                if outcome is Outcome.SUCCESS or (not raise_for_status and outcome is Outcome.FATAL):
                    response.extensions["bigin_ambiguous_attempts"] = ambiguous_attempts
                    try:
                        return parse(response)
                    except BiginError:
                        raise
                    except _PARSE_ERRORS as exc:
                        error = _malformed(response, exc)
                        if outcome is not Outcome.SUCCESS:
                            raise error from exc
                        outcome = Outcome.AMBIGUOUS
                else:
                    error = error_from_response(response)
                last_error = error
                if outcome is Outcome.TOKEN_REJECTED:
                    if refreshed or not shared.tokens.may_refresh_after_rejection(token):
                        raise error
                    refreshed = True
                    logger.info("token rejected (%s); refreshing once and retrying", code)
                    await shared.tokens.invalidate(token)
                    continue
                if outcome is Outcome.FATAL:
                    raise error
                advised = parse_retry_after(response.headers)
                if advised is not None and advised > settings.max_retry_after:
                    raise error  # waiting minutes inside a call helps nobody: say so instead
                if outcome is Outcome.AMBIGUOUS:  # 5xx
                    if not safe:
                        raise _ambiguous(method, url, json, error)
                    ambiguous_attempts += 1
                if attempt >= settings.max_retries:
                    raise error
                attempt += 1
                if outcome is Outcome.RATE_LIMITED and advised is not None:
                    # The server said how long: every call of this client waits, not just this one.
                    self._check_deadline(deadline_at, advised, error)
                    logger.warning("429 from %s %s; all calls pause %.2fs (retry %d)", method, redact_url(url), advised, attempt)
                    shared.cooldown.open_for(advised)
                else:
                    delay = max(advised or 0.0, self._backoff(attempt - 1))
                    self._check_deadline(deadline_at, delay, error)
                    logger.warning("HTTP %d from %s %s; retry %d after %.2fs", response.status_code, method, redact_url(url), attempt, delay)
                    await anyio.sleep(delay)
                continue

            assert failure is not None
            last_error = failure
            outcome = classify_exception(failure)
            if outcome is Outcome.AMBIGUOUS:
                if not safe:
                    raise _ambiguous(method, url, json, failure) from failure
                ambiguous_attempts += 1
            if attempt >= settings.max_retries or outcome is Outcome.FATAL:
                raise _wrap_transport_error(failure, method, url) from failure
            delay = self._backoff(attempt)
            self._check_deadline(deadline_at, delay, _wrap_transport_error(failure, method, url))
            attempt += 1
            logger.warning("%s on %s %s; retry %d after %.2fs", type(failure).__name__, method, redact_url(url), attempt, delay)
            await anyio.sleep(delay)

    def _deadline_error(self, method: str, url: str, attempts: int) -> BiginTimeoutError:
        return BiginTimeoutError(
            f"deadline of {self.settings.deadline}s over all attempts passed ({attempts} retries)", method=method, url=url
        )

    def _check_deadline(self, deadline_at: float | None, wait: float, error: Exception) -> None:
        """Raise now, rather than after sleeping, when a wait would end past the call's deadline."""
        if deadline_at is not None and anyio.current_time() + wait > deadline_at:
            raise BiginTimeoutError(
                f"a retry would wait {wait:.2f}s, past the deadline of {self.settings.deadline}s over all "
                f"attempts; last error: {error}",
            ) from error

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(
            attempt,
            self.settings.retry_backoff_seconds,
            cap=max(self.settings.retry_backoff_seconds, min(30.0, self.settings.max_retry_after)),
            uniform=self._shared.rng.uniform,
        )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = httpx.URL(url)
    return (parts.scheme, parts.host, parts.port)


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


def _malformed(response: httpx.Response, cause: Exception) -> APIError:
    """The typed error for an answer whose body is not the shape Zoho documents.

    Only the kind of failure and, for pydantic, where in the body it was, are kept: the body
    itself (which may echo records or secrets) and pydantic's dump of the input are not.
    """
    where = ""
    if isinstance(cause, pydantic.ValidationError):
        locations = [".".join(str(part) for part in err["loc"]) for err in cause.errors(include_input=False)[:3]]
        where = f" at {', '.join(loc for loc in locations if loc)}" if any(locations) else ""
    return APIError(
        f"the server's answer did not have the expected shape ({type(cause).__name__}{where})",
        status_code=response.status_code,
        code="MALFORMED_RESPONSE",
        method=response.request.method,
        url=str(response.request.url),
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
