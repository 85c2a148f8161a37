"""The ``bigin`` entry point: exit codes of usage errors, help, the demo, credentials."""

from __future__ import annotations

import argparse
import inspect

import pytest

from bigin_async.cli import build_parser, main
from bigin_async.cli.common import EMULATOR_CREDENTIALS, UsageError, client_from_args, module_api_name
from bigin_async.errors import ConfigurationError
from bigin_emulator import BiginEmulator


def test_usage_errors_and_help_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["import"]) == 2
    assert main(["import", "Contacts", "x.csv", "--mode", "merge"]) == 2
    assert main(["export", "Contacts"]) == 2  # -o is required
    assert main(["--help"]) == 0
    assert main(["emulator", "--help"]) == 0
    assert "--latency" in capsys.readouterr().out


def test_missing_credentials_exit_2_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("BIGIN_CLIENT_ID", "BIGIN_CLIENT_SECRET", "BIGIN_REFRESH_TOKEN", "BIGIN_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["export", "Contacts", "-o", "never-written.csv", "--no-progress"]) == 2
    assert "--emulator" in capsys.readouterr().err


def test_emulator_flag_uses_the_emulators_default_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = inspect.signature(BiginEmulator.__init__).parameters
    assert {name: defaults[name].default for name in EMULATOR_CREDENTIALS} == EMULATOR_CREDENTIALS
    args = argparse.Namespace(emulator="http://127.0.0.1:9999", max_concurrency=3, requests_per_minute=None)
    client = client_from_args(args)
    assert client.config.api_base == "http://127.0.0.1:9999/bigin/v2" and client.config.max_concurrency == 3
    for name in ("BIGIN_CLIENT_ID", "BIGIN_CLIENT_SECRET", "BIGIN_REFRESH_TOKEN", "BIGIN_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="BIGIN_CLIENT_ID"):
        client_from_args(argparse.Namespace(emulator=None, max_concurrency=None, requests_per_minute=None))


def test_module_names_people_type() -> None:
    assert [module_api_name(n) for n in ("contacts", "Companies", "deals", "Products", "My_Module")] == [
        "Contacts",
        "Accounts",
        "Pipelines",
        "Products",
        "My_Module",
    ]
    with pytest.raises(UsageError):
        module_api_name("../settings")


def test_every_subcommand_is_listed() -> None:
    help_text = build_parser().format_help()
    assert all(name in help_text for name in ("import", "export", "emulator", "demo"))


def test_demo_runs_end_to_end_and_prints_the_servers_counters(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "demo",
            "--contacts",
            "450",
            "--companies",
            "120",
            "--latency",
            "0",
            "--fault-rate",
            "0.1",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "FAILED" not in out and "450 contacts exported, each email once" in out
    assert "the server's counters" in out and "POST /bigin/v2/Contacts/upsert" in out


def test_every_module_of_the_table_is_accepted_by_its_attribute_api_and_alias_names() -> None:
    """The CLI reads the one module table: a module added there is typed as `bigin export <name>`."""
    from bigin_async.models.modules import MODULES

    for spec in MODULES:
        names = [spec.name, spec.api_name, spec.api_name.upper(), *([spec.alias] if spec.alias else [])]
        assert {module_api_name(name) for name in names} == {spec.api_name}, spec
