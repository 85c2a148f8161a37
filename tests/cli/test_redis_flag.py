"""``bigin import|export --redis URL [--redis-namespace NS]``: the run shares the org's limits and
access token with every other process pointed at that Redis.

Several ``bigin`` runs at once (a cron job and a person, say) each keep the org's limits alone
otherwise, and together overrun them. Every test points HOME at tmp_path and clears the BIGIN_*
variables, so nothing of the developer's shell or home is read or written.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from bigin_async import FileTokenStore, MemoryTokenStore
from bigin_async.cli import build_parser, main, run_command
from bigin_async.cli.common import UsageError, client_from_args, coordination_for
from bigin_async.client import BiginClient
from bigin_async.integrations.redis import RedisCoordination
from bigin_async.integrations.redis.coordination import CoordinatedLimits, CoordinatedTokenStore
from bigin_emulator import BiginEmulator
from tests.helpers.cli import Run, clear_bigin_variables
from tests.redis_servers import RedisServer

REDIS = "redis://:hunter2@127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    fake = tmp_path / "home"
    fake.mkdir()
    monkeypatch.setenv("HOME", str(fake))
    monkeypatch.setenv("XDG_CACHE_HOME", str(fake / ".cache"))
    clear_bigin_variables(monkeypatch)
    yield fake


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def export_args(*extra: str) -> argparse.Namespace:
    return parse("export", "Contacts", "-o", "out.csv", *extra)


@pytest.mark.parametrize(
    "command", [["import", "Contacts", "in.csv"], ["export", "Contacts", "-o", "out.csv"]]
)
def test_every_command_that_connects_takes_the_flags(command: list[str]) -> None:
    args = parse(*command, "--redis", REDIS, "--redis-namespace", "nightly")
    assert (args.redis, args.redis_namespace) == (REDIS, "nightly")
    bare = parse(*command)
    assert bare.redis is None and bare.redis_namespace is None


def test_the_flags_make_a_redis_coordination_against_an_emulator() -> None:
    args = export_args(
        "--emulator", "http://127.0.0.1:8787", "--redis", REDIS, "--redis-namespace", "nightly"
    )
    bigin = client_from_args(args)
    coordination = bigin._coordination
    assert isinstance(coordination, RedisCoordination)
    assert (coordination.namespace, coordination.on_redis_down) == ("nightly", "fail")
    assert isinstance(bigin.transport.limits, CoordinatedLimits)
    assert "hunter2" not in repr(bigin) and "nightly" in repr(bigin)


def test_without_the_flags_nothing_is_shared() -> None:
    assert coordination_for(export_args()) is None
    assert client_from_args(export_args("--emulator", "http://127.0.0.1:8787"))._coordination is None


def test_the_environment_gives_the_url_and_the_other_redis_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGIN_REDIS_URL", REDIS)
    monkeypatch.setenv("BIGIN_REDIS_ON_DOWN", "local")
    monkeypatch.setenv("BIGIN_REDIS_PROCESSES", "4")
    found = coordination_for(export_args("--redis-namespace", "cron"))
    assert isinstance(found, RedisCoordination)
    assert (found.namespace, found.on_redis_down, found.expected_processes) == ("cron", "local", 4)
    given = coordination_for(export_args("--redis", "redis://127.0.0.1:6390/2"))
    assert isinstance(given, RedisCoordination) and given.url == "redis://127.0.0.1:6390/2"


def test_a_namespace_without_a_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--redis-namespace needs --redis URL"):
        client_from_args(export_args("--emulator", "http://127.0.0.1:8787", "--redis-namespace", "x"))


def test_against_zoho_the_token_is_kept_in_redis_not_in_the_default_file(
    monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    for name in ("BIGIN_CLIENT_ID", "BIGIN_CLIENT_SECRET", "BIGIN_REFRESH_TOKEN"):
        monkeypatch.setenv(name, "x")
    bigin = client_from_args(export_args("--redis", REDIS))
    assert isinstance(bigin._coordination, RedisCoordination)
    assert isinstance(bigin.transport.tokens.store, CoordinatedTokenStore)
    assert not (home / ".cache").exists()  # no per-user token file made
    named = client_from_args(export_args("--redis", REDIS, "--token-file", str(home / "t.json")))
    assert isinstance(named.transport.tokens.store, FileTokenStore)  # a file named on purpose wins


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--redis", "http://:hunter2@127.0.0.1:6379"], "redis://, rediss:// or unix://"),
        (["--redis", REDIS, "--redis-namespace", "a b"], "namespace"),
    ],
)
def test_a_bad_redis_flag_exits_with_a_usage_error(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["export", "Contacts", "-o", "out.csv", "--emulator", "http://127.0.0.1:1", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err.replace("\n", "") and "hunter2" not in err


async def test_an_export_shares_its_limits_through_redis(
    tmp_path: Path, redis_url: str, redis_server: RedisServer
) -> None:
    emulator = BiginEmulator(seed_records=3)
    output = tmp_path / "contacts.csv"
    args = parse(
        "export", "Contacts", "--fields", "Email", "-o", str(output), "--no-progress",
        "--emulator", "http://127.0.0.1", "--redis", redis_url, "--redis-namespace", "clitest",
        "--requests-per-minute", "100",
    )  # fmt: skip

    def connect(namespace: argparse.Namespace) -> BiginClient:
        return client_from_args(namespace, transport=emulator.transport(), token_store=MemoryTokenStore())

    out, err = io.StringIO(), io.StringIO()
    code = await run_command(
        args, connect=connect, out=Console(file=out, width=200), err=Console(file=err, width=200)
    )
    run = Run(code, out.getvalue(), err.getvalue())
    assert run.code == 0, run.err
    assert output.exists()
    with redis_server.client() as plain:
        keys = plain.keys("{clitest:default:127.0.0.1}:*")
    assert any(":rate:minute:" in key for key in keys), keys


def test_without_redis_py_the_flag_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "bigin_async.integrations.redis", None)  # import fails: not installed
    code = main(["export", "Contacts", "-o", "out.csv", "--emulator", "http://127.0.0.1:1", "--redis", REDIS])
    err = capsys.readouterr().err.replace("\n", "")
    assert code == 2
    assert "--redis is set, but redis-py is not installed" in err and "hunter2" not in err
    assert "pip install 'bigin-async[redis]'" in err  # the brackets shown, not taken for markup
