"""Loading the example scripts of ``examples/`` the way ``python examples/NAME.py`` runs them.

The examples are scripts, not a package: ``python examples/NAME.py`` puts ``examples/`` on
``sys.path`` so they import ``_common`` (and each other) by bare name. The tests do the same,
appending the folder at the end of ``sys.path`` so nothing else is shadowed, and load each example
under a prefixed name (``example_search``) so it cannot clash with another module called ``search``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["EXAMPLES", "REPO", "load_example"]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/{name}.py`` (once) as module ``example_{name}``."""
    if str(EXAMPLES) not in sys.path:
        sys.path.append(str(EXAMPLES))
    module_name = f"example_{name}"
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None, name
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
