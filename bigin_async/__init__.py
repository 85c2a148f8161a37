"""bigin-async: the async Python SDK for the Zoho Bigin CRM API v2.

One pooled transport per client, a FIFO gate of 10 concurrent calls, a per-minute limiter that
never trips the server, early single-flight OAuth refresh, every data centre, typed errors.
"""

from bigin_async.auth import (
    SCOPES,
    FileTokenStore,
    MemoryTokenStore,
    Scope,
    Token,
    TokenStore,
    authorization_url,
    exchange_code,
    revoke,
)
from bigin_async.client import BiginClient
from bigin_async.config import Edition, Region, resolve_region
from bigin_async.errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BiginConnectionError,
    BiginError,
    BiginTimeoutError,
    BudgetExhaustedError,
    ConfigurationError,
    DuplicateRecordError,
    InvalidRequestError,
    NotFoundError,
    PaginationLimitError,
    PermissionDeniedError,
    RateLimitError,
    RecordError,
    ServerError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "SCOPES",
    "APIError",
    "AmbiguousWriteError",
    "AuthenticationError",
    "BiginClient",
    "BiginConnectionError",
    "BiginError",
    "BiginTimeoutError",
    "BudgetExhaustedError",
    "ConfigurationError",
    "DuplicateRecordError",
    "Edition",
    "FileTokenStore",
    "InvalidRequestError",
    "MemoryTokenStore",
    "NotFoundError",
    "PaginationLimitError",
    "PermissionDeniedError",
    "RateLimitError",
    "RecordError",
    "Region",
    "Scope",
    "ServerError",
    "Token",
    "TokenStore",
    "ValidationError",
    "__version__",
    "authorization_url",
    "exchange_code",
    "resolve_region",
    "revoke",
]
