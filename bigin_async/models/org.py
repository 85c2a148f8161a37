"""Users, the organisation, and notification (watch) channels.

These endpoints mix key casing (``created_time`` next to ``Modified_Time`` on users) and carry
many org-specific keys; the declared fields are the useful, stable ones and the rest is kept.
"""

from __future__ import annotations

from datetime import datetime

from bigin_async._redact import SecretTextField
from bigin_async.models import common
from bigin_async.models.base import BiginModel, Id

__all__ = ["LicenseDetails", "Org", "User", "WatchChannel"]


class User(BiginModel):
    """One entry of ``/users``; ``zuid`` is a string, ``offset`` the zone offset in ms."""

    id: Id | None = None
    zuid: Id | None = None
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    status: str | None = None
    role: common.Lookup | None = None
    profile: common.Lookup | None = None
    time_zone: str | None = None
    offset: int | None = None
    locale: str | None = None
    confirm: bool | None = None
    created_by: common.Owner | None = None
    created_time: datetime | None = None
    Modified_By: common.Owner | None = None
    Modified_Time: datetime | None = None


class LicenseDetails(BiginModel):
    """The org's edition and seats (``trial_type`` "biginpremier", ``paid_type`` "free"...)."""

    paid: bool | None = None
    paid_type: str | None = None
    paid_expiry: datetime | None = None
    trial_type: str | None = None
    trial_expiry: datetime | None = None
    users_license_purchased: int | None = None


class Org(BiginModel):
    """``/org`` (an array of one under the key ``org``); ``zgid`` and ``primary_zuid`` are strings."""

    id: Id | None = None
    company_name: str | None = None
    domain_name: str | None = None
    primary_email: str | None = None
    primary_zuid: Id | None = None
    zgid: Id | None = None
    time_zone: str | None = None
    country_code: str | None = None
    currency: str | None = None
    currency_symbol: str | None = None
    iso_code: str | None = None
    phone: str | None = None
    website: str | None = None
    license_details: LicenseDetails | None = None


class WatchChannel(BiginModel):
    """A notification channel (``/actions/watch``), as listed or as sent to subscribe.

    Bigin gives a channel without an expiry one two hours ahead, at most one day; its
    ``resource_uri`` may name API v1 even when subscribed through v2.
    """

    channel_id: Id | None = None
    events: list[str] | None = None
    notify_url: str | None = None
    channel_expiry: datetime | None = None
    # A str that never shows in a repr: anyone holding it can forge notifications.
    token: SecretTextField | None = None
    resource_uri: str | None = None
    resource_id: Id | None = None
    resource_name: str | None = None
    notify_on_related_action: bool | None = None
    return_affected_field_values: bool | None = None
