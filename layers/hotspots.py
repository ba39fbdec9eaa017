"""Hotspot statistics on a grid: counts, KDE, Gi* with FDR, local Moran, scale, hotspot areas.

Every function takes incidents (a GeoDataFrame of points in a metric CRS, e.g. from
``layers.crs.to_analysis``) and keyword-only options, and returns a GeoDataFrame of grid cells
(from ``layers.grid.make_grid``) with documented columns. Automatic choices (cell size,
bandwidth, distance band) are returned in ``result.attrs["vigie"]``, never silently.

The array primitives ``gistar_z``, ``bh_adjust`` and ``fdr_bins`` work on plain NumPy arrays and
a sparse weights matrix, so the space-time cube can call them once per period.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse, stats
from scipy.signal import fftconvolve
from scipy.spatial import cKDTree

from layers.errors import InputError, ParameterError, VigieWarning
from layers.filters import Filters, apply_filters
from layers.grid import cell_index, make_grid, neighbours

__all__ = [
    "count_incidents",
    "gistar_z",
    "bh_adjust",
    "fdr_bins",
    "gistar",
]

#: default confidence levels of the Gi* bins (99 %, 95 %, 90 %), as in ArcGIS's Gi_Bin
ALPHA_LEVELS = (0.01, 0.05, 0.10)


# ----------------------------------------------------------------------------------- checks


def _check_points(incidents, *, name: str = "incidents") -> gpd.GeoDataFrame:
    if not isinstance(incidents, gpd.GeoDataFrame):
        raise InputError(f"The {name} must be a GeoDataFrame of points, got {type(incidents).__name__}.")
    if incidents.crs is not None and not incidents.crs.is_projected:
        raise InputError(
            f"The {name} are in {incidents.crs.to_string()}, a geographic CRS (degrees): reproject "
            "them to the analysis CRS in metres first (layers.crs.to_analysis)."
        )
    geom = incidents.geometry
    if len(incidents):
        empty = geom.isna().to_numpy() | geom.is_empty.to_numpy()
        if empty.any():
            rows = np.flatnonzero(empty)[:10] + 1
            raise InputError(
                f"{int(empty.sum())} {name} have no geometry (rows {', '.join(map(str, rows))}…): "
                "drop them or give their coordinates."
            )
        types = set(geom.geom_type.unique())
        if not types <= {"Point"}:
            raise InputError(f"The {name} must be points, got {', '.join(sorted(types))}.")
    return incidents


def _check_grid_crs(incidents: gpd.GeoDataFrame, grid: gpd.GeoDataFrame) -> None:
    if incidents.crs is None or grid.crs is None:
        return
    if not incidents.crs.equals(grid.crs):
        raise InputError(
            f"The incidents are in {incidents.crs.to_string()} and the grid in "
            f"{grid.crs.to_string()}: reproject one to the other (layers.crs.to_analysis)."
        )


def _xy(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    coords = shapely.get_coordinates(gdf.geometry.values)
    return coords[:, 0], coords[:, 1]


def _weights_array(incidents: gpd.GeoDataFrame, weights) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        if weights not in incidents.columns:
            raise ParameterError(
                f"weights column '{weights}' is not in the incidents (columns: "
                f"{', '.join(map(str, incidents.columns))}).",
                "weights",
            )
        w = pd.to_numeric(incidents[weights], errors="coerce").to_numpy(dtype=float)
    else:
        w = np.asarray(weights, dtype=float)
    if w.shape != (len(incidents),):
        raise ParameterError(
            f"weights must give one number per incident ({len(incidents)}), got shape {w.shape}.", "weights"
        )
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        rows = np.flatnonzero(bad)[:10] + 1
        raise ParameterError(
            f"weights must be finite and non-negative; bad at rows {', '.join(map(str, rows))}.", "weights"
        )
    return w


def _prepare(incidents, filters, tz, zac_layer) -> gpd.GeoDataFrame:
    incidents = _check_points(incidents)
    if filters is not None:
        if not isinstance(filters, Filters):
            raise ParameterError("filters must be a layers.filters.Filters (use parse_filters).", "filters")
        incidents = apply_filters(incidents, filters, tz=tz, zac_layer=zac_layer)
    return incidents


def _grid_for(incidents, *, grid, cell_size, shape, study_area, origin=None) -> gpd.GeoDataFrame:
    if grid is not None:
        if not isinstance(grid, gpd.GeoDataFrame) or "cell_id" not in grid.columns:
            raise InputError("grid must be a GeoDataFrame with a 'cell_id' column (layers.grid.make_grid).")
        _check_grid_crs(incidents, grid)
        return grid
    if study_area is None:
        if len(incidents) == 0:
            raise InputError("There are no incidents (after filtering) and no study area to draw a grid on.")
        # the incidents' bounding box, padded by a millimetre so that points on its upper or
        # right edge fall inside a cell (cells are closed on their lower-left sides)
        minx, miny, maxx, maxy = incidents.total_bounds
        area = shapely.box(minx, miny, maxx + 1e-3, maxy + 1e-3)
        study = gpd.GeoSeries([area], crs=incidents.crs)
    else:
        study = study_area
        if isinstance(study, (gpd.GeoDataFrame, gpd.GeoSeries)):
            _check_grid_crs(incidents, study if isinstance(study, gpd.GeoDataFrame) else study.to_frame())
    return make_grid(study, cell_size=cell_size, shape=shape, origin=origin)


def _meta(grid: gpd.GeoDataFrame, **extra) -> dict:
    meta = dict(grid.attrs.get("vigie", {}))
    meta.update(extra)
    return meta


# ----------------------------------------------------------------------------------- counts


def count_incidents(
    incidents: gpd.GeoDataFrame,
    grid: gpd.GeoDataFrame,
    *,
    weights=None,
    filters: Filters | None = None,
    tz: str = "Europe/Paris",
    zac_layer: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Number of incidents in each cell of ``grid``.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points in the grid's (metric) CRS.
    grid : GeoDataFrame
        Cells with ``cell_id`` (``layers.grid.make_grid``).
    weights : str or array-like, optional
        A column name or one non-negative number per incident (e.g. aoristic weights); the
        count becomes a sum of weights.
    filters : Filters, optional
        The store's filters (period, categories, hours, weekdays, ZAC), applied with
        ``layers.filters.apply_filters`` before counting.
    tz : str, default "Europe/Paris"
        Time zone of the ``hours`` / ``weekdays`` filters.
    zac_layer : GeoDataFrame, optional
        ZAC polygons (column ``name``), needed when ``filters.zac`` is set.

    Returns
    -------
    GeoDataFrame
        A copy of ``grid`` with column ``n``: incidents per cell (int64; float64 when
        weighted). ``attrs["vigie"]`` adds ``n_incidents`` (counted) and ``n_outside``
        (incidents outside every cell, not counted).

    Notes
    -----
    Incidents are assigned arithmetically on grids made by ``make_grid`` (a point on an edge
    goes to the cell on its right / above), so a million points count in a fraction of a second.
    """
    incidents = _prepare(incidents, filters, tz, zac_layer)
    if not isinstance(grid, gpd.GeoDataFrame) or "cell_id" not in grid.columns:
        raise InputError("grid must be a GeoDataFrame with a 'cell_id' column (layers.grid.make_grid).")
    _check_grid_crs(incidents, grid)
    w = _weights_array(incidents, weights)
    x, y = _xy(incidents)
    idx = cell_index(grid, x, y)
    inside = idx >= 0
    if w is None:
        n = np.bincount(idx[inside], minlength=len(grid)).astype(np.int64)
    else:
        n = np.bincount(idx[inside], weights=w[inside], minlength=len(grid)).astype(float)
    out = grid.copy()
    out["n"] = n
    out.attrs["vigie"] = _meta(grid, n_incidents=int(inside.sum()), n_outside=int((~inside).sum()))
    return out


# ------------------------------------------------------------------------- array primitives


def gistar_z(y, w) -> tuple[np.ndarray, np.ndarray]:
    """Getis-Ord Gi* z-scores and two-sided p-values, on arrays.

    Parameters
    ----------
    y : array-like of float, shape (n,)
        Value per cell (incident counts, possibly weighted).
    w : scipy.sparse matrix, shape (n, n)
        Binary weights including each cell itself (``layers.grid.neighbours``).

    Returns
    -------
    z : ndarray of float, shape (n,)
        Gi* z-scores (0 where the statistic is undefined: all values equal, or a cell whose
        neighbourhood is the whole grid).
    p : ndarray of float, shape (n,)
        Two-sided p-values under the normal approximation, ``2 * (1 - Phi(|z|))``.

    Notes
    -----
    With binary weights including ``i`` (Ord & Getis 1995, eq. 8)::

        Gi* = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n W_i - W_i^2) / (n - 1)))

    where ``W_i = sum_j w_ij``, ``xbar`` the mean and ``S = sqrt(mean(x^2) - xbar^2)``. The
    result equals ``esda.G_Local(y, w, star=True, transform="B", permutations=0).Zs``. Fully
    vectorised: one sparse product.

    References
    ----------
    Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of distance
    statistics. Geographical Analysis 24(3), 189-206.
    Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics: distributional
    issues and an application. Geographical Analysis 27(4), 286-306.
    """
    y = np.asarray(y, dtype=float).ravel()
    if not sparse.issparse(w):
        w = sparse.csr_matrix(np.asarray(w, dtype=float))
    w = w.tocsr()
    n = len(y)
    if w.shape != (n, n):
        raise ParameterError(f"the weights are {w.shape[0]}x{w.shape[1]} but there are {n} values.", "w")
    if n < 2:
        return np.zeros(n), np.ones(n)
    xbar = y.mean()
    s2 = (y * y).mean() - xbar * xbar
    wi = np.asarray(w.sum(axis=1)).ravel()
    lag = w @ y
    with np.errstate(divide="ignore", invalid="ignore"):
        den = np.sqrt(max(s2, 0.0)) * np.sqrt((n * wi - wi * wi) / (n - 1))
        z = (lag - xbar * wi) / den
    z = np.where(np.isfinite(z) & (den > 0), z, 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    return z, p


def bh_adjust(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values).

    ``p_adj[i] = min_{k >= rank(i)} p_(k) n / k``, capped at 1. A test is significant at false
    discovery rate ``alpha`` exactly when ``p_adj <= alpha``. NaN p-values stay NaN and are not
    counted among the tests.

    References
    ----------
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
    powerful approach to multiple testing. JRSS B 57(1), 289-300.
    """
    p = np.asarray(p, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty(m)
    adj[order] = np.minimum(ranked, 1.0)
    out[ok] = adj
    return out


def fdr_bins(z, p, *, alpha_levels=ALPHA_LEVELS, fdr: bool = True) -> np.ndarray:
    """Confidence bins -3..+3 (ArcGIS Gi_Bin semantics) after an optional BH correction.

    Parameters
    ----------
    z : array-like of float
        z-scores (the sign gives hot, positive, or cold, negative).
    p : array-like of float
        Two-sided p-values.
    alpha_levels : tuple of 3 floats, default (0.01, 0.05, 0.10)
        Levels of bins 3, 2 and 1 (99 %, 95 %, 90 % confidence).
    fdr : bool, default True
        Apply the Benjamini-Hochberg false discovery rate correction (``bh_adjust``) before
        binning. ``False`` bins the raw p-values (sfhotspot's default, not Vigie's).

    Returns
    -------
    ndarray of int8
        ``sign(z) * k`` where ``k`` is 3, 2 or 1 for the smallest level the (adjusted) p-value
        does not exceed, 0 when not significant (or NaN).

    References
    ----------
    Benjamini, Y. & Hochberg, Y. (1995), JRSS B 57(1), 289-300. ArcGIS Pro, "How Hot Spot
    Analysis (Getis-Ord Gi*) works" (Gi_Bin field, FDR correction).
    """
    z = np.asarray(z, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if z.shape != p.shape:
        raise ParameterError(f"z and p have different lengths ({len(z)} and {len(p)}).", "p")
    levels = sorted(float(a) for a in alpha_levels)
    if len(levels) != 3 or not all(0 < a < 1 for a in levels):
        raise ParameterError("alpha_levels must be three levels between 0 and 1.", "alpha_levels")
    q = bh_adjust(p) if fdr else p
    k = np.zeros(len(z), dtype=np.int8)
    ok = np.isfinite(q)
    for level, a in zip((1, 2, 3), reversed(levels)):
        k[ok & (q <= a)] = level
    return (np.sign(np.nan_to_num(z)).astype(np.int8) * k).astype(np.int8)


# -------------------------------------------------------------------------------------- Gi*


def gistar(
    incidents: gpd.GeoDataFrame,
    *,
    grid: gpd.GeoDataFrame | None = None,
    cell_size=None,
    shape: str = "square",
    distance=None,
    fdr: bool = True,
    study_area=None,
    weights=None,
    filters: Filters | None = None,
    tz: str = "Europe/Paris",
    zac_layer: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots of incident counts on a grid.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points in a metric CRS.
    grid : GeoDataFrame, optional
        Cells to use; default ``make_grid(study_area, cell_size=, shape=)``.
    cell_size : float, optional
        Cell size in metres (automatic by default, see ``layers.grid.make_grid``).
    shape : {"square", "hex"}, default "square"
    distance : float or "auto", optional
        Distance band in metres between cell centres; default queen contiguity. ``"auto"``:
        ``choose_scale`` (incremental spatial autocorrelation, ArcGIS Optimized Hot Spot
        Analysis).
    fdr : bool, default True
        Benjamini-Hochberg correction before binning.
    study_area : GeoDataFrame, GeoSeries or geometry, optional
        Where to draw the grid; default the incidents' bounding box.
    weights, filters, tz, zac_layer
        As in ``count_incidents``.

    Returns
    -------
    GeoDataFrame
        The grid with ``cell_id``, ``n`` (incidents), ``z`` (Gi* z-score), ``p`` (two-sided),
        ``p_adj`` (BH-adjusted p; equal to ``p`` when ``fdr=False``), ``bin`` (int -3..+3:
        cold/hot at 99/95/90 % confidence after correction). ``attrs["vigie"]``: the grid's
        choices plus ``neighbourhood`` ("queen" or a distance in m), ``distance_auto``,
        ``fdr``, ``n_incidents``.

    Notes
    -----
    The statistic is ``gistar_z`` (binary weights including the cell itself). Sfhotspot applies
    no multiple-testing correction by default and esda's ``fdr`` only returns a cut-off; Vigie
    corrects by default and says so in ``attrs``.

    References
    ----------
    Getis & Ord (1992); Ord & Getis (1995); Benjamini & Hochberg (1995); Chainey, S. (2013).
    Examining the influence of cell size and bandwidth size on kernel density estimation crime
    hotspot maps. ArcGIS Pro, "Optimized Hot Spot Analysis".
    """
    incidents = _prepare(incidents, filters, tz, zac_layer)
    grid = _grid_for(incidents, grid=grid, cell_size=cell_size, shape=shape, study_area=study_area)
    counts = count_incidents(incidents, grid, weights=weights)
    distance_auto = False
    scale = None
    if isinstance(distance, str):
        if distance != "auto":
            raise ParameterError(f"distance must be a number of metres or 'auto', got {distance!r}.", "distance")
        scale = choose_scale(incidents, grid=grid)
        distance, distance_auto = scale["distance"], True
    w = neighbours(grid, distance=distance)
    y = counts["n"].to_numpy(dtype=float)
    z, p = gistar_z(y, w)
    out = counts
    out["z"] = z
    out["p"] = p
    out["p_adj"] = bh_adjust(p) if fdr else p
    out["bin"] = fdr_bins(z, p, fdr=fdr)
    meta = _meta(
        counts,
        method="gistar",
        neighbourhood="queen" if distance is None else float(distance),
        distance_auto=distance_auto,
        fdr=bool(fdr),
        correction="Benjamini-Hochberg" if fdr else "none",
        n_hot=int((out["bin"] >= 2).sum()),
        n_cold=int((out["bin"] <= -2).sum()),
    )
    if scale is not None:
        meta["scale"] = {k: v for k, v in scale.items() if k != "bands"}
    out.attrs["vigie"] = meta
    return out
