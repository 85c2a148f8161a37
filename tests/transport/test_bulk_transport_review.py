"""Adversarial review of the transport's bulk job pieces: downloads to disk, uploads, hosts, pacing.

Each test here failed before its fix: a download written through a planted ``.part`` link, two
downloads to one path mixing their bodies, a full disk raising a bare ``OSError``, a redirect
followed by a caller's own httpx client, an endless error body read to its end, input of the
wrong type raising ``TypeError`` instead of the SDK's own error, and a retried Bulk Read download
sent past Zoho's 10 a minute.
"""

from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import respx

from bigin_async import BiginClient, BiginError, ConfigurationError, ValidationError, _download
from bigin_async._download import ERROR_BODY_CAP, read_capped
from bigin_async._limits import DailyBudget
from bigin_async._multipart import Upload, upload_file
from tests.helpers.transport import TOKEN_URL, make_client, token_body

ACCESS = "1000.access-SECRET"


class Chunks(httpx.AsyncByteStream):
    """A body in pieces; ``at`` is called before piece ``index`` is given (then awaited)."""

    def __init__(self, pieces: list[bytes], at: Callable[[int], Any] | None = None) -> None:
        self.pieces = pieces
        self.at = at

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, piece in enumerate(self.pieces):
            if self.at is not None:
                await self.at(index)
            yield piece


class Scripted(httpx.AsyncBaseTransport):
    """Answers each request with ``answer(n, request)`` (n counts from 0); keeps the requests."""

    def __init__(self, answer: Callable[[int, httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(len(self.requests) - 1, request)


def client(transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> BiginClient:
    kwargs: dict[str, Any] = {
        "access_token": ACCESS,
        "api_domain": "http://127.0.0.1",
        "content_domain": "http://127.0.0.2",
        "retry_backoff_seconds": 0.0,
        **options,
    }
    if transport is not None:
        kwargs["transport"] = transport
    return BiginClient(**kwargs)


def ok(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-length": str(len(body))}, stream=Chunks([body]))


# -- downloads -----------------------------------------------------------------------------------


async def test_a_planted_part_link_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"precious")
    directory = tmp_path / "downloads"
    directory.mkdir()
    (directory / "r.zip.part").symlink_to(outside)
    async with client(Scripted(lambda n, r: ok(b"DOWNLOADED"))) as bigin:
        await bigin.transport.send("GET", "/read/1/result", service="bulk", download_to=directory / "r.zip")
    assert outside.read_bytes() == b"precious"
    target = directory / "r.zip"
    assert not target.is_symlink() and target.read_bytes() == b"DOWNLOADED"


async def test_two_downloads_to_one_path_at_once_each_leave_a_whole_file(tmp_path: Path) -> None:
    first_half_written, second_done = anyio.Event(), anyio.Event()

    async def hold_first(index: int) -> None:
        if index == 1:
            first_half_written.set()
            await second_done.wait()

    async def free(index: int) -> None:
        return None

    def answer(n: int, request: httpx.Request) -> httpx.Response:
        if n == 0:
            return httpx.Response(
                200, headers={"content-length": "20"}, stream=Chunks([b"A" * 10] * 2, hold_first)
            )
        return httpx.Response(200, headers={"content-length": "10"}, stream=Chunks([b"B" * 5] * 2, free))

    target = tmp_path / "r.zip"
    errors: list[BaseException] = []

    async def download() -> None:
        try:
            await bigin.transport.send("GET", "/read/1/result", service="bulk", download_to=target)
        except Exception as exc:  # noqa: BLE001 - a failure is what the test looks for
            errors.append(exc)

    async with client(Scripted(answer)) as bigin:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(download)
            await first_half_written.wait()
            await download()
            second_done.set()
    assert errors == []
    assert target.read_bytes() in (b"A" * 20, b"B" * 10)  # one whole body, never a mix
    assert [p.name for p in tmp_path.iterdir()] == ["r.zip"]


async def test_a_full_disk_is_the_sdk_s_error_and_leaves_no_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(file: Any, chunk: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_download, "_write", full)
    async with client(Scripted(lambda n, r: ok(b"body"))) as bigin:
        with pytest.raises(BiginError, match="could not be written"):
            await bigin.transport.send(
                "GET", "/read/1/result", service="bulk", download_to=tmp_path / "r.zip"
            )
    assert list(tmp_path.iterdir()) == []


async def test_a_directory_gone_when_the_answer_comes_is_the_sdk_s_error(tmp_path: Path) -> None:
    directory = tmp_path / "downloads"
    directory.mkdir()

    def answer(n: int, request: httpx.Request) -> httpx.Response:
        directory.rmdir()  # after the call checked it, before the body is saved
        return ok(b"body")

    async with client(Scripted(answer)) as bigin:
        with pytest.raises(BiginError, match="could not be written"):
            await bigin.transport.send(
                "GET", "/read/1/result", service="bulk", download_to=directory / "r.zip"
            )
    assert list(tmp_path.iterdir()) == []


async def test_a_redirect_is_not_followed_even_by_a_client_that_would(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1":
            return httpx.Response(302, headers={"location": "http://127.0.0.9/elsewhere"})
        return ok(b"from another host")

    seen: list[str] = []

    async def log(request: httpx.Request) -> None:
        seen.append(str(request.url))

    http = httpx.AsyncClient(
        transport=httpx.MockTransport(answer), follow_redirects=True, event_hooks={"request": [log]}
    )
    async with http, client(http_client=http) as bigin:
        with pytest.raises(BiginError, match="302"):
            await bigin.transport.send(
                "GET", "/read/1/result", service="bulk", download_to=tmp_path / "r.zip"
            )
        response = await bigin.transport.send("GET", "/Contacts", raise_for_status=False)
    assert response.status_code == 302
    assert all("127.0.0.9" not in url for url in seen)
    assert list(tmp_path.iterdir()) == []


async def test_an_endless_error_body_is_read_only_to_its_cap() -> None:
    given = 0

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            nonlocal given
            while True:
                await anyio.lowlevel.checkpoint()  # as a socket read is
                given += 1
                assert given <= 2 * ERROR_BODY_CAP // 65536, "read far past the cap"
                yield b"x" * 65536

    response = httpx.Response(503, stream=Endless(), request=httpx.Request("GET", "http://127.0.0.1/x"))
    capped = await read_capped(response)
    assert capped.content == b"x" * ERROR_BODY_CAP


# -- input refused before anything is sent -------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda tmp: {"upload": Upload(123)},  # type: ignore[arg-type]
        lambda tmp: {"upload": Upload(None)},  # type: ignore[arg-type]
        lambda tmp: {"upload": Upload(tmp / "f.zip", filename=5)},  # type: ignore[arg-type]
        lambda tmp: {"download_to": 123},
    ],
    ids=["upload-int", "upload-none", "filename-int", "download-int"],
)
async def test_input_of_the_wrong_type_is_refused_typed_before_sending(
    tmp_path: Path, build: Callable[[Path], dict[str, Any]]
) -> None:
    (tmp_path / "f.zip").write_bytes(b"zip")
    transport = Scripted(lambda n, r: ok(b"{}"))
    async with client(transport) as bigin:
        with pytest.raises(BiginError):
            await bigin.transport.send("POST", "/upload", service="content", **build(tmp_path))
    assert transport.requests == []


@pytest.mark.parametrize(
    "path",
    [
        "http://127.0.0.1/x\t",
        "/Contacts\x00",
        "/Contacts\t",
        "http://127.0.0.1:port/x",
        "https://xn--.com/x",
        "https://\u2603\ufe0f.com/x",
    ],
    ids=["absolute", "nul", "tab", "port", "a-label", "idna"],
)
async def test_a_url_httpx_cannot_build_is_refused_typed_and_costs_nothing(path: str) -> None:
    transport = Scripted(lambda n, r: ok(b"{}"))
    async with client(transport) as bigin:
        with pytest.raises((ConfigurationError, ValidationError)):
            await bigin.transport.send("GET", path)
        assert bigin.credits.spent_total == 0
    assert transport.requests == []


# -- Bulk Read downloads: Zoho's 10 a minute -----------------------------------------------------


async def test_every_attempt_of_a_read_download_takes_a_place_in_the_minute(tmp_path: Path) -> None:
    def answer(n: int, request: httpx.Request) -> httpx.Response:
        if n == 0:  # dropped half way: the transport tries again, a second GET of the result
            return httpx.Response(200, headers={"content-length": "4"}, stream=Chunks([b"ab", b""], drop))
        return ok(b"abcd")

    async def drop(index: int) -> None:
        if index == 1:
            raise httpx.ReadError("reset")

    transport = Scripted(answer)
    async with client(transport) as bigin:
        limiter = bigin.transport.read_downloads
        await bigin.bulk_jobs.download("/bigin/bulk/v2/read/1/result", to=tmp_path / "r.zip")
        sent = limiter._sent
        assert sent is not None
        assert len(transport.requests) == 2
        assert len(sent) == 2  # both GETs count among the org's 10 a minute, not one
    assert os.listdir(tmp_path) == ["r.zip"]


# -- hosts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"content_domain": "https://content.zohoapis.com@evil.example"},
        {"content_domain": "https://user:s3cret-pw@content.zohoapis.com"},
        {"api_domain": "https://www.zohoapis.com@evil.example"},
        {"accounts_url": "https://accounts.zoho.com:s3cret-pw@evil.example"},
    ],
    ids=["content-host-as-user", "content-password", "api-host-as-user", "accounts-password"],
)
def test_a_host_with_a_user_name_or_password_in_it_is_refused_without_showing_it(
    options: dict[str, Any],
) -> None:
    # ``https://content.zohoapis.com@evil.example`` reads as Zoho's file host and is evil.example.
    with pytest.raises(ConfigurationError) as raised:
        BiginClient(access_token=ACCESS, **options)
    assert "s3cret" not in str(raised.value)
    assert "user name or password" in str(raised.value)


# -- credits -------------------------------------------------------------------------------------


async def test_a_job_refused_with_a_429_then_created_costs_its_credits_once() -> None:
    # Zoho (and the emulator) charge what they admit: a 429 is refused before it is counted.
    def answer(n: int, request: httpx.Request) -> httpx.Response:
        if n == 0:
            return httpx.Response(
                429, headers={"retry-after": "0"}, json={"code": "TOO_MANY_REQUESTS", "message": "x"}
            )
        return httpx.Response(201, json={"status": "success"})

    transport = Scripted(answer)
    async with client(transport, daily_limit=10_000) as bigin:
        await bigin.transport.send("POST", "/write", service="bulk", json={}, credits=500)
        assert len(transport.requests) == 2
        assert bigin.credits.spent_total == 500 and bigin.credits.spent_24h == 500
        assert bigin.credits.remaining == 10_000 - 500


async def test_an_attempt_that_never_connected_costs_nothing() -> None:
    def answer(n: int, request: httpx.Request) -> httpx.Response:
        if n == 0:
            raise httpx.ConnectError("refused")
        return httpx.Response(201, json={"status": "success"})

    async with client(Scripted(answer)) as bigin:
        await bigin.transport.send("POST", "/write", service="bulk", json={}, credits=500, idempotent=True)
        assert bigin.credits.spent_total == 500


async def test_a_refresh_that_moves_the_api_domain_mid_call_moves_the_upload_s_file_host(
    tmp_path: Path,
) -> None:
    # The first token says EU; Zoho rejects it and the refreshed one says the US data centre: the
    # retry goes to the US file host, derived from the new token, never to the old one's.
    zipped = tmp_path / "f.zip"
    zipped.write_bytes(b"zip")
    with respx.mock() as router:
        router.post(TOKEN_URL).side_effect = [
            httpx.Response(200, json={**token_body("1000.first"), "api_domain": "https://www.zohoapis.eu"}),
            httpx.Response(200, json=token_body("1000.second")),
        ]
        eu = router.post("https://content.zohoapis.eu/bigin/v2/upload").respond(
            401, json={"code": "INVALID_TOKEN", "message": "x"}
        )
        us = router.post("https://content.zohoapis.com/bigin/v2/upload").respond(200, json={"ok": 1})
        async with make_client() as bigin:
            await bigin.transport.send("POST", "/upload", service="content", upload=Upload(zipped))
    assert eu.call_count == 1 and us.call_count == 1
    assert us.calls.last.request.headers["authorization"] == "Zoho-oauthtoken 1000.second"
    assert eu.calls.last.request.headers["authorization"] == "Zoho-oauthtoken 1000.first"


async def test_paced_by_must_be_a_limiter() -> None:
    transport = Scripted(lambda n, r: ok(b"{}"))
    async with client(transport) as bigin:
        with pytest.raises(ConfigurationError, match="paced_by"):
            await bigin.transport.send("GET", "/x", paced_by=10)  # type: ignore[arg-type]
    assert transport.requests == []


def test_a_refund_after_its_entry_left_the_window_touches_only_the_totals() -> None:
    now = [0.0]
    budget = DailyBudget(None, clock=lambda: now[0])
    entry = budget.spend(500)
    now[0] = DailyBudget.WINDOW + 1.0
    assert budget.spent() == 0
    budget.refund(500, entry)
    assert budget.spent() == 0 and budget.spent_total == 0


async def test_an_absolute_url_carrying_a_user_name_is_refused_even_on_the_api_host() -> None:
    # httpx would send the user name and password as Basic credentials in the token's place.
    transport = Scripted(lambda n, r: ok(b"{}"))
    async with client(transport) as bigin:
        with pytest.raises(ConfigurationError, match="user name or password"):
            await bigin.transport.send("GET", "http://user:s3cret@127.0.0.1/bigin/v2/org")
    assert transport.requests == []


async def test_pieces_already_at_hand_past_the_cap_are_passed_over() -> None:
    response = httpx.Response(
        500,
        stream=Chunks([b"x" * 10, b"y" * 10, b"z" * 10]),
        request=httpx.Request("GET", "http://127.0.0.1/x"),
    )
    capped = await read_capped(response, cap=5)
    assert capped.content == b"xxxxx"


def test_a_file_to_upload_that_is_not_a_path_is_refused() -> None:
    with pytest.raises(ValidationError, match="not a path"):
        upload_file(123)  # type: ignore[arg-type]
