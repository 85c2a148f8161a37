"""``content_domain`` is the file host: an upload URL given in its place is refused at construction.

Before, ``--content-domain http://127.0.0.1:PORT/bigin/v2/upload`` (the "file host" line the
emulator prints) was taken as it was, and every Bulk Write part went to
``.../bigin/v2/upload/bigin/v2/upload``: all rows failed with INVALID_URL_PATTERN after the upload.
"""

from __future__ import annotations

import pytest

from bigin_async import BiginClient, ConfigurationError


@pytest.mark.parametrize("tail", ["/bigin/v2/upload", "/bigin/v2/upload/", "/bigin/v2"])
def test_an_upload_url_as_content_domain_is_refused_naming_the_host(tail: str) -> None:
    with pytest.raises(ConfigurationError, match=r"file host alone.*'http://127\.0\.0\.1:9000'"):
        BiginClient(access_token="t", content_domain=f"http://127.0.0.1:9000{tail}")


@pytest.mark.parametrize(
    "domain", ["https://content.zohoapis.eu", "http://127.0.0.1:9000", "http://127.0.0.1:9000/files"]
)
def test_a_host_with_or_without_a_prefix_of_its_own_is_taken(domain: str) -> None:
    client = BiginClient(access_token="t", content_domain=domain)
    assert client.config.content_domain == domain
