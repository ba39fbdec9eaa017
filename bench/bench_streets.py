"""Street micro-places and action evaluation against their peers, same seeded input, same run.

1. Assigning 1,000,000 incidents to the 8,011 segments of Montpellier's real street network
   (``data/VilleMTP_MTP_FilaireVoies.zip``) within 30 m (target <= 2 s). Peer: geopandas
   ``sjoin_nearest(max_distance=30)``; the segment of every incident must agree (ties apart).
2. Segment Gi* over network contiguity (8,011 segments) beside a grid Gi* of a similar number of
   cells; peer: esda ``G_Local`` with the same weights (z must agree).
3. Evaluating 100 actions (WDD with an automatic control) on 200,000 incidents (target <= 2 s):
   ``layers.effect.evaluate_in`` over one ``EffectIndex`` (incidents sorted once, what the
   workspace caches), beside the naive path of ``evaluate_place`` per action (arrays prepared
   again for each action); both must give the same counts and controls.

``python -m bench streets``; ``BENCH_QUICK=1`` shrinks the inputs for a smoke run.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.effect import EffectIndex, evaluate_in, evaluate_place
from layers.grid import make_grid, neighbours
from layers.hotspots import gistar_z
from layers.streets import assign_xy, segment_neighbours

QUICK = os.environ.get("BENCH_QUICK") == "1"
DATA = Path(__file__).resolve().parent.parent / "data"


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def line(name, vigie_s, peer_s, target=None):
    ratio = peer_s / vigie_s if vigie_s > 0 else float("inf")
    tgt = f"  target <= {target:g} s: {'OK' if vigie_s <= target else 'MISSED'}" if target else ""
    print(f"{name:<34} vigie {vigie_s:8.3f} s   peer {peer_s:9.3f} s   peer/vigie {ratio:7.1f}x{tgt}", flush=True)


def incidents_on(streets, n, seed=13):
    """Points near the street network: 80 % within 20 m of a random segment, 20 % anywhere."""
    rng = np.random.default_rng(seed)
    g = np.asarray(streets.geometry.values)
    k = int(n * 0.8)
    pick = rng.integers(0, len(g), k)
    pts = shapely.get_coordinates(shapely.line_interpolate_point(g[pick], rng.uniform(0, 1, k), normalized=True))
    pts += rng.normal(0, 8, pts.shape)
    b = streets.total_bounds
    rest = np.c_[rng.uniform(b[0], b[2], n - k), rng.uniform(b[1], b[3], n - k)]
    xy = np.r_[pts, rest]
    return xy[:, 0], xy[:, 1]


def main():
    streets = gpd.read_file(DATA / "VilleMTP_MTP_FilaireVoies.zip").to_crs(2154).reset_index(drop=True)
    n = 100_000 if QUICK else 1_000_000
    x, y = incidents_on(streets, n)

    (seg, _), t_v = timed(assign_xy, x, y, streets, tolerance_m=30)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=2154)
    sub = slice(0, n if QUICK else 200_000)  # the peer on a fifth, extrapolated
    j, t_p = timed(gpd.sjoin_nearest, pts.iloc[sub], streets[["geometry"]], max_distance=30, how="left")
    j = j[~j.index.duplicated()]
    peer = j["index_right"].fillna(-1).astype(int).to_numpy()
    agree = (peer == seg[sub]).mean()
    line(f"assign {n:,} to {len(streets):,}", t_v, t_p * n / len(peer), target=2)
    print(f"  same segment for {agree:.4%} of incidents (ties at nodes apart); off-network "
          f"{(seg < 0).mean():.1%}", flush=True)

    counts = np.bincount(seg[seg >= 0], minlength=len(streets)).astype(float)
    (z, _), t_v = timed(lambda: gistar_z(counts, segment_neighbours(streets)))
    import esda
    from libpysal.weights import WSP

    W = WSP(segment_neighbours(streets)).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, t_p = timed(lambda: esda.G_Local(counts, W, star=True, transform="B", permutations=0).Zs)
    line(f"segment Gi* ({len(streets):,} segments)", t_v, t_p)
    print(f"  max |z - esda| = {np.max(np.abs(z - ref)):.2e}", flush=True)
    grid = make_grid(shapely.box(*streets.total_bounds), cell_size=120)
    cell = np.floor((x - grid.total_bounds[0]) / 120).astype(int)
    print(f"  grid beside it: {len(grid):,} cells of 120 m", flush=True)
    _, t_g = timed(lambda: gistar_z(np.bincount(np.clip(cell, 0, len(grid) - 1), minlength=len(grid)),
                                    neighbours(grid)))
    line(f"grid Gi* ({len(grid):,} cells)", t_g, t_g)

    m = 20_000 if QUICK else 200_000
    rng = np.random.default_rng(5)
    xs, ys = x[:m], y[:m]
    start = pd.Timestamp("2025-01-01", tz="UTC")
    t = rng.integers((start - pd.Timedelta(days=365)).value, (start + pd.Timedelta(days=365)).value, m)
    places = [shapely.Point(xs[i], ys[i]).buffer(60) for i in rng.integers(0, m, 100)]
    now = start + pd.Timedelta(days=365)

    def indexed():
        index = EffectIndex(xs, ys, t)  # built once, inside the timing
        return [evaluate_in(index, p, start=start, now=now) for p in places]

    fast, t_v = timed(indexed)
    naive, t_p = timed(lambda: [evaluate_place(xs, ys, t, p, start=start, now=now) for p in places])
    line(f"evaluate 100 actions ({m:,} incidents)", t_v, t_p, target=2)
    same = all(a["counts"] == b["counts"] and a["control"] == b["control"] for a, b in zip(fast, naive))
    print(f"  same counts and controls on the two paths: {same}; index build included", flush=True)


if __name__ == "__main__":
    main()
