"""The emulator's layers, read from its source: each imports only the layers below it, no cycles.

From the bottom: ``state/`` (the org's data) and ``ops/`` (what a request does to it), both plain
Python with no HTTP framework; ``routes/`` (Starlette endpoints, one module per Bigin resource);
``server/`` (middleware, faults, counters, serving, notifier, the app); and the top
(``BiginEmulator``, the command line, the pytest plugin, the test-data generator). ``realism`` and
``_version`` are leaves any layer may read: the token authority in ``state/`` honours
``Realism.token_expiry``.

Every import counts, at module level or inside a function: a lazy import still ties the layers.
The one exception is ``BiginEmulator.client()``, which imports the SDK inside the function (the
emulator runs without ``bigin-async``); annotations may name SDK types under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bigin_emulator

PACKAGE = Path(bigin_emulator.__file__).parent
LEAVES = {"bigin_emulator.realism", "bigin_emulator._version"}
LAYERS = ("state", "ops", "routes", "server")  # bottom first; anything else is the top


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module, absolute
    function: str | None  # the enclosing function (``Class.method``), None when the module loads
    typing_only: bool = False  # under ``if TYPE_CHECKING:``: read by type checkers, never run


_TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    yield source
    for alias in node.names:  # ``from bigin_emulator.routes import convertors`` imports a module
        candidate = f"{source}.{alias.name}"
        if candidate in MODULES:
            yield candidate


def _imports(path: Path) -> Iterator[Import]:
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def visit(node: ast.AST, prefix: str, lazy: bool, typing_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from visit(child, f"{prefix}{child.name}.", True, typing_only)
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, f"{prefix}{child.name}.", lazy, typing_only)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                function = prefix.rstrip(".") if lazy else None
                for target in _targets(child, module, path.name == "__init__.py"):
                    yield Import(module, target, function, typing_only)
            elif isinstance(child, ast.If) and ast.unparse(child.test) in _TYPE_CHECKING:
                yield from visit(ast.Module(body=child.body, type_ignores=[]), prefix, lazy, True)
                yield from visit(ast.Module(body=child.orelse, type_ignores=[]), prefix, lazy, typing_only)
            else:
                yield from visit(child, prefix, lazy, typing_only)

    yield from visit(tree, "", False, False)


FILES = sorted(PACKAGE.rglob("*.py"))
MODULES = {_module_name(path) for path in FILES}
IMPORTS = [found for path in FILES for found in _imports(path)]
INTERNAL = [i for i in IMPORTS if i.target.split(".")[0] == "bigin_emulator"]


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "top"


def test_the_parser_sees_the_package() -> None:
    assert len(FILES) > 50 and {"bigin_emulator.state.store", "bigin_emulator.cli"} <= MODULES
    assert Import("bigin_emulator.server.app", "bigin_emulator.routes.records", None) in IMPORTS
    assert Import("bigin_emulator.routes.org", "bigin_emulator.routes.convertors", None) in IMPORTS


def test_every_internal_import_names_a_module_of_the_package() -> None:
    assert not [i for i in INTERNAL if i.target not in MODULES]


def test_state_imports_only_state_and_the_leaves() -> None:
    wrong = [
        i
        for i in INTERNAL
        if layer(i.module) == "state" and layer(i.target) != "state" and i.target not in LEAVES
    ]
    assert not wrong


def test_each_layer_imports_only_layers_below_it() -> None:
    rank = {name: index for index, name in enumerate(LAYERS)} | {"top": len(LAYERS)}
    upward = [
        i
        for i in INTERNAL
        if i.target not in LEAVES
        and i.target != "bigin_emulator"
        and rank[layer(i.target)] > rank[layer(i.module)]
    ]
    assert not upward


def test_state_and_ops_are_plain_python() -> None:
    """No HTTP framework below the routes: the data and the operations run without Starlette."""
    http = {"starlette", "uvicorn", "httpx", "h11"}
    assert not [i for i in IMPORTS if layer(i.module) in ("state", "ops") and i.target.split(".")[0] in http]


def test_ops_never_reach_routes_or_the_server() -> None:
    assert not [i for i in INTERNAL if layer(i.module) == "ops" and layer(i.target) in ("routes", "server")]


def test_the_sdk_is_imported_only_by_biginemulator_client_lazily() -> None:
    sdk = [i for i in IMPORTS if i.target.split(".")[0] == "bigin_async"]
    assert [i for i in sdk if not i.typing_only] == [
        Import("bigin_emulator.emulator", "bigin_async.client", "BiginEmulator.client")
    ]
    # Annotations only (client()'s return type, the emulator_client fixture's), never run.
    assert {(i.module, i.target) for i in sdk if i.typing_only} == {
        ("bigin_emulator.emulator", "bigin_async.client"),
        ("bigin_emulator.pytest_plugin", "bigin_async.client"),
    }


def test_no_import_cycles_inside_the_package() -> None:
    """Over the imports that run when a module loads: one inside a function runs once every module
    is loaded (the package's lazy ``__getattr__``), one under ``TYPE_CHECKING`` never runs."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for found in INTERNAL:
        if found.target != found.module and found.function is None and not found.typing_only:
            graph[found.module].add(found.target)
    # A package's __init__ runs before its submodules: importing ``a.b`` imports ``a`` first.
    for module in MODULES:
        parent = module.rpartition(".")[0]
        if parent:
            graph[module].add(parent)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def walk(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                walk(target, [*stack, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert not cycles


def test_every_module_declares_all() -> None:
    missing = [
        _module_name(path)
        for path in FILES
        if not any(
            isinstance(node, (ast.Assign, ast.AnnAssign))
            and any(
                isinstance(target, ast.Name) and target.id == "__all__"
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            for node in ast.parse(path.read_text(encoding="utf-8")).body
        )
    ]
    assert not missing
