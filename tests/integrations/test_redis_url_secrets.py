"""A Redis password pasted into a URL unencoded never shows, in part or whole.

Base64 keys (Azure Cache for Redis access keys, generated passwords) hold ``/`` and ``+``; other
passwords ``#``, ``?`` or ``@``. A URL parser ends the host at the first ``/``, ``?`` or ``#``, so
such a password is read as host, port or path: redis-py then quotes a piece of it as the "port"
(``Port could not be cast to integer value as 'Zx9'``), and masking that looks for ``@`` in the
parsed host part misses it. No Redis server is needed: every URL here is refused or only built.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from bigin_async import BiginClient, ConfigurationError
from bigin_async._redact import redact_text
from bigin_async.integrations.redis import RedisCoordination
from bigin_async.integrations.redis._urls import safe_url
from tests.helpers.cli import clear_bigin_variables

BASE64_KEY = "Zx9/Qk7+Lm2=="  # as a user pastes an Azure access key: not percent-encoded
CREDENTIALS = {
    "BIGIN_CLIENT_ID": "1000.CID",
    "BIGIN_CLIENT_SECRET": "plainclientsecretvalue",
    "BIGIN_REFRESH_TOKEN": "plainrefreshtokenvalue",
}


def pieces(password: str) -> list[str]:
    """The password and the pieces a parser may cut it into (at '/', '?', '#', '@', ':', '&', '=')."""
    cut = password
    for mark in "/?#@:&=":
        cut = cut.replace(mark, " ")
    return [password, *(piece for piece in cut.split() if len(piece) >= 3)]


def assert_hidden(password: str, text: str) -> None:
    for piece in pieces(password):
        assert piece not in text, f"{piece!r} of the password shows in {text!r}"
        assert quote(piece, safe="") not in text, f"{piece!r} (encoded) shows in {text!r}"


# (url, its password, what safe_url shows): passwords unencoded as users paste them.
HOSTILE = [
    (
        f"rediss://:{BASE64_KEY}@cache.example.net:6380/0",
        BASE64_KEY,
        "rediss://:***@cache.example.net:6380/0",
    ),
    (
        f"rediss://default:{BASE64_KEY}@cache.example.net:6380",
        BASE64_KEY,
        "rediss://default:***@cache.example.net:6380",
    ),
    ("redis://:pa#ssword99@127.0.0.1:6379/0", "pa#ssword99", "redis://:***@127.0.0.1:6379/0"),
    ("redis://:pa?ss=word99@127.0.0.1:6379/0", "pa?ss=word99", "redis://:***@127.0.0.1:6379/0"),
    (
        "redis://:abc?def&ghi=jkl@127.0.0.1:6379/0?db=1",
        "abc?def&ghi=jkl",
        "redis://:***@127.0.0.1:6379/0?db=1",
    ),
    ("redis://:p@ss@w0rd99@127.0.0.1:6379/0", "p@ss@w0rd99", "redis://:***@127.0.0.1:6379/0"),
    ("redis://:x/y?z#w@v!u9@127.0.0.1:6379", "x/y?z#w@v!u9", "redis://:***@127.0.0.1:6379"),
    ("redis://:1234/abcdefgh@cache:6379/0", "1234/abcdefgh", "redis://:***@cache:6379/0"),
    (f"redis://user:{BASE64_KEY}@[::1]:6379/0", BASE64_KEY, "redis://user:***@[::1]:6379/0"),
    (f"unix://:{BASE64_KEY}@/var/run/redis.sock?db=0", BASE64_KEY, "unix://:***@/var/run/redis.sock?db=0"),
    (f"rediss://:{BASE64_KEY}@", BASE64_KEY, "rediss://:***@"),
    (f":{BASE64_KEY}@cache:6380", BASE64_KEY, ":***@cache:6380"),  # no scheme at all
    (f"http://:{BASE64_KEY}@cache:6380/0", BASE64_KEY, "http://:***@cache:6380/0"),  # a wrong scheme
    (
        f"rediss://:{quote(BASE64_KEY, safe='')}@cache.example.net:6380/0",  # encoded, as it should be
        BASE64_KEY,
        "rediss://:***@cache.example.net:6380/0",
    ),
    # The password in the query (redis-py reads it there too), with the marks that cut it.
    (f"redis://127.0.0.1:6379/0?password={BASE64_KEY}", BASE64_KEY, "redis://127.0.0.1:6379/0?password=***"),
    ("redis://127.0.0.1:6379/0?password=s3cr@tvalue9", "s3cr@tvalue9", None),
    (
        "redis://127.0.0.1:6379/0?password=pa#ssword99",
        "pa#ssword99",
        "redis://127.0.0.1:6379/0?password=***#***",
    ),
    (
        "redis://127.0.0.1:6379/0?db=1&password=pa?ss99x",
        "pa?ss99x",
        "redis://127.0.0.1:6379/0?db=1&password=***",
    ),
    ("redis://h:6379/0?password=se:cr/et@x9", "se:cr/et@x9", None),
]


@pytest.mark.parametrize(("url", "password", "shown"), HOSTILE)
def test_safe_url_hides_an_unencoded_password(url: str, password: str, shown: str | None) -> None:
    masked = safe_url(url)
    assert_hidden(password, masked)
    if shown is not None:
        assert masked == shown


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "rediss://cache.example.net:6380/1",
        "unix:///tmp/redis.sock",
        "redis://127.0.0.1:6379/0?client_name=worker-1",
        "redis://[::1]:6379/0",
    ],
)
def test_safe_url_leaves_a_url_without_a_password_alone(url: str) -> None:
    assert safe_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "redis://",
        "redis://[::1",
        "redis://:pw@[zz",
        "redis://%zz@",
        "\x00@\x00",
        "redis://@@@",
        "a" * 10_000 + "@",
    ],
)
def test_safe_url_never_raises(url: str) -> None:
    assert isinstance(safe_url(url), str)


# URLs redis-py cannot read, or would read other than written (its host cut inside the password).
REFUSED = [
    (f"rediss://:{BASE64_KEY}@cache.example.net:6380/0", BASE64_KEY),
    (f"rediss://default:{BASE64_KEY}@cache.example.net:6380", BASE64_KEY),
    ("redis://:pa#ssword99@127.0.0.1:6379/0", "pa#ssword99"),
    ("redis://:pa?ss=word99@127.0.0.1:6379/0", "pa?ss=word99"),
    ("redis://:x/y?z#w@v!u9@127.0.0.1:6379", "x/y?z#w@v!u9"),
    # redis-py reads this one without an error: localhost, port 1234, no password.
    ("redis://:1234/abcdefgh@cache:6379/0", "1234/abcdefgh"),
    (f"unix://:{BASE64_KEY}@/var/run/redis.sock", BASE64_KEY),
    # Python's own URL parser quotes the whole host part, password and all.
    ("redis://:ab\uff0fcdefgh@cache:6379/0", "ab\uff0fcdefgh"),
]


@pytest.mark.parametrize(("url", "password"), REFUSED)
def test_an_unreadable_url_is_refused_without_its_password(url: str, password: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisCoordination(url)
    text = f"{caught.value!s} {caught.value!r}"
    assert_hidden(password, text)
    assert "Port could not be cast" not in text  # redis-py's words quote a piece of the password
    assert "percent-encoded" in text and "quote(password, safe='')" in text


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("redis://:s3cretpassword@cache:port/0", "port"),
        ("redis://:s3cretpassword@cache:99999/0", "port"),
        ("redis://:s3cretpassword@cache:6379/0?socket_timeout=soon", "socket_timeout"),
        ("redis://:s3cretpassword@[::1:6379/0", "IPv6"),
    ],
)
def test_other_unreadable_urls_say_what_is_wrong(url: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words) as caught:
        RedisCoordination(url)
    assert_hidden("s3cretpassword", str(caught.value))


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0?client_name=ops@example.com",  # an '@' in a query value
        "unix:///run/redis/redis@main.sock",  # an '@' in a socket's path
        "unix://:hunter2hunter2@/run/redis.sock",
        "redis://:p@ss@w0rd99@127.0.0.1:6379/0",  # an unencoded '@' is read as written
    ],
)
def test_a_url_with_an_at_sign_elsewhere_is_taken(url: str) -> None:
    RedisCoordination(url)


def test_an_encoded_password_is_taken_and_scrubbed_from_later_errors() -> None:
    """redis-py's errors at run time (AUTH failed, a refused connection) pass through the SDK's
    redaction: the password of an accepted URL is registered, spelled raw and decoded."""
    password = "Qa7/Wx+Rt5==#kept?by@it"
    encoded = quote(password, safe="")
    coordination = RedisCoordination(f"rediss://default:{encoded}@cache.example.net:6380/0")
    assert coordination.url == "rediss://default:***@cache.example.net:6380/0"
    assert_hidden(password, repr(coordination))
    assert_hidden(password, redact_text(f"AUTH failed for default:{password} on cache.example.net"))
    assert encoded not in redact_text(
        f"cannot connect to rediss://default:{encoded}@cache.example.net:6380/0"
    )


def test_a_query_password_is_scrubbed_from_later_errors() -> None:
    RedisCoordination("redis://127.0.0.1:6379/0?password=Mn4/Op8+Kq0==")
    assert "Mn4/Op8" not in redact_text("WRONGPASS Mn4/Op8+Kq0== is not it")
    assert "Mn4/Op8" not in redact_text("WRONGPASS Mn4/Op8 Kq0== is not it")  # as parse_qs decodes '+'


def test_from_env_hides_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_bigin_variables(monkeypatch)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BIGIN_REDIS_URL", f"rediss://:{BASE64_KEY}@cache.example.net:6380/0")
    with pytest.raises(ConfigurationError) as caught:
        BiginClient.from_env()
    assert_hidden(BASE64_KEY, f"{caught.value!s} {caught.value!r}")
    assert "percent-encoded" in str(caught.value)


def test_the_cli_hides_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bigin_async.cli.main import main

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".cache"))
    clear_bigin_variables(monkeypatch)
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    url = f"rediss://:{BASE64_KEY}@cache.example.net:6380/0"
    code = main(["export", "Contacts", "--no-progress", "-o", str(tmp_path / "out.csv"), "--redis", url])
    captured = capsys.readouterr()
    assert code == 2
    assert_hidden(BASE64_KEY, captured.err + captured.out)
    assert "percent-encoded" in captured.err.replace("\n", " ")
