"""Local Moran's I (LISA) with conditional-permutation pseudo p-values."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from layers.errors import ParameterError
from layers.filters import Filters
from layers.grid import neighbours
from layers.hotspots._common import _grid_for, _meta, _prepare
from layers.hotspots.counts import _count

QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}


def _row_standardise(w: sparse.csr_matrix) -> sparse.csr_matrix:
    wi = np.asarray(w.sum(axis=1)).ravel()
    with np.errstate(divide="ignore"):
        inv = np.where(wi > 0, 1.0 / wi, 0.0)
    return sparse.diags(inv) @ w


def _draws_without_replacement(rng, rows: int, n: int, k: int) -> np.ndarray:
    """``rows`` rows of ``k`` distinct integers in ``[0, n)`` (vectorised rejection)."""
    if n <= 4 * k:
        return np.argsort(rng.random((rows, n)), axis=1)[:, :k]
    out = rng.integers(0, n, size=(rows, k))
    while True:
        srt = np.sort(out, axis=1)
        dup = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
        if not dup.any():
            return out
        out[dup] = rng.integers(0, n, size=(int(dup.sum()), k))


def _larger_equal_weights(z, lag, k, rids, *, chunk: int) -> np.ndarray:
    """Per cell, the number of permutations whose lag is at least the observed one (signed by
    z_i), when cell i's neighbours all weigh 1/k_i.

    The draw table ``rids`` (permutations x k_max, among n-1 indices) is shared by all cells;
    for cell i an index r >= i stands for cell r + 1. So the random lag of i is
    ``(S[p, k_i] + C_k[p, i]) / k_i`` with ``S`` the prefix sums of ``z[rids]`` and ``C_k[p, i]``
    the sum over the first k draws with ``rids >= i`` of ``z[r + 1] - z[r]`` -- a reverse
    cumulative sum over i. Cost O(permutations x n) per distinct k, without the
    (n x permutations x k) gather.
    """
    n = len(z)
    perms = rids.shape[0]
    a_vals = z[rids]  # (perms, kmax)
    d_vals = z[np.minimum(rids + 1, n - 1)] - a_vals
    prefix = np.concatenate([np.zeros((perms, 1)), np.cumsum(a_vals, axis=1)], axis=1)
    sign = np.sign(z)
    larger = np.zeros(n, dtype=np.int64)
    for kv in np.unique(k):
        if kv == 0:
            continue
        cells = np.flatnonzero(k == kv)
        for a in range(0, perms, chunk):
            b = min(perms, a + chunk)
            m = np.zeros((b - a, n))
            rows = np.arange(b - a)[:, None]
            m[rows, rids[a:b, :kv]] = d_vals[a:b, :kv]  # distinct within a row: no collisions
            c = np.cumsum(m[:, ::-1], axis=1)[:, ::-1]  # c[p, i] = sum over r >= i
            sim = (prefix[a:b, kv][:, None] + c[:, cells]) / kv
            diff = (sim - lag[cells][None, :]) * sign[cells][None, :]
            larger[cells] += (diff >= -1e-9).sum(axis=0)
    return larger


def _larger_general(z, lag, w, k, rids, *, chunk: int) -> np.ndarray:
    """As ``_larger_equal_weights`` for any row weights (gathers the draws cell by cell)."""
    n = len(z)
    kmax = rids.shape[1]
    wvals = np.zeros((n, kmax))
    rows = np.repeat(np.arange(n), k)
    pos = np.arange(len(w.data)) - np.repeat(w.indptr[:-1], k)
    wvals[rows, pos] = w.data
    larger = np.zeros(n, dtype=np.int64)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        ids = np.arange(a, b)
        kk = max(1, int(k[a:b].max()))
        draws = rids[None, :, :kk]
        draws = draws + (draws >= ids[:, None, None])  # skip cell i itself
        zlag = np.einsum("cpk,ck->cp", z[draws], wvals[a:b, :kk])
        # I_sim >= I  <=>  z_i * (lag_sim - lag_i) >= 0; exact ties (frequent with counts) are
        # counted as "larger" whatever the rounding of the sums (tolerance 1e-9)
        diff = (zlag - lag[a:b, None]) * np.sign(z[a:b, None])
        larger[a:b] = (diff >= -1e-9).sum(axis=1)
    return larger


def local_moran_arrays(y, w, *, permutations: int = 999, seed=None, chunk: int = 2000):
    """Local Moran's I with conditional-permutation pseudo p-values, on arrays.

    Parameters
    ----------
    y : array-like of float, shape (n,)
    w : scipy.sparse matrix, shape (n, n)
        Binary weights; the diagonal (self) is dropped and the rows standardised, as esda's
        ``Moran_Local`` default (``transformation="r"``).
    permutations : int, default 999
    seed : int, optional
        Seed of ``numpy.random.default_rng``.
    chunk : int
        Cells per vectorised block (memory ``chunk * permutations * max_neighbours`` floats).

    Returns
    -------
    I : ndarray (n,)
        Local Moran's I, ``(n - 1) z_i sum_j w_ij z_j / sum_k z_k²`` with ``z`` standardised.
    q : ndarray of int (n,)
        Quadrant 1 HH, 2 LH, 3 LL, 4 HL (esda's codes).
    p : ndarray (n,)
        Folded one-sided pseudo p-value ``(min(larger, perms - larger) + 1) / (perms + 1)``.

    Notes
    -----
    Conditional randomisation (Anselin 1995): cell ``i`` keeps its value and its ``k_i``
    neighbours are drawn without replacement among the other ``n - 1`` cells. As in esda, one
    table of draws (``permutations x max k``) is shared by all cells and shifted past ``i``;
    all cells are then evaluated at once with NumPy (no Python loop over cells). Exact ties
    between a simulated and the observed I count as "larger"; a cell whose value equals the mean
    (I = 0) gets p = 1.

    References
    ----------
    Anselin, L. (1995). Local indicators of spatial association - LISA. Geographical Analysis
    27(2), 93-115.
    """
    y = np.asarray(y, dtype=float).ravel()
    n = len(y)
    w = sparse.csr_matrix(w, dtype=float)
    w = w - sparse.diags(w.diagonal())
    w.eliminate_zeros()
    w = _row_standardise(w).tocsr()
    w.sort_indices()  # same summation order as esda: quadrants agree even when the lag is ~0
    sd = y.std()
    z = (y - y.mean()) / sd if sd > 0 else np.zeros(n)
    den = (z * z).sum()
    lag = w @ z
    with np.errstate(divide="ignore", invalid="ignore"):
        I = np.where(den > 0, (n - 1) * z * lag / den, 0.0)
    zp, lp = z > 0, lag > 0
    q = np.where(zp & lp, 1, np.where(~zp & lp, 2, np.where(~zp & ~lp, 3, 4))).astype(np.int8)
    if not permutations or n < 3 or den == 0:
        return I, q, np.full(n, np.nan)
    permutations = int(permutations)
    k = np.diff(w.indptr)
    kmax = int(k.max())
    rng = np.random.default_rng(seed)
    # each row: kmax distinct indices among n-1 (shared by all cells, shifted past i)
    rids = _draws_without_replacement(rng, permutations, n - 1, kmax)
    # row-standardised binary weights: every neighbour of i weighs 1/k_i -> prefix-sum path
    equal = np.allclose(w.data, np.repeat(1.0 / np.maximum(k, 1), k))
    if equal:
        larger = _larger_equal_weights(z, lag, k, rids, chunk=max(1, chunk // 20))
    else:
        larger = _larger_general(z, lag, w, k, rids, chunk=chunk)
    low = (permutations - larger) < larger
    larger = np.where(low, permutations - larger, larger)
    p = (larger + 1.0) / (permutations + 1.0)
    p[z == 0] = 1.0  # I = 0 exactly: no evidence either way (esda would give 1/(perms+1))
    return I, q, p


def lisa(
    incidents: gpd.GeoDataFrame,
    *,
    grid: gpd.GeoDataFrame | None = None,
    cell_size=None,
    shape: str = "square",
    distance=None,
    study_area=None,
    permutations: int = 999,
    seed: int | None = 0,
    alpha: float = 0.05,
    weights=None,
    filters: Filters | None = None,
    tz: str = "Europe/Paris",
    zac_layer: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Local Moran's I (LISA) of incident counts: high-high clusters, low-low, and outliers.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points: in a metric CRS, or in any CRS when ``grid`` or ``study_area`` (metres) is given.
    grid, cell_size, shape, distance, study_area
        As in ``gistar`` (queen contiguity by default; the cell itself is excluded here).
    permutations : int, default 999
        Conditional permutations for the pseudo p-value.
    seed : int, default 0
        Seed of the permutations (results are reproducible).
    alpha : float, default 0.05
        Cells with ``p <= alpha`` get their quadrant in ``cluster``; others get "ns".
    weights, filters, tz, zac_layer
        As in ``count_incidents``.

    Returns
    -------
    GeoDataFrame
        The grid with ``cell_id``, ``n``, ``I`` (local Moran's I), ``quadrant`` ("HH", "LH",
        "LL", "HL"), ``p`` (pseudo p-value, folded one-sided, as esda's ``p_sim``), ``cluster``
        (quadrant when ``p <= alpha``, else "ns").

    Notes
    -----
    Row-standardised weights without the cell itself (esda's ``Moran_Local`` default). I and
    quadrants equal esda's; pseudo p-values agree within Monte Carlo error (the random draws
    differ). No multiple-testing correction: the pseudo p-values have a floor of
    ``1 / (permutations + 1)``.

    References
    ----------
    Anselin, L. (1995). Local indicators of spatial association - LISA. Geographical Analysis
    27(2), 93-115.
    """
    incidents = _prepare(incidents, filters, tz, zac_layer)
    try:
        permutations = int(permutations)
    except (TypeError, ValueError):
        raise ParameterError(f"permutations must be a whole number, got {permutations!r}.", "permutations") from None
    if permutations < 0:
        raise ParameterError("permutations must be 0 or more.", "permutations")
    grid = _grid_for(incidents, grid=grid, cell_size=cell_size, shape=shape, study_area=study_area)
    counts = _count(incidents, grid, weights)
    w = neighbours(grid, distance=distance)
    I, q, p = local_moran_arrays(counts["n"].to_numpy(dtype=float), w, permutations=permutations, seed=seed)
    out = counts
    out["I"] = I
    quad = np.array([QUADRANTS[int(v)] for v in range(1, 5)], dtype=object)[q - 1]
    out["quadrant"] = pd.array(quad, dtype="str")
    out["p"] = p
    out["cluster"] = np.where(p <= alpha, quad, "ns")
    out.attrs["vigie"] = _meta(
        counts,
        method="lisa",
        neighbourhood="queen" if distance is None else float(distance),
        permutations=permutations,
        seed=seed,
        alpha=alpha,
    )
    return out
