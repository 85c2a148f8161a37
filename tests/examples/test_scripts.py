"""Every ``examples/*.py`` runs as a user would run it: ``python examples/NAME.py`` from the repo root.

Run as subprocesses with the ``BIGIN_*`` credentials removed, so they talk to the bigin-emulator
and never to a real org, whatever the developer's environment holds.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.examples import EXAMPLES, REPO

SCRIPTS = sorted(path for path in EXAMPLES.glob("*.py") if not path.name.startswith("_"))

# Examples that serve until stopped (or need sockets) are exercised in-process by their own tests.
SERVICES = {
    "fastapi_app.py": "a web service: it serves until stopped; its own test drives the app in-process",
}

# The examples that translate one code sample each (the other helpers' files have their own tests).
CODE_SAMPLE_TRANSLATIONS = [
    "bulk_create_and_upsert",
    "create_company",
    "create_contact",
    "create_deal",
    "create_event",
    "create_note",
    "create_product",
    "create_task",
    "deduplication",
    "export_all_contacts",
    "get_pipelines",
    "integration",
    "sales_workflow",
    "search",
    "update_deal_stage",
    "validation_and_errors",
]


def service_reason(script: Path) -> str | None:
    """Why a script cannot simply run to completion, or None when it can."""
    if script.name in SERVICES:
        return SERVICES[script.name]
    if "uvicorn.run(" in script.read_text(encoding="utf-8"):
        return "starts a uvicorn server (a service that needs a socket)"
    return None


def emulator_environment() -> dict[str, str]:
    """The current environment minus every BIGIN_* variable (no real org, ever)."""
    return {name: value for name, value in os.environ.items() if not name.startswith("BIGIN_")}


def test_the_translations_are_all_there() -> None:
    present = {path.stem for path in SCRIPTS}
    assert set(CODE_SAMPLE_TRANSLATIONS) <= present, set(CODE_SAMPLE_TRANSLATIONS) - present


@pytest.mark.parametrize("name", CODE_SAMPLE_TRANSLATIONS)
def test_translation_names_its_section_and_has_an_async_main(name: str) -> None:
    tree = ast.parse((EXAMPLES / f"{name}.py").read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree) or ""
    assert docstring.splitlines()[0].endswith(", with bigin-async."), "the first line says what it shows"
    assert f"python examples/{name}.py" in docstring, "the docstring says how to run it"
    mains = [node for node in tree.body if isinstance(node, ast.AsyncFunctionDef) and node.name == "main"]
    assert mains and mains[0].returns is not None, "async def main(bigin) -> result"


@pytest.mark.parametrize("script", SCRIPTS, ids=[path.name for path in SCRIPTS])
def test_example_runs_as_a_script(script: Path) -> None:
    reason = service_reason(script)
    if reason is not None:
        pytest.skip(reason)
    completed = subprocess.run(
        [sys.executable, str(script.relative_to(REPO))],
        cwd=REPO,
        env=emulator_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip(), "an example prints its outcome"
    assert "Traceback" not in completed.stderr
