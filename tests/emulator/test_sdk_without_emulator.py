"""The SDK without ``bigin-emulator`` installed: ``bigin demo`` and ``bigin emulator`` say how to get it.

The emulator is its own distribution, so the SDK imports it only inside the two commands that run
it. Its absence is played by ``sys.modules["bigin_emulator"] = None`` (``import`` then raises
``ImportError``, as for a package that is not installed).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.missing import blocking

pytest.importorskip("rich")

HINT = 'pip install "bigin-async[emulator]"'


@pytest.mark.parametrize(
    "argv", [["demo"], ["demo", "--contacts", "5"], ["emulator"], ["emulator", "seed", "x"]]
)
def test_the_commands_say_how_to_install_the_emulator(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bigin_async.cli.main import main

    monkeypatch.setitem(sys.modules, "bigin_emulator", None)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert HINT in captured.err and f"`bigin {argv[0]}`" in captured.err
    assert captured.out == ""


def test_the_demo_module_says_so_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bigin_async.cli.demo import main

    monkeypatch.setitem(sys.modules, "bigin_emulator", None)
    assert main(["--contacts", "1"]) == 2
    assert HINT in capsys.readouterr().err


def test_demo_help_needs_no_emulator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bigin_async.cli.main import main

    monkeypatch.setitem(sys.modules, "bigin_emulator", None)
    assert main(["demo", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--contacts" in out and "``" not in out  # help text, not the docstring's reST


def test_without_the_emulator_the_cli_exits_2_without_a_traceback() -> None:
    code = (
        blocking("bigin_emulator")
        + "from bigin_async.cli.main import main; sys.exit(main(['demo', '--contacts', '3']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert HINT in done.stderr and "Traceback" not in done.stderr


def test_importing_the_cli_does_not_import_the_emulator() -> None:
    code = (
        "import sys; import bigin_async, bigin_async.cli.main, bigin_async.cli.demo; "
        "assert not [m for m in sys.modules if m.startswith('bigin_emulator')], sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
