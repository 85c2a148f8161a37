"""Zoho Books contacts as typed models (the part of Books the Bigin sync needs).

A Books *contact* is a customer or vendor (often a company); its *contact persons* are the
people, one of them primary. The contact's top-level ``email``/``phone``/``mobile`` mirror the
primary person. Unknown keys are kept (Books returns a hundred of them), and times stay the
strings Books sends (``2026-06-09T13:16:32-0400``, an offset without a colon).
"""

from __future__ import annotations

from typing import Any

from bigin_async.models.base import BiginModel, Id

__all__ = ["BooksContact", "BooksContactPerson", "BooksPageContext", "books_wire"]


class BooksContactPerson(BiginModel):
    """One person of a contact; ``is_primary_contact`` marks the one the contact's email shows."""

    contact_person_id: Id | None = None
    salutation: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    designation: str | None = None
    department: str | None = None
    is_primary_contact: bool | None = None


class BooksContact(BiginModel):
    """A Books contact. ``contact_persons`` is None in list/search results (Books omits them)."""

    contact_id: Id | None = None
    contact_name: str | None = None
    company_name: str | None = None
    contact_type: str | None = None
    customer_sub_type: str | None = None
    status: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    website: str | None = None
    notes: str | None = None
    contact_persons: list[BooksContactPerson] | None = None
    created_time: str | None = None
    last_modified_time: str | None = None

    @property
    def primary_contact_person(self) -> BooksContactPerson | None:
        """The primary person, if the contact was fetched with its persons and has one."""
        for person in self.contact_persons or []:
            if person.is_primary_contact:
                return person
        return None


class BooksPageContext(BiginModel):
    """``page_context`` of a Books list: ``has_more_page`` says whether to ask for the next page."""

    page: int = 1
    per_page: int = 200
    has_more_page: bool = False
    sort_column: str | None = None
    sort_order: str | None = None


def books_wire(value: BooksContact | BooksContactPerson | dict[str, Any]) -> dict[str, Any]:
    """The JSON a write sends: the fields set on a model (nested persons too), or a dict as is."""
    if isinstance(value, BiginModel):
        dumped: dict[str, Any] = value.model_dump(mode="json", exclude_unset=True, by_alias=True)
        return dumped
    return dict(value)
