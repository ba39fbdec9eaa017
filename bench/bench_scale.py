"""Growth from 1M to 10M incidents on a GeoPackage or a PostGIS store: import, first request
after start, a new filter, the proposals layer, and the memory the server processes hold.

Incidents come from ``bench.gen.write_incident_csv`` (seed 1). Every stage runs in its own
process, which reports its wall time and its resident memory (``resource.getrusage`` for the
peak, ``/proc/self/status`` for the current value), so one stage's memory does not hide
another's:

1. ``import``: ``geo_app.imports.import_file`` of the CSV into a new deployment (validation,
   dates, territory, duplicates) — the peer is the same file through ``geopandas.read_file`` and
   ``to_file`` (``bench/bench_store.py`` at 1M). Also the store's size on disk: the GeoPackage
   file, or with PostGIS ``pg_total_relation_size('incidents')`` (heap, TOAST, indexes) and
   ``pg_database_size`` (the app tables, PostGIS's own tables and the catalogue included).
2. ``cold``: the ``serve`` stage below with the deployment's ``cache/`` folder emptied first: a
   start with nothing saved (it reads the store, computes the per-incident arrays and saves
   them; the proposal models only up to ``Workspace.WARM_MODELS_MAX`` incidents).
3. ``prepare``: from an empty ``cache/``, what ``geo-app import`` adds after storing (the
   version's arrays computed and saved, ``Workspace.prepare``) and what ``geo-app prepare`` adds
   (the proposal models built and saved), with their time and peak memory.
4. ``serve``: a new server process: ``create_app`` and ``Workspace.warm()`` (what ``geo-app
   serve`` runs before its first visitor), the first dashboard request, the slowest of three
   never-seen filter combinations, the proposals layer (switched on, then under a new filter),
   and the process's resident memory (``smaps_rollup``: RSS and its anonymous part; the rest
   is code and mapped files, whose pages other processes share) at each step, also per
   incident, beside the bytes the workspace's caches hold (``Workspace`` ``nbytes``
   accounting, where mapped arrays count 0).
5. ``workers``: a real ``geo-app serve --workers 2`` (gunicorn: the main process warms the app
   and forks two workers) on a free loopback port, logged in as a coordinator through the login
   form: the time from the process start to the first dashboard answer, then ``ROUNDS`` rounds
   of the three new-filter dashboards and ``/api/map/proposals`` (a new connection each, so both
   workers serve some: their CPU time during the rounds is printed), then each process's
   ``/proc/<pid>/smaps_rollup`` (main process and workers, found with ``ps --ppid``): RSS, PSS
   (shared pages divided among the processes sharing them), private (``Private_Clean`` +
   ``Private_Dirty``) and anonymous memory, and the sum of PSS over the processes — what the
   machine really pays — also per incident. With PostGIS, also the PSS of the PostgreSQL
   server's processes.

``--store postgis`` runs the same stages on a throw-away PostgreSQL 15 + PostGIS cluster
(``bench/pgcluster.py``: Unix socket, fsync off, ``shared_buffers=1GB``, ``maintenance_work_mem``
and ``max_wal_size`` raised for the index builds and the bulk ``COPY`` of the import) through
``GEO_APP_STORE_URL``; the accounts then live in the same database. The cluster is stopped and
removed at the end, also on failure or Ctrl+C.

The files go under ``VIGIE_BENCH_SCALE_DIR`` (default: a temporary folder, removed at the end).
When it is given, the CSV, the deployment and the PostGIS cluster (``pg-N``, stopped at the end
but kept) are reused by the next run with the same ``--n`` and ``--store``; delete the folder to
start over. A kept cluster left running by a killed run is stopped with
``runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D DIR/pg-N/data -m fast stop``.

    python -m bench scale                        # 1,000,000 incidents, GeoPackage store
    python -m bench scale --store postgis        # the same on PostGIS
    python -m bench scale --n 10000000           # a few GB of disk, about 6 GB of memory
    python -m bench scale --stages workers       # only the several-processes stage (after the import)
    python -m bench scale --stages=              # only the import (if the deployment is not there yet)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NEW_FILTERS = ("category=burglary,theft&hours=18-23",
               "from=2023-06-01&to=2024-06-30&weekdays=5,6",
               "category=violence_public,drugs,robbery&night=1")
PROPOSAL_FILTER = "category=burglary,theft,vehicle_crime&from=2023-01-01"
STORES = ("gpkg", "postgis")
STAGES = ("cold", "prepare", "serve", "workers")
#: requests of the workers stage: this many rounds of the NEW_FILTERS dashboards and the proposals layer
ROUNDS = 6
WORKERS = 2
#: PostgreSQL settings of the throw-away cluster: its page cache, and room for the import's index
#: builds and bulk COPY without a checkpoint every 1 GB of WAL
PG_SHARED_BUFFERS = "1GB"
PG_SETTINGS = {"maintenance_work_mem": "512MB", "max_wal_size": "8GB"}
#: how long ``geo-app serve --workers`` may take to warm and listen (minutes at 10M)
SERVE_TIMEOUT_S = 3600.0
SMAPS_FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Anonymous")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_gen(csv: str, n: str) -> dict:
    from bench.gen import write_incident_csv

    t = time.perf_counter()
    write_incident_csv(csv, int(n), seed=1)
    return {"seconds": time.perf_counter() - t, "bytes": Path(csv).stat().st_size}


def _store_sizes(home) -> dict:
    """Size of the store on disk in MB: ``store_mb`` (the GeoPackage file, or the PostgreSQL
    database), and with PostGIS ``table_mb`` (the incidents table with its TOAST and indexes)."""
    url = home.store_url
    if not url.startswith(("postgresql:", "postgres:")):
        store = sorted(Path(home.path).rglob("*.gpkg"))
        return {"store_mb": sum(p.stat().st_size for p in store) / 2**20}
    import psycopg

    with psycopg.connect(url) as conn:
        table, database = conn.execute("SELECT pg_total_relation_size('incidents'), "
                                       "pg_database_size(current_database())").fetchone()
    return {"store_mb": database / 2**20, "table_mb": table / 2**20}


def child_import(csv: str, home: str) -> dict:
    from geo_app.config import Home, write_config
    from geo_app.imports import import_file

    Path(home).mkdir(parents=True, exist_ok=True)
    write_config(Path(home) / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris",
                                             "territory": [3.5, 43.3, 4.3, 43.9],
                                             # the upload limits of a web import do not apply here
                                             "max_features": 1_000_000_000, "max_uncompressed_mb": 1_000_000})
    t = time.perf_counter()
    out = import_file(Home(Path(home)), "incidents", csv, user="bench")
    seconds, peak = time.perf_counter() - t, _peak_mb()
    return {"seconds": seconds, "peak_mb": peak, "stored": out.counts["stored"], **_store_sizes(Home(Path(home)))}


def child_prepare(home: str) -> dict:
    """What ``geo-app import`` adds after storing (the version's arrays saved), then what
    ``geo-app prepare`` adds (the proposal models saved), from an empty ``cache/`` folder."""
    from geo_app.config import Home
    from geo_app.workspace import Workspace

    ws = Workspace(Home(Path(home)))
    ws.clear(saved=True)
    t = time.perf_counter()
    ws.prepare()
    arrays, arrays_peak = time.perf_counter() - t, _peak_mb()
    t = time.perf_counter()
    ws.proposal_models()
    models = time.perf_counter() - t
    saved = sum(f.stat().st_size for f in ws.snapshots().root.rglob("*") if f.is_file())
    return {"arrays_s": arrays, "arrays_peak_mb": arrays_peak, "models_s": models, "peak_mb": _peak_mb(),
            "saved_mb": saved / 2**20}


def _smaps_self() -> dict[str, float]:
    return smaps_mb(os.getpid())


def child_account(home: str) -> dict:
    """The coordinator account the workers stage logs in with (created, or its password reset)."""
    from bench.bench_load import PASSWORD, USER
    from geo_app.accounts import add_user, list_users, set_password
    from geo_app.config import Home

    h = Home(Path(home))
    if any(u.name == USER for u in list_users(h)):
        set_password(h, USER, PASSWORD)
    else:
        add_user(h, USER, role="coordinator", password=PASSWORD)
    return {"user": USER}


def _get(client, url: str) -> float:
    t = time.perf_counter()
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:300])
    return time.perf_counter() - t


def child_serve(home: str, cold: str = "") -> dict:
    """A new server process on ``home``; ``cold``: with its ``cache/`` folder emptied first (a
    start with nothing saved, which computes and saves what it needs)."""
    os.environ["GEO_APP_HOME"] = home
    if cold:
        shutil.rmtree(Path(home) / "cache", ignore_errors=True)
    t0 = time.perf_counter()
    from geo_app import create_app

    app = create_app({"TESTING": True, "TILE_URL": "", "SECRET_KEY": "bench", "LOGIN_DISABLED": True})
    client = app.test_client()
    base_mb = _rss_mb()  # the code loaded, no data yet
    ws = app.extensions["vigie"]
    with app.app_context():  # what `geo-app serve` does before its first visitor
        t = time.perf_counter()
        ws.warm()
        warm = time.perf_counter() - t
        n = len(ws.columns())
        models_at_start = ws.peek("proposal_models", ()) is not None
    first = _get(client, "/")
    start_to_first = time.perf_counter() - t0
    rss_first, smaps_first = _rss_mb(), _smaps_self()
    new = max(_get(client, "/?" + q) for q in NEW_FILTERS)
    smaps_filters = _smaps_self()
    prop_first = _get(client, "/api/map/proposals")
    prop_new = _get(client, "/api/map/proposals?" + PROPOSAL_FILTER)
    rss = _rss_mb()
    models = ws.proposal_models()
    return {"warm_s": warm, "first_s": first, "start_to_first_s": start_to_first, "new_filter_s": new,
            "proposals_first_s": prop_first, "proposals_new_filter_s": prop_new, "n": n,
            "models_at_start": models_at_start, "smaps_first": smaps_first, "smaps_filters": smaps_filters,
            "smaps_end": _smaps_self(),
            "models_bytes_per_incident": sum(m.nbytes for m in models) / max(n, 1),
            "cached_bytes_per_incident": (ws._caches.base.used + ws._caches.results.used) / max(n, 1),
            "table_bytes_per_incident": ws._frame("incidents").nbytes / max(n, 1),
            "columns_bytes_per_incident": ws.columns().nbytes / max(n, 1),
            "rss_base_mb": base_mb, "rss_first_mb": rss_first, "rss_mb": rss, "peak_mb": _peak_mb(),
            "bytes_per_incident": (rss - base_mb) * 2**20 / max(n, 1)}


def _run_child(name: str, *args: str, env: dict | None = None) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", name, *args], capture_output=True,
                          text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- several processes


def smaps_mb(pid: int) -> dict[str, float]:
    """``/proc/<pid>/smaps_rollup`` of a process in MB: Rss, Pss, Private (clean + dirty),
    Anonymous (Linux ≥ 4.14; the fields missing elsewhere are NaN)."""
    kb = dict.fromkeys(SMAPS_FIELDS, float("nan"))
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        if name in kb:
            kb[name] = int(rest.split()[0])
    return {"Rss": kb["Rss"] / 1024, "Pss": kb["Pss"] / 1024,
            "Private": (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024, "Anonymous": kb["Anonymous"] / 1024}


def children(pid: int) -> list[int]:
    """The process ids whose parent is ``pid`` (``ps --ppid``)."""
    out = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def _fetch(opener, url: str) -> float:
    """Seconds to GET ``url`` and read its body; RuntimeError unless it answers 200."""
    t = time.perf_counter()
    with opener.open(url, timeout=SERVE_TIMEOUT_S) as r:
        r.read()
        if r.status != 200 or r.geturl() != url:  # a redirect to /login is a lost session
            raise RuntimeError(f"{url} answered {r.status} at {r.geturl()}")
    return time.perf_counter() - t


def _wait_workers(pid: int, proc: subprocess.Popen, timeout: float = 120.0) -> list[int]:
    """The gunicorn workers of main process ``pid`` once all ``WORKERS`` are forked."""
    end = time.monotonic() + timeout
    workers = children(pid)
    while len(workers) < WORKERS and time.monotonic() < end and proc.poll() is None:
        time.sleep(0.2)
        workers = children(pid)
    if len(workers) != WORKERS:
        raise RuntimeError(f"geo-app serve --workers {WORKERS} has {len(workers)} worker processes")
    return workers


def _postgres_pss(postmaster: int) -> dict:
    """PSS of a PostgreSQL server's live processes (the postmaster and its children); a backend
    that ends while they are read is left out."""
    pss = []
    for pid in [postmaster, *children(postmaster)]:
        try:
            pss.append(smaps_mb(pid)["Pss"])
        except OSError:
            continue
    return {"processes": len(pss), "pss_mb": sum(pss)}


def stage_workers(home: Path, env: dict, postmaster: int | None) -> dict:
    """Start ``geo-app serve --workers 2`` on ``home``, time its first dashboard, serve the rounds,
    read every process's memory, stop it. ``postmaster``: the PostgreSQL server to measure too."""
    from bench.bench_load import cpu_seconds, free_port, login, stop_process, wait_up

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).with_name("geo-app")), "--home", str(home), "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(WORKERS)]
    log = open(home.parent / f"{home.name}-serve-workers.log", "w+b")  # a file: a full pipe would block it
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_up(base, proc, timeout=SERVE_TIMEOUT_S)
        listening = time.perf_counter() - t0
        opener = login(base)
        first = _fetch(opener, base + "/")
        start_to_first = time.perf_counter() - t0
        workers = _wait_workers(proc.pid, proc)
        cpu0 = [cpu_seconds(w) for w in workers]
        filters, proposals = [], []
        for _ in range(ROUNDS):
            filters.append([_fetch(opener, f"{base}/?{q}") for q in NEW_FILTERS])
            proposals.append(_fetch(opener, base + "/api/map/proposals"))
        cpu = [cpu_seconds(w) - c for w, c in zip(workers, cpu0)]
        memory = [("main", proc.pid, smaps_mb(proc.pid))] + [("worker", w, smaps_mb(w)) for w in workers]
        pg = None
        if postmaster:
            pg = _postgres_pss(postmaster)
    except Exception:
        stop_process(proc)
        log.seek(0)
        sys.stderr.write("geo-app serve --workers log (tail):\n" + log.read().decode(errors="replace")[-3000:])
        raise
    finally:
        stop_process(proc)
        log.close()
    return {"listening_s": listening, "first_s": first, "start_to_first_s": start_to_first, "filters": filters,
            "proposals": proposals, "worker_cpu_s": cpu, "memory": memory, "postgres": pg}


def _print_workers(w: dict, n: int) -> None:
    flat = [t for round_ in w["filters"] for t in round_]
    print(f"geo-app serve --workers {WORKERS} (gunicorn): listening {w['listening_s']:.1f} s after the start "
          f"(warm-up in the main process), first dashboard answer {w['first_s']:.2f} s, "
          f"{w['start_to_first_s']:.1f} s from the start (login included)", flush=True)
    print(f"through the server, {ROUNDS} rounds (a filter is new to each worker the first time it serves it): "
          f"new filters ({len(NEW_FILTERS)} a round) slowest per round "
          f"{' / '.join(f'{max(r):.2f}' for r in w['filters'])} s, median {statistics.median(flat):.2f} s; "
          f"proposals layer per round {' / '.join(f'{t:.2f}' for t in w['proposals'])} s; worker CPU during "
          f"the rounds {' / '.join(f'{c:.1f}' for c in w['worker_cpu_s'])} s", flush=True)
    print(f"{'process':<16} {'RSS MB':>8} {'PSS MB':>8} {'private MB':>10} {'anonymous MB':>12}", flush=True)
    for role, pid, m in w["memory"]:
        print(f"{role + ' ' + str(pid):<16} {m['Rss']:>8,.0f} {m['Pss']:>8,.0f} {m['Private']:>10,.0f} "
              f"{m['Anonymous']:>12,.0f}", flush=True)
    pss = sum(m["Pss"] for _, _, m in w["memory"])
    rss = sum(m["Rss"] for _, _, m in w["memory"])
    print(f"PSS over the {len(w['memory'])} processes: {pss:,.0f} MB = {pss * 2**20 / max(n, 1):.0f} bytes per "
          f"incident (the sum of their RSS, counting shared pages once per process: {rss:,.0f} MB)", flush=True)
    if w["postgres"]:
        pg = w["postgres"]
        print(f"PostgreSQL server: {pg['processes']} processes, PSS {pg['pss_mb']:,.0f} MB "
              f"(live processes; shared buffers only ended backends touched are not counted: up to "
              f"{PG_SHARED_BUFFERS} more)", flush=True)


# ---------------------------------------------------------------- the store


@contextmanager
def _store_env(store: str, work: Path, n: int, keep: bool, fresh: bool):
    """(environment of the children, PostgreSQL main pid or None) for ``store``; a PostGIS
    cluster is started first (anew if ``fresh``) and stopped at the end, removed unless ``keep``."""
    env = dict(os.environ)
    if store == "gpkg":
        env.pop("GEO_APP_STORE_URL", None)
        yield env, None
        return
    from bench import pgcluster

    reason = pgcluster.missing()
    if reason:
        raise SystemExit(f"--store postgis: {reason}")
    root = work / f"pg-{n}" if keep else None
    if root is not None and fresh and root.exists():
        pgcluster.Cluster(root, "").stop()  # a half-finished import: start from an empty cluster
    cluster = pgcluster.start_cluster(shared_buffers=PG_SHARED_BUFFERS, root=root, settings=PG_SETTINGS)
    try:
        env["GEO_APP_STORE_URL"] = cluster.url
        yield env, cluster.postmaster_pid()
    finally:
        cluster.stop(remove=not keep)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="incidents to generate (default 1,000,000)")
    parser.add_argument("--store", choices=STORES, default="gpkg", help="the store (default gpkg)")
    parser.add_argument("--stages", default=",".join(STAGES),
                        help=f"stages after the import, comma-separated (default {','.join(STAGES)}; "
                             "empty: the import only)")
    args, others = parser.parse_known_args(argv)
    bad = [a for a in others if a.startswith("-")]
    if bad:
        parser.error(f"unknown option {bad[0]}")
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    stages = [s for s in args.stages.split(",") if s]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        parser.error(f"--stages: unknown stage {unknown[0]!r} (choose among {', '.join(STAGES)})")
    args.stages = stages
    return args


def main(argv: list[str] | None = None) -> None:
    args = _parse(sys.argv[1:] if argv is None else argv)
    n = args.n
    # a `kill` ends the run through the finally clauses (the PostGIS cluster is stopped)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    given = os.environ.get("VIGIE_BENCH_SCALE_DIR")
    work = Path(given).resolve() if given else Path(tempfile.mkdtemp(prefix="vigie-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    csv = work / f"incidents-{n}.csv"
    home = work / (f"home-{n}" if args.store == "gpkg" else f"home-{n}-postgis")
    print(f"{n:,} incidents, {args.store} store, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    try:
        if not csv.exists():
            g = _run_child("gen", str(csv), str(n))
            print(f"generated {n:,} incidents (seed 1): {g['bytes'] / 2**20:,.0f} MB CSV in {g['seconds']:.1f} s",
                  flush=True)
        fresh = not (home / ".imported").exists() or (
            args.store == "postgis" and not (work / f"pg-{n}" / "data").exists())
        with _store_env(args.store, work, n, keep=bool(given), fresh=fresh) as (env, postmaster):
            if fresh:
                shutil.rmtree(home, ignore_errors=True)
                i = _run_child("import", str(csv), str(home), env=env)
                (home / ".imported").write_text(json.dumps(i))
                sizes = f"store {i['store_mb']:,.0f} MB"
                if "table_mb" in i:
                    per_row = i["table_mb"] * 2**20 / max(i["stored"], 1)
                    sizes = (f"incidents table {i['table_mb']:,.0f} MB ({per_row:.0f} bytes per incident), "
                             f"database {i['store_mb']:,.0f} MB")
                print(f"import: {i['seconds']:.1f} s, peak {i['peak_mb']:,.0f} MB, {i['stored']:,} stored, {sizes}",
                      flush=True)
            if "cold" in args.stages:
                print("a start with nothing saved (cache/ emptied):", flush=True)
                _print_serve(_run_child("serve", str(home), "cold", env=env))
            if "prepare" in args.stages:
                p = _run_child("prepare", str(home), env=env)
                print(f"saved arrays (what geo-app import adds): {p['arrays_s']:.1f} s, peak {p['arrays_peak_mb']:,.0f} "
                      f"MB; proposal models (what geo-app prepare adds): {p['models_s']:.1f} s, peak "
                      f"{p['peak_mb']:,.0f} MB; {p['saved_mb']:,.0f} MB under cache/", flush=True)
            if "serve" in args.stages:
                print("a start on saved arrays:", flush=True)
                _print_serve(_run_child("serve", str(home), env=env))
            if "workers" in args.stages:
                _run_child("account", str(home), env=env)
                _print_workers(stage_workers(home, env, postmaster), n)
            print(f"load average at the end {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        if not given:
            shutil.rmtree(work, ignore_errors=True)


def _smaps_line(m: dict) -> str:
    return (f"RSS {m['Rss']:,.0f} MB, of which anonymous {m['Anonymous']:,.0f} MB (the rest: code and mapped "
            f"files, shared with other processes)")


def _print_serve(s: dict) -> None:
    models = "with the proposal models" if s["models_at_start"] else "without the proposal models"
    print(f"new server process: warm() {s['warm_s']:.1f} s (layers, columns, darkness, dashboard, "
          f"{models}), then first dashboard request {s['first_s']:.2f} s "
          f"({s['start_to_first_s']:.1f} s from start); {_smaps_line(s['smaps_first'])}", flush=True)
    print(f"after {len(NEW_FILTERS)} new filters: {_smaps_line(s['smaps_filters'])}", flush=True)
    print(f"new filter (slowest of {len(NEW_FILTERS)}): {s['new_filter_s']:.2f} s; proposals layer: first "
          f"{s['proposals_first_s']:.2f} s, new filter {s['proposals_new_filter_s']:.2f} s", flush=True)
    print(f"after the proposals layer: {_smaps_line(s['smaps_end'])}", flush=True)
    print(f"server process: RSS {s['rss_mb']:,.0f} MB (peak {s['peak_mb']:,.0f} MB, "
          f"{s['rss_base_mb']:,.0f} MB before reading the store), "
          f"{s['bytes_per_incident']:.0f} bytes per incident, of which proposal models "
          f"{s['models_bytes_per_incident']:.0f}", flush=True)
    print(f"held by the workspace's caches: {s['cached_bytes_per_incident']:.0f} bytes per incident "
          f"(incident attribute table {s['table_bytes_per_incident']:.0f}, incident columns "
          f"{s['columns_bytes_per_incident']:.0f}, proposal models {s['models_bytes_per_incident']:.0f}, "
          f"the rest per-filter results)", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(globals()["child_" + sys.argv[2]](*sys.argv[3:])))
    else:
        main()
