"""The package's shape, as the design promises it (DESIGN.md, "The house").

- No run-time import cycle between closeasync's modules. Every import counts, those
  inside functions too (a late import that dodges a cycle is still one); imports under
  ``if TYPE_CHECKING:`` do not run and do not count. Importing ``a.b.c`` runs the
  ``__init__`` of ``a.b`` as well, so that counts as importing ``a.b``.
- At most 12 files at the top of the package, and no module over 400 lines.
- Resources reach Close only through their requester: no resource names the client.
- A module's ``__all__`` names only what it defines or deliberately re-exports, and
  public packages list no private name.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "closeasync"
MAX_ROOT_FILES = 12
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(module: str, path: Path) -> Iterator[str]:
    """Every closeasync module ``module`` imports when run (TYPE_CHECKING blocks left out)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]

    def walk(nodes: list[ast.stmt]) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                yield from walk(node.orelse)
                continue
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                name = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:
                    yield f"{name}.{alias.name}" if f"{name}.{alias.name}" in MODULES else name
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from walk([child])

    yield from walk(ast.parse(path.read_text()).body)


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for module, path in MODULES.items():
        for target in _imported(module, path):
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if not target or not target.startswith("closeasync") or target == module:
                continue
            graph[module].add(target)
            parts = target.split(".")
            for depth in range(2, len(parts)):  # the packages on the way run their __init__
                parent = ".".join(parts[:depth])
                if module != parent and not module.startswith(parent + "."):
                    graph[module].add(parent)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
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
    return found


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above could fail: a made-up graph with a cycle is caught."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_a_late_import_counts(tmp_path: Path) -> None:
    """An import inside a function counts; one under ``if TYPE_CHECKING:`` does not."""
    path = tmp_path / "late.py"
    path.write_text("def f():\n    from .b import x\nif TYPE_CHECKING:\n    from .c import y\n")
    assert list(_imported("closeasync.listing.late", path)) == ["closeasync.listing.b"]


def test_few_files_at_the_top() -> None:
    files = [p.name for p in PACKAGE.iterdir() if p.is_file()]
    assert len(files) <= MAX_ROOT_FILES, sorted(files)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_400_lines(module: str) -> None:
    lines = MODULES[module].read_text().count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def test_resources_know_only_their_requester() -> None:
    """No resource imports the client or reaches into a client's privates."""
    for module, path in MODULES.items():
        if not module.startswith("closeasync.resources"):
            continue
        source = path.read_text()
        assert "closeasync.client" not in set(_imported(module, path)), f"{module} imports the client"
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                assert node.value.attr != "_client", f"{module} reaches into a client"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_all_names_only_what_the_module_offers(module: str) -> None:
    loaded = importlib.import_module(module)
    names = getattr(loaded, "__all__", None)
    if names is None:
        return
    for name in names:
        assert hasattr(loaded, name), f"{module}.__all__ names {name!r}, which it does not have"
    if not any(part.startswith("_") for part in module.split(".")):
        private = [name for name in names if name.startswith("_") and not name.endswith("__")]
        assert private == [], f"{module}.__all__ names private names {private}"


def test_the_export_is_an_sdk_user() -> None:
    """``closeasync.export`` uses the SDK as a user would: public names only."""
    public = {"closeasync", "closeasync.models"}
    for module, path in MODULES.items():
        if not module.startswith("closeasync.export"):
            continue
        for target in _imported(module, path):
            if target.startswith("closeasync") and not target.startswith("closeasync.export"):
                name = target if target in MODULES else target.rpartition(".")[0]
                assert name in public, f"{module} imports {target}"
