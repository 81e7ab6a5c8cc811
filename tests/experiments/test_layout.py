"""The import structure of the packages: no import cycles, no module importing another's private names.

Built from the source with :mod:`ast` (nothing is imported), over ``model/``, ``agents/`` and
``experiments/``. Every import counts, also those inside functions: an import deferred to keep
``--help`` fast is still a dependency, and a cycle through it is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("model", "agents", "experiments")

# Private names imported across modules that the owners of model/ and agents/ are to make public
# (pairs of importing module, imported module.name). Empty once they are; a new one fails the test.
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str]] = set()
# Import cycles known to the owners of model/ and agents/, as sorted tuples of their modules.
KNOWN_CYCLES: set[tuple[str, ...]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module name of a ``from ... import`` (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(modules: dict[str, Path]) -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """``(edges, private)``: each module's imported project modules, and every private name imported.

    ``from pkg import sub`` where ``pkg.sub`` is a module is an edge to ``pkg.sub`` (not to ``pkg``).
    A private import is ``(importer, "module.name")`` for a name starting with one underscore, or
    ``(importer, "pkg._module")`` for a private module imported from outside its package ``pkg``.
    """
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[tuple[str, str]] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        edges[name].add(alias.name)
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(name, is_package, node)
                if source.split(".")[0] not in PACKAGES:
                    continue
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    if sub in modules:
                        edges[name].add(sub)
                        continue
                    if source in modules:
                        edges[name].add(source)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append((name, sub))
    for name in edges:
        edges[name].discard(name)
        for target in edges[name]:
            parts = target.split(".")
            for i, part in enumerate(parts[1:], start=1):
                if part.startswith("_") and not part.startswith("__"):
                    package = ".".join(parts[:i])
                    if name != package and not name.startswith(package + "."):
                        private.append((name, ".".join(parts[: i + 1])))
                    break
    return edges, private


def find_cycles(edges: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The strongly connected components with more than one module (Tarjan), each as a sorted tuple."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[tuple[str, ...]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(tuple(sorted(component)))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    return import_graph(_modules())


def test_no_import_cycles(graph):
    edges, _ = graph
    cycles = set(find_cycles(edges))
    assert cycles - KNOWN_CYCLES == set(), f"import cycles: {sorted(cycles - KNOWN_CYCLES)}"


def test_no_private_names_imported_across_modules(graph):
    _, private = graph
    new = sorted(set(private) - KNOWN_PRIVATE_IMPORTS)
    assert new == [], "private names imported from another module (make them public where they live): " + ", ".join(
        f"{importer} imports {name}" for importer, name in new
    )


def test_known_exceptions_still_exist(graph):
    """An exception that no longer occurs is removed from the lists, so that it cannot come back unseen."""
    edges, private = graph
    assert KNOWN_PRIVATE_IMPORTS <= set(private)
    assert set(find_cycles(edges)) >= KNOWN_CYCLES


def test_the_checks_can_fail(tmp_path):
    """Planted cycles and private imports are found; a submodule import is not mistaken for its package."""
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [("a", "b", "c")]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    sources = {
        "experiments": "from experiments import sub\n",
        "experiments.sub": "from experiments.other import _helper, public\n",
        "experiments.other": "def f():\n    from .sub import x\n",
        "experiments.third": "from model._cache import key\n",
        "model._cache": "",
    }
    modules = {}
    for name, text in sources.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        modules[name] = path
    edges, private = import_graph(modules)
    assert edges["experiments"] == {"experiments.sub"}
    assert edges["experiments.other"] == {"experiments.sub"}
    assert find_cycles(edges) == [("experiments.other", "experiments.sub")]
    assert sorted(private) == [("experiments.sub", "experiments.other._helper"), ("experiments.third", "model._cache")]


def test_the_experiments_are_one_subpackage_per_job():
    top = {p.name for p in (ROOT / "experiments").iterdir() if not p.name.startswith((".", "__"))}
    assert {"cli", "sweeps", "analysis", "app", "runner.py", "logs.py"} <= top
    assert not [p for p in (ROOT / "experiments").glob("*.py") if p.stem not in ("__init__", "runner", "logs")]
