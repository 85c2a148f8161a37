"""The access token, and the OAuth scopes a consent screen asks for."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bigin_async._config import check_base_url
from bigin_async._redact import register_secret

__all__ = ["SCOPES", "Scope", "Token", "is_time"]


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
        # A server may echo the token with no label around it: scrub it by value everywhere.
        register_secret(self.access_token.get_secret_value())

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
