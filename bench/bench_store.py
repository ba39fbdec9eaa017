"""Store benchmark: import a 1,000,000-row incident CSV, then read it back filtered.

1. Import with validation (``geo_app.imports.import_file``: read, map, validate every row,
   store as one batch in the GeoPackage) beside a plain ``geopandas.read_file(csv)`` ->
   ``to_file(gpkg)`` round trip of the same file. Each runs in its own subprocess, which reports
   its wall time and its peak resident memory (``resource.getrusage``). Targets: <= 30 s and
   <= 2.5 GB.
2. Read the 1,000,000 stored incidents filtered by a bbox and a 6-month period
   (``GeoPackageStore.read``, both paths: GDAL pushdown for a fresh store object, in-memory
   columns for a warm server store) beside ``geopandas.read_file(gpkg, bbox=..., where=...)``
   on the same file. Target: <= 1 s. All must return the same features.

Run: ``python -m bench store`` (``VIGIE_BENCH_N`` changes the size, default 1,000,000).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N = int(os.environ.get("VIGIE_BENCH_N", "1000000"))
SEED = 20240601
# a central box of the generated extent and half a year
BBOX = (3.82, 43.56, 3.92, 43.64)
START, END = "2023-07-01", "2023-12-31"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def child_vigie_import(csv: str, home: str) -> dict:
    from geo_app.config import Home, write_config
    from geo_app.imports import import_file

    write_config(Path(home) / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris",
                                             "territory": [3.5, 43.3, 4.3, 43.9]})
    t = time.perf_counter()
    out = import_file(Home(Path(home)), "incidents", csv, user="bench")
    return {"seconds": time.perf_counter() - t, "peak_mb": _peak_mb(), "stored": out.counts["stored"],
            "rejected": out.counts["rejected"]}


def child_peer_import(csv: str, gpkg: str) -> dict:
    import geopandas as gpd

    t = time.perf_counter()
    gdf = gpd.read_file(csv, X_POSSIBLE_NAMES="lon", Y_POSSIBLE_NAMES="lat", KEEP_GEOM_COLUMNS="NO")
    gdf = gdf.set_crs(4326)
    gdf.to_file(gpkg, layer="incidents", driver="GPKG")
    return {"seconds": time.perf_counter() - t, "peak_mb": _peak_mb(), "stored": len(gdf)}


def _run_child(name: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", name, *args], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _time(fn, repeat=3):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def bench_read(store_path: Path) -> None:
    import geopandas as gpd
    import pandas as pd

    from layers.filters import parse_filters
    from layers.store.gpkg import GeoPackageStore

    filters = parse_filters(bbox=",".join(map(str, BBOX)), start=START, end=END, tz="Europe/Paris")

    # one read by a fresh store object (a CLI command): pushdown into GDAL
    t_push, got = _time(lambda: GeoPackageStore(store_path, cache=False).read("incidents", filters))
    # a server's store object: load the columns once, then every read filters them in memory
    server = GeoPackageStore(store_path)
    t = time.perf_counter()
    server.warm()
    t_load = time.perf_counter() - t
    t_mem, got_mem = _time(lambda: server.read("incidents", filters))

    s_utc = filters.start.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S")
    e_utc = filters.end.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S")
    where = f"occurred_from >= '{s_utc}' AND occurred_from < '{e_utc}'"

    def peer():
        return gpd.read_file(store_path, layer="incidents", bbox=BBOX, where=where, fid_as_index=True)

    t_peer, ref = _time(peer)
    same = set(got["fid"]) == set(ref.index) == set(got_mem["fid"])
    print(f"read {server.count('incidents'):,} stored incidents, bbox {BBOX} + period {START}..{END}: "
          f"{len(got):,} incidents (best of 3)")
    ok = "OK" if min(t_push, t_mem) <= 1 else "MISSED"
    print(f"  Vigie pushdown read (fresh store object)   {t_push:6.3f} s   ratio to peer {t_push / t_peer:.2f}")
    print(f"  Vigie in-memory read (warm server store)   {t_mem:6.3f} s   ratio to peer {t_mem / t_peer:.2f}"
          f"   (one-off load {t_load:.1f} s)")
    print(f"  geopandas.read_file(bbox=, where=)         {t_peer:6.3f} s")
    print(f"  target <= 1 s: {ok}; same features in all three: {same}")
    assert str(got["occurred_from"].dtype) == "datetime64[ns, UTC]"
    assert pd.Series(got["occurred_from"]).between(filters.start, filters.end).all()
    if not same:
        raise SystemExit("Vigie and geopandas disagree on the filtered read")


def main() -> None:
    from bench.gen import write_incident_csv

    with tempfile.TemporaryDirectory(prefix="vigie-bench-store-") as tmp:
        tmp = Path(tmp)
        csv = tmp / "incidents.csv"
        t = time.perf_counter()
        write_incident_csv(csv, N, SEED)
        print(f"generated {N:,} incidents (seed {SEED}) as CSV, {csv.stat().st_size / 1e6:.0f} MB, "
              f"in {time.perf_counter() - t:.1f} s")
        home = tmp / "home"
        home.mkdir()
        vigie = _run_child("vigie_import", str(csv), str(home))
        peer = _run_child("peer_import", str(csv), str(tmp / "peer.gpkg"))
        print(f"import {N:,} rows from CSV (validation included)")
        print(f"  Vigie import_file            {vigie['seconds']:6.1f} s  peak {vigie['peak_mb']:6.0f} MB  "
              f"(targets <= 30 s: {'OK' if vigie['seconds'] <= 30 else 'MISSED'}, <= 2500 MB: "
              f"{'OK' if vigie['peak_mb'] <= 2500 else 'MISSED'})")
        print(f"  geopandas read_file->to_file {peer['seconds']:6.1f} s  peak {peer['peak_mb']:6.0f} MB")
        print(f"  ratio Vigie/peer: time {vigie['seconds'] / peer['seconds']:.2f}, "
              f"memory {vigie['peak_mb'] / peer['peak_mb']:.2f}")
        print(f"  stored: Vigie {vigie['stored']:,} (rejected {vigie['rejected']}), peer {peer['stored']:,}")
        # Vigie drops exact duplicate rows (with a warning); everything else must be stored
        if vigie["stored"] + vigie["rejected"] != peer["stored"]:
            raise SystemExit("Vigie and geopandas read different numbers of rows")
        bench_read(home / "store.gpkg")
        bench_small_write(home / "store.gpkg")


def bench_small_write(store_path: Path) -> None:
    """A 10,000-row batch added to, then rolled back from, the 1,000,000-row store."""
    from bench.gen import clustered_incidents
    from layers.store import Batch
    from layers.store.gpkg import GeoPackageStore

    store = GeoPackageStore(store_path)
    n0 = store.count("incidents")
    gdf = clustered_incidents(10_000, seed=SEED + 1).to_crs(4326)
    batch = Batch(id="bench-extra", kind="incidents", file_name="extra", checksum="0" * 64, user="bench",
                  created="2099-01-01T00:00:00Z", n_read=10_000, n_stored=10_000, n_rejected=0)
    t = time.perf_counter()
    store.import_batch("incidents", gdf, batch)
    t_import = time.perf_counter() - t
    t = time.perf_counter()
    store.rollback("bench-extra")
    t_rollback = time.perf_counter() - t
    assert store.count("incidents") == n0
    print(f"10,000 more incidents into the {n0:,}-row store: import_batch {t_import:.1f} s, "
          f"rollback {t_rollback:.1f} s (copy-on-write of the whole file each)")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        fn = {"vigie_import": child_vigie_import, "peer_import": child_peer_import}[sys.argv[2]]
        print(json.dumps(fn(*sys.argv[3:])))
    else:
        main()
