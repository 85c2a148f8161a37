"""The emulated org's notification channels, and what a record change turns into.

A channel subscribes one ``notify_url`` to events of one or more modules (``Contacts.create``,
``Contacts.edit``, ``Contacts.delete``, ``Contacts.all``); it is kept here as one ``Channel`` per
(channel id, module), which is also how Bigin lists them (``list_watches.json``). Channels expire:
two hours after subscribing when no expiry was given (recordings item 13), at most one day ahead.

When a write succeeds, ``announce_writes`` groups the written ids by operation and every live
channel watching that module and operation gets one payload, shaped like Zoho's notification body
(``server_time``, ``query_params``, ``module``, ``resource_uri``, ``ids``, ``affected_fields``,
``operation``, ``channel_id``, ``token``). The registry only builds payloads; ``sink`` (the
emulator's ``Notifier``) delivers them, so a write never waits for a webhook.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "ACTIONS",
    "DEFAULT_LIFETIME",
    "MAX_LIFETIME",
    "Channel",
    "Delivery",
    "Operation",
    "WatchRegistry",
    "announce_writes",
    "hide_url_secrets",
]

Operation = Literal["insert", "update", "delete"]
ACTIONS = ("create", "edit", "delete", "all")
_ACTION_OF: dict[str, str] = {"insert": "create", "update": "edit", "delete": "delete"}
# What each write operation (or an upsert entry's ``action``) announces.
_DONE: dict[str, Operation] = {"insert": "insert", "update": "update", "delete": "delete"}
DEFAULT_LIFETIME = 2 * 3600.0
MAX_LIFETIME = 86_400.0


HIDDEN = "***"
# Query parameters whose value is a secret: a channel's ``?token=``, a signed hook's ``?key=``.
_SECRET_PARAM = re.compile(r"token|secret|password|passwd|signature|sig$|key$|auth", re.IGNORECASE)


def hide_url_secrets(url: str) -> str:
    """``url`` with the values of secret-looking query parameters replaced by ``***``.

    A notify URL often carries the channel's token (``https://hooks.example/in?token=...``); the
    emulator shows such URLs in reprs and log lines, and neither may show the token.
    """
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = [
        (key, HIDDEN if _SECRET_PARAM.search(key) else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="*,")))


def _redacted_repr(self: Any) -> str:
    """The dataclass repr without the channel's token: not its field, not in a ``?token=`` of a URL."""
    shown = []
    for spec in fields(self):
        if spec.repr:
            value = getattr(self, spec.name)
            shown.append(f"{spec.name}={hide_url_secrets(value) if spec.name in _URL_FIELDS else value!r}")
    return f"{type(self).__name__}({', '.join(shown)})"


_URL_FIELDS = ("notify_url", "url")


@dataclass
class Channel:
    """One module watched by one channel id."""

    channel_id: str
    module: str
    module_id: str
    actions: list[str]
    notify_url: str
    token: str | None = field(repr=False)  # the channel's secret: Bigin echoes it in every POST
    expires_at: float
    resource_uri: str
    notify_on_related_action: bool = False
    return_affected_field_values: bool = False
    fields: list[str] | None = None

    __repr__ = _redacted_repr

    @property
    def events(self) -> list[str]:
        return [f"{self.module}.{action}" for action in self.actions]

    def watches(self, operation: str) -> bool:
        return "all" in self.actions or _ACTION_OF.get(operation) in self.actions


@dataclass(frozen=True)
class Delivery:
    """One POST to make: ``payload`` to ``url`` for ``channel_id``."""

    channel_id: str
    url: str
    payload: dict[str, Any] = field(hash=False, repr=False)  # carries the channel's token

    __repr__ = _redacted_repr


class WatchRegistry:
    """Every channel of one org; ``sink`` receives the deliveries a change causes."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.channels: dict[tuple[str, str], Channel] = {}
        self.sink: Callable[[Delivery], None] | None = None

    def live(self) -> list[Channel]:
        """Channels not yet expired (expired ones are forgotten here, as Bigin forgets them)."""
        now = self.clock()
        expired = [key for key, channel in self.channels.items() if channel.expires_at <= now]
        for key in expired:
            del self.channels[key]
        return list(self.channels.values())

    def of(self, channel_id: str) -> list[Channel]:
        return [c for c in self.live() if c.channel_id == channel_id]

    def put(self, channel: Channel) -> None:
        self.channels[(channel.channel_id, channel.module)] = channel

    def remove(self, channel_id: str, module: str | None = None) -> list[Channel]:
        removed = [c for c in self.of(channel_id) if module is None or c.module == module]
        for channel in removed:
            del self.channels[(channel.channel_id, channel.module)]
        return removed

    def record_changed(
        self, module: str, operation: Operation, changes: Sequence[tuple[str, dict[str, Any]]]
    ) -> None:
        """``changes`` are (record id, fields written) pairs of one successful write call."""
        if not self.channels or not changes:
            return
        now = self.clock()
        for channel in self.live():
            if channel.module != module or not channel.watches(operation):
                continue
            payload = _payload(channel, operation, changes, now)
            if self.sink is not None:
                self.sink(Delivery(channel.channel_id, channel.notify_url, payload))


def _payload(
    channel: Channel, operation: Operation, changes: Sequence[tuple[str, dict[str, Any]]], now: float
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "server_time": int(now * 1000),
        "query_params": dict(parse_qsl(urlsplit(channel.notify_url).query)),
        "module": channel.module,
        "resource_uri": channel.resource_uri,
        "ids": [record_id for record_id, _ in changes],
    }
    if operation == "update":
        payload["affected_fields"] = [{record_id: sorted(values)} for record_id, values in changes]
        if channel.return_affected_field_values:
            payload["affected_values"] = [
                {"record_id": record_id, "values": values} for record_id, values in changes
            ]
    payload.update({"operation": operation, "channel_id": channel.channel_id, "token": channel.token})
    return payload


def announce_writes(
    watches: WatchRegistry,
    module: str,
    operation: str,
    items: Sequence[Any],
    entries: Sequence[dict[str, Any]],
) -> None:
    """Tell the channels about the successful entries of one write call (one entry per item).

    The emulator registers this as a write listener (``ctx.write_listeners``). ``operation`` is
    insert, update, upsert or delete; an upsert announces its inserts and its updates separately,
    as the entries' ``action`` says.
    """
    if not watches.channels or (operation not in _DONE and operation != "upsert"):
        return  # no channels is the common case, and the one bulk benchmarks run: no work at all
    grouped: dict[Operation, list[tuple[str, dict[str, Any]]]] = {}
    for raw, entry in zip(items, entries, strict=False):
        details = entry.get("details")
        if entry.get("status") != "success" or not isinstance(details, dict) or "id" not in details:
            continue
        done = _DONE.get(str(entry.get("action")), "update") if operation == "upsert" else _DONE[operation]
        values = {k: v for k, v in raw.items() if k != "id"} if isinstance(raw, dict) else {}
        grouped.setdefault(done, []).append((str(details["id"]), values))
    for done, changes in grouped.items():
        watches.record_changed(module, done, changes)
