"""Watch channels (``/actions/watch``): how you make Bigin POST to your URL when records change.

A channel (a ``channel_id`` you choose, a number) subscribes a ``notify_url`` to events such as
``Contacts.create`` or ``Deals.all``; Bigin then POSTs there, echoing the channel's ``token`` so
the receiver can tell Bigin from a stranger (checking those POSTs is :mod:`bigin_async.webhooks`,
which needs no client). Two rules shape this module:

- a channel lives at most one day (two hours when no expiry is given), so a service that wants
  notifications for longer renews it: :meth:`NotificationsClient.keep_alive`;
- Bigin refuses a channel whose expiry is more than a day ahead, so the SDK refuses it first,
  with a message that says why, instead of a per-entry error after a round trip.

The token never shows in a repr (of a listed channel, a kept channel): it is kept as a
:class:`~bigin_async._redact.SecretText`, a ``str`` that compares and serialises as usual.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

from bigin_async._config import is_loopback
from bigin_async._redact import SecretText, get_logger, register_secret
from bigin_async._tasks import unwrapping_task_group
from bigin_async.errors import BiginError, InvalidRequestError, NotFoundError, ValidationError
from bigin_async.models import WatchChannel, WriteResult, parse_page
from bigin_async.models.base import BiginModel, Id
from bigin_async.models.modules import api_name
from bigin_async.resources._base import APIResource
from bigin_async.webhooks import check_channel_id

logger = get_logger("notifications")

if TYPE_CHECKING:
    from bigin_async._transport import Transport

__all__ = [
    "MAX_CHANNEL_LIFETIME",
    "ChannelSubscription",
    "Expiry",
    "KeptChannel",
    "NotificationsClient",
]

PATH = "/actions/watch"
MAX_CHANNEL_LIFETIME = timedelta(days=1)
MAX_TOKEN_LENGTH = 50
# "Contacts.create", "Pipelines.edit", "Accounts.delete", "Contacts.all".
_EVENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\.(create|edit|delete|all)\Z")

Expiry = datetime | timedelta


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# -- what the SDK checks before sending -----------------------------------------------------------


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


class NotificationsClient(APIResource):
    """``/actions/watch``. Get it as ``bigin.notifications``.

    ``clock`` is where an expiry given as a ``timedelta`` counts from (UTC now).
    """

    def __init__(self, transport: Transport, *, clock: Callable[[], datetime] = _utc_now) -> None:
        super().__init__(transport)
        self._clock = clock

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
        return await self._send_write(method, PATH, params=params, json=body, idempotent=True)

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
            parsed = await self._get(
                PATH, lambda body: parse_page(WatchChannel, body, "watch"), {**params, "page": page}
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
                            "could not disable notification channel %s on exit: %s",
                            kept.channel_id,
                            exc,
                            extra={
                                "bigin_event": "channel_disable_failed",
                                "bigin_channel_id": str(kept.channel_id),
                            },
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
                        "renewing channel %s failed (%s); enabling it again",
                        kept.channel_id,
                        exc.code,
                        extra={
                            "bigin_event": "channel_enabled_again",
                            "bigin_channel_id": str(kept.channel_id),
                        },
                    )
                    kept.subscriptions = await self._enable_spec(spec, lifetime)
            except BiginError as exc:
                kept.failures += 1
                logger.warning(
                    "renewing channel %s failed: %s; retrying in %s",
                    kept.channel_id,
                    exc,
                    retry,
                    extra={"bigin_event": "channel_renew_retry", "bigin_channel_id": str(kept.channel_id)},
                )
                wait = retry
                continue
            kept.renewals += 1
            wait = renew_every
            logger.debug(  # daily, by design: routine, so not at INFO
                "renewed notification channel %s (renewal %d)",
                kept.channel_id,
                kept.renewals,
                extra={"bigin_event": "channel_renewed", "bigin_channel_id": str(kept.channel_id)},
            )
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
