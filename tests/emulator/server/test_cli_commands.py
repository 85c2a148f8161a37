"""``bigin-emulator serve`` and ``seed``: bare options still mean serve, a seed file round-trips."""

from __future__ import annotations

import io
import json
from pathlib import Path

import anyio
import httpx
import pytest

from bigin_emulator.cli import build_emulator, faults_from, limits_from, main, parse_args, run


def test_no_command_and_bare_options_mean_serve() -> None:
    assert parse_args([]).command == "serve"
    bare = parse_args(["--port", "0", "--seed-records", "3"])
    named = parse_args(["serve", "--port", "0", "--seed-records", "3"])
    assert bare == named
    assert (bare.command, bare.port, bare.seed_records, bare.state) == ("serve", 0, 3, None)


def test_seed_options() -> None:
    args = parse_args(
        ["seed", "org.json", "--contacts", "5", "--companies", "2", "--deals", "1", "--seed", "7"]
    )
    assert (args.command, args.file, args.contacts, args.companies, args.deals, args.seed) == (
        "seed",
        Path("org.json"),
        5,
        2,
        1,
        7,
    )
    assert parse_args(["seed", "org.json"]).contacts == 1000


@pytest.mark.parametrize(
    "argv", [["seed"], ["seed", "org.json", "--contacts", "-1"], ["serve", "--seed-records", "-5"]]
)
def test_bad_commands_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2


def _seed(tmp_path: Path, name: str, seed: int, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / name
    argv = ["seed", str(path), "--contacts", "6", "--companies", "2", "--deals", "3", "--seed", str(seed)]
    assert main(argv) == 0
    assert f"wrote {path} (2 Accounts, 6 Contacts, 3 Pipelines, seed {seed})" in capsys.readouterr().out
    return path


def test_a_seed_file_is_what_serve_state_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _seed(tmp_path, "org.json", 7, capsys)
    saved = json.loads(path.read_text(encoding="utf-8"))
    args = parse_args(["serve", "--state", str(path), "--seed-records", "1000"])
    emulator = build_emulator(args, limits_from(args), faults_from(args))
    counts = {name: len(table.records) for name, table in emulator.store.tables.items() if table.records}
    assert counts == {"Accounts": 2, "Contacts": 6, "Pipelines": 3}  # the file's, not 1000 new ones
    assert emulator.export_state() == saved
    contacts = emulator.store.tables["Contacts"].records.values()
    company_ids = set(emulator.store.tables["Accounts"].records)
    assert all(record["Account_Name"]["id"] in company_ids for record in contacts)


def test_the_seed_decides_the_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def contacts(path: Path) -> list[str]:
        state = json.loads(path.read_text(encoding="utf-8"))
        return [record["Email"] for record in state["records"]["Contacts"]]

    first, again = _seed(tmp_path, "a.json", 7, capsys), _seed(tmp_path, "b.json", 7, capsys)
    other = _seed(tmp_path, "c.json", 8, capsys)
    assert contacts(first) == contacts(again) != contacts(other)


def test_an_unreadable_state_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main(["serve", "--port", "0", "--state", str(broken)]) == 2
    assert main(["--port", "0", "--state", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 2 and "Traceback" not in err


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_serve_from_a_seed_file_prints_what_it_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _seed(tmp_path, "org.json", 3, capsys)
    args = parse_args(["--port", "0", "--state", str(path)])
    out, urls, started = io.StringIO(), [], anyio.Event()

    def ready(url: str) -> None:
        urls.append(url)
        started.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(lambda: run(args, out=out, ready=ready))
        await started.wait()
        token = out.getvalue().split("access_token   ")[1].split()[0]
        async with httpx.AsyncClient(
            base_url=urls[0], headers={"Authorization": f"Zoho-oauthtoken {token}"}
        ) as client:
            response = await client.get("/bigin/v2/Contacts", params={"fields": "Email"})
        tasks.cancel_scope.cancel()
    assert urls[0].startswith("http://127.0.0.1:")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(r["Email"] for r in response.json()["data"]) == sorted(
        r["Email"] for r in saved["records"]["Contacts"]
    )
    assert f"seeded records 2 Accounts, 6 Contacts, 3 Pipelines (from {path})" in out.getvalue()


def test_bigin_emulator_in_the_sdk_cli_delegates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("rich")
    from bigin_async.cli.main import main as bigin_main

    path = tmp_path / "org.json"
    assert bigin_main(["emulator", "seed", str(path), "--contacts", "2", "--seed", "1"]) == 0
    assert len(json.loads(path.read_text(encoding="utf-8"))["records"]["Contacts"]) == 2
    assert bigin_main(["emulator", "--help"]) == 0
    assert "usage: bigin emulator" in capsys.readouterr().out
