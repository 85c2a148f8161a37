"""Keep secrets out of URLs, headers and log lines.

Tokens travel in headers and, for OAuth calls, in query strings and form bodies. Anything that
may end up in an exception, a repr or a log record passes through here first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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

_TOKEN_PATTERN = re.compile(r"(Zoho-oauthtoken|Bearer)\s+[^\s,;\"']+", re.IGNORECASE)
_QUERY_PATTERN = re.compile(
    r"((?:access_token|refresh_token|client_secret|client_id|code|token)=)[^&\s\"']+", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """The URL with the values of sensitive query parameters replaced."""
    if not url or "?" not in url:
        return url
    parts = urlsplit(url)
    pairs = [
        (key, REDACTED if key.lower() in SENSITIVE_KEYS else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="*,")))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SENSITIVE_KEYS else v) for k, v in headers.items()}


def redact_text(text: str) -> str:
    """Scrub tokens from free text (log messages, error bodies echoed back)."""
    return _QUERY_PATTERN.sub(r"\1" + REDACTED, _TOKEN_PATTERN.sub(r"\1 " + REDACTED, text))


class RedactingFilter(logging.Filter):
    """Attached to the ``bigin_async`` logger so no handler ever sees a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


logger = logging.getLogger("bigin_async")
# httpx logs every request URL at INFO; OAuth calls (revoke ?token=) would put secrets there.
for _name in ("bigin_async", "httpx"):
    _target = logging.getLogger(_name)
    if not any(isinstance(f, RedactingFilter) for f in _target.filters):
        _target.addFilter(RedactingFilter())
