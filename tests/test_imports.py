"""The import graph of the packages: no circle, and nothing imports from a layer above it.

Every `import` and `from ... import` in the shipped packages counts, including
those inside functions (a hidden import is still a dependency). The layers are
those of `docs/architecture.md`, bottom first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rag", "ingest", "eval", "bench")
LAYERS = (
    ("rag.errors", "rag.documents", "rag.settings", "rag"),
    ("rag.embedding", "rag.index", "rag.llm"),
    ("rag.retrieval",),
    ("ingest", "rag.answer", "rag.tune"),
    ("rag.service", "rag.distributed"),
    ("eval", "bench"),
    ("rag.cli",),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> nx.DiGraph:
    files = [f for package in PACKAGES for f in (ROOT / package).rglob("*.py")]
    modules = {module_name(f): f for f in files}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, file in modules.items():
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for name in imported(tree, module, file.name == "__init__.py"):
            if name in modules and name != module:
                graph.add_edge(module, name)
    return graph


def layer(module: str) -> int:
    best = max(
        (
            (i, prefix)
            for i, names in enumerate(LAYERS)
            for prefix in names
            if _within(module, prefix)
        ),
        key=lambda found: len(found[1]),
    )
    return best[0]


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return import_graph()


def test_the_graph_sees_the_imports(graph: nx.DiGraph) -> None:
    assert graph.has_edge("rag.cli.main", "rag.cli.ask_cmd")
    assert graph.has_edge("eval.harness", "eval.suites.judge")  # imported inside a function
    assert graph.number_of_edges() > 200


def test_no_import_circle(graph: nx.DiGraph) -> None:
    circles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert circles == []


def test_nothing_imports_from_a_layer_above(graph: nx.DiGraph) -> None:
    upward = [
        f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
        for a, b in graph.edges
        if layer(b) > layer(a)
    ]
    assert upward == []
