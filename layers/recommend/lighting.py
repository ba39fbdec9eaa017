"""Lighting gaps: dark hotspots and proposed lamp positions.

A *dark hotspot* is a place (a hotspot area or a grid cell) whose incidents happen mostly at
night and where working lamps are far or faulty. Proposed lamp positions cover the most
night-time incidents beyond the reach of the existing working lamps, with the same maximal
covering core as CCTV siting (:mod:`layers.recommend.covering`).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from layers.checks import check_layer, positive_number
from layers.errors import InputError, ParameterError
from layers.recommend._common import (
    _check_incidents,
    _in_metric,
    _to,
    _xy,
    incident_ids,
    night_flags,
    recency_weights,
    situational_categories,
    top_categories,
)
from layers.recommend.cctv import _grid_candidates, coverage_matrix
from layers.recommend.covering import METHODS, solve_max_cover
from layers.recommend.explain import dark_reason, lamp_reason, technique_columns
from layers.registry import Taxonomy, default_taxonomy

__all__ = ["DEFAULT_LAMP_REACH_M", "dark_hotspots", "propose_lamps", "working_lamps"]

#: distance within which a street lamp is taken to light an incident's place, metres
#: (lamp posts in French towns stand 20–40 m apart; 30 m is about one span)
DEFAULT_LAMP_REACH_M = 30.0
DEFAULT_CELL_SIZE_M = 100.0

DARK_COLUMNS = (
    "rank", "place", "n", "n_night", "night_share", "dist_nearest_lamp_m", "unlit_share",
    "lamps", "lamps_per_ha", "lamps_per_100m", "faulty_lamps", "faulty_share", "score", "dark",
    "top_categories", "reason_fr", "reason_en", "technique_fr", "technique_en", "evidence_fr",
    "evidence_en",
)


def working_lamps(lights: gpd.GeoDataFrame) -> np.ndarray:
    """True for lamps in service: ``status`` empty, missing or ``working`` (case-insensitive)."""
    if "status" not in lights.columns:
        return np.ones(len(lights), dtype=bool)
    st = lights["status"].astype("object").fillna("").astype(str).str.strip().str.lower()
    return (st != "faulty").to_numpy()


def _places(incidents, cells_or_areas, cell_size, crs):
    if cells_or_areas is not None:
        check_layer(cells_or_areas, "places layer", kinds=("Polygon", "MultiPolygon"))
        places = _to(cells_or_areas, crs)
        key = next((c for c in ("hotspot_id", "cell_id", "name") if c in places.columns), None)
        label = places[key].to_numpy() if key else places.index.to_numpy()
        return places, label, None
    from layers.grid import make_grid

    grid = make_grid(incidents, cell_size=cell_size)
    return grid, grid["cell_id"].to_numpy(), cell_size


def dark_hotspots(
    incidents: gpd.GeoDataFrame,
    lights: gpd.GeoDataFrame,
    *,
    cells_or_areas: gpd.GeoDataFrame | None = None,
    tz="Europe/Paris",
    night_threshold: float = 0.5,
    lamp_reach_m: float = DEFAULT_LAMP_REACH_M,
    min_incidents: int = 10,
    cell_size_m: float = DEFAULT_CELL_SIZE_M,
    count_twilight: bool = False,
    include_sensitive: bool = False,
    categories=None,
    taxonomy: Taxonomy | None = None,
    crs=None,
    all_places: bool = False,
) -> gpd.GeoDataFrame:
    """Rank places whose incidents are mostly at night and where working lamps are far or faulty.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents (``category``, ``occurred_from``; a boolean ``night`` or a ``darkness``
        column is used when present, else ``layers.temporal.darkness`` classes them).
    lights : GeoDataFrame
        Street-light supports; ``status`` 'faulty' marks a lamp out of service.
    cells_or_areas : GeoDataFrame, optional
        Places to rank: hotspot areas (``hotspot_id``) or grid cells (``cell_id``). Default:
        square cells of ``cell_size_m`` over the incidents (``layers.grid.make_grid``).
    tz : str, default "Europe/Paris"
        Time zone of the deployment (for the darkness classes).
    night_threshold : float, default 0.5
        Minimum share of a place's incidents at night.
    lamp_reach_m : float, default 30
        A working lamp closer than this lights an incident's place, metres.
    min_incidents : int, default 10
        Minimum night-time incidents in a place.
    cell_size_m : float, default 100
        Side of the default cells, metres.
    count_twilight : bool, default False
        Count civil twilight as night.
    include_sensitive, categories, taxonomy, crs
        As in :func:`layers.recommend.site_cameras`.
    all_places : bool, default False
        Return every place with incidents (with the ``dark`` flag) instead of dark ones only.

    Returns
    -------
    GeoDataFrame
        Places (polygons, analysis CRS) ranked by ``score``: ``rank``, ``place`` (hotspot_id,
        cell_id, name or index label), ``n`` (incidents), ``n_night``, ``night_share``
        (n_night / n), ``dist_nearest_lamp_m`` (median, over the night incidents, of the
        distance to the nearest working lamp, metres; inf without any), ``unlit_share`` (share
        of night incidents farther than ``lamp_reach_m`` from any working lamp), ``lamps``
        (working lamps inside the place), ``lamps_per_ha``, ``lamps_per_100m`` (working lamps
        per 100 m of the side of a square of the place's area: ``lamps / (sqrt(area) / 100)``;
        for a 100 m cell it is the lamp count), ``faulty_lamps`` (faulty lamps inside the place
        or within ``lamp_reach_m`` of it), ``faulty_share`` (faulty / (faulty + working) lamps
        inside the place or within reach), ``score`` (``n_night × max(unlit_share,
        faulty_share)``: night incidents that better lighting could reach), ``dark`` (the
        place passes every criterion), ``top_categories``, ``reason_fr``/``reason_en``,
        ``technique_*``, ``evidence_*``.

        ``attrs["vigie"]``: the thresholds, ``cell_size_m`` (None when places were given),
        ``n_incidents``, ``n_working_lamps``, ``n_faulty_lamps``, ``crs``.

    Notes
    -----
    A place is dark when ``n_night >= min_incidents``, ``night_share >= night_threshold`` and
    either the median nearest-lamp distance exceeds ``lamp_reach_m`` or at least half of its
    lamps are faulty. The lamps layer holds supports, not light levels: a planner checks lux
    on the ground.

    References
    ----------
    Welsh, B. C. & Farrington, D. P. (2008). Effects of improved street lighting on crime.
    *Campbell Systematic Reviews* 4(1).
    """
    _check_incidents(incidents)
    check_layer(lights, "lights layer", allow_empty=True)
    reach = positive_number(lamp_reach_m, "lamp_reach_m")
    cs = positive_number(cell_size_m, "cell_size_m")
    if not 0 <= float(night_threshold) <= 1:
        raise ParameterError(f"night_threshold must be a share in [0, 1], got {night_threshold}.",
                             "night_threshold")
    if int(min_incidents) < 1:
        raise ParameterError("min_incidents must be at least 1.", "min_incidents")
    tax = taxonomy or default_taxonomy()
    cats = situational_categories(taxonomy=tax, include_sensitive=include_sensitive,
                                  categories=categories)
    inc, acrs = _in_metric(incidents, cats, crs)
    if len(inc) == 0:
        raise InputError("No incident of the categories lighting can act on in the selection.")
    night = night_flags(inc, tz=tz, count_twilight=count_twilight)
    places, label, cell_size = _places(inc, cells_or_areas, cs, acrs)

    lit = _to(lights, acrs)
    ok = working_lamps(lit)
    w_xy, f_xy = _xy(lit)[ok], _xy(lit)[~ok]
    xy = _xy(inc)
    dist = (cKDTree(w_xy).query(xy)[0] if len(w_xy) else np.full(len(xy), np.inf))

    # incident -> place (first polygon holding it)
    ip, pp = places.sindex.query(inc.geometry.values, predicate="intersects")
    first = pd.Series(pp).groupby(ip).min()
    where = np.full(len(inc), -1)
    where[first.index.to_numpy()] = first.to_numpy()
    geoms = places.geometry.values
    area = shapely.area(geoms)
    n_w = np.bincount(places.sindex.query(lit.geometry.values[ok], predicate="intersects")[1],
                      minlength=len(places)) if len(w_xy) else np.zeros(len(places), int)
    near = shapely.buffer(geoms, reach)
    tree_near = shapely.STRtree(near)
    n_f_near = np.zeros(len(places), int)
    n_w_near = np.zeros(len(places), int)
    # STRtree.query(geoms) returns (input index, tree index): map tree index -> place
    if len(f_xy):
        n_f_near = np.bincount(tree_near.query(lit.geometry.values[~ok], predicate="intersects")[1],
                               minlength=len(places))
    if len(w_xy):
        n_w_near = np.bincount(tree_near.query(lit.geometry.values[ok], predicate="intersects")[1],
                               minlength=len(places))

    rows = []
    cats_s = inc["category"]
    for p in np.unique(where[where >= 0]):
        sel = where == p
        n = int(sel.sum())
        nn = int((sel & night).sum())
        ns = nn / n
        d_night = dist[sel & night]
        med = float(np.median(d_night)) if nn else float("nan")
        unlit = float(np.mean(d_night > reach)) if nn else 0.0
        lamps_in = int(n_w[p])
        faulty = int(n_f_near[p])
        fshare = faulty / (faulty + n_w_near[p]) if (faulty + n_w_near[p]) else 0.0
        side = math.sqrt(area[p]) if area[p] > 0 else float("nan")
        dark = (nn >= int(min_incidents) and ns >= night_threshold
                and ((nn and med > reach) or fshare >= 0.5))
        if not dark and not all_places:
            continue
        top = top_categories(cats_s[sel & night] if nn else cats_s[sel])
        fr, en = dark_reason(n=n, n_night=nn, night_share=ns, dist_m=med, reach_m=reach,
                             lamps=lamps_in, faulty=faulty, top=top, taxonomy=tax)
        rows.append({
            "place": label[p], "n": n, "n_night": nn, "night_share": ns,
            "dist_nearest_lamp_m": med, "unlit_share": unlit, "lamps": lamps_in,
            "lamps_per_ha": lamps_in / (area[p] / 10_000) if area[p] > 0 else float("nan"),
            "lamps_per_100m": lamps_in / (side / 100) if side > 0 else float("nan"),
            "faulty_lamps": faulty, "faulty_share": fshare,
            "score": nn * max(unlit, fshare), "dark": bool(dark),
            "top_categories": ", ".join(f"{c} ({k})" for c, k in top),
            "reason_fr": fr, "reason_en": en, **technique_columns("lighting"),
            "geometry": geoms[p],
        })
    out = gpd.GeoDataFrame(rows, columns=[c for c in DARK_COLUMNS if c != "rank"] + ["geometry"],
                           geometry="geometry", crs=acrs)
    out = out.sort_values(["dark", "score", "n_night"], ascending=False, kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out = out.reset_index(drop=True)
    out.attrs["vigie"] = {
        "night_threshold": float(night_threshold), "lamp_reach_m": reach,
        "min_incidents": int(min_incidents), "count_twilight": bool(count_twilight),
        "cell_size_m": cell_size, "n_incidents": len(inc), "n_night": int(night.sum()),
        "n_working_lamps": len(w_xy), "n_faulty_lamps": len(f_xy),
        "categories": sorted(cats), "crs": acrs.to_string(),
    }
    return out


LAMP_COLUMNS = ("rank", "candidate", "source", "marginal_gain", "new_night_incidents", "night_incidents",
                "incident_ids", "top_categories", "reason_fr", "reason_en", "technique_fr", "technique_en",
                "evidence_fr", "evidence_en", "geometry")


def _chosen_lamps(res, *, locked, cover_csc, categories, ids, sites, reach, taxonomy, crs):
    """The frame of the proposed lamps (``LAMP_COLUMNS``) in rank order, and the night
    incidents lit at the end (working lamps and new ones). Rows of ``cover_csc`` are the
    night incidents (``categories``, ``ids``); ``sites`` is ``(xy, labels, source)``."""
    c_xy, labels, source = sites
    taken = locked.copy()
    rows = []
    for rank, (j, gain) in enumerate(zip(res.chosen, res.marginal_gain), start=1):
        dem = cover_csc.indices[cover_csc.indptr[j]:cover_csc.indptr[j + 1]]
        fresh = dem[~taken[dem]]
        taken[dem] = True
        top = top_categories(categories[fresh])
        fr, en = lamp_reason(rank=rank, new_night=len(fresh), reach_m=reach, top=top, taxonomy=taxonomy)
        rows.append({
            "rank": rank, "candidate": labels[j], "source": source,
            "marginal_gain": float(gain), "new_night_incidents": len(fresh),
            "night_incidents": len(dem), "incident_ids": ids[dem].tolist(),
            "top_categories": ", ".join(f"{c} ({n})" for c, n in top),
            "reason_fr": fr, "reason_en": en, **technique_columns("lamp"),
            "geometry": shapely.Point(c_xy[j]),
        })
    return gpd.GeoDataFrame(rows, columns=list(LAMP_COLUMNS), geometry="geometry", crs=crs), taken


def propose_lamps(
    incidents: gpd.GeoDataFrame,
    lights: gpd.GeoDataFrame,
    *,
    k: int = 10,
    reach_m: float = DEFAULT_LAMP_REACH_M,
    candidates: gpd.GeoDataFrame | None = None,
    spacing_m: float | None = None,
    tz="Europe/Paris",
    count_twilight: bool = False,
    recency_half_life_days: float | None = None,
    include_sensitive: bool = False,
    categories=None,
    taxonomy: Taxonomy | None = None,
    crs=None,
    exclusion: gpd.GeoDataFrame | None = None,
    time_limit_s: float = 30.0,
    method: str = "auto",
) -> gpd.GeoDataFrame:
    """Lamp positions lighting the most night-time incidents beyond working lamps' reach.

    Parameters
    ----------
    incidents, lights
        As in :func:`dark_hotspots`.
    k : int, default 10
        Number of new lamps.
    reach_m : float, default 30
        Reach of a lamp (existing or new), metres.
    candidates : GeoDataFrame, optional
        Points where a lamp may go (façades, existing poles of another network). Default: a
        square lattice of ``spacing_m`` around the unlit night-time incidents.
    spacing_m : float, optional
        Lattice spacing, default ``reach_m / 2`` (reported).
    recency_half_life_days : float, optional
        Recency weighting as for cameras; default None (every incident weighs 1).
    exclusion : GeoDataFrame, optional
        Polygons where no lamp may go.
    tz, count_twilight, include_sensitive, categories, taxonomy, crs, time_limit_s, method
        As in :func:`dark_hotspots` and :func:`layers.recommend.site_cameras`.

    Returns
    -------
    GeoDataFrame
        Proposed lamps (points, analysis CRS) by ``rank``: ``marginal_gain`` (weighted night
        incidents it lights that no working lamp nor higher-ranked proposal lights),
        ``new_night_incidents``, ``night_incidents`` (all night incidents within reach),
        ``incident_ids``, ``top_categories``, ``reason_fr``/``reason_en``, ``technique_*``,
        ``evidence_*``. ``attrs["vigie"]`` as for cameras, with ``spacing_m`` and
        ``coverage_before`` = night incidents already within reach of a working lamp.

    Notes
    -----
    The maximal covering location problem (Church & ReVelle 1974) with working lamps locked
    in; demand = night-time incidents of situational categories.
    """
    _check_incidents(incidents)
    check_layer(lights, "lights layer", allow_empty=True)
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}, got '{method}'.", "method")
    reach = positive_number(reach_m, "reach_m")
    spacing = positive_number(spacing_m, "spacing_m", allow_none=True) or reach / 2
    tax = taxonomy or default_taxonomy()
    cats = situational_categories(taxonomy=tax, include_sensitive=include_sensitive,
                                  categories=categories)
    inc, acrs = _in_metric(incidents, cats, crs)
    night = night_flags(inc, tz=tz, count_twilight=count_twilight) if len(inc) else np.zeros(0, bool)
    inc = inc[night]
    if len(inc) == 0:
        raise InputError("No night-time incident of the categories lighting can act on.")
    w = recency_weights(inc["occurred_from"], half_life_days=recency_half_life_days)
    xy = _xy(inc)
    lit = _to(lights, acrs)
    w_xy = _xy(lit)[working_lamps(lit)]
    locked = (cKDTree(w_xy).query(xy, distance_upper_bound=reach)[0] <= reach
              if len(w_xy) else np.zeros(len(xy), bool))
    if candidates is not None and len(candidates):
        check_layer(candidates, "candidates layer")
        cand = _to(candidates, acrs)
        source, used_spacing = "candidates", None
    else:
        base = xy[~locked] if (~locked).any() else xy
        cand = _grid_candidates(base, spacing, acrs)
        source, used_spacing = "grid", spacing
    labels = cand.index.to_numpy()
    if exclusion is not None and len(exclusion):
        check_layer(exclusion, "exclusion layer", kinds=("Polygon", "MultiPolygon"))
        hit = cand.sindex.query(_to(exclusion, acrs).geometry.values, predicate="intersects")[1]
        keep = np.ones(len(cand), bool)
        keep[hit] = False
        cand, labels = cand[keep], labels[keep]
    c_xy = _xy(cand)
    cover = coverage_matrix(xy, c_xy, radius=reach)
    res = solve_max_cover(w, cover, k=k, locked=locked, method=method, time_limit_s=time_limit_s)
    out, taken = _chosen_lamps(res, locked=locked, cover_csc=cover.tocsc(), categories=inc["category"].to_numpy(),
                               ids=incident_ids(inc), sites=(c_xy, labels, source), reach=reach,
                               taxonomy=tax, crs=acrs)
    total = res.total_weight
    out.attrs["vigie"] = {
        "method": res.method, "solver": res.solver, "status": res.status,
        "objective": res.objective, "bound": res.bound, "gap": res.gap,
        "coverage_before": {"weight": res.covered_before,
                            "share": res.covered_before / total if total else 0.0,
                            "incidents": int(locked.sum())},
        "coverage_after": {"weight": res.covered_after,
                           "share": res.covered_after / total if total else 0.0,
                           "incidents": int(taken.sum())},
        "total_weight": total, "k": int(k), "reach_m": reach, "spacing_m": used_spacing,
        "candidate_source": source, "n_night_incidents": len(inc),
        "n_working_lamps": len(w_xy), "categories": sorted(cats), "model": res.model,
        "time_s": res.time_s, "crs": acrs.to_string(),
    }
    return out
