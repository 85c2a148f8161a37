"""The exception hierarchy: one base class, subclasses by meaning, never by accident of transport.

Users catch by meaning (``except NotFoundError``) and still get the server's own ``code``: Zoho
adds codes over time, so an unknown code maps by HTTP status and keeps its code instead of
crashing. Every message is built from redacted parts: no token or secret ever reaches an
exception's text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from bigin_async._json import decode_or_none
from bigin_async._redact import redact_headers, redact_text, redact_url, redact_value

if TYPE_CHECKING:  # for the annotation only: bulk.results imports this module
    from bigin_async.bulk.results import BulkResult

__all__ = [
    "AmbiguousUploadError",
    "AmbiguousWriteError",
    "APIError",
    "AuthenticationError",
    "BiginConnectionError",
    "BiginError",
    "BiginTimeoutError",
    "BooksAuthenticationError",
    "BooksDuplicateError",
    "BooksError",
    "BooksNotFoundError",
    "BooksOrganizationError",
    "BooksPermissionError",
    "BooksValidationError",
    "BudgetExhaustedError",
    "BulkAbortedError",
    "BulkJobError",
    "BulkJobFailedError",
    "BulkWriteError",
    "ConfigurationError",
    "CoordinationError",
    "DuplicateRecordError",
    "FileTooLargeError",
    "InvalidCriteriaError",
    "InvalidNotificationError",
    "InvalidModuleError",
    "InvalidRequestError",
    "RecordNotFoundError",
    "JournalError",
    "NotFoundError",
    "NotificationTokenError",
    "PaginationLimitError",
    "PermissionDeniedError",
    "RateLimitError",
    "RecordError",
    "RefreshBlockedError",
    "ServerError",
    "UnreadableAnswerError",
    "UsageError",
    "ValidationError",
    "error_class",
    "error_from_body",
    "error_from_response",
    "parse_retry_after",
]


class BiginError(Exception):
    """Base of everything this SDK raises on purpose.

    Its arguments are redacted on the way in (see :mod:`bigin_async._redact`), so ``str``,
    ``repr`` and ``args`` of any SDK error never show a token, whatever text a server echoed.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact_value(arg) for arg in args))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its class, args and attributes, not by calling __init__ again: most
        # subclasses take keyword-only arguments (APIError's status_code), which the default
        # reduction of an exception cannot pass, so an error could not cross to another process
        # (multiprocessing, a process pool) before.
        return (_restore_error, (type(self), self.args, self.__dict__))


def _restore_error(cls: type[BiginError], args: tuple[object, ...], state: dict[str, Any]) -> BiginError:
    """Rebuild a pickled SDK error (see :meth:`BiginError.__reduce__`): already redacted, as it was."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigurationError(BiginError, ValueError):
    """A client setting is missing or wrong; raised at construction, before anything is sent."""


class ValidationError(BiginError, ValueError):
    """Bad input refused before it was sent (an id that is not digits, an empty record, ...)."""


class FileTooLargeError(ValidationError):
    """A file larger than Zoho takes (20 MB an attachment or a Files API file), refused before sending.

    ``filename`` is the file's name as it would be uploaded, ``size`` its bytes and ``limit`` the
    most the endpoint takes: split or compress the file, or share it as a link
    (``attachments(id).attach_link(url)``).
    """

    def __init__(self, message: str, *, filename: str, size: int, limit: int) -> None:
        super().__init__(message)
        self.filename = filename
        self.size = size
        self.limit = limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_too_large, (self.args[0], self.filename, self.size, self.limit))


def _rebuild_too_large(message: str, filename: str, size: int, limit: int) -> FileTooLargeError:
    return FileTooLargeError(message, filename=filename, size=size, limit=limit)


class InvalidCriteriaError(ValidationError):
    """A criteria that cannot be sent: a bad field name, an empty ``in`` list, an odd value."""


class UsageError(Exception):
    """A mistake on the ``bigin`` command line or in the input file's shape: exit code 2, nothing sent."""


class InvalidNotificationError(BiginError):
    """An incoming notification body is not one Bigin would send (not JSON, keys missing, ...).

    Raised by :func:`bigin_async.webhooks.parse_notification`: answer the POST with 400 and act
    on nothing in it.
    """


class NotificationTokenError(InvalidNotificationError):
    """The notification's token does not match the channel's: it is not from Bigin (or not ours).

    Answer the POST with 401 or 403 and do nothing else: only Bigin knows the ``token`` the
    channel was enabled with.
    """


class JournalError(ConfigurationError):
    """A bulk write's journal file cannot be trusted or written: damaged, not a journal, in use by
    another run, or the disk refused a write.

    Raised before anything is sent when the file is damaged or in use; raised mid-run when a write
    or sync fails, after the batches already at the server have finished and been logged (no
    batch is ever sent without its line on disk). ``line`` is the line at fault (1 is the header),
    ``path`` the file. The SDK never guesses past damage: resuming from a misread journal could
    send records again (duplicates) or skip records that were never written.
    """

    def __init__(self, message: str, *, path: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class BulkWriteError(BiginError):
    """Some records of a bulk write failed or have an unknown fate (see ``result``)."""

    def __init__(self, message: str, result: BulkResult) -> None:
        super().__init__(message)
        self.result = result


class BulkAbortedError(BulkWriteError):
    """The bulk write stopped early (e.g. the token was revoked, the daily budget ran out).

    ``result`` holds every outcome up to the stop; records after ``result.total`` were never
    read from the input, so nothing was sent for them.
    """


class BulkJobError(BiginError):
    """A Bulk Read or Bulk Write job cannot give what was asked (no result to download yet, ...).

    ``job_id`` and ``state`` (as Zoho sent it) say which job and where it stood; ``job`` is the
    job as last read (a ``BulkWriteJob`` or ``BulkReadJob``), when there is one.
    """

    def __init__(
        self, message: str, *, job_id: str | None = None, state: str | None = None, job: Any = None
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.state = state
        self.job = job


class BulkJobFailedError(BulkJobError):
    """The job ended FAILED on Zoho's side: it will not move again and has no result.

    Its credits (500 a write job, 50 a read job) are spent. For a write job nothing says which
    records were applied before it failed: re-run it as an upsert on a unique field to be safe.
    """


class UnreadableAnswerError(ValueError):
    """A success status whose body is not a readable write answer (cut off, not JSON)."""


class BudgetExhaustedError(BiginError):
    """The daily credit budget would fall below ``min_calls_remaining``: the call was not sent."""

    def __init__(self, message: str, *, remaining: int, resets_in: float | None = None) -> None:
        super().__init__(message)
        self.remaining = remaining
        self.resets_in = resets_in


class CoordinationError(BiginError):
    """The coordinator that shares the org's limits and token between processes (Redis) could not
    be reached or failed, and the client was told to fail rather than guess (``on_redis_down="fail"``,
    the default): nothing was sent, so no process can overrun the org's limits meanwhile.

    ``url`` is the coordinator's address without its password; ``operation`` says what the client
    was doing ("gate", "pace", "finish", "token", ...). Start Redis again, or pass
    ``on_redis_down="local"`` to fall back to this process's share of the limits.
    """

    def __init__(self, message: str, *, url: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.url = url
        self.operation = operation


class PaginationLimitError(BiginError):
    """A listing reached a server-side wall (e.g. search stops at 2,000 records) with more left."""


class BiginConnectionError(BiginError):
    """The connection failed (connect error, dropped connection); wraps httpx's exception."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.url = redact_url(url)


class BiginTimeoutError(BiginConnectionError):
    """A timeout fired (connect, read, pool, or the deadline over all attempts)."""


class AmbiguousWriteError(BiginError):
    """A write may or may not have been applied: the request went out and no answer came back.

    Raised for plain inserts after a read timeout, a dropped connection or a 5xx: re-sending
    could create duplicates, so the SDK never does. ``records`` are the records whose fate is
    unknown; re-send them with an upsert on a unique field to be safe.
    """

    def __init__(self, message: str, *, records: Sequence[Any] = (), method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.records: list[Any] = list(records)
        self.method = method
        self.url = redact_url(url)


class AmbiguousUploadError(AmbiguousWriteError):
    """A call of ``client.files.upload`` went out and its answer was lost: its files may be stored.

    Several files are sent in calls of 10, one after another; when one call's answer is lost the
    SDK does not send it again (it would store its files twice) and sends none of the calls after
    it. What is known then, in input order: ``uploaded`` holds the files of the calls answered
    before (the first ``len(uploaded)`` files given, with their ids: use them), ``records`` the
    files of the lost call (their fate unknown: upload them again for ids you know; a stored file
    no record names is only unused space), and ``not_sent`` the files after it, never sent.
    """

    def __init__(
        self,
        message: str,
        *,
        uploaded: Sequence[Any],
        records: Sequence[Any],
        not_sent: Sequence[Any],
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, records=records, method=method, url=url)
        self.uploaded: list[Any] = list(uploaded)  # UploadedFile (models import this module)
        self.not_sent: list[Any] = list(not_sent)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes: pickle's default would call the class with the message alone.
        state = (self.args[0], self.uploaded, self.records, self.not_sent, self.method, self.url)
        return (_rebuild_ambiguous_upload, state)


def _rebuild_ambiguous_upload(
    message: str,
    uploaded: list[Any],
    records: list[Any],
    not_sent: list[Any],
    method: str,
    url: str,
) -> AmbiguousUploadError:
    return AmbiguousUploadError(
        message, uploaded=uploaded, records=records, not_sent=not_sent, method=method, url=url
    )


class APIError(BiginError):
    """The server answered with an error: HTTP status, Zoho ``code``, ``message`` and ``details``."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
        method: str = "",
        url: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        # A server may echo the request (its Authorization header, the OAuth form) in any of these.
        self.message = redact_text(message)
        self.status_code = status_code
        self.code = redact_text(code) if code is not None else None
        self.details: dict[str, Any] = redact_value(dict(details or {}))
        self.method = method
        self.url = redact_url(url)
        self.headers: dict[str, str] = redact_headers(headers or {})
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        code = f"{self.code}: " if self.code else ""
        details = f" details={self.details}" if self.details else ""
        return f"HTTP {self.status_code} {code}{self.message}{where}{details}"


class AuthenticationError(APIError):
    """The token is invalid, expired or revoked, or the OAuth server refused the credentials."""


class RefreshBlockedError(AuthenticationError):
    """Refreshing the access token may not be tried again for ``retry_after`` seconds (until
    ``retry_at``, epoch seconds).

    Zoho lets a refresh token mint 10 access tokens in 10 minutes and then answers "Access Denied"
    for its window (``code`` "Access Denied"); the client also stops itself before that count
    (``code`` "REFRESH_LIMIT"). Asking again sooner only keeps the block going, so every call
    gets this error at once, without a request, until the time has come.
    """

    def __init__(self, message: str, *, retry_at: float, retry_after: float, **kwargs: Any) -> None:
        self.retry_at = retry_at
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class PermissionDeniedError(APIError):
    """The user or the token's scopes do not allow this (NO_PERMISSION, OAUTH_SCOPE_MISMATCH)."""


class NotFoundError(APIError):
    """No such record or URL (RECORD_NOT_FOUND, INVALID_URL_PATTERN, or a 204 on get by id).

    Also an update or a delete of one record whose id is not there (never created, or deleted),
    raised as its subclass :class:`RecordNotFoundError`: Bigin answers those ``INVALID_DATA`` "the
    id given seems to be invalid", and ``code`` and ``details`` keep that. A bulk update or delete
    reports such an id as a failed outcome instead.
    """


class InvalidRequestError(APIError):
    """The request or its data is malformed (INVALID_DATA, MANDATORY_NOT_FOUND, INVALID_MODULE...)."""


class InvalidModuleError(InvalidRequestError):
    """Bigin has no module of that name in this org (INVALID_MODULE): a typo, or a module not enabled.

    Every further call naming the module would fail the same way, so a bulk write stops at the
    first one (``BulkAbortedError`` from it) instead of sending the rest of its input.
    """


class RecordNotFoundError(NotFoundError, InvalidRequestError):
    """An update or a delete of one record whose id is not there (never created, or deleted).

    A :class:`NotFoundError` (what it means, as for ``get``; FastAPI's handlers answer 404) and
    still the :class:`InvalidRequestError` it was raised as before (Zoho answers
    ``INVALID_DATA``), so code written as ``except InvalidRequestError`` around an update keeps
    catching it. ``code`` and ``details`` are Zoho's.
    """


class DuplicateRecordError(InvalidRequestError):
    """A unique field clashes with an existing record; ``existing_id`` names that record."""

    @property
    def existing_id(self) -> str | None:
        """The existing record's id, or ``None`` if Zoho did not say.

        Zoho's answers put it in ``details.id``, or (newer ones) in ``details.duplicate_record.id``
        beside that record's module and owner; ``details.id`` is read first.
        """
        value = self.details.get("id")
        if value is None:
            record = self.details.get("duplicate_record")
            value = record.get("id") if isinstance(record, Mapping) else None
        return str(value) if value is not None else None


class RateLimitError(APIError):
    """Too many requests; ``retry_after`` is the server's advised wait in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(APIError):
    """A 5xx answer: the server failed, the request may be retried if it is idempotent."""


class RecordError(APIError):
    """One record of a write failed; raised by single-record writes with the server's entry."""


# Zoho Books answers ``{"code": 0, ...}`` on success and a numeric code otherwise (mapped by
# :func:`bigin_async.books.errors.books_error`). Each Books error is also the matching Bigin
# error class (``BooksNotFoundError`` is a ``NotFoundError``), so one ``except`` handles both
# products; ``books_code`` keeps Books' own number.


class BooksError(APIError):
    """Zoho Books refused the call; ``books_code`` is its numeric code."""

    @property
    def books_code(self) -> int | None:
        try:
            return int(self.code) if self.code is not None else None
        except ValueError:
            return None


class BooksAuthenticationError(BooksError, AuthenticationError):
    """The token was refused (code 57, HTTP 401); the client refreshes once before raising this."""


class BooksPermissionError(BooksError, PermissionDeniedError):
    """The token lacks a Books scope (``ZohoBooks.contacts.ALL`` or ``ZohoBooks.fullaccess.ALL``)."""


class BooksNotFoundError(BooksError, NotFoundError):
    """No such contact (code 1002) or URL."""


class BooksValidationError(BooksError, InvalidRequestError):
    """The request or its data was refused (a missing contact_name, a bad value, ...)."""


class BooksDuplicateError(BooksValidationError):
    """A contact with that ``contact_name`` exists already (code 3062): Books names are unique."""


class BooksOrganizationError(BooksValidationError):
    """``organization_id`` is missing or names an organization the token cannot reach."""


_BY_CODE: dict[str, type[APIError]] = {
    "INVALID_TOKEN": AuthenticationError,
    "AUTHENTICATION_FAILURE": AuthenticationError,
    "OAUTH_SCOPE_MISMATCH": PermissionDeniedError,
    "NO_PERMISSION": PermissionDeniedError,
    "RECORD_NOT_FOUND": NotFoundError,
    "INVALID_URL_PATTERN": NotFoundError,
    "INVALID_MODULE": InvalidModuleError,
    "INVALID_DATA": InvalidRequestError,
    "MANDATORY_NOT_FOUND": InvalidRequestError,
    "REQUIRED_PARAM_MISSING": InvalidRequestError,
    "INVALID_REQUEST": InvalidRequestError,
    "INVALID_REQUEST_METHOD": InvalidRequestError,
    "INVALID_QUERY": InvalidRequestError,
    "DUPLICATE_DATA": DuplicateRecordError,
    "RATE_LIMIT_EXCEEDED": RateLimitError,
    "TOO_MANY_REQUESTS": RateLimitError,
    # LIMIT_EXCEEDED is not here on purpose: with a 400 it means too many records or fields in
    # one call (the request's fault, an InvalidRequestError); with a 429 the status makes it a
    # RateLimitError.
}


def _class_for_status(status: int) -> type[APIError]:
    if status == 429:
        return RateLimitError
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status >= 500:
        return ServerError
    if status >= 400:
        return InvalidRequestError
    return APIError


def error_class(code: str | None, status: int) -> type[APIError]:
    """Pick the class by Zoho code first (the meaning), else by HTTP status."""
    if code and code in _BY_CODE:
        return _BY_CODE[code]
    return _class_for_status(status)


def parse_retry_after(headers: Mapping[str, str], now_epoch: float | None = None) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds) or ``X-RateLimit-Reset`` (epoch seconds).

    Fractions are kept: a wait that rounds down to 0 s is how other SDKs retry too early. The
    headers may come from a proxy as well as from Zoho: a value that is not a finite number or a
    date (``1e400`` reads as infinity, ``nan``, a date past the year 9999) is unreadable and gives
    None, never an infinite wait nor an exception.
    """
    import time

    now = now_epoch if now_epoch is not None else time.time()
    raw = headers.get("retry-after") or headers.get("Retry-After")
    if raw:
        seconds = _finite(raw)
        if seconds is None:
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(raw).timestamp()
            except (TypeError, ValueError, OverflowError, IndexError, OSError):
                return None
            seconds = when - now
        return max(0.0, seconds) if math.isfinite(seconds) else None
    reset = headers.get("x-ratelimit-reset") or headers.get("X-RateLimit-Reset")
    if reset:
        value = _finite(reset)
        if value is None:
            return None
        # Epoch seconds (or milliseconds) in the future; a small number is already a delta.
        if value > 1e12:
            value /= 1000.0
        return max(0.0, value - now) if value > 1e9 else max(0.0, value)
    return None


def _finite(text: str) -> float | None:
    """``text`` as a finite number of seconds, or None (``inf``, ``nan``, ``1e400``, not a number)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def error_from_body(
    status: int,
    body: Any,
    *,
    method: str = "",
    url: str = "",
    headers: Mapping[str, str] | None = None,
    fallback_text: str = "",
) -> APIError:
    """Build the typed error for a Zoho error body (request-level or the first failed entry)."""
    code: str | None = None
    message = ""
    details: Mapping[str, Any] = {}
    entry: Any = body
    if isinstance(body, Mapping) and "code" not in body:
        for key in ("data", "watch"):
            items = body.get(key)
            if isinstance(items, list) and items and isinstance(items[0], Mapping):
                entry = items[0]
                break
    if isinstance(entry, Mapping):
        raw_code = entry.get("code") or entry.get("error")
        code = str(raw_code) if raw_code is not None else None
        message = str(entry.get("message") or entry.get("error_description") or "")
        raw_details = entry.get("details")
        details = raw_details if isinstance(raw_details, Mapping) else {}
    if not message:
        # A proxy's error page may echo the request (and its token): scrub it whole, then cut it,
        # so the cut never leaves a secret's tail without the name that marks it.
        message = redact_text(fallback_text.strip())[:200] or httpx.codes.get_reason_phrase(status) or "error"
    cls = error_class(code, status)
    headers = headers or {}
    if cls is RateLimitError:
        return RateLimitError(
            message,
            retry_after=parse_retry_after(headers),
            status_code=status,
            code=code,
            details=details,
            method=method,
            url=url,
            headers=headers,
        )
    return cls(
        message, status_code=status, code=code, details=details, method=method, url=url, headers=headers
    )


def error_from_response(response: httpx.Response) -> APIError:
    """Typed error for an httpx response; a non-JSON or HTML body still gives a typed error."""
    body: Any = decode_or_none(response.content)
    text = ""
    if body is None and response.content:
        text = response.content[:4096].decode("utf-8", "replace")
        if "<html" in text.lower():
            text = f"non-JSON (HTML) error page from the server, HTTP {response.status_code}"
    return error_from_body(
        response.status_code,
        body,
        method=response.request.method,
        url=str(response.request.url),
        headers=dict(response.headers),
        fallback_text=text,
    )
