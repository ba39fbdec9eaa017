"""A wheel built from the repository carries its web assets and compiled translations, and a
Vigie installed from it serves working maps; ``geo-app serve`` refuses to start without the
assets, saying what to run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
EXE = Path(sys.executable).with_name("geo-app")
PASSWORD = "correct horse battery staple 42"

#: files a map page and the base layout load, and what their CSS loads
EXPECTED = [
    "leaflet/dist/leaflet.js", "leaflet/dist/leaflet.css", "leaflet/dist/images/marker-icon.png",
    "leaflet.markercluster/dist/leaflet.markercluster.js", "jquery/dist/jquery.min.js",
    "bootstrap/dist/css/bootstrap.min.css", "bootstrap/dist/js/bootstrap.bundle.min.js",
    "bootstrap-icons/font/bootstrap-icons.min.css", "bootstrap-icons/font/fonts/bootstrap-icons.woff2",
    "@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2", "chart.js/dist/chart.umd.js",
    "leaflet/LICENSE", "leaflet.markercluster/MIT-LICENCE.txt",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([PY, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    (found,) = out.glob("vigie-*.whl")
    return found


@pytest.mark.slow
def test_the_wheel_carries_the_served_npm_files_and_the_compiled_translations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in EXPECTED:
        assert f"geo_app/static/vendor/{rel}" in names, rel
    for lang in ("en", "fr"):
        assert f"geo_app/translations/{lang}/LC_MESSAGES/messages.mo" in names
    vendor = [n for n in names if "/static/vendor/" in n]
    assert not [n for n in vendor if n.endswith((".map", ".scss", ".ts"))]
    assert not [n for n in vendor if "/src/" in n]
    # the copies are build products: git never tracks them
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "geo_app/static/vendor"],
                             capture_output=True, text=True).stdout
    assert tracked == ""
    # and the build leaves none in the source checkout (node_modules/ holds them)
    assert not (ROOT / "geo_app" / "static" / "vendor").exists()


INSTALLED = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    target, home = sys.argv[1], sys.argv[2]
    sys.path.insert(0, target)
    import geo_app
    from geo_app import create_app
    from geo_app.accounts import add_user
    from geo_app.config import Home
    from babel.support import Translations
    add_user(Home(Path(home)), "coord", role="coordinator", password={password!r})
    app = create_app({{"TESTING": True, "HOME": home, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False}})
    client = app.test_client()
    login = client.post("/login", data={{"username": "coord", "password": {password!r}}})
    page = client.get("/")
    html = page.get_data(as_text=True)
    statuses = {{p: client.get("/vendor/" + p).status_code for p in {expected!r}}}
    en = Translations.load(str(Path(geo_app.__file__).parent / "translations"), ["en"])
    print(json.dumps({{
        "geo_app": geo_app.__file__, "vendor_dir": app.config["VENDOR_DIR"], "login": login.status_code,
        "page": page.status_code, "leaflet_in_page": "/vendor/leaflet/dist/leaflet.js" in html,
        "statuses": statuses, "carte": en.gettext("Carte"),
    }}))
    """
)


@pytest.mark.slow
def test_a_vigie_installed_from_the_wheel_serves_its_maps_and_assets(wheel, tmp_path):
    target = tmp_path / "site"
    done = subprocess.run([PY, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_APP_")}
    env["GEO_APP_HOME"] = str(home)
    script = INSTALLED.format(password=PASSWORD, expected=EXPECTED)
    run = subprocess.run([PY, "-c", script, str(target), str(home)], capture_output=True, text=True,
                         timeout=600, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    # the installed copy, not the repository's, and its own vendor folder (VENDOR_DIR unset)
    assert got["geo_app"].startswith(str(target))
    assert got["vendor_dir"] == str(target / "geo_app" / "static" / "vendor")
    assert got["login"] == 302 and got["page"] == 200 and got["leaflet_in_page"]
    assert got["statuses"] == {p: 200 for p in EXPECTED}
    assert got["carte"] == "Map"


def test_serve_refuses_to_start_without_the_assets_and_says_what_to_run(home, tmp_path):
    empty = tmp_path / "no-assets"
    empty.mkdir()
    env = {**os.environ, "GEO_APP_HOME": str(home.path), "GEO_APP_VENDOR_DIR": str(empty)}
    done = subprocess.run([str(EXE), "serve", "--port", "1", "--no-warm"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode != 0
    assert "make assets" in done.stderr and "npm ci" in done.stderr, done.stderr
    assert "@fortawesome/fontawesome-free/css/all.min.css" in done.stderr  # the first missing file
    assert str(empty) in done.stderr
    assert "Vigie on http" not in done.stdout


def _backend(monkeypatch, root: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("vigie_build_under_test", ROOT / "build_backend" / "vigie_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", root)
    monkeypatch.setattr(module, "VENDOR", root / "geo_app" / "static" / "vendor")
    monkeypatch.setattr(module, "NODE_MODULES", root / "node_modules")
    return module


def test_a_build_without_npm_says_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "geo_app").mkdir()
    (tmp_path / "geo_app" / "vendor_files.py").write_bytes((ROOT / "geo_app" / "vendor_files.py").read_bytes())
    (tmp_path / "package-lock.json").write_text("{}")
    backend = _backend(monkeypatch, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(backend.AssetsError, match="npm is not installed.*apt-get install npm"):
        backend.copy_vendor_files()
    assert not (tmp_path / "geo_app" / "static" / "vendor").exists()


def test_the_build_copies_only_the_manifest_and_the_licences(tmp_path, monkeypatch):
    """From a fake node_modules: the listed files, folders without maps, and LICENSE files."""
    from geo_app.vendor_files import SHIPPED

    nm = tmp_path / "node_modules"
    for rel in SHIPPED:
        p = nm / rel
        if Path(rel).suffix:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(rel)
        else:
            p.mkdir(parents=True, exist_ok=True)
            (p / "a.css").write_text("a")
            (p / "a.css.map").write_text("map")
    (nm / "leaflet" / "LICENSE").write_text("BSD")
    (nm / "leaflet" / "src").mkdir()
    (nm / "leaflet" / "src" / "Leaflet.js").write_text("src")
    (nm / ".package-lock.json").write_text("{}")
    (tmp_path / "geo_app").mkdir()
    (tmp_path / "geo_app" / "vendor_files.py").write_bytes((ROOT / "geo_app" / "vendor_files.py").read_bytes())
    backend = _backend(monkeypatch, tmp_path)
    vendor = backend.copy_vendor_files()
    files = sorted(str(p.relative_to(vendor)) for p in vendor.rglob("*") if p.is_file())
    assert "leaflet/LICENSE" in files and "leaflet/dist/leaflet.js" in files
    assert "leaflet/dist/images/a.css" in files and "leaflet/dist/images/a.css.map" not in files
    assert not [f for f in files if "/src/" in f]


def test_the_manifest_covers_every_file_the_pages_and_maps_load():
    from geo_app.assets import FOLIUM_ASSETS, PAGE_ASSETS
    from geo_app.vendor_files import SHIPPED

    for path in {p for p in [*FOLIUM_ASSETS.values(), *PAGE_ASSETS.values()] if p}:
        assert any(path == s or path.startswith(s + "/") for s in SHIPPED), path
