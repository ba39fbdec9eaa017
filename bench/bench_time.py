"""Time analyses against their peers, on the same seeded generated input in the same run.

1. Knox test, 12,000 incidents, 99 permutations (target <= 4 s). Peer: a straightforward
   NumPy/SciPy implementation that rebuilds the KD-tree pair list and bins every pair from
   scratch for each permutation (same seed, same permutations): counts must agree exactly.
2. Emerging hot spots, 1,000,000 incidents x 24 months x 40,000 cells (target <= 10 s). Peers,
   on subsamples and extrapolated linearly: ``pymannkendall.original_test`` per cell (z and p
   must agree), and esda ``G_Local`` on the flattened space-time cube of a 2,500-cell grid with
   the same space-time weights (z must agree).
3. Darkness of 200,000 incidents vs ``astral.sun.elevation`` called per incident (on a
   subsample, extrapolated); classes must agree except within 0.05 degree of a threshold.

``python -m bench time``; ``BENCH_QUICK=1`` shrinks the inputs for a smoke run.
"""

from __future__ import annotations

import os
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bench.gen import MONTPELLIER_ORIGIN, clustered_incidents

QUICK = os.environ.get("BENCH_QUICK") == "1"


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def line(name, vigie_s, peer_s, target=None, note=""):
    ratio = peer_s / vigie_s if vigie_s > 0 else float("inf")
    tgt = f"  target <= {target:g} s: {'OK' if vigie_s <= target else 'MISSED'}" if target else ""
    print(f"{name:<28} vigie {vigie_s:8.3f} s   peer {peer_s:9.3f} s   peer/vigie {ratio:7.1f}x{tgt}"
          + (f"   ({note})" if note else ""), flush=True)


# --------------------------------------------------------------------------- 1. Knox


def knox_peer(xy, days, s_edges, t_edges, iterations, seed):
    """From scratch per permutation: KD-tree pairs, distances, np.digitize bands, 2-D histogram."""
    from scipy.spatial import cKDTree

    def bands(v, edges):
        k = np.digitize(v, edges, right=True) - 1  # (lo, hi]
        k[v == edges[0]] = 0
        k[(v > edges[-1])] = -1
        return k

    def count(d):
        tree = cKDTree(xy)
        pairs = tree.query_pairs(s_edges[-1], output_type="ndarray")
        i, j = pairs[:, 0], pairs[:, 1]
        sb = bands(np.sqrt(((xy[i] - xy[j]) ** 2).sum(axis=1)), s_edges)
        tb = bands(np.abs(d[i] - d[j]).astype(float), t_edges)
        ok = (sb >= 0) & (tb >= 0)
        h, _, _ = np.histogram2d(sb[ok], tb[ok], bins=[np.arange(len(s_edges)), np.arange(len(t_edges))])
        return h.astype(np.int64).ravel()

    obs = count(days)
    rng = np.random.default_rng(seed)
    sims = np.array([count(days[rng.permutation(len(days))]) for _ in range(iterations)])
    return obs, sims.mean(axis=0), (1 + (sims >= obs).sum(axis=0)) / (1 + iterations)


def bench_knox():
    from layers.nearrepeat import _prepare, knox_test

    n, iterations, seed = (3000, 19, 1) if QUICK else (12000, 99, 1)
    g = clustered_incidents(n, seed=11, extent_m=10000, months=12)
    s_edges, t_edges = np.array([0, 100, 200, 400.0]), np.array([0, 7, 14, 28.0])
    res, t_v = timed(knox_test, g, space_bands=s_edges, time_bands=t_edges, iterations=iterations,
                     seed=seed, tz="Europe/Paris")
    xy, days, _, _ = _prepare(g, tz="Europe/Paris", max_window=pd.Timedelta(days=1), metric="euclidean",
                              space_edges=s_edges)
    (obs, exp, p), t_p = timed(knox_peer, xy, days, s_edges, t_edges, iterations, seed)
    assert np.array_equal(res["observed"].to_numpy(), obs), "observed counts differ"
    assert np.allclose(res["expected"].to_numpy(), exp), "expected counts differ"
    assert np.allclose(res["p"].to_numpy(), p), "p-values differ"
    line(f"knox {n} x {iterations} perms", t_v, t_p, target=4.0,
         note=f"{res.attrs['n_pairs']} pairs within 400 m; counts, expected and p identical")


# --------------------------------------------------------------------------- 2. emerging


def bench_emerging():
    import pymannkendall as mk

    from layers.grid import make_grid, neighbours
    from layers.spacetime import emerging_hotspots, mann_kendall, space_time_gistar

    n = 100_000 if QUICK else 1_000_000
    extent = 20000.0
    g, t_gen = timed(clustered_incidents, n, seed=21, extent_m=extent, months=24)
    x0, y0 = MONTPELLIER_ORIGIN
    area = gpd.GeoSeries([shapely.box(x0, y0, x0 + extent, y0 + extent)], crs=2154)
    grid = make_grid(area, cell_size=100.0)  # 200 x 200 = 40,000 cells
    # periods in UTC so that the generator's 24 UTC months are exactly 24 periods
    out, t_v = timed(emerging_hotspots, g, grid=grid, period="month", tz="UTC")
    n_cells, n_per = len(grid), len(out.attrs["vigie"]["periods"])
    print(f"emerging: {n} incidents, {n_cells} cells x {n_per} months "
          f"(generated in {t_gen:.1f} s); categories: "
          + ", ".join(f"{k} {v}" for k, v in out["category"].value_counts().items()), flush=True)

    # peer 1: pymannkendall per cell on the counts, on a subsample of cells
    cube = out[[c for c in out.columns if c.startswith("n_") and c[2:3].isdigit()]].to_numpy(float)
    rng = np.random.default_rng(0)
    sub = rng.choice(n_cells, 400 if QUICK else 2000, replace=False)
    (_, z_v, p_v), t_mk_v = timed(mann_kendall, cube[sub])
    ref, t_mk = timed(lambda: [mk.original_test(cube[i]) for i in sub])
    assert np.allclose(z_v, [r.z for r in ref], atol=1e-10) and np.allclose(p_v, [r.p for r in ref], atol=1e-10)
    assert np.allclose(out["count_trend_z"].to_numpy()[sub], [r.z for r in ref], atol=1e-10)
    t_mk_all = t_mk * n_cells / len(sub)

    # peer 2: esda G_Local on the flattened cube of a 50 x 50 sub-grid, same space-time weights
    from esda.getisord import G_Local
    from libpysal.weights import WSP
    from scipy import sparse

    small = make_grid(gpd.GeoSeries([shapely.box(x0, y0, x0 + 5000, y0 + 5000)], crs=2154), cell_size=100.0)
    inc_small = g.cx[x0:x0 + 5000, y0:y0 + 5000]
    from layers.spacetime import space_time_cube

    cube_s, _, _ = space_time_cube(inc_small, small, period="month", tz="UTC")
    w = neighbours(small)
    (z_s, _, _), t_gi_v = timed(space_time_gistar, cube_s, w, time_window=1)
    t_band = sparse.diags([np.ones(n_per), np.ones(n_per - 1)], [0, -1])
    big = sparse.kron(t_band, w, format="csr") - sparse.identity(len(small) * n_per, format="csr")
    big.eliminate_zeros()

    def esda_run():
        W = WSP(big.tocsr()).to_W(silence_warnings=True)
        return G_Local(cube_s.T.ravel().astype(float), W, star=True, transform="B", permutations=0)

    ref_g, t_gi = timed(esda_run)
    assert np.allclose(np.asarray(ref_g.Zs).reshape(n_per, -1).T, z_s, atol=1e-8), "Gi* z differ from esda"
    t_gi_all = t_gi * n_cells / len(small)
    line(f"emerging {n // 1000}k x {n_per} x {n_cells}", t_v, t_mk_all + t_gi_all, target=10.0,
         note=f"peer = pymannkendall {t_mk:.2f} s on {len(sub)} cells + esda {t_gi:.2f} s on {len(small)} "
              f"cells, both extrapolated linearly to {n_cells} cells; z, p identical")
    line("  Mann-Kendall only", t_mk_v * n_cells / len(sub), t_mk_all, note="same subsample, extrapolated")
    line("  space-time Gi* only", t_gi_v * n_cells / len(small), t_gi_all, note="same sub-grid, extrapolated")


# --------------------------------------------------------------------------- 3. darkness


def bench_darkness():
    from astral import Observer
    from astral.sun import elevation

    from layers.temporal import darkness, solar_elevation

    n = 20_000 if QUICK else 200_000
    g = clustered_incidents(n, seed=31, months=24).to_crs(4326)
    cls, t_v = timed(darkness, g, tz="Europe/Paris")
    sub = np.random.default_rng(1).choice(n, 2000, replace=False)
    lon, lat = g.geometry.x.to_numpy()[sub], g.geometry.y.to_numpy()[sub]
    when = g["occurred_from"].iloc[sub]

    def astral_loop():
        return np.array([elevation(Observer(latitude=b, longitude=a), t.to_pydatetime(), with_refraction=False)
                         for a, b, t in zip(lon, lat, when)])

    ref, t_p = timed(astral_loop)
    ours = solar_elevation(lon, lat, when)
    ref_cls = np.where(ref > -0.833, "day", np.where(ref > -6, "twilight", "night"))
    near = (np.abs(ref + 0.833) < 0.05) | (np.abs(ref + 6) < 0.05)
    agree = (np.asarray(cls.iloc[sub].astype(str)) == ref_cls) | near
    assert agree.all(), f"{(~agree).sum()} classes differ from astral"
    line(f"darkness {n // 1000}k incidents", t_v, t_p * n / len(sub),
         note=f"astral loop timed on {len(sub)} incidents, extrapolated; max |elevation diff| "
              f"{np.abs(ours - ref).max():.4f} deg; classes identical away from thresholds")


if __name__ == "__main__":
    bench_knox()
    bench_darkness()
    bench_emerging()
