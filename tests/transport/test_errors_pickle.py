"""Every SDK error crosses a process boundary intact (pickle), as multiprocessing and process pools need.

Before, ``pickle.dumps`` of any :class:`APIError` raised ``TypeError``: its ``status_code`` is a
keyword-only argument, which an exception's default reduction cannot pass back.
"""

from __future__ import annotations

import pickle

import pytest

from bigin_async.bulk import BulkResult, RecordOutcome
from bigin_async.errors import (
    APIError,
    BiginError,
    BulkWriteError,
    ConfigurationError,
    DuplicateRecordError,
    RateLimitError,
    RecordNotFoundError,
    RefreshBlockedError,
)


def _errors() -> list[BiginError]:
    result = BulkResult()
    result.record(RecordOutcome(0, "error", code="INVALID_DATA", message="bad"))
    url = "https://www.zohoapis.com/bigin/v2/Contacts/1"
    return [
        ConfigurationError("no Bigin credentials"),
        APIError("boom", status_code=500, code="INTERNAL_ERROR", method="GET", url=url),
        DuplicateRecordError(
            "dup", status_code=400, code="DUPLICATE_DATA", details={"id": "42", "api_name": "Email"}, url=url
        ),
        RecordNotFoundError(
            "the id given seems to be invalid", status_code=400, code="INVALID_DATA", details={"id": "1"}
        ),
        RateLimitError("slow down", status_code=429, code="RATE_LIMIT_EXCEEDED", method="PUT", url=url),
        RefreshBlockedError(
            "blocked", retry_at=1_800_000_000.0, retry_after=120.0, code="Access Denied", status_code=400
        ),
        BulkWriteError("1 of 1 records failed", result),
    ]


@pytest.mark.parametrize("error", _errors(), ids=lambda error: type(error).__name__)
def test_an_error_survives_pickling_with_its_class_text_and_attributes(error: BiginError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.args == error.args
    for name in ("status_code", "code", "details", "url", "retry_after", "retry_at", "existing_id"):
        assert getattr(copy, name, None) == getattr(error, name, None), name
    if isinstance(error, BulkWriteError):
        assert isinstance(copy, BulkWriteError) and copy.result.counts == error.result.counts


def test_a_pickled_error_is_still_redacted() -> None:
    token = "1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef"
    error = APIError(f"echoed Zoho-oauthtoken {token}", status_code=401, code="INVALID_TOKEN")
    assert token not in repr(pickle.loads(pickle.dumps(error)))
    assert token.encode() not in pickle.dumps(error)
