"""The emulated org and its users, in the shapes ``get_org.json`` and ``list_users.json`` recorded.

The users' mixed key casing (``Modified_By`` next to ``created_by``, ``Isonline``) is Zoho's and is
kept on purpose: a client must cope with it. ``USERS`` are the users every org starts with; each
org keeps its own ``UserDirectory`` (``POST|PUT|DELETE /users`` change it), whose first user, the
admin, is the one every access token belongs to and cannot be deleted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bigin_emulator.state.ids import static_id

__all__ = [
    "ORG_ID",
    "PROFILES",
    "ROLES",
    "USERS",
    "User",
    "UserDirectory",
    "current_user",
    "org_body",
    "user_body",
]

ORG_ID = static_id(10)
ADMIN_PROFILE, STANDARD_PROFILE = static_id(30), static_id(31)
CEO_ROLE, LEVEL_1_ROLE = static_id(40), static_id(41)
PROFILES: dict[str, str] = {ADMIN_PROFILE: "Administrator", STANDARD_PROFILE: "Standard"}
ROLES: dict[str, str] = {CEO_ROLE: "CEO", LEVEL_1_ROLE: "Level 1"}


@dataclass(frozen=True)
class User:
    """One user of the org: a record's Owner, Created_By and Modified_By point at one.

    ``created_time`` None means the user came with the org (created when it was); ``extra`` holds
    the other user fields written through the API (``phone``, ``city``...), shown as written.
    """

    id: str
    first_name: str
    last_name: str
    email: str
    admin: bool
    active: bool = True
    role_id: str | None = None
    created_time: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def role(self) -> dict[str, str]:
        role_id = self.role_id or (CEO_ROLE if self.admin else LEVEL_1_ROLE)
        return {"name": ROLES[role_id], "id": role_id}

    @property
    def profile(self) -> dict[str, str]:
        profile_id = ADMIN_PROFILE if self.admin else STANDARD_PROFILE
        return {"name": PROFILES[profile_id], "id": profile_id}

    def lookup(self) -> dict[str, str]:
        """How a record shows its Owner/Created_By/Modified_By: ``{name, id, email}``."""
        return {"name": self.full_name, "id": self.id, "email": self.email}

    def short_lookup(self) -> dict[str, str]:
        """How a write result's details show a user: ``{name, id}``."""
        return {"name": self.full_name, "id": self.id}


USERS: tuple[User, ...] = (
    User(static_id(20), "Emulator", "Admin", "admin@example.com", admin=True),
    User(static_id(21), "Sam", "Standard", "sam@example.com", admin=False),
    User(static_id(22), "Dee", "Departed", "dee@example.com", admin=False, active=False),
)


def current_user() -> User:
    """The user every access token belongs to."""
    return USERS[0]


# Zoho's ``type`` filter of ``GET /users``; deleted users are listed only as DeletedUsers.
_USER_TYPES: dict[str, Callable[[User], bool]] = {
    "AllUsers": lambda u: True,
    "ActiveUsers": lambda u: u.active,
    "DeactiveUsers": lambda u: not u.active,
    "ConfirmedUsers": lambda u: u.active,
    "NotConfirmedUsers": lambda u: False,
    "ActiveConfirmedUsers": lambda u: u.active,
    "AdminUsers": lambda u: u.admin,
    "ActiveConfirmedAdmins": lambda u: u.admin and u.active,
    "CurrentUser": lambda u: u.id == current_user().id,
}


class UserDirectory:
    """One org's users, in creation order, and those it deleted."""

    def __init__(self, new_id: Callable[[], str], now: Callable[[], str]) -> None:
        self._new_id = new_id
        self._now = now
        self.users: dict[str, User] = {u.id: u for u in USERS}
        self.deleted: dict[str, User] = {}

    def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def active(self, user_id: str | None) -> User | None:
        """A user a record may be assigned to (an Owner): known and active."""
        user = self.users.get(user_id) if user_id is not None else None
        return user if user is not None and user.active else None

    def of_type(self, user_type: str) -> list[User] | None:
        """The users of one of Zoho's ``type`` values; None for a type Zoho does not know."""
        if user_type == "DeletedUsers":
            return list(self.deleted.values())
        chosen = _USER_TYPES.get(user_type)
        return None if chosen is None else [u for u in self.users.values() if chosen(u)]

    def with_email(self, email: str, *, other_than: str | None = None) -> User | None:
        wanted = email.strip().casefold()
        return next(
            (u for u in self.users.values() if u.email.casefold() == wanted and u.id != other_than), None
        )

    def add(self, first_name: str, last_name: str, email: str, admin: bool, **changes: Any) -> User:
        user = User(self._new_id(), first_name, last_name, email, admin, created_time=self._now())
        user = dataclasses.replace(user, **changes) if changes else user
        self.users[user.id] = user
        return user

    def update(self, user_id: str, **changes: Any) -> User:
        user = dataclasses.replace(self.users[user_id], **changes)
        self.users[user_id] = user
        return user

    def delete(self, user_id: str) -> None:
        self.deleted[user_id] = self.users.pop(user_id)

    def export(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "users": [dataclasses.asdict(u) for u in self.users.values()],
            "deleted": [dataclasses.asdict(u) for u in self.deleted.values()],
        }

    def restore(self, data: dict[str, list[dict[str, Any]]]) -> None:
        self.users = {row["id"]: User(**row) for row in data.get("users", [])} or {u.id: u for u in USERS}
        self.deleted = {row["id"]: User(**row) for row in data.get("deleted", [])}


def user_body(user: User, created_time: str) -> dict[str, Any]:
    """A user as ``GET /users`` shows it; ``created_time`` is the org's (for its first users)."""
    admin = USERS[0]
    created_time = user.created_time or created_time
    body = {
        "country": None,
        "Preferred_Currency__s": None,
        "language": "en_US",
        "microsoft": False,
        "$shift_effective_from": None,
        "id": user.id,
        "state": None,
        "fax": None,
        "country_locale": "en_US",
        "sandboxDeveloper": False,
        "zip": None,
        "decimal_separator": "Period",
        "created_time": created_time,
        "time_format": "hh:mm a",
        "offset": 0,
        "profile": user.profile,
        "created_by": admin.short_lookup(),
        "zuid": str(90000000 + int(user.id[-3:])),
        "full_name": user.full_name,
        "phone": None,
        "dob": None,
        "status": "active" if user.active else "disabled",
        "role": user.role,
        "customize_info": {
            "notes_desc": None,
            "show_right_panel": None,
            "bc_view": None,
            "show_home": False,
            "show_detail_view": True,
            "show_left_panel": True,
            "unpin_recent_item": None,
        },
        "city": None,
        "signature": None,
        "sort_order_preference": "First Name,Last Name",
        "name_format": "Salutation,First Name,Last Name",
        "locale": "en_US",
        "personal_account": False,
        "Isonline": False,
        "default_tab_group": "0",
        "Modified_By": admin.short_lookup(),
        "street": None,
        "$current_shift": None,
        "alias": None,
        "theme": {
            "normal_tab": {"font_color": "#FFFFFF", "background": "#222222"},
            "selected_tab": {"font_color": "#FFFFFF", "background": "#222222"},
            "new_background": None,
            "background": "#F3F0EB",
            "screen": "fixed",
            "type": "default",
        },
        "first_name": user.first_name,
        "email": user.email,
        "status_reason__s": None,
        "website": None,
        "Modified_Time": created_time,
        "$next_shift": None,
        "mobile": None,
        "last_name": user.last_name,
        "time_zone": "UTC",
        "number_separator": "Comma",
        "confirm": user.active,
        "date_format": "MM/dd/yyyy",
        "category": "regular_user",
    }
    body.update(user.extra)
    return body


def org_body(trial_expiry: str) -> dict[str, Any]:
    admin = USERS[0]
    return {
        "country": None,
        "hierarchy_preferences": {"type": "Role_Hierarchy"},
        "photo_id": None,
        "city": None,
        "description": None,
        "mc_status": False,
        "gapps_enabled": False,
        "lite_users_enabled": False,
        "domain_name": "org900000001",
        "translation_enabled": False,
        "street": None,
        "alias": None,
        "currency": "US Dollar - USD",
        "deletable_org_account": True,
        "id": ORG_ID,
        "state": None,
        "fax": None,
        "employee_count": None,
        "zip": None,
        "website": None,
        "currency_symbol": "$",
        "mobile": None,
        "currency_locale": "USD",
        "primary_zuid": str(90000000 + int(admin.id[-3:])),
        "zia_portal_id": None,
        "time_zone": "UTC",
        "zgid": "900000001",
        "country_code": "US",
        "license_details": {
            "paid_expiry": None,
            "users_license_purchased": 20,
            "trial_type": "biginpremier",
            "trial_expiry": trial_expiry,
            "paid": False,
            "paid_type": "free",
            "portal_users_license_purchased": 0,
        },
        "phone": None,
        "company_name": "Bigin Emulator",
        "privacy_settings": False,
        "primary_email": admin.email,
        "hipaa_compliance_enabled": False,
        "iso_code": "USD",
    }
