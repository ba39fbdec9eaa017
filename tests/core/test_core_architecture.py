"""Architecture rules that must not drift (STYLE.md 1, 11): layers/ never imports the web side
(Flask, Folium, geo_app), at module level, inside functions or through its dependencies."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path):
    """Every module ``path`` imports, at the top or inside a function, statically or by name
    (``importlib.import_module("x")``, ``__import__("x")``)."""
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "id", None) == "__import__"
                   or getattr(node.func, "attr", None) == "import_module")):
            yield node.args[0].value


@pytest.mark.parametrize("path", sorted((ROOT / "layers").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_layers_never_imports_the_web_side(path):
    bad = [m for m in _imports(path) if m.split(".")[0] in {"flask", "folium", "geo_app", "branca"}]
    assert not bad, f"{path} imports {bad}: layers/ must stay a pure GIS library"


def test_importing_every_layers_module_loads_no_web_package():
    """What the import statements cannot show: a dependency pulling Flask or Folium in."""
    code = (
        "import importlib, pkgutil, sys, layers\n"
        "for m in pkgutil.walk_packages(layers.__path__, 'layers.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(' '.join(sorted(m for m in ('flask', 'folium', 'branca', 'geo_app') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing layers loads {out.stdout.strip()}"


def test_nothing_reads_the_shared_folder_at_run_or_test_time():
    offenders = []
    for folder in ("layers", "geo_app", "tests", "bench", "data"):
        for p in (ROOT / folder).rglob("*.py"):
            if p == Path(__file__):
                continue
            if "../shared" in p.read_text("utf-8") or "/work/shared" in p.read_text("utf-8"):
                offenders.append(str(p.relative_to(ROOT)))
    assert not offenders, f"these files point at ../shared: {offenders}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (top level and inside functions alike).

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module, else
    ``pkg``; relative imports are not used in the project."""
    paths = sorted((ROOT / "geo_app").rglob("*.py")) + sorted((ROOT / "layers").rglob("*.py"))
    modules = {_module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            deps |= {t for t in targets if t in modules and t != name}
        graph[name] = deps
    return graph


def test_the_import_graph_of_the_project_has_no_cycle():
    """geo_app and layers import each other's modules in one direction only, function-level
    imports included (a cycle is a module that needs its own caller: split it)."""
    graph = _import_graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)



@pytest.mark.parametrize("path", sorted((ROOT / "geo_app" / "views").glob("*.py")) + sorted((ROOT / "geo_app" / "cli").glob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_views_and_commands_touch_no_private_member(path):
    """A view or a command that needs ``obj._private`` is telling that an interface lacks a
    method (STYLE.md 13): ask the viewer or the workspace through their public methods."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            bad.append(f"line {node.lineno}: .{node.attr}")
    assert not bad, f"{path.name} reaches into private members: {bad}"
