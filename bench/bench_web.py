"""Dashboard size and time with 10,000 / 100,000 / 1,000,000 incidents, beside a naive Folium
page with one marker per incident (the peer), on the same seeded incidents (bench/gen.py).

Vigie's dashboard aggregates server-side (grid counts, Gi*, KDE, hotspot areas) and loads points
for the visible bbox from the API, so its HTML does not grow with the number of incidents.
Figures: HTML size, first request (cold: the store version's columns, darkness and analyses),
a new filter combination (masks over the cached columns, analyses on binned counts), the next
request (cached per store version and filters), the first fetch of each hidden layer (KDE,
emerging hotspots, proposals), and with ``--browser`` the time to a drawn map in headless
chromium. At 10,000 and 100,000 incidents the fast Gi* is checked against
``layers.hotspots.gistar`` on the same incidents.

    python -m bench web            # 10k, 100k, 1M
    VIGIE_BENCH_SIZES=10000 python -m bench web
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import folium
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gen import clustered_incidents
from layers.filters import apply_filters
from layers.registry import LAYERS
from layers.store.base import Store

SIZES = [int(s) for s in os.environ.get("VIGIE_BENCH_SIZES", "10000,100000,1000000").split(",")]
NAIVE_MAX = int(os.environ.get("VIGIE_BENCH_NAIVE_MAX", "10000"))


class _MemStore(Store):
    """The incidents held in memory (the dashboard reads each layer once per store version)."""

    def __init__(self, incidents):
        import geopandas as gpd
        import pandas as pd

        self._l = {}
        for kind, spec in LAYERS.items():
            self._l[kind] = gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in spec.column_names},
                                             geometry=gpd.GeoSeries([], crs=4326), crs=4326)
        inc = incidents.to_crs(4326).reset_index(drop=True)
        inc["fid"] = np.arange(1, len(inc) + 1)
        inc["batch_id"] = "bench"
        self._l["incidents"] = inc

    def read(self, kind, filters=None, *, columns=None, tz="Europe/Paris"):
        return apply_filters(self._l[kind], filters, tz=tz)

    def count(self, kind, filters=None, *, tz="Europe/Paris"):
        return len(self.read(kind, filters, tz=tz))

    def counts(self):
        return {k: len(v) for k, v in self._l.items()}

    def import_batch(self, *a, **k):
        raise NotImplementedError

    def batches(self, kind=None):
        return []

    def rollback(self, batch_id):
        raise NotImplementedError

    @property
    def version(self):
        return str(len(self._l["incidents"]))


def naive_page(incidents) -> tuple[int, float]:
    """One folium.Marker per incident: the page a first attempt would build."""
    t = time.perf_counter()
    pts = incidents.to_crs(4326)
    m = folium.Map(location=[pts.geometry.y.mean(), pts.geometry.x.mean()], zoom_start=13)
    for geom, cat in zip(pts.geometry, pts["category"]):
        folium.Marker([geom.y, geom.x], popup=str(cat)).add_to(m)
    html = m.get_root().render()
    return len(html.encode()), time.perf_counter() - t


def browser_first_map(url: str) -> float | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    exe = "/usr/bin/chromium"
    if not Path(exe).exists():
        return None
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        pg = b.new_page(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        t = time.perf_counter()
        pg.goto(url)
        pg.wait_for_selector(".leaflet-control-layers")
        pg.wait_for_function("document.querySelector('.leaflet-overlay-pane canvas, .leaflet-overlay-pane svg') !== null")
        dt = time.perf_counter() - t
        b.close()
    return dt


#: filter combinations never requested before in a run: each recomputes every dashboard layer
NEW_FILTERS = ("category=burglary,theft&hours=18-23",
               "from=2023-06-01&to=2024-06-30&weekdays=5,6",
               "category=violence_public,drugs,robbery&night=1")


def _get(client, url):
    t = time.perf_counter()
    r = client.get(url)
    dt = time.perf_counter() - t
    assert r.status_code == 200, (url, r.get_data(as_text=True)[:500])
    return r, dt


def _agreement(app, inc) -> None:
    """Vigie's cached-column Gi* equals layers.hotspots.gistar on the same incidents."""
    from layers import hotspots
    from layers.filters import Filters

    svc = app.extensions["vigie"]
    with app.app_context():
        fast = svc.analysis("gistar", Filters())
        grid = svc.analysis_grid()
    ref = hotspots.gistar(inc, grid=grid)
    assert (fast["n"].to_numpy() == ref["n"].to_numpy()).all()
    assert np.allclose(fast["z"].to_numpy(), ref["z"].to_numpy(), atol=1e-9)
    assert (fast["bin"].to_numpy() == ref["bin"].to_numpy()).all()


def main() -> None:
    os.environ["GEO_APP_HOME"] = tempfile.mkdtemp(prefix="vigie-bench-web-")
    from geo_app import create_app

    print("dashboard: first request (cold: per-version preparation), new filter (slowest of "
          f"{len(NEW_FILTERS)} never-seen combinations), next request (same filters again);\n"
          "warm(): what `geo-app serve` does before the first visitor; 1st|w, new|w: first request and "
          "slowest new filter after it;\nlazy layers: first fetch when switched on (unfiltered).")
    print(f"{'incidents':>10} {'vigie HTML':>11} {'first s':>8} {'new flt s':>9} {'next s':>7} "
          f"{'warm() s':>7} {'1st|w s':>7} {'new|w s':>7} {'kde s':>6} {'emerg s':>7} {'prop s':>7} {'browser s':>9} {'naive HTML':>11} {'naive s':>8} "
          f"{'size ratio':>10}")
    for n in SIZES:
        inc = clustered_incidents(n, seed=42)
        app = create_app({"TESTING": True, "STORE": _MemStore(inc), "TILE_URL": "", "SECRET_KEY": "bench",
                           "LOGIN_DISABLED": True})
        client = app.test_client()
        r, cold = _get(client, "/")
        new = max(_get(client, "/?" + q)[1] for q in NEW_FILTERS)
        r, warm = _get(client, "/")
        size = len(r.data)
        assert b"/api/layers/incidents" in r.data  # points come per bbox from the API
        lazy = {key: _get(client, f"/api/map/{key}")[1] for key in ("kde", "emerging", "proposals")}
        # what `geo-app serve` does before its first visitor: Workspace.warm() (layers, columns,
        # darkness, unfiltered dashboard); then the first visitor's request and a new filter
        warmed = create_app({"TESTING": True, "STORE": _MemStore(inc), "TILE_URL": "", "SECRET_KEY": "bench",
                           "LOGIN_DISABLED": True})
        t = time.perf_counter()
        with warmed.app_context():
            warmed.extensions["vigie"].warm()
        warm_s = time.perf_counter() - t
        wclient = warmed.test_client()
        after_warm = _get(wclient, "/")[1]
        new_warm = max(_get(wclient, "/?" + q + "&weekdays=0,1,2,3,4")[1] for q in NEW_FILTERS)
        if n <= 100_000:
            _agreement(app, inc)
        browser = None
        if "--browser" in sys.argv or os.environ.get("VIGIE_BENCH_BROWSER"):
            import logging

            import waitress

            logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" notes

            srv = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
            th = threading.Thread(target=srv.run, daemon=True)
            th.start()
            browser = browser_first_map(f"http://127.0.0.1:{srv.effective_port}/")
            srv.close()
        if n <= NAIVE_MAX:
            nsize, ntime = naive_page(inc)
            ratio = f"{nsize / size:9.1f}x"
            naive = f"{nsize / 1e6:9.2f}MB {ntime:8.2f}"
        else:
            ratio, naive = "        —", f"{'(skipped)':>11} {'—':>8}"
        bs = f"{browser:9.2f}" if browser is not None else f"{'—':>9}"
        print(f"{n:>10,} {size / 1e6:9.2f}MB {cold:8.2f} {new:9.2f} {warm:7.2f} {warm_s:7.2f} {after_warm:7.2f} "
              f"{new_warm:7.2f} {lazy['kde']:6.2f} {lazy['emerging']:7.2f} {lazy['proposals']:7.2f} {bs} {naive} "
              f"{ratio}", flush=True)
        assert size <= 1.5e6, f"dashboard HTML {size / 1e6:.2f} MB > 1.5 MB"


if __name__ == "__main__":
    main()
