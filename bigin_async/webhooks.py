"""Receiving Bigin's notifications: what a webhook receiver checks before it trusts a POST.

When a record of a watched module is created, edited or deleted, Bigin POSTs a small JSON body to
the channel's ``notify_url``: the module, the operation and the record ids (not the data: fetch
the records), the ``channel_id``, and the channel's ``token``. Anyone can POST to a public URL, so
a body is untrusted until its token matches the one the channel was enabled with.
:func:`parse_notification` checks that first, in constant time, and refuses what Bigin would never
send (a body over ``max_bytes``, nesting deeper than a payload has, a module name or id that could
rewrite a URL you build from it) with one error type.

Nothing here calls Bigin, so a receiver needs no client, only the token. Enabling, renewing and
disabling the channels themselves ("watch") is :mod:`bigin_async.resources.channels`
(``bigin.notifications``). The token never shows in an event's repr: it is kept as a
:class:`~bigin_async._redact.SecretText`, a ``str`` that compares and serialises as usual.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pydantic

from bigin_async._inputs import check_id, check_module_name
from bigin_async._redact import SecretTextField
from bigin_async.errors import InvalidNotificationError, NotificationTokenError, ValidationError
from bigin_async.models.base import BiginModel, Id

__all__ = [
    "MAX_CHANNEL_ID_DIGITS",
    "MAX_NOTIFICATION_BYTES",
    "MAX_NOTIFICATION_DEPTH",
    "InvalidNotificationError",
    "NotificationEvent",
    "NotificationTokenError",
    "check_channel_id",
    "parse_notification",
]

MAX_CHANNEL_ID_DIGITS = 19
# Bigin's notification is a few hundred bytes per batch of ids; a megabyte is far past any real one.
MAX_NOTIFICATION_BYTES = 1 << 20
# Its deepest part is ``affected_fields`` (list, object, list): 4 levels from the top.
MAX_NOTIFICATION_DEPTH = 16
# A notification's operation is a word (insert, update, delete), never a path or a query.
_OPERATION = re.compile(r"[A-Za-z_]{1,40}\Z")
# The payload says insert/update/delete; the channel's events say create/edit/delete.
_EVENT_ACTION = {"insert": "create", "update": "edit", "delete": "delete"}


def check_channel_id(value: object) -> str:
    """Bigin's channel ids are numbers (sent and returned as strings of digits), at most 19 long.

    Both sides check it: the ``channel_id`` a notification carries, and the one a watch call sends.
    """
    checked = check_id(value, "channel_id")
    if len(checked) > MAX_CHANNEL_ID_DIGITS:
        raise ValidationError(
            f"channel_id must be a string of up to {MAX_CHANNEL_ID_DIGITS} digits, got {value!r}"
        )
    return checked


class NotificationEvent(BiginModel):
    """One notification: ``operation`` (insert, update, delete) on ``ids`` of ``module``.

    Bigin sends ids, not records: fetch what you need. ``affected_fields`` (for updates, when
    the channel asked for them) maps record ids to the fields that changed.
    """

    module: str
    operation: str
    ids: list[Id]
    channel_id: Id
    token: SecretTextField | None = None
    server_time: datetime | None = None
    resource_uri: str | None = None
    query_params: dict[str, Any] = pydantic.Field(default_factory=dict)
    affected_fields: list[dict[str, list[str]]] | None = None

    # Checked as the rest of the SDK checks them: a receiver builds URLs from these (fetch the ids).
    @pydantic.field_validator("module", mode="before")
    @classmethod
    def _check_module(cls, value: object) -> str:
        return check_module_name(value)

    @pydantic.field_validator("ids", mode="before")
    @classmethod
    def _check_ids(cls, value: object) -> list[str]:
        if not isinstance(value, list | tuple):
            raise ValueError("ids must be a list of record ids")
        return [check_id(item, "ids[]") for item in value]

    @pydantic.field_validator("channel_id", mode="before")
    @classmethod
    def _check_channel_id(cls, value: object) -> str:
        return check_channel_id(value)

    @pydantic.field_validator("operation", mode="before")
    @classmethod
    def _check_operation(cls, value: object) -> str:
        if not isinstance(value, str) or not _OPERATION.match(value):
            raise ValueError("operation must be a word such as insert, update or delete")
        return value

    @property
    def event(self) -> str:
        """The channel event this notification answers, e.g. ``"Contacts.edit"``."""
        return f"{self.module}.{_EVENT_ACTION.get(self.operation, self.operation)}"

    def fields_changed(self, record_id: str) -> list[str] | None:
        """The fields an update changed on ``record_id``, when Bigin said (else None)."""
        for entry in self.affected_fields or []:
            if record_id in entry:
                return list(entry[record_id])
        return None


def _expected_token_bytes(expected_token: object) -> bytes:
    if isinstance(expected_token, pydantic.SecretStr):
        expected_token = expected_token.get_secret_value()
    if not isinstance(expected_token, str) or not expected_token:
        raise ValidationError("expected_token must be the non-empty token the channel was enabled with")
    try:
        return expected_token.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("expected_token is not valid text (it holds a lone surrogate)") from None


def _too_large(body: bytes | str, max_bytes: int) -> bool:
    """Whether ``body`` is over ``max_bytes`` in UTF-8, without encoding a text that is clearly over."""
    if len(body) > max_bytes:
        return True
    if isinstance(body, bytes) or len(body) * 4 <= max_bytes:
        return False
    return len(body.encode("utf-8", "surrogatepass")) > max_bytes


def _load(body: object, max_bytes: int) -> dict[Any, Any]:
    """The body as a dict: size checked first, JSON parsed, every failure the one typed error."""
    if isinstance(body, Mapping):
        data: object = dict(body)
    elif isinstance(body, bytes | str):
        if _too_large(body, max_bytes):
            raise InvalidNotificationError(
                f"the notification body is larger than max_bytes ({max_bytes} bytes)"
            )
        try:
            data = json.loads(body)
        except RecursionError:  # the parser recurses: a body nested thousands deep stops it
            raise InvalidNotificationError("the notification body is nested too deeply") from None
        except ValueError:  # UnicodeDecodeError too: bytes that are not UTF-8/16/32
            raise InvalidNotificationError("the notification body is not valid JSON") from None
    else:
        raise InvalidNotificationError(
            f"the notification body must be bytes, str or a mapping, not {type(body).__name__}"
        )
    if not isinstance(data, dict):
        raise InvalidNotificationError("the notification body is not a JSON object")
    return data


def _token_matches(received: object, expected: bytes) -> bool:
    """Constant-time comparison of the raw received value; a token that is not text is a mismatch."""
    if not isinstance(received, str):
        return False
    try:
        raw = received.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no token the SDK could have sent
        return False
    return hmac.compare_digest(raw, expected)


def _nested_deeper_than(value: object, limit: int) -> bool:
    """Whether ``value`` nests lists/dicts more than ``limit`` deep (a loop is infinitely deep).

    Iterative, so depth costs no stack. A mapping handed in may share its parts: a container is
    walked again only from deeper than before, so each one is walked at most ``limit`` times.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    deepest: dict[int, int] = {}
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Iterable[object] = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth >= limit:
            return True
        if deepest.get(id(node), -1) >= depth:
            continue
        deepest[id(node)] = depth
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_notification(
    body: bytes | str | Mapping[str, Any],
    expected_token: str | pydantic.SecretStr,
    *,
    expected_channel_id: str | int | None = None,
    max_bytes: int = MAX_NOTIFICATION_BYTES,
) -> NotificationEvent:
    """Validate an incoming notification and return it typed.

    The token is checked first, in constant time, on the raw value received; a mismatch raises
    :class:`NotificationTokenError` (answer it with 401/403 and do nothing else). Anything else
    Bigin would not send raises :class:`InvalidNotificationError` (answer 400): a body of more
    than ``max_bytes`` (1 MiB by default, counted in UTF-8 bytes for a ``str`` too, checked before
    parsing), one nested deeper than :data:`MAX_NOTIFICATION_DEPTH`, bad JSON, a module that is
    not an API name (``../settings``), ids that are not strings of ASCII digits. No message repeats
    the token or the values it received.
    """
    expected = _expected_token_bytes(expected_token)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ValidationError(f"max_bytes must be a positive number of bytes, got {max_bytes!r}")
    data = _load(body, max_bytes)
    if not _token_matches(data.get("token"), expected):
        raise NotificationTokenError("the notification's token does not match the channel's token")
    if _nested_deeper_than(data, MAX_NOTIFICATION_DEPTH):
        raise InvalidNotificationError("the notification body is nested too deeply")
    try:
        event = NotificationEvent.model_validate(data)
    except pydantic.ValidationError as exc:
        missing = sorted({str(err["loc"][0]) for err in exc.errors() if err.get("loc")})
        raise InvalidNotificationError(
            f"the notification body is malformed (check: {', '.join(missing)})"
        ) from None
    if expected_channel_id is not None and event.channel_id != check_channel_id(expected_channel_id):
        raise InvalidNotificationError(
            f"the notification is for channel {event.channel_id}, not {expected_channel_id}"
        )
    return event
