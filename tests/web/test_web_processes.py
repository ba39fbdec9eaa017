"""Several server processes on one store: an import lands in one process (the CLI) and every
server sees it at its next request; a session opened on one server is valid on the other; login
throttling counts failures made on any server.

Real processes: two ``geo-app serve`` (waitress) on one deployment, and one ``geo-app serve
--workers 2`` (gunicorn); GeoPackage and PostGIS stores.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bench.gen import write_incident_csv
from geo_app.accounts import add_user
from geo_app.cli import main

pytestmark = pytest.mark.slow

PASSWORD = "several-processes-1"
EXE = Path(sys.executable).with_name("geo-app")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self, env: dict, *args: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([str(EXE), "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        lines: queue.Queue = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=lambda: [lines.put(ln) or self.log.append(ln) for ln in self.proc.stdout],
                         daemon=True).start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if lines.get(timeout=0.5).startswith("Vigie on "):
                    break
            except queue.Empty:
                assert self.proc.poll() is None, "serve exited early:\n" + "".join(self.log)
        else:
            raise AssertionError("no address printed within 120 s:\n" + "".join(self.log))
        self._wait_answering()

    def _wait_answering(self):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/openapi.json", timeout=30)
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("the server does not answer:\n" + "".join(self.log))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()


class _Browser:
    """One cookie jar: a session opened on one server is sent to the others."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())

    def login(self, server: _Server, user: str, password: str) -> int:
        page = self.opener.open(server.url + "/login", timeout=60).read().decode()
        data = {"username": user, "password": password}
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if token:
            data["csrf_token"] = token.group(1)
        try:
            return self.opener.open(server.url + "/login", urllib.parse.urlencode(data).encode(), timeout=60).status
        except urllib.error.HTTPError as e:
            return e.code

    def incidents(self, server: _Server) -> int:
        with self.opener.open(server.url + "/api/layers/incidents?limit=0", timeout=120) as r:
            return json.loads(r.read())["numberMatched"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp


@pytest.fixture(params=["gpkg", "postgis"])
def deployment(request, home, tmp_path, monkeypatch):
    """A deployment with 2,000 incidents and a coordinator, and the environment of its servers."""
    env = {**os.environ, "GEO_APP_HOME": str(home.path), "GEO_APP_SECRET_KEY": "one-secret-for-every-process"}
    if request.param == "postgis":
        url = request.getfixturevalue("postgis").fresh_url()
        monkeypatch.setenv("GEO_APP_STORE_URL", url)
        env["GEO_APP_STORE_URL"] = url
    csv = write_incident_csv(tmp_path / "first.csv", 2000, seed=1)
    assert main(["import", "incidents", str(csv)]) == 0
    add_user(home, "coord", role="coordinator", password=PASSWORD)
    return env, tmp_path, _visible(csv)


def _visible(csv: Path) -> int:
    """Rows of ``csv`` a map shows without a category filter (the non-sensitive ones)."""
    import pandas as pd

    from layers.registry import default_taxonomy

    return int((~pd.read_csv(csv)["category"].isin(default_taxonomy().sensitive)).sum())


def _import_more(env, tmp_path, n: int) -> int:
    """Import ``n`` incidents with the CLI (another process); returns how many a map shows."""
    csv = write_incident_csv(tmp_path / "more.csv", n, seed=2)
    done = subprocess.run([str(EXE), "import", "incidents", str(csv)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return _visible(csv)


def test_two_servers_share_the_store_sessions_and_throttling(deployment):
    env, tmp_path, n = deployment
    a, b = _Server(env, "--threads", "2"), _Server(env, "--threads", "2")
    try:
        browser = _Browser()
        assert browser.login(a, "coord", PASSWORD) == 302
        assert browser.incidents(a) == n
        assert browser.incidents(b) == n  # the session opened on a is valid on b
        n += _import_more(env, tmp_path, 300)  # a write by another process
        assert browser.incidents(b) == n
        assert browser.incidents(a) == n
        # five failures on a: the right password is refused on b too
        other = _Browser()
        for _ in range(5):
            assert other.login(a, "coord", "wrong-password") == 401
        assert other.login(b, "coord", PASSWORD) == 429
    finally:
        a.stop()
        b.stop()


def test_serve_with_workers_runs_several_processes(deployment):
    env, tmp_path, n = deployment
    server = _Server(env, "--workers", "2", "--threads", "2")
    try:
        deadline = time.monotonic() + 60  # the server answers once one worker is up; the other may still boot
        while True:
            workers = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout.split()
            if len(workers) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(workers) == 2, server.log
        browser = _Browser()
        assert browser.login(server, "coord", PASSWORD) == 302, "".join(server.log)
        assert {browser.incidents(server) for _ in range(6)} == {n}
        n += _import_more(env, tmp_path, 300)
        assert {browser.incidents(server) for _ in range(6)} == {n}
    finally:
        server.stop()
