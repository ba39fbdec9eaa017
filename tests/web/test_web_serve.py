"""``geo-app serve``: prints the address it serves (and serves it), rejects bad ports (exit 2)."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from geo_app.cli import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_its_address_then_serves_it(home):
    port = _free_port()
    exe = Path(sys.executable).with_name("geo-app")
    env = {**os.environ, "GEO_APP_HOME": str(home.path)}
    proc = subprocess.Popen([str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--no-warm"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        first = None
        while time.monotonic() < deadline and first is None:
            try:
                ln = lines.get(timeout=0.5)
            except queue.Empty:
                assert proc.poll() is None, "serve exited early"
                continue
            if ln.startswith("Vigie on "):
                first = ln
        assert first is not None, "no address printed within 60 s"
        assert first.startswith(f"Vigie on http://127.0.0.1:{port}/")
        try:  # the printed address answers (a page or the login redirect, never a 5xx)
            status = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=30).status
        except urllib.error.HTTPError as e:
            status = e.code
        assert status < 500
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("port, words", [("0", "--port"), ("70000", "--port"), ("http", "http")])
def test_serve_rejects_bad_ports_with_exit_2(home, capsys, port, words):
    assert main(["serve", "--port", port, "--no-warm"]) == 2
    err = capsys.readouterr().err
    assert words in err and "Vigie on" not in err


def test_serve_port_in_use_is_a_usage_error(home, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", "--host", "127.0.0.1", "--port", str(port), "--no-warm"]) == 2
    out = capsys.readouterr()
    assert f"cannot listen on 127.0.0.1:{port}" in out.err and "Vigie on" not in out.out
