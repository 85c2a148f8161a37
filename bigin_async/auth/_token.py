"""The access token, and the OAuth scopes a consent screen asks for."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bigin_async._config import check_base_url
from bigin_async._redact import register_secret
from bigin_async.errors import ConfigurationError

__all__ = ["SCOPES", "Scope", "Token", "check_credential", "is_time", "stray_character", "unsendable"]


class Scope:
    """Scope names for the consent screen; compose with :func:`authorization_url`."""

    MODULES_ALL = "ZohoBigin.modules.ALL"
    MODULES_READ = "ZohoBigin.modules.READ"
    SETTINGS_ALL = "ZohoBigin.settings.ALL"
    USERS_ALL = "ZohoBigin.users.ALL"
    ORG_ALL = "ZohoBigin.org.ALL"
    COQL_READ = "ZohoBigin.coql.READ"
    NOTIFICATIONS_ALL = "ZohoBigin.notifications.ALL"
    #: Bulk Read jobs (``client.bulk_jobs.create_read``, ``bulk_export``).
    BULK_READ = "ZohoBigin.bulk.READ"
    #: Bulk Write jobs (``client.bulk_jobs.create_write``, ``bulk_import``).
    BULK_CREATE = "ZohoBigin.bulk.CREATE"
    BULK_ALL = "ZohoBigin.bulk.ALL"
    #: Uploads to the data centre's file host (the CSV zip of a Bulk Write job).
    FILES_ALL = "ZohoFiles.files.ALL"
    SEARCH_READ = "ZohoSearch.securesearch.READ"
    BOOKS_FULL = "ZohoBooks.fullaccess.ALL"
    BOOKS_CONTACTS_ALL = "ZohoBooks.contacts.ALL"

    @staticmethod
    def module(module: str, operation: str = "ALL") -> str:
        """``ZohoBigin.modules.contacts.READ`` style scope for one module and operation."""
        return f"ZohoBigin.modules.{module.lower()}.{operation.upper()}"


# What a typical SDK user needs: every module, settings, users, org, search, COQL, and Bulk Read and
# Bulk Write jobs with their file uploads (``bulk_import``/``bulk_export`` choose jobs for large runs).
SCOPES: tuple[str, ...] = (
    Scope.MODULES_ALL,
    Scope.SETTINGS_ALL,
    Scope.USERS_ALL,
    Scope.ORG_ALL,
    Scope.COQL_READ,
    Scope.NOTIFICATIONS_ALL,
    Scope.SEARCH_READ,
    Scope.BULK_ALL,
    Scope.FILES_ALL,
)


@dataclass(frozen=True)
class Token:
    """An access token and when it stops working (epoch seconds, wall clock: shared across processes)."""

    access_token: SecretStr
    expires_at: float | None
    api_domain: str | None = None
    #: How long the token was to live when Zoho minted it (seconds), if known.
    lifetime: float | None = None

    def __post_init__(self) -> None:
        value = self.access_token.get_secret_value()
        # Every token is built here (from the token endpoint, a token file, a custom store's load(),
        # the caller's code): one that could not go in the Authorization header is refused now, as
        # a typed error naming the character, not sent for httpx to fail on with the whole header.
        problem = unsendable(value)
        if problem is not None:
            raise ConfigurationError(f"a Token's {problem}")
        # A server may echo the token with no label around it: scrub it by value everywhere.
        register_secret(value)

    def is_fresh(self, now: float, margin: float) -> bool:
        """Usable without a refresh: more than ``margin`` seconds left, or, for a token whose whole
        life is shorter than twice the margin, still in the first half of its life.

        A token that lives 30 s (a short-lived token from a proxy or the emulator) is inside the
        60 s margin from birth: refreshed before every call, Zoho would block the refresh token
        after ten calls. Its first 15 s are used instead. A token without a known lifetime (an
        older token file, a bare access token) keeps the margin alone.
        """
        if self.expires_at is None:
            return True
        if self.lifetime is not None:
            margin = min(margin, self.lifetime / 2)
        return now < self.expires_at - margin

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "access_token": self.access_token.get_secret_value(),
            "expires_at": self.expires_at,
            "api_domain": self.api_domain,
        }
        if self.lifetime is not None:
            data["lifetime"] = self.lifetime  # absent in older files: from_json reads both
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Token:
        """The token saved by :meth:`to_json`; anything else (a hand-edited or foreign file) raises
        ``ValueError``/``KeyError``/``TypeError`` rather than becoming a token that is sent to Zoho,
        or an ``api_domain`` the token would travel to."""
        access = data["access_token"]
        if not isinstance(access, str) or not access:
            raise ValueError("access_token must be a non-empty string")
        problem = unsendable(access)
        if problem is not None:  # sent, it would fail in httpx with the whole header in the error
            raise ValueError(problem)
        expires = data.get("expires_at")
        if expires is not None and (isinstance(expires, bool) or not isinstance(expires, (int, float))):
            raise ValueError("expires_at must be a number of epoch seconds")
        domain = data.get("api_domain")
        if domain is not None and not isinstance(domain, str):
            raise ValueError("api_domain must be a URL")
        kept: Any = data.get("lifetime")  # a file written before lifetimes were kept has none
        return cls(
            access_token=SecretStr(access),
            expires_at=float(expires) if expires is not None else None,
            api_domain=check_base_url("api_domain (from the token store)", domain) if domain else None,
            lifetime=float(kept) if is_time(kept) and float(kept) > 0 else None,
        )


def is_time(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def stray_character(value: str) -> tuple[int, str] | None:
    """The first character of ``value`` that no token, key or id of Zoho's has: its position
    (counted from 1) and its name (``"U+200B ZERO WIDTH SPACE"``); None when there is none.

    Zoho's tokens, client ids and secrets are printable ASCII without spaces. Anything else is
    a paste error (a zero-width space or a no-break space copied from a web page or a chat, a
    line break) or an odd answer, and an access token with it cannot go in the ``Authorization``
    header at all: httpx fails on it with the whole header, token included, in its error. Only
    the one character is named, never the value around it.
    """
    for index, char in enumerate(value):
        if not "!" <= char <= "~":
            name = unicodedata.name(char, "control character" if ord(char) < 0xA0 else "")
            return index + 1, f"U+{ord(char):04X} {name}".rstrip()
    return None


def unsendable(access_token: str) -> str | None:
    """Why ``access_token`` could not go in the ``Authorization`` header (the character and its
    position, never the value), or None when it can."""
    stray = stray_character(access_token)
    if stray is None:
        return None
    position, char = stray
    return (
        f"access_token cannot be sent in a header: {char} at position {position} of "
        f"{len(access_token)} (the value is not shown)"
    )


def check_credential(name: str, value: str) -> str:
    """``value`` without the whitespace around it, or a :class:`ConfigurationError` naming the
    setting and where a character that cannot be part of it sits (never the value itself).

    The one check every credential given to the SDK passes (``access_token``, ``client_id``,
    ``client_secret``, ``refresh_token``): a stray character is reported here, with the setting to
    paste again, rather than as a refused token later or as a header httpx cannot encode.
    """
    stripped = value.strip()
    if not stripped:
        raise ConfigurationError(f"{name} must be a non-empty string")
    stray = stray_character(stripped)
    if stray is not None:
        position, char = stray
        position += len(value) - len(value.lstrip())  # counted in the value as given
        raise ConfigurationError(
            f"{name} has a character that cannot be part of it: {char} at position {position} of "
            f"{len(value)} (the value itself is not shown); a paste error? Copy {name} again, without it"
        )
    return stripped
