"""The request pipeline against respx-mocked Zoho hosts: auth header, gate, retries, 429s, budget."""

from __future__ import annotations

import time

import anyio
import httpx
import pydantic
import pytest
import respx
from pydantic import SecretStr

from bigin_async import (
    AmbiguousWriteError,
    AuthenticationError,
    BiginClient,
    BiginConnectionError,
    BudgetExhaustedError,
    RateLimitError,
    ServerError,
)
from bigin_async.auth import MemoryTokenStore, Token
from tests.helpers.transport import API, TOKEN_URL, make_client, mock_token, token_body


async def test_calls_carry_the_zoho_oauthtoken_header_and_decode_json() -> None:
    with respx.mock(assert_all_called=True) as router:
        mock_token(router, "1000.abc")
        route = router.get(f"{API}/org").respond(json={"org": [{"id": "1"}]})
        async with make_client() as bigin:
            assert await bigin.request("GET", "/org") == {"org": [{"id": "1"}]}
        assert route.calls.last.request.headers["Authorization"] == "Zoho-oauthtoken 1000.abc"
        assert "Bearer" not in route.calls.last.request.headers["Authorization"]


async def test_204_gives_none() -> None:
    with respx.mock() as router:
        mock_token(router)
        router.get(f"{API}/Contacts/search").respond(204)
        async with make_client() as bigin:
            assert await bigin.request("GET", "/Contacts/search", params={"email": "x@y.z"}) is None


async def test_token_api_domain_decides_the_host() -> None:
    with respx.mock() as router:
        router.post("https://accounts.zoho.eu/oauth/v2/token").respond(
            json={**token_body(), "api_domain": "https://www.zohoapis.eu"}
        )
        route = router.get("https://www.zohoapis.eu/bigin/v2/org").respond(json={"org": []})
        async with make_client(region="eu") as bigin:
            await bigin.request("GET", "/org")
        assert route.call_count == 1


async def test_gate_never_exceeds_ten_in_flight_with_100_gathered_calls() -> None:
    in_flight = 0
    peak = 0
    ten_reached = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= 10:
            ten_reached.set()
        await ten_reached.wait()
        in_flight -= 1
        return httpx.Response(200, json={"data": []})

    async def token_handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=token_body())

    async def route(request: httpx.Request) -> httpx.Response:
        return await (token_handler(request) if "oauth" in request.url.path else handler(request))

    async with make_client(transport=httpx.MockTransport(route)) as bigin:
        async with anyio.create_task_group() as tg:
            for _ in range(100):
                tg.start_soon(bigin.request, "GET", "/Contacts/1")
        assert peak == 10
        assert bigin.transport.gate.peak == 10
        assert bigin.transport.calls == 100


async def test_single_flight_refresh_for_20_concurrent_calls() -> None:
    with respx.mock() as router:
        token_route = mock_token(router)
        router.get(f"{API}/org").respond(json={"org": []})
        async with make_client() as bigin:
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(bigin.request, "GET", "/org")
        assert token_route.call_count == 1


async def test_expired_token_is_refreshed_early() -> None:
    """A token within the refresh margin of its expiry (an hour-long one minted 59.5 minutes ago,
    found in the store) is refreshed before anything is sent with it."""
    store = MemoryTokenStore()
    with respx.mock() as router:
        token_route = router.post(TOKEN_URL).respond(json=token_body("second"))
        api = router.get(f"{API}/org").respond(json={"org": []})
        async with make_client(token_store=store) as bigin:
            old = Token(SecretStr("first"), expires_at=time.time() + 30, api_domain=None, lifetime=3600.0)
            await store.save(bigin.transport.tokens.store_key, old)
            await bigin.request("GET", "/org")
        assert token_route.call_count == 1
        assert api.calls[0].request.headers["Authorization"] == "Zoho-oauthtoken second"


async def test_a_fresh_short_lived_token_serves_calls_for_half_its_life() -> None:
    """A 30 s token (the emulator's token_ttl=30, a proxy's short tokens) is shorter-lived than the
    60 s margin: refreshed on every call, Zoho would block the refresh token after ten calls. It is
    used for half its life (15 s), then refreshed before it runs out."""
    now = [1_000_000.0]
    with respx.mock() as router:
        token_route = router.post(TOKEN_URL).mock(
            side_effect=[
                httpx.Response(200, json=token_body("first", expires_in=30)),
                httpx.Response(200, json=token_body("second", expires_in=30)),
            ]
        )
        api = router.get(f"{API}/org").respond(json={"org": []})
        async with make_client() as bigin:
            bigin.transport.tokens._clock = lambda: now[0]
            for _ in range(12):  # more calls than Zoho's ten refreshes
                await bigin.request("GET", "/org")
            now[0] += 14.9
            await bigin.request("GET", "/org")
            assert token_route.call_count == 1
            now[0] += 0.2  # 15.1 s after it was minted: past half its life
            await bigin.request("GET", "/org")
        assert token_route.call_count == 2
        assert api.calls.last.request.headers["Authorization"] == "Zoho-oauthtoken second"


def test_a_token_keeps_its_lifetime_in_the_token_file_and_old_files_stay_readable() -> None:
    token = Token(
        SecretStr("1000.a"), expires_at=1_000_030.0, api_domain="https://www.zohoapis.com", lifetime=30.0
    )
    again = Token.from_json(token.to_json())
    assert again.lifetime == 30.0
    assert again.is_fresh(1_000_014.0, 60.0) and not again.is_fresh(1_000_016.0, 60.0)
    old_file = {"access_token": "1000.a", "expires_at": 1_000_030.0, "api_domain": None}  # before lifetime
    legacy = Token.from_json(old_file)
    assert legacy.lifetime is None
    assert not legacy.is_fresh(1_000_000.0, 60.0)  # no lifetime known: the margin alone decides
    for bad in ("30", None, -5.0, 0.0, float("nan"), float("inf"), True):
        assert Token.from_json({**old_file, "lifetime": bad}).lifetime is None  # hand-edited: ignored


async def test_401_invalid_token_refreshes_once_and_retries_once() -> None:
    with respx.mock() as router:
        token_route = router.post(TOKEN_URL).mock(
            side_effect=[
                httpx.Response(200, json=token_body("old")),
                httpx.Response(200, json=token_body("new")),
            ]
        )
        api = router.get(f"{API}/org").mock(
            side_effect=[
                httpx.Response(
                    401,
                    json={
                        "code": "INVALID_TOKEN",
                        "details": {},
                        "message": "invalid oauth token",
                        "status": "error",
                    },
                ),
                httpx.Response(200, json={"org": [{"id": "9"}]}),
            ]
        )
        async with make_client() as bigin:
            assert await bigin.request("GET", "/org") == {"org": [{"id": "9"}]}
        assert token_route.call_count == 2
        assert [c.request.headers["Authorization"] for c in api.calls] == [
            "Zoho-oauthtoken old",
            "Zoho-oauthtoken new",
        ]


async def test_persistent_401_raises_after_one_refresh() -> None:
    with respx.mock() as router:
        token_route = mock_token(router)
        api = router.get(f"{API}/org").respond(
            401, json={"code": "INVALID_TOKEN", "message": "invalid oauth token", "status": "error"}
        )
        async with make_client() as bigin:
            with pytest.raises(AuthenticationError) as info:
                await bigin.request("GET", "/org")
        assert info.value.code == "INVALID_TOKEN"
        assert (token_route.call_count, api.call_count) == (2, 2)


async def test_insert_is_never_resent_after_a_read_timeout() -> None:
    with respx.mock() as router:
        mock_token(router)
        insert = router.post(f"{API}/Contacts").mock(side_effect=httpx.ReadTimeout("slow"))
        async with make_client() as bigin:
            records = [{"Last_Name": "Doe"}, {"Last_Name": "Roe"}]
            with pytest.raises(AmbiguousWriteError) as info:
                await bigin.request("POST", "/Contacts", json={"data": records})
        assert insert.call_count == 1
        assert info.value.records == records
        assert "upsert" in str(info.value)


async def test_insert_is_not_resent_after_a_5xx_but_a_get_is() -> None:
    with respx.mock() as router:
        mock_token(router)
        insert = router.post(f"{API}/Contacts").respond(
            500, json={"code": "INTERNAL_ERROR", "message": "boom", "status": "error"}
        )
        read = router.get(f"{API}/Contacts/1").mock(
            side_effect=[
                httpx.Response(503, text="<html>busy</html>"),
                httpx.ReadTimeout("slow"),
                httpx.Response(200, json={"data": [{"id": "1"}]}),
            ]
        )
        async with make_client() as bigin:
            with pytest.raises(AmbiguousWriteError):
                await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "X"}]})
            assert await bigin.request("GET", "/Contacts/1") == {"data": [{"id": "1"}]}
        assert insert.call_count == 1
        assert read.call_count == 3


async def test_upsert_is_retried_after_a_dropped_connection() -> None:
    with respx.mock() as router:
        mock_token(router)
        upsert = router.post(f"{API}/Contacts/upsert").mock(
            side_effect=[
                httpx.RemoteProtocolError("dropped"),
                httpx.Response(200, json={"data": [{"code": "SUCCESS"}]}),
            ]
        )
        async with make_client() as bigin:
            await bigin.request(
                "POST", "/Contacts/upsert", json={"data": [{"Last_Name": "X", "Email": "x@y.z"}]}
            )
        assert upsert.call_count == 2


async def test_connect_errors_are_retried_even_for_inserts() -> None:
    with respx.mock() as router:
        mock_token(router)
        insert = router.post(f"{API}/Contacts").mock(
            side_effect=[
                httpx.ConnectError("refused"),
                httpx.Response(201, json={"data": [{"code": "SUCCESS"}]}),
            ]
        )
        async with make_client() as bigin:
            await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "X"}]})
        assert insert.call_count == 2


async def test_retries_are_bounded_by_max_retries() -> None:
    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").mock(side_effect=httpx.ConnectError("refused"))
        async with make_client(max_retries=2) as bigin:
            with pytest.raises(BiginConnectionError):
                await bigin.request("GET", "/org")
        assert read.call_count == 3


async def test_5xx_exhausting_retries_raises_server_error() -> None:
    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").respond(502, text="<html><body>Bad gateway</body></html>")
        async with make_client(max_retries=1) as bigin:
            with pytest.raises(ServerError, match="HTML"):
                await bigin.request("GET", "/org")
        assert read.call_count == 2


async def test_retry_after_is_honoured_through_the_shared_cooldown() -> None:
    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").mock(
            side_effect=[
                httpx.Response(
                    429,
                    headers={"Retry-After": "0.05"},
                    json={"code": "TOO_MANY_REQUESTS", "message": "slow down", "status": "error"},
                ),
                httpx.Response(200, json={"org": []}),
            ]
        )
        async with make_client() as bigin:
            cooldown = bigin.transport._shared.cooldown
            await bigin.request("GET", "/org")
            assert cooldown.last_opened_for == pytest.approx(0.05)
        assert read.call_count == 2


async def test_retry_after_beyond_the_cap_raises_instead_of_sleeping() -> None:
    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").respond(
            429,
            headers={"Retry-After": "3600"},
            json={"code": "RATE_LIMIT_EXCEEDED", "message": "limit", "status": "error"},
        )
        async with make_client(max_retry_after=180) as bigin:
            with pytest.raises(RateLimitError) as info:
                await bigin.request("GET", "/org")
        assert info.value.retry_after == 3600
        assert read.call_count == 1


async def test_daily_budget_refuses_before_sending() -> None:
    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").respond(json={"org": []})
        async with make_client(daily_limit=3, min_calls_remaining=1) as bigin:
            await bigin.request("GET", "/org")
            await bigin.request("GET", "/org")
            with pytest.raises(BudgetExhaustedError, match="not sent") as info:
                await bigin.request("GET", "/org")
        assert read.call_count == 2
        assert info.value.remaining == 1


async def test_daily_budget_syncs_from_the_server_header() -> None:
    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").respond(json={"org": []}, headers={"X-RateLimit-Remaining": "2"})
        async with make_client(min_calls_remaining=1) as bigin:
            await bigin.request("GET", "/org")  # server says 2 left
            await bigin.request("GET", "/org")  # server says 2 left again after this one
            assert bigin.transport.budget.remaining() == 2
        assert read.call_count == 2


async def test_cancelling_20_in_flight_calls_leaves_the_pool_usable() -> None:
    release = anyio.Event()
    started = 0
    all_started = anyio.Event()

    async def route(request: httpx.Request) -> httpx.Response:
        nonlocal started
        if "oauth" in request.url.path:
            return httpx.Response(200, json=token_body())
        if request.url.path.endswith("/ok"):
            return httpx.Response(200, json={"ok": True})
        started += 1
        if started == 10:
            all_started.set()
        await release.wait()
        return httpx.Response(200, json={})

    async with make_client(transport=httpx.MockTransport(route)) as bigin:
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(bigin.request, "GET", "/slow")
            await all_started.wait()
            tg.cancel_scope.cancel()
        assert bigin.transport.gate.in_flight == 0
        assert await bigin.request("GET", "/ok") == {"ok": True}


async def test_client_is_closed_idempotently_and_refuses_later_calls() -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        bigin = make_client()
        await bigin.aclose()
        await bigin.aclose()
        assert bigin.closed
        with pytest.raises(Exception, match="closed"):
            await bigin.request("GET", "/org")


async def test_with_options_shares_pool_limits_and_tokens() -> None:
    with respx.mock() as router:
        token_route = mock_token(router)
        router.get(f"{API}/org").respond(json={"org": []})
        async with make_client() as bigin:
            fast = bigin.with_options(timeout=2.0, max_retries=0)
            assert fast.config.timeout == 2.0 and fast.config.max_retries == 0
            assert bigin.config.timeout == 30.0
            assert fast.transport.http is bigin.transport.http
            assert fast.transport.gate is bigin.transport.gate
            await fast.request("GET", "/org")
            await bigin.request("GET", "/org")
            await fast.aclose()  # a view does not close the shared pool
            assert not bigin.closed
        assert token_route.call_count == 1


async def test_bare_access_token_mode_without_refresh() -> None:
    with respx.mock(assert_all_called=False) as router:
        token_route = router.post(TOKEN_URL).respond(json=token_body())
        route = router.get(f"{API}/org").respond(json={"org": []})
        async with BiginClient(access_token="1000.given", expires_in=3600) as bigin:
            await bigin.request("GET", "/org")
        assert route.calls.last.request.headers["Authorization"] == "Zoho-oauthtoken 1000.given"
        assert token_route.call_count == 0


def test_unclosed_used_client_warns() -> None:
    import gc
    import warnings

    bigin = make_client()
    bigin.transport._shared.used = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del bigin
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)


async def test_deadline_bounds_all_attempts_of_one_call() -> None:
    from bigin_async import BiginTimeoutError

    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").respond(
            503, json={"code": "INTERNAL_ERROR", "message": "busy", "status": "error"}
        )
        async with make_client(deadline=0.05, max_retries=10_000, retry_backoff_seconds=0.005) as bigin:
            with pytest.raises(BiginTimeoutError, match="deadline"):
                await bigin.request("GET", "/org")
        assert 1 < read.call_count < 10_000


async def test_intercall_delay_spaces_call_starts() -> None:
    async with make_client(
        intercall_delay=0.02,
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json=token_body() if "oauth" in r.url.path else {})
        ),
    ) as bigin:
        limiter = bigin.transport._shared.intercall
        assert limiter is not None
        reserved: list[float] = []
        commit = limiter.commit

        def spy(start: float) -> None:
            reserved.append(start)
            commit(start)

        limiter.commit = spy  # type: ignore[method-assign]
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(bigin.request, "GET", "/org")
    # Booked at least the delay apart; more when a send went later than booked (the next one
    # then follows the real send, see tests/transport/test_pipeline_adversarial.py).
    gaps = [b - a for a, b in zip(reserved, reserved[1:], strict=False)]
    assert len(reserved) == 4 and all(gap >= 0.02 - 1e-9 for gap in gaps)


# -- send_parsed: the parser runs inside the retry loop ---------------------------------------
def _parse_org(response: httpx.Response) -> str:
    return str(response.json()["org"][0]["id"])


async def test_send_parsed_returns_what_the_parser_made() -> None:
    with respx.mock() as router:
        mock_token(router)
        router.get(f"{API}/org").respond(json={"org": [{"id": "7"}]})
        async with make_client() as bigin:
            assert await bigin.transport.send_parsed("GET", "/org", _parse_org) == "7"


async def test_send_parsed_retries_a_malformed_read_like_a_5xx() -> None:
    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").mock(
            side_effect=[
                httpx.Response(200, content=b'{"org": [{"id"'),  # cut short: a json error
                httpx.Response(200, json={"unexpected": True}),  # a KeyError
                httpx.Response(200, json={"org": [{"id": "7"}]}),
            ]
        )
        seen: list[int] = []

        def parse(response: httpx.Response) -> str:
            seen.append(response.extensions["bigin_ambiguous_attempts"])
            return _parse_org(response)

        async with make_client(max_retries=3) as bigin:
            assert await bigin.transport.send_parsed("GET", "/org", parse) == "7"
        assert read.call_count == 3
        assert seen == [0, 1, 2]  # each malformed answer counts as an ambiguous attempt


async def test_send_parsed_raises_malformed_response_when_retries_run_out() -> None:
    from bigin_async import APIError

    class Org(pydantic.BaseModel):
        id: int

    def parse(response: httpx.Response) -> Org:
        return Org.model_validate(response.json()["org"][0])

    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").respond(json={"org": [{"id": "not-a-number-SECRET"}]})
        async with make_client(max_retries=1) as bigin:
            with pytest.raises(APIError) as info:
                await bigin.transport.send_parsed("GET", "/org", parse)
        assert read.call_count == 2
        assert info.value.code == "MALFORMED_RESPONSE"
        assert "expected shape" in str(info.value) and "id" in str(info.value)
        assert "SECRET" not in str(info.value) and "pydantic" not in str(info.value)


async def test_send_parsed_insert_with_a_malformed_answer_is_ambiguous_and_not_resent() -> None:
    with respx.mock() as router:
        mock_token(router)
        insert = router.post(f"{API}/Contacts").respond(200, content=b"<html>proxy</html>")
        async with make_client() as bigin:
            with pytest.raises(AmbiguousWriteError) as info:
                await bigin.transport.send_parsed(
                    "POST", "/Contacts", lambda r: r.json()["data"], json={"data": [{"Last_Name": "X"}]}
                )
        assert insert.call_count == 1
        assert info.value.records == [{"Last_Name": "X"}]


async def test_send_parsed_lets_a_typed_error_of_the_parser_through_untouched() -> None:
    from bigin_async import NotFoundError

    def parse(response: httpx.Response) -> None:
        raise NotFoundError("no such record", status_code=204)

    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/Contacts/1").respond(204)
        async with make_client() as bigin:
            with pytest.raises(NotFoundError):
                await bigin.transport.send_parsed("GET", "/Contacts/1", parse)
        assert read.call_count == 1


# -- issue #9 ----------------------------------------------------------------------------------
async def test_5xx_with_a_long_retry_after_on_an_insert_is_ambiguous() -> None:
    """#9.4: the insert may have been applied whatever the Retry-After says: never a plain ServerError."""
    with respx.mock() as router:
        mock_token(router)
        insert = router.post(f"{API}/Contacts").respond(
            503,
            headers={"Retry-After": "3600"},
            json={"code": "INTERNAL_ERROR", "message": "busy", "status": "error"},
        )
        async with make_client(max_retry_after=180) as bigin:
            with pytest.raises(AmbiguousWriteError) as info:
                await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "X"}]})
        assert insert.call_count == 1
        assert info.value.records == [{"Last_Name": "X"}]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-1", "1e400", "12abc", "", "0x10", "١٢"])
async def test_unreadable_rate_limit_headers_never_fail_an_applied_insert(value: str) -> None:
    """#9.7: the insert was applied: a header we cannot read must not turn its answer into an error."""
    headers = {"X-RateLimit-Remaining": value, "X-RateLimit-Reset": value, "Retry-After": value}
    with respx.mock() as router:
        mock_token(router)
        insert = router.post(f"{API}/Contacts").respond(
            201,
            headers={k.encode(): v.encode() for k, v in headers.items()},  # UTF-8 bytes, as sent
            json={"data": [{"code": "SUCCESS", "details": {"id": "1"}, "status": "success"}]},
        )
        async with make_client(min_calls_remaining=1) as bigin:
            body = await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "X"}]})
            assert body["data"][0]["code"] == "SUCCESS"
            # ...and the unreadable figure was ignored, not adopted: the next call is not refused.
            await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "Y"}]})
        assert insert.call_count == 2


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "garbage", "-5"])
async def test_unreadable_retry_after_on_a_429_still_gives_a_typed_answer(value: str) -> None:
    with respx.mock() as router:
        mock_token(router)
        read = router.get(f"{API}/org").mock(
            side_effect=[
                httpx.Response(
                    429,
                    headers={"Retry-After": value, "X-RateLimit-Reset": value},
                    json={"code": "TOO_MANY_REQUESTS", "message": "slow down", "status": "error"},
                ),
                httpx.Response(200, json={"org": []}),
            ]
        )
        async with make_client(max_retry_after=1) as bigin:
            try:
                assert await bigin.request("GET", "/org") == {"org": []}
            except RateLimitError:
                pass  # a wait read as longer than max_retry_after: said, not slept
            assert bigin.transport._shared.cooldown.remaining <= 1
        assert read.call_count in (1, 2)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
async def test_nan_and_infinity_are_refused_before_sending(bad: float) -> None:
    """#9.7: Zoho cannot read NaN/Infinity (not JSON): refuse the body, send nothing, spend nothing."""
    from bigin_async import ValidationError

    with respx.mock(assert_all_called=False) as router:
        token = mock_token(router)
        insert = router.post(f"{API}/Deals").respond(201, json={"data": []})
        async with make_client(daily_limit=10) as bigin:
            with pytest.raises(ValidationError, match="JSON"):
                await bigin.request("POST", "/Deals", json={"data": [{"Amount": bad}]})
            assert bigin.transport.budget.remaining() == 10
        assert insert.call_count == 0 and token.call_count == 0


async def test_a_body_json_cannot_encode_is_a_validation_error() -> None:
    from bigin_async import ValidationError

    with respx.mock(assert_all_called=False) as router:
        mock_token(router)
        insert = router.post(f"{API}/Deals").respond(201, json={"data": []})
        async with make_client() as bigin:
            with pytest.raises(ValidationError):
                await bigin.request("POST", "/Deals", json={"data": [{"Tags": {1, 2}}]})
        assert insert.call_count == 0


async def test_the_first_call_goes_to_the_token_api_domain() -> None:
    """#9.21: the URL is built once the token (and its api_domain) is known, not before."""
    with respx.mock(assert_all_called=False) as router:
        token_route = router.post(TOKEN_URL).respond(
            json={**token_body(), "api_domain": "https://www.zohoapis.in"}
        )
        wrong = router.get(f"{API}/org").respond(
            401, json={"code": "INVALID_TOKEN", "message": "wrong DC", "status": "error"}
        )
        right = router.get("https://www.zohoapis.in/bigin/v2/org").respond(json={"org": [{"id": "1"}]})
        async with make_client() as bigin:
            assert await bigin.request("GET", "/org") == {"org": [{"id": "1"}]}
        assert (right.call_count, wrong.call_count, token_route.call_count) == (1, 0, 1)


async def test_limit_exceeded_with_a_400_is_not_a_rate_limit() -> None:
    """#9.24: 400 LIMIT_EXCEEDED (too many records) is the request's fault: not retried, not a
    RateLimitError."""
    from bigin_async import InvalidRequestError

    with respx.mock() as router:
        mock_token(router)
        insert = router.post(f"{API}/Contacts").respond(
            400,
            json={
                "code": "LIMIT_EXCEEDED",
                "details": {"limit": 100},
                "message": "too many",
                "status": "error",
            },
        )
        async with make_client() as bigin:
            with pytest.raises(InvalidRequestError) as info:
                await bigin.request(
                    "POST", "/Contacts", json={"data": [{"Last_Name": str(i)} for i in range(101)]}
                )
        assert not isinstance(info.value, RateLimitError)
        assert info.value.code == "LIMIT_EXCEEDED" and info.value.details == {"limit": 100}
        assert insert.call_count == 1


async def test_limit_exceeded_with_a_429_is_still_a_rate_limit() -> None:
    with respx.mock() as router:
        mock_token(router)
        router.get(f"{API}/org").respond(
            429,
            headers={"Retry-After": "600"},
            json={"code": "LIMIT_EXCEEDED", "message": "slow", "status": "error"},
        )
        async with make_client(max_retry_after=10) as bigin:
            with pytest.raises(RateLimitError) as info:
                await bigin.request("GET", "/org")
        assert info.value.retry_after == 600


async def test_calls_queued_at_the_gate_wait_out_a_cooldown_opened_meanwhile() -> None:
    """#9.19: a call that passed the cooldown check and then queued at the gate must not send in it."""
    sent_in_cooldown: list[float] = []
    first_in = anyio.Event()
    release = anyio.Event()
    answers = 0

    async def route(request: httpx.Request) -> httpx.Response:
        nonlocal answers
        if "oauth" in request.url.path:
            return httpx.Response(200, json=token_body())
        sent_in_cooldown.append(cooldown.remaining)
        answers += 1
        if answers == 1:
            first_in.set()
            await release.wait()
            return httpx.Response(
                429, headers={"Retry-After": "0.2"}, json={"code": "TOO_MANY_REQUESTS", "status": "error"}
            )
        return httpx.Response(200, json={"ok": True})

    async with make_client(transport=httpx.MockTransport(route), max_concurrency=1) as bigin:
        cooldown = bigin.transport._shared.cooldown
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(bigin.request, "GET", "/a")
                await first_in.wait()
                for _ in range(3):
                    tg.start_soon(bigin.request, "GET", "/b")
                await anyio.wait_all_tasks_blocked()  # the three wait at the gate, past the cooldown check
                release.set()
        assert len(sent_in_cooldown) == 5
        assert sent_in_cooldown == [0.0] * 5
        assert bigin.transport.gate.in_flight == 0


class _DeadOnWrite(httpx.AsyncBaseTransport):
    """A pooled connection found dead while writing: httpcore traces the failed write, then the
    read sees no answer (RemoteProtocolError). The first request never left whole."""

    def __init__(self) -> None:
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "oauth" in request.url.path:
            return httpx.Response(200, json=token_body())
        self.attempts += 1
        trace = request.extensions["trace"]
        await trace("connection.connect_tcp.started", {})
        await trace("http11.send_request_headers.started", {"request": request})
        if self.attempts == 1:
            await trace("http11.send_request_headers.failed", {"exception": BrokenPipeError()})
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        await trace("http11.send_request_headers.complete", {})
        await trace("http11.send_request_body.started", {"request": request})
        await trace("http11.send_request_body.complete", {})
        if self.attempts == 2:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(201, json={"data": [{"code": "SUCCESS"}]})


async def test_an_insert_that_never_left_whole_is_retried() -> None:
    """Evidence decides: a write that failed before the last byte cannot have been applied."""
    dead = _DeadOnWrite()
    async with make_client(transport=dead) as bigin:
        with pytest.raises(AmbiguousWriteError):  # the 2nd attempt was sent whole, then lost: unknown
            await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "X"}]})
    assert dead.attempts == 2  # the 1st (never sent) was retried; the 2nd was not re-sent


async def test_an_absolute_url_is_checked_against_the_token_s_own_origin() -> None:
    """#9.21 edge: on the first call the host is known only once the token is; a foreign host never
    gets it."""
    from bigin_async import ConfigurationError

    with respx.mock(assert_all_called=False) as router:
        router.post(TOKEN_URL).respond(json={**token_body(), "api_domain": "https://www.zohoapis.in"})
        india = router.get("https://www.zohoapis.in/bigin/v2/org").respond(json={"org": []})
        foreign = router.get("https://www.zohoapis.com/bigin/v2/org").respond(json={"org": []})
        async with make_client() as bigin:
            assert await bigin.request("GET", "https://www.zohoapis.in/bigin/v2/org") == {"org": []}
            with pytest.raises(ConfigurationError, match="refusing"):
                await bigin.request("GET", "https://www.zohoapis.com/bigin/v2/org")
        assert (india.call_count, foreign.call_count) == (1, 0)


async def test_a_call_pacing_in_the_limiter_waits_out_a_cooldown_opened_meanwhile() -> None:
    """#9.19: the cooldown is looked at again after pacing, right before sending."""
    remaining_at_send: list[float] = []
    answers = 0

    async def route(request: httpx.Request) -> httpx.Response:
        nonlocal answers
        if "oauth" in request.url.path:
            return httpx.Response(200, json=token_body())
        remaining_at_send.append(cooldown.remaining)
        answers += 1
        if answers == 1:
            await anyio.wait_all_tasks_blocked()  # the second call is now asleep in the limiter
            return httpx.Response(
                429, headers={"Retry-After": "0.6"}, json={"code": "TOO_MANY_REQUESTS", "status": "error"}
            )
        return httpx.Response(200, json={"ok": True})

    async with make_client(
        transport=httpx.MockTransport(route), intercall_delay=0.2, max_concurrency=2
    ) as bigin:
        cooldown = bigin.transport._shared.cooldown
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(bigin.request, "GET", "/a")
                await anyio.wait_all_tasks_blocked()
                tg.start_soon(bigin.request, "GET", "/b")
        assert answers == 3
        assert remaining_at_send == [0.0, 0.0, 0.0]
