"""Issue 14, item 5: a command run without its extra says which extra to install, in one line.

The extras are played missing by a ``sitecustomize`` (on ``PYTHONPATH``) whose finder makes
``import rich`` or ``import bigin_emulator`` fail as for a distribution not installed, before
``python -m ...`` runs a line of the SDK: the command as a user starts it, not a function call.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bigin_async.cli.demo import CLI_INSTALL_HINT, EMULATOR_INSTALL_HINT
from tests.helpers.missing import blocking

REPO = Path(__file__).resolve().parents[1]


def _run_without(package: str, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(blocking(package), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )


def _one_line_naming(done: subprocess.CompletedProcess[str], hint: str) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and hint in lines[0], done.stderr
    assert lines[0].startswith("error: ")
    assert done.stdout == ""


# Each command a missing extra stops, with the extra it names (and so the hint it prints).
_WITHOUT_THE_EMULATOR = [
    ["-m", "bigin_async.cli", "demo"],
    ["-m", "bigin_async.cli", "demo", "--contacts", "3"],
    ["-m", "bigin_async.cli", "emulator"],
    ["-m", "bigin_async.cli", "emulator", "seed", "org.json"],
    ["-m", "bigin_async.cli.demo", "--contacts", "3"],
]
_WITHOUT_RICH = [
    ["-m", "bigin_async.cli", "demo"],
    ["-m", "bigin_async.cli", "export", "Contacts", "-o", "out.csv"],
    ["-m", "bigin_async.cli", "--help"],
    ["-m", "bigin_async.cli.demo", "--contacts", "3"],
]


def test_the_hints_name_the_extras() -> None:
    assert EMULATOR_INSTALL_HINT == 'pip install "bigin-async[emulator]"'
    assert CLI_INSTALL_HINT == 'pip install "bigin-async[cli]"'


_CASES = [
    *[("bigin_emulator", EMULATOR_INSTALL_HINT, argv) for argv in _WITHOUT_THE_EMULATOR],
    *[("rich", CLI_INSTALL_HINT, argv) for argv in _WITHOUT_RICH],
]


@pytest.mark.parametrize(
    ("hidden", "hint", "argv"), _CASES, ids=[f"{hidden}:{' '.join(argv[1:])}" for hidden, _, argv in _CASES]
)
def test_without_its_extra_each_command_names_it(
    hidden: str, hint: str, argv: list[str], tmp_path: Path
) -> None:
    done = _run_without(hidden, tmp_path, *argv)
    _one_line_naming(done, hint)
    assert not (tmp_path / "org.json").exists() and not (tmp_path / "out.csv").exists()


def test_the_emulator_command_needs_no_rich(tmp_path: Path) -> None:
    """``bigin emulator`` runs the emulator's own command line, which prints without rich."""
    done = _run_without(
        "rich", tmp_path, "-m", "bigin_async.cli", "emulator", "seed", "org.json", "--contacts", "2"
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith("wrote org.json (2 Contacts") and (tmp_path / "org.json").is_file()


def test_the_finder_does_hide_the_module(tmp_path: Path) -> None:
    """The set-up itself: without it every test above would pass for the wrong reason."""
    done = _run_without("bigin_emulator", tmp_path, "-c", "import bigin_emulator")
    assert done.returncode == 1 and "ModuleNotFoundError: No module named 'bigin_emulator'" in done.stderr
    assert _run_without("nothing_hidden", tmp_path, "-c", "import bigin_emulator, rich").returncode == 0
