"""Adversarial review of issue 13's SDK surface: attachments, files, tags, users, links, the CLI.

Each test states a promise of the issue (no record lost or doubled, results in input order, bad
input refused before sending, no secret shown, file names that cannot clash) and checks it
under a fault: a lost answer, an answer out of order, hostile or missing names.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from bigin_async import AmbiguousWriteError, BiginClient, BiginError, Upload, ValidationError
from bigin_async._download import safe_filename
from bigin_async.cli import attachments as cli_attachments
from bigin_async.cli.attachments import AttachmentsOptions, run_attachments
from bigin_async.errors import AmbiguousUploadError
from bigin_async.models.attachments import Attachment
from bigin_async.resources.attachments import AttachmentsClient
from bigin_emulator import BiginEmulator
from tests.helpers.lost_answers import LoseAnswers
from tests.helpers.resources import Scripted, answer, scripted, scripted_client

RECORD = "4150868000000224005"
TOKEN = "1000.secret-access-token-issue13.review"


def contact(emulator: BiginEmulator) -> str:
    return str(emulator.insert_records("Contacts", [{"Last_Name": "Review"}])[0]["details"]["id"])


def page(data: list[dict[str, Any]], number: int = 1, more: bool = False) -> httpx.Response:
    info = {"per_page": 200, "count": len(data), "page": number, "more_records": more}
    return answer(200, {"data": data, "info": info})


# -- the CLI: names that must not clash --------------------------------------------------------------


def test_cli_two_attachments_of_one_name_at_the_longest_length_get_two_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two attachments listed under one name of the longest length a file may have: the second
    must get ``name (2).ext``. ``_unique_name`` adds `` (2)`` then ``safe_filename`` cuts the
    stem back to the longest length, removing exactly what was added: the same name again, for
    every number, forever (``bigin attachments download`` hangs). Counted here, not waited for."""
    real = safe_filename
    calls = 0

    def counted(name: str | None, default: str = "download") -> str:
        nonlocal calls
        calls += 1
        if calls > 100:
            raise RuntimeError("_unique_name never finds a free name")
        return real(name, default)

    monkeypatch.setattr(cli_attachments, "safe_filename", counted)
    longest = "a" * (255 - len(".12345678.part") - len(".pdf")) + ".pdf"
    assert real(longest) == longest  # a name safe_filename keeps as it is
    taken: set[str] = set()
    first = cli_attachments._unique_name(longest, taken)
    second = cli_attachments._unique_name(longest, taken)
    assert first == longest and second != first and second.endswith(".pdf")


def _download_server(listed: list[dict[str, Any]], bodies: dict[str, tuple[bytes, str]]) -> Scripted:
    """A fake Bigin listing ``listed`` and serving each attachment's body under a server name."""

    def route(request: httpx.Request) -> httpx.Response:
        tail = request.url.path.rsplit("/", 1)[-1]
        if tail == "Attachments":
            return page(listed)
        body, name = bodies[tail]
        return httpx.Response(
            200,
            content=body,
            headers={
                "Content-Type": "application/pdf",
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )

    return Scripted(route)


async def _cli_download(script: Scripted, to: Path) -> tuple[bool, str, str]:
    out, err = io.StringIO(), io.StringIO()
    options = AttachmentsOptions(action="download", module="Contacts", record_id=RECORD, to=to)
    async with scripted_client(script) as client:
        ok = await run_attachments(
            client, options, Console(file=out, width=200), Console(file=err, width=200)
        )
    return ok, out.getvalue(), err.getvalue()


async def test_cli_attachments_listed_without_a_name_do_not_overwrite_each_other(tmp_path: Path) -> None:
    """Two attachments listed without ``File_Name`` (Zoho sends nulls for unset fields) whose
    downloads carry one server name: the CLI saves each into the directory under the server's
    name, outside its ``name (2).ext`` bookkeeping, so the second replaces the first and the run
    says both were saved (exit 0): a file lost without a word."""
    listed = [{"id": "1001", "File_Name": None}, {"id": "1002", "File_Name": None}]
    script = _download_server(listed, {"1001": (b"first contract", "c.pdf"), "1002": (b"second", "c.pdf")})
    ok, out, err = await _cli_download(script, tmp_path)
    saved = sorted(path.read_bytes() for path in tmp_path.iterdir())
    assert saved == [b"first contract", b"second"], (ok, out, err)


async def test_cli_a_nameless_attachment_does_not_overwrite_one_saved_under_its_listed_name(
    tmp_path: Path,
) -> None:
    """A listed ``c.pdf`` saved first, then an attachment listed without a name whose download is
    named ``c.pdf`` by the server: the second lands on the first."""
    listed: list[dict[str, Any]] = [{"id": "1001", "File_Name": "c.pdf"}, {"id": "1002", "File_Name": None}]
    script = _download_server(listed, {"1001": (b"listed", "c.pdf"), "1002": (b"nameless", "c.pdf")})
    ok, out, err = await _cli_download(script, tmp_path)
    saved = sorted(path.read_bytes() for path in tmp_path.iterdir())
    assert saved == [b"listed", b"nameless"], (ok, out, err)


async def test_cli_hostile_listed_names_stay_inside_the_directory(tmp_path: Path) -> None:
    target = tmp_path / "out"
    listed = [
        {"id": "1001", "File_Name": "../../escape.txt"},
        {"id": "1002", "File_Name": ".bashrc"},
        {"id": "1003", "File_Name": "ESCAPE.txt"},
    ]
    bodies = {"1001": (b"a", "x"), "1002": (b"b", "x"), "1003": (b"c", "x")}
    ok, _, err = await _cli_download(_download_server(listed, bodies), target)
    assert ok, err
    assert sorted(p.name for p in target.iterdir()) == ["ESCAPE (2).txt", "bashrc", "escape.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# -- tags: results line up with what was sent -------------------------------------------------------


async def test_tags_created_keep_their_own_colour_when_zoho_answers_in_another_order() -> None:
    """Zoho's answer names each tag it created; answered in another order than sent, the SDK pairs
    results with the tags sent by position, so tag "b" comes back with "a"'s colour and first in
    the list (and "a" with "b"'s): the returned tags no longer describe what Bigin holds."""
    created = {
        "tags": [
            {"code": "SUCCESS", "details": {"id": "2", "name": "b"}, "message": "ok", "status": "success"},
            {"code": "SUCCESS", "details": {"id": "1", "name": "a"}, "message": "ok", "status": "success"},
        ]
    }
    async with scripted(answer(201, created)) as (client, requests):
        tags = await client.tags.create(
            "Contacts", [{"name": "a", "color_code": "#1DB9B4"}, {"name": "b", "color_code": "#F48435"}]
        )
    assert len(requests) == 1
    assert [(t.name, t.id, t.color_code) for t in tags] == [("a", "1", "#1DB9B4"), ("b", "2", "#F48435")]


async def test_a_tag_create_with_nothing_to_create_sends_nothing() -> None:
    async with scripted(answer(201, {"tags": []})) as (client, requests):
        with pytest.raises(ValidationError):
            await client.tags.create("Contacts", [])
    assert requests == []


# -- users: a success that names no user -------------------------------------------------------------


async def test_a_user_added_without_an_id_in_the_answer_is_not_reported_as_a_plain_success() -> None:
    """``users.create`` says "the result's id is theirs"; an answer that accepts the user but names
    no id (a shape Zoho does not document) comes back as ``ok`` with ``id=None``. Attachments
    treat the same answer as ambiguous (the user may exist under an id nobody knows); here the
    caller cannot tell, and the empty answer already raises: the two should agree."""
    accepted = {"users": [{"code": "SUCCESS", "details": {}, "message": "User added", "status": "success"}]}
    async with scripted(answer(201, accepted)) as (client, requests):
        try:
            result = await client.users.create({"last_name": "Byron", "email": "ada@example.com"})
        except AmbiguousWriteError:
            result = None
    assert len(requests) == 1
    assert result is None or result.id is not None, result


# -- the typed models against Zoho's shapes -----------------------------------------------------------


def test_an_attachment_reads_zohos_shapes() -> None:
    file = Attachment.model_validate(
        {
            "id": "5",
            "File_Name": "a.pdf",
            "Size": "1234",
            "$type": "Attachment",
            "$file_id": "enc",
            "$se_module": "Deals",
            "Owner": None,
            "Created_Time": None,
            "$editable": True,
        }
    )
    assert (file.Size, file.type, file.file_id, file.module, file.is_link) == (
        1234,
        "Attachment",
        "enc",
        "Deals",
        False,
    )
    link = Attachment.model_validate(
        {"id": "6", "$type": "Link URL", "$link_url": "https://x.example", "Size": None}
    )
    assert link.is_link and link.Size is None and link.link_url == "https://x.example"


async def test_attachments_walk_page_2_and_an_empty_answer() -> None:
    one = [{"id": "1", "File_Name": "a"}, {"id": "2", "File_Name": "b"}]
    two = [{"id": "3", "File_Name": "c"}]
    async with scripted(page(one, 1, True), page(two, 2, False)) as (client, requests):
        seen = [a.id async for a in client.deals.attachments(RECORD).list(per_page=2)]
    assert seen == ["1", "2", "3"] and [r.url.params["page"] for r in requests] == ["1", "2"]
    async with scripted(answer(204)) as (client, requests):
        assert [a async for a in client.contacts.attachments(RECORD).list()] == []
    assert len(requests) == 1


async def test_a_repeated_page_of_attachments_does_not_hand_out_attachments_twice() -> None:
    """Asked for page 2, the server answers page 1 again (its ``info.page`` says 1, the same ids):
    a cache or proxy in the way, or a list that moved. The paginator hands the same attachments
    out twice (1, 2, 1, 2, 3): a caller downloading or deleting each acts twice. It should
    refuse the repeated page (or at least never yield an id twice)."""
    one = [{"id": "1", "File_Name": "a"}, {"id": "2", "File_Name": "b"}]
    two = [{"id": "3", "File_Name": "c"}]
    script = (page(one, 1, True), page(one, 1, True), page(two, 3, False))
    seen: list[str] = []
    async with scripted(*script) as (client, requests):
        try:
            async for attachment in client.deals.attachments(RECORD).list(per_page=2):
                seen.append(attachment.id)
        except Exception as error:  # a refused repeat is fine: what matters is what was handed out
            assert not isinstance(error, AssertionError)
    assert len(seen) == len(set(seen)), seen


# -- lost answers against the emulator ------------------------------------------------------------


async def test_an_attachment_upload_whose_answer_is_lost_is_ambiguous_sent_once_no_token_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    path = tmp_path / "contract.pdf"
    path.write_bytes(b"%PDF " * 1000)
    lossy = LoseAnswers(emulator.transport(), "POST", f"/bigin/v2/Contacts/{record}/Attachments")
    caplog.set_level(logging.DEBUG)
    async with emulator.client(transport=lossy, retry_backoff_seconds=0) as client:
        with pytest.raises(AmbiguousWriteError) as raised:
            await client.contacts.attachments(record).upload(path)
        listed = [a async for a in client.contacts.attachments(record).list()]
    assert lossy.lost == 1
    assert [a.File_Name for a in listed] == ["contract.pdf"]  # stored once, not re-sent
    shown = repr(raised.value) + str(raised.value) + caplog.text
    assert emulator.client_secret not in shown and emulator.refresh_token not in shown


async def test_a_lost_upload_answer_shows_no_access_token(caplog: pytest.LogCaptureFixture) -> None:
    lost = httpx.RemoteProtocolError("server disconnected without sending a response")
    script = Scripted(lost)
    caplog.set_level(logging.DEBUG)
    async with BiginClient(
        access_token=TOKEN, api_domain="http://127.0.0.1", transport=script, retry_backoff_seconds=0
    ) as client:
        with pytest.raises(AmbiguousWriteError) as raised:
            await client.deals.attachments(RECORD).upload(b"%PDF", filename="a.pdf")
        with pytest.raises(AmbiguousWriteError) as linked:
            await client.deals.attachments(RECORD).attach_link("https://x.example/a", title="A")
    assert len(script.requests) == 2  # each sent once
    assert script.requests[0].headers["Authorization"].endswith(TOKEN)  # the token was in play
    for shown in (repr(raised.value), str(raised.value), repr(linked.value), str(linked.value), caplog.text):
        assert TOKEN not in shown


async def test_an_attachment_delete_whose_answer_is_lost_is_a_flagged_success() -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    async with emulator.client(retry_backoff_seconds=0) as client:
        attached = await client.contacts.attachments(record).upload(b"x" * 10, filename="x.txt")
    assert attached.id is not None
    lossy = LoseAnswers(emulator.transport(), "DELETE")
    async with emulator.client(transport=lossy, retry_backoff_seconds=0) as client:
        result = await client.contacts.attachments(record).delete(attached.id)
        left = [a async for a in client.contacts.attachments(record).list()]
    assert lossy.lost == 1 and result.ok and left == []


async def test_1200_records_tagged_with_the_second_answer_lost_all_succeed_once(
    emulator: BiginEmulator,
) -> None:
    ids = [
        str(r["details"]["id"])
        for r in emulator.insert_records("Contacts", [{"Last_Name": f"T{n}"} for n in range(1200)])
    ]
    lossy = LoseAnswers(emulator.transport(), "POST", "/bigin/v2/Contacts/actions/add_tags")
    lossy.count = 1
    calls: list[int] = []

    class SecondLost(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/add_tags"):
                calls.append(1)
                if len(calls) == 2:
                    return await lossy.handle_async_request(request)
            return await emulator.transport().handle_async_request(request)

    async with emulator.client(transport=SecondLost(), retry_backoff_seconds=0) as client:
        spent = client.credits.spent_total
        results = await client.contacts.add_tags(ids, ["vip"])
        spent = client.credits.spent_total - spent
    assert lossy.lost == 1 and len(calls) == 4
    assert [r.id for r in results] == ids and all(r.ok for r in results)
    assert spent == 4  # 3 calls and the one retried, 1 credit each


async def test_twelve_files_with_the_second_call_lost_say_which_have_ids(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    files = []
    for n in range(12):
        path = tmp_path / f"f{n:02}.txt"
        path.write_bytes(f"file {n}".encode())
        files.append(path)
    calls: list[int] = []
    lossy = LoseAnswers(emulator.transport(), "POST", "/bigin/v2/files")

    class SecondLost(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/files"):
                calls.append(1)
                if len(calls) == 2:
                    return await lossy.handle_async_request(request)
            return await emulator.transport().handle_async_request(request)

    async with emulator.client(transport=SecondLost(), retry_backoff_seconds=0) as client:
        with pytest.raises(AmbiguousUploadError) as raised:
            await client.files.upload(*files)
    error = raised.value
    assert len(calls) == 2 and lossy.lost == 1
    assert [f.name for f in error.uploaded] == [p.name for p in files[:10]]
    assert list(error.records) == files[10:] and list(error.not_sent) == []


async def test_a_tag_merge_whose_answer_is_lost_is_not_sent_again() -> None:
    lost = httpx.RemoteProtocolError("server disconnected without sending a response")
    async with scripted(lost) as (client, requests):
        with pytest.raises(AmbiguousWriteError):
            await client.tags.merge("111", "222")
    assert len(requests) == 1


# -- bad input: a typed error before anything is sent -------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.contacts.link(RECORD, "Products", ["1001", "1001"]),
        lambda c: c.contacts.unlink(RECORD, "Products", []),
        lambda c: c.contacts.attachments(RECORD).attach_link("javascript:alert(1)"),
        lambda c: c.contacts.attachments(RECORD).attach_link("https://x.example", title="a\nb"),
        lambda c: c.contacts.attachments(RECORD).upload(12345),
        lambda c: c.contacts.add_tags([], ["vip"]),
        lambda c: c.contacts.add_tags(["1001"], []),
        lambda c: c.files.upload(),
        lambda c: c.tags.merge("111", "111"),
        lambda c: c.tags.update("Contacts", "111"),
        lambda c: c.users.delete("../1"),
        lambda c: c.contacts.deals(RECORD, pipeline_id="x y"),
    ],
)
async def test_bad_input_is_refused_before_anything_is_sent(call: Any) -> None:
    async with scripted(answer(200, {"data": []})) as (client, requests):
        with pytest.raises(ValidationError):
            result = call(client)
            if hasattr(result, "__aiter__"):
                [item async for item in result]
            else:
                await result
    assert requests == []


async def test_deleted_with_an_unknown_bin_sends_nothing() -> None:
    async with scripted(answer(200, {"data": []})) as (client, requests):
        with pytest.raises(ValidationError):
            [d async for d in client.contacts.deleted(type="trash")]  # type: ignore[arg-type]
    assert requests == []


# -- link: results in input order ----------------------------------------------------------------


async def test_link_results_are_lined_up_with_the_ids_when_zoho_answers_out_of_order() -> None:
    def entry(i: str, code: str = "SUCCESS") -> dict[str, Any]:
        status = "success" if code == "SUCCESS" else "error"
        return {"code": code, "details": {"id": i}, "message": "relation updated", "status": status}

    body = {"data": [entry("3"), entry("1", "INVALID_DATA"), entry("2")]}
    async with scripted(answer(200, body)) as (client, requests):
        results = await client.contacts.link(RECORD, "Products", ["1", "2", "3"])
    assert [(r.id, r.ok) for r in results] == [("1", False), ("2", True), ("3", True)]
    assert len(requests) == 1 and json.loads(requests[0].content) == {
        "data": [{"id": "1"}, {"id": "2"}, {"id": "3"}]
    }


async def test_a_link_answer_that_omits_an_id_is_never_a_success_for_it() -> None:
    body = {"data": [{"code": "SUCCESS", "details": {"id": "1"}, "message": "ok", "status": "success"}]}
    async with scripted(answer(200, body)) as (client, requests):
        with pytest.raises(Exception) as raised:
            await client.contacts.link(RECORD, "Products", ["1", "2"])
    assert not isinstance(raised.value, AssertionError)
    assert len(requests) >= 1


def test_attachments_client_names_and_docstrings() -> None:
    for name in ("list", "upload", "attach_link", "download", "delete"):
        method = getattr(AttachmentsClient, name)
        assert method.__doc__ and "reference" not in method.__doc__.lower()
    client = BiginClient(access_token=TOKEN, api_domain="http://127.0.0.1")
    assert TOKEN not in repr(client) and TOKEN not in repr(client.deals.attachments(RECORD))


# -- settings: custom views and related lists ------------------------------------------------------


def views(*ids: str, more: bool, number: int) -> httpx.Response:
    data = [{"id": i, "name": f"View {i}", "display_value": f"View {i}"} for i in ids]
    info = {"per_page": 200, "count": len(data), "page": number, "more_records": more}
    return answer(200, {"custom_views": data, "info": info})


async def test_custom_views_read_every_page() -> None:
    async with scripted(views("1", "2", more=True, number=1), views("3", more=False, number=2)) as (
        client,
        requests,
    ):
        got = await client.settings.custom_views("Contacts")
    assert [v.id for v in got] == ["1", "2", "3"]
    assert [r.url.params["page"] for r in requests] == ["1", "2"]
    assert all(r.url.params["module"] == "Contacts" for r in requests)


async def test_custom_views_past_a_repeated_page_are_not_dropped_without_a_word() -> None:
    """Page 2 answers page 1's views again while ``more_records`` stays true, page 3 has a new view:
    ``custom_views`` stops at the repeat and returns views 1 and 2 as if that were all, so view 3
    is lost silently (the paginator of records would at least go on). A repeat should raise (or
    be stepped over), never end the list as complete."""
    script = (
        views("1", "2", more=True, number=1),
        views("1", "2", more=True, number=1),
        views("3", more=False, number=3),
    )
    async with scripted(*script) as (client, requests):
        try:
            got: list[str] | None = [v.id for v in await client.settings.custom_views("Contacts")]
        except Exception as error:
            assert not isinstance(error, AssertionError)
            got = None  # refused: the caller knows the list is not whole
    assert got is None or got == ["1", "2", "3"], got


async def test_empty_answers_of_the_settings_lists_are_empty_lists() -> None:
    async with scripted(answer(204)) as (client, requests):
        assert await client.settings.custom_views("Contacts") == []
        assert await client.settings.related_lists("Deals") == []
        assert await client.tags.list("Contacts") == []
    assert [r.url.params["module"] for r in requests] == ["Contacts", "Pipelines", "Contacts"]


async def test_deleted_records_walk_page_2_and_read_zohos_entries() -> None:
    entry = {
        "id": "11",
        "display_name": "Ada",
        "type": "recycle",
        "deleted_by": {"name": "Admin", "id": "9"},
        "deleted_time": "2026-12-01T10:00:00+05:30",
        "created_by": {"name": "Admin", "id": "9"},
        "$unknown": 1,
    }
    second = {**entry, "id": "12", "deleted_by": None, "display_name": None}
    info = {"per_page": 1, "count": 1, "page": 1, "more_records": True}
    pages = (
        answer(200, {"data": [entry], "info": info}),
        answer(200, {"data": [second], "info": {**info, "page": 2, "more_records": False}}),
    )
    async with scripted(*pages) as (client, requests):
        got = [d async for d in client.contacts.deleted(type="recycle", per_page=1)]
    assert [d.id for d in got] == ["11", "12"]
    assert got[0].deleted_by is not None and got[1].deleted_by is None
    assert [(r.url.params["type"], r.url.params["page"]) for r in requests] == [
        ("recycle", "1"),
        ("recycle", "2"),
    ]


async def test_a_download_of_a_bad_attachment_id_is_refused_before_sending(tmp_path: Path) -> None:
    async with scripted(answer(200, {})) as (client, requests):
        for bad in ("../1", "", "1 2"):
            with pytest.raises(ValidationError):
                client.deals.attachments(RECORD).download(bad)
            with pytest.raises(ValidationError):
                await client.deals.attachments(RECORD).download(bad, to=tmp_path)
            with pytest.raises(ValidationError):
                await client.deals.attachments(RECORD).delete(bad)
    assert requests == []


async def test_a_photo_that_is_not_there_is_not_found_and_leaves_no_file(tmp_path: Path) -> None:
    from bigin_async import NotFoundError

    async with scripted(answer(204)) as (client, requests):
        with pytest.raises(NotFoundError):
            await client.contacts.photo(RECORD).download(to=tmp_path / "face.png")
    assert list(tmp_path.iterdir()) == [] and len(requests) == 1


# -- the CLI under a lost upload answer ---------------------------------------------------------------


async def test_cli_upload_with_a_lost_answer_says_unknown_goes_on_and_sends_each_once(tmp_path: Path) -> None:
    from tests.helpers.cli import bigin

    emulator = BiginEmulator()
    record = contact(emulator)
    first, second = tmp_path / "one.pdf", tmp_path / "two.pdf"
    first.write_bytes(b"1" * 100)
    second.write_bytes(b"2" * 100)
    emulator.file_faults.drop_upload_answers = 1
    run = await bigin(emulator, "attachments", "upload", "Contacts", record, str(first), str(second))
    assert run.code == 1
    assert f"unknown: {first}" in run.err and f"uploaded {second}" in run.out
    stored = [r async for r in _listed(emulator, record)]
    assert sorted(a.File_Name or "" for a in stored) == ["one.pdf", "two.pdf"]  # each once


async def _listed(emulator: BiginEmulator, record: str) -> Any:
    async with emulator.client() as client:
        async for attachment in client.contacts.attachments(record).list():
            yield attachment


# -- a photo from a stream that cannot be read twice ----------------------------------------------


class _Pipe:
    """A binary stream that cannot seek (a pipe, a socket): read once."""

    name = "face.png"

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        out, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return out

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True


class _ReadThenLose(httpx.AsyncBaseTransport):
    """Reads each request whole (the server took it), then loses the first answer."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(b"".join([chunk async for chunk in request.stream]))  # type: ignore[union-attr]
        if len(self.bodies) == 1:
            raise httpx.RemoteProtocolError("server disconnected without sending a response", request=request)
        body = {
            "code": "SUCCESS",
            "details": {},
            "message": "photo uploaded successfully",
            "status": "success",
        }
        return httpx.Response(200, json=body)


async def test_a_photo_from_a_pipe_whose_answer_is_lost_is_reported_as_maybe_set() -> None:
    """The photo was sent whole and its answer lost: Bigin may have set it. The retry cannot be
    made (the pipe is spent), and the call raises a plain ``BiginError`` "cannot be sent again:
    its file object cannot seek back": nothing says the photo may already be set, and it is no
    ``AmbiguousWriteError`` (the spec says the attempt's error is raised), so a caller that
    handles "maybe applied" never sees it."""

    lossy = _ReadThenLose()
    async with BiginClient(
        access_token=TOKEN, api_domain="http://127.0.0.1", transport=lossy, retry_backoff_seconds=0
    ) as client:
        with pytest.raises(BiginError) as raised:
            await client.contacts.photo(RECORD).upload(Upload(_Pipe(b"\x89PNG" * 10), size=40))
    assert len(lossy.bodies) == 1 and len(lossy.bodies[0]) > 40  # sent whole, once
    assert isinstance(raised.value, AmbiguousWriteError), repr(raised.value)


async def test_1200_records_tagged_cost_3_credits_on_both_sides(emulator: BiginEmulator) -> None:
    rows = emulator.insert_records("Contacts", [{"Last_Name": f"C{n}"} for n in range(1200)])
    ids = [str(row["details"]["id"]) for row in rows]
    async with emulator.client(retry_backoff_seconds=0) as client:
        await client.tags.create("Contacts", ["warm"])
        spent, counted = client.credits.spent_total, emulator.counters.credits
        results = await client.contacts.add_tags(ids, ["warm"])
        assert client.credits.spent_total - spent == 3 == emulator.counters.credits - counted
        tag_id = (await client.tags.list("Contacts"))[0].id
        assert tag_id is not None
        assert await client.tags.records_count("Contacts", tag_id) == 1200
    assert [r.id for r in results] == ids and all(r.ok for r in results)


# -- names: what is sent, what comes back -------------------------------------------------------


async def test_an_attachment_name_with_a_line_break_is_refused_before_sending() -> None:
    """A link's title with a line break is refused ("one line"); a file's name with one is sent
    (percent-escaped on the wire: ``a%0D%0Ab.pdf``) and the ``Attachment`` returned claims the
    raw name ``"a\\r\\nb.pdf"``, which is not what the wire carried. Control characters in an
    upload's name should be refused before anything is sent, as in a title."""
    async with scripted(answer(200, {"data": [{"code": "SUCCESS", "details": {"id": "1"}}]})) as (
        client,
        requests,
    ):
        with pytest.raises(ValidationError):
            await client.contacts.attachments(RECORD).upload(b"%PDF", filename="a\r\nb.pdf")
    assert requests == []


def _stored_answer(*entries: tuple[str, str]) -> httpx.Response:
    data = [
        {"code": "SUCCESS", "details": {"name": n, "id": i}, "message": "ok", "status": "success"}
        for n, i in entries
    ]
    return answer(200, {"data": data})


async def test_files_answered_in_another_order_with_a_name_zoho_changed_keep_their_own_ids() -> None:
    """Zoho's answer names each stored file; the SDK pairs entries with files by name only when
    every name matches, else by position. One name changed by Zoho (``"x y.txt"`` stored as
    ``"x_y.txt"``) in an answer in another order: every file then gets another file's id
    (position 1 is told it is ``c.txt``). The two names that match should keep their files and
    the one left pair with the one left."""
    answer_ = _stored_answer(("c.txt", "C"), ("b.txt", "B"), ("x_y.txt", "X"))
    async with scripted(answer_) as (client, requests):
        files = await client.files.upload(
            *(
                Upload(data, filename=name)
                for data, name in ((b"1", "x y.txt"), (b"2", "b.txt"), (b"3", "c.txt"))
            )
        )
    assert len(requests) == 1
    assert [f.id for f in files] == ["X", "B", "C"], [(f.name, f.id) for f in files]


async def test_files_answered_in_another_order_are_lined_up_by_name() -> None:
    answer_ = _stored_answer(("c.txt", "C"), ("a.txt", "A"), ("b.txt", "B"))
    async with scripted(answer_) as (client, requests):
        files = await client.files.upload(
            *(
                Upload(data, filename=name)
                for data, name in ((b"1", "a.txt"), (b"2", "b.txt"), (b"3", "c.txt"))
            )
        )
    assert [(f.name, f.id) for f in files] == [("a.txt", "A"), ("b.txt", "B"), ("c.txt", "C")]


class _CutHalfway(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"half of the body"
        raise httpx.ReadError("connection reset by peer")


async def test_cli_a_download_cut_halfway_leaves_no_file_and_the_others_are_saved(tmp_path: Path) -> None:
    listed = [{"id": "1001", "File_Name": "cut.pdf", "Size": "64"}, {"id": "1002", "File_Name": "whole.pdf"}]

    def route(request: httpx.Request) -> httpx.Response:
        tail = request.url.path.rsplit("/", 1)[-1]
        if tail == "Attachments":
            return page(listed)
        disposition = {"Content-Disposition": f'attachment; filename="{tail}.pdf"'}
        if tail == "1001":
            return httpx.Response(200, headers={**disposition, "Content-Length": "64"}, stream=_CutHalfway())
        return httpx.Response(200, headers=disposition, content=b"whole body")

    class Server(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return route(request)

    out, err = io.StringIO(), io.StringIO()
    options = AttachmentsOptions(action="download", module="Contacts", record_id=RECORD, to=tmp_path)
    async with BiginClient(
        access_token=TOKEN, api_domain="http://127.0.0.1", transport=Server(), retry_backoff_seconds=0
    ) as client:
        ok = await run_attachments(
            client, options, Console(file=out, width=200), Console(file=err, width=200)
        )
    assert not ok
    assert "failed: attachment 1001" in err.getvalue() and TOKEN not in err.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["whole.pdf"]  # no part file, no torn file
    assert (tmp_path / "whole.pdf").read_bytes() == b"whole body"


async def test_cli_a_directory_where_a_listed_file_would_go_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "c.pdf").mkdir()
    (tmp_path / "c.pdf" / "keep.txt").write_bytes(b"mine")
    listed = [{"id": "1001", "File_Name": "c.pdf"}, {"id": "1002", "File_Name": "d.pdf"}]
    script = _download_server(listed, {"1001": (b"one", "c.pdf"), "1002": (b"two", "d.pdf")})
    ok, out, err = await _cli_download(script, tmp_path)
    assert not ok and "is a directory" in err
    assert (tmp_path / "c.pdf" / "keep.txt").read_bytes() == b"mine"
    assert (tmp_path / "d.pdf").read_bytes() == b"two"


async def test_cli_a_directory_where_a_nameless_attachments_server_name_would_go_is_left_alone(
    tmp_path: Path,
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "keep.txt").write_bytes(b"mine")
    listed: list[dict[str, Any]] = [{"id": "1001", "File_Name": None}]
    script = _download_server(listed, {"1001": (b"one", "sub")})
    ok, out, err = await _cli_download(script, tmp_path)
    assert not ok, (out, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["keep.txt"]


async def test_twelve_files_with_the_first_call_lost_send_nothing_more(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    files = []
    for n in range(12):
        path = tmp_path / f"g{n:02}.txt"
        path.write_bytes(f"file {n}".encode())
        files.append(path)
    emulator.file_faults.drop_upload_answers = 1
    async with emulator.client(retry_backoff_seconds=0) as client:
        with pytest.raises(AmbiguousUploadError) as raised:
            await client.files.upload(*files)
    error = raised.value
    assert emulator.counters.requests_by_route.get("POST /bigin/v2/files") == 1
    assert error.uploaded == [] and list(error.records) == files[:10] and list(error.not_sent) == files[10:]
    assert "files 1 to 10 of 12" in str(error)


# -- users against the emulator -------------------------------------------------------------------


async def _new_user(emulator: BiginEmulator) -> str:
    async with emulator.client(retry_backoff_seconds=0) as client:
        known = [user async for user in client.users.list()]
        result = await client.users.create(
            {
                "last_name": "Byron",
                "email": "ada@example.com",
                "role": known[0].role,
                "profile": known[0].profile,
            }
        )
    assert result.ok and result.id is not None
    return result.id


async def test_a_user_added_whose_answer_is_lost_is_added_once() -> None:
    emulator = BiginEmulator()
    async with emulator.client() as client:
        before = [user async for user in client.users.list()]
    lossy = LoseAnswers(emulator.transport(), "POST", "/bigin/v2/users")
    async with emulator.client(transport=lossy, retry_backoff_seconds=0) as client:
        with pytest.raises(AmbiguousWriteError):
            await client.users.create(
                {
                    "last_name": "Byron",
                    "email": "ada@example.com",
                    "role": before[0].role,
                    "profile": before[0].profile,
                }
            )
        after = [user async for user in client.users.list()]
    assert lossy.lost == 1 and len(after) == len(before) + 1


async def test_a_user_deleted_whose_answer_is_lost_is_not_reported_as_failed() -> None:
    """The delete was applied, its answer lost, the retry is told there is no such user: the SDK
    raises ``InvalidRequestError`` "the id given seems to be invalid", a failure for a user it
    deleted. ``users.delete`` forgives only ``ID_ALREADY_DELETED``; the emulator answers 400 with
    an ``INVALID_DATA`` entry about the id (and forgets the user, where the docstring says they
    stay listed under ``DeletedUsers``). Attachments and tags flag the same case
    ``MAYBE_ALREADY_DELETED`` through the shared ``delete_result``."""
    emulator = BiginEmulator()
    user_id = await _new_user(emulator)
    lossy = LoseAnswers(emulator.transport(), "DELETE", f"/bigin/v2/users/{user_id}")
    async with emulator.client(transport=lossy, retry_backoff_seconds=0) as client:
        result = await client.users.delete(user_id)
    assert lossy.lost == 1 and result.ok and result.id == user_id


# -- credits: what the client counts is what Bigin (the emulator) counts ---------------------------


async def test_the_credits_of_every_new_call_are_counted_alike_on_both_sides(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    products = [
        str(row["details"]["id"])
        for row in emulator.insert_records("Products", [{"Product_Name": f"P{n}"} for n in range(250)])
    ]
    steps: list[tuple[str, int, int]] = []
    async with emulator.client(retry_backoff_seconds=0) as client:
        atts = client.contacts.attachments(record)

        async def step(name: str, call: Any) -> Any:
            spent, counted = client.credits.spent_total, emulator.counters.credits
            value = await call
            steps.append((name, client.credits.spent_total - spent, emulator.counters.credits - counted))
            return value

        attached = await step("upload", atts.upload(b"%PDF-1.7", filename="a.pdf"))
        await step("attach_link", atts.attach_link("https://example.com/x", title="X"))
        await step("list", _all(atts.list()))
        await step("download", atts.download(attached.id, to=tmp_path / "a.pdf"))
        await step("delete", atts.delete(attached.id))
        photo = client.contacts.photo(record)
        await step("photo upload", photo.upload(b"\x89PNG\r\n\x1a\n" + b"0" * 100, filename="p.png"))
        await step("photo download", photo.download(to=tmp_path / "p.png"))
        await step("photo delete", photo.delete())
        await step("files upload 12", client.files.upload(*(f"f{n}".encode() for n in range(12))))
        await step("link 250", client.contacts.link(record, "Products", products))
        await step("unlink 250", client.contacts.unlink(record, "Products", products))
        await step("tag create", client.tags.create("Contacts", ["t1", "t2"]))
        await step("tag list", client.tags.list("Contacts"))
        await step("deleted", _all(client.contacts.deleted()))
        await step("custom views", client.settings.custom_views("Contacts"))
        await step("related lists", client.settings.related_lists("Contacts"))
    assert [s for s in steps if s[1] != s[2]] == [], steps


async def _all(paginator: Any) -> list[Any]:
    return [item async for item in paginator]


async def test_cli_list_shows_hostile_names_as_they_are() -> None:
    """``bigin attachments list`` puts each File_Name in a rich table cell, where a string is read
    as console markup: a file named ``x[/].pdf`` crashes the command (``MarkupError``: closing
    tag has nothing to close) and ``[bold]evil[/bold].pdf`` is shown as ``evil.pdf``. Every other
    line of the command is printed with ``markup=False``; the cells should be ``Text`` too."""
    from tests.helpers.cli import bigin

    emulator = BiginEmulator()
    record = contact(emulator)
    names = ["x[/].pdf", "[bold]evil[/bold].pdf"]
    async with emulator.client() as client:
        for name in names:
            await client.contacts.attachments(record).upload(b"%PDF", filename=name)
    try:
        run = await bigin(emulator, "attachments", "list", "Contacts", record)
    except Exception as error:  # the command must not die on a name
        pytest.fail(f"bigin attachments list raised {error!r}")
    assert run.code == 0, run.err
    assert all(name in run.out for name in names), run.out


async def test_cli_list_never_prints_a_terminal_escape_from_a_name() -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    async with emulator.client() as client:
        await client.contacts.attachments(record).upload(b"%PDF", filename="clear.pdf")
    # The SDK refuses to upload such a name, so Bigin's side is given it directly.
    (stored,) = emulator.uploads.attachments_of("Contacts", record).values()
    assert stored.body is not None
    stored.body = dataclasses.replace(stored.body, name="\x1b]0;owned\x07\x1b[2Jclear.pdf")
    from tests.helpers.cli import bigin

    run = await bigin(emulator, "attachments", "list", "Contacts", record)
    assert run.code == 0, run.err
    assert "\x1b" not in run.out and "\x07" not in run.out and "clear.pdf" in run.out


async def test_cli_download_never_prints_a_terminal_escape_from_a_link(tmp_path: Path) -> None:
    listed = [
        {"id": "1001", "$type": "Link URL", "$link_url": "https://x.example/\x1b[2J", "File_Name": None}
    ]
    ok, out, err = await _cli_download(_download_server(listed, {}), tmp_path)
    assert "skipped: attachment 1001" in err
    assert "\x1b" not in out + err
