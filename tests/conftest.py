"""Fixtures shared by every test module.

- ``home``: a fresh, empty deployment folder (GEO_APP_HOME) with Lambert-93 / Europe/Paris.
- ``demo_home``: a deployment holding the demo city, built once per test run (shared by the
  xdist workers through a file lock) and copied per test module that wants to write to it.
- ``read_result``: re-reads a file a command wrote (a GeoPackage holds the result layer and a
  ``provenance`` table: the result layer is returned).
- ``require_chromium``: skips with a visible reason when Debian's chromium is missing, except
  under CI=true where its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
DATA = TESTS / "data"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty deployment folder, set as GEO_APP_HOME, with the demo's settings."""
    from geo_app.config import Home, write_config

    path = tmp_path / "home"
    write_config(path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris"})
    monkeypatch.setenv("GEO_APP_HOME", str(path))
    for var in ("GEO_APP_ANALYSIS_CRS", "GEO_APP_TIMEZONE", "GEO_APP_TERRITORY", "GEO_APP_STORE_URL"):
        monkeypatch.delenv(var, raising=False)
    return Home(path)


@pytest.fixture(scope="session")
def demo_home_path(tmp_path_factory, worker_id):
    """Path of a demo-city deployment built once per run (read-only for tests)."""
    from filelock import FileLock

    from geo_app.demo import build_demo

    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent
    path = root / "demo-home"
    with FileLock(str(root / "demo-home.lock")):
        if not (path / ".built").exists():
            build_demo(path, password="demo-password")
            (path / ".built").write_text("ok")
    return path


@pytest.fixture
def demo_home(demo_home_path, monkeypatch):
    """The shared demo deployment as GEO_APP_HOME (do not write to it; copy it first)."""
    from geo_app.config import Home

    monkeypatch.setenv("GEO_APP_HOME", str(demo_home_path))
    return Home(demo_home_path)


@pytest.fixture
def require_chromium():
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is required under CI=true (.ci/run installs it).")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser test skipped")
    return CHROMIUM


def _read_result(path):
    import geopandas as gpd
    import pyogrio

    if str(path).endswith(".gpkg"):
        names = [n for n, _ in pyogrio.list_layers(path) if n != "provenance"]
        assert len(names) == 1, f"{path} should hold one result layer besides provenance: {names}"
        return gpd.read_file(path, layer=names[0])
    return gpd.read_file(path)


@pytest.fixture
def read_result():
    """A function re-reading a written result (see the module docstring)."""
    return _read_result
