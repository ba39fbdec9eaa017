"""Architecture rules that must not drift (STYLE.md 1, 11)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path):
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("path", sorted((ROOT / "layers").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_layers_never_imports_the_web_side(path):
    bad = [m for m in _imports(path) if m.split(".")[0] in {"flask", "folium", "geo_app", "branca"}]
    assert not bad, f"{path} imports {bad}: layers/ must stay a pure GIS library"


def test_nothing_reads_the_shared_folder_at_run_or_test_time():
    offenders = []
    for folder in ("layers", "geo_app", "tests", "bench", "data"):
        for p in (ROOT / folder).rglob("*.py"):
            if p == Path(__file__):
                continue
            if "../shared" in p.read_text("utf-8") or "/work/shared" in p.read_text("utf-8"):
                offenders.append(str(p.relative_to(ROOT)))
    assert not offenders, f"these files point at ../shared: {offenders}"
