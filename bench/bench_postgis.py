"""PostGIS store benchmark: 1,000,000 generated incidents in PostgreSQL beside the GeoPackage.

1. Import: ``PostGISStore.import_batch`` (one transaction, ``COPY``; a batch this large into an
   empty table rebuilds it and builds its indexes once) beside the same import forced through
   the append path (``COPY`` into the indexed table: one GiST insertion per row) and beside
   ``GeoPackageStore.import_batch`` of the same frame (copy-on-write, bulk R-tree). Then the
   table's size on disk per row (``pg_total_relation_size``: heap, TOAST and indexes), and a
   second batch as large as the layer, rebuilt (the default) beside appended (forced).
2. Grid counts, 100 m cells over the data's extent: in SQL (``PostGISStore.grid_counts``)
   beside reading every incident into GeoPandas (``PostGISStore.read``), filtering with
   ``layers.filters.apply_filters``, reprojecting with pyproj and counting with
   ``layers.hotspots.count_xy``, as the web service does. Unfiltered and filtered (a
   6-month period, three categories and night hours). The counts must be equal cell by cell.
3. Filtered count: ``PostGISStore.count`` in SQL beside ``len(apply_filters(frame))``.

The server is a throw-away cluster (``bench/pgcluster.py``, fsync off) unless
``VIGIE_BENCH_POSTGIS_URL`` names a database with PostGIS (the tables are created in a new
schema there and dropped at the end).

Run: ``python -m bench postgis`` (``VIGIE_BENCH_N`` changes the size, default 1,000,000).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

N = int(os.environ.get("VIGIE_BENCH_N", "1000000"))
SEED = 20240601
CELL = 100.0
FILTER = {"start": "2023-07-01", "end": "2023-12-31", "categories": "theft,burglary,vehicle_theft",
          "hours": "20-6"}


def _time(fn, repeat=3):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def _server():
    """(URL of an empty schema, cleanup function)."""
    import psycopg

    from bench import pgcluster

    url = os.environ.get("VIGIE_BENCH_POSTGIS_URL")
    if url:
        schema = f"vigie_bench_{os.getpid()}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")

        def drop():
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")

        sep = "&" if "?" in url else "?"
        return f"{url}{sep}options=-csearch_path%3D{schema}%2Cpublic", drop
    reason = pgcluster.missing()
    if reason:
        raise SystemExit(f"{reason}; or set VIGIE_BENCH_POSTGIS_URL")
    cluster = pgcluster.start_cluster(shared_buffers="512MB")
    return cluster.url, cluster.stop


def main() -> None:
    from layers.store import open_store

    given = os.environ.get("VIGIE_BENCH_POSTGIS_STORE")
    if given:  # a store holding incidents already (e.g. bench_scale's kept 10M cluster): pushdown only
        store = open_store(given)
        print(f"store given: {store.count('incidents'):,} incidents; imports not measured")
        try:
            _pushdown(store)
        finally:
            store.close()
        return
    _imports_and_pushdown()


def _imports_and_pushdown() -> None:
    from bench.gen import clustered_incidents
    from layers.store import Batch, open_store
    from layers.store.gpkg import GeoPackageStore

    t = time.perf_counter()
    gdf = clustered_incidents(N, seed=SEED).to_crs(4326)
    print(f"generated {N:,} incidents (seed {SEED}) in {time.perf_counter() - t:.1f} s")
    batch = Batch(id="bench", kind="incidents", file_name="bench", checksum="0" * 64, user="bench",
                  created="2026-01-01T00:00:00Z", n_read=N, n_stored=N, n_rejected=0, simulated=True)
    url, cleanup = _server()
    try:
        from layers.store import postgis

        store = open_store(url)
        # the append path first (forced), in the same database, then rolled back
        rebuild_min = postgis._REBUILD_MIN_ROWS
        postgis._REBUILD_MIN_ROWS = 10**12
        t = time.perf_counter()
        store.import_batch("incidents", gdf, replace(batch, id="bench-append"))
        t_append = time.perf_counter() - t
        postgis._REBUILD_MIN_ROWS = rebuild_min
        store.rollback("bench-append")
        with store.connection() as conn:
            conn.execute("VACUUM FULL incidents")
        t = time.perf_counter()
        store.import_batch("incidents", gdf, batch)
        t_pg = time.perf_counter() - t
        with store.connection() as conn:
            conn.execute("VACUUM ANALYZE incidents")
            sizes = conn.execute("SELECT pg_total_relation_size('incidents'), pg_relation_size('incidents'), "
                                 "pg_indexes_size('incidents') FROM incidents LIMIT 1").fetchone()
        with tempfile.TemporaryDirectory(prefix="vigie-bench-pg-") as tmp:
            gpkg = GeoPackageStore(Path(tmp) / "store.gpkg")
            t = time.perf_counter()
            gpkg.import_batch("incidents", gdf, batch)
            t_gpkg = time.perf_counter() - t
            assert gpkg.count("incidents") == store.count("incidents") == N
        # a second batch as large as the layer: rebuilt (the rule) beside appended (forced)
        second = {}
        for path, minimum in (("rebuild", rebuild_min), ("append", 10**12)):
            postgis._REBUILD_MIN_ROWS = minimum
            t = time.perf_counter()
            store.import_batch("incidents", gdf, replace(batch, id=f"bench-second-{path}"))
            second[path] = time.perf_counter() - t
            postgis._REBUILD_MIN_ROWS = rebuild_min
            assert store.count("incidents") == 2 * N
            store.rollback(f"bench-second-{path}")
            with store.connection() as conn:
                conn.execute("VACUUM FULL ANALYZE incidents")
        print(f"import {N:,} incidents as one batch")
        print(f"  PostGIS import_batch (COPY, indexes built once)  {t_pg:6.1f} s   ratio to GeoPackage "
              f"{t_pg / t_gpkg:.2f}")
        print(f"  PostGIS append path (COPY into indexed table)    {t_append:6.1f} s   ratio to GeoPackage "
              f"{t_append / t_gpkg:.2f}")
        print(f"  GeoPackage import_batch (copy-on-write, R-tree)  {t_gpkg:6.1f} s")
        print(f"  a second batch of {N:,} into the {N:,}: rebuilt {second['rebuild']:6.1f} s, appended "
              f"{second['append']:6.1f} s (ratio {second['rebuild'] / second['append']:.2f})")
        total, heap, indexes = sizes
        print(f"PostGIS table incidents: {total / 1e6:.0f} MB in all = {total / N:.0f} bytes per row "
              f"(heap {heap / N:.0f}, indexes {indexes / N:.0f}, TOAST and maps the rest)")
        del gdf
        _pushdown(store)
        store.close()
    finally:
        cleanup()


def _pushdown(store) -> None:
    """Grid counts and a filtered count in SQL beside reading everything into GeoPandas."""
    import numpy as np
    from pyproj import Transformer

    from layers.filters import apply_filters, parse_filters
    from layers.grid import make_grid
    from layers.hotspots import count_xy

    area = store.read("incidents", columns=[]).to_crs(2154)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # more than 100,000 cells is fine here
        grid = make_grid(area, cell_size=CELL)
    del area
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    tz = "Europe/Paris"

    def numpy_path(filters):
        frame = store.read("incidents", tz=tz)
        if filters is not None:
            frame = apply_filters(frame, filters, tz=tz)
        x, y = to_l93.transform(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
        return count_xy(np.asarray(x), np.asarray(y), grid), len(frame)

    for label, filters in (("no filter", None), (f"filtered {FILTER}", parse_filters(tz=tz, **FILTER))):
        t_sql, got = _time(lambda: store.grid_counts(grid, filters, tz=tz))
        t_np, (ref, n_ref) = _time(lambda: numpy_path(filters), repeat=1)
        same = bool(np.array_equal(got["n"].to_numpy(), ref["n"].to_numpy()))
        print(f"grid counts, {len(grid):,} cells of {CELL:g} m, {label}: "
              f"{got.attrs['vigie']['n_incidents']:,} incidents counted")
        print(f"  SQL (ST_Transform + floor, GROUP BY)             {t_sql:6.2f} s   ratio to peer "
              f"{t_sql / t_np:.3f} ({t_np / t_sql:.1f}x faster)")
        print(f"  read all into GeoPandas + NumPy count_xy         {t_np:6.2f} s")
        print(f"  equal cell by cell: {same}")
        if not same:
            raise SystemExit("SQL and NumPy grid counts differ")
        if filters is not None:
            t_cnt, n_sql = _time(lambda: store.count("incidents", filters, tz=tz))
            print(f"filtered count: SQL {t_cnt:.3f} s ({n_sql:,}) beside read + apply_filters "
                  f"{t_np:.2f} s ({n_ref:,}); equal: {n_sql == n_ref}")
            if n_sql != n_ref:
                raise SystemExit("SQL and NumPy filtered counts differ")


if __name__ == "__main__":
    main()
