"""Bigin notifications, by their former import path: watch channels and the POSTs Bigin sends.

Bigin's "notifications" API has two halves that live apart now: managing the watch channels
(enable, renew, disable: :mod:`bigin_async.resources.channels`, ``bigin.notifications``) and
checking what Bigin POSTs to a channel's URL (:mod:`bigin_async.webhooks`, which needs no
client). ``from bigin_async.resources.notifications import parse_notification`` keeps working.
"""

from __future__ import annotations

from bigin_async.errors import InvalidNotificationError, NotificationTokenError
from bigin_async.resources.channels import (
    MAX_CHANNEL_LIFETIME,
    ChannelSubscription,
    KeptChannel,
    NotificationsClient,
)
from bigin_async.webhooks import (
    MAX_NOTIFICATION_BYTES,
    MAX_NOTIFICATION_DEPTH,
    NotificationEvent,
    parse_notification,
)

__all__ = [
    "MAX_CHANNEL_LIFETIME",
    "MAX_NOTIFICATION_BYTES",
    "MAX_NOTIFICATION_DEPTH",
    "ChannelSubscription",
    "InvalidNotificationError",
    "KeptChannel",
    "NotificationEvent",
    "NotificationTokenError",
    "NotificationsClient",
    "parse_notification",
]
