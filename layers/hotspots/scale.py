"""Automatic distance band for Gi*: incremental spatial autocorrelation (global Moran's I z by
distance band), with a k-nearest-neighbour fallback."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from layers.checks import check_points
from layers.errors import InputError
from layers.hotspots._common import _grid_for, _xy
from layers.hotspots.counts import _count

#: ArcGIS Optimized Hot Spot Analysis needs at least this many incidents
MIN_INCIDENTS_SCALE = 30


def _moran_global_z(y: np.ndarray, w: sparse.csr_matrix) -> tuple[float, float]:
    """Global Moran's I and its z under randomisation, binary symmetric weights without self
    (``esda.Moran(y, w, transformation="B").I`` and ``.z_rand``)."""
    n = len(y)
    z = y - y.mean()
    s0 = float(w.sum())
    m2 = float((z * z).sum())
    if s0 == 0 or m2 == 0:
        return 0.0, 0.0
    I = n / s0 * float(z @ (w @ z)) / m2
    s1 = 2.0 * s0  # binary symmetric: sum (w_ij + w_ji)² / 2
    rs = np.asarray(w.sum(axis=1)).ravel()
    s2 = float(((2 * rs) ** 2).sum())
    ei = -1.0 / (n - 1)
    k = (n * float((z**4).sum())) / (m2 * m2)  # kurtosis
    a = n * ((n * n - 3 * n + 3) * s1 - n * s2 + 3 * s0 * s0)
    b = k * ((n * n - n) * s1 - 2 * n * s2 + 6 * s0 * s0)
    vi = (a - b) / ((n - 1) * (n - 2) * (n - 3) * s0 * s0) - ei * ei
    return I, (I - ei) / math.sqrt(vi) if vi > 0 else 0.0


def choose_scale(
    incidents: gpd.GeoDataFrame,
    *,
    grid: gpd.GeoDataFrame | None = None,
    cell_size=None,
    shape: str = "square",
    study_area=None,
    n_bands: int = 10,
    start=None,
    increment=None,
) -> dict:
    """Automatic distance band (metres) for Gi*: incremental spatial autocorrelation.

    Global Moran's I z-score (randomisation) of the cell counts is computed for ``n_bands``
    increasing distance bands ``start + k * increment``; the first band whose z is a local
    maximum and significant (z >= 1.96) is the scale. Without such a peak, the scale is the
    mean distance from each incident to its k-th nearest neighbour, ``k = 5 %`` of the incidents
    clamped to [3, 30].

    Parameters
    ----------
    incidents : GeoDataFrame
        At least 30 points (any CRS when ``grid`` or ``study_area`` is given, else metric).
    grid, cell_size, shape, study_area
        As in ``gistar``.
    n_bands : int, default 10
    start : float, optional
        First band (m); default the cell size (every cell has neighbours).
    increment : float, optional
        Band step (m); default half the cell size.

    Returns
    -------
    dict
        ``distance`` (m), ``method`` ("peak" or "knn"), ``bands`` (list of ``{"distance",
        "I", "z"}``), ``k`` (for "knn"), ``n_incidents``.

    Raises
    ------
    InputError
        Fewer than 30 incidents.

    References
    ----------
    ArcGIS Pro, "How Optimized Hot Spot Analysis works" and "Incremental Spatial
    Autocorrelation". Moran, P. A. P. (1950). Notes on continuous stochastic phenomena.
    Biometrika 37, 17-23.
    """
    incidents = check_points(incidents)
    N = len(incidents)
    if N < MIN_INCIDENTS_SCALE:
        raise InputError(
            f"at least {MIN_INCIDENTS_SCALE} incidents are needed to choose the scale "
            f"automatically, got {N}: widen the period or the categories, or give a distance."
        )
    grid = _grid_for(incidents, grid=grid, cell_size=cell_size, shape=shape, study_area=study_area)
    counts = _count(incidents, grid, None)
    y = counts["n"].to_numpy(dtype=float)
    cs = float(grid.attrs.get("vigie", {}).get("cell_size") or math.sqrt(grid.geometry.area.median()))
    start = cs if start is None else float(start)
    increment = cs / 2.0 if increment is None else float(increment)
    c = grid.geometry.centroid
    tree = cKDTree(np.column_stack([c.x.to_numpy(), c.y.to_numpy()]))
    dmax = start + (n_bands - 1) * increment
    pairs = tree.query_pairs(dmax * (1 + 1e-9), output_type="ndarray")
    dist = np.hypot(*(tree.data[pairs[:, 0]] - tree.data[pairs[:, 1]]).T) if len(pairs) else np.zeros(0)
    bands = []
    n = len(y)
    for kb in range(n_bands):
        d = start + kb * increment
        sel = dist <= d * (1 + 1e-9)
        i, j = pairs[sel, 0], pairs[sel, 1]
        w = sparse.csr_matrix((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n))
        I, z = _moran_global_z(y, w)
        bands.append({"distance": float(d), "I": float(I), "z": float(z)})
    zs = [b["z"] for b in bands]
    for kb in range(len(zs)):
        left = zs[kb - 1] if kb > 0 else -np.inf
        right = zs[kb + 1] if kb + 1 < len(zs) else np.inf  # the last band is no peak
        if zs[kb] >= 1.96 and zs[kb] > left and zs[kb] > right:
            return {"distance": bands[kb]["distance"], "method": "peak", "bands": bands,
                    "k": None, "n_incidents": N}
    k = int(min(30, max(3, round(0.05 * N))))
    x, yy = _xy(incidents, grid.crs)
    dk, _ = cKDTree(np.column_stack([x, yy])).query(np.column_stack([x, yy]), k=k + 1)
    d = float(dk[:, k].mean())
    if not d > 0:
        d = cs
    return {"distance": d, "method": "knn", "bands": bands, "k": k, "n_incidents": N}
