"""Change between two periods (exact conditional test per cell) and the sensitivity of Gi* hot
cells to the cell size and the grid's origin."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import special

from layers.checks import check_metric, check_points
from layers.errors import ParameterError, VigieWarning
from layers.grid import cell_index, make_grid
from layers.hotspots._common import OR_GRID, _grid_for, _meta
from layers.hotspots.counts import _count
from layers.hotspots.gistar import bh_adjust, gistar


def change(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    *,
    grid: gpd.GeoDataFrame | None = None,
    cell_size=None,
    shape: str = "square",
    study_area=None,
    durations=(1.0, 1.0),
    fdr: bool = True,
    alpha: float = 0.05,
) -> gpd.GeoDataFrame:
    """Change in incident counts per cell between two periods, with a significance test.

    Parameters
    ----------
    before, after : GeoDataFrame
        Incidents of the first and second periods (metric CRS, or any CRS with a grid or study area).
    grid, cell_size, shape, study_area
        As in ``gistar`` (default grid over both periods).
    durations : (float, float), default (1, 1)
        Lengths of the two periods (any unit, e.g. days): under no change, the expected share
        of the second period is ``T2 / (T1 + T2)``.
    fdr : bool, default True
        Benjamini-Hochberg correction of the p-values.
    alpha : float, default 0.05
        Level for the ``trend`` label.

    Returns
    -------
    GeoDataFrame
        Cells with ``cell_id``, ``n1``, ``n2`` (incidents per period), ``difference``
        (``n2 - n1``), ``rate_ratio`` (``(n2/T2) / (n1/T1)``, NaN when ``n1 = 0``), ``p``
        (two-sided exact conditional binomial test), ``p_adj`` (BH), ``trend`` ("increase",
        "decrease" or "stable": ``p_adj <= alpha``).

    Notes
    -----
    For two Poisson counts, ``n2`` given ``n1 + n2`` is binomial with probability
    ``T2 / (T1 + T2)`` under equal rates (Przyborowski & Wilenski 1940); the two-sided p-value
    doubles the smaller tail, capped at 1. Cells with no incident in either period get p = 1.
    Sfhotspot's ``hotspot_change`` reports the change without any test.

    References
    ----------
    Przyborowski, J. & Wilenski, H. (1940). Homogeneity of results in testing samples from
    Poisson series. Biometrika 31, 313-323. Benjamini & Hochberg (1995).
    """
    before = check_points(before, "incidents of the first period")
    after = check_points(after, "incidents of the second period")
    try:
        t1, t2 = (float(v) for v in durations)
    except (TypeError, ValueError):
        raise ParameterError("durations must be two positive numbers (T1, T2).", "durations") from None
    if not (t1 > 0 and t2 > 0):
        raise ParameterError("durations must be two positive numbers (T1, T2).", "durations")
    if grid is None:
        if study_area is None:
            check_metric(before, "incidents of the first period", alternative=OR_GRID)
            check_metric(after, "incidents of the second period", alternative=OR_GRID)
        later = after.geometry.to_crs(before.crs) if before.crs is not None and after.crs is not None else after.geometry
        both = gpd.GeoDataFrame(geometry=pd.concat([before.geometry, later], ignore_index=True), crs=before.crs)
        grid = _grid_for(both, grid=None, cell_size=cell_size, shape=shape, study_area=study_area)
    n1 = _count(before, grid, None)["n"].to_numpy()
    n2 = _count(after, grid, None)["n"].to_numpy()
    m = n1 + n2
    p0 = t2 / (t1 + t2)
    lower = special.bdtr(n2, m, p0)  # P(X <= n2)
    upper = np.where(n2 > 0, special.bdtrc(np.maximum(n2 - 1, 0), m, p0), 1.0)  # P(X >= n2)
    p = np.where(m > 0, np.minimum(1.0, 2.0 * np.minimum(lower, upper)), 1.0)
    q = bh_adjust(p) if fdr else p
    out = grid.copy()
    out["n1"], out["n2"] = n1, n2
    out["difference"] = n2 - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_ratio"] = np.where(n1 > 0, (n2 / t2) / (n1 / t1), np.nan)
    out["p"] = p
    out["p_adj"] = q
    expected = m * p0
    out["trend"] = np.where(q <= alpha, np.where(n2 > expected, "increase", "decrease"), "stable")
    out.attrs["vigie"] = _meta(grid, method="change", test="conditional binomial", durations=[t1, t2],
                               fdr=bool(fdr), alpha=alpha,
                               n_increase=int((out["trend"] == "increase").sum()),
                               n_decrease=int((out["trend"] == "decrease").sum()))
    return out


def sensitivity(
    incidents: gpd.GeoDataFrame,
    *,
    cell_size=None,
    shape: str = "square",
    study_area=None,
    distance=None,
    size_factors=(0.75, 1.0, 1.5),
    shifts=((0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)),
    min_bin: int = 2,
    fdr: bool = True,
) -> gpd.GeoDataFrame:
    """Which hot cells stay hot when the cell size and the grid's origin change.

    Gi* is run on the base grid and on every variant (cell size times each of
    ``size_factors``, origin shifted by each of ``shifts`` times the variant's cell size). A
    base cell's ``hot_share`` is the share of the variants (the base excluded) in which its
    centre falls in a hot cell (``bin >= min_bin``).

    Parameters
    ----------
    incidents : GeoDataFrame
        Points: in a metric CRS, or in any CRS when ``grid`` or ``study_area`` (metres) is given.
    cell_size, shape, study_area, distance, fdr
        As in ``gistar`` (``distance`` in metres applies to every variant).
    size_factors : tuple of float, default (0.75, 1, 1.5)
    shifts : tuple of (float, float), default ((0, 0), (0.5, 0), (0, 0.5), (0.5, 0.5))
        Origin shifts as fractions of the cell size.
    min_bin : int, default 2

    Returns
    -------
    GeoDataFrame
        The base Gi* cells (as ``gistar``) plus ``hot`` (bool), ``hot_share`` (0..1) and
        ``stable`` (hot in the base and in at least 75 % of the variants).
        ``attrs["vigie"]["variants"]``: per variant its ``cell_size``, ``shift``, ``n_hot`` and
        ``agreement`` (share of the base's hot cells still hot).

    References
    ----------
    Chainey, S. (2013), Bulletin of the Geographical Society of Liege 60, 7-19 (cell size and
    bandwidth sensitivity). Openshaw, S. (1984). The Modifiable Areal Unit Problem.
    """
    incidents = check_points(incidents)
    base = gistar(incidents, cell_size=cell_size, shape=shape, study_area=study_area, distance=distance, fdr=fdr)
    meta = base.attrs["vigie"]
    cs = float(meta["cell_size"])
    ox, oy = meta["origin"]
    area = study_area
    if area is None:
        check_metric(incidents, alternative=OR_GRID)
        minx, miny, maxx, maxy = incidents.total_bounds
        area = gpd.GeoSeries([shapely.box(minx, miny, maxx + 1e-3, maxy + 1e-3)], crs=incidents.crs)
    c = base.geometry.centroid
    cx, cy = c.x.to_numpy(), c.y.to_numpy()
    is_hot = base["bin"].to_numpy() >= min_bin
    hits = np.zeros(len(base))
    variants = []
    for f in size_factors:
        for sx, sy in shifts:
            if float(f) == 1.0 and float(sx) == 0.0 and float(sy) == 0.0:
                continue
            vcs = cs * float(f)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VigieWarning)
                g = make_grid(area, cell_size=vcs, shape=shape, origin=(ox + sx * vcs, oy + sy * vcs))
            r = gistar(incidents, grid=g, distance=distance, fdr=fdr)
            pos = cell_index(r, cx, cy)
            vhot = np.zeros(len(base), dtype=bool)
            ok = pos >= 0
            vhot[ok] = r["bin"].to_numpy()[pos[ok]] >= min_bin
            hits += vhot
            variants.append({
                "cell_size": vcs, "shift": [float(sx), float(sy)], "n_hot": int((r["bin"] >= min_bin).sum()),
                "agreement": float(vhot[is_hot].mean()) if is_hot.any() else float("nan"),
            })
    out = base
    out["hot"] = is_hot
    out["hot_share"] = hits / max(1, len(variants))
    out["stable"] = is_hot & (out["hot_share"].to_numpy() >= 0.75)
    meta = dict(meta)
    meta.update(method="sensitivity", variants=variants, min_bin=min_bin)
    out.attrs["vigie"] = meta
    return out
