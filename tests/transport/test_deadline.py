"""#9.18: the deadline bounds the whole call, and the timeout bounds each attempt's whole exchange.

The servers here misbehave in-process (an ``httpx.MockTransport`` whose body never ends, a token
endpoint that never answers): httpx's own per-read timeout never fires on them, so only the
SDK's bounds can end these calls. ``anyio.fail_after`` is a generous safety net, not the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import httpx
import pytest

from bigin_async import AmbiguousWriteError, BiginClient, BiginTimeoutError
from tests.helpers.transport import make_client, token_body

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]
SAFETY = 10.0  # seconds: only there so a regression fails instead of hanging the suite


class NeverEnding(httpx.AsyncByteStream):
    """A body that sends its first byte and then nothing, forever (a proxy that stalls mid-body)."""

    def __init__(self) -> None:
        self.started = anyio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{"
        self.started.set()
        await anyio.Event().wait()
        yield b"}"  # pragma: no cover


def serve(api: Handler, token: Handler | None = None) -> httpx.MockTransport:
    async def route(request: httpx.Request) -> httpx.Response:
        if "oauth" in request.url.path:
            return await token(request) if token else httpx.Response(200, json=token_body())
        return await api(request)

    return httpx.MockTransport(route)


async def hang(request: httpx.Request) -> httpx.Response:
    await anyio.Event().wait()
    raise AssertionError("unreachable")  # pragma: no cover


async def drip(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, stream=NeverEnding())


async def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


async def test_deadline_bounds_a_body_that_never_ends() -> None:
    async with make_client(transport=serve(drip), deadline=0.3) as bigin:
        with anyio.fail_after(SAFETY), pytest.raises(BiginTimeoutError, match="deadline"):
            await bigin.request("GET", "/org")
        assert bigin.transport.gate.in_flight == 0


async def test_timeout_bounds_one_attempt_s_whole_body_read() -> None:
    """No deadline: the per-call ``timeout`` bounds each attempt's send and whole body, so a drip ends."""
    calls = 0

    async def counting_drip(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return await drip(request)

    async with make_client(transport=serve(counting_drip), timeout=0.2, max_retries=1) as bigin:
        with anyio.fail_after(SAFETY), pytest.raises(BiginTimeoutError):
            await bigin.request("GET", "/org")
        assert calls == 2  # a GET is retried after its attempt timed out
        assert bigin.transport.gate.in_flight == 0


async def test_timeout_of_an_insert_attempt_is_ambiguous_and_not_resent() -> None:
    calls = 0

    async def counting_hang(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return await hang(request)

    async with make_client(transport=serve(counting_hang), timeout=0.2, max_retries=3) as bigin:
        with anyio.fail_after(SAFETY), pytest.raises(AmbiguousWriteError) as info:
            await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "X"}]})
        assert calls == 1
        assert info.value.records == [{"Last_Name": "X"}]


class HungTokenEndpoint:
    """An accounts server that answers only once the test lets it (so no refresh outlives the test)."""

    def __init__(self) -> None:
        self.release = anyio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await self.release.wait()
        return httpx.Response(200, json=token_body())


async def test_deadline_bounds_waiting_for_a_token_refresh() -> None:
    accounts = HungTokenEndpoint()
    async with make_client(transport=serve(ok, token=accounts), deadline=0.3) as bigin:
        with anyio.fail_after(SAFETY), pytest.raises(BiginTimeoutError, match="deadline"):
            await bigin.request("GET", "/org")
        assert bigin.transport.gate.in_flight == 0
        accounts.release.set()


async def test_deadline_bounds_waiting_out_a_429_cooldown() -> None:
    """A call with deadline=3 behind Retry-After: 20 used to wait the whole 20 s."""
    async with make_client(transport=serve(ok), deadline=0.3) as bigin:
        bigin.transport._shared.cooldown.open_for(20.0)
        with anyio.fail_after(SAFETY), pytest.raises(BiginTimeoutError, match="deadline"):
            await bigin.request("GET", "/org")


async def test_deadline_starts_when_the_call_starts_not_at_first_send() -> None:
    """Time queued at the gate counts: a call stuck behind a hung one ends at its own deadline."""
    async with make_client(transport=serve(hang), max_concurrency=1) as bigin:
        quick = bigin.with_options(deadline=0.3)
        with anyio.fail_after(SAFETY):
            async with anyio.create_task_group() as tg:
                tg.start_soon(bigin.request, "GET", "/hung")
                await anyio.wait_all_tasks_blocked()
                assert bigin.transport.gate.in_flight == 1
                with pytest.raises(BiginTimeoutError, match="deadline"):
                    await quick.request("POST", "/Contacts", json={"data": [{"Last_Name": "X"}]})
                tg.cancel_scope.cancel()
        assert bigin.transport.gate.in_flight == 0


async def test_deadline_hit_on_an_insert_after_sending_is_ambiguous() -> None:
    """The insert went out and no answer came back in time: its records' fate is unknown."""
    async with make_client(transport=serve(hang), deadline=0.3) as bigin:
        with anyio.fail_after(SAFETY), pytest.raises(AmbiguousWriteError) as info:
            await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "X"}]})
        assert info.value.records == [{"Last_Name": "X"}]


async def test_deadline_hit_on_an_insert_before_sending_is_a_timeout_not_unknown() -> None:
    """Still waiting for the token: nothing went out, so the records are plainly unsent."""
    accounts = HungTokenEndpoint()
    async with make_client(transport=serve(ok, token=accounts), deadline=0.3) as bigin:
        with anyio.fail_after(SAFETY), pytest.raises(BiginTimeoutError):
            await bigin.request("POST", "/Contacts", json={"data": [{"Last_Name": "X"}]})
        accounts.release.set()


async def test_twenty_bounded_out_calls_leak_no_gate_slot() -> None:
    healthy = False

    async def api(request: httpx.Request) -> httpx.Response:
        return await (ok(request) if healthy else drip(request))

    async with make_client(transport=serve(api), deadline=0.3, max_concurrency=3) as bigin:
        failures: list[BaseException] = []

        async def one() -> None:
            try:
                await bigin.request("GET", "/org")
            except BiginTimeoutError as exc:
                failures.append(exc)

        with anyio.fail_after(SAFETY):
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(one)
        assert len(failures) == 20
        assert bigin.transport.gate.in_flight == 0
        healthy = True
        with anyio.fail_after(SAFETY):
            assert await bigin.request("GET", "/org") == {"ok": True}


async def test_a_call_that_finishes_in_time_is_untouched_by_its_deadline() -> None:
    async with BiginClient(
        access_token="1000.given", expires_in=3600, transport=serve(ok), deadline=5.0
    ) as bigin:
        assert await bigin.request("GET", "/org") == {"ok": True}


# One cancel scope keeps both bounds: its deadline is the call's, moved to an exchange's own
# ``timeout`` while that exchange runs. These pin what that must not change.


class Script:
    """Answers each attempt with the next handler in turn, counting the attempts."""

    def __init__(self, *handlers: Handler) -> None:
        self.handlers = handlers
        self.calls = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        handler = self.handlers[min(self.calls, len(self.handlers) - 1)]
        self.calls += 1
        return await handler(request)


async def busy_for_half_a_second(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, headers={"Retry-After": "0.5"}, json={"code": "INTERNAL_ERROR"})


async def test_a_retry_s_wait_past_the_previous_attempt_s_timeout_is_bounded_by_the_deadline_only() -> None:
    """The advised 0.5 s wait outlasts the first exchange's 0.2 s bound: the call's deadline is back."""
    script = Script(busy_for_half_a_second, ok)
    async with make_client(transport=serve(script), timeout=0.2, deadline=SAFETY, max_retries=1) as bigin:
        with anyio.fail_after(SAFETY):
            assert await bigin.request("GET", "/org") == {"ok": True}
        assert script.calls == 2


async def test_an_attempt_cut_by_its_timeout_is_classed_as_a_timeout_not_as_the_deadline() -> None:
    script = Script(drip)
    async with make_client(transport=serve(script), timeout=0.2, deadline=SAFETY, max_retries=0) as bigin:
        with anyio.fail_after(SAFETY), pytest.raises(BiginTimeoutError) as info:
            await bigin.request("GET", "/org")
        assert "ReadTimeout" in str(info.value)
        assert "deadline" not in str(info.value)
        assert script.calls == 1
        assert bigin.transport.gate.in_flight == 0


async def test_a_get_retried_after_its_attempt_timed_out_succeeds_under_the_same_deadline() -> None:
    script = Script(drip, drip, ok)
    async with make_client(transport=serve(script), timeout=0.2, deadline=SAFETY, max_retries=2) as bigin:
        with anyio.fail_after(SAFETY):
            assert await bigin.request("GET", "/org") == {"ok": True}
        assert script.calls == 3
        assert bigin.transport.gate.in_flight == 0


async def test_the_deadline_still_bounds_the_attempts_after_one_timed_out() -> None:
    """Attempts at 0, 0.2 and 0.4 s: the third is cut at 0.5 s by the deadline, before its own bound."""
    script = Script(drip)
    async with make_client(transport=serve(script), timeout=0.2, deadline=0.5, max_retries=50) as bigin:
        with anyio.fail_after(SAFETY), pytest.raises(BiginTimeoutError, match="deadline") as info:
            await bigin.request("GET", "/org")
        assert "ReadTimeout" not in str(info.value)
        assert 2 <= script.calls < 50
        assert bigin.transport.gate.in_flight == 0


async def test_an_insert_cut_by_the_deadline_after_an_earlier_read_timed_out_is_ambiguous() -> None:
    """A GET's timeout then the deadline on a POST in another call: each call's own bounds decide."""
    async with make_client(transport=serve(Script(drip, hang)), timeout=0.2, deadline=0.5) as bigin:
        with anyio.fail_after(SAFETY):
            with pytest.raises(BiginTimeoutError):
                await bigin.with_options(max_retries=0).request("GET", "/org")
            with pytest.raises(AmbiguousWriteError):
                await bigin.with_options(timeout=5.0).request(
                    "POST", "/Contacts", json={"data": [{"Last_Name": "X"}]}
                )
        assert bigin.transport.gate.in_flight == 0


async def test_a_retry_with_a_refreshed_token_goes_to_that_token_s_api_domain() -> None:
    """The URL is built once per token: a call that started with a cached token (its URL built up
    front) and got a 401 must send its retry to the host of the token refreshed for it."""
    tokens = iter(["https://www.zohoapis.com", "https://www.zohoapis.eu"])
    hosts: list[str] = []

    async def api(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if len(hosts) == 2:  # the second call's first attempt: its token is no longer valid
            return httpx.Response(401, json={"code": "INVALID_TOKEN", "message": "invalid oauth token"})
        return httpx.Response(200, json={"ok": True})

    async def token(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**token_body(), "api_domain": next(tokens)})

    async with make_client(transport=serve(api, token=token)) as bigin:
        with anyio.fail_after(SAFETY):
            assert await bigin.request("GET", "/org") == {"ok": True}
            assert await bigin.request("GET", "/org") == {"ok": True}
    assert hosts == ["www.zohoapis.com", "www.zohoapis.com", "www.zohoapis.eu"]


@pytest.mark.parametrize("late", ["no time at all", "a call_started hook outlasting it"])
async def test_a_deadline_already_past_before_the_first_attempt_fails_the_call_at_once(late: str) -> None:
    # The loop's cancel scope was entered with its deadline past: nothing inside awaited, so the
    # scope caught nothing and the loop went round for ever without yielding (a frozen event loop).
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if request.url.path.endswith("/oauth/v2/token"):
            return httpx.Response(200, json=token_body("1000.deadline-token"))
        return httpx.Response(200, json={"data": [{"id": "1"}]})

    if late == "no time at all":
        options: dict[str, object] = {"deadline": 1e-9}
    else:
        clock_jump = {"call_started": [lambda event: anyio.sleep(0.05)]}
        options = {"deadline": 0.01, "event_hooks": clock_jump}
    async with make_client(transport=httpx.MockTransport(handler), **options) as bigin:
        with pytest.raises(BiginTimeoutError, match="deadline"):
            await bigin.contacts.get("4150868000000624001")
    assert not [path for path in sent if "Contacts" in path]
