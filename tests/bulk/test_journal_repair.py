"""A journal after a crash: torn tails are repaired before appending, damage is refused by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bigin_async import BiginError, JournalError
from bigin_async.bulk import Journal
from bigin_emulator import BiginEmulator
from tests.helpers.crash import run_once, tear_tail


def contacts(n: int, start: int = 0) -> list[dict[str, Any]]:
    # No unique field (Email): a second insert of one of these doubles it instead of being refused.
    return [{"Last_Name": f"Doe {i}"} for i in range(start, start + n)]


def names(emulator: BiginEmulator) -> list[str]:
    return sorted(str(r["Last_Name"]) for r in emulator.store.table("Contacts"))


async def test_a_torn_tail_is_cut_before_the_next_run_appends_so_its_pending_marker_survives(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j"
    emulator = BiginEmulator()
    # Run 1 completes 2 batches; its last line (the second batch's outcomes) is torn by a crash.
    await run_once(emulator, lambda b: b.contacts.bulk_create(contacts(200), journal=str(journal)))
    tear_tail(journal, 10)
    # Run 2 sends a third batch and dies with it in flight (applied by the server, unanswered).
    result, trap = await run_once(
        emulator, lambda b: b.contacts.bulk_create(contacts(300), journal=str(journal)), crash_at=1
    )
    assert result is None and trap.crashed
    assert journal.read_bytes().endswith(b"\n")
    assert all(json.loads(line) for line in journal.read_text().splitlines())
    # Run 3 must not insert the in-flight batch again: its fate is unknown, not "never sent".
    third, _ = await run_once(emulator, lambda b: b.contacts.bulk_create(contacts(300), journal=str(journal)))
    assert third is not None
    assert len(names(emulator)) == len(set(names(emulator))) == 300
    assert third.counts["unknown"] == 200  # batches 2 and 3: sent, answers lost
    assert third.skipped == 300


@pytest.mark.parametrize(
    "line",
    [
        "7",
        "null",
        '{"t": "pending"}',
        '{"t": "done", "o": [{"i": 0}]}',
        '"text"',
        '{"t": "pending", "i": [0, 1], "h": ["a"]}',
        '{"t": "what"}',
    ],
)
async def test_valid_json_that_is_not_a_journal_record_is_a_typed_error_naming_the_line(
    tmp_path: Path, line: str
) -> None:
    path = tmp_path / "j"
    path.write_text(
        json.dumps({"t": "header", "module": "Contacts", "mode": "create", "v": 2}) + "\n" + line + "\n"
    )
    journal = Journal(path, module="Contacts", mode="create")
    with pytest.raises(JournalError, match="line 2") as raised:
        journal.load()
    assert isinstance(raised.value, BiginError) and raised.value.line == 2


@pytest.mark.parametrize(
    "header",
    [
        '{"t": "header", "module": "Contacts"',
        "12",
        '{"t": "pending", "i": [], "h": []}',
        '{"t": "header", "module": 5, "mode": "create", "v": 2}',
        "garbage",
    ],
)
async def test_a_damaged_header_is_refused_never_guessed_past(tmp_path: Path, header: str) -> None:
    path = tmp_path / "j"
    path.write_text(header + "\n" + json.dumps({"t": "pending", "i": [0], "h": ["00"]}) + "\n")
    with pytest.raises(JournalError, match="line 1"):
        Journal(path, module="Contacts", mode="create").load()


async def test_an_unreadable_line_in_the_middle_is_damage_not_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "j"
    header = json.dumps({"t": "header", "module": "Contacts", "mode": "create", "v": 2})
    path.write_text(
        header + "\n" + '{"t": "pend\n' + json.dumps({"t": "pending", "i": [0], "h": ["00"]}) + "\n"
    )
    with pytest.raises(JournalError, match="line 2"):
        Journal(path, module="Contacts", mode="create").load()


async def test_a_file_that_is_not_a_journal_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("Last_Name,Email\nDoe,doe@example.com\n")
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        with pytest.raises(JournalError):
            await bigin.contacts.bulk_create(contacts(3), journal=str(path))
    assert path.read_text() == "Last_Name,Email\nDoe,doe@example.com\n"
    assert len(emulator.store.table("Contacts")) == 0


async def test_a_torn_header_alone_means_nothing_was_logged(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_bytes(b'{"t":"header","mod')
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_create(contacts(3), journal=str(path))
    assert result.ok and result.actions["insert"] == 3
    assert json.loads(path.read_text().splitlines()[0])["t"] == "header"


async def test_the_module_check_is_a_journal_error_still_caught_as_a_configuration_error(
    tmp_path: Path,
) -> None:
    from bigin_async import ConfigurationError

    path = tmp_path / "j"
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        await bigin.contacts.bulk_create(contacts(1), journal=str(path))
        with pytest.raises(JournalError, match="belongs to a create of Contacts") as raised:
            await bigin.companies.bulk_create([{"Account_Name": "X"}], journal=str(path))
    assert isinstance(raised.value, ConfigurationError)


def _legacy(wire: Any) -> str:
    # Journal format 1's fingerprint, as the SDK wrote it before fingerprints were canonical.
    import hashlib

    text = json.dumps(wire, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


async def test_a_version_1_journal_is_read_with_its_own_fingerprints(tmp_path: Path) -> None:
    # 1.0 is where the old fingerprint and the canonical one differ: a v1 journal must still match.
    records = [{"Last_Name": f"Doe {i}", "Score": 1.0} for i in range(3)]
    hashes = [_legacy(r) for r in records]
    path = tmp_path / "old.journal"
    path.write_text(
        json.dumps({"t": "header", "module": "Contacts", "mode": "create", "v": 1})
        + "\n"
        + json.dumps({"t": "pending", "i": [0, 1, 2], "h": hashes})
        + "\n"
        + json.dumps({"t": "done", "o": [{"i": 0, "h": hashes[0], "s": "success", "a": "insert", "id": "7"}]})
        + "\n"
    )
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_create(
            [*records[::-1], {"Last_Name": "new", "Score": 1.0}], journal=str(path)
        )
    assert [o.status for o in result] == ["unknown", "unknown", "success", "success"]
    assert [o.from_journal for o in result] == [True, True, True, False]
    assert len(emulator.store.table("Contacts")) == 1
    assert json.loads(path.read_text().splitlines()[0])["v"] == 1  # appended to in its own format


async def test_a_version_1_line_glued_onto_a_torn_fragment_is_recovered(tmp_path: Path) -> None:
    # The defect this release fixes left such lines in v1 journals: the marker after the fragment counts.
    record = {"Last_Name": "Doe"}
    path = tmp_path / "old.journal"
    path.write_text(
        json.dumps({"t": "header", "module": "Contacts", "mode": "create", "v": 1})
        + "\n"
        + '{"t":"done","o":[{"i":0,"h"'
        + json.dumps({"t": "pending", "i": [0], "h": [_legacy(record)]})
        + "\n"
    )
    emulator = BiginEmulator()
    async with emulator.client() as bigin:
        result = await bigin.contacts.bulk_create([record], journal=str(path))
    assert [o.status for o in result] == ["unknown"] and len(emulator.store.table("Contacts")) == 0


async def test_a_journal_of_a_newer_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_text(json.dumps({"t": "header", "module": "Contacts", "mode": "create", "v": 4}) + "\n")
    with pytest.raises(JournalError, match="newer"):
        Journal(path, module="Contacts", mode="create").load()
