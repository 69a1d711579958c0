"""The import graph of the project's packages, read from their source (nothing is imported).

Every ``import``/``from ... import`` counts, at module level and inside functions alike (a
function-local import runs when the function is called: it is a runtime edge all the same);
imports under ``if TYPE_CHECKING:`` do not run and do not count. An edge goes from the importing
module to each module the statement makes Python run: the named module and the packages above it
(their ``__init__``), except the importer's own packages, which are already initialised when it runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

Graph = dict[str, set[str]]


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → source file, for every ``.py`` file of ``packages`` under ``root``."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node`` that can run (not under ``if TYPE_CHECKING:``)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
        return
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        children: list[ast.AST] = list(node.orelse)
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        yield from _runtime_imports(child)


def _targets(statement: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             modules: dict[str, Path]) -> set[str]:
    """The project modules ``statement`` names (in ``module``)."""
    if isinstance(statement, ast.Import):
        return {alias.name for alias in statement.names}
    if statement.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - statement.level + 1]
        prefix = ".".join(base + ([statement.module] if statement.module else []))
    else:
        prefix = statement.module or ""
    named = {f"{prefix}.{alias.name}" for alias in statement.names}
    return {name for name in named if name in modules} or {prefix}


def _with_packages(name: str, importer: str, modules: dict[str, Path]) -> set[str]:
    """``name`` and its parent packages that the import runs (not the importer's own packages)."""
    parts = name.split(".")
    own = importer.split(".")
    out = set()
    for i in range(1, len(parts) + 1):
        candidate = ".".join(parts[:i])
        if candidate in modules and parts[:i] != own[:i]:
            out.add(candidate)
    return out


def import_graph(root: Path, packages: Iterable[str]) -> Graph:
    """Module → the project modules it imports at run time (see the module docstring)."""
    modules = module_files(root, packages)
    graph: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for statement in _runtime_imports(tree):
            for target in _targets(statement, name, is_package, modules):
                graph[name] |= _with_packages(target, name, modules) - {name}
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (each one an import cycle), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        # Tarjan's algorithm, iterative: the graph is deep enough to worry about recursion limits.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(found)
