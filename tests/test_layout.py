"""The shape of the tree (issue 16). The import graph of ``benchmark/`` and ``models/`` (read with ``ast``,
imports inside functions included) has no cycle; models never imports the harness; trainers hold only
training wiring; each paper declares its experiments in its own file.

Nodes are the modules (``models.stacks``, ``benchmark.train.loop``, ...); an edge A -> B is an import in A of
B itself or of a name B defines. A name imported from a package is followed through the package's
``__init__.py`` re-exports to the module that defines it; what a package's ``__init__.py`` imports is not an
edge of its own (re-exports), and neither is the implicit import of a module's parent packages. So a
cycle is allowed only through a package ``__init__.py`` (``models.registry`` loads ``models.nets`` lazily,
whose modules register themselves with it)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmark", "models")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every import statement of module ``name``, anywhere in it."""
    package = name if _is_package(name) else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            out += [(base, a.name) for a in node.names]
    return out


def _resolve(module: str, attr: str | None, seen=()) -> str | None:
    """The models module that ``from module import attr`` (or ``import module``) depends on; None for a
    name a package ``__init__.py`` defines itself, or for anything outside models."""
    if attr is not None and f"{module}.{attr}" in MODULES:
        module, attr = f"{module}.{attr}", None
    if module not in MODULES:
        return None
    if not _is_package(module):
        return module
    if attr is None or module in seen:
        return None
    for base, name in _imports(module):  # follow the package's re-export of attr
        if name == attr:
            return _resolve(base, name, (*seen, module))
    return None


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for name in MODULES:
        if _is_package(name):
            continue
        targets = {_resolve(base, attr) for base, attr in _imports(name)}
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_import_graph_has_no_cycle():
    graph = import_graph()
    assert graph["models.stacks"] >= {"models.layer_major"}  # the graph sees what it should
    assert graph["models.cells.scs"] >= {"models.layer_major", "models.cells.cbm"}
    assert graph["models.nets.prernn_nets"] >= {"models.registry"}
    assert graph["benchmark.results"] >= {"benchmark.rundir"}
    assert _cycles(graph) == []


def test_ground_floor_modules_import_no_models_module():
    """layer_major (shared by the cells' forward_sequence and the stacks) and schedule sit below everything."""
    graph = import_graph()
    assert graph["models.layer_major"] == set()
    assert graph["models.schedule"] == set()
    assert graph["models.backbones.common"] == set()
    assert graph["benchmark.rundir"] <= {"benchmark.config", "benchmark.heal"}


def test_models_never_import_benchmark():
    for name in (m for m in MODULES if m.startswith("models")):
        assert not [b for b, _ in _imports(name) if b and b.split(".")[0] == "benchmark"], name


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_trainers_hold_only_training_wiring():
    """No Dataset or nn.Module class in benchmark/train/, no file there over 300 lines."""
    for f in sorted((ROOT / "benchmark" / "train").glob("*.py")):
        text = f.read_text()
        assert len(text.splitlines()) <= 300, f"{f.name}: {len(text.splitlines())} lines"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).split(".")[-1] for b in node.bases}
                assert not bases & {"Dataset", "Module", "IterableDataset"}, f"{f.name}: class {node.name}"


def test_each_paper_declares_its_experiments_in_its_own_file():
    from benchmark.catalogue import list_ids, where

    for exp_id in list_ids():
        path, _ = where(exp_id)
        assert path == ROOT / "benchmark" / "catalogue" / f"{exp_id.split('.')[0]}.py", exp_id
