"""House rules of the test tree: a clone on its own, as users get it, runs every test.

- Tests import their helpers from ``tests/helpers/``, never from a conftest file (a conftest is
  pytest's to load; importing it as a module as well runs it twice, under two names).
- Nothing in ``tests/`` reads a path outside the repository: no ``../shared``, no absolute paths of
  a developer's machine, no ``Path(__file__).parents[N]`` that climbs above the repository root.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SOURCES = sorted(TESTS.rglob("*.py"))

# Text of the paths outside the repository that tests used to read (the shared recordings, the API
# notes): split so that this file does not match itself.
OUTSIDE = ["../" + "shared", "/work" + "/", "shared" + "/fixtures", "bigin" + "-api.md"]


def _name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _package(path: Path) -> tuple[str, ...]:
    return path.relative_to(REPO).with_suffix("").parts[:-1]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree: ast.AST, package: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """Every module a file imports (line, dotted name), relative imports resolved against its package.

    ``from tests.examples import conftest`` yields ``tests.examples`` and ``tests.examples.conftest``:
    a name imported from a package may be a module of it.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def climbs(tree: ast.AST) -> Iterator[tuple[int, int]]:
    """How many folders up each ``.parents[N]`` or ``.parent.parent...`` goes (line, levels).

    ``Path(__file__).parent`` is one level: the file's own folder.
    """
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
        ):
            yield node.lineno, node.slice.value + 1
        elif isinstance(node, ast.Attribute) and node.attr == "parent":
            levels, inner = 1, node.value
            while isinstance(inner, ast.Attribute) and inner.attr == "parent":
                levels, inner = levels + 1, inner.value
            yield node.lineno, levels


def _is_conftest(module: str) -> bool:
    return module == "conftest" or module.endswith(".conftest")


def test_no_module_imports_a_conftest() -> None:
    offences = [
        f"{_name(path)}:{line} imports {module}"
        for path in SOURCES
        for line, module in imported_modules(_tree(path), _package(path))
        if _is_conftest(module)
    ]
    assert not offences, "import helpers from tests/helpers/ instead:\n" + "\n".join(offences)


def test_nothing_in_tests_names_a_path_outside_the_repository() -> None:
    this = Path(__file__).resolve()
    offences = [
        f"{_name(path)}:{number}: {line.strip()}"
        for path in SOURCES
        if path != this
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if any(text in line for text in OUTSIDE)
    ]
    assert not offences, "\n".join(offences)


def test_no_path_climbs_above_the_repository_root() -> None:
    offences = []
    for path in SOURCES:
        root = len(path.relative_to(REPO).parts)  # levels up from the file to the repository root
        for line, levels in climbs(_tree(path)):
            if levels > root:
                offences.append(f"{_name(path)}:{line} goes {levels} folders up, the root is {root} up")
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize(
    ("source", "offends"),
    [
        ("from tests.conftest import load_fixture", True),
        ("from tests.examples.conftest import load_example", True),
        ("from tests.examples import conftest", True),
        ("import tests.conftest", True),
        ("from .conftest import insert", True),
        ("from . import conftest", True),
        ("from tests.helpers.fixtures import load_fixture", False),
        ("from .loopback import serve", False),
    ],
)
def test_the_conftest_check_sees_every_form_of_import(source: str, offends: bool) -> None:
    found = [module for _, module in imported_modules(ast.parse(source), ("tests", "chaos"))]
    assert any(_is_conftest(module) for module in found) is offends, found


def test_a_relative_import_resolves_against_the_file_s_package() -> None:
    found = {
        module for _, module in imported_modules(ast.parse("from ..helpers import clock"), ("tests", "chaos"))
    }
    assert found == {"tests.helpers", "tests.helpers.clock"}


@pytest.mark.parametrize(
    ("source", "levels"),
    [
        ("Path(__file__).resolve().parents[2]", 3),
        ("Path(__file__).resolve().parent.parent", 2),
        ("Path(__file__).parent", 1),
    ],
)
def test_the_climb_check_counts_folders_up(source: str, levels: int) -> None:
    assert max(found for _, found in climbs(ast.parse(source))) == levels


_LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical", "log"})


def unnamed_log_calls(tree: ast.AST) -> Iterator[int]:
    """Lines of ``logger.<level>(...)`` calls whose ``extra`` does not name a ``bigin_event``."""
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _LOG_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "logger"
        ):
            continue
        extra = next((k.value for k in node.keywords if k.arg == "extra"), None)
        keys = extra.keys if isinstance(extra, ast.Dict) else []
        if not any(isinstance(key, ast.Constant) and key.value == "bigin_event" for key in keys):
            yield node.lineno


def test_every_sdk_log_record_says_what_happened_in_bigin_event() -> None:
    # A JSON handler or an alert keys on bigin_event; a record with only the filter's "message"
    # placeholder tells it nothing (27 warnings did so: refresh failures, Redis outages...).
    unnamed = [
        f"{_name(path)}:{line}"
        for path in sorted((REPO / "bigin_async").rglob("*.py"))
        for line in unnamed_log_calls(_tree(path))
    ]
    assert unnamed == []


def test_the_log_call_check_sees_a_call_without_extra_or_without_the_event() -> None:
    source = (
        'logger.warning("a")\n'
        'logger.info("b", extra={"bigin_url": "u"})\n'
        'logger.debug("c", extra={"bigin_event": "fine"})\n'
        'other.warning("d")\n'
    )
    assert list(unnamed_log_calls(ast.parse(source))) == [1, 2]
