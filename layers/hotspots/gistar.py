"""Getis-Ord Gi* hot and cold spots, with the Benjamini-Hochberg correction and confidence bins.

``gistar_z``, ``bh_adjust`` and ``fdr_bins`` work on plain arrays and a sparse weights matrix
(the space-time cube calls them once per period); ``gistar`` and ``gistar_counts`` on grids.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
from scipy import sparse, special

from layers.checks import check_same_length
from layers.errors import InputError, ParameterError
from layers.filters import Filters
from layers.grid import neighbours
from layers.hotspots._common import _grid_for, _meta, _prepare
from layers.hotspots.counts import _count
from layers.hotspots.scale import choose_scale

#: default confidence levels of the Gi* bins (99 %, 95 %, 90 %), as in ArcGIS's Gi_Bin
ALPHA_LEVELS = (0.01, 0.05, 0.10)


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
        Points: in a metric CRS, or in any CRS when ``grid`` or ``study_area`` (metres) is given.
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

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from layers.grid import make_grid
    >>> grid = make_grid(shapely.box(0, 0, 1100, 1100), cell_size=100)
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([550] * 40, [550] * 40))
    >>> cells = gistar(pts, grid=grid)
    >>> sorted(cells.loc[cells["bin"] == 3, "cell_id"])  # the full cell and its 8 neighbours
    [48, 49, 50, 59, 60, 61, 70, 71, 72]
    """
    incidents = _prepare(incidents, filters, tz, zac_layer)
    grid = _grid_for(incidents, grid=grid, cell_size=cell_size, shape=shape, study_area=study_area)
    counts = _count(incidents, grid, weights)
    scale = None
    if isinstance(distance, str):
        if distance != "auto":
            raise ParameterError(f"distance must be a number of metres or 'auto', got {distance!r}.", "distance")
        scale = choose_scale(incidents, grid=grid)
    out = gistar_counts(counts, distance=scale["distance"] if scale else distance, fdr=fdr)
    if scale is not None:
        out.attrs["vigie"]["distance_auto"] = True
        out.attrs["vigie"]["scale"] = {k: v for k, v in scale.items() if k != "bands"}
    return out


def gistar_counts(counts: gpd.GeoDataFrame, *, distance=None, fdr: bool = True) -> gpd.GeoDataFrame:
    """Gi* of a grid whose column ``n`` already holds the counts: the fast path of ``gistar``
    for callers that count themselves (``count_xy``).

    Parameters
    ----------
    counts : GeoDataFrame
        Grid cells with ``cell_id`` and ``n`` (incidents per cell), e.g. from ``count_xy``.
    distance : float, optional
        Distance band in metres between cell centres; default queen contiguity (``"auto"``
        needs the points: use ``gistar``).
    fdr : bool, default True
        Benjamini-Hochberg correction before binning.

    Returns
    -------
    GeoDataFrame
        A copy of ``counts`` with the columns and ``attrs["vigie"]`` of ``gistar``: ``z``,
        ``p``, ``p_adj``, ``bin`` (-3..+3).

    References
    ----------
    Getis & Ord (1992); Ord & Getis (1995); Benjamini & Hochberg (1995).
    """
    if not isinstance(counts, gpd.GeoDataFrame) or not {"cell_id", "n"} <= set(counts.columns):
        raise InputError("counts must be a grid with 'cell_id' and 'n' (count_incidents or count_xy).")
    if isinstance(distance, str):
        raise ParameterError("gistar_counts needs a distance in metres or None; use gistar for 'auto'.", "distance")
    attrs = counts.attrs
    counts = counts.copy()
    counts.attrs = dict(attrs)
    w = neighbours(counts, distance=distance)
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
        distance_auto=False,
        fdr=bool(fdr),
        correction="Benjamini-Hochberg" if fdr else "none",
        n_hot=int((out["bin"] >= 2).sum()),
        n_cold=int((out["bin"] <= -2).sum()),
    )
    out.attrs["vigie"] = meta
    return out


def _binary_csr(w) -> sparse.csr_matrix:
    """``w`` as a CSR matrix of ones (every stored non-zero weight counts 1, as esda's
    ``transform="B"``). Matrices from ``layers.grid.neighbours`` are used as they are."""
    if getattr(w, "_vigie_binary", False):
        return w
    if not sparse.issparse(w):
        w = sparse.csr_matrix(np.asarray(w, dtype=float))
    w = sparse.csr_matrix(w, dtype=float, copy=True)
    w.eliminate_zeros()
    w.data[:] = 1.0
    w.sort_indices()
    return w


def gistar_z(y, w) -> tuple[np.ndarray, np.ndarray]:
    """Getis-Ord Gi* z-scores and two-sided p-values, on arrays.

    Parameters
    ----------
    y : array-like of float, shape (n,)
        Value per cell (incident counts, possibly weighted).
    w : scipy.sparse matrix, shape (n, n)
        Binary weights including each cell itself (``layers.grid.neighbours``); any other
        stored non-zero weight counts as 1 (esda's ``transform="B"``).

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

    Examples
    --------
    esda's ``G_Local`` worked example (distance band 15, binary, star):

    >>> import geopandas as gpd
    >>> from layers.grid import neighbours
    >>> pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([10, 20, 40, 15, 30, 30], [10, 10, 10, 20, 20, 30]))
    >>> z, p = gistar_z([2, 3, 3.2, 5, 8, 7], neighbours(pts, distance=15))
    >>> np.round(z, 4).tolist()
    [-1.3973, -0.2892, 0.6506, -0.2892, 1.2345, 2.0242]
    """
    y = np.asarray(y, dtype=float).ravel()
    w = _binary_csr(w)
    n = len(y)
    if w.shape != (n, n):
        raise ParameterError(f"the weights are {w.shape[0]}x{w.shape[1]} but there are {n} values.", "w")
    if n < 2:
        return np.zeros(n), np.ones(n)
    xbar = y.mean()
    s2 = (y * y).mean() - xbar * xbar
    wi = np.diff(w.indptr).astype(float)  # binary: W_i = number of neighbours (self included)
    lag = w @ y
    den = np.sqrt(max(s2, 0.0)) * np.sqrt((n * wi - wi * wi) / (n - 1))
    z = np.zeros(n)
    np.divide(lag - xbar * wi, den, out=z, where=den > 1e-12 * max(1.0, abs(xbar)))
    # two-sided p = 2 (1 - Phi(|z|)) = erfc(|z| / sqrt 2); scipy.special, as scipy.stats
    # takes seconds to import
    p = special.erfc(np.abs(z) * (1.0 / math.sqrt(2.0)))
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
    check_same_length(z=z, p=p)
    levels = sorted(float(a) for a in alpha_levels)
    if len(levels) != 3 or not all(0 < a < 1 for a in levels):
        raise ParameterError("alpha_levels must be three levels between 0 and 1.", "alpha_levels")
    q = bh_adjust(p) if fdr else p
    k = np.zeros(len(z), dtype=np.int8)
    ok = np.isfinite(q)
    for level, a in zip((1, 2, 3), reversed(levels)):
        k[ok & (q <= a)] = level
    return (np.sign(np.nan_to_num(z)).astype(np.int8) * k).astype(np.int8)
