"""``bigin attachments upload|download|list`` in-process against the emulator (asyncio and trio)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bigin_async.cli import build_parser, main
from bigin_async.cli.attachments import attachments_options
from bigin_async.resources.attachments import MAX_ATTACHMENT_BYTES, AttachmentsClient
from bigin_emulator import BiginEmulator
from bigin_emulator.server.faults import FaultPlan
from tests.helpers.cli import Run, bigin


def contact(emulator: BiginEmulator, name: str = "Lovelace") -> str:
    return str(emulator.insert_records("Contacts", [{"Last_Name": name}])[0]["details"]["id"])


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def attachment_calls(emulator: BiginEmulator, method: str) -> int:
    return sum(
        count
        for route, count in emulator.counters.requests_by_route.items()
        if route.startswith(method + " ") and "Attachments" in route
    )


def no_secret_in(emulator: BiginEmulator, *runs: Run) -> None:
    secrets = [emulator.client_secret, emulator.refresh_token]
    for run in runs:
        assert not any(secret in run.out or secret in run.err for secret in secrets)


async def listed(emulator: BiginEmulator, module: str, record_id: str) -> list[dict[str, object]]:
    run = await bigin(emulator, "attachments", "list", module, record_id, "--json")
    assert run.code == 0, run.err
    data: list[dict[str, object]] = json.loads(run.out)
    return data


async def test_upload_then_list_then_download_every_file_under_its_name(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    contract = write(tmp_path / "contract.pdf", b"%PDF-1.7 " + os.urandom(200_000))
    notes = write(tmp_path / "notes été.txt", "déjà vu\n".encode())

    up = await bigin(emulator, "attachments", "upload", "contacts", record, str(contract), str(notes))
    assert up.code == 0, up.err
    lines = up.out.splitlines()
    assert [line.split(" as attachment ")[0] for line in lines] == [
        f"uploaded {contract}",
        f"uploaded {notes}",
    ]
    uploaded_ids = [line.rsplit(" ", 1)[1] for line in lines]

    table = await bigin(emulator, "attachments", "list", "Contacts", record)
    assert table.code == 0, table.err
    assert "contract.pdf" in table.out and "notes été.txt" in table.out and "200,009" in table.out
    entries = await listed(emulator, "Contacts", record)
    assert sorted(str(entry["id"]) for entry in entries) == sorted(uploaded_ids)
    assert {entry["File_Name"]: entry["Size"] for entry in entries} == {
        "contract.pdf": 200_009,
        "notes été.txt": len("déjà vu\n".encode()),
    }

    out = tmp_path / "out"  # created by the command
    down = await bigin(emulator, "attachments", "download", "Contacts", record, "--to", str(out))
    assert down.code == 0, down.err
    assert (out / "contract.pdf").read_bytes() == contract.read_bytes()
    assert (out / "notes été.txt").read_bytes() == notes.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["contract.pdf", "notes été.txt"]  # no part file left
    assert down.out.count("saved ") == 2
    no_secret_in(emulator, up, table, down)


async def test_download_named_ids_in_their_order_and_default_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    files = [write(tmp_path / f"f{i}.bin", bytes([i]) * (i + 1)) for i in range(3)]
    up = await bigin(emulator, "attachments", "upload", "Contacts", record, *map(str, files))
    assert up.code == 0, up.err
    ids = [line.rsplit(" ", 1)[1] for line in up.out.splitlines()]
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    down = await bigin(emulator, "attachments", "download", "Contacts", record, ids[2], ids[0], ids[2])
    assert down.code == 0, down.err
    assert sorted(p.name for p in here.iterdir()) == ["f0.bin", "f2.bin"]
    assert (here / "f2.bin").read_bytes() == b"\x02\x02\x02"
    assert [line.split()[1] for line in down.out.splitlines()] == ["f2.bin", "f0.bin"]  # asked order, once


async def test_two_attachments_of_one_name_are_both_kept(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = (
        write(tmp_path / "a" / "report.csv", b"first"),
        write(tmp_path / "b" / "report.csv", b"second"),
    )
    assert (
        await bigin(emulator, "attachments", "upload", "Contacts", record, str(first), str(second))
    ).code == 0
    out = tmp_path / "out"
    down = await bigin(emulator, "attachments", "download", "Contacts", record, "--to", str(out))
    assert down.code == 0, down.err
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) in (
        [("report (2).csv", b"second"), ("report.csv", b"first")],
        [("report (2).csv", b"first"), ("report.csv", b"second")],
    )


async def test_links_are_listed_and_skipped_and_a_named_link_or_unknown_id_fails(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    async with emulator.client() as client:
        link = await client.contacts.attachments(record).attach_link("https://example.com/spec", "Spec")
        file = await client.contacts.attachments(record).upload(b"body", filename="body.txt")
    entries = await listed(emulator, "Contacts", record)
    assert {entry["$type"] for entry in entries} == {"Attachment", "Link URL"}

    every = await bigin(
        emulator, "attachments", "download", "Contacts", record, "--to", str(tmp_path / "all")
    )
    assert every.code == 0, every.err
    assert [p.name for p in (tmp_path / "all").iterdir()] == ["body.txt"]
    assert f"skipped: attachment {link.id} is a link (https://example.com/spec)" in every.err

    missing = "7618134000009999999"
    named = await bigin(
        emulator,
        "attachments",
        "download",
        "Contacts",
        record,
        link.id,
        missing,
        file.id,
        "--to",
        str(tmp_path / "n"),
    )
    assert named.code == 1
    assert f"has no attachment {missing}" in named.err and "is a link" in named.err
    assert [p.name for p in (tmp_path / "n").iterdir()] == ["body.txt"]  # the rest still saved


async def test_a_missing_or_oversized_file_sends_nothing(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    good = write(tmp_path / "good.txt", b"fine")
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:  # sparse: no 20 MB written
        handle.truncate(MAX_ATTACHMENT_BYTES + 1)
    for argv in (
        [str(good), str(tmp_path / "absent.txt")],
        [str(good), str(big)],
        [str(good), str(tmp_path)],
    ):
        run = await bigin(emulator, "attachments", "upload", "Contacts", record, *argv)
        assert run.code == 2
        assert run.err.startswith("error: nothing was uploaded") and argv[1] in run.err
    assert attachment_calls(emulator, "POST") == 0
    assert await listed(emulator, "Contacts", record) == []


async def test_an_upload_whose_answer_is_lost_is_reported_unknown_and_not_sent_again(tmp_path: Path) -> None:
    emulator = BiginEmulator(
        faults=FaultPlan(drop_after=1.0, methods=frozenset({"POST"}), path_prefix="/bigin/v2/Contacts/")
    )
    record = contact(emulator)
    first, second = write(tmp_path / "one.txt", b"1"), write(tmp_path / "two.txt", b"2")
    run = await bigin(emulator, "attachments", "upload", "Contacts", record, str(first), str(second))
    assert run.code == 1
    assert run.err.count("unknown: ") == 2 and "not sent again" in run.err
    assert f"bigin attachments list Contacts {record}" in run.err
    assert attachment_calls(emulator, "POST") == 2  # one each, never re-sent
    assert len(await listed(emulator, "Contacts", record)) == 2  # both were in fact attached


async def test_module_aliases_and_empty_records(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    deal = str(
        emulator.insert_records("Pipelines", [{"Deal_Name": "Big", "Stage": "Qualification"}])[0]["details"][
            "id"
        ]
    )
    company = str(emulator.insert_records("Accounts", [{"Account_Name": "Acme"}])[0]["details"]["id"])
    assert await listed(emulator, "deals", deal) == []
    empty = await bigin(emulator, "attachments", "list", "Companies", company)
    assert empty.code == 0 and "Accounts record" in empty.out and "no attachments" in empty.out
    down = await bigin(emulator, "attachments", "download", "companies", company, "--to", str(tmp_path))
    assert down.code == 0 and "no attachments" in down.out
    up = await bigin(emulator, "attachments", "upload", "Deals", deal, str(write(tmp_path / "d.txt", b"d")))
    assert up.code == 0, up.err
    assert [entry["File_Name"] for entry in await listed(emulator, "Pipelines", deal)] == ["d.txt"]


async def test_usage_errors_exit_2_and_a_missing_record_exits_1(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    notes = await bigin(emulator, "attachments", "list", "Notes", record)
    assert notes.code == 2 and "Notes" in notes.err and "no attachments" in notes.err
    bad_id = await bigin(emulator, "attachments", "list", "Contacts", "../settings")
    assert bad_id.code == 2
    bad_module = await bigin(emulator, "attachments", "list", "../x", record)
    assert bad_module.code == 2
    not_a_dir = write(tmp_path / "file", b"")
    to_file = await bigin(emulator, "attachments", "download", "Contacts", record, "--to", str(not_a_dir))
    assert to_file.code == 2 and "not a directory" in to_file.err
    gone = await bigin(emulator, "attachments", "upload", "Contacts", "7618134000008888888", str(not_a_dir))
    assert gone.code == 1 and gone.err.startswith(f"failed: {not_a_dir}: ") and "INVALID_DATA" in gone.err


async def test_an_authentication_failure_stops_the_run_and_names_what_was_not_sent(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    first, second = write(tmp_path / "one.txt", b"1"), write(tmp_path / "two.txt", b"2")
    run = await bigin(
        emulator,
        "attachments",
        "upload",
        "Contacts",
        record,
        str(first),
        str(second),
        refresh_token="1000.wrong",
    )
    assert run.code == 2
    assert run.err.startswith(f"not sent: {second}\n") and "not authorised:" in run.err
    assert "1000.wrong" not in run.err + run.out
    assert attachment_calls(emulator, "POST") == 0


async def test_a_file_that_cannot_be_saved_fails_alone(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    files = [write(tmp_path / "a.txt", b"a"), write(tmp_path / "b.txt", b"b")]
    assert (await bigin(emulator, "attachments", "upload", "Contacts", record, *map(str, files))).code == 0
    out = tmp_path / "out"
    (out / "a.txt").mkdir(parents=True)  # a directory where the file would go
    run = await bigin(emulator, "attachments", "download", "Contacts", record, "--to", str(out))
    assert run.code == 1
    assert "failed: attachment " in run.err and "a.txt" in run.err
    assert (out / "b.txt").read_bytes() == b"b" and (out / "a.txt").is_dir()


def test_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attachments"]) == 2
    assert main(["attachments", "upload", "Contacts", "1"]) == 2  # FILE... required
    assert main(["attachments", "rename", "Contacts", "1"]) == 2
    assert main(["attachments", "download", "--help"]) == 0
    text = capsys.readouterr().out
    assert "ATTACHMENT_ID" in text and "--to DIR" in text
    assert main(["--help"]) == 0
    assert "attachments" in capsys.readouterr().out
    args = build_parser().parse_args(
        ["attachments", "download", "deals", "1", "2", "3", "--to", "out", "--redis", "redis://127.0.0.1:1/0"]
    )
    assert (args.action, args.attachment_ids, args.to, args.redis) == (
        "download",
        ["2", "3"],
        Path("out"),
        "redis://127.0.0.1:1/0",
    )
    options = attachments_options(args)
    assert (options.module, options.record_id, options.to) == ("Pipelines", "1", Path("out"))
    listing = attachments_options(
        build_parser().parse_args(["attachments", "list", "Companies", "9", "--json"])
    )
    assert (listing.module, listing.json, listing.to) == ("Accounts", True, Path("."))


async def test_an_attachment_deleted_after_the_listing_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    files = [write(tmp_path / "a.txt", b"a"), write(tmp_path / "b.txt", b"b")]
    up = await bigin(emulator, "attachments", "upload", "Contacts", record, *map(str, files))
    victim = up.out.splitlines()[0].rsplit(" ", 1)[1]
    real = AttachmentsClient.download

    async def deleted_by_someone_else_first(
        self: AttachmentsClient, attachment_id: str, to: Any = None
    ) -> Any:
        if attachment_id == victim:
            await self.delete(attachment_id)
        return await real(self, attachment_id, to=to)

    monkeypatch.setattr(AttachmentsClient, "download", deleted_by_someone_else_first)
    out = tmp_path / "out"
    run = await bigin(emulator, "attachments", "download", "Contacts", record, "--to", str(out))
    assert run.code == 1
    assert run.err.startswith(f"failed: attachment {victim}: HTTP ")  # gone: a 204 or a 404
    assert [p.name for p in out.iterdir()] == ["b.txt"]


async def test_a_download_run_out_of_credits_stops_there(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    record = contact(emulator)
    files = [write(tmp_path / f"{name}.txt", name.encode()) for name in ("a", "b", "c")]
    assert (await bigin(emulator, "attachments", "upload", "Contacts", record, *map(str, files))).code == 0
    out = tmp_path / "out"
    # 3 credits, 1 kept in reserve (min_calls_remaining): the listing and one download; the second
    # download is refused before it is sent.
    run = await bigin(
        emulator, "attachments", "download", "Contacts", record, "--to", str(out), daily_limit=3
    )
    assert run.code == 1
    assert run.out.count("saved ") == 1 and run.err.startswith("failed: ")
    assert len(list(out.iterdir())) == 1
    assert attachment_calls(emulator, "GET") == 2


async def test_list_json_escapes_a_names_terminal_escapes_and_keeps_the_name() -> None:
    """``--json`` writes a name's control and format characters as ``\\uXXXX`` (JSON escapes
    the C0 ones itself, not C1 controls nor bidi overrides): jq still reads the name as it is."""
    emulator = BiginEmulator()
    record = contact(emulator)
    async with emulator.client() as client:
        await client.contacts.attachments(record).upload(b"%PDF", filename="clear.pdf")
    hostile = "\x9b2J\u202eclear\u2028.pdf\x1b"  # the SDK refuses to upload it: set on Bigin's side
    (stored,) = emulator.uploads.attachments_of("Contacts", record).values()
    assert stored.body is not None
    stored.body = dataclasses.replace(stored.body, name=hostile)
    run = await bigin(emulator, "attachments", "list", "Contacts", record, "--json")
    assert run.code == 0, run.err
    assert not any(c in run.out for c in "\x9b\u202e\u2028\x1b"), run.out
    assert [a["File_Name"] for a in json.loads(run.out)] == [hostile]
