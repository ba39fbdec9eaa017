"""The first dashboard request after an import that appends 10,000 incidents to 1,000,000, on a
GeoPackage store, beside the peer: the same request after a full rebuild of the per-version
caches (what every import cost before the workspace learnt to extend them).

Both run in the same process on the same store version; the extended incident columns and
darkness classes must equal the rebuilt ones array by array, and the dashboard's hotspot areas
must be the same. Figures: the import itself (copy-on-write GeoPackage append), the first
request with extension, the first request with a rebuild, their ratio.

    python -m bench append
    VIGIE_BENCH_SIZES=100000 python -m bench append
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gen import clustered_incidents
from layers.store.base import Batch
from layers.store.gpkg import GeoPackageStore

SIZES = [int(s) for s in os.environ.get("VIGIE_BENCH_SIZES", "1000000").split(",")]
ADDED = int(os.environ.get("VIGIE_BENCH_ADDED", "10000"))
TARGET_S = 0.5


def _batch(bid: str, n: int) -> Batch:
    return Batch(id=bid, kind="incidents", file_name=f"{bid}.csv", checksum="0" * 64, user="bench",
                 created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), n_read=n, n_stored=n, n_rejected=0)


def _get(client, url="/"):
    t = time.perf_counter()
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return time.perf_counter() - t


def _same(ws_a, ws_b) -> None:
    a, b = ws_a.columns(), ws_b.columns()
    for f in dataclasses.fields(a):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        assert np.array_equal(va, vb) if isinstance(va, np.ndarray) else va == vb, f.name
    assert np.array_equal(ws_a.darkness_codes(), ws_b.darkness_codes())
    fa, fb = ws_a.hotspot_areas(ws_a.default_filters(None)), ws_b.hotspot_areas(ws_b.default_filters(None))
    assert list(fa["hotspot_id"]) == list(fb["hotspot_id"]) and list(fa["n"]) == list(fb["n"])


def main() -> None:
    from geo_app import create_app
    from geo_app.accounts import add_user, list_users
    from geo_app.workspace import Workspace

    os.environ["GEO_APP_HOME"] = tempfile.mkdtemp(prefix="vigie-bench-append-")
    print(f"first dashboard request after appending {ADDED:,} incidents: extended caches (vigie) "
          "against rebuilt caches (peer)")
    print(f"{'incidents':>10} {'load s':>7} {'import s':>8} {'vigie s':>8} {'rebuild s':>9} {'ratio':>6}")
    for n in SIZES:
        folder = Path(tempfile.mkdtemp(prefix="vigie-bench-append-store-"))
        store = GeoPackageStore(folder / "store.gpkg")
        t = time.perf_counter()
        store.import_batch("incidents", clustered_incidents(n, seed=1).to_crs(4326), _batch("base", n))
        load = time.perf_counter() - t
        app = create_app({"TESTING": True, "STORE": store, "TILE_URL": "", "SECRET_KEY": "bench",
                          "WTF_CSRF_ENABLED": False})
        home = app.extensions["vigie"].home
        if not any(u.name == "bench" for u in list_users(home)):
            add_user(home, "bench", role="coordinator", password="bench-password-1")
        client = app.test_client()
        r = client.post("/login", data={"username": "bench", "password": "bench-password-1"})
        assert r.status_code == 302, r.get_data(as_text=True)[:300]
        with app.app_context():
            app.extensions["vigie"].warm()
        _get(client)
        added = clustered_incidents(ADDED, seed=2).to_crs(4326)
        t = time.perf_counter()
        store.import_batch("incidents", added, _batch("added", ADDED))
        imported = time.perf_counter() - t
        extended = _get(client)
        ws = app.extensions["vigie"]
        # the peer: the same request on the same version after forgetting every cache
        rebuilt_ws = Workspace(ws.home, store=store, snapshots=False)
        _same(ws, rebuilt_ws)
        ws.clear(saved=True)  # nothing kept in memory nor on disk: read and compute everything
        rebuilt = _get(client)
        print(f"{n:>10,} {load:7.1f} {imported:8.2f} {extended:8.2f} {rebuilt:9.2f} {rebuilt / extended:5.1f}x",
              flush=True)
        if n >= 1_000_000 and extended > TARGET_S:
            print(f"  above the {TARGET_S} s target")


if __name__ == "__main__":
    main()
