"""Issue 14, item 6: ``bigin emulator --help`` and ``bigin demo --help`` read as ``bigin`` commands,
with the records they start from and the defaults, the figures taken from the code."""

from __future__ import annotations

import re

import pytest

from bigin_async.cli.demo import DemoOptions
from bigin_async.cli.main import main
from bigin_emulator.cli import DEFAULT_SEED_RECORDS, parse_args


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return " ".join(captured.out.split())  # argparse wraps lines where it likes


def test_emulator_help_is_bigin_emulators_and_gives_the_seeded_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(capsys, "emulator", "--help")
    assert text.startswith("usage: bigin emulator ")
    assert f"--seed-records N contacts the org starts with (default {DEFAULT_SEED_RECORDS:,}" in text
    assert "bigin-emulator" not in text  # every command it names is spelled as the user typed it
    assert f"bigin emulator --port 8787 --seed-records {DEFAULT_SEED_RECORDS}" in text  # an example
    assert "bigin emulator seed org.json" in text and "--state org.json" in text
    assert parse_args([]).seed_records == DEFAULT_SEED_RECORDS  # the default shown is the one used


@pytest.mark.parametrize("command", ["serve", "seed"])
def test_the_emulators_commands_say_bigin_emulator_too(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    text = _help(capsys, "emulator", command, "--help")
    assert text.startswith(f"usage: bigin emulator {command} ")
    assert "bigin-emulator" not in text
    if command == "seed":
        assert f"--contacts N contacts (default {DEFAULT_SEED_RECORDS:,})" in text
        assert parse_args(["seed", "x.json"]).contacts == DEFAULT_SEED_RECORDS
    else:
        assert f"(default {DEFAULT_SEED_RECORDS:,}" in text


def test_the_standalone_emulator_keeps_its_own_name(capsys: pytest.CaptureFixture[str]) -> None:
    from bigin_emulator.cli import build_parser

    text = " ".join(build_parser().format_help().split())
    assert text.startswith("usage: bigin-emulator ")
    assert "`bigin-emulator seed`" in text and "bigin emulator" not in text


def test_demo_help_is_bigin_demos_with_the_record_counts_and_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(capsys, "demo", "--help")
    defaults = DemoOptions()
    assert text.startswith("usage: bigin demo ")
    assert f"--contacts N contacts to import (default {defaults.contacts:,})" in text
    assert f"--companies N companies to import (default {defaults.companies:,})" in text
    assert f"(default {defaults.latency})" in text and f"(default {defaults.fault_rate})" in text
    assert f"(default {defaults.concurrency})" in text and f"(default {defaults.seed})" in text
    assert "python -m" not in text and "``" not in text  # help for the command, not the module's docstring
    assert re.search(r"bigin demo --contacts \d", text)  # an example


def test_demo_defaults_are_the_options_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from bigin_async.cli.demo import build_parser

    args = build_parser().parse_args([])
    defaults = DemoOptions()
    assert (args.contacts, args.companies, args.latency, args.fault_rate, args.concurrency, args.seed) == (
        defaults.contacts,
        defaults.companies,
        defaults.latency,
        defaults.fault_rate,
        defaults.concurrency,
        defaults.seed,
    )
