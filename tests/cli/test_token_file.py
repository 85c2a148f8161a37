"""The CLI keeps its access token in a per-user file between runs (issue #9, item 17).

Zoho lets a refresh token mint 10 access tokens in 10 minutes: a CLI that refreshed on every run
would fail every row of the 11th run. Every test points HOME and XDG_CACHE_HOME at tmp_path, so
nothing is written to the developer's real home.
"""

from __future__ import annotations

import argparse
import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from rich.console import Console

from bigin_async.cli import build_parser, main, run_command
from bigin_async.cli.common import client_from_args, default_token_dir, token_file_name
from bigin_async.client import BiginClient
from bigin_emulator import BiginEmulator
from tests.helpers.cli import Run, clear_bigin_variables


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fake home (and cache dir) with no BIGIN_* variables from the developer's shell."""
    fake = tmp_path / "home"
    fake.mkdir()
    monkeypatch.setenv("HOME", str(fake))
    monkeypatch.setenv("XDG_CACHE_HOME", str(fake / ".cache"))
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    clear_bigin_variables(monkeypatch)
    yield fake


def credentials(
    monkeypatch: pytest.MonkeyPatch, emulator: BiginEmulator, url: str = "http://127.0.0.1"
) -> None:
    monkeypatch.setenv("BIGIN_CLIENT_ID", emulator.client_id)
    monkeypatch.setenv("BIGIN_CLIENT_SECRET", emulator.client_secret)
    monkeypatch.setenv("BIGIN_REFRESH_TOKEN", emulator.refresh_token)
    monkeypatch.setenv("BIGIN_API_DOMAIN", url)
    monkeypatch.setenv("BIGIN_ACCOUNTS_URL", url)


async def export(emulator: BiginEmulator | None, output: Path, *extra: str) -> Run:
    """``bigin export`` through the real ``client_from_args`` (BIGIN_* variables, token file and all);
    with ``emulator``, its in-process transport stands in for the network."""
    args = build_parser().parse_args(
        ["export", "Contacts", "--fields", "Email", "-o", str(output), "--no-progress", *extra]
    )
    out, err = io.StringIO(), io.StringIO()

    def connect(namespace: argparse.Namespace) -> BiginClient:
        if emulator is None:
            return client_from_args(namespace)
        return client_from_args(namespace, transport=emulator.transport())

    code = await run_command(
        args, connect=connect, out=Console(file=out, width=200), err=Console(file=err, width=200)
    )
    return Run(code, out.getvalue(), err.getvalue())


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


async def test_twelve_runs_in_a_row_refresh_the_token_once(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = BiginEmulator(seed_records=3)
    credentials(monkeypatch, emulator)
    runs = [await export(emulator, tmp_path / f"out{i}.csv") for i in range(12)]
    assert [run.code for run in runs] == [0] * 12, runs[-1].err
    assert emulator.counters.refreshes == 1
    directory = home / ".cache" / "bigin-async"
    token_file = directory / token_file_name(emulator.client_id, "us", "http://127.0.0.1")
    assert token_file.is_file()
    assert (
        stat.S_IMODE(token_file.stat().st_mode) == 0o600 and stat.S_IMODE(directory.stat().st_mode) == 0o700
    )
    text = token_file.read_text(encoding="utf-8")
    assert emulator.client_secret not in text and emulator.refresh_token not in text
    assert emulator.client_id not in token_file.name


async def test_twelve_runs_over_real_http_refresh_once(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    """The console script's own path (no injected transport): a served emulator on loopback."""
    if anyio_backend != "asyncio":
        pytest.skip("the emulator's socket server is uvicorn (asyncio)")
    emulator = BiginEmulator(seed_records=2)
    async with emulator.serve(port=0) as url:
        credentials(monkeypatch, emulator, url)
        codes = [(await export(None, tmp_path / f"o{i}.csv")).code for i in range(12)]
    assert codes == [0] * 12 and emulator.counters.refreshes == 1


async def test_two_runs_at_once_with_a_cold_cache_refresh_once(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two commands started together: the second waits on the file's lock and reads the first's token."""
    emulator = BiginEmulator()
    credentials(monkeypatch, emulator)
    codes: list[int] = []

    async def one(name: str) -> None:
        codes.append((await export(emulator, tmp_path / name)).code)

    async with anyio.create_task_group() as group:
        for name in ("x.csv", "y.csv", "z.csv"):
            group.start_soon(one, name)
    assert codes == [0, 0, 0] and emulator.counters.refreshes == 1


def test_the_file_name_is_keyed_by_client_id_and_data_centre_without_secrets() -> None:
    us = token_file_name("1000.ABCDEF", "us", "https://accounts.zoho.com")
    assert us != token_file_name("1000.OTHER", "us", "https://accounts.zoho.com")
    assert us != token_file_name("1000.ABCDEF", "eu", "https://accounts.zoho.eu")
    assert us == token_file_name("1000.ABCDEF", "us", "https://accounts.zoho.com")
    assert "ABCDEF" not in us and "1000" not in us and "us" in us and us.endswith(".json")


def test_the_default_directory_is_the_users_cache_dir(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert default_token_dir({"HOME": home, "XDG_CACHE_HOME": "/x/cache"}, "linux") == Path(
        "/x/cache/bigin-async"
    )
    # XDG says a relative value is to be ignored.
    assert (
        default_token_dir({"HOME": home, "XDG_CACHE_HOME": "rel"}, "linux")
        == tmp_path / ".cache" / "bigin-async"
    )
    assert default_token_dir({"HOME": home}, "linux") == tmp_path / ".cache" / "bigin-async"
    assert (
        default_token_dir({"HOME": home, "XDG_CACHE_HOME": "/x"}, "darwin")
        == tmp_path / "Library" / "Caches" / "bigin-async"
    )
    assert default_token_dir({"LOCALAPPDATA": "C:/Users/a/AppData/Local"}, "win32") == Path(
        "C:/Users/a/AppData/Local/bigin-async"
    )


async def test_token_file_option_and_variable_override_the_default(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = BiginEmulator()
    credentials(monkeypatch, emulator)
    chosen = tmp_path / "chosen" / "tokens.json"
    from_env = tmp_path / "env-tokens.json"
    monkeypatch.setenv("BIGIN_TOKEN_FILE", str(from_env))
    by_option = await export(emulator, tmp_path / "a.csv", "--token-file", str(chosen))
    assert by_option.code == 0 and chosen.is_file() and not from_env.exists()  # the option wins
    by_env = await export(emulator, tmp_path / "b.csv")
    assert by_env.code == 0 and from_env.is_file()
    assert stat.S_IMODE(from_env.stat().st_mode) == 0o600
    assert not (home / ".cache").exists()  # neither touched the per-user default


async def test_emulator_runs_leave_no_token_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = BiginEmulator(seed_records=2)
    credentials(monkeypatch, emulator)  # real-looking credentials in the shell: --emulator ignores them
    run = await export(emulator, tmp_path / "e.csv", "--emulator", "http://127.0.0.1")
    assert run.code == 0, run.err
    assert files_under(home) == []


def test_the_demo_leaves_no_token_file(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--contacts", "20", "--companies", "5", "--latency", "0", "--no-progress"]) == 0
    capsys.readouterr()
    assert files_under(home) == []


async def test_an_access_token_alone_needs_no_token_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = BiginEmulator()
    monkeypatch.setenv("BIGIN_ACCESS_TOKEN", emulator.issue_token())
    monkeypatch.setenv("BIGIN_API_DOMAIN", "http://127.0.0.1")
    run = await export(emulator, tmp_path / "t.csv")
    assert run.code == 0, run.err
    assert files_under(home) == []


async def test_a_token_the_server_no_longer_knows_is_replaced_once(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file outlives the server's memory of its token (revoked, or an org restarted)."""
    first = BiginEmulator()
    credentials(monkeypatch, first)
    assert (await export(first, tmp_path / "1.csv")).code == 0
    restarted = BiginEmulator()  # same credentials, knows none of the first one's tokens
    runs = [await export(restarted, tmp_path / f"{i}.csv") for i in range(3)]
    assert [run.code for run in runs] == [0, 0, 0], runs[0].err
    assert restarted.counters.refreshes == 1


async def test_a_corrupt_token_file_costs_one_refresh_and_is_rewritten(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = BiginEmulator()
    credentials(monkeypatch, emulator)
    token_file = tmp_path / "tokens.json"
    token_file.write_text("{half a file", encoding="utf-8")
    runs = [await export(emulator, tmp_path / f"{i}.csv", "--token-file", str(token_file)) for i in range(2)]
    assert [run.code for run in runs] == [0, 0] and emulator.counters.refreshes == 1
    assert isinstance(json.loads(token_file.read_text(encoding="utf-8")), dict)


async def test_an_unusable_cache_dir_falls_back_but_an_unusable_token_file_is_an_error(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = BiginEmulator()
    credentials(monkeypatch, emulator)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache dir cannot be created under a file
    fallback = await export(emulator, tmp_path / "f.csv")
    assert fallback.code == 0, fallback.err  # a read-only home must not stop the command
    refused = await export(emulator, tmp_path / "g.csv", "--token-file", str(blocker / "tokens.json"))
    assert refused.code == 2 and "--token-file" in refused.err
    assert not (tmp_path / "g.csv").exists()


def test_help_says_where_the_token_is_kept(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    assert main(["import", "--help"]) == 0
    sub = capsys.readouterr().out
    for text in (top, sub):
        flat = " ".join(text.split())
        assert "BIGIN_TOKEN_FILE" in flat and "--token-file" in flat
        assert str(home / ".cache" / "bigin-async") in flat
