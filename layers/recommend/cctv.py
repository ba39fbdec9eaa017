"""CCTV siting as a maximal covering location problem (Church & ReVelle 1974).

Demand is the incidents cameras can act on (situational, non-sensitive categories by default),
weighted by recency and optionally by hour; candidates are street-light supports or any given
points (cell centres when none are given); a candidate covers the incidents within its range
(and within its field of view when it has a bearing). Existing cameras are locked in. The
covering problem itself is solved by :func:`layers.recommend.covering.solve_max_cover`, shared
with lamp proposals.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from layers.checks import check_layer, positive_number
from layers.errors import InputError, ParameterError
from layers.recommend._common import (
    _check_incidents,
    _metric_crs,
    _to,
    _xy,
    hour_weights,
    incident_ids,
    night_flags,
    recency_weights,
    situational_categories,
    top_categories,
)
from layers.recommend.covering import METHODS, solve_max_cover
from layers.recommend.explain import cctv_reason, technique_columns
from layers.registry import Taxonomy, default_taxonomy

__all__ = ["DEFAULT_HALF_LIFE_DAYS", "DEFAULT_RADIUS_M", "coverage_matrix", "site_cameras"]

DEFAULT_RADIUS_M = 100.0
DEFAULT_HALF_LIFE_DAYS = 365.0

SITE_COLUMNS = (
    "rank", "candidate", "source", "bearing", "fov", "marginal_gain", "new_incidents",
    "covered_incidents", "covered_weight", "incident_ids", "top_categories", "night_share",
    "existing_cameras_near", "reason_fr", "reason_en", "technique_fr", "technique_en",
    "evidence_fr", "evidence_en", "geometry",
)


def _angles_ok(dx, dy, bearing, fov):
    """True where the direction (dx, dy) lies within ``fov``/2 of ``bearing`` (degrees from
    north, clockwise). NaN bearing or fov >= 360 means all around; a zero distance is seen."""
    ang = np.degrees(np.arctan2(dx, dy)) % 360.0
    diff = np.abs((ang - bearing + 180.0) % 360.0 - 180.0)
    full = np.isnan(bearing) | np.isnan(fov) | (fov >= 360.0)
    return full | (diff <= fov / 2.0 + 1e-9) | ((dx == 0) & (dy == 0))


def coverage_matrix(demand_xy, site_xy, *, radius, bearing=None, fov=None) -> sparse.csr_matrix:
    """Sparse demand × site matrix: 1 where a site sees a demand point.

    Parameters
    ----------
    demand_xy, site_xy : array (n, 2)
        Metric coordinates (metres).
    radius : float or array
        Range of each site, metres.
    bearing, fov : array, optional
        Direction of view (degrees clockwise from north) and field of view (degrees) of each
        site; NaN means all around.

    Notes
    -----
    Pairs are found with ``scipy.spatial.cKDTree.sparse_distance_matrix`` at the largest
    range, then filtered by each site's range and sector.
    """
    n_d, n_s = len(demand_xy), len(site_xy)
    if n_d == 0 or n_s == 0:
        return sparse.csr_matrix((n_d, n_s))
    r = np.broadcast_to(np.asarray(radius, dtype=float), (n_s,))
    pairs = cKDTree(demand_xy).sparse_distance_matrix(
        cKDTree(site_xy), float(r.max()), output_type="ndarray"
    )
    i, j, d = pairs["i"], pairs["j"], pairs["v"]
    i, j = i.astype(np.int64), j.astype(np.int64)
    keep = d <= r[j] + 1e-9
    b = None if bearing is None else np.broadcast_to(np.asarray(bearing, dtype=float), (n_s,))
    f = None if fov is None else np.broadcast_to(np.asarray(fov, dtype=float), (n_s,))
    if b is not None and f is not None and np.any(np.isfinite(b) & np.isfinite(f) & (f < 360)):
        dx = demand_xy[i, 0] - site_xy[j, 0]
        dy = demand_xy[i, 1] - site_xy[j, 1]
        keep &= _angles_ok(dx, dy, b[j], f[j])
    m = sparse.coo_matrix((np.ones(int(keep.sum())), (i[keep], j[keep])), shape=(n_d, n_s)).tocsr()
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _column(gdf, name, default):
    if gdf is not None and name in gdf.columns:
        return pd.to_numeric(gdf[name], errors="coerce").to_numpy(dtype=float)
    return np.full(0 if gdf is None else len(gdf), default, dtype=float)


def _unique_ints(a: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array (a sort: ``np.unique``'s hash path is
    several times slower on millions of values with NumPy 2.4)."""
    a = np.sort(a, kind="stable")
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _grid_xy(demand_xy, spacing) -> np.ndarray:
    """Centres of the square lattice of ``spacing`` (cells aligned on multiples of ``spacing``)
    closer than 1.5 × ``spacing`` to a demand point, row by row from the south-west: (n, 2).

    Only the lattice points around occupied cells are tried (a centre closer than 1.5 cells to
    a point lies at most one cell away from the point's cell; two are tried), so the work grows
    with the occupied area, not with the extent."""
    cell = np.floor(demand_xy / spacing).astype(np.int64)
    lo = cell.min(axis=0) - 2
    width = int(cell[:, 0].max() + 2 - lo[0] + 1)
    # one key per lattice point, in row order (y, then x): the order of a meshgrid over the extent
    occupied = _unique_ints((cell[:, 1] - lo[1]) * width + (cell[:, 0] - lo[0]))
    step = np.arange(-2, 3)
    dx, dy = np.meshgrid(step, step)
    key = _unique_ints((occupied[:, None] + (dy.ravel() * width + dx.ravel())[None, :]).ravel())
    ix, iy = key % width + lo[0], key // width + lo[1]
    pts = np.column_stack([ix * spacing + spacing / 2, iy * spacing + spacing / 2])
    near = cKDTree(demand_xy).query(pts, distance_upper_bound=spacing * 1.5)[0] < np.inf
    return pts[near]


def _grid_candidates(demand_xy, spacing, crs) -> gpd.GeoDataFrame:
    pts = _grid_xy(demand_xy, spacing)
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=crs)


def _night_of_seen(inc, inv, cover_csc, chosen, tz):
    """Night flags (bool array over ``inc``) of the incidents the chosen sites see: from a
    ``night``/``darkness`` column, else ``layers.temporal.darkness`` on those incidents only.
    Incidents not seen are False (unused)."""
    night = np.zeros(len(inc), dtype=bool)
    if len(chosen) == 0:
        return night
    dem = np.unique(np.concatenate([cover_csc.indices[cover_csc.indptr[j]:cover_csc.indptr[j + 1]]
                                    for j in chosen]))
    seen = np.flatnonzero(np.isin(inv, dem))
    if len(seen):
        night[seen] = night_flags(inc.iloc[seen], tz=tz)
    return night


def _demand(incidents, *, cats, half_life, reference, hours, tz):
    """Incidents kept as demand, their weights, and their aggregation into demand points."""
    inc = incidents[incidents["category"].isin(cats)]
    w = recency_weights(inc["occurred_from"], half_life_days=half_life, reference=reference)
    if hours is not None:
        w = w * hour_weights(inc["occurred_from"], hours, tz=tz)
    keep = w > 0
    inc, w = inc[keep], w[keep]
    xy = _xy(inc)
    if len(xy):
        # identical places (to the decimetre) make one demand point
        key = np.round(xy, 1)
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        inv = inv.ravel()
        wd = np.bincount(inv, weights=w, minlength=len(uniq))
    else:
        uniq, inv, wd = np.empty((0, 2)), np.empty(0, dtype=np.int64), np.empty(0)
    return inc, w, uniq, inv, wd


def _chosen_sites(res, *, locked, inv, cover_csc, categories, night, ids, w_inc, sites, existing_xy,
                  radius, taxonomy, crs):
    """The frame of the chosen sites (``SITE_COLUMNS``) in rank order, and the demand points
    covered at the end (existing cameras and new sites).

    ``inv`` maps each incident to its demand point (row of ``cover_csc``); ``categories``,
    ``night``, ``ids`` and ``w_inc`` are per incident; ``sites`` is ``(xy, bearing, fov,
    labels, source)`` of the candidate columns."""
    c_xy, c_bearing, c_fov, cand_label, source = sites
    taken = locked.copy()
    ex_tree = cKDTree(existing_xy) if len(existing_xy) else None
    rows = []
    for rank, (j, gain) in enumerate(zip(res.chosen, res.marginal_gain), start=1):
        dem = cover_csc.indices[cover_csc.indptr[j]:cover_csc.indptr[j + 1]]
        seen = np.isin(inv, dem)
        fresh_dem = dem[~taken[dem]]
        fresh = np.isin(inv, fresh_dem)
        taken[dem] = True
        top = top_categories(categories[seen])
        ns = float(night[seen].mean()) if seen.any() else None
        near = len(ex_tree.query_ball_point(c_xy[j], 2 * radius)) if ex_tree is not None else 0
        fr, en = cctv_reason(rank=rank, new_incidents=int(fresh.sum()),
                             covered_incidents=int(seen.sum()), radius_m=radius, top=top,
                             night_share=ns, existing_near=near, taxonomy=taxonomy)
        rows.append({
            "rank": rank,
            "candidate": cand_label[j] if source == "candidates" else int(cand_label[j]),
            "source": source,
            "bearing": float(c_bearing[j]),
            "fov": float(c_fov[j]),
            "marginal_gain": float(gain),
            "new_incidents": int(fresh.sum()),
            "covered_incidents": int(seen.sum()),
            "covered_weight": float(w_inc[seen].sum()),
            "incident_ids": ids[seen].tolist(),
            "top_categories": ", ".join(f"{c} ({n})" for c, n in top),
            "night_share": np.nan if ns is None else ns,
            "existing_cameras_near": int(near),
            "reason_fr": fr,
            "reason_en": en,
            **technique_columns("cctv"),
            "geometry": gpd.points_from_xy([c_xy[j, 0]], [c_xy[j, 1]])[0],
        })
    out = gpd.GeoDataFrame(rows, columns=list(SITE_COLUMNS), geometry="geometry", crs=crs)
    return out, taken


def site_cameras(
    incidents: gpd.GeoDataFrame,
    *,
    candidates: gpd.GeoDataFrame | None = None,
    existing: gpd.GeoDataFrame | None = None,
    k: int | None = None,
    coverage_target: float | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    fov: float | None = None,
    exclusion: gpd.GeoDataFrame | None = None,
    recency_half_life_days: float | None = DEFAULT_HALF_LIFE_DAYS,
    reference=None,
    hours=None,
    tz="Europe/Paris",
    include_sensitive: bool = False,
    categories=None,
    taxonomy: Taxonomy | None = None,
    crs=None,
    time_limit_s: float = 30.0,
    method: str = "auto",
) -> gpd.GeoDataFrame:
    """Choose new CCTV sites covering the most (recent) incidents.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents with ``category`` and ``occurred_from`` (any CRS).
    candidates : GeoDataFrame, optional
        Points where a camera may go (street-light supports, other street furniture). Columns
        ``bearing`` and ``fov`` (degrees) when present make oriented candidates. ``None``: the
        centres of a square grid of ``radius_m`` cells around the incidents.
    existing : GeoDataFrame, optional
        Existing cameras, locked in; ``range_m``, ``bearing``, ``fov`` used when present
        (``range_m`` missing -> ``radius_m``; bearing or fov missing -> all around).
    k : int, optional
        Number of new cameras.
    coverage_target : float, optional
        Share (0–1] of the weighted demand to cover, existing cameras included: the fewest new
        sites that reach it. Exactly one of ``k`` and ``coverage_target`` is required.
    radius_m : float, default 100
        Range of a new camera, metres.
    fov : float, optional
        Field of view of new cameras, degrees. Candidates without a ``bearing`` are then tried
        in ``ceil(360 / fov)`` directions (0°, 360/n°, …); each direction is a candidate (a
        pole may carry several cameras). ``None``: all around (a dome camera).
    exclusion : GeoDataFrame, optional
        Polygons where no new camera may go (private façades, school entrances).
    recency_half_life_days : float or None, default 365
        Weight of an incident = 0.5 ** (age / half-life), age counted from ``reference``
        (default: the latest incident). ``None``: every incident weighs 1.
    reference : Timestamp, optional
        Instant of weight 1 (tz-aware).
    hours : list of int or dict, optional
        Local hours to count (weight 1, others 0) or a mapping hour -> weight.
    tz : str, default "Europe/Paris"
        Time zone for ``hours`` and the night share.
    include_sensitive : bool, default False
        Also count sensitive categories (police users only; DESIGN §3).
    categories : list of str, optional
        Categories to count instead of the taxonomy's situational ones.
    taxonomy : Taxonomy, optional
        Default: ``default_taxonomy()``.
    crs : int or str, optional
        Metric CRS of the analysis; default the incidents' CRS if projected, else their UTM zone.
    time_limit_s : float, default 30
        Time limit of the exact solver, seconds.
    method : {"auto", "exact", "greedy"}
        See :func:`layers.recommend.covering.solve_max_cover`.

    Returns
    -------
    GeoDataFrame
        One row per chosen site (in the analysis CRS), by ``rank`` (1 = largest marginal gain):
        ``candidate`` (index label in ``candidates``, or the grid cell number), ``source``
        ("candidates" or "grid"), ``bearing`` and ``fov`` (degrees, NaN = all around),
        ``marginal_gain`` (weighted incidents it adds given the existing cameras and the
        higher-ranked sites), ``new_incidents`` (incidents it adds, same rule),
        ``covered_incidents`` (incidents within its view), ``covered_weight``,
        ``incident_ids`` (list of the ``fid`` — or index labels — it sees), ``top_categories``,
        ``night_share`` (share of its incidents at night: a ``night`` or ``darkness`` column
        when given, else ``layers.temporal.darkness``), ``existing_cameras_near`` (existing cameras within
        2 × ``radius_m``), ``reason_fr``/``reason_en``, ``technique_fr``/``technique_en``,
        ``evidence_fr``/``evidence_en``.

        ``attrs["vigie"]``: ``method``, ``solver``, ``status``, ``objective`` (weight covered
        by the new sites), ``bound`` (upper bound on it), ``gap`` ((bound − objective) /
        bound), ``coverage_before`` / ``coverage_after`` (``weight``, ``share``,
        ``incidents``), ``uncoverable_weight``, ``radius_m``, ``fov``,
        ``recency_half_life_days``, ``reference``, ``categories``, ``n_incidents``,
        ``n_candidates``, ``excluded_candidates``, ``candidate_source``, ``grid_spacing_m``
        (when cell centres were used), ``model`` (sizes before and after reduction),
        ``time_s``, ``crs``.

    Notes
    -----
    The maximal covering location problem (Church & ReVelle 1974) with existing facilities
    locked in; incidents at the same place (to 0.1 m) form one demand point. See
    :mod:`layers.recommend.covering` for the solvers and the bound. A camera is counted as
    covering an incident within its range; walls, trees and the camera's resolution are not
    modelled: a planner checks each site on the ground.

    References
    ----------
    Church, R. & ReVelle, C. (1974). The maximal covering location problem. *Papers of the
    Regional Science Association* 32, 101–118.
    Welsh, B. C. & Farrington, D. P. (2009). Public area CCTV and crime prevention.
    *Justice Quarterly* 26(4), 716–745.
    Piza, E. L. et al. (2019). CCTV surveillance for crime prevention: a 40-year systematic
    review with meta-analysis. *Criminology & Public Policy* 18(1), 135–159.
    """
    _check_incidents(incidents)
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}, got '{method}'.", "method")
    radius = positive_number(radius_m, "radius_m")
    fov_v = positive_number(fov, "fov", allow_none=True)
    if fov_v is not None and fov_v > 360:
        raise ParameterError(f"fov must be at most 360 degrees, got {fov}.", "fov")
    if candidates is not None:
        check_layer(candidates, "candidates layer", allow_empty=True)
    if existing is not None:
        check_layer(existing, "cameras layer", allow_empty=True)
    if exclusion is not None:
        check_layer(exclusion, "exclusion layer", kinds=("Polygon", "MultiPolygon"), allow_empty=True)
    time_limit = positive_number(time_limit_s, "time_limit_s")
    tax = taxonomy or default_taxonomy()
    cats = situational_categories(taxonomy=tax, include_sensitive=include_sensitive,
                                  categories=categories)
    acrs = _metric_crs(incidents, crs)
    inc = _to(incidents, acrs)
    inc, w_inc, dem_xy, inv, w_dem = _demand(
        inc, cats=cats, half_life=recency_half_life_days, reference=reference, hours=hours, tz=tz
    )
    if len(inc) == 0:
        raise InputError(
            "No incident of the categories cameras can act on (" + ", ".join(sorted(cats)) +
            ") in the selection: widen the period or the categories."
        )

    # candidates
    grid_spacing = None
    if candidates is None or len(candidates) == 0:
        cand = _grid_candidates(dem_xy, radius, acrs)
        source, grid_spacing = "grid", radius
    else:
        cand = _to(candidates, acrs)
        source = "candidates"
    cand_label = cand.index.to_numpy()
    n_excluded = 0
    if exclusion is not None and len(exclusion):
        excl = _to(exclusion, acrs)
        hit = cand.sindex.query(excl.geometry.values, predicate="intersects")[1]
        inside = np.zeros(len(cand), dtype=bool)
        inside[hit] = True
        n_excluded = int(inside.sum())
        cand, cand_label = cand[~inside], cand_label[~inside]
    c_xy = _xy(cand)
    c_bearing = _column(cand, "bearing", np.nan)
    c_fov = _column(cand, "fov", np.nan) if "fov" in cand.columns else np.full(len(cand), np.nan)
    if fov_v is not None:
        c_fov = np.where(np.isnan(c_fov), fov_v, c_fov)
        no_dir = np.isnan(c_bearing) & (c_fov < 360)
        if no_dir.any():
            n_dir = math.ceil(360.0 / fov_v)
            dirs = np.arange(n_dir) * (360.0 / n_dir)
            idx = np.flatnonzero(no_dir)
            rest = np.flatnonzero(~no_dir)
            rep = np.repeat(idx, n_dir)
            order = np.concatenate([rest, rep])
            new_bearing = np.concatenate([c_bearing[rest], np.tile(dirs, len(idx))])
            c_xy, cand_label = c_xy[order], cand_label[order]
            c_bearing, c_fov = new_bearing, c_fov[order]
    cover = coverage_matrix(dem_xy, c_xy, radius=radius, bearing=c_bearing, fov=c_fov)

    # existing cameras: their demand is covered before
    locked = np.zeros(len(dem_xy), dtype=bool)
    ex_xy = np.empty((0, 2))
    if existing is not None and len(existing):
        ex = _to(existing, acrs)
        ex_xy = _xy(ex)
        r_ex = _column(ex, "range_m", np.nan)
        r_ex = np.where(np.isfinite(r_ex) & (r_ex > 0), r_ex, radius)
        ex_cover = coverage_matrix(dem_xy, ex_xy, radius=r_ex,
                                   bearing=_column(ex, "bearing", np.nan),
                                   fov=_column(ex, "fov", np.nan))
        locked = np.diff(ex_cover.indptr) > 0

    res = solve_max_cover(w_dem, cover, k=k, coverage_target=coverage_target, locked=locked,
                          method=method, time_limit_s=time_limit)

    # per site: incidents seen, incidents added in rank order
    ids = incident_ids(inc)
    cover_csc = cover.tocsc()
    night = _night_of_seen(inc, inv, cover_csc, res.chosen, tz)
    out, taken = _chosen_sites(res, locked=locked, inv=inv, cover_csc=cover_csc,
                               categories=inc["category"].to_numpy(), night=night, ids=ids, w_inc=w_inc,
                               sites=(c_xy, c_bearing, c_fov, cand_label, source), existing_xy=ex_xy,
                               radius=radius, taxonomy=tax, crs=acrs)

    total = res.total_weight
    n_before = int(locked[inv].sum())
    n_after = int(taken[inv].sum())
    out.attrs["vigie"] = {
        "method": res.method,
        "solver": res.solver,
        "status": res.status,
        "objective": res.objective,
        "bound": res.bound,
        "gap": res.gap,
        "coverage_before": {"weight": res.covered_before,
                            "share": res.covered_before / total if total else 0.0,
                            "incidents": n_before},
        "coverage_after": {"weight": res.covered_after,
                           "share": res.covered_after / total if total else 0.0,
                           "incidents": n_after},
        "total_weight": total,
        "uncoverable_weight": res.uncoverable,
        "k": k,
        "coverage_target": coverage_target,
        "radius_m": radius,
        "fov": fov_v,
        "recency_half_life_days": recency_half_life_days,
        "reference": str(reference if reference is not None else inc["occurred_from"].max()),
        "categories": sorted(cats),
        "include_sensitive": bool(include_sensitive),
        "n_incidents": len(inc),
        "n_demand_points": len(dem_xy),
        "n_candidates": len(c_xy),
        "excluded_candidates": n_excluded,
        "candidate_source": source,
        "grid_spacing_m": grid_spacing,
        "n_existing": 0 if existing is None else len(existing),
        "model": res.model,
        "time_s": res.time_s,
        "crs": acrs.to_string(),
    }
    return out
