"""CCTV siting (MCLP) on the demo city: Vigie against spopt's ``MCLP``.

Instance: the demo city's simulated incidents (seeded, situational categories, recency
half-life 365 days), all street-light supports as candidates, the 141 existing cameras locked
in, k = 20 new cameras of 100 m range. Target: exact, or within 1 % of the upper bound, in
<= 30 s.

spopt's ``MCLP.from_cost_matrix`` needs a dense demand × facility cost matrix: for the whole
city that is 45,000 × 30,000 float64 (about 11 GB), beyond this machine. The peer therefore
runs on the same data cut to a window around the city centre (every incident, lamp and camera
within ``WINDOW_M`` of Place Jean-Jaurès, ``WINDOW_K`` new cameras), where Vigie runs too; both
must reach the same covered weight. spopt's time is mostly PuLP building the model from the
dense matrix. ``python -m bench recommend``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pulp
import shapely

WINDOW_M = 400.0
WINDOW_K = 5  # 20 cameras would cover the whole window
K = 20
RADIUS = 100.0


def _demo_home():
    from geo_app.config import Home
    from geo_app.demo import build_demo

    path = Path(tempfile.gettempdir()) / "vigie-bench-recommend-demo"
    if not (path / ".built").exists():
        t = time.perf_counter()
        build_demo(path, password="bench-password")
        (path / ".built").write_text("ok")
        print(f"demo city built in {path} ({time.perf_counter() - t:.1f} s)")
    return Home(path)


def _spopt(inc, lights, cameras, *, k, radius, half_life):
    """spopt MCLP on the same demand (same weights, aggregated the same way)."""
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    from layers.recommend._common import recency_weights, situational_categories

    cats = situational_categories()
    inc = inc[inc["category"].isin(cats)]
    w = recency_weights(inc["occurred_from"], half_life_days=half_life)
    xy = np.column_stack([inc.geometry.x, inc.geometry.y])
    uniq, inv = np.unique(np.round(xy, 1), axis=0, return_inverse=True)
    wd = np.bincount(inv.ravel(), weights=w)
    fac = np.vstack([np.column_stack([lights.geometry.x, lights.geometry.y]),
                     np.column_stack([cameras.geometry.x, cameras.geometry.y])])
    pre = np.r_[np.zeros(len(lights), bool), np.ones(len(cameras), bool)]
    t = time.perf_counter()
    cost = cdist(uniq, fac)
    model = MCLP.from_cost_matrix(cost, wd, service_radius=radius, p_facilities=k + len(cameras),
                                  predefined_facilities_arr=pre)
    model = model.solve(pulp.HiGHS(msg=False, timeLimit=120))
    secs = time.perf_counter() - t
    return float(pulp.value(model.problem.objective)), float(wd.sum()), secs, cost.shape


def main():
    import geopandas as gpd

    from layers.recommend import site_cameras
    from layers.simulate import PLANTED

    home = _demo_home()
    crs = home.settings.analysis_crs
    inc = home.store.read("incidents").to_crs(crs)
    lights = home.store.read("lights").to_crs(crs)
    cameras = home.store.read("cameras").to_crs(crs)
    print(f"demo city: {len(inc)} incidents, {len(lights)} street-light supports, "
          f"{len(cameras)} cameras; k = {K}, range {RADIUS:g} m, half-life 365 days")

    # whole city: Vigie only (the peer cannot hold the dense matrix)
    for method in ("auto", "greedy"):
        t = time.perf_counter()
        sites = site_cameras(inc, candidates=lights, existing=cameras, k=K, radius_m=RADIUS,
                             crs=crs, method=method, time_limit_s=30)
        secs = time.perf_counter() - t
        m = sites.attrs["vigie"]
        print(f"vigie {method:6s} whole city: {secs:6.2f} s  solver={m['solver']!r} "
              f"status={m['status']}  covered after {100 * m['coverage_after']['share']:.2f} % "
              f"(before {100 * m['coverage_before']['share']:.2f} %)  objective "
              f"{m['objective']:.3f}  bound {m['bound']:.3f}  gap {100 * m['gap']:.4f} %  "
              f"model {m['model']}")
        if method == "auto":
            ok = secs <= 30 and (m["status"] == "optimal" or m["gap"] <= 0.01)
            print(f"target (exact or gap <= 1 % in <= 30 s): {'met' if ok else 'MISSED'}")
    print(f"spopt whole city: not run (dense cost matrix {len(inc)} x {len(lights) + len(cameras)} "
          f"float64 = {len(inc) * (len(lights) + len(cameras)) * 8 / 1e9:.1f} GB)")

    # centre window: both
    spec = PLANTED["night_bars"]
    centre = gpd.GeoSeries([shapely.Point(spec["lon"], spec["lat"])], crs=4326).to_crs(crs).iloc[0]
    box = centre.buffer(WINDOW_M, cap_style="square")
    wi, wl, wc = (g[g.within(box)] for g in (inc, lights, cameras))
    t = time.perf_counter()
    sites = site_cameras(wi, candidates=wl, existing=wc, k=WINDOW_K, radius_m=RADIUS, crs=crs,
                         method="exact", time_limit_s=30)
    v_secs = time.perf_counter() - t
    m = sites.attrs["vigie"]
    v_cov = m["coverage_after"]["weight"]
    s_cov, total, s_secs, shape = _spopt(wi, wl, wc, k=WINDOW_K, radius=RADIUS, half_life=365.0)
    print(f"centre window ({2 * WINDOW_M:g} m square): {len(wi)} incidents, {len(wl)} supports, "
          f"{len(wc)} cameras, k = {WINDOW_K}; dense matrix {shape[0]} x {shape[1]}")
    print(f"vigie  exact: {v_secs:7.2f} s  covered weight {v_cov:.4f} of {total:.4f} "
          f"({100 * v_cov / total:.2f} %), {m['status']}")
    print(f"spopt  MCLP : {s_secs:7.2f} s  covered weight {s_cov:.4f} ({100 * s_cov / total:.2f} %)")
    agree = abs(v_cov - s_cov) <= 1e-6 * max(1.0, s_cov)
    print(f"agreement: {'same covered weight' if agree else 'DIFFERENT covered weight'}; "
          f"time ratio spopt / vigie = {s_secs / v_secs:.1f}")


if __name__ == "__main__":
    main()
