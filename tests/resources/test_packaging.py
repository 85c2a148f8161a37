"""Every sub-package ships: a folder of modules without ``__init__.py`` is left out of the wheel.

``pyproject.toml`` lists packages with ``setuptools.packages.find``, which only finds regular
packages. ``bigin_async/modules`` once had no ``__init__.py``: an editable install worked (a
namespace package), a built wheel would not have contained the module clients at all.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def test_every_folder_with_python_files_is_a_package_setuptools_finds() -> None:
    found = set(find_packages(where=str(ROOT), include=["bigin_async*"]))
    folders = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "bigin_async").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert "bigin_async.resources" in folders
    assert folders <= found, f"not packaged: {sorted(folders - found)}"
