"""Zoho OAuth 2.0: the token manager, token stores, and the one-off helpers.

Zoho lets one refresh token mint at most 10 access tokens in 10 minutes and then blocks it. So
the manager caches the token, refreshes about a minute before expiry, lets exactly one refresh
run at a time (twenty tasks with an expired token cause one refresh, not twenty, and share its
failure as they would its success), and, through the store's lock, lets processes that share a
token file refresh once between them. See :class:`TokenManager` for how failures are counted.

Import everything from here; the parts are private: ``_token`` (:class:`Token`, :class:`Scope`),
``_stores`` (:class:`MemoryTokenStore`, :class:`FileTokenStore`), ``_refresh``
(:class:`TokenManager`), ``_endpoint`` (Zoho's token endpoint: answers read, errors typed) and
``_grants`` (:func:`authorization_url`, :func:`exchange_code`, :func:`revoke`).
"""

from bigin_async.auth._grants import TokenGrant, authorization_url, exchange_code, revoke
from bigin_async.auth._refresh import TokenManager
from bigin_async.auth._stores import (
    FileTokenStore,
    MemoryTokenStore,
    RefreshFailures,
    RefreshHistory,
    TokenStore,
)
from bigin_async.auth._token import SCOPES, Scope, Token
from bigin_async.errors import RefreshBlockedError

__all__ = [
    "SCOPES",
    "FileTokenStore",
    "MemoryTokenStore",
    "RefreshBlockedError",
    "RefreshFailures",
    "RefreshHistory",
    "Scope",
    "Token",
    "TokenGrant",
    "TokenManager",
    "TokenStore",
    "authorization_url",
    "exchange_code",
    "revoke",
]
