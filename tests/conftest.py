"""Fixtures shared by every test module.

- ``home``: a fresh, empty deployment folder (GEO_APP_HOME) with Lambert-93 / Europe/Paris.
- ``demo_home``: a deployment holding the demo city, built once per test run (shared by the
  xdist workers through a file lock) and copied per test module that wants to write to it.
- ``read_result``: re-reads a file a command wrote (a GeoPackage holds the result layer and a
  ``provenance`` table: the result layer is returned).
- ``postgis``: a throw-away PostgreSQL 15 + PostGIS cluster for the session (``initdb`` in a
  temporary folder, run as the ``postgres`` user when the tests run as root, Unix socket only,
  stopped and removed at the end), or the server of ``VIGIE_TEST_POSTGIS_URL`` if set;
  ``postgis.fresh_url()`` gives the URL of a new empty schema. Skips with a visible reason when
  the PostgreSQL or PostGIS binaries are missing, except under CI=true where it fails.
- ``require_chromium``: skips with a visible reason when Debian's chromium is missing, except
  under CI=true where its absence is a failure.
- ``chromium_browser``: Debian's chromium driven by Playwright (headless; same skip rule);
  ``serve_app(app)``: runs a Flask app on a real waitress server on a free localhost port and
  returns its URL; ``open_page(browser, **context_options)``: a new page that records console
  errors (``page.vigie_errors``) and the hosts it requests (``page.vigie_hosts``).
- ``login``: ``login(app, name, password, ip=...)`` logs a test client in (asserting the
  redirect of a successful login) and returns it.
- ``demo_copy``: a writable copy of the demo deployment for one test module (imports, places);
  ``demo_app``: the web app over it (accounts of the demo, password ``DEMO_PASSWORD``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

TESTS = Path(__file__).parent
if str(TESTS.parent) not in sys.path:  # bench/ (generators, the throw-away PostgreSQL cluster)
    sys.path.insert(0, str(TESTS.parent))
DATA = TESTS / "data"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: the password of the demo accounts built for the tests
DEMO_PASSWORD = "demo-password"


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
            build_demo(path, password=DEMO_PASSWORD)
            (path / ".built").write_text("ok")
    return path


@pytest.fixture
def demo_home(demo_home_path, monkeypatch):
    """The shared demo deployment as GEO_APP_HOME (do not write to it; copy it first)."""
    from geo_app.config import Home

    monkeypatch.setenv("GEO_APP_HOME", str(demo_home_path))
    return Home(demo_home_path)


def _skip_or_fail(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: required under CI=true (.ci/run installs it)")
    pytest.skip(f"{reason}: test skipped")


class PostGISServer:
    """A PostgreSQL server with a PostGIS database for tests: ``fresh_url()`` is a new schema."""

    def __init__(self, base_url: str):
        self.base_url = base_url  # a database with the postgis extension
        self._n = itertools.count(1)
        self.schemas: list[str] = []

    def execute(self, statement: str, params=None, *, url: str | None = None):
        import psycopg

        with psycopg.connect(url or self.base_url, autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else None

    def url(self, **params) -> str:
        """The base URL with extra query parameters (``options=…``, ``dbname``…)."""
        extra = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
        return self.base_url + ("&" if "?" in self.base_url else "?") + extra if extra else self.base_url

    def fresh_url(self) -> str:
        """The URL of a new empty schema (first in the search_path, PostGIS found in public)."""
        name = f"vigie_test_{os.getpid()}_{next(self._n)}"
        self.execute(f"CREATE SCHEMA {name}")
        self.schemas.append(name)
        return self.url(options=f"-csearch_path={name},public")

    def drop(self, url: str) -> None:
        from layers.store.postgis import close_pool

        close_pool(url)  # this process's pooled connections to the schema
        name = url.rsplit("search_path%3D", 1)[-1].split("%2C", 1)[0]
        if name in self.schemas:
            self.execute(f"DROP SCHEMA {name} CASCADE")
            self.schemas.remove(name)


@pytest.fixture(scope="session")
def postgis():
    """A PostGIS server for the session (see the module docstring)."""
    if os.environ.get("VIGIE_TEST_POSTGIS_URL"):
        server = PostGISServer(os.environ["VIGIE_TEST_POSTGIS_URL"])
        yield server
        for name in list(server.schemas):
            server.execute(f"DROP SCHEMA {name} CASCADE")
        return
    from bench import pgcluster

    reason = pgcluster.missing()
    if reason:
        _skip_or_fail(reason)
    cluster = pgcluster.start_cluster(shared_buffers="64MB")
    try:
        yield PostGISServer(cluster.url)
    finally:
        cluster.stop()


@pytest.fixture
def postgis_store(postgis):
    """A PostGIS store in a new empty schema (closed and dropped after the test)."""
    from layers.store import open_store

    url = postgis.fresh_url()
    store = open_store(url)
    yield store
    store.close()
    postgis.drop(url)


def _chromium_or_skip() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is required under CI=true (.ci/run installs it).")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser test skipped")
    return CHROMIUM


@pytest.fixture
def require_chromium():
    return _chromium_or_skip()


#: Chromium flags for this closed network (no background connections, no sandbox as root)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium_browser():
    path = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def serve_app():
    """Start apps on real waitress servers (stopped at the end of the module)."""
    import threading

    import waitress

    running = []
    closing = threading.Event()

    def start(app) -> str:
        srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)

        def run():
            try:
                srv.run()
            except OSError:
                # closing the listening socket while the loop waits in select() ends it so
                if not closing.is_set():
                    raise

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        running.append((srv, thread))
        return f"http://127.0.0.1:{srv.effective_port}"

    yield start
    closing.set()
    for srv, thread in running:
        srv.close()
        thread.join(timeout=5)


def _open_page(browser, **context_options):
    from urllib.parse import urlsplit

    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, **context_options)
    page = ctx.new_page()
    page.vigie_errors, page.vigie_hosts = [], set()
    page.on("console", lambda m: page.vigie_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.vigie_errors.append(str(e)))
    page.on("request", lambda r: page.vigie_hosts.add(urlsplit(r.url).hostname))
    return ctx, page


@pytest.fixture
def open_page():
    """A function opening a watched page in a new browser context: ``ctx, page = open_page(b)``."""
    return _open_page


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


def log_in(app, name: str, password: str, *, ip: str = "127.0.0.1"):
    """A test client of ``app`` logged in as ``name`` (a failed login fails the test)."""
    client = app.test_client()
    r = client.post("/login", data={"username": name, "password": password}, environ_base={"REMOTE_ADDR": ip})
    assert r.status_code == 302, (name, r.status_code, r.get_data(as_text=True)[:300])
    return client


@pytest.fixture
def login():
    """``login(app, name, password, ip=...)`` -> a logged-in test client."""
    return log_in



@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """An empty application database, on SQLite and on a throw-away PostgreSQL database."""
    from geo_app.db import AppDB

    if request.param == "postgresql":
        postgis = request.getfixturevalue("postgis")
        url = postgis.fresh_url()
        yield AppDB(url)
        postgis.drop(url)
    else:
        yield AppDB(tmp_path / "app.db")


@pytest.fixture(scope="module")
def demo_copy(demo_home_path, tmp_path_factory):
    """A copy of the demo deployment that the tests of one module may write to."""
    path = tmp_path_factory.mktemp("demo-copy") / "home"
    copy_home(demo_home_path, path)
    return path


@pytest.fixture(scope="session")
def copy_deployment():
    """``copy_deployment(src, dst)``: ``copy_home`` for test modules (a consistent copy of a
    deployment folder that other workers may be reading)."""
    return copy_home


def copy_home(src, dst) -> None:
    """Copy a deployment folder while other test workers may have its SQLite files open (their
    ``-wal``/``-shm`` files come and go): the databases (app.db, store.gpkg) through SQLite's
    backup API, a consistent copy; every other file as is."""
    import sqlite3

    sqlite_suffixes = (".db", ".gpkg")
    shutil.copytree(src, dst, ignore=lambda _d, names: [n for n in names if n.endswith(
        sqlite_suffixes + tuple(s + x for s in sqlite_suffixes for x in ("-wal", "-shm", "-journal")))])
    for db in Path(src).rglob("*"):
        if db.is_file() and db.name.endswith(sqlite_suffixes):
            target = Path(dst) / db.relative_to(src)
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as source, sqlite3.connect(target) as copy:
                source.backup(copy)
            source.close()
            copy.close()


@pytest.fixture(scope="module")
def demo_app(demo_copy):
    """The web app over ``demo_copy`` (CSRF off: the tests post forms directly)."""
    from geo_app import create_app

    return create_app({"TESTING": True, "HOME": str(demo_copy), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False})

