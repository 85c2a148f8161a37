"""Data validation and error handling, with bigin-async.

``validate_contact`` checks a contact before sending (Last_Name required, email and phone formats)
and ``create_contact_safely`` turns any failure into ``{success: false, error: {code, message,
details}}``. The SDK's errors already carry Zoho's ``code``, ``message`` and ``details`` (Zoho's
error body), typed by meaning: ``InvalidRequestError`` for
MANDATORY_NOT_FOUND / INVALID_DATA, ``DuplicateRecordError`` (with ``existing_id``) for
DUPLICATE_DATA, ``NotFoundError`` for RECORD_NOT_FOUND, and so on. ``ValidationError`` is what the
SDK raises for input it refuses before sending; the local checks below raise it too.

    python examples/validation_and_errors.py
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from _common import run_example

from bigin_async import APIError, BiginClient, BiginError, ValidationError

EMAIL_FORMAT = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
PHONE_FORMAT = re.compile(r"^[\d\s\-()]+$")
VALIDATION_FAILED = "VALIDATION_FAILED"


class ContactValidationError(ValidationError):
    """A contact failed the local checks; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"Validation failed: {', '.join(problems)}")
        self.problems = problems


def validate_contact(contact: Mapping[str, Any]) -> None:
    """Local checks, before a call is spent on a record Bigin would refuse."""
    problems = []
    last_name = contact.get("Last_Name")
    if not isinstance(last_name, str) or not last_name.strip():
        problems.append("Last_Name is required")
    email = contact.get("Email")
    if email and not EMAIL_FORMAT.match(str(email)):
        problems.append("Email format is invalid")
    phone = contact.get("Phone")
    if phone and not PHONE_FORMAT.match(str(phone)):
        problems.append("Phone format is invalid")
    if problems:
        raise ContactValidationError(problems)


@dataclass(frozen=True)
class ErrorInfo:
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SafeResult:
    success: bool
    record_id: str | None = None
    error: ErrorInfo | None = None


def error_info(error: BiginError) -> ErrorInfo:
    """Zoho's ``{code, message, details}`` for any SDK error."""
    if isinstance(error, ContactValidationError):
        return ErrorInfo(VALIDATION_FAILED, str(error), {"problems": error.problems})
    if isinstance(error, APIError):
        return ErrorInfo(error.code or "UNKNOWN_ERROR", error.message, error.details)
    return ErrorInfo("UNKNOWN_ERROR", str(error))


async def create_contact_safely(
    bigin: BiginClient, contact: Mapping[str, Any], *, validate: bool = True
) -> SafeResult:
    """Create a contact; never raises for a refused record, returns what went wrong instead."""
    try:
        if validate:
            validate_contact(contact)
        result = await bigin.contacts.create(contact)
    except BiginError as error:  # connection failures too: the SDK raises nothing else on purpose
        return SafeResult(False, error=error_info(error))
    return SafeResult(True, record_id=result.id)


async def fetch_contact_safely(bigin: BiginClient, contact_id: str) -> SafeResult:
    """Read a contact by id; a missing id is RECORD_NOT_FOUND (Bigin itself answers 204)."""
    try:
        contact = await bigin.contacts.get(contact_id)
    except BiginError as error:
        return SafeResult(False, error=error_info(error))
    return SafeResult(True, record_id=contact.id)


async def main(bigin: BiginClient) -> dict[str, SafeResult]:
    """One case per kind of failure (local checks, Zoho's refusals, a missing id), plus one that works."""
    jane = {
        "First_Name": "Jane",
        "Last_Name": "Smith",
        "Email": "jane.smith@example.com",
        "Phone": "(555) 010-2000",
    }
    return {
        "valid contact": await create_contact_safely(bigin, jane),
        "no last name": await create_contact_safely(bigin, {"First_Name": "Nameless"}),
        "bad email and phone": await create_contact_safely(
            bigin, {"Last_Name": "Typo", "Email": "not-an-email", "Phone": "call me"}
        ),
        # Skipping the local checks shows the server's own answer, in Zoho's error format:
        # {"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name"}, ...}
        "no last name, sent anyway": await create_contact_safely(
            bigin, {"First_Name": "Nameless"}, validate=False
        ),
        "same email again": await create_contact_safely(bigin, jane),
        "missing record": await fetch_contact_safely(bigin, "1234567890123456789"),
    }


def describe(results: dict[str, SafeResult]) -> str:
    lines = []
    for case, result in results.items():
        if result.success:
            lines.append(f"{case}: success, id {result.record_id}")
        else:
            assert result.error is not None
            lines.append(
                f"{case}: {result.error.code} - {result.error.message} {result.error.details or ''}".rstrip()
            )
    return "\n".join(lines)


if __name__ == "__main__":
    run_example(main, describe)
