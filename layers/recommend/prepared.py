"""CCTV and lamp proposals prepared once for many selections of the same incidents.

A dashboard asks for proposals under many filters (categories, period, hours…) over one stored
set of incidents. What does not depend on the filter is built once (``prepare_cameras``,
``prepare_lamps``): each incident's demand point, the candidate lattice over all the
incidents, the sparse coverage of demand by candidates (``coverage_matrix``), and what the
existing cameras and the working lamps already cover. A selection then only picks rows of
these matrices, reweights them and runs the covering solver
(:func:`layers.recommend.covering.solve_max_cover`).

The sites and counts are the ones :func:`layers.recommend.site_cameras` and
:func:`layers.recommend.propose_lamps` give on the same incidents as a GeoDataFrame with
lattice candidates (``candidates=None``): the lattice is aligned on multiples of its spacing, so
the lattice of a selection is part of the lattice of all the incidents, in the same order, and a
lattice point the selection would not have made covers none of its demand (cameras) or is
masked out (lamps: only points closer than 1.5 × spacing to an unlit night incident of the
selection are candidates, as in ``propose_lamps``). The candidate numbers (``candidate``) count
the lattice of all the incidents.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from scipy import sparse
from scipy.spatial import cKDTree

from layers.columns import IncidentColumns
from layers.errors import InputError, ParameterError
from layers.recommend._common import _to, _xy, recency_weights, situational_categories
from layers.recommend.cctv import (
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_RADIUS_M,
    _chosen_sites,
    _column,
    _grid_xy,
    coverage_matrix,
)
from layers.recommend.covering import METHODS, _group_identical, solve_max_cover
from layers.recommend.lighting import DEFAULT_LAMP_REACH_M, _chosen_lamps, working_lamps
from layers.registry import Taxonomy, default_taxonomy

__all__ = ["PreparedCameras", "PreparedLamps", "prepare_cameras", "prepare_lamps", "propose_lamps_prepared",
           "site_cameras_prepared"]


def _pattern(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """``m``'s nonzero pattern with one-byte values (a third of the memory of float64 data)."""
    m = m.tocsr()
    return sparse.csr_matrix((np.ones(m.nnz, dtype=np.int8), m.indices.astype(np.int32), m.indptr),
                             shape=m.shape)


def _unique_rows(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(xy, axis=0, return_inverse=True)`` of an (n, 2) float array (the rows in
    lexicographic order), by one ``lexsort``."""
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    s = xy[order]
    new = np.r_[True, (s[1:] != s[:-1]).any(axis=1)]
    inv = np.empty(len(xy), dtype=np.int32)
    inv[order] = np.cumsum(new) - 1
    return s[new], inv


def _check_columns(columns, darkness) -> np.ndarray:
    if not isinstance(columns, IncidentColumns):
        raise ParameterError("columns must be a layers.columns.IncidentColumns.", "columns")
    if columns.crs is None:
        raise ParameterError("the incident columns have no analysis CRS: build them with crs=<metric CRS>.", "crs")
    dark = np.asarray(darkness, dtype=np.int8)
    if dark.shape != (len(columns),):
        raise ParameterError(f"darkness has {len(dark)} values for {len(columns)} incidents.", "darkness")
    return dark


def _times(t: np.ndarray) -> pd.Series:
    """int64 nanoseconds UTC as the tz-aware Series ``recency_weights`` takes."""
    return pd.Series(pd.DatetimeIndex(t.view("M8[ns]")).tz_localize("UTC"))


def _category_rows(columns: IncidentColumns, rows, cats) -> np.ndarray:
    """``rows`` (positions) whose category is in ``cats``, in their order."""
    rows = np.asarray(rows, dtype=np.int64)
    ok = np.array([c in cats for c in columns.categories] + [False])  # code -1: no category
    return rows[ok[columns.category[rows]]]


def _names(columns: IncidentColumns, rows) -> np.ndarray:
    return np.array(list(columns.categories) + [None], dtype=object)[columns.category[rows]]


@dataclass(frozen=True, eq=False)
class PreparedCameras:
    """What :func:`site_cameras_prepared` reuses across selections (``prepare_cameras``).

    Attributes
    ----------
    columns : IncidentColumns
        The incidents (``x``, ``y`` in metres of ``columns.crs``).
    darkness : int8 array
        Day 0, twilight 1, night 2, unknown -1 per incident (``layers.temporal.darkness``).
    point : int32 array
        Demand point of each incident (incidents at the same place to 0.1 m share one; -1: no
        coordinates), numbered in the order of ``np.unique`` on the rounded coordinates.
    sites : (n, 2) float array
        Lattice candidates (cell centres of ``radius_m`` cells), metres.
    cover : CSR matrix, points × sites
        Pattern of ``coverage_matrix(points, sites, radius=radius_m)``.
    groups : int32 array
        Per demand point, a label shared by the points covered by the same sites.
    locked : bool array
        Demand points an existing camera sees.
    existing_xy : (m, 2) float array
        Existing cameras, metres.
    radius_m : float
        Range of a new camera, metres.
    """

    columns: IncidentColumns
    darkness: np.ndarray
    point: np.ndarray
    sites: np.ndarray
    cover: sparse.csr_matrix
    groups: np.ndarray
    locked: np.ndarray
    existing_xy: np.ndarray
    radius_m: float

    @property
    def nbytes(self) -> int:
        """Memory of the prepared arrays, bytes (the incident columns apart)."""
        c = self.cover
        return int(self.point.nbytes + self.sites.nbytes + c.data.nbytes + c.indices.nbytes + c.indptr.nbytes
                   + self.groups.nbytes + self.locked.nbytes + self.existing_xy.nbytes)


def prepare_cameras(columns: IncidentColumns, darkness, *, existing: gpd.GeoDataFrame | None = None,
                    radius_m: float = DEFAULT_RADIUS_M) -> PreparedCameras:
    """Prepare CCTV siting over all ``columns`` (see :class:`PreparedCameras`).

    Parameters
    ----------
    columns : IncidentColumns
        Every incident a selection may take, with ``crs`` the metric analysis CRS.
    darkness : array of int
        Darkness class of each incident (0 day, 1 twilight, 2 night, -1 unknown).
    existing : GeoDataFrame, optional
        Existing cameras (``range_m``, ``bearing``, ``fov`` used when present), any CRS.
    radius_m : float, default 100
        Range of a new camera, metres (also the lattice spacing).

    Returns
    -------
    PreparedCameras
        About 20 bytes per incident on clustered city data (a point number, a few nonzeros).
    """
    dark = _check_columns(columns, darkness)
    radius = float(radius_m)
    if not radius > 0:
        raise ParameterError(f"radius_m must be a positive number of metres, got {radius_m}.", "radius_m")
    xy = np.column_stack([columns.x, columns.y])
    ok = np.isfinite(xy).all(axis=1)
    point = np.full(len(xy), -1, dtype=np.int32)
    if ok.any():
        uniq, inv = _unique_rows(np.round(xy[ok], 1))
        point[ok] = inv
        sites = _grid_xy(uniq, radius)
        cover = _pattern(coverage_matrix(uniq, sites, radius=radius))
    else:
        uniq, sites = np.empty((0, 2)), np.empty((0, 2))
        cover = _pattern(sparse.csr_matrix((0, 0)))
    locked = np.zeros(len(uniq), dtype=bool)
    ex_xy = np.empty((0, 2))
    if existing is not None and len(existing):
        ex = _to(existing, columns.crs)
        ex_xy = _xy(ex)
        r_ex = _column(ex, "range_m", np.nan)
        r_ex = np.where(np.isfinite(r_ex) & (r_ex > 0), r_ex, radius)
        ex_cover = coverage_matrix(uniq, ex_xy, radius=r_ex, bearing=_column(ex, "bearing", np.nan),
                                   fov=_column(ex, "fov", np.nan))
        locked = np.diff(ex_cover.indptr) > 0
    return PreparedCameras(columns=columns, darkness=dark, point=point, sites=sites, cover=cover,
                           groups=_group_identical(cover).astype(np.int32), locked=locked, existing_xy=ex_xy,
                           radius_m=radius)


def _check_solve(method, k):
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}, got '{method}'.", "method")
    if k is None or int(k) != k or k < 1:
        raise ParameterError(f"k must be a whole number of at least 1, got {k}.", "k")


def site_cameras_prepared(
    prepared: PreparedCameras,
    rows,
    *,
    k: int,
    recency_half_life_days: float | None = DEFAULT_HALF_LIFE_DAYS,
    reference=None,
    include_sensitive: bool = False,
    categories=None,
    taxonomy: Taxonomy | None = None,
    time_limit_s: float = 30.0,
    method: str = "greedy",
    bound: bool = True,
) -> gpd.GeoDataFrame:
    """:func:`layers.recommend.site_cameras` on the incidents ``rows`` of a preparation.

    Parameters
    ----------
    prepared : PreparedCameras
        From :func:`prepare_cameras`.
    rows : array of int
        Positions of the selected incidents in ``prepared.columns``.
    k, recency_half_life_days, reference, include_sensitive, categories, taxonomy, time_limit_s, method
        As in :func:`layers.recommend.site_cameras` (lattice candidates of ``radius_m`` cells,
        all around, no exclusion zone).
    bound : bool, default True
        Compute the greedy's Lagrangian upper bound (``solve_max_cover``).

    Returns
    -------
    GeoDataFrame
        The columns of :func:`layers.recommend.site_cameras` (analysis CRS); ``candidate``
        numbers the lattice of all the prepared incidents. ``attrs["vigie"]``: ``method``,
        ``solver``, ``status``, ``objective``, ``bound``, ``gap``, ``total_weight``,
        ``categories``, ``n_incidents``, ``n_demand_points``, ``radius_m``, ``model``,
        ``time_s``, ``crs``.

    Notes
    -----
    The maximal covering location problem with existing cameras locked in, as in
    :func:`layers.recommend.site_cameras`; the greedy covers at least 1 − 1/e of the optimum.

    References
    ----------
    Church, R. & ReVelle, C. (1974). The maximal covering location problem. *Papers of the
    Regional Science Association* 32, 101–118.
    Nemhauser, G. L., Wolsey, L. A. & Fisher, M. L. (1978). An analysis of approximations for
    maximizing submodular set functions. *Mathematical Programming* 14, 265–294.
    """
    _check_solve(method, k)
    cols = prepared.columns
    tax = taxonomy or default_taxonomy()
    cats = situational_categories(taxonomy=tax, include_sensitive=include_sensitive, categories=categories)
    rows = _category_rows(cols, rows, cats)
    rows = rows[prepared.point[rows] >= 0]
    w = recency_weights(_times(cols.t[rows]), half_life_days=recency_half_life_days, reference=reference)
    keep = w > 0
    rows, w = rows[keep], w[keep]
    if len(rows) == 0:
        raise InputError("No incident of the categories cameras can act on (" + ", ".join(sorted(cats)) +
                         ") in the selection: widen the period or the categories.")
    pid = prepared.point[rows]
    seen = np.zeros(len(prepared.locked), dtype=bool)
    seen[pid] = True
    present = np.flatnonzero(seen)  # the selection's demand points, in np.unique's order
    inv = (np.cumsum(seen) - 1)[pid]
    w_dem = np.bincount(inv, weights=w, minlength=len(present))
    cover = prepared.cover[present]
    locked = prepared.locked[present]
    res = solve_max_cover(w_dem, cover, k=k, locked=locked, method=method, time_limit_s=time_limit_s,
                          bound=bound, row_groups=prepared.groups[present])
    cover_csc = cover.tocsc()
    night = prepared.darkness[rows] == 2
    n_sites = len(prepared.sites)
    out, taken = _chosen_sites(res, locked=locked, inv=inv, cover_csc=cover_csc, categories=_names(cols, rows),
                               night=night, ids=cols.fid[rows], w_inc=w,
                               sites=(prepared.sites, np.full(n_sites, np.nan), np.full(n_sites, np.nan),
                                      np.arange(n_sites), "grid"),
                               existing_xy=prepared.existing_xy, radius=prepared.radius_m, taxonomy=tax,
                               crs=cols.crs)
    out.attrs["vigie"] = _attrs(res, cats, cols.crs, n_incidents=len(rows), n_demand_points=len(present),
                                radius_m=prepared.radius_m, covered_before=int(locked[inv].sum()),
                                covered_after=int(taken[inv].sum()))
    return out


def _attrs(res, cats, crs, *, covered_before: int, covered_after: int, **more) -> dict:
    total = res.total_weight
    return {
        "method": res.method, "solver": res.solver, "status": res.status, "objective": res.objective,
        "bound": res.bound, "gap": res.gap, "total_weight": total,
        "coverage_before": {"weight": res.covered_before, "share": res.covered_before / total if total else 0.0,
                            "incidents": covered_before},
        "coverage_after": {"weight": res.covered_after, "share": res.covered_after / total if total else 0.0,
                           "incidents": covered_after},
        "categories": sorted(cats), "model": res.model, "time_s": res.time_s, "crs": CRS.from_user_input(crs).to_string(),
        **more,
    }


@dataclass(frozen=True, eq=False)
class PreparedLamps:
    """What :func:`propose_lamps_prepared` reuses across selections (``prepare_lamps``).

    Attributes
    ----------
    columns : IncidentColumns
        The incidents.
    row : int32 array
        Row of each incident in ``cover`` and ``near`` (-1: not at night, or no coordinates).
    locked : bool array
        Per row: a working lamp lies within ``reach_m``.
    sites : (n, 2) float array
        Lattice of ``spacing_m`` around all the night incidents, metres.
    cover : CSR matrix, rows × sites
        Lattice points within ``reach_m`` of each night incident (``coverage_matrix``).
    near : CSR matrix, rows × sites
        Lattice points closer than 1.5 × ``spacing_m`` (a selection's candidates are the points
        near one of its unlit night incidents).
    groups : int32 array
        Per row, a label shared by the rows ``cover`` gives the same sites.
    reach_m, spacing_m : float
        Metres.
    n_working : int
        Working lamps.
    """

    columns: IncidentColumns
    row: np.ndarray
    locked: np.ndarray
    sites: np.ndarray
    cover: sparse.csr_matrix
    near: sparse.csr_matrix
    groups: np.ndarray
    reach_m: float
    spacing_m: float
    n_working: int

    @property
    def nbytes(self) -> int:
        """Memory of the prepared arrays, bytes (the incident columns apart)."""
        return int(self.row.nbytes + self.locked.nbytes + self.sites.nbytes + self.groups.nbytes
                   + sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in (self.cover, self.near)))


def _near_pairs(xy: np.ndarray, sites: np.ndarray, distance: float) -> sparse.csr_matrix:
    """Pattern of the pairs (point, site) closer than ``distance`` (strictly: the rule of
    ``cKDTree.query(..., distance_upper_bound=distance)`` that builds the lattice)."""
    if not len(xy) or not len(sites):
        return sparse.csr_matrix((len(xy), len(sites)), dtype=np.int8)
    pairs = cKDTree(xy).sparse_distance_matrix(cKDTree(sites), distance, output_type="ndarray")
    keep = pairs["v"] < distance
    m = sparse.coo_matrix((np.ones(int(keep.sum()), dtype=np.int8),
                           (pairs["i"][keep].astype(np.int64), pairs["j"][keep].astype(np.int64))),
                          shape=(len(xy), len(sites))).tocsr()
    m.sum_duplicates()
    return _pattern(m)


def prepare_lamps(columns: IncidentColumns, darkness, lights: gpd.GeoDataFrame, *,
                  reach_m: float = DEFAULT_LAMP_REACH_M, spacing_m: float | None = None,
                  count_twilight: bool = False) -> PreparedLamps:
    """Prepare lamp proposals over all ``columns`` (see :class:`PreparedLamps`).

    Parameters
    ----------
    columns : IncidentColumns
        Every incident a selection may take, with ``crs`` the metric analysis CRS.
    darkness : array of int
        Darkness class of each incident (0 day, 1 twilight, 2 night, -1 unknown).
    lights : GeoDataFrame
        Street-light supports (``status`` 'faulty' marks a lamp out of service), any CRS.
    reach_m : float, default 30
        Reach of a lamp, metres.
    spacing_m : float, optional
        Lattice spacing, default ``reach_m / 2``.
    count_twilight : bool, default False
        Count civil twilight as night.

    Returns
    -------
    PreparedLamps
        About 5 bytes per incident and 20 per night incident (nonzeros of two patterns).
    """
    dark = _check_columns(columns, darkness)
    reach = float(reach_m)
    if not reach > 0:
        raise ParameterError(f"reach_m must be a positive number of metres, got {reach_m}.", "reach_m")
    spacing = float(spacing_m) if spacing_m is not None else reach / 2
    if not spacing > 0:
        raise ParameterError(f"spacing_m must be a positive number of metres, got {spacing_m}.", "spacing_m")
    night = (dark == 2) | ((dark == 1) if count_twilight else False)
    night &= np.isfinite(columns.x) & np.isfinite(columns.y)
    idx = np.flatnonzero(night)
    row = np.full(len(columns), -1, dtype=np.int32)
    row[idx] = np.arange(len(idx), dtype=np.int32)
    xy = np.column_stack([columns.x[idx], columns.y[idx]])
    lit = _to(lights, columns.crs) if lights is not None and len(lights) else None
    w_xy = _xy(lit)[working_lamps(lit)] if lit is not None else np.empty((0, 2))
    locked = (cKDTree(w_xy).query(xy, distance_upper_bound=reach)[0] <= reach
              if len(w_xy) and len(xy) else np.zeros(len(xy), bool))
    sites = _grid_xy(xy, spacing) if len(xy) else np.empty((0, 2))
    cover = _pattern(coverage_matrix(xy, sites, radius=reach)) if len(xy) else sparse.csr_matrix((0, 0))
    return PreparedLamps(columns=columns, row=row, locked=locked, sites=sites, cover=cover,
                         near=_near_pairs(xy, sites, spacing * 1.5), groups=_group_identical(cover).astype(np.int32),
                         reach_m=reach, spacing_m=spacing, n_working=len(w_xy))


def _only_columns(m: sparse.csr_matrix, allowed: np.ndarray) -> sparse.csr_matrix:
    """``m`` with the entries outside the ``allowed`` columns removed (same shape, same
    column numbers)."""
    keep = allowed[m.indices]
    kept_before = np.zeros(len(keep) + 1, dtype=np.int64 if len(keep) >= 2**31 else np.int32)
    np.cumsum(keep, out=kept_before[1:])  # entries kept before each position (4 bytes an entry)
    indptr = kept_before[m.indptr]
    return sparse.csr_matrix((m.data[keep], m.indices[keep], indptr), shape=m.shape)


def propose_lamps_prepared(
    prepared: PreparedLamps,
    rows,
    *,
    k: int = 10,
    recency_half_life_days: float | None = None,
    include_sensitive: bool = False,
    categories=None,
    taxonomy: Taxonomy | None = None,
    time_limit_s: float = 30.0,
    method: str = "greedy",
    bound: bool = True,
) -> gpd.GeoDataFrame:
    """:func:`layers.recommend.propose_lamps` on the incidents ``rows`` of a preparation.

    Parameters
    ----------
    prepared : PreparedLamps
        From :func:`prepare_lamps`.
    rows : array of int
        Positions of the selected incidents in ``prepared.columns``.
    k, recency_half_life_days, include_sensitive, categories, taxonomy, time_limit_s, method
        As in :func:`layers.recommend.propose_lamps` (lattice candidates, no exclusion zone).
    bound : bool, default True
        Compute the greedy's Lagrangian upper bound (``solve_max_cover``).

    Returns
    -------
    GeoDataFrame
        The columns of :func:`layers.recommend.propose_lamps` (analysis CRS); ``candidate``
        numbers the lattice of all the prepared night incidents. ``attrs["vigie"]`` as in
        :func:`site_cameras_prepared`, with ``reach_m``, ``spacing_m``, ``n_night_incidents``
        and ``n_working_lamps``.

    Notes
    -----
    The maximal covering location problem with working lamps locked in; demand = night-time
    incidents of situational categories, as in :func:`layers.recommend.propose_lamps`.

    References
    ----------
    Church, R. & ReVelle, C. (1974). The maximal covering location problem. *Papers of the
    Regional Science Association* 32, 101–118.
    Welsh, B. C. & Farrington, D. P. (2008). Effects of improved street lighting on crime.
    *Campbell Systematic Reviews* 4(1).
    """
    _check_solve(method, k)
    cols = prepared.columns
    tax = taxonomy or default_taxonomy()
    cats = situational_categories(taxonomy=tax, include_sensitive=include_sensitive, categories=categories)
    rows = _category_rows(cols, rows, cats)
    rows = rows[prepared.row[rows] >= 0]
    if len(rows) == 0:
        raise InputError("No night-time incident of the categories lighting can act on.")
    r = prepared.row[rows]
    w = recency_weights(_times(cols.t[rows]), half_life_days=recency_half_life_days)
    locked = prepared.locked[r]
    base = r[~locked] if (~locked).any() else r
    allowed = np.zeros(len(prepared.sites), dtype=bool)
    allowed[prepared.near[base].indices] = True
    cover = _only_columns(prepared.cover[r], allowed)
    res = solve_max_cover(w, cover, k=k, locked=locked, method=method, time_limit_s=time_limit_s, bound=bound,
                          row_groups=prepared.groups[r])
    n_sites = len(prepared.sites)
    out, taken = _chosen_lamps(res, locked=locked, cover_csc=cover.tocsc(), categories=_names(cols, rows),
                               ids=cols.fid[rows], sites=(prepared.sites, np.arange(n_sites), "grid"),
                               reach=prepared.reach_m, taxonomy=tax, crs=cols.crs)
    out.attrs["vigie"] = _attrs(res, cats, cols.crs, covered_before=int(locked.sum()), covered_after=int(taken.sum()),
                                reach_m=prepared.reach_m, spacing_m=prepared.spacing_m,
                                n_night_incidents=len(rows), n_working_lamps=prepared.n_working)
    return out

