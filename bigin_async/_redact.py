"""Keep secrets out of URLs, headers, exceptions and log lines: the one redaction every part uses.

Tokens travel in headers and, for OAuth calls, in query strings and form bodies, and servers echo
them back: a proxy's error page shows the request, a 400 body repeats the ``Authorization``
header, Zoho's accounts server puts the submitted form in ``error_description``. Anything that may
end up in an exception, a repr or a log record passes through here first, so a secret is caught by
its name (``client_secret=``, ``"refresh_token": ...``, ``Authorization: ...``) or by its shape
(``Zoho-oauthtoken ...``, ``1000.xxxx.yyyy``), in text and in nested structures alike. A secret
echoed with neither ("bad secret abc123...") is caught by its value once it is registered with
:func:`register_secret`.
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from pydantic import AfterValidator

__all__ = [
    "REDACTED",
    "SENSITIVE_KEYS",
    "RedactedTraceback",
    "RedactingFilter",
    "SecretText",
    "SecretTextField",
    "is_secret_key",
    "get_logger",
    "logger",
    "redact_headers",
    "redact_text",
    "redact_url",
    "redact_value",
    "redact_with",
    "register_secret",
    "spellings",
    "without_spellings",
]

# Query and form parameters whose values are secrets (``client_id`` and ``code`` included: a
# grant code is a one-time password, and neither belongs in a log).
SENSITIVE_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "client_id",
        "code",
        "token",
        "authorization",
        "password",
    }
)
REDACTED = "***"
# Nested error details deeper than this are cut, not walked: a hostile body must not cost a crash.
MAX_DEPTH = 32
_TRUNCATED = "[...]"

# A name that holds a secret wherever it appears as a key: a header, a JSON key, a form field.
# ``code`` is not one of them: Zoho's error bodies are full of ``"code": "INVALID_DATA"``.
_SECRET_WORD = r"(?:token|secret|password|passwd|authorization|cookie|api[_-]?key|session)"
_KEY_CHARS = r"A-Za-z0-9_-"
_VALUE = (
    r"""(?P<value>(?P<dq>b?")(?:[^"\\]|\\.)*"|(?P<sq>b?')(?:[^'\\]|\\.)*'"""
    r"""|(?P<scheme>(?:Zoho-oauthtoken|Bearer|Basic|Digest)\s+)?[^\s&,;"'<>(){}\[\]]+)"""
)
# ``Authorization: Zoho-oauthtoken x``, ``"client_secret": "x"``, ``refresh_token=x``,
# ``(b'X-Refresh-Token', b'x')`` (httpcore's header tuples): the key, a separator, the value.
# Linear on hostile text: a key only starts where a run of key characters starts, the secret word
# is looked for once per run, and the run is then taken whole (captured in a lookahead and matched
# again by its group number: an atomic group that Python 3.10 can write; no backtracking into it).
# An error code naming a secret (Bigin's ``INVALID_TOKEN: invalid oauth token``, OAuth's
# ``invalid_token: ...``) is not a key when prose follows it: an unquoted name, a ``:``, then a
# word of letters (not an auth scheme: ``Basic <secret>``) and another word. A value
# (``expired_token: Hx7pQ2mZ9vK4``, any quoted key) is still a secret's.
_REFUSAL = (
    r"(?:invalid|expired|revoked|missing|unknown|bad)[_-][A-Za-z0-9_-]*\s*:\s*"
    r"(?!(?:Zoho-oauthtoken|Bearer|Basic|Digest)\b)[A-Za-z]+\s+[A-Za-z]"
)
# ``key, value`` is a pair in a tuple or a list (httpcore's headers: ``(b'Authorization', b'x')``,
# ``[["authorization", "x"]]``), not where the key is itself a value: in a dict's repr,
# ``'error': 'invalid_token', 'error_description'`` is a value, then the next key. So that form
# needs no ``:`` just before its key (a key starts at its opening quote, never just after it).
_PAIR = re.compile(
    rf"""(?P<key>(?:(?P<valued>(?<=:)|(?<=:\s))|(?<!:)(?<!:\s))(?<![{_KEY_CHARS}])(?<!["'])(?!{_REFUSAL})b?["']?"""
    rf"""(?=[{_KEY_CHARS}]*?{_SECRET_WORD})(?=(?P<run>[{_KEY_CHARS}]+))(?P=run)["']?"""
    rf"""(?:\s*[:=]\s*|(?(valued)(?!)|(?<=["'])\s*,\s*))){_VALUE}""",
    re.IGNORECASE,
)
# Query parameters that are secrets only in ``name=value`` form.
_PARAM = re.compile(r"(?P<key>(?<![A-Za-z0-9_])(?:code|client_id)=)[^&\s\"'<>]+", re.IGNORECASE)
_SCHEME = re.compile(
    r"(?P<scheme>Zoho-oauthtoken\s+)[^\s,;\"'<>]+|(?P<bearer>Bearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE
)
# Zoho's OAuth tokens, grant codes and client ids: ``1000.<hex>.<hex>``, ``1000.<LETTERS>``.
# A number such as ``1000.5`` is not one: a one-part shape needs a letter and six characters.
_ZOHO_SHAPE = re.compile(
    r"(?<![A-Za-z0-9_.-])(?:1000\.(?:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+|(?=[A-Za-z0-9_-]{6})[0-9]*[A-Za-z_-][A-Za-z0-9_-]*)"
    r"|[0-9]{4}\.[0-9a-fA-F]{16,}\.[0-9a-fA-F]{16,})"
)


# Secrets known by value (a client secret, a refresh token, the access tokens minted from it).
# Bounded: the oldest registered value is forgotten first, so a long-lived process that mints a
# token an hour never grows the set (or the cost of redacting) without end. The values a client
# holds for its whole life (``lasting``: its client secret and refresh token) have a bound of
# their own, so hourly access tokens never push them out.
MIN_SECRET_LENGTH = 8
MAX_SECRETS = 64
MAX_LASTING_SECRETS = 1024
# Each value with its spellings (worked out once, at its registration).
_registered: OrderedDict[str, frozenset[str]] = OrderedDict()
_lasting: OrderedDict[str, frozenset[str]] = OrderedDict()
_registered_lock = threading.Lock()
# Longest first, so a secret that contains another is replaced whole. Read without the lock: the
# tuple is replaced, never changed, on registration.
_by_value: tuple[str, ...] = ()


def register_secret(value: str, *, lasting: bool = False) -> None:
    """Redact ``value`` wherever it appears, with or without a name or a known shape around it.

    For the values a client holds (its client secret, refresh token and access tokens): a
    server may echo them with no label, e.g. ``"bad secret abc123..."``. Values shorter than
    eight characters are ignored (they would scrub ordinary words). At most the 64 latest
    values are kept, and apart from them the 1,024 latest ``lasting`` ones (a client's secret
    and refresh token, which live as long as the client: access tokens, minted every hour, do
    not push them out). Safe to call from any thread.
    """
    if not isinstance(value, str):
        raise TypeError(f"register_secret takes a str, not {type(value).__name__}")
    if len(value) < MIN_SECRET_LENGTH:
        return
    global _by_value
    table, bound = (_lasting, MAX_LASTING_SECRETS) if lasting else (_registered, MAX_SECRETS)
    with _registered_lock:
        if value in table:  # known (a token built again from a store): only its place changes
            table.move_to_end(value)
            return
        table[value] = spellings(value)
        while len(table) > bound:
            table.popitem(last=False)
        known_forms = set().union(*_lasting.values(), *_registered.values())
        _by_value = tuple(sorted(known_forms, key=len, reverse=True))


def spellings(value: str) -> frozenset[str]:
    """``value`` and the ways a server may spell it when it echoes it back.

    Percent-encoded (in a URL or a form, upper- or lower-case hex, ``+`` or ``%20`` for a space),
    JSON-escaped (``\\/`` for ``/`` too, as PHP and Java write it), HTML-escaped (an error page)
    and as Python's ``repr`` writes it (a backslash doubled). The one list every scrub by value
    uses (:func:`register_secret`, the OAuth calls' own).
    """
    encoded = {quote(value, safe=""), quote_plus(value)}
    forms = {value, *encoded, *(_lower_hex(form) for form in encoded)}
    as_json = json.dumps(value)[1:-1]
    forms.update((as_json, as_json.replace("/", "\\/"), json.dumps(value, ensure_ascii=False)[1:-1]))
    as_html = html.escape(value, quote=True)
    forms.update((as_html, as_html.replace("&#x27;", "&#39;"), html.escape(value, quote=False)))
    forms.add(repr(value)[1:-1])
    return frozenset(form for form in forms if form)


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda escape: escape.group(0).lower(), encoded)


def _scrub_registered(text: str) -> str:
    """``text`` without any registered value: one C-speed scan of the text per value, no regex."""
    for secret in _by_value:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_with(text: str, secrets: Iterable[str]) -> str:
    """``text`` without tokens: the request's own values wherever they show, then the usual patterns.

    The accounts server may echo what it was sent in ``error_description``, spelt as it travelled
    or as its error page writes it: percent-encoded (a revoked token goes in the query string),
    JSON- or HTML-escaped. Every spelling of every value goes (:func:`~bigin_async._redact.spellings`),
    the longest first so that a value containing another is replaced whole; the values go before
    the patterns, which could otherwise cut a value in two and leave half of it.
    """
    return redact_text(without_spellings(text, secrets, min_length=4))


def without_spellings(text: str, secrets: Iterable[str], *, min_length: int = 1) -> str:
    """``text`` with every spelling of every value in ``secrets`` (at least ``min_length`` long)
    replaced, the longest first, so that a value containing another is replaced whole."""
    forms = {form for secret in secrets if len(secret) >= min_length for form in spellings(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def _redact_pair(match: re.Match[str]) -> str:
    quote = match.group("dq") or match.group("sq")
    if quote:
        return f"{match.group('key')}{quote}{REDACTED}{quote[-1]}"
    return f"{match.group('key')}{match.group('scheme') or ''}{REDACTED}"


def redact_text(text: str) -> str:
    """Scrub tokens from free text (log messages, error bodies echoed back); idempotent."""
    if not text:
        return text
    # Values first: a pattern may stop inside a secret (at a ';' or a quote) and leave its tail.
    text = _scrub_registered(text)
    text = _PAIR.sub(_redact_pair, text)
    text = _PARAM.sub(r"\g<key>" + REDACTED, text)
    text = _SCHEME.sub(lambda m: (m.group("scheme") or m.group("bearer")) + REDACTED, text)
    return _ZOHO_SHAPE.sub(REDACTED, text)


def is_secret_key(key: object) -> bool:
    """Whether a mapping key (header, JSON key, form field) names a secret."""
    if not isinstance(key, str):
        return False
    name = key.lower().replace("-", "_")
    return (name in SENSITIVE_KEYS and name != "code") or re.search(_SECRET_WORD, name) is not None


def redact_value(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` with every secret replaced: strings, mappings (keys and values), sequences.

    A value under a secret key is replaced whatever it is; a ``[name, value]`` pair whose name is
    secret (a header list) likewise. Structures deeper than :data:`MAX_DEPTH` are cut.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, Mapping | list | tuple | set | frozenset) and _depth >= MAX_DEPTH:
        return _TRUNCATED
    if isinstance(value, Mapping):
        return {
            redact_value(key, _depth + 1): REDACTED if is_secret_key(key) else redact_value(item, _depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        if len(value) == 2 and is_secret_key(value[0]):
            items = [redact_value(value[0], _depth + 1), REDACTED]
        else:
            items = [redact_value(item, _depth + 1) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, set | frozenset):
        return [redact_value(item, _depth + 1) for item in value]
    return value


def redact_url(url: str) -> str:
    """The URL with the values of sensitive query parameters (and token shapes anywhere) replaced."""
    if not url:
        return url
    url = _scrub_registered(url)  # before the query is re-encoded (a value may hold '+' or '/')
    if "?" in url:
        parts = urlsplit(url)
        pairs = [
            (key, REDACTED if key.lower() in SENSITIVE_KEYS or is_secret_key(key) else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        url = urlunsplit(parts._replace(query=urlencode(pairs, safe="*,")))
    return redact_text(url)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with secret ones (``Authorization``, cookies, ``*-Token``) replaced, the rest scrubbed."""
    return {k: (REDACTED if is_secret_key(k) else redact_text(v)) for k, v in headers.items()}


class SecretText(str):
    """A ``str`` whose repr hides it: a webhook channel's token, usable and comparable as usual.

    ``token == "abc"``, ``json.dumps``, ``str(token)`` and f-strings see the value; ``repr`` (and so
    the repr of a model, a dataclass, a list or a dict holding it) shows ``'***'``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(REDACTED)


# A pydantic field type: validates as ``str``, kept as :class:`SecretText`.
SecretTextField = Annotated[str, AfterValidator(SecretText)]


class RedactedTraceback(Exception):
    """Stands in, on a log record, for an exception whose traceback held a secret.

    Its text is that traceback written out and redacted: every chained cause and its type are still
    named. It replaces the record's ``exc_info`` because handlers that draw a traceback from the
    exception itself (rich's ``RichHandler(rich_tracebacks=True)``, JSON formatters, error trackers)
    would otherwise print the original texts again.
    """


def _redact_exception(record: logging.LogRecord) -> None:
    """Redact the traceback of ``record``: its ``exc_text`` always, its ``exc_info`` when needed.

    A clean traceback leaves the exception on the record untouched (for error trackers and rich's
    tracebacks); one with a secret in it is written out once, redacted, into ``exc_text`` (which
    ``logging.Formatter`` prints instead of formatting ``exc_info`` again) and ``exc_info`` becomes
    a :class:`RedactedTraceback` telling the same redacted text.
    """
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    exc_info = record.exc_info
    if not exc_info or exc_info[1] is None:
        return
    try:
        text = logging.Formatter().formatException(exc_info)
    except Exception:  # an exception that cannot be written out cannot be checked either: drop it
        record.exc_info = None
        return
    cleaned = redact_text(text)
    if cleaned == text:
        return
    if not record.exc_text:
        record.exc_text = cleaned
    record.exc_info = (RedactedTraceback, RedactedTraceback(cleaned), None)


class RedactingFilter(logging.Filter):
    """Attached to the loggers this SDK and its HTTP stack use, so no handler ever sees a token.

    It cleans the message (its arguments merged in), the traceback of ``exc_info`` (with the texts
    of every chained cause), ``stack_info`` and the SDK's structured fields (the ``bigin_*``
    attributes its records carry as ``extra``). Every record of a ``bigin_async`` logger has at
    least ``bigin_event`` (what happened: ``retry_scheduled``, ``token_refreshed``...; ``message``
    for a record that names none), so a formatter or a JSON handler may always read it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("bigin_async"):
            fields = record.__dict__
            for key, value in fields.items():
                if key.startswith("bigin_") and isinstance(value, str):
                    fields[key] = redact_text(value)
            fields.setdefault("bigin_event", "message")
        _redact_exception(record)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep the record, logging reports it as usual
            return True
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


logger = logging.getLogger("bigin_async")


def get_logger(part: str) -> logging.Logger:
    """The logger of one part of the SDK (``bigin_async.transport``, ``bigin_async.auth``, ...).

    Each gets its own :class:`RedactingFilter`: a logger's filters see only the records logged
    on that logger, not those its children pass up, so a child without one would log secrets.
    ``logging.getLogger("bigin_async")`` still sets the level and handlers of them all.
    """
    child = logging.getLogger(f"bigin_async.{part}")
    _filtered(child)
    return child


def _filtered(target: logging.Logger) -> None:
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())


# A filter only sees records logged on its own logger, not its children's, so each one is named.
# httpx logs every request URL at INFO (OAuth calls: revoke ?token=); httpcore logs response
# headers at DEBUG, and with HTTP/2 (``http2=True``) hpack logs every header it encodes or decodes
# at DEBUG; the emulator's server logs request lines.
_FILTERED_LOGGERS = (
    "bigin_async",
    "bigin_emulator.server.notifier",
    "hpack",
    "hpack.hpack",
    "hpack.table",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "uvicorn.access",
    "uvicorn.error",
)
for _name in _FILTERED_LOGGERS:
    _filtered(logging.getLogger(_name))
