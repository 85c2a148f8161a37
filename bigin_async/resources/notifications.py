"""Notifications (``/actions/watch``): channels that make Bigin POST to your URL when records change.

Bigin tells a URL that records of a watched module were created, edited or deleted. It sends the
module, the operation and the record ids (not the data: fetch the records), and echoes the
channel's ``token`` so the receiver can tell Bigin from a stranger. Three rules shape this module:

- a channel lives at most one day (two hours when no expiry is given), so a service that wants
  notifications for longer renews it: :meth:`NotificationsClient.keep_alive`;
- Bigin refuses a channel whose expiry is more than a day ahead, so the SDK refuses it first,
  with a message that says why, instead of a per-entry error after a round trip;
- an incoming POST is untrusted until its token matches: :func:`parse_notification`, which also
  refuses what Bigin would never send (a body over ``max_bytes``, nesting deeper than a payload
  has, a module name or id that could rewrite a URL you build from it) with one error type.

The token never shows in a repr (of an event, a listed channel, a kept channel): it is kept as a
:class:`~bigin_async._redact.SecretText`, a ``str`` that compares and serialises as usual.
"""

from __future__ import annotations

import builtins
import hmac
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import httpx
import pydantic

from bigin_async._config import is_loopback
from bigin_async._inputs import check_id, check_module_name
from bigin_async._redact import SecretText, SecretTextField, logger, register_secret
from bigin_async._tasks import unwrapping_task_group
from bigin_async.errors import BiginError, InvalidRequestError, NotFoundError, ValidationError
from bigin_async.models import WatchChannel, WriteResult, parse_page, parse_write_results
from bigin_async.models.base import BiginModel, Id
from bigin_async.resources.base import api_name, body_of, record_error, send_and_parse

if TYPE_CHECKING:
    from bigin_async._transport import Transport

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


PATH = "/actions/watch"
MAX_CHANNEL_LIFETIME = timedelta(days=1)
MAX_TOKEN_LENGTH = 50
MAX_CHANNEL_ID_DIGITS = 19
# Bigin's notification is a few hundred bytes per batch of ids; a megabyte is far past any real one.
MAX_NOTIFICATION_BYTES = 1 << 20
# Its deepest part is ``affected_fields`` (list, object, list): 4 levels from the top.
MAX_NOTIFICATION_DEPTH = 16
# "Contacts.create", "Pipelines.edit", "Accounts.delete", "Contacts.all".
_EVENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\.(create|edit|delete|all)\Z")
_OPERATION = re.compile(r"[A-Za-z_]{1,40}\Z")
# The payload says insert/update/delete; the channel's events say create/edit/delete.
_EVENT_ACTION = {"insert": "create", "update": "edit", "delete": "delete"}

Expiry = datetime | timedelta


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# -- what the SDK checks before sending -----------------------------------------------------------


def check_channel_id(value: object) -> str:
    """Bigin's channel ids are numbers (sent and returned as strings of digits), at most 19 long."""
    checked = check_id(value, "channel_id")
    if len(checked) > MAX_CHANNEL_ID_DIGITS:
        raise ValidationError(
            f"channel_id must be a string of up to {MAX_CHANNEL_ID_DIGITS} digits, got {value!r}"
        )
    return checked


def check_events(events: object) -> list[str]:
    if isinstance(events, str) or not isinstance(events, Iterable):
        raise ValidationError('events must be a list like ["Contacts.create", "Contacts.edit"]')
    checked: list[str] = []
    for event in events:
        if not isinstance(event, str) or not _EVENT.match(event):
            raise ValidationError(
                f"invalid event {event!r}: expected Module.create, Module.edit, Module.delete or Module.all"
            )
        module, _, action = event.partition(".")
        checked.append(f"{api_name(module)}.{action}")  # "Companies.edit" is "Accounts.edit" on the wire
    if not checked:
        raise ValidationError("events must name at least one event")
    return list(dict.fromkeys(checked))


def check_notify_url(url: object) -> str:
    """https, or http on a loopback host (a local receiver or the emulator's tests)."""
    if not isinstance(url, str):
        raise ValidationError(f"notify_url must be a string, got {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"notify_url must be an absolute https URL, got {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValidationError(
            f"notify_url must use https (plain http is accepted for loopback hosts only), got {url!r}"
        )
    if parts.fragment:
        raise ValidationError(f"notify_url must not carry a fragment: {url!r}")
    return url


def check_token(token: object) -> SecretText:
    """A channel token as Bigin takes it, kept so that no repr or log line shows it.

    It is also registered for redaction by value: Bigin and receivers echo it in bodies where no
    label marks it as a token.
    """
    if not isinstance(token, str) or not token.strip():
        raise ValidationError("token must be a non-empty string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValidationError(f"token must be at most {MAX_TOKEN_LENGTH} characters, got {len(token)}")
    register_secret(token)
    return SecretText(token)


def check_expiry(expiry: Expiry, now: datetime) -> str:
    """The wire form of a channel expiry; Bigin refuses one more than a day ahead, so do we.

    A ``timedelta`` counts from ``now``. A ``datetime`` must carry its time zone: a naive one
    would be read in the org's zone by Bigin and in the local zone by Python.
    """
    if isinstance(expiry, timedelta):
        expiry = now + expiry
    if not isinstance(expiry, datetime):
        raise ValidationError(f"expiry must be a datetime or a timedelta, got {type(expiry).__name__}")
    if expiry.tzinfo is None or expiry.utcoffset() is None:
        raise ValidationError(
            "expiry must be a timezone-aware datetime (e.g. datetime.now(timezone.utc) + ...)"
        )
    if expiry <= now:
        raise ValidationError(f"expiry {expiry.isoformat()} is not in the future")
    if expiry - now > MAX_CHANNEL_LIFETIME:
        raise ValidationError(
            f"expiry {expiry.isoformat()} is more than one day ahead; Bigin refuses that. "
            "Use keep_alive() to hold a channel open for longer."
        )
    return expiry.replace(microsecond=0).isoformat()


# -- what the server answers ----------------------------------------------------------------------


class ChannelSubscription(BiginModel):
    """One module a channel now watches, as enable/update report it (``details.events[]``)."""

    channel_id: Id
    channel_expiry: datetime | None = None
    resource_uri: str | None = None
    resource_id: Id | None = None
    resource_name: str | None = None


def _subscriptions(result: WriteResult) -> list[ChannelSubscription]:
    events = result.details.get("events")
    if not isinstance(events, list):
        return []
    return [ChannelSubscription.model_validate(event) for event in events if isinstance(event, Mapping)]


class NotificationsClient:
    """``/actions/watch``. Get it as ``bigin.notifications``."""

    def __init__(self, transport: Transport, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._transport = transport
        self._clock = clock

    def __repr__(self) -> str:
        return "NotificationsClient()"

    async def _write(
        self,
        method: str,
        entries: builtins.list[dict[str, Any]] | None,
        params: Mapping[str, Any] | None = None,
    ) -> builtins.list[WriteResult]:
        """Send a watch write; its answer is read inside the retry loop (a garbled one is retried).

        Every watch write converges (enabling a channel again gives the same channel), so a
        write whose answer is cut short or garbled is sent again like a read, and ends in
        ``MALFORMED_RESPONSE``; a channel Bigin refused raises its typed error, not retried.
        """
        body = {"watch": entries} if entries is not None else None

        def parse(response: httpx.Response) -> builtins.list[WriteResult]:
            results = parse_write_results(body_of(response))
            for result in results:
                if not result.ok:
                    raise record_error(
                        result, method=method, url=str(response.request.url), status=response.status_code
                    )
            return results

        return await self._transport.send_parsed(
            method, PATH, parse, params=params, json=body, idempotent=True
        )

    def _channel_entry(
        self,
        channel_id: str | int,
        *,
        events: Sequence[str] | None,
        notify_url: str | None,
        token: str | None,
        expiry: Expiry | None,
        notify_on_related_action: bool | None = None,
        return_affected_field_values: bool | None = None,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"channel_id": check_channel_id(channel_id)}
        if events is not None:
            entry["events"] = check_events(events)
        if notify_url is not None:
            entry["notify_url"] = check_notify_url(notify_url)
        if token is not None:
            entry["token"] = check_token(token)
        if expiry is not None:
            entry["channel_expiry"] = check_expiry(expiry, self._clock())
        if notify_on_related_action is not None:
            entry["notify_on_related_action"] = bool(notify_on_related_action)
        if return_affected_field_values is not None:
            entry["return_affected_field_values"] = bool(return_affected_field_values)
        return entry

    async def enable(
        self,
        channel_id: str | int,
        events: Sequence[str],
        notify_url: str,
        token: str | None = None,
        expiry: Expiry | None = None,
        *,
        notify_on_related_action: bool | None = None,
        return_affected_field_values: bool | None = None,
    ) -> builtins.list[ChannelSubscription]:
        """Subscribe ``notify_url`` to ``events``; one subscription per module in the answer.

        ``expiry`` (a timezone-aware datetime, or a timedelta from now) may be at most a day
        ahead; without it Bigin gives the channel two hours. Pass a ``token`` and check it on
        every POST (:func:`parse_notification`): it is how you know the caller is Bigin.
        """
        entry = self._channel_entry(
            channel_id,
            events=events,
            notify_url=notify_url,
            token=token,
            expiry=expiry,
            notify_on_related_action=notify_on_related_action,
            return_affected_field_values=return_affected_field_values,
        )
        results = await self._write("POST", [entry])
        return [sub for result in results for sub in _subscriptions(result)]

    async def list(
        self, *, channel_id: str | int | None = None, module: str | None = None
    ) -> builtins.list[WatchChannel]:
        """Every channel (one entry per channel and module); an org without any gives ``[]``."""
        params: dict[str, Any] = {}
        if channel_id is not None:
            params["channel_id"] = check_channel_id(channel_id)
        if module is not None:
            params["module"] = api_name(module)
        channels: builtins.list[WatchChannel] = []
        page = 1
        while True:
            parsed = await send_and_parse(
                self._transport,
                "GET",
                PATH,
                lambda body: parse_page(WatchChannel, body, "watch"),
                params={**params, "page": page},
            )
            channels.extend(parsed.data)
            if parsed.info is None or not parsed.info.more_records:
                return channels
            page += 1

    async def update(
        self,
        channel_id: str | int,
        *,
        events: Sequence[str] | None = None,
        notify_url: str | None = None,
        token: str | None = None,
        expiry: Expiry | None = None,
    ) -> builtins.list[ChannelSubscription]:
        """Change only the given details of a channel (``PATCH``); e.g. ``expiry`` to renew it."""
        entry = self._channel_entry(
            channel_id, events=events, notify_url=notify_url, token=token, expiry=expiry
        )
        if len(entry) == 1:
            raise ValidationError("update needs at least one of events, notify_url, token, expiry")
        results = await self._write("PATCH", [entry])
        return [sub for result in results for sub in _subscriptions(result)]

    async def replace(
        self,
        channel_id: str | int,
        events: Sequence[str],
        notify_url: str,
        token: str | None = None,
        expiry: Expiry | None = None,
    ) -> builtins.list[ChannelSubscription]:
        """Replace every detail of a channel (``PUT``): what is not given is dropped."""
        entry = self._channel_entry(
            channel_id, events=events, notify_url=notify_url, token=token, expiry=expiry
        )
        results = await self._write("PUT", [entry])
        return [sub for result in results for sub in _subscriptions(result)]

    async def remove_events(self, channel_id: str | int, events: Sequence[str]) -> builtins.list[WriteResult]:
        """Stop some events of a channel and keep the rest (``PATCH`` with ``_delete_events``)."""
        entry = {
            "channel_id": check_channel_id(channel_id),
            "events": check_events(events),
            "_delete_events": True,
        }
        return await self._write("PATCH", [entry])

    async def disable(self, *channel_ids: str | int) -> builtins.list[WriteResult]:
        """Delete channels; Bigin stops notifying them at once."""
        if not channel_ids:
            raise ValidationError("disable needs at least one channel id")
        ids = [check_channel_id(c) for c in channel_ids]
        return await self._write("DELETE", None, params={"channel_ids": ids})

    @asynccontextmanager
    async def keep_alive(
        self,
        channel_id: str | int,
        events: Sequence[str],
        notify_url: str,
        token: str | None = None,
        *,
        lifetime: timedelta = timedelta(hours=23),
        renew_every: timedelta = timedelta(hours=20),
        retry_every: timedelta | None = None,
        disable_on_exit: bool = True,
        on_renew: Callable[[KeptChannel], object] | None = None,
    ) -> AsyncIterator[KeptChannel]:
        """Enable a channel and keep renewing it for as long as the block runs.

        Each renewal moves the expiry ``lifetime`` ahead (at most a day; 23 h by default leaves
        room for clock skew), every ``renew_every``. A failed renewal is retried every
        ``retry_every`` (default: a tenth of ``renew_every``, at most a minute) until the
        channel would expire; a channel Bigin no longer knows is enabled again. On exit the
        channel is disabled (``disable_on_exit``), so a stopped service gets no more POSTs.
        """
        if renew_every >= lifetime:
            raise ValidationError(
                "renew_every must be shorter than lifetime, or the channel lapses between renewals"
            )
        retry = retry_every if retry_every is not None else min(renew_every / 10, timedelta(minutes=1))
        spec = _ChannelSpec(
            check_channel_id(channel_id),
            check_events(events),
            check_notify_url(notify_url),
            check_token(token) if token is not None else None,
        )
        kept = KeptChannel(spec.channel_id, await self._enable_spec(spec, lifetime))
        try:
            async with unwrapping_task_group() as tasks:
                tasks.start_soon(self._renew_forever, kept, spec, lifetime, renew_every, retry, on_renew)
                try:
                    yield kept
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            if disable_on_exit:
                with anyio.CancelScope(shield=True), anyio.move_on_after(self._transport.settings.timeout):
                    try:
                        await self.disable(kept.channel_id)
                    except BiginError as exc:
                        logger.warning(
                            "could not disable notification channel %s on exit: %s", kept.channel_id, exc
                        )

    async def _enable_spec(
        self, spec: _ChannelSpec, lifetime: timedelta
    ) -> builtins.list[ChannelSubscription]:
        return await self.enable(spec.channel_id, spec.events, spec.notify_url, spec.token, lifetime)

    async def _renew_forever(
        self,
        kept: KeptChannel,
        spec: _ChannelSpec,
        lifetime: timedelta,
        renew_every: timedelta,
        retry: timedelta,
        on_renew: Callable[[KeptChannel], object] | None,
    ) -> None:
        wait = renew_every
        while True:
            await anyio.sleep(wait.total_seconds())
            try:
                try:
                    kept.subscriptions = await self.update(kept.channel_id, expiry=lifetime)
                except (InvalidRequestError, NotFoundError) as exc:
                    # Bigin no longer knows the channel (it lapsed while we could not reach it):
                    # subscribe again rather than renewing nothing every 20 hours.
                    logger.warning(
                        "renewing channel %s failed (%s); enabling it again", kept.channel_id, exc.code
                    )
                    kept.subscriptions = await self._enable_spec(spec, lifetime)
            except BiginError as exc:
                kept.failures += 1
                logger.warning("renewing channel %s failed: %s; retrying in %s", kept.channel_id, exc, retry)
                wait = retry
                continue
            kept.renewals += 1
            wait = renew_every
            logger.info("renewed notification channel %s (renewal %d)", kept.channel_id, kept.renewals)
            if on_renew is not None:
                on_renew(kept)


@dataclass(frozen=True)
class _ChannelSpec:
    channel_id: str
    events: list[str]
    notify_url: str
    token: str | None


@dataclass
class KeptChannel:
    """A channel :meth:`NotificationsClient.keep_alive` holds open; updated by each renewal."""

    channel_id: str
    subscriptions: list[ChannelSubscription]
    renewals: int = 0
    failures: int = 0

    @property
    def expires_at(self) -> datetime | None:
        """The earliest expiry among the channel's modules (when Bigin stops notifying)."""
        times = [s.channel_expiry for s in self.subscriptions if s.channel_expiry is not None]
        return min(times) if times else None


# -- what Bigin POSTs -----------------------------------------------------------------------------


class InvalidNotificationError(BiginError):
    """An incoming notification body is not one Bigin would send (not JSON, keys missing, ...)."""


class NotificationTokenError(InvalidNotificationError):
    """The notification's token does not match the channel's: it is not from Bigin (or not ours)."""


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
