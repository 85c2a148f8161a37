"""``/actions/watch``: enable (POST), list (GET), replace (PUT), change (PATCH), disable (DELETE).

Shapes follow the recordings: the envelope key is ``watch`` for requests, lists and results;
enabling answers 201 with ``details.events[]`` (``subscribe_watch_201.json``); disabling answers
200 with ``details{resource_uri, resource_id, channel_id}`` (``unsubscribe_watch.json``); a list
entry carries ``fields``/``token`` as null when unset and ``info`` has only ``per_page, count,
page, more_records`` (``list_watches.json``); ``resource_uri`` names API v1. Each channel entry
fails alone (a per-entry error inside ``watch``), as record writes do. A channel without an expiry
lives two hours; an expiry more than a day ahead, or in the past, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bigin_emulator.ops.comparisons import parse_iso_datetime
from bigin_emulator.ops.wire import ApiError, record_error
from bigin_emulator.routes.http_input import id_list, read_json, write_items, write_status
from bigin_emulator.routes.responses import json_response, no_content
from bigin_emulator.state.context import EmulatorContext
from bigin_emulator.state.metadata import get_module
from bigin_emulator.state.watches import ACTIONS, DEFAULT_LIFETIME, MAX_LIFETIME, Channel, WatchRegistry

__all__ = ["watch_routes"]

PATH = "/bigin/v2/actions/watch"
MAX_TOKEN_LENGTH = 50
SUBSCRIBED = "Successfully subscribed for actions-watch of the given module"
UPDATED = "Successfully updated the subscribe details"
UNSUBSCRIBED = "Successfully un-subscribed from actions-watch"


class _Refused(Exception):
    def __init__(self, code: str, api_name: str, message: str | None = None) -> None:
        super().__init__(code)
        self.entry = record_error(code, {"api_name": api_name}, message)


@dataclass
class _Spec:
    """One validated request entry; ``None`` fields were not given."""

    channel_id: str
    events: dict[str, list[str]] | None  # module -> actions
    notify_url: str | None
    token: str | None
    token_given: bool
    expires_at: float | None
    related: bool | None
    affected_values: bool | None


def _channel_id(raw: dict[str, Any]) -> str:
    value = raw.get("channel_id")
    if value is None:
        raise _Refused("MANDATORY_NOT_FOUND", "channel_id", "required field not found")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.isdigit() or len(value) > 19:
        raise _Refused("INVALID_DATA", "channel_id", "the channel_id must be a number")
    return value


def _events(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, list) or not value:
        raise _Refused("INVALID_DATA", "events", "events must be a non-empty array")
    grouped: dict[str, list[str]] = {}
    for event in value:
        module, _, action = event.partition(".") if isinstance(event, str) else ("", "", "")
        if get_module(module) is None or action not in ACTIONS:
            raise _Refused("INVALID_DATA", "events", f"invalid event {event!r}")
        actions = grouped.setdefault(module, [])
        if action not in actions:
            actions.append(action)
    return grouped


def _expiry(value: Any, now: float) -> float:
    if not isinstance(value, str):
        raise _Refused("INVALID_DATA", "channel_expiry", "channel_expiry must be an ISO 8601 date-time")
    try:
        moment = parse_iso_datetime(value)
    except ValueError:
        raise _Refused(
            "INVALID_DATA", "channel_expiry", "channel_expiry must be an ISO 8601 date-time"
        ) from None
    if moment.tzinfo is None:
        raise _Refused("INVALID_DATA", "channel_expiry", "channel_expiry must carry a UTC offset")
    at = moment.timestamp()
    if at <= now:
        raise _Refused("INVALID_DATA", "channel_expiry", "channel_expiry must be in the future")
    if at - now > MAX_LIFETIME:
        raise _Refused("INVALID_DATA", "channel_expiry", "channel_expiry can be at most one day from now")
    return at


def _spec(raw: Any, now: float, *, require_all: bool) -> _Spec:
    if not isinstance(raw, dict):
        raise _Refused("INVALID_DATA", "watch", "each watch entry must be an object")
    channel_id = _channel_id(raw)
    if require_all:
        for name in ("events", "notify_url"):
            if raw.get(name) is None:
                raise _Refused("MANDATORY_NOT_FOUND", name, "required field not found")
    events = _events(raw["events"]) if raw.get("events") is not None else None
    notify_url = raw.get("notify_url")
    if notify_url is not None and (
        not isinstance(notify_url, str) or not notify_url.startswith(("http://", "https://"))
    ):
        raise _Refused("INVALID_DATA", "notify_url", "notify_url must be an http(s) URL")
    token = raw.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH):
        raise _Refused(
            "INVALID_DATA", "token", f"token must be a string of at most {MAX_TOKEN_LENGTH} characters"
        )
    expires_at = _expiry(raw["channel_expiry"], now) if raw.get("channel_expiry") is not None else None
    return _Spec(
        channel_id,
        events,
        notify_url,
        token,
        "token" in raw,
        expires_at,
        raw.get("notify_on_related_action"),
        raw.get("return_affected_field_values"),
    )


class _WatchHandlers:
    def __init__(self, ctx: EmulatorContext, watches: WatchRegistry) -> None:
        self.ctx = ctx
        self.watches = watches

    def resource_uri(self, request: Request, module: str) -> str:
        base = self.ctx.config.api_domain or str(request.base_url).rstrip("/")
        return f"{base}/bigin/v1/{module}"

    def subscribed(self, channels: list[Channel], message: str) -> dict[str, Any]:
        events = [
            {
                "channel_expiry": self.ctx.format_time(c.expires_at),
                "resource_uri": c.resource_uri,
                "resource_id": c.module_id,
                "resource_name": c.module,
                "channel_id": c.channel_id,
            }
            for c in channels
        ]
        return {"code": "SUCCESS", "details": {"events": events}, "message": message, "status": "success"}

    def listed(self, c: Channel) -> dict[str, Any]:
        return {
            "notify_on_related_action": c.notify_on_related_action,
            "channel_expiry": self.ctx.format_time(c.expires_at),
            "return_affected_field_values": c.return_affected_field_values,
            "resource_uri": c.resource_uri,
            "resource_id": c.module_id,
            "notify_url": c.notify_url,
            "resource_name": c.module,
            "fields": c.fields,
            "channel_id": c.channel_id,
            "events": c.events,
            "token": c.token,
        }

    def write(
        self, request: Request, spec: _Spec, base: list[Channel], replace_events: bool
    ) -> list[Channel]:
        """Store the channel ``spec`` describes, starting from ``base`` (its current modules)."""
        now = self.ctx.now()
        current = {c.module: c for c in base}
        template = base[0] if base else None
        modules = spec.events if spec.events is not None else {m: c.actions for m, c in current.items()}
        if replace_events or spec.events is not None:
            self.watches.remove(spec.channel_id)
        written = []
        for module, actions in modules.items():
            old = current.get(module) or template
            module_spec = get_module(module)
            assert module_spec is not None  # _events checked it
            channel = Channel(
                channel_id=spec.channel_id,
                module=module,
                module_id=module_spec.module_id,
                actions=list(actions),
                notify_url=spec.notify_url or (old.notify_url if old else ""),
                token=spec.token if spec.token_given or old is None else old.token,
                expires_at=spec.expires_at or (old.expires_at if old else now + DEFAULT_LIFETIME),
                resource_uri=self.resource_uri(request, module),
                notify_on_related_action=bool(
                    spec.related
                    if spec.related is not None
                    else (old.notify_on_related_action if old else False)
                ),
                return_affected_field_values=bool(
                    spec.affected_values
                    if spec.affected_values is not None
                    else (old.return_affected_field_values if old else False)
                ),
            )
            self.watches.put(channel)
            written.append(channel)
        return written

    # -- endpoints ----------------------------------------------------------------------------

    async def enable(self, request: Request) -> Response:
        entries = []
        for raw in write_items(await read_json(request), "watch"):
            try:
                spec = _spec(raw, self.ctx.now(), require_all=True)
                # Subscribing again replaces the channel: a restarted service re-enables safely.
                channels = self.write(request, spec, [], replace_events=True)
                entries.append(self.subscribed(channels, SUBSCRIBED))
            except _Refused as refused:
                entries.append(refused.entry)
        return json_response({"watch": entries}, write_status(entries, 201))

    async def change(self, request: Request) -> Response:
        replace = request.method == "PUT"
        entries = []
        for raw in write_items(await read_json(request), "watch"):
            try:
                spec = _spec(raw, self.ctx.now(), require_all=replace)
                current = self.watches.of(spec.channel_id)
                if not current:
                    raise _Refused("INVALID_DATA", "channel_id", "the given channel_id is not subscribed")
                if not replace and isinstance(raw, dict) and raw.get("_delete_events") is True:
                    entries.append(self.delete_events(spec))
                    continue
                channels = self.write(request, spec, [] if replace else current, replace_events=replace)
                entries.append(self.subscribed(channels, UPDATED))
            except _Refused as refused:
                entries.append(refused.entry)
        return json_response({"watch": entries}, write_status(entries, 200))

    def delete_events(self, spec: _Spec) -> dict[str, Any]:
        if spec.events is None:
            raise _Refused("MANDATORY_NOT_FOUND", "events", "required field not found")
        for channel in self.watches.of(spec.channel_id):
            dropped = spec.events.get(channel.module, [])
            channel.actions = [a for a in channel.actions if a not in dropped]
            if not channel.actions:
                self.watches.remove(channel.channel_id, channel.module)
        remaining = self.watches.of(spec.channel_id)
        return self.subscribed(remaining, UNSUBSCRIBED)

    async def disable(self, request: Request) -> Response:
        entries = []
        for channel_id in id_list(request.query_params.get("channel_ids"), "channel_ids"):
            removed = self.watches.remove(channel_id)
            if not removed:
                entries.append(record_error("INVALID_DATA", {"api_name": "channel_ids", "id": channel_id}))
                continue
            first = removed[0]
            details = {
                "resource_uri": first.resource_uri,
                "resource_id": first.module_id,
                "channel_id": channel_id,
            }
            entries.append(
                {"code": "SUCCESS", "details": details, "message": UNSUBSCRIBED, "status": "success"}
            )
        return json_response({"watch": entries}, write_status(entries, 200))

    async def list(self, request: Request) -> Response:
        query = request.query_params
        channels = self.watches.live()
        if query.get("channel_id"):
            channels = [c for c in channels if c.channel_id == query["channel_id"]]
        if query.get("module"):
            channels = [c for c in channels if c.module == query["module"]]
        try:
            page = int(query.get("page", "1"))
            per_page = int(query.get("per_page", "200"))
        except ValueError:
            raise ApiError(
                400, "INVALID_DATA", "page and per_page must be numbers", {"param": "page"}
            ) from None
        if page < 1 or not 1 <= per_page <= 200:
            raise ApiError(
                400, "INVALID_DATA", "page must be >= 1 and per_page 1..200", {"param": "per_page"}
            )
        chunk = channels[(page - 1) * per_page : page * per_page]
        if not chunk:
            return no_content()
        info = {
            "per_page": per_page,
            "count": len(chunk),
            "page": page,
            "more_records": page * per_page < len(channels),
        }
        return json_response({"watch": [self.listed(c) for c in chunk], "info": info})


def watch_routes(ctx: EmulatorContext, watches: WatchRegistry) -> list[Route]:
    handlers = _WatchHandlers(ctx, watches)
    return [
        Route(PATH, handlers.enable, methods=["POST"]),
        Route(PATH, handlers.list, methods=["GET"]),
        Route(PATH, handlers.change, methods=["PUT", "PATCH"]),
        Route(PATH, handlers.disable, methods=["DELETE"]),
    ]
