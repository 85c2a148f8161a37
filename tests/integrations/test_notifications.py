"""Notifications end to end: the SDK's watch calls, the emulator's channels, and the POSTs it makes.

In-process (no sockets): the emulator delivers to ASGI apps registered with
``register_webhook_app``; ``notifier.drain()`` waits for deliveries instead of sleeping.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest

from bigin_async import APIError, BiginClient, InvalidRequestError, ValidationError
from bigin_async._redact import redact_text
from bigin_async.models import WatchChannel
from bigin_async.webhooks import (
    InvalidNotificationError,
    NotificationTokenError,
    parse_notification,
)
from bigin_emulator import BiginEmulator
from tests.helpers.fixtures import load_fixture
from tests.helpers.receiver import Receiver

HOOK = "https://hooks.example/bigin/notifications"
TOKEN = "s3cret-token"


def hooked_emulator(receiver: Receiver, **kwargs: Any) -> BiginEmulator:
    emulator = BiginEmulator(**kwargs)
    emulator.notifier.backoff = 0.0
    emulator.register_webhook_app("https://hooks.example/", receiver)
    return emulator


# -- the wire: request and answers against the recordings -----------------------------------------


def recorded_transport(captured: list[httpx.Request]) -> httpx.MockTransport:
    answers = {
        "POST": (201, load_fixture("subscribe_watch_201.json")),
        "GET": (200, load_fixture("list_watches.json")),
        "DELETE": (200, load_fixture("unsubscribe_watch.json")),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        status, body = answers[request.method]
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


async def test_enable_sends_the_recorded_request_and_parses_the_recorded_answers() -> None:
    captured: list[httpx.Request] = []
    async with BiginClient(access_token="t", transport=recorded_transport(captured)) as bigin:
        subscriptions = await bigin.notifications.enable(
            "90210", ["Contacts.create"], "https://example.com/webhook"
        )
        channels = await bigin.notifications.list()
        removed = await bigin.notifications.disable("5550001112223")
    assert json.loads(captured[0].content) == load_fixture("subscribe_watch_request.json")
    assert captured[0].url.path == "/bigin/v2/actions/watch"
    assert [(s.channel_id, s.resource_name) for s in subscriptions] == [("90210", "Contacts")]
    assert subscriptions[0].channel_expiry == datetime(2026, 10, 9, 21, 7, 45, tzinfo=timezone.utc)
    assert channels[0].channel_id == "9876543210123" and channels[0].events == ["Contacts.create"]
    assert (
        channels[0].token is None and channels[0].resource_uri == "https://www.zohoapis.com/bigin/v1/Contacts"
    )
    assert captured[2].url.params["channel_ids"] == "5550001112223"
    assert removed[0].ok and removed[0].details["channel_id"] == "5550001112223"


# -- checks before sending ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expiry": datetime(2030, 1, 1)}, "timezone-aware"),
        ({"expiry": timedelta(hours=25)}, "more than one day"),
        ({"expiry": timedelta(seconds=-5)}, "not in the future"),
        ({"token": "x" * 51}, "at most 50"),
        ({"notify_url": "http://example.com/hook"}, "https"),
        ({"events": "Contacts.create"}, "list"),
        ({"events": ["Contacts.update"]}, "invalid event"),
        ({"channel_id": "abc"}, "digits"),
    ],
)
async def test_bad_channel_input_is_refused_before_sending(kwargs: dict[str, Any], message: str) -> None:
    captured: list[httpx.Request] = []
    args: dict[str, Any] = {"channel_id": "1", "events": ["Contacts.create"], "notify_url": HOOK, **kwargs}
    async with BiginClient(access_token="t", transport=recorded_transport(captured)) as bigin:
        with pytest.raises(ValidationError, match=message):
            await bigin.notifications.enable(**args)
    assert captured == []


async def test_a_loopback_http_url_and_an_expiry_just_under_a_day_are_accepted() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        subs = await bigin.notifications.enable(
            7, ["Contacts.all"], "http://127.0.0.1:9/hook", TOKEN, timedelta(hours=23, minutes=59)
        )
    assert subs[0].channel_id == "7"
    assert subs[0].channel_expiry is not None
    assert (
        timedelta(hours=23, minutes=58)
        < subs[0].channel_expiry - datetime.now(timezone.utc)
        <= timedelta(days=1)
    )


# -- the emulator's channels ----------------------------------------------------------------------


async def test_watch_crud_against_the_emulator() -> None:
    now = [1_800_000_000.0]
    emulator = BiginEmulator(clock=lambda: now[0])
    fixed = datetime.fromtimestamp(now[0], timezone.utc)
    async with emulator.client() as bigin:
        notifications = type(bigin.notifications)(
            bigin.transport, clock=lambda: datetime.fromtimestamp(now[0], timezone.utc)
        )
        subs = await notifications.enable("11", ["Contacts.create", "Accounts.edit"], HOOK, TOKEN)
        assert sorted(str(s.resource_name) for s in subs) == ["Accounts", "Contacts"]
        # No expiry given: two hours, as recorded (INDEX.md item 13).
        assert {s.channel_expiry for s in subs} == {fixed + timedelta(hours=2)}

        listed = await notifications.list()
        assert sorted((c.resource_name, tuple(c.events or ())) for c in listed) == [
            ("Accounts", ("Accounts.edit",)),
            ("Contacts", ("Contacts.create",)),
        ]
        assert all(c.token == TOKEN and c.notify_url == HOOK for c in listed)
        assert [c.resource_name for c in await notifications.list(module="Contacts")] == ["Contacts"]

        renewed = await notifications.update("11", expiry=timedelta(hours=20))
        assert {s.channel_expiry for s in renewed} == {fixed + timedelta(hours=20)}

        await notifications.update("11", events=["Contacts.create", "Contacts.edit"])
        listed = await notifications.list()
        assert [(c.resource_name, c.events) for c in listed] == [
            ("Contacts", ["Contacts.create", "Contacts.edit"])
        ]
        assert listed[0].channel_expiry == fixed + timedelta(hours=20)  # PATCH keeps what it was not given

        await notifications.remove_events("11", ["Contacts.create"])
        assert [c.events for c in await notifications.list()] == [["Contacts.edit"]]

        await notifications.replace("11", ["Contacts.delete"], HOOK + "?v=2")
        (replaced,) = await notifications.list()
        assert replaced.events == ["Contacts.delete"] and replaced.notify_url == HOOK + "?v=2"
        assert replaced.token is None  # PUT replaces everything it is not given

        results = await notifications.disable("11")
        assert results[0].ok and results[0].details["channel_id"] == "11"
        assert await notifications.list() == []
        with pytest.raises(InvalidRequestError):
            await notifications.disable("11")
        with pytest.raises(InvalidRequestError):
            await notifications.update("11", expiry=timedelta(hours=1))

        now[0] += 3 * 3600  # expired channels disappear from the list
        await notifications.enable("12", ["Contacts.edit"], HOOK, expiry=timedelta(hours=1))
    now[0] += 2 * 3600
    async with emulator.client() as bigin:
        assert await bigin.notifications.list() == []


async def test_emulator_answers_have_the_recorded_shapes() -> None:
    emulator = BiginEmulator()
    headers = {"Authorization": f"Zoho-oauthtoken {emulator.issue_token()}"}
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url="http://127.0.0.1", headers=headers
    ) as api:
        created = await api.post("/bigin/v2/actions/watch", json=load_fixture("subscribe_watch_request.json"))
        listed = await api.get("/bigin/v2/actions/watch")
        deleted = await api.delete("/bigin/v2/actions/watch", params={"channel_ids": "90210"})
        empty = await api.get("/bigin/v2/actions/watch")
    recorded_create = load_fixture("subscribe_watch_201.json")["watch"][0]
    assert created.status_code == 201
    entry = created.json()["watch"][0]
    assert list(entry) == list(recorded_create) and entry["message"] == recorded_create["message"]
    assert list(entry["details"]["events"][0]) == list(recorded_create["details"]["events"][0])
    assert entry["details"]["events"][0]["resource_uri"].endswith("/bigin/v1/Contacts")
    recorded_list = load_fixture("list_watches.json")
    assert list(listed.json()["watch"][0]) == list(recorded_list["watch"][0])
    assert list(listed.json()["info"]) == list(recorded_list["info"])
    recorded_delete = load_fixture("unsubscribe_watch.json")["watch"][0]
    assert deleted.status_code == 200
    assert list(deleted.json()["watch"][0]["details"]) == list(recorded_delete["details"])
    assert deleted.json()["watch"][0]["message"] == recorded_delete["message"]
    assert empty.status_code == 204


async def test_emulator_refuses_an_expiry_more_than_a_day_ahead_or_past() -> None:
    emulator = BiginEmulator()
    headers = {"Authorization": f"Zoho-oauthtoken {emulator.issue_token()}"}
    now = datetime.now(timezone.utc)
    bodies = [
        {"channel_id": "1", "events": ["Contacts.create"], "notify_url": HOOK,
         "channel_expiry": (now + timedelta(days=1, minutes=5)).isoformat()},
        {"channel_id": "2", "events": ["Contacts.create"], "notify_url": HOOK,
         "channel_expiry": (now - timedelta(minutes=5)).isoformat()},
        {"channel_id": "3", "events": ["Companies.create"], "notify_url": HOOK},
        {"channel_id": "4", "events": ["Contacts.create"]},
    ]  # fmt: skip
    async with httpx.AsyncClient(
        transport=emulator.transport(), base_url="http://127.0.0.1", headers=headers
    ) as api:
        answer = await api.post("/bigin/v2/actions/watch", json={"watch": bodies})
    assert answer.status_code == 400
    entries = answer.json()["watch"]
    assert [(e["code"], e["details"]["api_name"]) for e in entries] == [
        ("INVALID_DATA", "channel_expiry"),
        ("INVALID_DATA", "channel_expiry"),
        ("INVALID_DATA", "events"),
        ("MANDATORY_NOT_FOUND", "notify_url"),
    ]
    assert emulator.watches.live() == []


# -- deliveries -----------------------------------------------------------------------------------


async def test_a_failed_delivery_is_retried_and_the_payload_validates() -> None:
    receiver = Receiver(statuses=(500,))
    emulator = hooked_emulator(receiver)
    async with emulator.client() as bigin:
        await bigin.notifications.enable(
            "21", ["Contacts.create", "Contacts.edit"], HOOK + "?src=bigin", TOKEN
        )
        created = await bigin.contacts.create({"Last_Name": "Lovelace", "Email": "ada@example.com"})
        assert emulator.notifier.pending == 1  # queued by the write, not yet sent
        await emulator.notifier.drain()
        counters = emulator.notifier.counters
        assert (counters.attempts, counters.delivered, counters.retried, counters.failed) == (2, 1, 1, 0)
        assert counters.by_status == {500: 1, 200: 1}
        assert receiver.bodies[0] == receiver.bodies[1]  # the same notification, sent again

        event = parse_notification(json.dumps(receiver.bodies[-1]).encode(), TOKEN, expected_channel_id="21")
        assert (event.module, event.operation, event.ids, event.event) == (
            "Contacts",
            "insert",
            [created.id],
            "Contacts.create",
        )
        assert event.query_params == {"src": "bigin"} and event.server_time is not None

        await bigin.contacts.update(created.id or "", {"Phone": "555-010-0009"})
        await bigin.contacts.delete(created.id or "")  # Contacts.delete is not watched
        await emulator.notifier.drain()
    update = parse_notification(receiver.bodies[-1], TOKEN)
    assert (update.operation, update.event, update.fields_changed(created.id or "")) == (
        "update",
        "Contacts.edit",
        ["Phone"],
    )
    assert len(receiver.bodies) == 3


async def test_a_receiver_that_keeps_failing_is_given_up_after_max_attempts() -> None:
    receiver = Receiver(statuses=(503, 503, 503, 503, 503))
    emulator = hooked_emulator(receiver)
    async with emulator.client() as bigin:
        await bigin.notifications.enable("22", ["Contacts.all"], HOOK, TOKEN)
        await bigin.contacts.create({"Last_Name": "Hopper"})
        await emulator.notifier.drain()
    counters = emulator.notifier.counters
    assert (counters.attempts, counters.delivered, counters.failed) == (4, 0, 1)
    assert emulator.notifier.history[-1].ok is False and emulator.notifier.history[-1].status == 503


async def test_one_batch_write_is_one_notification_and_upserts_split_by_action() -> None:
    receiver = Receiver()
    emulator = hooked_emulator(receiver)
    async with emulator.client() as bigin, emulator.notifier.running():
        await bigin.notifications.enable("23", ["Contacts.all"], HOOK, TOKEN)
        first = await bigin.contacts.create({"Last_Name": "A", "Email": "a@example.com"})
        await bigin.request("POST", "/Contacts/upsert", json={
            "data": [
                {"Last_Name": "A2", "Email": "a@example.com"},
                {"Last_Name": "B", "Email": "b@example.com"},
            ],
            "duplicate_check_fields": ["Email"],
        })  # fmt: skip
        await emulator.notifier.drain()
    operations = sorted((b["operation"], len(b["ids"])) for b in receiver.bodies)
    assert operations == [("insert", 1), ("insert", 1), ("update", 1)]
    update = next(b for b in receiver.bodies if b["operation"] == "update")
    assert update["ids"] == [first.id] and update["affected_fields"] == [{first.id: ["Email", "Last_Name"]}]


async def test_keep_alive_renews_re_enables_a_lost_channel_and_disables_on_exit() -> None:
    emulator = BiginEmulator()
    renewed = anyio.Event()
    seen: list[int] = []

    def on_renew(kept: Any) -> None:
        seen.append(kept.renewals)
        if kept.renewals >= 3:
            renewed.set()

    async with emulator.client() as bigin:
        async with bigin.notifications.keep_alive(
            "31", ["Contacts.edit"], HOOK, TOKEN, lifetime=timedelta(hours=1),
            renew_every=timedelta(milliseconds=5), on_renew=on_renew,
        ) as kept:  # fmt: skip
            assert [c.channel_id for c in await bigin.notifications.list()] == ["31"]
            emulator.watches.remove("31")  # as if the channel lapsed: the next renewal enables it again
            with anyio.fail_after(10):
                await renewed.wait()
            assert [c.channel_id for c in await bigin.notifications.list()] == ["31"]
        assert kept.renewals >= 3 and seen[:3] == [1, 2, 3]
        assert kept.expires_at is not None and kept.expires_at > datetime.now(timezone.utc)
        assert await bigin.notifications.list() == []
    assert emulator.counters.requests_by_route.get("PATCH /bigin/v2/actions/watch", 0) >= 3


async def test_keep_alive_gives_back_the_block_s_own_exception() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        with pytest.raises(KeyError, match="boom"):
            async with bigin.notifications.keep_alive("32", ["Contacts.edit"], HOOK, TOKEN):
                raise KeyError("boom")
        assert await bigin.notifications.list() == []


# -- parsing what arrives -------------------------------------------------------------------------

SAMPLE = {
    "server_time": 1531904310044,
    "query_params": {},
    "module": "Contacts",
    "resource_uri": "https://www.zohoapis.com/bigin/v1/Contacts",
    "ids": ["7618134000000632028"],
    "affected_fields": [{"7618134000000632028": ["Email", "Last_Name"]}],
    "operation": "update",
    "channel_id": "1000000068001",
    "token": TOKEN,
}


def test_parse_notification_types_the_event() -> None:
    event = parse_notification(json.dumps(SAMPLE), TOKEN)
    assert event.ids == ["7618134000000632028"] and event.event == "Contacts.edit"
    assert event.server_time == datetime(2018, 7, 18, 8, 58, 30, 44000, tzinfo=timezone.utc)
    assert event.fields_changed("7618134000000632028") == ["Email", "Last_Name"]
    assert event.fields_changed("1") is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({**SAMPLE, "token": "wrong"}, NotificationTokenError),
        ({k: v for k, v in SAMPLE.items() if k != "token"}, NotificationTokenError),
        ({**SAMPLE, "ids": None}, InvalidNotificationError),
        ({k: v for k, v in SAMPLE.items() if k != "module"}, InvalidNotificationError),
        ("not json", InvalidNotificationError),
        ("[1, 2]", InvalidNotificationError),
    ],
)
def test_parse_notification_refuses_strangers_and_garbage(body: Any, error: type[Exception]) -> None:
    raw = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(error) as caught:
        parse_notification(raw, TOKEN)
    assert "wrong" not in str(caught.value)  # the received token is never echoed


def test_parse_notification_checks_the_channel_when_asked() -> None:
    with pytest.raises(InvalidNotificationError, match="channel"):
        parse_notification(SAMPLE, TOKEN, expected_channel_id="42")
    assert parse_notification(SAMPLE, TOKEN, expected_channel_id=1000000068001).channel_id == "1000000068001"


async def test_ui_module_names_in_events_are_sent_as_api_names() -> None:
    captured: list[httpx.Request] = []
    async with BiginClient(access_token="t", transport=recorded_transport(captured)) as bigin:
        await bigin.notifications.enable("5", ["Companies.edit", "Deals.all", "Accounts.edit"], HOOK)
    assert json.loads(captured[0].content)["watch"][0]["events"] == ["Accounts.edit", "Pipelines.all"]


# -- issue #9 item 27: the channel token never shows in a repr --------------------------------------


def test_a_listed_channel_and_an_event_keep_their_token_out_of_reprs() -> None:
    channel = WatchChannel.model_validate({"channel_id": "21", "events": ["Contacts.edit"], "token": TOKEN})
    event = parse_notification(SAMPLE, TOKEN)
    for shown in (
        repr(channel),
        str(channel),
        repr(event),
        str(event),
        repr([event]),
        repr(event.model_dump()),
    ):
        assert TOKEN not in shown, shown
    # Still the value itself: compared, serialised and sent as before.
    assert channel.token == TOKEN and event.token == TOKEN and isinstance(event.token, str)
    assert json.loads(event.model_dump_json())["token"] == TOKEN and f"{channel.token}" == TOKEN


async def test_channels_from_the_emulator_and_kept_channels_hide_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        await bigin.notifications.enable("41", ["Contacts.edit"], HOOK, TOKEN)
        channels = await bigin.notifications.list()
        async with bigin.notifications.keep_alive("42", ["Contacts.edit"], HOOK, TOKEN) as kept:
            shown = [repr(channels), repr(kept), repr(bigin.notifications)]
    assert [c.token for c in channels] == [TOKEN]
    for text in [*shown, *(r.getMessage() for r in caplog.records)]:
        assert TOKEN not in text, text


# -- issue #9 item 28: hostile bodies give the typed error, never a crash ----------------------------


def with_token(**changes: Any) -> dict[str, Any]:
    return {**SAMPLE, **changes}


def test_a_deeply_nested_body_is_a_typed_error() -> None:
    deep = f'{{"token": "{TOKEN}", "query_params": {"[" * 100_000 + "]" * 100_000}}}'
    with pytest.raises(InvalidNotificationError, match="nested"):
        parse_notification(deep, TOKEN)
    with pytest.raises(InvalidNotificationError):
        parse_notification(deep.encode(), TOKEN)
    nested: list[Any] = []
    node = nested
    for _ in range(100_000):
        node.append([])
        node = node[0]
    with pytest.raises(InvalidNotificationError, match="nested"):
        parse_notification(with_token(query_params={"x": nested}), TOKEN)


@pytest.mark.parametrize(
    "token", ["\ud800", "a\udfffb", 5, None, ["s3cret-token"], {"t": 1}, b"s3cret-token".decode() + "\x00"]
)
def test_an_odd_or_unencodable_token_is_a_mismatch(token: Any) -> None:
    for body in (with_token(token=token), json.dumps(with_token(token=token))):
        with pytest.raises(NotificationTokenError):
            parse_notification(body, TOKEN)


def test_a_raw_lone_surrogate_in_a_str_body_is_a_mismatch() -> None:
    with pytest.raises(NotificationTokenError):  # the str holds the surrogate itself, not its escape
        parse_notification('{"token": "\ud800", "module": "Contacts"}', TOKEN)
    with pytest.raises(InvalidNotificationError):  # and as bytes it is not even UTF-8
        parse_notification('{"token": "\ud800"}'.encode("utf-8", "surrogatepass"), TOKEN)


def test_a_body_over_max_bytes_is_refused_before_it_is_parsed() -> None:
    huge = b'{"token": "' + b"x" * (50 * 2**20) + b'"}'
    for body in (huge, huge.decode(), b"[" * (2 * 2**20)):
        with pytest.raises(InvalidNotificationError, match="max_bytes"):
            parse_notification(body, TOKEN)
    small = json.dumps(SAMPLE)
    with pytest.raises(InvalidNotificationError, match="max_bytes"):
        parse_notification(small, TOKEN, max_bytes=len(small) - 1)
    assert parse_notification(small, TOKEN, max_bytes=len(small)).channel_id == SAMPLE["channel_id"]
    # Counted in UTF-8 bytes, not characters: 300 three-byte characters are 900 bytes.
    wide = json.dumps({**SAMPLE, "resource_uri": "\u20ac" * 300}, ensure_ascii=False)
    with pytest.raises(InvalidNotificationError, match="max_bytes"):
        parse_notification(wide, TOKEN, max_bytes=len(wide) + 100)


@pytest.mark.parametrize(
    "changes",
    [
        {"module": "../settings"},
        {"module": "Contacts/../../settings"},
        {"module": ""},
        {"module": 5},
        {"ids": ["1e3"]},
        {"ids": [" 12"]},
        {"ids": ["\u0661\u0662\u0663"]},  # Arabic-Indic digits: str.isdigit() says yes, Bigin says no
        {"ids": ["12\n"]},
        {"ids": [1e3]},
        {"ids": [True]},
        {"ids": [-4]},
        {"ids": "123"},
        {"ids": ["../settings"]},
        {"channel_id": "12\n"},
        {"channel_id": "\u0661\u0662"},
        {"channel_id": 1.5},
        {"channel_id": "../x"},
        {"operation": ["update"]},
        {"server_time": "yesterday"},
        {"affected_fields": "Email"},
    ],
)
def test_module_names_ids_and_fields_are_checked_like_everywhere_else(changes: dict[str, Any]) -> None:
    for body in (with_token(**changes), json.dumps(with_token(**changes))):
        with pytest.raises(InvalidNotificationError) as caught:
            parse_notification(body, TOKEN)
        assert type(caught.value) is InvalidNotificationError  # the token was right: not a token error


def test_the_token_is_checked_before_anything_else_in_the_body() -> None:
    with pytest.raises(NotificationTokenError):
        parse_notification(with_token(token="wrong", module="../settings", ids=[{"deep": []}]), TOKEN)


# -- answers parsed inside the retry loop ----------------------------------------------------------
MALFORMED_ANSWERS = [
    b'{"watch": [{"channel_id": "1", "events"',  # cut short
    b"<html><body>502 from the proxy</body></html>",  # a proxy's page with a 200
    b'{"watch": "not a list"}',  # another shape
    b"[" * 100_000,  # nested thousands deep
]


def malformed_transport(body: bytes, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("body", MALFORMED_ANSWERS, ids=["cut", "html", "shape", "deep"])
async def test_a_malformed_watch_list_answer_is_retried_then_a_typed_error(body: bytes) -> None:
    seen: list[httpx.Request] = []
    async with BiginClient(
        access_token="t", transport=malformed_transport(body, seen), max_retries=2, retry_backoff_seconds=0.0
    ) as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.notifications.list()
    assert caught.value.code == "MALFORMED_RESPONSE"
    assert len(seen) == 3  # a read: the first try and both retries


@pytest.mark.parametrize("body", MALFORMED_ANSWERS, ids=["cut", "html", "shape", "deep"])
async def test_a_malformed_watch_write_answer_is_retried_then_a_typed_error(body: bytes) -> None:
    seen: list[httpx.Request] = []
    async with BiginClient(
        access_token="t", transport=malformed_transport(body, seen), max_retries=1, retry_backoff_seconds=0.0
    ) as bigin:
        with pytest.raises(APIError) as caught:
            await bigin.notifications.enable(
                "90210", ["Contacts.create"], "https://example.com/webhook", TOKEN
            )
        assert caught.value.code == "MALFORMED_RESPONSE"
        assert len(seen) == 2  # enabling a channel again converges: it is retried like a read
        assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
        seen.clear()
        with pytest.raises(APIError):
            await bigin.notifications.disable("90210")
        assert len(seen) == 2


async def test_a_failed_channel_entry_is_still_its_typed_error_and_not_retried() -> None:
    seen: list[httpx.Request] = []
    answer = {
        "watch": [{"code": "INVALID_DATA", "status": "error", "message": "bad", "details": {"api_name": "x"}}]
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    async with BiginClient(access_token="t", transport=httpx.MockTransport(handler), max_retries=3) as bigin:
        with pytest.raises(InvalidRequestError) as caught:
            await bigin.notifications.enable("90210", ["Contacts.create"], "https://example.com/webhook")
    assert caught.value.code == "INVALID_DATA"
    assert str(caught.value.url).endswith("/actions/watch")
    assert len(seen) == 1


async def test_a_channel_token_sent_is_redacted_by_value_even_without_a_label() -> None:
    token = "unlabelled-chan-token-4242"
    captured: list[httpx.Request] = []
    async with BiginClient(access_token="t", transport=recorded_transport(captured)) as bigin:
        await bigin.notifications.enable("90210", ["Contacts.create"], "https://example.com/webhook", token)
    assert json.loads(captured[0].content)["watch"][0]["token"] == token  # sent as given
    assert token not in redact_text(f"the receiver answered: {token} is unknown")


# -- issue 10 item 5: receiving (webhooks) apart from managing channels ----------------------------


async def test_the_former_import_path_gives_the_same_objects_as_their_new_homes() -> None:
    """``bigin_async.resources.notifications`` re-exports every name it had; ``bigin_async`` too."""
    import bigin_async
    from bigin_async import errors, webhooks
    from bigin_async.resources import channels, notifications

    assert set(notifications.__all__) == {
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
    }
    for name in notifications.__all__:
        homes = [module for module in (webhooks, channels, errors) if name in module.__all__]
        assert homes, name
        assert all(getattr(home, name) is getattr(notifications, name) for home in homes), name
    assert webhooks.NotificationTokenError is errors.NotificationTokenError
    assert issubclass(errors.NotificationTokenError, errors.InvalidNotificationError)
    for name in ("InvalidNotificationError", "NotificationTokenError", "NotificationEvent"):
        assert getattr(bigin_async, name) is getattr(notifications, name)
    assert bigin_async.parse_notification is webhooks.parse_notification
    async with BiginClient(access_token="t") as bigin:
        assert type(bigin.notifications) is channels.NotificationsClient
