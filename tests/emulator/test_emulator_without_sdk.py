"""The emulator without ``bigin-async`` installed: it serves, and ``client()`` says how to get the SDK.

``bigin-emulator`` is its own distribution; only ``BiginEmulator.client()`` (and the
``emulator_client`` fixture built on it) hands out the SDK's ``BiginClient``. Without the SDK a
bare ``No module named 'bigin_async'`` would not say which package to install.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bigin_emulator import BiginEmulator
from bigin_emulator.emulator import SDK_INSTALL_HINT
from tests.helpers.missing import blocking

_CLIENT_WITHOUT_SDK = """
from bigin_emulator import BiginEmulator
emulator = BiginEmulator(seed_records=2)
assert len(list(emulator.store.table("Contacts").newest_first())) == 2
assert not [name for name in sys.modules if name.startswith("bigin_async")]
emulator.client()
"""


def test_client_without_the_sdk_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bigin_async", None)
    monkeypatch.setitem(sys.modules, "bigin_async.client", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'bigin-emulator\[sdk\]'") as raised:
        BiginEmulator().client()
    assert raised.value.name is not None and raised.value.name.startswith("bigin_async")
    assert raised.value.__suppress_context__


def test_an_sdk_that_cannot_import_its_own_dependency_keeps_its_own_error() -> None:
    # pydantic: the SDK needs it, the emulator does not (so it is not imported before client()).
    code = blocking("pydantic") + _CLIENT_WITHOUT_SDK.replace('"bigin_async"', '"pydantic"')
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "ModuleNotFoundError: No module named 'pydantic'"


def test_the_emulator_works_without_the_sdk_until_a_client_is_asked_for() -> None:
    code = blocking("bigin_async") + _CLIENT_WITHOUT_SDK
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"ModuleNotFoundError: {SDK_INSTALL_HINT}"
