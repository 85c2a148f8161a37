"""Python code that makes a package importable no more, as when its distribution is not installed.

The SDK and the emulator are separate distributions, each usable without the other. A subprocess
started with ``python -c blocking("bigin_emulator") + code`` sees ``import bigin_emulator`` fail
with ``ModuleNotFoundError`` (the error pip users get) before anything imports it.
"""

from __future__ import annotations

__all__ = ["blocking"]

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
