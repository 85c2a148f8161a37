"""Python code that makes a package importable no more, as when its distribution is not installed.

The SDK and the emulator are separate distributions, each usable without the other. A subprocess
started with ``python -c blocking("bigin_emulator") + code`` sees ``import bigin_emulator`` fail
with ``ModuleNotFoundError`` (the error pip users get) before anything imports it.
"""

from __future__ import annotations

import subprocess
import sys

__all__ = ["blocking", "import_without"]

_BLOCKER = """
import importlib.abc, sys
class _Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == {package!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _Missing())
"""


def blocking(package: str) -> str:
    """Lines of Python (to prefix to ``python -c`` code) after which ``package`` cannot be imported."""
    return _BLOCKER.format(package=package)


def import_without(package: str, module: str) -> str:
    """The last line ``import module`` prints in a Python where ``package`` is not installed,
    checking that it failed (exit 1) with one error, not one raised while handling another."""
    completed = subprocess.run(
        [sys.executable, "-c", blocking(package) + f"import {module}\n"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert "During handling" not in completed.stderr and "direct cause" not in completed.stderr
    return completed.stderr.strip().splitlines()[-1]
