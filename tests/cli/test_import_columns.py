"""``bigin import`` checks the file's columns against the module's fields before sending a record
(issue #9, item 25): Bigin drops a field it does not know without a word, so an unchecked
``E-mail`` column imported contacts without their email, and an upsert on a ``--unique`` field no
column provides inserted every row again."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from bigin_emulator import BiginEmulator
from tests.helpers.cli import bigin, read_results, write_csv

PEOPLE = [[f"Person {i}", f"p{i}@example.com"] for i in range(4)]


def writes(emulator: BiginEmulator) -> dict[str, int]:
    """The calls that would have sent records (anything but the metadata read)."""
    return {
        route: n
        for route, n in emulator.counters.requests_by_route.items()
        if not route.startswith("GET /bigin/v2/settings")
    }


async def test_a_unique_field_that_no_column_provides_is_a_usage_error(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "people.csv", [["Last_Name", "E-mail"], *PEOPLE])
    runs = [await bigin(emulator, "import", "Contacts", str(source), "--unique", "Email") for _ in range(2)]
    assert [run.code for run in runs] == [2, 2]
    assert "Email" in runs[0].err and "'E-mail'" in runs[0].err and "--map" in runs[0].err
    assert len(emulator.store.table("Contacts")) == 0 and writes(emulator) == {}


async def test_an_unknown_column_is_a_usage_error_naming_the_nearest_fields(tmp_path: Path) -> None:
    """The repro: ``E-mail`` and no ``--map`` imported four contacts without email, twice over."""
    emulator = BiginEmulator()
    source = write_csv(
        tmp_path / "people.csv", [["First Name", "Last_Name", "E-mail"], *[["P", *row] for row in PEOPLE]]
    )
    runs = [await bigin(emulator, "import", "Contacts", str(source)) for _ in range(2)]
    assert [run.code for run in runs] == [2, 2]
    err = " ".join(runs[0].err.split())
    assert "'First Name'" in err and "First_Name" in err and "'E-mail'" in err and "Email" in err
    assert "--ignore-unknown-columns" in err
    assert len(emulator.store.table("Contacts")) == 0 and writes(emulator) == {}


async def test_ignore_unknown_columns_imports_the_rest_and_says_which(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(
        tmp_path / "people.csv", [["Last_Name", "E-mail", "Shoe size"], *[[*row, "42"] for row in PEOPLE]]
    )
    run = await bigin(emulator, "import", "Contacts", str(source), "--ignore-unknown-columns")
    assert run.code == 0, run.err
    out = " ".join(run.out.split())
    assert "ignored" in out and "'E-mail'" in out and "'Shoe size'" in out
    stored = emulator.store.table("Contacts")
    assert len(stored) == 4 and not any("E-mail" in r or "Shoe size" in r or r.get("Email") for r in stored)


async def test_a_semicolon_or_tab_separated_file_is_read_with_its_own_separator(tmp_path: Path) -> None:
    """Without --delimiter the separator is read off the header (issue 14, item 6); a --delimiter
    that does not fit the header is still refused, naming the one that does."""
    emulator = BiginEmulator()
    semicolons = tmp_path / "excel.csv"
    semicolons.write_text("Last_Name;Email\nMüller;m@example.com\n", encoding="utf-8")
    tabs = tmp_path / "tabs.csv"
    tabs.write_text("Last_Name\tEmail\nTab;Person\tt@example.com\n", encoding="utf-8")
    refused = await bigin(emulator, "import", "Contacts", str(semicolons), "--delimiter", ",")
    refused_tabs = await bigin(emulator, "import", "Contacts", str(tabs), "--delimiter", "comma")
    assert refused.code == refused_tabs.code == 2 and writes(emulator) == {}
    assert "semicolon-separated" in refused.err and "--delimiter ';'" in refused.err
    assert "tab-separated" in refused_tabs.err and "--delimiter tab" in refused_tabs.err
    done = await bigin(emulator, "import", "Contacts", str(semicolons))
    done_tabs = await bigin(emulator, "import", "Contacts", str(tabs), "--delimiter", "tab")
    assert done.code == done_tabs.code == 0, done.err + done_tabs.err
    stored = {r["Last_Name"]: r["Email"] for r in emulator.store.table("Contacts")}
    assert stored == {"Müller": "m@example.com", "Tab;Person": "t@example.com"}
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"Last_Name": "J"}\n', encoding="utf-8")
    not_csv = await bigin(emulator, "import", "Contacts", str(jsonl), "--delimiter", ";")
    two_chars = await bigin(emulator, "import", "Contacts", str(semicolons), "--delimiter", ";;")
    assert (
        (not_csv.code, two_chars.code) == (2, 2) and "CSV" in not_csv.err and "one character" in two_chars.err
    )
    assert len(emulator.store.table("Contacts")) == 2


async def test_field_aliases_the_sdk_translates_are_known_columns_and_unique_fields(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "firms.csv", [["Company_Name", "Phone"], ["Acme", "1"], ["Globex", "2"]])
    first = await bigin(emulator, "import", "Companies", str(source), "--unique", "Company_Name")
    second = await bigin(emulator, "import", "Companies", str(source), "--unique", "Company_Name")
    assert first.code == second.code == 0, first.err
    assert sorted(r["Account_Name"] for r in emulator.store.table("Accounts")) == ["Acme", "Globex"]
    assert {r["action"] for r in read_results(tmp_path / "firms.results.csv")} == {"update"}
    contact = emulator.insert_records("Contacts", [{"Last_Name": "Lee"}])[0]["details"]["id"]
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        json.dumps({"Subject": "Call Lee", "Related_To": {"module": "Contacts", "id": contact}}) + "\n",
        encoding="utf-8",
    )
    task_run = await bigin(emulator, "import", "Tasks", str(tasks))
    assert task_run.code == 0, task_run.err
    assert [r["What_Id"]["id"] for r in emulator.store.table("Tasks")] == [contact]


async def test_map_targets_are_checked_like_columns(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    company = emulator.insert_records("Accounts", [{"Account_Name": "Acme"}])[0]["details"]["id"]
    source = write_csv(
        tmp_path / "p.csv", [["Surname", "E-mail", "Firm"], ["Lee", "lee@example.com", company]]
    )
    typo = await bigin(
        emulator,
        "import",
        "Contacts",
        str(source),
        "--map",
        "Surname=Last_Name",
        "--map",
        "E-mail=Emial",
        "--map",
        "Firm=Account_Name.id",
    )
    lookup_typo = await bigin(
        emulator,
        "import",
        "Contacts",
        str(source),
        "--map",
        "Surname=Last_Name",
        "--map",
        "E-mail=Email",
        "--map",
        "Firm=Acount_Name.id",
    )
    assert typo.code == lookup_typo.code == 2 and writes(emulator) == {}
    assert "'Emial'" in typo.err and "Email" in typo.err
    assert "'Acount_Name'" in lookup_typo.err and "Account_Name" in lookup_typo.err
    good = await bigin(
        emulator,
        "import",
        "Contacts",
        str(source),
        "--map",
        "Surname=Last_Name",
        "--map",
        "E-mail=Email",
        "--map",
        "Firm=Account_Name.id",
    )
    assert good.code == 0, good.err
    [lee] = emulator.store.table("Contacts")
    assert lee["Email"] == "lee@example.com" and lee["Account_Name"]["id"] == company


async def test_unique_names_are_case_sensitive_and_the_right_case_is_suggested(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "p.csv", [["Last_Name", "Email"], *PEOPLE])
    run = await bigin(emulator, "import", "Contacts", str(source), "--unique", "email")
    assert run.code == 2 and "'email'" in run.err and "'Email'" in run.err
    assert writes(emulator) == {}


async def test_two_columns_into_one_field_are_refused(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    both = write_csv(
        tmp_path / "both.csv", [["Last_Name", "Work", "Home"], ["A", "a@w.example", "a@h.example"]]
    )
    mapped = await bigin(
        emulator, "import", "Contacts", str(both), "--map", "Work=Email", "--map", "Home=Email"
    )
    clash = write_csv(
        tmp_path / "clash.csv", [["Last_Name", "Email", "E-mail"], ["A", "a@w.example", "a@h.example"]]
    )
    onto_existing = await bigin(emulator, "import", "Contacts", str(clash), "--map", "E-mail=Email")
    alias = write_csv(tmp_path / "alias.csv", [["Account_Name", "Company_Name"], ["Acme", "Acme Inc"]])
    alias_and_name = await bigin(emulator, "import", "Companies", str(alias))
    lookup = write_csv(tmp_path / "lookup.csv", [["Last_Name", "Account_Name", "Firm"], ["A", "Acme", "123"]])
    lookup_and_value = await bigin(
        emulator, "import", "Contacts", str(lookup), "--map", "Firm=Account_Name.id"
    )
    runs = (mapped, onto_existing, alias_and_name, lookup_and_value)
    assert [run.code for run in runs] == [2, 2, 2, 2]
    assert "'Work'" in mapped.err and "'Home'" in mapped.err
    assert (
        "'Email'" in onto_existing.err
        and "'Company_Name'" in alias_and_name.err
        and "'Firm'" in lookup_and_value.err
    )
    assert writes(emulator) == {}


async def test_an_update_without_an_id_column_is_refused(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "u.csv", [["Record", "Phone"], ["123", "555"]])
    refused = await bigin(
        emulator, "import", "Contacts", str(source), "--mode", "update", "--ignore-unknown-columns"
    )
    assert refused.code == 2 and "'id'" in refused.err and writes(emulator) == {}  # every row would fail
    ids = [e["details"]["id"] for e in emulator.insert_records("Contacts", [{"Last_Name": "A"}])]
    write_csv(source, [["Record", "Phone"], [ids[0], "555"]])
    mapped = await bigin(
        emulator, "import", "Contacts", str(source), "--mode", "update", "--map", "Record=id"
    )
    assert mapped.code == 0, mapped.err
    assert emulator.store.table("Contacts").records[ids[0]]["Phone"] == "555"


async def test_a_header_only_file_is_checked_and_sends_nothing(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    fine = await bigin(
        emulator,
        "import",
        "Contacts",
        str(write_csv(tmp_path / "h.csv", [["Last_Name", "Email"]])),
        "--unique",
        "Email",
    )
    wrong = await bigin(
        emulator, "import", "Contacts", str(write_csv(tmp_path / "w.csv", [["Last_Name", "Mail"]]))
    )
    assert (fine.code, wrong.code) == (0, 2), fine.err
    assert "'Mail'" in wrong.err and writes(emulator) == {}


async def test_a_byte_order_mark_does_not_hide_the_first_column(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = tmp_path / "excel.csv"
    source.write_bytes("\ufeffEmail,Last_Name\r\nbom@example.com,Bom\r\n".encode())
    runs = [await bigin(emulator, "import", "Contacts", str(source), "--unique", "Email") for _ in range(2)]
    assert [run.code for run in runs] == [0, 0], runs[0].err
    assert [(r["Email"], r["Last_Name"]) for r in emulator.store.table("Contacts")] == [
        ("bom@example.com", "Bom")
    ]


async def test_duplicate_and_empty_column_names_are_refused_before_any_call(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    twice = await bigin(
        emulator,
        "import",
        "Contacts",
        str(write_csv(tmp_path / "d.csv", [["Email", "Last_Name", "Email"], ["a", "b", "c"]])),
    )
    blank = await bigin(
        emulator,
        "import",
        "Contacts",
        str(write_csv(tmp_path / "b.csv", [["Last_Name", " ", "Email"], ["a", "b", "c"]])),
    )
    assert (twice.code, blank.code) == (2, 2)
    assert "'Email' twice" in twice.err and "no name" in blank.err
    assert emulator.counters.requests_total == 0


async def test_jsonl_keys_are_checked_too(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = tmp_path / "p.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"Last_Name": "A", "Email": "a@example.com"}),
                "{broken",
                json.dumps({"Last_Name": "B", "E_mail": "b@example.com"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    refused = await bigin(emulator, "import", "Contacts", str(source))
    assert (
        refused.code == 2 and "'E_mail'" in refused.err and "Email" in refused.err and writes(emulator) == {}
    )
    ignored = await bigin(emulator, "import", "Contacts", str(source), "--ignore-unknown-columns")
    assert ignored.code == 1  # the broken line fails alone
    assert sorted(r["Last_Name"] for r in emulator.store.table("Contacts")) == ["A", "B"]
    assert not any("E_mail" in r for r in emulator.store.table("Contacts"))


class _NoSettingsScope(httpx.AsyncBaseTransport):
    """A token without the settings scope: Zoho answers 401 OAUTH_SCOPE_MISMATCH to settings/fields."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/settings/fields"):
            body = {
                "code": "OAUTH_SCOPE_MISMATCH",
                "details": {},
                "message": "invalid oauth scope to access this URL",
                "status": "error",
            }
            return httpx.Response(401, json=body)
        return await self.inner.handle_async_request(request)


async def test_without_field_metadata_the_columns_are_unchecked_only_when_asked(tmp_path: Path) -> None:
    emulator = BiginEmulator()
    source = write_csv(tmp_path / "p.csv", [["Last_Name", "Email"], *PEOPLE])
    refused = await bigin(
        emulator, "import", "Contacts", str(source), transport=_NoSettingsScope(emulator.transport())
    )
    assert refused.code == 2 and "settings" in refused.err and "--ignore-unknown-columns" in refused.err
    assert len(emulator.store.table("Contacts")) == 0
    unchecked = await bigin(
        emulator,
        "import",
        "Contacts",
        str(source),
        "--ignore-unknown-columns",
        transport=_NoSettingsScope(emulator.transport()),
    )
    assert unchecked.code == 0, unchecked.err
    assert "not checked" in " ".join(unchecked.out.split()) and len(emulator.store.table("Contacts")) == 4
