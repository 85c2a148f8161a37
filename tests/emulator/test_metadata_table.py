"""``state.metadata.MODULES``: the one table of the emulated org's modules, complete and cheap to read.

The SDK's module table is checked against this one, so every entry must carry what such a check
reads (API name, singular and plural labels, fields), and reading it must not start a server.
"""

from __future__ import annotations

import subprocess
import sys

from bigin_emulator.state.metadata import MODULES, get_module


def test_every_module_names_itself_its_labels_and_its_fields() -> None:
    assert list(MODULES) == [
        "Contacts",
        "Accounts",
        "Pipelines",
        "Tasks",
        "Events",
        "Calls",
        "Products",
        "Notes",
    ]
    for api_name, spec in MODULES.items():
        assert spec.api_name == api_name and get_module(api_name) is spec
        assert spec.singular and spec.plural
        assert spec.field_names == tuple(f.api_name for f in spec.fields)
        assert len(set(spec.field_names)) == len(spec.field_names), api_name
        assert "Owner" in spec.field_names and "Created_Time" in spec.field_names
        assert spec.display_field in spec.field_names
        assert set(spec.mandatory_fields) <= set(spec.field_names)
        assert set(spec.unique_fields) <= set(spec.field_names)
        # An alias accepted on write names a real field (or a lookup's ``.id``).
        assert {target.partition(".")[0] for target in spec.aliases.values()} <= set(spec.field_names), (
            api_name
        )
    assert (MODULES["Accounts"].singular, MODULES["Accounts"].plural) == ("Company", "Companies")
    assert (MODULES["Pipelines"].singular, MODULES["Pipelines"].plural) == ("Pipeline", "Pipelines")


def test_reading_the_table_loads_no_server_and_no_sdk() -> None:
    code = (
        "import sys; from bigin_emulator.state.metadata import MODULES; "
        "heavy = ('starlette', 'uvicorn', 'httpx', 'bigin_async'); "
        "loaded = [m for m in sys.modules if m.split('.')[0] in heavy]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
