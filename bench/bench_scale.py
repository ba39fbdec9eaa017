"""Growth from 1M to 10M incidents on a GeoPackage store: import, first request after start, a
new filter, the proposals layer, and the memory one server process holds.

Incidents come from ``bench.gen.write_incident_csv`` (seed 1). Every stage runs in its own
subprocess, which reports its wall time and its resident memory (``resource.getrusage`` for the
peak, ``/proc/self/status`` for the current value), so one stage's memory does not hide
another's:

1. ``import``: ``geo_app.imports.import_file`` of the CSV into a new deployment (validation,
   dates, territory, duplicates) — the peer is the same file through ``geopandas.read_file`` and
   ``to_file`` (``bench/bench_store.py`` at 1M).
2. ``serve``: a new server process: ``create_app`` and ``Workspace.warm()`` (what ``geo-app
   serve`` runs before its first visitor), the first dashboard request, the slowest of three
   never-seen filter combinations, the proposals layer (switched on, then under a new filter),
   and the process's resident memory, also per incident, beside the bytes the workspace's
   caches hold (``Workspace`` ``nbytes`` accounting: the incident attribute table, the incident
   columns, the proposal models, the per-filter results).

The files go under ``VIGIE_BENCH_SCALE_DIR`` (default: a temporary folder, removed at the end).

    python -m bench scale                        # 1,000,000 incidents
    python -m bench scale --n 10000000           # a few GB of disk, about 6 GB of memory
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NEW_FILTERS = ("category=burglary,theft&hours=18-23",
               "from=2023-06-01&to=2024-06-30&weekdays=5,6",
               "category=violence_public,drugs,robbery&night=1")
PROPOSAL_FILTER = "category=burglary,theft,vehicle_crime&from=2023-01-01"


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


def child_import(csv: str, home: str) -> dict:
    from geo_app.config import Home, write_config
    from geo_app.imports import import_file

    Path(home).mkdir(parents=True, exist_ok=True)
    write_config(Path(home) / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris",
                                             "territory": [3.5, 43.3, 4.3, 43.9]})
    t = time.perf_counter()
    out = import_file(Home(Path(home)), "incidents", csv, user="bench")
    store = sorted(Path(home).rglob("*.gpkg"))
    return {"seconds": time.perf_counter() - t, "peak_mb": _peak_mb(), "stored": out.counts["stored"],
            "store_mb": sum(p.stat().st_size for p in store) / 2**20}


def _get(client, url: str) -> float:
    t = time.perf_counter()
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:300])
    return time.perf_counter() - t


def child_serve(home: str) -> dict:
    os.environ["GEO_APP_HOME"] = home
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
        models = ws.proposal_models()
    first = _get(client, "/")
    start_to_first = time.perf_counter() - t0
    rss_first = _rss_mb()
    new = max(_get(client, "/?" + q) for q in NEW_FILTERS)
    prop_first = _get(client, "/api/map/proposals")
    prop_new = _get(client, "/api/map/proposals?" + PROPOSAL_FILTER)
    rss = _rss_mb()
    return {"warm_s": warm, "first_s": first, "start_to_first_s": start_to_first, "new_filter_s": new,
            "proposals_first_s": prop_first, "proposals_new_filter_s": prop_new, "n": n,
            "models_bytes_per_incident": sum(m.nbytes for m in models) / max(n, 1),
            "cached_bytes_per_incident": (ws._caches.base.used + ws._caches.results.used) / max(n, 1),
            "table_bytes_per_incident": ws._frame("incidents").nbytes / max(n, 1),
            "columns_bytes_per_incident": ws.columns().nbytes / max(n, 1),
            "rss_base_mb": base_mb, "rss_first_mb": rss_first, "rss_mb": rss, "peak_mb": _peak_mb(),
            "bytes_per_incident": (rss - base_mb) * 2**20 / max(n, 1)}


def _run_child(name: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", name, *args], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 1_000_000
    given = os.environ.get("VIGIE_BENCH_SCALE_DIR")
    work = Path(given) if given else Path(tempfile.mkdtemp(prefix="vigie-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    csv, home = work / f"incidents-{n}.csv", work / f"home-{n}"
    try:
        if not csv.exists():
            g = _run_child("gen", str(csv), str(n))
            print(f"generated {n:,} incidents (seed 1): {g['bytes'] / 2**20:,.0f} MB CSV in {g['seconds']:.1f} s",
                  flush=True)
        if not (home / ".imported").exists():
            shutil.rmtree(home, ignore_errors=True)
            i = _run_child("import", str(csv), str(home))
            (home / ".imported").write_text(json.dumps(i))
            print(f"import: {i['seconds']:.1f} s, peak {i['peak_mb']:,.0f} MB, {i['stored']:,} stored, "
                  f"store {i['store_mb']:,.0f} MB", flush=True)
        s = _run_child("serve", str(home))
        print(f"new server process: warm() {s['warm_s']:.1f} s (layers, columns, darkness, dashboard, "
              f"proposal models), then first dashboard request {s['first_s']:.2f} s "
              f"({s['start_to_first_s']:.1f} s from start), RSS {s['rss_first_mb']:,.0f} MB", flush=True)
        print(f"new filter (slowest of {len(NEW_FILTERS)}): {s['new_filter_s']:.2f} s; proposals layer: first "
              f"{s['proposals_first_s']:.2f} s, new filter {s['proposals_new_filter_s']:.2f} s", flush=True)
        print(f"server process: RSS {s['rss_mb']:,.0f} MB (peak {s['peak_mb']:,.0f} MB, "
              f"{s['rss_base_mb']:,.0f} MB before reading the store), "
              f"{s['bytes_per_incident']:.0f} bytes per incident, of which proposal models "
              f"{s['models_bytes_per_incident']:.0f}", flush=True)
        print(f"held by the workspace's caches: {s['cached_bytes_per_incident']:.0f} bytes per incident "
              f"(incident attribute table {s['table_bytes_per_incident']:.0f}, incident columns "
              f"{s['columns_bytes_per_incident']:.0f}, proposal models {s['models_bytes_per_incident']:.0f}, "
              f"the rest per-filter results)", flush=True)
    finally:
        if not given:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(globals()["child_" + sys.argv[2]](*sys.argv[3:])))
    else:
        main()
