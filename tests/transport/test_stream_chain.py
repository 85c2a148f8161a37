"""A streamed download cut after some bytes: its error chains httpx's without the request.

The ``BiginError`` a broken ``FileStream`` raises says how far it got; its cause is httpx's
exception, which holds the request it was raised for, ``Authorization`` header and all. What is
chained is a copy without it (the lower chain kept, its tracebacks dropped), as for every call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from anyio.abc import ByteStream

from bigin_async import BiginClient, BiginError
from tests.auth.test_secret_echoes import assert_chain_is_clean
from tests.transport.test_file_stream import head
from tests.transport.test_upload_download import Seen, Server, client, running

TOKEN = "plainstreamaccessvalue0123"


class _Broken(httpx.AsyncByteStream):
    """100 bytes of a 200 000-byte body, then the connection resets."""

    def __init__(self, request: httpx.Request) -> None:
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"x" * 100
        await anyio.sleep(0.01)
        raise httpx.ReadError("connection reset", request=self.request)

    async def aclose(self) -> None:
        pass


class _Short(_Broken):
    """100 bytes of a 200 000-byte body, then the body ends: cut short."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"x" * 100


def _answer(stream: type[_Broken]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": "application/pdf", "Content-Length": "200000"}
        return httpx.Response(200, headers=headers, stream=stream(request))

    return httpx.MockTransport(handler)


def _check(error: BiginError, kind: type[httpx.RequestError]) -> None:
    assert "broke off after 100 bytes" in str(error), error
    cause = error.__cause__
    assert isinstance(cause, kind), repr(cause)
    assert "attachments" in str(cause.request.url).lower()  # where it went, without the header
    assert "authorization" not in cause.request.headers
    assert_chain_is_clean(error, TOKEN)


@pytest.mark.parametrize(
    ("stream", "kind"), [(_Broken, httpx.ReadError), (_Short, httpx.RemoteProtocolError)]
)
async def test_a_broken_stream_chains_no_request(
    stream: type[_Broken], kind: type[httpx.RequestError]
) -> None:
    async with BiginClient(access_token=TOKEN, max_retries=0, transport=_answer(stream)) as bigin:
        with pytest.raises(BiginError) as raised:
            async with bigin.transport.open_stream("GET", "/Contacts/1/Attachments/2") as body:
                async for _ in body:
                    pass
    _check(raised.value, kind)


async def test_a_broken_attachment_download_chains_no_request() -> None:
    async with BiginClient(access_token=TOKEN, max_retries=0, transport=_answer(_Broken)) as bigin:
        with pytest.raises(BiginError) as raised:
            async with bigin.contacts.attachments("1").download("2") as body:
                async for _ in body:
                    pass
    _check(raised.value, httpx.ReadError)


async def test_a_download_cut_on_the_socket_chains_no_request() -> None:
    async def half(n: int, seen: Seen, stream: ByteStream) -> None:
        await stream.send(head(300_000) + b"x" * 100_000)

    async with running(Server(half)) as url, client(url, access_token=TOKEN, max_retries=0) as bigin:
        with pytest.raises(BiginError, match="broke off after") as raised:
            async with bigin.transport.open_stream("GET", "/files") as body:
                async for _ in body:
                    pass
    assert isinstance(raised.value.__cause__, httpx.RemoteProtocolError)
    assert_chain_is_clean(raised.value, TOKEN)
