"""A Zoho Books organization's contacts, in memory: the other end of a
Bigin-to-Books contact sync.

Rules kept from Books (shapes from recorded Books responses, ``create-contact``/``list-contacts``
of Nango's zoho-books templates): ids are 18-digit strings; ``contact_name`` is required and
unique (a second one is code 3062); unset text fields are ``""``, not null; a contact's top-level
``email``/``phone``/``mobile``/``first_name``/``last_name`` mirror its primary contact person;
list results are summaries without ``contact_persons``; times look like
``2026-06-09T13:16:32-0400``. On update, a contact person with a ``contact_person_id`` is changed,
one without is *added* (which is how a sync that resends its person duplicates it), and marking a
person primary un-marks the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["BOOKS_ORGANIZATION_ID", "BooksOrg", "BooksRefusal"]

BOOKS_ORGANIZATION_ID = "10234695"
_ID_PREFIX = "4600000"
_CONTACT_TEXT = (
    "contact_name",
    "company_name",
    "website",
    "notes",
    "contact_salutation",
    "designation",
    "department",
)
_MIRRORED = ("first_name", "last_name", "email", "phone", "mobile")
_PERSON_TEXT = (
    "salutation",
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "designation",
    "department",
)
_SUMMARY_KEYS = (
    "contact_id", "contact_name", "customer_name", "company_name", "website", "contact_type", "status",
    "customer_sub_type", "source", "payment_terms", "payment_terms_label", "currency_code",
    "first_name", "last_name", "email", "phone", "mobile", "created_time", "last_modified_time", "tags",
)  # fmt: skip


class BooksRefusal(Exception):
    """A refused call: Books' ``{"code", "message"}`` body and its HTTP status."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BooksRefusal(400, 2, f"Invalid value passed for {name}")
    return value


class BooksOrg:
    """One Books organization's contacts."""

    def __init__(
        self,
        organization_id: str = BOOKS_ORGANIZATION_ID,
        clock: Callable[[], float] | None = None,
        utc_offset: timedelta = timedelta(0),
    ) -> None:
        self.organization_id = organization_id
        self.clock = clock or time.time
        self.utc_offset = utc_offset
        self.contacts: dict[str, dict[str, Any]] = {}
        self._last_id = 100_000

    # -- helpers ------------------------------------------------------------------------------

    def _next_id(self) -> str:
        self._last_id += 1
        return f"{_ID_PREFIX}{self._last_id:011d}"

    def _now(self) -> str:
        moment = datetime.fromtimestamp(int(self.clock()), timezone(self.utc_offset))
        return moment.strftime("%Y-%m-%dT%H:%M:%S%z")

    def _check_name(self, name: Any, own_id: str | None) -> str:
        if not isinstance(name, str) or not name.strip():
            raise BooksRefusal(400, 4, "Please enter the contact name (contact_name).")
        wanted = name.strip().casefold()
        for contact in self.contacts.values():
            if contact["contact_id"] != own_id and contact["contact_name"].casefold() == wanted:
                raise BooksRefusal(
                    400,
                    3062,
                    f'The customer "{name.strip()}" already exists. Please specify a different name.',
                )
        return name.strip()

    def _apply_persons(self, contact: dict[str, Any], persons: Any) -> None:
        if not isinstance(persons, list):
            raise BooksRefusal(400, 2, "Invalid value passed for contact_persons")
        current: list[dict[str, Any]] = contact["contact_persons"]
        for raw in persons:
            if not isinstance(raw, dict):
                raise BooksRefusal(400, 2, "Invalid value passed for contact_persons")
            person_id = raw.get("contact_person_id")
            if person_id:
                person = next((p for p in current if p["contact_person_id"] == str(person_id)), None)
                if person is None:
                    raise BooksRefusal(400, 2, "Invalid value passed for contact_person_id")
            else:
                person = {"contact_person_id": self._next_id(), **{k: "" for k in _PERSON_TEXT}}
                person["is_primary_contact"] = False
                current.append(person)
            for key in _PERSON_TEXT:
                if key in raw:
                    person[key] = _text(raw[key], key)
            if raw.get("is_primary_contact") is True:
                for other in current:
                    other["is_primary_contact"] = other is person
        if current and not any(p["is_primary_contact"] for p in current):
            current[0]["is_primary_contact"] = True
        primary = next((p for p in current if p["is_primary_contact"]), None)
        if primary is not None:
            for key in _MIRRORED:
                contact[key] = primary[key]

    def _apply(self, contact: dict[str, Any], body: dict[str, Any]) -> None:
        for key, value in body.items():
            if key in ("contact_id", "contact_persons", "created_time", "last_modified_time"):
                continue
            contact[key] = _text(value, key) if key in _CONTACT_TEXT or key in _MIRRORED else value
        if "contact_persons" in body:
            self._apply_persons(contact, body["contact_persons"])
        contact["customer_name"] = contact["contact_name"]
        contact["last_modified_time"] = self._now()

    # -- operations ---------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._check_name(body.get("contact_name"), None)
        now = self._now()
        contact: dict[str, Any] = {
            "contact_id": self._next_id(),
            "contact_name": name,
            **{key: "" for key in (*_CONTACT_TEXT[1:], *_MIRRORED)},
            "contact_type": "customer",
            "customer_sub_type": "business",
            "source": "api",
            "status": "active",
            "payment_terms": 0,
            "payment_terms_label": "Due on Receipt",
            "currency_code": "USD",
            "contact_persons": [],
            "tags": [],
            "created_time": now,
        }
        self._apply(contact, {**body, "contact_name": name})
        self.contacts[contact["contact_id"]] = contact
        return contact

    def update(self, contact_id: str, body: dict[str, Any]) -> dict[str, Any]:
        contact = self.get(contact_id)
        if "contact_name" in body:
            body = {**body, "contact_name": self._check_name(body["contact_name"], contact_id)}
        updated = {**contact, "contact_persons": [dict(p) for p in contact["contact_persons"]]}
        self._apply(updated, body)  # on a refusal the stored contact is untouched
        self.contacts[contact_id] = updated
        return updated

    def get(self, contact_id: str) -> dict[str, Any]:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise BooksRefusal(404, 1002, "Contact does not exist.")
        return contact

    def search(
        self, *, email: str | None = None, search_text: str | None = None, contact_name: str | None = None
    ) -> list[dict[str, Any]]:
        """Contacts matching every filter given, by name ascending (Books' default order)."""

        def emails(contact: dict[str, Any]) -> set[str]:
            found = {contact["email"].casefold()} | {
                p["email"].casefold() for p in contact["contact_persons"]
            }
            return found - {""}

        matches = []
        for contact in self.contacts.values():
            if email is not None and email.strip().casefold() not in emails(contact):
                continue
            if (
                contact_name is not None
                and contact["contact_name"].casefold() != contact_name.strip().casefold()
            ):
                continue
            if search_text is not None:
                needle = search_text.strip().casefold()
                haystack = [
                    contact["contact_name"].casefold(),
                    contact["company_name"].casefold(),
                    *emails(contact),
                ]
                if not any(needle in value for value in haystack):
                    continue
            matches.append(contact)
        return sorted(matches, key=lambda c: (c["contact_name"].casefold(), c["contact_id"]))

    @staticmethod
    def summary(contact: dict[str, Any]) -> dict[str, Any]:
        """A contact as list results show it: no ``contact_persons``."""
        return {key: contact.get(key) for key in _SUMMARY_KEYS}
