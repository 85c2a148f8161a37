"""Checks of a user given to ``client.users.create`` or ``update``, before anything is sent.

Adding a user sends an invitation to the email and takes a licence seat, so a bad address found
only by Zoho costs a call at best and an invitation to a stranger at worst; a role or profile
that is not an id would be an opaque 400. Everything here runs before a request is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bigin_async._inputs import FIELD_NAME, check_id, fields_to_wire
from bigin_async.errors import ValidationError
from bigin_async.models import User
from bigin_async.models.base import BiginModel

__all__ = ["SET_BY_ZOHO", "check_new_user", "check_user_changes"]

# One "@", something before it, a dotted domain after it, no spaces or control characters:
# what any address Zoho can send an invitation to looks like (its own checks are stricter).
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f.]+(\.[^@\s\x00-\x1f\x7f.]+)+\Z")
# Keys Zoho fills in itself: a value given for one would be refused or silently ignored.
SET_BY_ZOHO = frozenset(
    {"zuid", "full_name", "created_by", "created_time", "Modified_By", "Modified_Time", "confirm"}
)
# Lookups sent as the id alone: Zoho CRM's add/update user take ``"role": "<id>"``.
_ID_FIELDS = ("role", "profile")


def _as_dict(user: object, what: str) -> dict[str, Any]:
    wire = fields_to_wire(user, BiginModel, f"{what} is a User or a dict of user fields")
    for key in wire:
        if not isinstance(key, str) or not FIELD_NAME.match(key):
            raise ValidationError(f"{what} has a key that is not a field API name: {key!r}")
    given = sorted(SET_BY_ZOHO & wire.keys())
    if given:
        raise ValidationError(f"{what} sets {', '.join(given)}, which Zoho sets itself; leave them out")
    return wire


def _check_email(value: object) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value):
        raise ValidationError(
            f"email must be an address like name@example.com (Zoho sends the invitation there), got {value!r}"
        )
    return str.__str__(value)


def _check_last_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"last_name must be a non-empty string (Zoho requires it), got {value!r}")
    return str.__str__(value)


def _id_of(value: object, field: str) -> str:
    """A role or profile as its id: an id, a ``{"id": ...}`` dict or a lookup read from a user."""
    if isinstance(value, BiginModel):
        value = value.get("id")
    elif isinstance(value, Mapping):
        value = value.get("id")
    return check_id(value, f"{field} (a {field} id)")


def _to_wire(wire: dict[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in wire.items():
        if key == "email":
            checked[key] = _check_email(value)
        elif key == "last_name":
            checked[key] = _check_last_name(value)
        elif key in _ID_FIELDS:
            checked[key] = _id_of(value, key)
        else:
            checked[key] = value  # formatted already (fields_to_wire)
    return checked


def check_new_user(user: User | Mapping[str, Any]) -> dict[str, Any]:
    """The wire form of a user to add: ``last_name`` and ``email`` required, and checked.

    Bigin's add-user page also marks ``first_name``, ``role`` and ``profile`` required, where
    Zoho CRM's own examples add users without a first name; what Bigin does without them is
    unconfirmed, so they are checked when given (role and profile: an id, a ``{"id"}`` or a
    lookup) and otherwise left to Zoho to ask for (``MANDATORY_NOT_FOUND``).
    """
    wire = _as_dict(user, "the new user")
    if "id" in wire:
        raise ValidationError("a new user has no id yet: Zoho assigns it; leave id out")
    missing = [key for key in ("last_name", "email") if wire.get(key) is None]
    if missing:
        raise ValidationError(f"a new user needs {' and '.join(missing)} (Zoho requires them)")
    return _to_wire(wire)


def check_user_changes(user_id: str, changes: User | Mapping[str, Any]) -> dict[str, Any]:
    """The wire form of changes to user ``user_id``: at least one field, each checked.

    An ``id`` in the changes (a User read from Bigin carries one) must be ``user_id``'s: a
    different one means the wrong user is about to be changed. It is not sent again.
    """
    wire = _as_dict(changes, "the changes")
    if "id" in wire:
        given = wire.pop("id")
        if check_id(given, "the changes' id") != user_id:
            raise ValidationError(f"the changes are for user {given!r}, not {user_id!r}; nothing was sent")
    if not wire:
        raise ValidationError(f"no changes for user {user_id}: nothing to send")
    return _to_wire(wire)
