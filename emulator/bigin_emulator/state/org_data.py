"""The emulated org and its users, in the shapes ``get_org.json`` and ``list_users.json`` recorded.

The users' mixed key casing (``Modified_By`` next to ``created_by``, ``Isonline``) is Zoho's and is
kept on purpose: a client must cope with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bigin_emulator.state.ids import static_id

__all__ = ["ORG_ID", "USERS", "User", "current_user", "org_body", "user_body", "users_of_type"]

ORG_ID = static_id(10)


@dataclass(frozen=True)
class User:
    """One user of the org: a record's Owner, Created_By and Modified_By point at one."""

    id: str
    first_name: str
    last_name: str
    email: str
    admin: bool
    active: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

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


def user_body(user: User, created_time: str) -> dict[str, Any]:
    admin = USERS[0]
    profile = (
        {"name": "Administrator", "id": static_id(30)}
        if user.admin
        else {"name": "Standard", "id": static_id(31)}
    )
    return {
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
        "profile": profile,
        "created_by": admin.short_lookup(),
        "zuid": str(90000000 + int(user.id[-3:])),
        "full_name": user.full_name,
        "phone": None,
        "dob": None,
        "status": "active" if user.active else "disabled",
        "role": {"name": "CEO" if user.admin else "Level 1", "id": static_id(40 if user.admin else 41)},
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


def users_of_type(user_type: str) -> list[User] | None:
    """Zoho's ``type`` filter; None for a type Zoho does not know."""
    filters: dict[str, Callable[[User], bool]] = {
        "AllUsers": lambda u: True,
        "ActiveUsers": lambda u: u.active,
        "DeactiveUsers": lambda u: not u.active,
        "ConfirmedUsers": lambda u: u.active,
        "NotConfirmedUsers": lambda u: False,
        "DeletedUsers": lambda u: False,
        "ActiveConfirmedUsers": lambda u: u.active,
        "AdminUsers": lambda u: u.admin,
        "ActiveConfirmedAdmins": lambda u: u.admin and u.active,
        "CurrentUser": lambda u: u is current_user(),
    }
    chosen = filters.get(user_type)
    return None if chosen is None else [u for u in USERS if chosen(u)]


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
