"""The import graph of ``bigin_async``: no cycles, and the emulator only reached lazily by the CLI.

Every ``import`` statement of every module is an edge, wherever it sits: at module level, inside
a function, under ``if TYPE_CHECKING:``. ``from package import name`` is an edge to the
submodule ``package.name`` when there is one, to the package otherwise. ``bigin_async/__init__.py``
re-exports the public names, so it imports nearly everything: it counts as a leaf importer (its
own imports are checked, but ``from bigin_async import X`` inside the package is an edge to
nothing, since the package itself is never what a module needs).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bigin_async"
ROOT = "bigin_async"
# The CLI commands that run an emulator (``bigin demo``, ``bigin emulator``) may import it.
EMULATOR_IMPORTERS = {"bigin_async.cli.demo", "bigin_async.cli.main"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    in_function: bool
    type_checking: bool


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module of a ``from ... import``, relative ones included."""
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _imports(module: str) -> list[Edge]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    edges: list[Edge] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                edges.append(Edge(module, alias.name, node.lineno, in_function, type_checking))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                target = candidate if candidate in MODULES else base
                edges.append(Edge(module, target, node.lineno, in_function, type_checking))
        for child in ast.iter_child_nodes(node):
            function = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            guarded = type_checking or (
                isinstance(node, ast.If) and child in node.body and _is_type_checking(node.test)
            )
            visit(child, function, guarded)

    visit(tree, False, False)
    return edges


EDGES = [edge for module in MODULES for edge in _imports(module)]


def _graph(*, type_checking: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for edge in EDGES:
        if edge.type_checking and not type_checking:
            continue
        if edge.target in MODULES and edge.target != ROOT and edge.target != edge.source:
            graph[edge.source].add(edge.target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_graph_sees_every_kind_of_import() -> None:
    """The parser finds imports inside functions and under TYPE_CHECKING (so they are counted)."""
    assert len(MODULES) > 50
    assert any(edge.in_function for edge in EDGES)
    assert any(edge.type_checking for edge in EDGES)
    assert any(edge.target == "bigin_async.resources._base" for edge in EDGES)


def _explain(cycles: list[list[str]], *, type_checking: bool) -> str:
    """The imports that close each cycle, as ``module:line -> module``, for the failure message."""
    lines = []
    for cycle in cycles:
        members = set(cycle)
        for edge in EDGES:
            if (
                edge.source in members
                and edge.target in members
                and (type_checking or not edge.type_checking)
            ):
                where = " (under TYPE_CHECKING)" if edge.type_checking else ""
                lines.append(f"{edge.source}:{edge.line} -> {edge.target}{where}")
    return "\n".join(sorted(set(lines)))


def test_no_import_cycle_inside_bigin_async() -> None:
    """Imports that run (at module level or inside functions) form no cycle."""
    cycles = _cycles(_graph(type_checking=False))
    assert cycles == [], _explain(cycles, type_checking=False)


# Cycles closed only by an import under TYPE_CHECKING, known and to be removed: errors.py names
# BulkResult in BulkWriteError's signature while bulk/results.py raises errors.py's bulk errors.
# When errors.py stops importing bulk.results this list must become empty (the test says so).
TYPE_ONLY_CYCLES = [["bigin_async.bulk.results", "bigin_async.errors"]]


def test_no_import_cycle_even_through_type_checking_imports() -> None:
    """Nor with the imports only type checkers read, but for the known ones listed above."""
    cycles = _cycles(_graph(type_checking=True))
    new = [cycle for cycle in cycles if cycle not in TYPE_ONLY_CYCLES]
    assert new == [], _explain(new, type_checking=True)
    gone = [cycle for cycle in TYPE_ONLY_CYCLES if cycle not in cycles]
    assert gone == [], f"no longer a cycle, remove it from TYPE_ONLY_CYCLES: {gone}"


def test_a_cycle_would_be_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_the_cli_s_emulator_commands_import_the_emulator(module: str) -> None:
    emulator = [e for e in EDGES if e.source == module and e.target.split(".")[0] == "bigin_emulator"]
    if module in EMULATOR_IMPORTERS:
        eager = [e.line for e in emulator if not (e.in_function or e.type_checking)]
        assert eager == [], f"{module} imports bigin_emulator outside a function (lines {eager})"
    else:
        assert emulator == [], f"{module} imports bigin_emulator (line {emulator[0].line if emulator else 0})"


def test_importing_bigin_async_never_loads_the_emulator() -> None:
    """No chain of module-level imports leads from a bigin_async module to bigin_emulator.

    ``bigin demo`` and ``bigin emulator`` import it when they run, inside a function, so a user
    without ``bigin-emulator`` installed can import every module of the SDK.
    """
    eager: dict[str, set[str]] = {module: set() for module in MODULES}
    for edge in EDGES:
        if not edge.in_function and not edge.type_checking:
            eager[edge.source].add(edge.target)
    for module in MODULES:
        seen: set[str] = set()
        todo = [module]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            targets = eager.get(current, set())
            reached = sorted(t for t in targets if t.split(".")[0] == "bigin_emulator")
            assert reached == [], f"importing {module} loads {reached[0]} (through {current})"
            todo.extend(t for t in targets if t in MODULES)
