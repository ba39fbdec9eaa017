"""20 concurrent clients for 60 s on the demo city, logged in as the coordinator, against
``geo-app serve`` (waitress, default threads) on a free loopback port.

Each client loops over the dashboard ``/``, bbox points ``/api/layers/incidents?bbox=…&limit=500``
(a random small bbox inside the city's extent), ``/api/hotspots?method=gistar`` and the hotspot
list ``/hotspots`` until the duration is over. Printed: requests, errors (non-2xx and
exceptions), p50 and p95 latency overall and per endpoint, beside the figures measured before
the privacy work (0 errors, p50 1.02 s, p95 1.78 s) and the target (0 errors, p95 ≤ 1 s), and
the load average over the run. Only loopback traffic; the loop stops by itself.

    python -m bench load
    VIGIE_BENCH_LOAD_SECONDS=30 VIGIE_BENCH_LOAD_CLIENTS=20 python -m bench load
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECONDS = float(os.environ.get("VIGIE_BENCH_LOAD_SECONDS", "60"))
CLIENTS = int(os.environ.get("VIGIE_BENCH_LOAD_CLIENTS", "20"))
#: extra options of ``geo-app serve`` (e.g. ``--workers 2``); default: waitress, default threads
SERVE_ARGS = os.environ.get("VIGIE_BENCH_LOAD_SERVE_ARGS", "").split()
PASSWORD = "bench-load-password"
USER = "coordinator"
BEFORE = {"errors": 0, "p50": 1.02, "p95": 1.78}
TARGET_P95 = 1.0
ENDPOINTS = ("dashboard", "points", "hotspots api", "hotspot list")


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(base: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Wait until the server at ``base`` answers ``/login`` (``timeout`` s at most); RuntimeError
    if it exits or does not answer in time."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"geo-app serve exited with {proc.returncode}")
        try:
            urllib.request.urlopen(base + "/login", timeout=2).read()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"geo-app serve did not answer within {timeout:.0f} s")


def login(base: str, user: str = USER, password: str = PASSWORD):
    """A ``urllib`` opener with a session of ``user`` on the server at ``base`` (login form,
    CSRF token included); RuntimeError if the login is refused."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=30).read().decode()
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    form = {"username": user, "password": password}
    if m:
        form["csrf_token"] = m.group(1)
    r = opener.open(base + "/login", data=urllib.parse.urlencode(form).encode(), timeout=30)
    r.read()
    if r.geturl().rstrip("/").endswith("/login"):
        raise RuntimeError(f"login as {user} failed")
    return opener


def _urls(rng: random.Random, extent) -> list[tuple[str, str]]:
    x0, y0, x1, y1 = extent
    w, h = rng.uniform(0.005, 0.02), rng.uniform(0.004, 0.015)  # a few hundred metres to 2 km
    bx, by = rng.uniform(x0, max(x0, x1 - w)), rng.uniform(y0, max(y0, y1 - h))
    bbox = f"{bx:.5f},{by:.5f},{bx + w:.5f},{by + h:.5f}"
    return [("dashboard", "/"), ("points", f"/api/layers/incidents?bbox={bbox}&limit=500"),
            ("hotspots api", "/api/hotspots?method=gistar"), ("hotspot list", "/hotspots")]


def _run_client(k: int, opener, base: str, extent, stop_at: float, out: list, errors: list) -> None:
    rng = random.Random(k)
    while time.monotonic() < stop_at:
        for name, path in _urls(rng, extent):
            if time.monotonic() >= stop_at:
                return
            t = time.perf_counter()
            try:
                with opener.open(base + path, timeout=60) as r:
                    r.read()
                    ok = 200 <= r.status < 300
                    detail = r.status
            except urllib.error.HTTPError as e:
                ok, detail = False, e.code
            except Exception as e:  # noqa: BLE001 - every failure counts as an error
                ok, detail = False, type(e).__name__
            dt = time.perf_counter() - t
            out.append((name, dt))
            if not ok:
                errors.append((name, detail))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live children, from /proc (0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(c)) for c in children)  # gunicorn workers (--workers N)


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate ``proc`` and wait for it; kill it if it has not ended after ``timeout`` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _pct(values, q) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def main() -> None:
    from geo_app.config import Home
    from geo_app.demo import build_demo

    with tempfile.TemporaryDirectory(prefix="vigie-bench-load-") as tmp:
        home = Path(tmp) / "home"
        t = time.perf_counter()
        build_demo(home, password=PASSWORD)
        print(f"demo city built in {time.perf_counter() - t:.1f} s", flush=True)
        extent = tuple(Home(home).store.read("incidents").total_bounds)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        geo_app = Path(sys.executable).with_name("geo-app")
        cmd = [str(geo_app), "--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port), *SERVE_ARGS]
        log = open(Path(tmp) / "serve.log", "w+b")  # a file, not a pipe: a full pipe would block it
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_up(base, proc)
            openers = [login(base) for _ in range(CLIENTS)]
            # one warm-up round (the server warms itself in the background too)
            for name, path in _urls(random.Random(-1), extent):
                body = openers[0].open(base + path, timeout=120).read()
                if name == "points":  # the bboxes do hold points (the coordinator sees them)
                    import json

                    print(f"warm-up bbox: {len(json.loads(body).get('features', []))} points", flush=True)
            out, errors = [], []
            load0 = os.getloadavg()
            stop_at = time.monotonic() + SECONDS
            threads = [threading.Thread(target=_run_client, args=(k, o, base, extent, stop_at, out, errors))
                       for k, o in enumerate(openers)]
            t = time.perf_counter()
            cpu0, server0 = time.process_time(), cpu_seconds(proc.pid)
            loads = []
            for th in threads:
                th.start()
            while any(th.is_alive() for th in threads):
                loads.append(os.getloadavg()[0])
                time.sleep(1.0)
            for th in threads:
                th.join()
            elapsed = time.perf_counter() - t
            cpu_client, cpu_server = time.process_time() - cpu0, cpu_seconds(proc.pid) - server0
        finally:
            stop_process(proc)
            log.seek(0)
            server_log = log.read().decode(errors="replace")
            log.close()

    lat = np.array([d for _, d in out])
    print(f"\n{CLIENTS} clients as {USER}, {elapsed:.1f} s (asked {SECONDS:.0f} s), {len(out)} requests "
          f"({len(out) / elapsed:.1f}/s); load average at start {load0[0]:.1f}, during the run "
          f"{min(loads, default=0):.1f}–{max(loads, default=0):.1f} (1-min)")
    print(f"CPU over the run: server {cpu_server:.0f} s ({cpu_server / elapsed:.2f} cores), "
          f"these clients {cpu_client:.0f} s ({cpu_client / elapsed:.2f} cores); serve options: "
          f"{' '.join(SERVE_ARGS) or 'waitress, default threads'}")
    print(f"{'endpoint':<14} {'requests':>8} {'errors':>6} {'p50 s':>7} {'p95 s':>7}")
    for name in ENDPOINTS:
        d = [x for n, x in out if n == name]
        e = sum(1 for n, _ in errors if n == name)
        print(f"{name:<14} {len(d):>8} {e:>6} {_pct(d, 50):>7.3f} {_pct(d, 95):>7.3f}")
    p50, p95 = _pct(lat, 50), _pct(lat, 95)
    print(f"{'all':<14} {len(lat):>8} {len(errors):>6} {p50:>7.3f} {p95:>7.3f}")
    print(f"before: {BEFORE['errors']} errors, p50 {BEFORE['p50']:.2f} s, p95 {BEFORE['p95']:.2f} s; "
          f"target: 0 errors, p95 ≤ {TARGET_P95:.0f} s")
    ok = not errors and p95 <= TARGET_P95
    print(f"now:    {len(errors)} errors, p50 {p50:.2f} s, p95 {p95:.2f} s -> "
          f"{'target met ✔' if ok else 'target NOT met ✘'}")
    if errors:
        kinds = {}
        for n, d in errors:
            kinds[(n, d)] = kinds.get((n, d), 0) + 1
        print("errors: " + ", ".join(f"{n} {d} ×{c}" for (n, d), c in sorted(kinds.items(), key=str)))
    if errors and server_log.strip():
        print("server log (tail):\n" + server_log[-2000:])


if __name__ == "__main__":
    main()
