"""A Redis URL as errors and logs may show it: its passwords hidden, its problems in words.

A URL is what a user pastes from a cloud console, often with the password unencoded (a base64
key holds ``/``: Azure Cache for Redis), where a URL parser (redis-py's among them) reads a piece
of the password as the host or port. Nothing here quotes any part of a URL's user part.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, unquote_plus, urlencode

import redis.connection

from bigin_async._redact import is_secret_key, register_secret, without_spellings

__all__ = ["register_url_secrets", "safe_url", "url_problem"]


# The marks that end a URL's host part: a password holding one, unencoded, is cut there.
_HOST_ENDS = "/?#"
# A user name holding one of these is no user name but a piece of the host, path or query.
_NOT_A_USER = "/?#@&=:"
# The query options a '@' may stand in (``client_name=ops@example.com``): redis-py's own.
_QUERY_OPTIONS = frozenset(
    {
        "client_name",
        "host",
        "lib_name",
        "lib_version",
        "password",
        "path",
        "port",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_cert_reqs",
        "ssl_certfile",
        "ssl_ciphers",
        "ssl_keyfile",
        "ssl_password",
        "username",
        *redis.connection.URL_QUERY_ARGUMENT_PARSERS,
    }
)
_ENCODE_HINT = (
    "a password holding '/', '?', '#' or '@' must be percent-encoded in the URL: "
    "urllib.parse.quote(password, safe='')"
)


def safe_url(url: str) -> str:
    """The URL without its password (``redis://:secret@host`` → ``redis://:***@host``), wherever
    redis-py reads one: the user part, or the query (``redis://host/0?password=secret``).

    A password pasted unencoded (a base64 key holds ``/``: Azure Cache for Redis) ends the host
    part early for a URL parser, so the user part is taken as everything up to the last ``@``
    when the URL reads so (see :func:`url_problem`). A fragment, meaningless to Redis and most
    often the tail of a password cut at its ``#``, goes too. Never raises: it is what errors show.
    """
    try:
        return _masked(url)
    except Exception:  # noqa: BLE001 - it explains other errors: it must not raise one of its own
        return "<unparseable Redis URL>"


def _masked(url: str) -> str:
    scheme, sep, body = url.partition("://")
    prefix = f"{scheme}{sep}" if sep else ""
    body = body if sep else url
    cut = not sep or _password_cuts_host(url)
    if cut:  # the user part runs to the last '@', whatever it holds
        user_info, at, tail = body.rpartition("@")
    else:  # as redis-py reads it: the user part ends the host part
        netloc, after = _split_netloc(body)
        user_info, at, host = netloc.rpartition("@")
        tail = host + after
    head = prefix
    if at:
        user = user_info.partition(":")[0]
        head += f"{'' if any(mark in user for mark in _NOT_A_USER) else user}:***@"
    # Edited as text, not rebuilt: ``unix:///path`` keeps its slashes, a bad port its spelling.
    shown = _masked_tail(tail)
    if cut and sep:
        # What a parser reads as query secrets or fragment may run on past that last '@'
        # (``?password=s3cr@t``): none of it shows, in any spelling.
        after = _split_netloc(body)[1]
        shown = without_spellings(shown, _pieces(_query_secrets(after)))
    return head + shown


def _masked_tail(tail: str) -> str:
    """``host[:port][/path][?query][#fragment]`` with secret query values and the fragment hidden."""
    before_fragment, hash_, fragment = tail.partition("#")
    shown, ask, query = before_fragment.partition("?")
    if ask:
        pairs = parse_qsl(query, keep_blank_values=True)
        hidden = urlencode([(key, "***" if is_secret_key(key) else v) for key, v in pairs], safe="*")
        shown = f"{shown}?{hidden}"
    if hash_:
        shown += "#***" if fragment else "#"
    return shown


def _split_netloc(body: str) -> tuple[str, str]:
    """``body`` (the URL after ``://``) cut where a URL parser ends the host part."""
    end = min((at for at in map(body.find, _HOST_ENDS) if at >= 0), default=len(body))
    return body[:end], body[end:]


def _password_cuts_host(url: str) -> bool:
    """Whether an ``@`` after the host part, as a URL parser cuts it, ends a password holding
    ``/``, ``?`` or ``#`` unencoded: redis-py would take a piece of the password for the host or
    port (and connect elsewhere, without it). An ``@`` in a ``unix://`` socket's path, or in the
    value of a query option after a real host (``?client_name=ops@example.com``), is not one."""
    scheme, sep, body = url.partition("://")
    if not sep:
        return False
    netloc, after = _split_netloc(body)
    if "@" not in after:
        return False
    if scheme.lower() == "unix":  # its host part is empty or a user part only
        return netloc != "" and "@" not in netloc
    before_fragment, _, fragment = after.partition("#")
    path, _, query = before_fragment.partition("?")
    if "@" in path or "@" in fragment:  # a database number never holds one; a fragment is unused
        return True
    host = netloc.rpartition("@")[2]
    port = host.rpartition("]")[2].partition(":")[2]
    if host.startswith(":") or re.fullmatch(r"[0-9]*", port) is None:  # no host, or no port
        return True
    for pair in query.split("&"):
        key, equals, _ = pair.partition("=")
        if "@" in pair and ("@" in key or not equals or key not in _QUERY_OPTIONS):
            return True
    return False


def _query_secrets(after: str) -> list[str]:
    """The values redis-py would take as secrets from the query of ``after`` (the URL past its
    host part), raw and decoded, and the fragment when it cut the last of them (``password=pa#ss``)."""
    before_fragment, _, fragment = after.partition("#")
    query = before_fragment.partition("?")[2]
    found: list[str] = []
    secret = False
    for pair in query.split("&"):
        key, equals, raw = pair.partition("=")
        secret = bool(equals) and is_secret_key(unquote_plus(key))
        if secret:
            found.extend((raw, unquote_plus(raw), unquote(raw)))
    if fragment and secret:  # the '#' cut the last value, a secret: the rest of it is here
        found.append(fragment)
    return found


def _pieces(secrets: list[str]) -> set[str]:
    """Each secret and the pieces a parser may cut it into: none of them may show."""
    found: set[str] = set()
    for secret in secrets:
        found.add(secret)
        found.update(piece for piece in re.split(r"[/?#@:&=]", secret) if len(piece) >= 3)
    return {piece for piece in found if piece}


def url_problem(url: str) -> str | None:
    """Why redis-py cannot use ``url``, in words that quote no part of its user part (None when
    it can).

    redis-py's own messages quote what it read as the port, and Python's URL parser the whole
    host part: with a password pasted unencoded, pieces of the password. Those are described
    here instead; any other message is scrubbed of the user part in every spelling.
    """
    if _password_cuts_host(url):
        return (
            "its user part holds a '/', '?' or '#' that is not percent-encoded, so the host "
            f"would be read from inside the password; {_ENCODE_HINT}"
        )
    try:
        redis.connection.parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as bad:
        return _described(str(bad), url)
    return None


def _described(message: str, url: str) -> str:
    if message.startswith("Port "):
        return "its port is not a whole number from 0 to 65535"
    if message == "Invalid IPv6 URL":
        return "its host has a '[' without its ']' (an IPv6 host is written [::1])"
    option = re.fullmatch(r"Invalid value for '(\w+)' in connection URL\.", message)
    if option is not None:
        return f"redis-py cannot read the value of its {option.group(1)} option"
    body = url.partition("://")[2] or url
    user_info, at, _ = body.rpartition("@")
    if not at:
        return message
    secrets = {user_info, *user_info.split(":", 1)}
    message = without_spellings(message, _pieces([*secrets, *(unquote(s) for s in secrets)]))
    return f"{message}; {_ENCODE_HINT}"


def register_url_secrets(url: str) -> None:
    """Redact the passwords of an accepted URL everywhere, raw and decoded, for as long as the
    process lives: redis-py's own errors at run time (AUTH failed, a refused connection) may echo
    them, and they reach logs and errors through the SDK's redaction."""
    scheme, sep, body = url.partition("://")
    if not sep:
        return
    netloc, after = _split_netloc(body)
    user_info, at, _ = netloc.rpartition("@")
    found = _query_secrets(after)
    if at:
        password = user_info.partition(":")[2]
        found.extend((password, unquote(password)))
    for secret in found:
        if secret:
            register_secret(secret, lasting=True)
