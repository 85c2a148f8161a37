"""The transport remembers what it works out of a repeated path (its parsed URL, its template for
events): the request sent is the one httpx would have built from the str, and a URL with a query
(a signed download link) or a fragment is never remembered."""

from __future__ import annotations

import sys

import httpx
import pytest

from bigin_async import BiginClient
from bigin_async._transport import _described, _described_often, _parsed, _parsed_often
from bigin_async.hooks import describe_path

URLS = [
    "https://www.zohoapis.com/bigin/v2/Contacts",
    "https://www.zohoapis.com/bigin/v2/Contacts/4150868000000624001",
    "https://www.zohoapis.eu:8443/bigin/v2/Contacts/",
    "https://www.zohoapis.com/bigin/v2/Łódź/東京",
    "https://www.zohoapis.com/bigin/v2/a%2Fb/c d",
    "http://127.0.0.1:9/bigin/v2/Contacts",
    "http://[::1]:9/bigin/v2/Contacts",
    "https://WWW.ZOHOAPIS.COM/bigin/v2/Contacts",
]


@pytest.mark.parametrize("url", URLS)
def test_a_remembered_url_is_the_url_httpx_parses(url: str) -> None:
    fresh = httpx.URL(url)
    for _ in range(2):
        parsed = _parsed(url)
        assert isinstance(parsed, httpx.URL)
        assert parsed == fresh and str(parsed) == str(fresh) and parsed.raw_path == fresh.raw_path
        assert parsed.host == fresh.host and parsed.port == fresh.port
    client = httpx.Client()
    assert client.build_request("GET", _parsed(url)).url == client.build_request("GET", url).url


@pytest.mark.parametrize(
    "url", ["https://files.zoho.com/x?token=s3cr3t", "https://www.zohoapis.com/bigin/v2/Contacts#s3cr3t"]
)
def test_a_url_with_a_query_or_fragment_is_not_remembered(url: str) -> None:
    before = _parsed_often.cache_info().currsize
    assert _parsed(url) == url  # left to httpx, which parses it for this request only
    assert _parsed_often.cache_info().currsize == before
    described = _described_often.cache_info().currsize
    assert _described("GET", "/bigin/v2/Contacts?token=s3cr3t") == describe_path(
        "GET", "/bigin/v2/Contacts?token=s3cr3t"
    )
    assert _described("GET", url) == describe_path("GET", url)
    assert _described_often.cache_info().currsize == described
    # No cache anywhere holds the string: its reference count is what it was before the call.
    path = "".join(["/bigin/v2/Contacts?token=", "s3cr3t", str(id(object()))])
    held = sys.getrefcount(path)
    _described("GET", path)
    _parsed("https://www.zohoapis.com" + path)
    assert sys.getrefcount(path) == held


def test_a_url_httpx_refuses_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(httpx.InvalidURL, match="port"):
            _parsed("https://www.zohoapis.com:abc/bigin/v2/Contacts")


@pytest.mark.parametrize(
    "path", ["/bigin/v2/Contacts/1", "/bigin/v2/Contacts/1/Notes", "/bigin/v2/settings/modules"]
)
def test_a_remembered_template_is_describe_path_s(path: str) -> None:
    for method in ("GET", "POST", "DELETE"):
        assert _described(method, path) == describe_path(method, path)
        assert _described(method, path) == describe_path(method, path)


async def test_each_call_goes_to_its_own_url() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        seen.append(str(request.url))
        return httpx.Response(200, json={"data": [{"id": request.url.path.rsplit("/", 1)[1]}]})

    hits = _parsed_often.cache_info().hits
    async with BiginClient(
        client_id="a", client_secret="b", refresh_token="c", transport=httpx.MockTransport(answer)
    ) as bigin:
        for record_id in ("4150868000000624001", "4150868000000624002", "4150868000000624001"):
            record = await bigin.contacts.get(record_id)
            assert record is not None and record.id == record_id
    assert [url.rsplit("/", 1)[1] for url in seen] == [
        "4150868000000624001",
        "4150868000000624002",
        "4150868000000624001",
    ]
    assert all(url.startswith("https://www.zohoapis.com/bigin/v2/Contacts/") for url in seen)
    assert _parsed_often.cache_info().hits > hits  # the third call's URL was the first's
